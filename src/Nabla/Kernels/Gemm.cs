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
public static unsafe class Gemm
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
        Span<float> c, int ldc, bool accumulate, GemmKernel maxKernel)
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
        if (threads > 1 && (long)m * n * k >= ParallelThreshold)
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

    /// <summary>6×16 tile: acc = Σ_p a[p,0..5] ⊗ b[p,0..15] over packed panels; C = acc or C + acc.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16(int kc, float* a, float* b, float* c, int ldc, bool overwrite)
    {
        Vector256<float> c00 = Vector256<float>.Zero, c01 = Vector256<float>.Zero;
        Vector256<float> c10 = Vector256<float>.Zero, c11 = Vector256<float>.Zero;
        Vector256<float> c20 = Vector256<float>.Zero, c21 = Vector256<float>.Zero;
        Vector256<float> c30 = Vector256<float>.Zero, c31 = Vector256<float>.Zero;
        Vector256<float> c40 = Vector256<float>.Zero, c41 = Vector256<float>.Zero;
        Vector256<float> c50 = Vector256<float>.Zero, c51 = Vector256<float>.Zero;

        int p = 0;
        for (; p + 2 <= kc; p += 2)
        {
            Vector256<float> b0 = Avx.LoadVector256(b);
            Vector256<float> b1 = Avx.LoadVector256(b + 8);
            Vector256<float> av = Avx.BroadcastScalarToVector256(a);
            c00 = Fma.MultiplyAdd(av, b0, c00); c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10); c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20); c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30); c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(av, b0, c40); c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(av, b0, c50); c51 = Fma.MultiplyAdd(av, b1, c51);

            b0 = Avx.LoadVector256(b + 16);
            b1 = Avx.LoadVector256(b + 24);
            av = Avx.BroadcastScalarToVector256(a + 6);
            c00 = Fma.MultiplyAdd(av, b0, c00); c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 7);
            c10 = Fma.MultiplyAdd(av, b0, c10); c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 8);
            c20 = Fma.MultiplyAdd(av, b0, c20); c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 9);
            c30 = Fma.MultiplyAdd(av, b0, c30); c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 10);
            c40 = Fma.MultiplyAdd(av, b0, c40); c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 11);
            c50 = Fma.MultiplyAdd(av, b0, c50); c51 = Fma.MultiplyAdd(av, b1, c51);

            a += 2 * MR;
            b += 2 * NR256;
        }
        if (p < kc)
        {
            Vector256<float> b0 = Avx.LoadVector256(b);
            Vector256<float> b1 = Avx.LoadVector256(b + 8);
            Vector256<float> av = Avx.BroadcastScalarToVector256(a);
            c00 = Fma.MultiplyAdd(av, b0, c00); c01 = Fma.MultiplyAdd(av, b1, c01);
            av = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(av, b0, c10); c11 = Fma.MultiplyAdd(av, b1, c11);
            av = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(av, b0, c20); c21 = Fma.MultiplyAdd(av, b1, c21);
            av = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(av, b0, c30); c31 = Fma.MultiplyAdd(av, b1, c31);
            av = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(av, b0, c40); c41 = Fma.MultiplyAdd(av, b1, c41);
            av = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(av, b0, c50); c51 = Fma.MultiplyAdd(av, b1, c51);
        }

        if (overwrite)
        {
            Avx.Store(c, c00); Avx.Store(c + 8, c01); c += ldc;
            Avx.Store(c, c10); Avx.Store(c + 8, c11); c += ldc;
            Avx.Store(c, c20); Avx.Store(c + 8, c21); c += ldc;
            Avx.Store(c, c30); Avx.Store(c + 8, c31); c += ldc;
            Avx.Store(c, c40); Avx.Store(c + 8, c41); c += ldc;
            Avx.Store(c, c50); Avx.Store(c + 8, c51);
        }
        else
        {
            Avx.Store(c, Avx.Add(Avx.LoadVector256(c), c00)); Avx.Store(c + 8, Avx.Add(Avx.LoadVector256(c + 8), c01)); c += ldc;
            Avx.Store(c, Avx.Add(Avx.LoadVector256(c), c10)); Avx.Store(c + 8, Avx.Add(Avx.LoadVector256(c + 8), c11)); c += ldc;
            Avx.Store(c, Avx.Add(Avx.LoadVector256(c), c20)); Avx.Store(c + 8, Avx.Add(Avx.LoadVector256(c + 8), c21)); c += ldc;
            Avx.Store(c, Avx.Add(Avx.LoadVector256(c), c30)); Avx.Store(c + 8, Avx.Add(Avx.LoadVector256(c + 8), c31)); c += ldc;
            Avx.Store(c, Avx.Add(Avx.LoadVector256(c), c40)); Avx.Store(c + 8, Avx.Add(Avx.LoadVector256(c + 8), c41)); c += ldc;
            Avx.Store(c, Avx.Add(Avx.LoadVector256(c), c50)); Avx.Store(c + 8, Avx.Add(Avx.LoadVector256(c + 8), c51));
        }
    }

    /// <summary>Portable 6×16 tile into tmp (row stride 16), for machines without AVX2/FMA.</summary>
    private static void KernelScalar(int kc, float* a, float* b, float* tmp)
    {
        new Span<float>(tmp, MR * NR256).Clear();
        for (int p = 0; p < kc; p++)
        {
            float* ap = a + p * MR;
            float* bp = b + p * NR256;
            for (int i = 0; i < MR; i++)
            {
                float av = ap[i];
                float* t = tmp + i * NR256;
                for (int j = 0; j < NR256; j++) t[j] += av * bp[j];
            }
        }
    }

    /// <summary>6×32 tile with <see cref="Vector512{T}"/>: the same per-element arithmetic as <see cref="Kernel6x16"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x32(int kc, float* a, float* b, float* c, int ldc, bool overwrite)
    {
        Vector512<float> c00 = Vector512<float>.Zero, c01 = Vector512<float>.Zero;
        Vector512<float> c10 = Vector512<float>.Zero, c11 = Vector512<float>.Zero;
        Vector512<float> c20 = Vector512<float>.Zero, c21 = Vector512<float>.Zero;
        Vector512<float> c30 = Vector512<float>.Zero, c31 = Vector512<float>.Zero;
        Vector512<float> c40 = Vector512<float>.Zero, c41 = Vector512<float>.Zero;
        Vector512<float> c50 = Vector512<float>.Zero, c51 = Vector512<float>.Zero;

        int p = 0;
        for (; p + 2 <= kc; p += 2)
        {
            Vector512<float> b0 = Avx512F.LoadVector512(b);
            Vector512<float> b1 = Avx512F.LoadVector512(b + 16);
            Vector512<float> av = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(av, b0, c00); c01 = Avx512F.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(av, b0, c10); c11 = Avx512F.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(av, b0, c20); c21 = Avx512F.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(av, b0, c30); c31 = Avx512F.FusedMultiplyAdd(av, b1, c31);
            av = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(av, b0, c40); c41 = Avx512F.FusedMultiplyAdd(av, b1, c41);
            av = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(av, b0, c50); c51 = Avx512F.FusedMultiplyAdd(av, b1, c51);

            b0 = Avx512F.LoadVector512(b + 32);
            b1 = Avx512F.LoadVector512(b + 48);
            av = Vector512.Create(a[6]);
            c00 = Avx512F.FusedMultiplyAdd(av, b0, c00); c01 = Avx512F.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(a[7]);
            c10 = Avx512F.FusedMultiplyAdd(av, b0, c10); c11 = Avx512F.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(a[8]);
            c20 = Avx512F.FusedMultiplyAdd(av, b0, c20); c21 = Avx512F.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(a[9]);
            c30 = Avx512F.FusedMultiplyAdd(av, b0, c30); c31 = Avx512F.FusedMultiplyAdd(av, b1, c31);
            av = Vector512.Create(a[10]);
            c40 = Avx512F.FusedMultiplyAdd(av, b0, c40); c41 = Avx512F.FusedMultiplyAdd(av, b1, c41);
            av = Vector512.Create(a[11]);
            c50 = Avx512F.FusedMultiplyAdd(av, b0, c50); c51 = Avx512F.FusedMultiplyAdd(av, b1, c51);

            a += 2 * MR;
            b += 2 * NR512;
        }
        if (p < kc)
        {
            Vector512<float> b0 = Avx512F.LoadVector512(b);
            Vector512<float> b1 = Avx512F.LoadVector512(b + 16);
            Vector512<float> av = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(av, b0, c00); c01 = Avx512F.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(av, b0, c10); c11 = Avx512F.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(av, b0, c20); c21 = Avx512F.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(av, b0, c30); c31 = Avx512F.FusedMultiplyAdd(av, b1, c31);
            av = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(av, b0, c40); c41 = Avx512F.FusedMultiplyAdd(av, b1, c41);
            av = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(av, b0, c50); c51 = Avx512F.FusedMultiplyAdd(av, b1, c51);
        }

        if (overwrite)
        {
            Avx512F.Store(c, c00); Avx512F.Store(c + 16, c01); c += ldc;
            Avx512F.Store(c, c10); Avx512F.Store(c + 16, c11); c += ldc;
            Avx512F.Store(c, c20); Avx512F.Store(c + 16, c21); c += ldc;
            Avx512F.Store(c, c30); Avx512F.Store(c + 16, c31); c += ldc;
            Avx512F.Store(c, c40); Avx512F.Store(c + 16, c41); c += ldc;
            Avx512F.Store(c, c50); Avx512F.Store(c + 16, c51);
        }
        else
        {
            Avx512F.Store(c, Avx512F.Add(Avx512F.LoadVector512(c), c00)); Avx512F.Store(c + 16, Avx512F.Add(Avx512F.LoadVector512(c + 16), c01)); c += ldc;
            Avx512F.Store(c, Avx512F.Add(Avx512F.LoadVector512(c), c10)); Avx512F.Store(c + 16, Avx512F.Add(Avx512F.LoadVector512(c + 16), c11)); c += ldc;
            Avx512F.Store(c, Avx512F.Add(Avx512F.LoadVector512(c), c20)); Avx512F.Store(c + 16, Avx512F.Add(Avx512F.LoadVector512(c + 16), c21)); c += ldc;
            Avx512F.Store(c, Avx512F.Add(Avx512F.LoadVector512(c), c30)); Avx512F.Store(c + 16, Avx512F.Add(Avx512F.LoadVector512(c + 16), c31)); c += ldc;
            Avx512F.Store(c, Avx512F.Add(Avx512F.LoadVector512(c), c40)); Avx512F.Store(c + 16, Avx512F.Add(Avx512F.LoadVector512(c + 16), c41)); c += ldc;
            Avx512F.Store(c, Avx512F.Add(Avx512F.LoadVector512(c), c50)); Avx512F.Store(c + 16, Avx512F.Add(Avx512F.LoadVector512(c + 16), c51));
        }
    }

    // ---------------------------------------------------------------- packing
    // Packed A: ceil(mc/6) panels, panel r holds op(A)[r*6 + 0..5, p] at panel + p*6 (rows past mc are 0).
    // Packed B: ceil(nc/w) panels (w = 16 or 32, the kernel's tile width), panel s holds op(B)[p, s*w + 0..w-1]
    // at panel + p*w (cols past nc are 0).

    /// <summary>A not transposed: a points at op(A)[ic, pc]; element (i,p) at a[i*lda + p].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackAN(float* a, int lda, int kc, int mc, float* dst, bool simd)
    {
        for (int ir = 0; ir < mc; ir += MR)
        {
            int mr = Math.Min(MR, mc - ir);
            float* src = a + (long)ir * lda;
            float* d = dst + (long)ir * kc;
            int p = 0;
            if (simd && mr == MR)
            {
                float* r0 = src, r1 = src + lda, r2 = r1 + lda, r3 = r2 + lda, r4 = r3 + lda, r5 = r4 + lda;
                for (; p + 8 <= kc; p += 8)
                {
                    Vector256<float> x0 = Avx.LoadVector256(r0 + p), x1 = Avx.LoadVector256(r1 + p);
                    Vector256<float> x2 = Avx.LoadVector256(r2 + p), x3 = Avx.LoadVector256(r3 + p);
                    Vector256<float> x4 = Avx.LoadVector256(r4 + p), x5 = Avx.LoadVector256(r5 + p);
                    Transpose8x8(x0, x1, x2, x3, x4, x5, x4, x5,
                        out var t0, out var t1, out var t2, out var t3, out var t4, out var t5, out var t6, out var t7);
                    // 8-wide stores of 6 useful lanes; each overlaps the next (buffer has slack at the end).
                    float* o = d + p * MR;
                    Avx.Store(o, t0); Avx.Store(o + 6, t1); Avx.Store(o + 12, t2); Avx.Store(o + 18, t3);
                    Avx.Store(o + 24, t4); Avx.Store(o + 30, t5); Avx.Store(o + 36, t6); Avx.Store(o + 42, t7);
                }
            }
            for (; p < kc; p++)
            {
                float* o = d + p * MR;
                int i = 0;
                for (; i < mr; i++) o[i] = src[(long)i * lda + p];
                for (; i < MR; i++) o[i] = 0f;
            }
        }
    }

    /// <summary>A transposed: a points at stored A[pc, ic]; op(A)[i,p] at a[p*lda + i]; avail = floats readable from a.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackAT(float* a, int lda, int kc, int mc, float* dst, long avail, bool simd)
    {
        for (int ir = 0; ir < mc; ir += MR)
        {
            int mr = Math.Min(MR, mc - ir);
            float* src = a + ir;
            float* d = dst + (long)ir * kc;
            if (simd && mr == MR)
            {
                // 8-wide loads read 2 floats past the panel: allowed while inside the span.
                bool wideOk = (long)(kc - 1) * lda + ir + 8 <= avail;
                if (wideOk)
                {
                    int p = 0;
                    for (; p + 2 <= kc; p += 2)
                    {
                        Vector256<float> v0 = Avx.LoadVector256(src + (long)p * lda);
                        Vector256<float> v1 = Avx.LoadVector256(src + (long)(p + 1) * lda);
                        Avx.Store(d + p * MR, v0);
                        Avx.Store(d + p * MR + MR, v1);
                    }
                    if (p < kc) Avx.Store(d + p * MR, Avx.LoadVector256(src + (long)p * lda));
                }
                else
                {
                    for (int p = 0; p < kc; p++)
                    {
                        float* s = src + (long)p * lda;
                        float* o = d + p * MR;
                        Sse.Store(o, Sse.LoadVector128(s));
                        o[4] = s[4];
                        o[5] = s[5];
                    }
                }
                continue;
            }
            for (int p = 0; p < kc; p++)
            {
                float* s = src + (long)p * lda;
                float* o = d + p * MR;
                int i = 0;
                for (; i < mr; i++) o[i] = s[i];
                for (; i < MR; i++) o[i] = 0f;
            }
        }
    }

    /// <summary>B not transposed: b points at op(B)[pc, jc]; element (p,j) at b[p*ldb + j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackBN(float* b, int ldb, int kc, int nc, float* dst, int w, bool simd)
    {
        for (int jr = 0; jr < nc; jr += w)
        {
            int nr = Math.Min(w, nc - jr);
            float* src = b + jr;
            float* d = dst + (long)jr * kc;
            if (simd && nr == w)
            {
                for (int p = 0; p < kc; p++)
                {
                    float* s = src + (long)p * ldb;
                    float* o = d + p * w;
                    for (int q = 0; q < w; q += 8) Avx.Store(o + q, Avx.LoadVector256(s + q));
                }
                continue;
            }
            for (int p = 0; p < kc; p++)
            {
                float* s = src + (long)p * ldb;
                float* o = d + p * w;
                int j = 0;
                for (; j < nr; j++) o[j] = s[j];
                for (; j < w; j++) o[j] = 0f;
            }
        }
    }

    /// <summary>B transposed: b points at stored B[jc, pc]; op(B)[p,j] at b[j*ldb + p].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackBT(float* b, int ldb, int kc, int nc, float* dst, int w, bool simd)
    {
        for (int jr = 0; jr < nc; jr += w)
        {
            int nr = Math.Min(w, nc - jr);
            float* src = b + (long)jr * ldb;
            float* d = dst + (long)jr * kc;
            int p = 0;
            if (simd && nr == w)
            {
                for (; p + 8 <= kc; p += 8)
                {
                    for (int h = 0; h < w; h += 8)
                    {
                        float* s = src + (long)h * ldb + p;
                        Vector256<float> x0 = Avx.LoadVector256(s);
                        Vector256<float> x1 = Avx.LoadVector256(s + ldb);
                        Vector256<float> x2 = Avx.LoadVector256(s + 2L * ldb);
                        Vector256<float> x3 = Avx.LoadVector256(s + 3L * ldb);
                        Vector256<float> x4 = Avx.LoadVector256(s + 4L * ldb);
                        Vector256<float> x5 = Avx.LoadVector256(s + 5L * ldb);
                        Vector256<float> x6 = Avx.LoadVector256(s + 6L * ldb);
                        Vector256<float> x7 = Avx.LoadVector256(s + 7L * ldb);
                        Transpose8x8(x0, x1, x2, x3, x4, x5, x6, x7,
                            out var t0, out var t1, out var t2, out var t3, out var t4, out var t5, out var t6, out var t7);
                        float* o = d + p * w + h;
                        Avx.Store(o, t0); Avx.Store(o + w, t1); Avx.Store(o + 2 * w, t2); Avx.Store(o + 3 * w, t3);
                        Avx.Store(o + 4 * w, t4); Avx.Store(o + 5 * w, t5); Avx.Store(o + 6 * w, t6); Avx.Store(o + 7 * w, t7);
                    }
                }
            }
            for (; p < kc; p++)
            {
                float* o = d + p * w;
                int j = 0;
                for (; j < nr; j++) o[j] = src[(long)j * ldb + p];
                for (; j < w; j++) o[j] = 0f;
            }
        }
    }

    /// <summary>Transposes the 8×8 block whose rows are r0..r7: t_q[i] = r_i[q].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(
        Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7,
        out Vector256<float> t0, out Vector256<float> t1, out Vector256<float> t2, out Vector256<float> t3,
        out Vector256<float> t4, out Vector256<float> t5, out Vector256<float> t6, out Vector256<float> t7)
    {
        Vector256<float> u0 = Avx.UnpackLow(r0, r1), u1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> u2 = Avx.UnpackLow(r2, r3), u3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> u4 = Avx.UnpackLow(r4, r5), u5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> u6 = Avx.UnpackLow(r6, r7), u7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(u0, u2, 0x44), s1 = Avx.Shuffle(u0, u2, 0xEE);
        Vector256<float> s2 = Avx.Shuffle(u1, u3, 0x44), s3 = Avx.Shuffle(u1, u3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(u4, u6, 0x44), s5 = Avx.Shuffle(u4, u6, 0xEE);
        Vector256<float> s6 = Avx.Shuffle(u5, u7, 0x44), s7 = Avx.Shuffle(u5, u7, 0xEE);
        t0 = Avx.Permute2x128(s0, s4, 0x20);
        t1 = Avx.Permute2x128(s1, s5, 0x20);
        t2 = Avx.Permute2x128(s2, s6, 0x20);
        t3 = Avx.Permute2x128(s3, s7, 0x20);
        t4 = Avx.Permute2x128(s0, s4, 0x31);
        t5 = Avx.Permute2x128(s1, s5, 0x31);
        t6 = Avx.Permute2x128(s2, s6, 0x31);
        t7 = Avx.Permute2x128(s3, s7, 0x31);
    }
}
