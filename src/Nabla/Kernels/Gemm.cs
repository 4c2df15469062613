using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>
/// Fast single-precision matrix multiply (SGEMM), row-major, in the GotoBLAS/BLIS structure:
/// op(B) is packed into KC×NC blocks of 16-column micro-panels, op(A) into MC×KC blocks of 6-row
/// micro-panels (the transposes are absorbed by the packing), and a 6×16 register-blocked
/// <see cref="Vector256{T}"/> FMA micro-kernel computes each C tile (6×32 with <see cref="Vector512{T}"/>
/// where AVX-512 is accelerated: same per-element arithmetic, twice the width; a portable scalar path
/// elsewhere). Large products are split over
/// <see cref="Threads.Count"/> threads along N or M; every C element is computed by exactly one thread
/// with a summation order that does not depend on the split, so the result is bit-identical for any
/// thread count on a given machine.
/// </summary>
public static unsafe partial class Gemm
{
    private const int MR = 6;
    private const int NR256 = 16; // tile width of the Vector256 kernel (and of the portable path)
    private const int NR512 = 32; // tile width of the Vector512 kernel
    private const int MC = 96;    // multiple of MR
    private const int KC = 256;
    private const int NC = 2048;  // multiple of both tile widths
    private const long ParallelThreshold = 64L * 64 * 64;
    private const int Slack = 32; // floats: 64-byte alignment plus room for overlapping vector stores

    [ThreadStatic] private static float[]? t_packA;
    [ThreadStatic] private static float[]? t_packB;
    [ThreadStatic] private static Job? t_job;

    /// <summary>
    /// Row-major C = op(A)·op(B), or C += op(A)·op(B) when <paramref name="accumulate"/>
    /// (like cblas_sgemm with CblasRowMajor, alpha = 1, beta = accumulate ? 1 : 0).
    /// </summary>
    /// <param name="transA">false: A is m×k, element (i,p) at a[i*lda+p]; true: A is stored k×m and op(A)[i,p] = a[p*lda+i].</param>
    /// <param name="transB">false: B is k×n, element (p,j) at b[p*ldb+j]; true: B is stored n×k and op(B)[p,j] = b[j*ldb+p].</param>
    /// <param name="m">Rows of C and of op(A).</param>
    /// <param name="n">Columns of C and of op(B).</param>
    /// <param name="k">Columns of op(A), rows of op(B).</param>
    /// <param name="a">The stored A.</param>
    /// <param name="lda">Row stride of the stored A (at least its column count).</param>
    /// <param name="b">The stored B.</param>
    /// <param name="ldb">Row stride of the stored B (at least its column count).</param>
    /// <param name="c">C, m×n, element (i,j) at c[i*ldc+j].</param>
    /// <param name="ldc">Row stride of C (at least n).</param>
    /// <param name="accumulate">Add the product to C instead of overwriting it (with k = 0, C is then left as is; otherwise zeroed).</param>
    /// <exception cref="ArgumentException">A size is negative, a leading dimension is too small or a span too short.</exception>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, bool accumulate)
        => SgemmCore(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, GemmKernel.Avx512);

    /// <summary>As <see cref="Sgemm"/> on the calling thread only: for callers that already split their work over threads.</summary>
    internal static void SgemmSerial(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, bool accumulate)
        => SgemmCore(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, GemmKernel.Avx512, parallel: false);

    /// <summary>The micro-kernel families, slowest first.</summary>
    internal enum GemmKernel
    {
        /// <summary>Portable scalar code (no FMA: multiply then add).</summary>
        Scalar,
        /// <summary>6×16 <see cref="Vector256{T}"/> FMA kernel (AVX2 + FMA).</summary>
        Avx2,
        /// <summary>6×32 <see cref="Vector512{T}"/> FMA kernel (AVX-512F); bit-identical to <see cref="Avx2"/>.</summary>
        Avx512,
    }

    /// <summary>The kernel <see cref="Sgemm"/> uses on this machine.</summary>
    internal static GemmKernel BestKernel(GemmKernel max = GemmKernel.Avx512)
    {
        if (max == GemmKernel.Avx512 && !(Avx512F.IsSupported && Vector512.IsHardwareAccelerated)) max = GemmKernel.Avx2;
        if (max == GemmKernel.Avx2 && !(Fma.IsSupported && Vector256.IsHardwareAccelerated)) max = GemmKernel.Scalar;
        return max;
    }

    /// <summary>As <see cref="Sgemm"/>, using at most the kernel family <paramref name="maxKernel"/> (tests force the slower paths).</summary>
    internal static void SgemmCore(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, bool accumulate, GemmKernel maxKernel, bool parallel = true)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate)
                for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
            return;
        }

        GemmKernel kernel = BestKernel(maxKernel);
        int nr = kernel == GemmKernel.Avx512 ? NR512 : NR256;
        int threads = Threads.Count;
        int parts = 1;
        bool splitN = true;
        if (parallel && threads > 1 && (long)m * n * k >= ParallelThreshold)
        {
            int nUnits = (n + nr - 1) / nr, mUnits = (m + MR - 1) / MR;
            splitN = n >= m ? nUnits >= 2 || mUnits < 2 : mUnits < 2 && nUnits >= 2;
            parts = Math.Min(threads, splitN ? nUnits : mUnits);
        }

        Job job = t_job ??= new Job();
        fixed (float* pa = a, pb = b, pc = c)
        {
            job.A = pa; job.B = pb; job.C = pc;
            job.ALength = a.Length;
            job.Lda = lda; job.Ldb = ldb; job.Ldc = ldc;
            job.M = m; job.N = n; job.K = k;
            job.TransA = transA; job.TransB = transB; job.Accumulate = accumulate; job.Kernel = kernel; job.Nr = nr;
            job.Parts = parts; job.SplitN = splitN;
            try
            {
                if (parts == 1) job.Execute(0);
                else WorkerPool.Run(parts, job);
            }
            finally
            {
                job.A = job.B = job.C = null;
            }
        }
    }

    /// <summary>Checks sizes, leading dimensions and span lengths; throws <see cref="ArgumentException"/>.</summary>
    internal static void Validate(bool transA, bool transB, int m, int n, int k,
        int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), m, $"m must be non-negative (m={m}).");
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, $"n must be non-negative (n={n}).");
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be non-negative (k={k}).");
        CheckMatrix("a", "lda", transA ? k : m, transA ? m : k, aLength, lda, transA ? "A (stored k×m, transA)" : "A (m×k)");
        CheckMatrix("b", "ldb", transB ? n : k, transB ? k : n, bLength, ldb, transB ? "B (stored n×k, transB)" : "B (k×n)");
        CheckMatrix("c", "ldc", m, n, cLength, ldc, "C (m×n)");
    }

    private static void CheckMatrix(string name, string ldName, int rows, int cols, int length, int ld, string what)
    {
        if (ld < cols || ld < 0)
            throw new ArgumentException(
                $"{ldName}={ld} is smaller than the {cols} columns of {what} (rows={rows}, cols={cols}).", ldName);
        long need = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < need)
            throw new ArgumentException(
                $"{name} has {length} elements but {what} with rows={rows}, cols={cols}, {ldName}={ld} needs {need}.", name);
    }

    /// <summary>One SGEMM call's arguments, reused per calling thread; part p computes one slab of C.</summary>
    private sealed class Job : IParallelWork
    {
        public float* A, B, C;
        public long ALength;
        public int Lda, Ldb, Ldc, M, N, K, Parts, Nr;
        public bool TransA, TransB, Accumulate, SplitN;
        public GemmKernel Kernel;

        public void Execute(int part)
        {
            int i0 = 0, i1 = M, j0 = 0, j1 = N;
            if (Parts > 1)
            {
                if (SplitN)
                {
                    int units = (N + Nr - 1) / Nr;
                    j0 = Math.Min(N, (int)((long)units * part / Parts) * Nr);
                    j1 = Math.Min(N, (int)((long)units * (part + 1) / Parts) * Nr);
                }
                else
                {
                    int units = (M + MR - 1) / MR;
                    i0 = Math.Min(M, (int)((long)units * part / Parts) * MR);
                    i1 = Math.Min(M, (int)((long)units * (part + 1) / Parts) * MR);
                }
            }
            if (i0 < i1 && j0 < j1) Block(this, i0, i1, j0, j1);
        }
    }

    private static float* Buffer(ref float[]? slot, long floats)
    {
        float[]? buf = slot;
        if (buf is null || buf.Length < floats + Slack)
        {
            buf = GC.AllocateUninitializedArray<float>((int)(floats + Slack), pinned: true);
            slot = buf;
        }
        nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buf));
        return (float*)((p + 63) & ~(nint)63);
    }

    /// <summary>C[i0:i1, j0:j1] (+)= op(A)[i0:i1, :]·op(B)[:, j0:j1] on the current thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block(Job job, int i0, int i1, int j0, int j1)
    {
        int k = job.K;
        int kcMax = Math.Min(KC, k);
        int mcMax = Math.Min(MC, (i1 - i0 + MR - 1) / MR * MR);
        int w = job.Nr;
        int ncMax = Math.Min(NC, (j1 - j0 + w - 1) / w * w);
        float* packA = Buffer(ref t_packA, (long)mcMax * kcMax);
        float* packB = Buffer(ref t_packB, (long)ncMax * kcMax);
        GemmKernel kernel = job.Kernel;
        bool simd = kernel != GemmKernel.Scalar;

        for (int jc = j0; jc < j1; jc += NC)
        {
            int nc = Math.Min(NC, j1 - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                if (job.TransB) PackBT(job.B + (long)jc * job.Ldb + pc, job.Ldb, kc, nc, packB, w, simd);
                else PackBN(job.B + (long)pc * job.Ldb + jc, job.Ldb, kc, nc, packB, w, simd);
                bool overwrite = pc == 0 && !job.Accumulate;
                for (int ic = i0; ic < i1; ic += MC)
                {
                    int mc = Math.Min(MC, i1 - ic);
                    if (job.TransA)
                    {
                        long offset = (long)pc * job.Lda + ic;
                        PackAT(job.A + offset, job.Lda, kc, mc, packA, job.ALength - offset, simd);
                    }
                    else
                    {
                        PackAN(job.A + (long)ic * job.Lda + pc, job.Lda, kc, mc, packA, simd);
                    }
                    float* cBlock = job.C + (long)ic * job.Ldc + jc;
                    if (kernel == GemmKernel.Avx512) Macro512(packA, packB, mc, nc, kc, cBlock, job.Ldc, overwrite);
                    else Macro(packA, packB, mc, nc, kc, cBlock, job.Ldc, overwrite, simd);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Macro(float* packA, float* packB, int mc, int nc, int kc, float* c, int ldc, bool overwrite, bool simd)
    {
        float* tmp = stackalloc float[MR * NR256];
        for (int jr = 0; jr < nc; jr += NR256)
        {
            int nr = Math.Min(NR256, nc - jr);
            float* bp = packB + (long)jr * kc;
            for (int ir = 0; ir < mc; ir += MR)
            {
                int mr = Math.Min(MR, mc - ir);
                float* ap = packA + (long)ir * kc;
                float* cp = c + (long)ir * ldc + jr;
                if (simd)
                {
                    if (mr == MR && nr == NR256)
                    {
                        Kernel6x16(kc, ap, bp, cp, ldc, overwrite);
                        continue;
                    }
                    Kernel6x16(kc, ap, bp, tmp, NR256, true);
                }
                else
                {
                    KernelScalar(kc, ap, bp, tmp);
                }
                // Edge tile (or portable path): same per-element arithmetic as the full tile, C = (C +) acc.
                for (int i = 0; i < mr; i++)
                {
                    float* crow = cp + (long)i * ldc;
                    float* trow = tmp + i * NR256;
                    if (overwrite)
                        for (int j = 0; j < nr; j++) crow[j] = trow[j];
                    else
                        for (int j = 0; j < nr; j++) crow[j] += trow[j];
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Macro512(float* packA, float* packB, int mc, int nc, int kc, float* c, int ldc, bool overwrite)
    {
        float* tmp = stackalloc float[MR * NR512];
        for (int jr = 0; jr < nc; jr += NR512)
        {
            int nr = Math.Min(NR512, nc - jr);
            float* bp = packB + (long)jr * kc;
            for (int ir = 0; ir < mc; ir += MR)
            {
                int mr = Math.Min(MR, mc - ir);
                float* ap = packA + (long)ir * kc;
                float* cp = c + (long)ir * ldc + jr;
                if (mr == MR && nr == NR512)
                {
                    Kernel6x32(kc, ap, bp, cp, ldc, overwrite);
                    continue;
                }
                Kernel6x32(kc, ap, bp, tmp, NR512, true);
                // Edge tile (or portable path): same per-element arithmetic as the full tile, C = (C +) acc.
                for (int i = 0; i < mr; i++)
                {
                    float* crow = cp + (long)i * ldc;
                    float* trow = tmp + i * NR512;
                    if (overwrite)
                        for (int j = 0; j < nr; j++) crow[j] = trow[j];
                    else
                        for (int j = 0; j < nr; j++) crow[j] += trow[j];
                }
            }
        }
    }
}
