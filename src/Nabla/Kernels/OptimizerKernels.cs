using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nabla.Kernels;

/// <summary>
/// Fused optimizer updates: one pass over a parameter instead of one pass per tensor op. Each element goes through
/// exactly the roundings of the composed tensor ops (<see cref="Optim.Adam"/>'s reference path: MulInPlace, the
/// fused multiply-add of AddInPlace/Addcmul/Addcdiv, true division and square root), so both give the same bits.
/// </summary>
internal static class OptimizerKernels
{
    private const int Block = 16 * 1024;

    /// <summary>
    /// Adam / AdamW on contiguous spans: g′ = fma(p, l2, g); p ← p·decay; m ← fma(g′, 1−β₁, m·β₁);
    /// v ← fma(g′·g′, 1−β₂, v·β₂); p ← fma(m / (√v / bc₂ + ε), −step, p), with step = lr / bc₁.
    /// </summary>
    /// <remarks>
    /// Vector512 where the CPU has it (Adam is bound by the two divisions and the square root per element, which
    /// AVX-512 does at twice the Vector256 rate), else Vector256, else scalar: every lane computes the same IEEE
    /// operations, so the widths give the same bits (<paramref name="maxVectorBits"/> lets tests force the narrow ones).
    /// </remarks>
    public static unsafe void Adam(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
        float l2, float decay, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float bc2Sqrt, float eps, float negStep,
        int maxVectorBits = 512)
    {
        int n = p.Length;
        fixed (float* pp = p, pg = g, pm = m, pv = v)
        {
            var args = new AdamArgs(pp, pg, pm, pv, n, l2, decay, beta1, oneMinusBeta1, beta2, oneMinusBeta2, bc2Sqrt, eps, negStep, maxVectorBits);
            ParallelFor.Run((n + Block - 1) / Block, Block, in args, static (in AdamArgs a, int b0, int b1) =>
                AdamRange(a.P, a.G, a.M, a.V, b0 * Block, Math.Min(a.N, b1 * Block), a.L2, a.Decay, a.Beta1, a.OneMinusBeta1, a.Beta2, a.OneMinusBeta2,
                    a.Bc2Sqrt, a.Eps, a.NegStep, a.MaxVectorBits));
        }
    }

    // The arguments of one Adam call, for an allocation-free parallel loop.
    private readonly unsafe struct AdamArgs(float* p, float* g, float* m, float* v, int n, float l2, float decay, float beta1, float oneMinusBeta1,
        float beta2, float oneMinusBeta2, float bc2Sqrt, float eps, float negStep, int maxVectorBits)
    {
        public readonly float* P = p, G = g, M = m, V = v;
        public readonly int N = n, MaxVectorBits = maxVectorBits;
        public readonly float L2 = l2, Decay = decay, Beta1 = beta1, OneMinusBeta1 = oneMinusBeta1, Beta2 = beta2, OneMinusBeta2 = oneMinusBeta2,
            Bc2Sqrt = bc2Sqrt, Eps = eps, NegStep = negStep;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AdamRange(float* p, float* g, float* m, float* v, int start, int end,
        float l2, float decay, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float bc2Sqrt, float eps, float negStep,
        int maxVectorBits)
    {
        int i = start;
        if (maxVectorBits >= 512 && Vector512.IsHardwareAccelerated)
        {
            var vl2 = Vector512.Create(l2);
            var vdecay = Vector512.Create(decay);
            var vb1 = Vector512.Create(beta1);
            var vc1 = Vector512.Create(oneMinusBeta1);
            var vb2 = Vector512.Create(beta2);
            var vc2 = Vector512.Create(oneMinusBeta2);
            var vbc = Vector512.Create(bc2Sqrt);
            var veps = Vector512.Create(eps);
            var vstep = Vector512.Create(negStep);
            for (; i + 16 <= end; i += 16)
            {
                var pi = Vector512.Load(p + i);
                var gi = Vector512.Load(g + i);
                if (l2 != 0) gi = Vector512.FusedMultiplyAdd(pi, vl2, gi);
                if (decay != 1) pi *= vdecay;
                var mi = Vector512.FusedMultiplyAdd(gi, vc1, Vector512.Load(m + i) * vb1);
                var vi = Vector512.FusedMultiplyAdd(gi * gi, vc2, Vector512.Load(v + i) * vb2);
                var denom = Vector512.Sqrt(vi) / vbc + veps;
                pi = Vector512.FusedMultiplyAdd(mi / denom, vstep, pi);
                mi.Store(m + i);
                vi.Store(v + i);
                pi.Store(p + i);
            }
        }
        if (maxVectorBits >= 256 && Vector256.IsHardwareAccelerated)
        {
            var vl2 = Vector256.Create(l2);
            var vdecay = Vector256.Create(decay);
            var vb1 = Vector256.Create(beta1);
            var vc1 = Vector256.Create(oneMinusBeta1);
            var vb2 = Vector256.Create(beta2);
            var vc2 = Vector256.Create(oneMinusBeta2);
            var vbc = Vector256.Create(bc2Sqrt);
            var veps = Vector256.Create(eps);
            var vstep = Vector256.Create(negStep);
            for (; i + 8 <= end; i += 8)
            {
                var pi = Vector256.Load(p + i);
                var gi = Vector256.Load(g + i);
                if (l2 != 0) gi = Vector256.FusedMultiplyAdd(pi, vl2, gi);
                if (decay != 1) pi *= vdecay;
                var mi = Vector256.FusedMultiplyAdd(gi, vc1, Vector256.Load(m + i) * vb1);
                var vi = Vector256.FusedMultiplyAdd(gi * gi, vc2, Vector256.Load(v + i) * vb2);
                var denom = Vector256.Sqrt(vi) / vbc + veps;
                pi = Vector256.FusedMultiplyAdd(mi / denom, vstep, pi);
                mi.Store(m + i);
                vi.Store(v + i);
                pi.Store(p + i);
            }
        }
        for (; i < end; i++)
        {
            float pi = p[i], gi = g[i];
            if (l2 != 0) gi = MathF.FusedMultiplyAdd(pi, l2, gi);
            if (decay != 1) pi *= decay;
            float mi = MathF.FusedMultiplyAdd(gi, oneMinusBeta1, m[i] * beta1);
            float vi = MathF.FusedMultiplyAdd(gi * gi, oneMinusBeta2, v[i] * beta2);
            float denom = MathF.Sqrt(vi) / bc2Sqrt + eps;
            p[i] = MathF.FusedMultiplyAdd(mi / denom, negStep, pi);
            m[i] = mi;
            v[i] = vi;
        }
    }
}
