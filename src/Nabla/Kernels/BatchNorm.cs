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
    /// <summary>Per-channel mean and biased variance of (N, C, S), accumulated in double.</summary>
    public static void Statistics(ReadOnlySpan<float> x, int n, int c, int s, Span<float> mean, Span<float> variance)
    {
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += TensorPrimitives.Sum(x.Slice((i * c + ch) * s, s));
            double mu = sum / ((double)n * s);
            double sq = 0;
            for (int i = 0; i < n; i++)
            {
                var row = x.Slice((i * c + ch) * s, s);
                for (int k = 0; k < s; k++)
                {
                    double d = row[k] - mu;
                    sq += d * d;
                }
            }
            mean[ch] = (float)mu;
            variance[ch] = (float)(sq / ((double)n * s));
        }
    }

    /// <summary>y = γ(x − μ)·invstd + β per channel (γ, β empty = 1, 0); also writes x̂ when <paramref name="xhat"/> is not empty.</summary>
    public static void Normalize(ReadOnlySpan<float> x, int n, int c, int s, ReadOnlySpan<float> mean, ReadOnlySpan<float> invstd,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, Span<float> y, Span<float> xhat)
    {
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
            {
                int o = (i * c + ch) * s;
                var dst = xhat.IsEmpty ? y.Slice(o, s) : xhat.Slice(o, s);
                TensorPrimitives.Subtract(x.Slice(o, s), mean[ch], dst);
                TensorPrimitives.Multiply(dst, invstd[ch], dst);
                float g = gamma.IsEmpty ? 1f : gamma[ch], b = beta.IsEmpty ? 0f : beta[ch];
                if (!xhat.IsEmpty || g != 1f || b != 0f)
                {
                    TensorPrimitives.Multiply(dst, g, y.Slice(o, s));
                    TensorPrimitives.Add(y.Slice(o, s), b, y.Slice(o, s));
                }
            }
    }

    /// <summary>
    /// Training-mode backward: dx from dy and x̂; dγ, dβ when their spans are not empty (overwritten).
    /// With <paramref name="batchStatistics"/> false (evaluation statistics) dx = γ·invstd·dy.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, int n, int c, int s, ReadOnlySpan<float> invstd,
        ReadOnlySpan<float> gamma, bool batchStatistics, Span<float> dx, Span<float> dgamma, Span<float> dbeta)
    {
        double m = (double)n * s;
        for (int ch = 0; ch < c; ch++)
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
                TensorPrimitives.Multiply(xhat.Slice(o, s), -meanDyXhat, d);
                TensorPrimitives.Add(d, dy.Slice(o, s), d);
                TensorPrimitives.Add(d, -meanDy, d);
                TensorPrimitives.Multiply(d, scale, d);
            }
        }
    }
}
