namespace Nabla.Data.Transforms;

/// <summary>torchvision Compose(transforms): applies the transforms one after another, in order.</summary>
public sealed class Compose : Transform
{
    private readonly Transform[] _transforms;

    /// <summary>Creates the chain.</summary>
    /// <param name="transforms">The transforms, applied first to last (torchvision <c>transforms</c>).</param>
    /// <exception cref="ArgumentException">a transform is null.</exception>
    public Compose(params Transform[] transforms) => _transforms = Checked(transforms, nameof(Compose));

    /// <summary>The transforms, in order.</summary>
    public IReadOnlyList<Transform> Transforms => _transforms;

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        foreach (var t in _transforms) image = t.Apply(image, g);
        return image;
    }

    internal static Transform[] Checked(Transform[] transforms, string who)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        if (transforms.Any(t => t is null)) throw new ArgumentException($"{who}: a transform is null.", nameof(transforms));
        return [.. transforms];
    }
}

/// <summary>torchvision RandomApply(transforms, p=0.5): with probability p applies the transform, otherwise returns the image.</summary>
public sealed class RandomApply : Transform
{
    /// <summary>Creates the wrapper.</summary>
    /// <param name="transform">The transform (use <see cref="Compose"/> for several).</param>
    /// <param name="p">Probability of applying it (torchvision <c>p</c>).</param>
    public RandomApply(Transform transform, double p = 0.5) : base(p)
    {
        ArgumentNullException.ThrowIfNull(transform);
        Inner = transform;
    }

    /// <summary>The wrapped transform.</summary>
    public Transform Inner { get; }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g) => Fires(g) ? Inner.Apply(image, g) : image;
}

/// <summary>
/// Applies one of the transforms, chosen uniformly at random (torchvision RandomChoice without weights; albumentations
/// OneOf with p = 1 and equal weights).
/// </summary>
public sealed class OneOf : Transform
{
    private readonly Transform[] _transforms;

    /// <summary>Creates the choice.</summary>
    /// <param name="transforms">The candidates (torchvision <c>transforms</c>).</param>
    /// <exception cref="ArgumentException">no transforms, or a null one.</exception>
    public OneOf(params Transform[] transforms)
    {
        _transforms = Compose.Checked(transforms, nameof(OneOf));
        if (_transforms.Length == 0) throw new ArgumentException("OneOf: needs at least one transform.", nameof(transforms));
    }

    /// <summary>The candidates.</summary>
    public IReadOnlyList<Transform> Transforms => _transforms;

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        ArgumentNullException.ThrowIfNull(g);
        return _transforms[g.NextInt(_transforms.Length)].Apply(image, g);
    }
}

/// <summary>torchvision RandomOrder(transforms): applies all the transforms in a uniformly random order.</summary>
public sealed class RandomOrder : Transform
{
    private readonly Transform[] _transforms;

    /// <summary>Creates the shuffle.</summary>
    /// <param name="transforms">The transforms (torchvision <c>transforms</c>).</param>
    /// <exception cref="ArgumentException">a transform is null.</exception>
    public RandomOrder(params Transform[] transforms) => _transforms = Compose.Checked(transforms, nameof(RandomOrder));

    /// <summary>The transforms.</summary>
    public IReadOnlyList<Transform> Transforms => _transforms;

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        ArgumentNullException.ThrowIfNull(g);
        foreach (int i in g.Permutation(_transforms.Length)) image = _transforms[i].Apply(image, g);
        return image;
    }
}

/// <summary>
/// torchvision Normalize(mean, std): out[c] = (x[c] − mean[c]) / std[c] per channel; a single value applies to every
/// channel. Not random (draws nothing); usually last in a <see cref="Compose"/>.
/// </summary>
public sealed class Normalize : Transform
{
    private readonly float[] _mean, _std;

    /// <summary>Creates the normalisation.</summary>
    /// <param name="mean">Per-channel means (torchvision <c>mean</c>).</param>
    /// <param name="std">Per-channel standard deviations, all positive (torchvision <c>std</c>).</param>
    /// <exception cref="ArgumentException">empty or differently long arrays, or a std that is not positive.</exception>
    public Normalize(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"Normalize: mean ({mean.Length}) and std ({std.Length}) need the same, non-zero length.", nameof(std));
        if (std.Any(s => !(s > 0) || !float.IsFinite(s)) || mean.Any(m => !float.IsFinite(m)))
            throw new ArgumentException("Normalize: std must be positive and every value finite.", nameof(std));
        _mean = [.. mean];
        _std = [.. std];
    }

    /// <summary>Per-channel means.</summary>
    public IReadOnlyList<float> Mean => _mean;
    /// <summary>Per-channel standard deviations.</summary>
    public IReadOnlyList<float> Std => _std;

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">the image's channel count differs from the number of means (other than 1).</exception>
    public override Tensor Apply(Tensor image, Generator g)
    {
        var x = Pixels.Read(image, nameof(Normalize), out int c, out int h, out int w);
        if (_mean.Length != 1 && _mean.Length != c)
            throw new ArgumentException($"Normalize: {_mean.Length} means for a {c}-channel image.", nameof(image));
        int hw = h * w;
        for (int i = 0; i < x.Length; i++)
        {
            int k = _mean.Length == 1 ? 0 : i / hw;
            x[i] = (x[i] - _mean[k]) / _std[k];
        }
        return Pixels.Make(x, c, h, w);
    }
}
