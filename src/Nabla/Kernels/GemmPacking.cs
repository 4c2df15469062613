using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>Packing of op(A) and op(B) into the micro-panel layouts the kernels read.</summary>
public static unsafe partial class Gemm
{
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
