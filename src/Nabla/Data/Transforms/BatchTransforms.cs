namespace Nabla.Data.Transforms;

/// <summary>
/// A transform of a whole mini-batch that mixes samples and their labels (torchvision.transforms.v2 MixUp, CutMix).
/// The output is a classification batch with <see cref="Batch.Labels"/> = null and soft <see cref="Batch.Targets"/>
/// (B, classes), each row summing to one, which <see cref="Training.Trainer"/> trains with cross-entropy on the
/// soft targets. A batch that already carries soft targets (e.g. from an earlier mix) has those mixed instead.
/// </summary>
public abstract class BatchTransform
{
    /// <summary>Mixes the batch with draws from <paramref name="g"/>.</summary>
    /// <param name="batch">Features (B, …); labels (B) in 0 … numClasses−1, or soft targets (B, K).</param>
    /// <param name="g">The batch's generator.</param>
    /// <param name="numClasses">Number of classes for the one-hot encoding of the labels.</param>
    /// <exception cref="ArgumentException">a label outside 0 … numClasses−1, a batch with neither labels nor targets,
    /// or features of the wrong rank.</exception>
    public abstract Batch Apply(Batch batch, Generator g, int numClasses);

    /// <summary>
    /// The batch's targets as a flat (B, K) array: one-hot labels (K = numClasses), or the existing soft targets.
    /// </summary>
    internal static float[] SoftTargets(Batch batch, int numClasses, string who, out int k)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int n = batch.Features.Shape[0];
        if (batch.Labels is { } labels)
        {
            if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, $"{who}: numClasses must be at least 1.");
            k = numClasses;
            var t = new float[n * k];
            for (int i = 0; i < n; i++)
            {
                int y = labels.Data[i];
                if ((uint)y >= (uint)k) throw new ArgumentException($"{who}: label {y} is outside 0..{k - 1}.", nameof(batch));
                t[i * k + y] = 1;
            }
            return t;
        }
        if (batch.Targets is { } targets && targets.Rank == 2 && targets.Shape[0] == n)
        {
            k = targets.Shape[1];
            return targets.ToArray();
        }
        throw new ArgumentException($"{who}: the batch needs labels (B) or soft targets (B, classes).", nameof(batch));
    }

    /// <summary>
    /// The batch's features read in place (a host copy only off the CPU or when strided) and a pooled output tensor of the
    /// same shape: fresh per-batch arrays would grow the large-object heap on the loader's thread.
    /// </summary>
    internal static (Tensor Source, ReadOnlyMemory<float> X, Tensor Output, float[] O) InPlaceAndPooled(Tensor features)
    {
        var source = features.Contiguous();
        ReadOnlyMemory<float> x = source.TryHostMemory(out var values) ? values : features.ToArray();
        var output = Tensor.Uninitialized(Tensor.DefaultBackend, [.. features.Shape]);
        return (source, x, output, HostArray(output));
    }

    // The host array behind a tensor this code just allocated (host memory by construction).
    internal static float[] HostArray(Tensor t) =>
        t.TryHostMemory(out var m) && System.Runtime.InteropServices.MemoryMarshal.TryGetArray<float>(m, out var segment) && segment.Offset == 0
            ? segment.Array!
            : throw new InvalidOperationException("Augmentation: the output tensor is not in host memory.");

    /// <summary>t_i ← λ·t_i + (1−λ)·t_perm(i), as a (B, K) tensor.</summary>
    internal static Tensor MixTargets(float[] t, int n, int k, double lambda, int[] perm)
    {
        var o = new float[n * k];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < k; j++) o[i * k + j] = (float)(lambda * t[i * k + j] + (1 - lambda) * t[perm[i] * k + j]);
        return Tensor.FromArray(o, n, k);
    }
}

/// <summary>
/// mixup (Zhang et al., 2018; torchvision.transforms.v2.MixUp(alpha=1.0)): one λ ~ Beta(α, α) per batch and a random
/// partner permutation π; x_i ← λ·x_i + (1−λ)·x_π(i) and soft targets t_i = λ·onehot(y_i) + (1−λ)·onehot(y_π(i)).
/// (torchvision pairs each sample with its neighbour by rolling the batch; here π is a uniform permutation.)
/// </summary>
public sealed class MixUp : BatchTransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="alpha">Beta(α, α) parameter (torchvision <c>alpha</c>), positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">α not positive.</exception>
    public MixUp(double alpha = 1.0)
    {
        if (!(alpha > 0 && double.IsFinite(alpha))) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "MixUp: alpha must be positive.");
        Alpha = alpha;
    }

    /// <summary>Beta(α, α) parameter.</summary>
    public double Alpha { get; }

    /// <inheritdoc/>
    public override Batch Apply(Batch batch, Generator g, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(g);
        double lambda = Sampling.Beta(g, Alpha, Alpha);
        var perm = g.Permutation(batch.Features.Shape[0]);
        return Mix(batch, lambda, perm, numClasses);
    }

    /// <summary>The mix for a given λ and partner permutation.</summary>
    internal static Batch Mix(Batch batch, double lambda, int[] perm, int numClasses)
    {
        var t = SoftTargets(batch, numClasses, nameof(MixUp), out int k);
        int n = batch.Features.Shape[0];
        var (source, xm, output, o) = InPlaceAndPooled(batch.Features);
        var x = xm.Span;
        int per = n == 0 ? 0 : x.Length / n;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < per; j++) o[i * per + j] = (float)(lambda * x[i * per + j] + (1 - lambda) * x[perm[i] * per + j]);
        GC.KeepAlive(source);
        return batch with { Features = output, Labels = null, Targets = MixTargets(t, n, k, lambda, perm) };
    }
}

/// <summary>
/// CutMix (Yun et al., 2019; torchvision.transforms.v2.CutMix(alpha=1.0)): one λ ~ Beta(α, α) per batch, a box centre
/// (rₓ, r_y) uniform over the pixels, half-sides ⌊½√(1−λ)·W⌋ and ⌊½√(1−λ)·H⌋, clipped to the image; every sample gets
/// its partner's (π(i), a random permutation) pixels inside the box in every channel, and λ is recomputed as the kept
/// fraction λ' = 1 − box area/(H·W), exactly as torchvision; soft targets t_i = λ'·onehot(y_i) + (1−λ')·onehot(y_π(i)).
/// Features are (B, C, H, W) or (B, H, W).
/// </summary>
public sealed class CutMix : BatchTransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="alpha">Beta(α, α) parameter (torchvision <c>alpha</c>), positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">α not positive.</exception>
    public CutMix(double alpha = 1.0)
    {
        if (!(alpha > 0 && double.IsFinite(alpha))) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "CutMix: alpha must be positive.");
        Alpha = alpha;
    }

    /// <summary>Beta(α, α) parameter.</summary>
    public double Alpha { get; }

    /// <inheritdoc/>
    public override Batch Apply(Batch batch, Generator g, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(g);
        var shape = batch.Features.Shape;
        if (shape.Count < 3)
            throw new ArgumentException($"CutMix: needs image features (B, C, H, W) or (B, H, W), got {Shapes.Format([.. shape])}.", nameof(batch));
        int h = shape[^2], w = shape[^1];
        double lambda = Sampling.Beta(g, Alpha, Alpha);
        int rx = g.NextInt(w), ry = g.NextInt(h);
        double r = 0.5 * Math.Sqrt(1 - lambda);
        int rw = (int)(r * w), rh = (int)(r * h);
        int x1 = Math.Max(rx - rw, 0), y1 = Math.Max(ry - rh, 0), x2 = Math.Min(rx + rw, w), y2 = Math.Min(ry + rh, h);
        var perm = g.Permutation(shape[0]);
        return Cut(batch, (y1, x1, y2, x2), perm, numClasses);
    }

    /// <summary>Pastes the partners' box [y1, y2) × [x1, x2) and mixes the targets with λ' = 1 − box area/(H·W).</summary>
    internal static Batch Cut(Batch batch, (int Y1, int X1, int Y2, int X2) box, int[] perm, int numClasses)
    {
        var t = SoftTargets(batch, numClasses, nameof(CutMix), out int k);
        var shape = batch.Features.Shape;
        int n = shape[0], h = shape[^2], w = shape[^1];
        var (source, xm, output, o) = InPlaceAndPooled(batch.Features);
        var x = xm.Span;
        int planes = n == 0 ? 0 : x.Length / (n * h * w);
        x.CopyTo(o);
        for (int i = 0; i < n; i++)
            for (int p = 0; p < planes; p++)
            {
                int dst = (i * planes + p) * h * w, src = (perm[i] * planes + p) * h * w;
                for (int r = box.Y1; r < box.Y2; r++)
                    x.Slice(src + r * w + box.X1, box.X2 - box.X1).CopyTo(o.AsSpan(dst + r * w + box.X1));
            }
        GC.KeepAlive(source);
        double lambda = 1.0 - (double)(box.X2 - box.X1) * (box.Y2 - box.Y1) / ((double)w * h);
        return batch with { Features = output, Labels = null, Targets = MixTargets(t, n, k, lambda, perm) };
    }
}

/// <summary>Gamma and Beta variates from a <see cref="Generator"/>.</summary>
internal static class Sampling
{
    /// <summary>Gamma(shape a, scale 1) by Marsaglia and Tsang (2000); a &lt; 1 through Gamma(a+1)·U^(1/a).</summary>
    internal static double Gamma(Generator g, double a)
    {
        if (a < 1) return Gamma(g, a + 1) * Math.Pow(1 - g.NextDouble(), 1 / a);
        double d = a - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = g.NextNormal();
                v = 1 + c * x;
            }
            while (v <= 0);
            v = v * v * v;
            double u = g.NextDouble();
            if (u < 1 - 0.0331 * x * x * x * x) return d * v;
            if (Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v))) return d * v;
        }
    }

    /// <summary>Beta(a, b) = X/(X+Y) with X ~ Gamma(a), Y ~ Gamma(b); if both underflow to 0, 1 with probability a/(a+b).</summary>
    internal static double Beta(Generator g, double a, double b)
    {
        double x = Gamma(g, a), y = Gamma(g, b), s = x + y;
        if (s > 0) return x / s;
        return g.NextDouble() < a / (a + b) ? 1 : 0;
    }
}
