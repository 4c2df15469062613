using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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

    /// <summary>
    /// y = γ(x − μ)·invstd + β per channel (γ, β empty = 1, 0), then y = max(y, 0) when <paramref name="relu"/> (the ReLU
    /// kernel's own call on each plane while it is in cache: the bits of BatchNorm then ReLU); also writes x̂ when
    /// <paramref name="xhat"/> is not empty.
    /// </summary>
    public static unsafe void Normalize(ReadOnlySpan<float> x, int n, int c, int s, ReadOnlySpan<float> mean, ReadOnlySpan<float> invstd,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, Span<float> y, Span<float> xhat, bool relu = false)
    {
        fixed (float* px = x, pm = mean, pi = invstd, pg = gamma, pb = beta, py = y, ph = xhat)
        {
            nint ax = (nint)px, am = (nint)pm, ai = (nint)pi, ag = (nint)pg, ab = (nint)pb, ay = (nint)py, ah = (nint)ph;
            int xl = x.Length, gl = gamma.Length, bl = beta.Length, hl = xhat.Length;
            var state = new NormalizeArgs(ax, am, ai, ag, ab, ay, ah, xl, gl, bl, hl, c, s, relu);
            ParallelFor.Run(n, (long)c * s * 2, in state, static (in NormalizeArgs a, int i0, int i1) =>
            {
                var (ax, am, ai, ag, ab, ay, ah, xl, gl, bl, hl, c, s, relu) = a;
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
                        NormalizePlane(xs.Slice(o, s), ms[ch], iv[ch], g, b, hs.IsEmpty ? default : hs.Slice(o, s), ys.Slice(o, s), relu);
                    }
            });
        }
    }

    /// <summary>
    /// One channel plane in one pass: x̂ = (x − μ)·invstd (into <paramref name="xhat"/> when given), y = x̂·γ + β, then
    /// y = max(y, 0) with <paramref name="relu"/> (NaN kept, −0 to +0, as TensorPrimitives.Max) — the same roundings in
    /// the same order as a pass per operation (no fused multiply-add), so the same bits at any vector width.
    /// </summary>
    internal static void NormalizePlane(ReadOnlySpan<float> x, float mean, float invstd, float gamma, float beta, Span<float> xhat, Span<float> y, bool relu = false)
    {
        // y = x̂ exactly when there is no x̂ to keep and the affine step is the identity (x̂·1 + 0 would turn −0 into +0).
        bool affine = !xhat.IsEmpty || gamma != 1f || beta != 0f, keep = !xhat.IsEmpty;
        int n = x.Length, i = 0;
        if (y.Length < n || (keep && xhat.Length < n)) throw new ArgumentException("BatchNorm: output planes shorter than the input plane.");
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float rh = ref MemoryMarshal.GetReference(xhat);
        ref float ry = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> vm = Vector512.Create(mean), vi = Vector512.Create(invstd), vg = Vector512.Create(gamma), vb = Vector512.Create(beta);
            for (; i <= n - 16; i += 16)
            {
                var h = (Vector512.LoadUnsafe(ref rx, (nuint)i) - vm) * vi;
                if (keep) h.StoreUnsafe(ref rh, (nuint)i);
                if (affine) h = h * vg + vb;
                if (relu) h = Vector512.ConditionalSelect(Vector512.GreaterThan(h, Vector512<float>.Zero) | ~Vector512.Equals(h, h), h, Vector512<float>.Zero);
                h.StoreUnsafe(ref ry, (nuint)i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vm = Vector256.Create(mean), vi = Vector256.Create(invstd), vg = Vector256.Create(gamma), vb = Vector256.Create(beta);
            for (; i <= n - 8; i += 8)
            {
                var h = (Vector256.LoadUnsafe(ref rx, (nuint)i) - vm) * vi;
                if (keep) h.StoreUnsafe(ref rh, (nuint)i);
                if (affine) h = h * vg + vb;
                if (relu) h = Vector256.ConditionalSelect(Vector256.GreaterThan(h, Vector256<float>.Zero) | ~Vector256.Equals(h, h), h, Vector256<float>.Zero);
                h.StoreUnsafe(ref ry, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float h = (x[i] - mean) * invstd;
            if (keep) xhat[i] = h;
            float v = affine ? h * gamma + beta : h;
            y[i] = relu ? ElementwiseNaive.Unary(Backends.UnaryOp.Relu, v, 0, 0) : v;
        }
    }

    /// <summary>dx = ((x̂·(−mean(dy·x̂)) + dy) + (−mean(dy)))·scale for one plane, in one pass with a pass per operation's roundings (dx may be dy).</summary>
    internal static void BackwardPlane(ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, float meanDy, float meanDyXhat, float scale, Span<float> dx)
    {
        int n = dx.Length, i = 0;
        if (dy.Length < n || xhat.Length < n) throw new ArgumentException("BatchNorm: input planes shorter than the output plane.");
        float a = -meanDyXhat, m = -meanDy;
        ref float rd = ref MemoryMarshal.GetReference(dy);
        ref float rh = ref MemoryMarshal.GetReference(xhat);
        ref float rx = ref MemoryMarshal.GetReference(dx);
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> va = Vector512.Create(a), vm = Vector512.Create(m), vs = Vector512.Create(scale);
            for (; i <= n - 16; i += 16)
                ((Vector512.LoadUnsafe(ref rh, (nuint)i) * va + Vector512.LoadUnsafe(ref rd, (nuint)i) + vm) * vs).StoreUnsafe(ref rx, (nuint)i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> va = Vector256.Create(a), vm = Vector256.Create(m), vs = Vector256.Create(scale);
            for (; i <= n - 8; i += 8)
                ((Vector256.LoadUnsafe(ref rh, (nuint)i) * va + Vector256.LoadUnsafe(ref rd, (nuint)i) + vm) * vs).StoreUnsafe(ref rx, (nuint)i);
        }
        for (; i < n; i++) dx[i] = ((xhat[i] * a + dy[i]) + m) * scale;
    }

    /// <summary>
    /// Training-mode backward: dx from dy and x̂; dγ, dβ when their spans are not empty (overwritten).
    /// With <paramref name="batchStatistics"/> false (evaluation statistics) dx = γ·invstd·dy. With
    /// <paramref name="reluOutput"/> (the output of a normalisation fused with a ReLU) dy is first masked where that
    /// output is not positive, plane by plane — the ReLU gradient's values, so the bits of ReLU's backward then this one.
    /// </summary>
    /// <remarks>Channels are split over <see cref="Threads.Count"/> threads.</remarks>
    public static unsafe void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, int n, int c, int s, ReadOnlySpan<float> invstd,
        ReadOnlySpan<float> gamma, bool batchStatistics, Span<float> dx, Span<float> dgamma, Span<float> dbeta, ReadOnlySpan<float> reluOutput = default)
    {
        fixed (float* pdy = dy, ph = xhat, pi = invstd, pg = gamma, pdx = dx, pdg = dgamma, pdb = dbeta, pr = reluOutput)
        {
            nint ady = (nint)pdy, ah = (nint)ph, ai = (nint)pi, ag = (nint)pg, adx = (nint)pdx, adg = (nint)pdg, adb = (nint)pdb, ar = (nint)pr;
            int yl = dy.Length, hl = xhat.Length, gl = gamma.Length, xl = dx.Length, dgl = dgamma.Length, dbl = dbeta.Length, rl = reluOutput.Length;
            var state = new BackwardArgs(ady, ah, ai, ag, adx, adg, adb, ar, yl, hl, gl, xl, dgl, dbl, rl, n, c, s, batchStatistics);
            ParallelFor.Run(c, (long)n * s * 4, in state, static (in BackwardArgs a, int c0, int c1) =>
                BackwardChannels(new ReadOnlySpan<float>((void*)a.Dy, a.DyLength), new ReadOnlySpan<float>((void*)a.Xhat, a.XhatLength), a.N, a.C, a.S,
                    new ReadOnlySpan<float>((void*)a.Invstd, a.C), new ReadOnlySpan<float>((void*)a.Gamma, a.GammaLength), a.BatchStatistics,
                    new Span<float>((void*)a.Dx, a.DxLength), new Span<float>((void*)a.Dgamma, a.DgammaLength), new Span<float>((void*)a.Dbeta, a.DbetaLength),
                    new ReadOnlySpan<float>((void*)a.Relu, a.ReluLength), c0, c1));
        }
    }

    [ThreadStatic] private static float[]? t_masked;   // one plane of the ReLU-masked dy per thread when there is no dx to hold it

    // m = dy where the fused ReLU's output y is positive, else 0 (ReLU's gradient: 0 at 0, as PyTorch); m may be dx.
    private static void Mask(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, Span<float> m)
    {
        int n = m.Length, i = 0;
        if (dy.Length < n || y.Length < n) throw new ArgumentException("BatchNorm: mask inputs shorter than the plane.");
        ref float rd = ref MemoryMarshal.GetReference(dy);
        ref float ry = ref MemoryMarshal.GetReference(y);
        ref float rm = ref MemoryMarshal.GetReference(m);
        if (Vector512.IsHardwareAccelerated)
            for (; i <= n - 16; i += 16)
                Vector512.ConditionalSelect(
                    Vector512.GreaterThan(Vector512.LoadUnsafe(ref ry, (nuint)i), Vector512<float>.Zero),
                    Vector512.LoadUnsafe(ref rd, (nuint)i), Vector512<float>.Zero).StoreUnsafe(ref rm, (nuint)i);
        if (Vector256.IsHardwareAccelerated)
            for (; i <= n - 8; i += 8)
                Vector256.ConditionalSelect(
                    Vector256.GreaterThan(Vector256.LoadUnsafe(ref ry, (nuint)i), Vector256<float>.Zero),
                    Vector256.LoadUnsafe(ref rd, (nuint)i), Vector256<float>.Zero).StoreUnsafe(ref rm, (nuint)i);
        for (; i < n; i++) m[i] = y[i] > 0f ? dy[i] : 0f;
    }

    // The arguments of the parallel loops, so that a call allocates nothing (static lambdas over a state struct).
    private readonly record struct NormalizeArgs(nint X, nint Mean, nint Invstd, nint Gamma, nint Beta, nint Y, nint Xhat,
        int XLength, int GammaLength, int BetaLength, int XhatLength, int C, int S, bool Relu);

    private readonly record struct BackwardArgs(nint Dy, nint Xhat, nint Invstd, nint Gamma, nint Dx, nint Dgamma, nint Dbeta, nint Relu,
        int DyLength, int XhatLength, int GammaLength, int DxLength, int DgammaLength, int DbetaLength, int ReluLength, int N, int C, int S, bool BatchStatistics);

    private static void BackwardChannels(ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, int n, int c, int s, ReadOnlySpan<float> invstd,
        ReadOnlySpan<float> gamma, bool batchStatistics, Span<float> dx, Span<float> dgamma, Span<float> dbeta, ReadOnlySpan<float> relu, int c0, int c1)
    {
        double m = (double)n * s;
        // With a fused ReLU the masked dy is taken once per plane, into dx's own plane (the pass below then reads and
        // overwrites it in place) or, without dx, into a plane of scratch that only the sums read.
        bool fused = !relu.IsEmpty;
        var scratch = fused && dx.IsEmpty ? Scratch.Get(ref t_masked, s).AsSpan(0, s) : default;
        for (int ch = c0; ch < c1; ch++)
        {
            double sumDy = 0, sumDyXhat = 0;
            for (int i = 0; i < n; i++)
            {
                int o = (i * c + ch) * s;
                ReadOnlySpan<float> d = dy.Slice(o, s);
                if (fused)
                {
                    var into = dx.IsEmpty ? scratch : dx.Slice(o, s);
                    Mask(d, relu.Slice(o, s), into);
                    d = into;
                }
                sumDy += TensorPrimitives.Sum(d);
                sumDyXhat += TensorPrimitives.Dot(d, xhat.Slice(o, s));
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
                ReadOnlySpan<float> up = fused ? d : dy.Slice(o, s);
                if (!batchStatistics)
                {
                    TensorPrimitives.Multiply(up, scale, d);
                    continue;
                }
                // dx = scale·(dy − mean(dy) − x̂·mean(dy·x̂))
                float meanDy = (float)(sumDy / m), meanDyXhat = (float)(sumDyXhat / m);
                BackwardPlane(up, xhat.Slice(o, s), meanDy, meanDyXhat, scale, d);
            }
        }
    }
}
