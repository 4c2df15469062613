using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>The register-tile micro-kernels: 6×16 Vector256, 6×32 Vector512, and the portable fallback.</summary>
public static unsafe partial class Gemm
{
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
}
