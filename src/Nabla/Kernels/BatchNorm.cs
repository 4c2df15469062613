using System.Numerics;
using System.Numerics.Tensors;

namespace Nabla.Kernels;

/// <summary>
/// Fused batch normalisation over a contiguous (N, C, S) layout (S = spatial size, 1 for (N, C)): per channel
/// mean and biased variance over N·S values, x̂ = (x − μ)·invstd, y = γx̂ + β; backward
/// dx = γ·invstd/M·(M·dy − Σdy − x̂·Σ(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy. The composed version (mean, var, sub, div)
/// is the test reference.
/// </summary>
public static class BatchNorm
{
    [ThreadStatic] private static float[]? t_centered;   // one channel-plane of x − μ per thread (Scratch)

    /// <summary>Per-channel mean and biased variance of (N, C, S): row sums in float, accumulated over rows in double.</summary>
    /// <remarks>Channels are split over <see cref="Threads.Count"/> threads; each channel is summed by one thread in a fixed order.</remarks>
    public static unsafe void Statistics(ReadOnlySpan<float> x, int n, int c, int s, Span<float> mean, Span<float> variance)
    {
        fixed (float* px = x, pm = mean, pv = variance)
        {
            nint ax = (nint)px, am = (nint)pm, av = (nint)pv;
            int xl = x.Length;
            var state = (ax, am, av, xl, n, c, s);
            ParallelFor.Run(c, (long)n * s * 3, in state, static (in (nint ax, nint am, nint av, int xl, int n, int c, int s) a, int c0, int c1) =>
            {
                var (ax, am, av, xl, n, c, s) = a;
                var xs = new ReadOnlySpan<float>((void*)ax, xl);
                var tmp = Scratch.Get(ref t_centered, s);
                for (int ch = c0; ch < c1; ch++)
                {
                    double sum = 0;
                    for (int i = 0; i < n; i++) sum += TensorPrimitives.Sum(xs.Slice((i * c + ch) * s, s));
                    double mu = sum / ((double)n * s);
                    double sq = 0;
                    var d = tmp.AsSpan(0, s);
                    for (int i = 0; i < n; i++)
                    {
                        TensorPrimitives.Subtract(xs.Slice((i * c + ch) * s, s), (float)mu, d);
                        sq += TensorPrimitives.SumOfSquares(d);
                    }
                    ((float*)am)[ch] = (float)mu;
                    ((float*)av)[ch] = (float)(sq / ((double)n * s));
                }
            });
        }
    }

    /// <summary>y = γ(x − μ)·invstd + β per channel (γ, β empty = 1, 0); also writes x̂ when <paramref name="xhat"/> is not empty.</summary>
    public static unsafe void Normalize(ReadOnlySpan<float> x, int n, int c, int s, ReadOnlySpan<float> mean, ReadOnlySpan<float> invstd,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, Span<float> y, Span<float> xhat)
    {
        fixed (float* px = x, pm = mean, pi = invstd, pg = gamma, pb = beta, py = y, ph = xhat)
        {
            nint ax = (nint)px, am = (nint)pm, ai = (nint)pi, ag = (nint)pg, ab = (nint)pb, ay = (nint)py, ah = (nint)ph;
            int xl = x.Length, gl = gamma.Length, bl = beta.Length, hl = xhat.Length;
            var state = new NormalizeArgs(ax, am, ai, ag, ab, ay, ah, xl, gl, bl, hl, c, s);
            ParallelFor.Run(n, (long)c * s * 2, in state, static (in NormalizeArgs a, int i0, int i1) =>
            {
                var (ax, am, ai, ag, ab, ay, ah, xl, gl, bl, hl, c, s) = a;
                var xs = new ReadOnlySpan<float>((void*)ax, xl);
                var ys = new Span<float>((void*)ay, xl);
                var hs = new Span<float>((void*)ah, hl);
                var ms = new ReadOnlySpan<float>((void*)am, c);
                var iv = new ReadOnlySpan<float>((void*)ai, c);
                var gs = new ReadOnlySpan<float>((void*)ag, gl);
                var bs = new ReadOnlySpan<float>((void*)ab, bl);
                for (int i = i0; i < i1; i++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        int o = (i * c + ch) * s;
                        float g = gs.IsEmpty ? 1f : gs[ch], b = bs.IsEmpty ? 0f : bs[ch];
                        NormalizePlane(xs.Slice(o, s), ms[ch], iv[ch], g, b, hs.IsEmpty ? default : hs.Slice(o, s), ys.Slice(o, s));
                    }
            });
        }
    }

    /// <summary>
    /// One channel plane in one pass: x̂ = (x − μ)·invstd (into <paramref name="xhat"/> when given), y = x̂·γ + β — the
    /// same roundings in the same order as a pass per operation (no fused multiply-add), so the same bits.
    /// </summary>
    internal static void NormalizePlane(ReadOnlySpan<float> x, float mean, float invstd, float gamma, float beta, Span<float> xhat, Span<float> y)
    {
        // y = x̂ exactly when there is no x̂ to keep and the affine step is the identity (x̂·1 + 0 would turn −0 into +0).
        bool affine = !xhat.IsEmpty || gamma != 1f || beta != 0f;
        int n = x.Length, i = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            Vector<float> vm = new(mean), vi = new(invstd), vg = new(gamma), vb = new(beta);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                var h = (new Vector<float>(x.Slice(i)) - vm) * vi;
                if (!xhat.IsEmpty) h.CopyTo(xhat.Slice(i));
                if (affine) h = h * vg + vb;
                h.CopyTo(y.Slice(i));
            }
        }
        for (; i < n; i++)
        {
            float h = (x[i] - mean) * invstd;
            if (!xhat.IsEmpty) xhat[i] = h;
            y[i] = affine ? h * gamma + beta : h;
        }
    }

    /// <summary>dx = ((x̂·(−mean(dy·x̂)) + dy) + (−mean(dy)))·scale for one plane, in one pass with a pass per operation's roundings.</summary>
    internal static void BackwardPlane(ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, float meanDy, float meanDyXhat, float scale, Span<float> dx)
    {
        int n = dx.Length, i = 0;
        float a = -meanDyXhat, m = -meanDy;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            Vector<float> va = new(a), vm = new(m), vs = new(scale);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                var d = (new Vector<float>(xhat.Slice(i)) * va + new Vector<float>(dy.Slice(i)) + vm) * vs;
                d.CopyTo(dx.Slice(i));
            }
        }
        for (; i < n; i++) dx[i] = ((xhat[i] * a + dy[i]) + m) * scale;
    }

    /// <summary>
    /// Training-mode backward: dx from dy and x̂; dγ, dβ when their spans are not empty (overwritten).
    /// With <paramref name="batchStatistics"/> false (evaluation statistics) dx = γ·invstd·dy.
    /// </summary>
    /// <remarks>Channels are split over <see cref="Threads.Count"/> threads.</remarks>
    public static unsafe void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, int n, int c, int s, ReadOnlySpan<float> invstd,
        ReadOnlySpan<float> gamma, bool batchStatistics, Span<float> dx, Span<float> dgamma, Span<float> dbeta)
    {
        fixed (float* pdy = dy, ph = xhat, pi = invstd, pg = gamma, pdx = dx, pdg = dgamma, pdb = dbeta)
        {
            nint ady = (nint)pdy, ah = (nint)ph, ai = (nint)pi, ag = (nint)pg, adx = (nint)pdx, adg = (nint)pdg, adb = (nint)pdb;
            int yl = dy.Length, hl = xhat.Length, gl = gamma.Length, xl = dx.Length, dgl = dgamma.Length, dbl = dbeta.Length;
            var state = new BackwardArgs(ady, ah, ai, ag, adx, adg, adb, yl, hl, gl, xl, dgl, dbl, n, c, s, batchStatistics);
            ParallelFor.Run(c, (long)n * s * 4, in state, static (in BackwardArgs a, int c0, int c1) =>
                BackwardChannels(new ReadOnlySpan<float>((void*)a.Dy, a.DyLength), new ReadOnlySpan<float>((void*)a.Xhat, a.XhatLength), a.N, a.C, a.S,
                    new ReadOnlySpan<float>((void*)a.Invstd, a.C), new ReadOnlySpan<float>((void*)a.Gamma, a.GammaLength), a.BatchStatistics,
                    new Span<float>((void*)a.Dx, a.DxLength), new Span<float>((void*)a.Dgamma, a.DgammaLength), new Span<float>((void*)a.Dbeta, a.DbetaLength), c0, c1));
        }
    }

    // The arguments of the parallel loops, so that a call allocates nothing (static lambdas over a state struct).
    private readonly record struct NormalizeArgs(nint X, nint Mean, nint Invstd, nint Gamma, nint Beta, nint Y, nint Xhat,
        int XLength, int GammaLength, int BetaLength, int XhatLength, int C, int S);

    private readonly record struct BackwardArgs(nint Dy, nint Xhat, nint Invstd, nint Gamma, nint Dx, nint Dgamma, nint Dbeta,
        int DyLength, int XhatLength, int GammaLength, int DxLength, int DgammaLength, int DbetaLength, int N, int C, int S, bool BatchStatistics);

    private static void BackwardChannels(ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, int n, int c, int s, ReadOnlySpan<float> invstd,
        ReadOnlySpan<float> gamma, bool batchStatistics, Span<float> dx, Span<float> dgamma, Span<float> dbeta, int c0, int c1)
    {
        double m = (double)n * s;
        for (int ch = c0; ch < c1; ch++)
        {
            double sumDy = 0, sumDyXhat = 0;
            for (int i = 0; i < n; i++)
            {
                int o = (i * c + ch) * s;
                sumDy += TensorPrimitives.Sum(dy.Slice(o, s));
                sumDyXhat += TensorPrimitives.Dot(dy.Slice(o, s), xhat.Slice(o, s));
            }
            if (!dgamma.IsEmpty) dgamma[ch] = (float)sumDyXhat;
            if (!dbeta.IsEmpty) dbeta[ch] = (float)sumDy;
            if (dx.IsEmpty) continue;
            float g = gamma.IsEmpty ? 1f : gamma[ch];
            float scale = g * invstd[ch];
            for (int i = 0; i < n; i++)
            {
                int o = (i * c + ch) * s;
                var d = dx.Slice(o, s);
                if (!batchStatistics)
                {
                    TensorPrimitives.Multiply(dy.Slice(o, s), scale, d);
                    continue;
                }
                // dx = scale·(dy − mean(dy) − x̂·mean(dy·x̂))
                float meanDy = (float)(sumDy / m), meanDyXhat = (float)(sumDyXhat / m);
                BackwardPlane(dy.Slice(o, s), xhat.Slice(o, s), meanDy, meanDyXhat, scale, d);
            }
        }
    }
}
