using Nabla.Autograd;

namespace Nabla;

/// <summary>How dropout keeps the expected activation the same in training and evaluation.</summary>
public enum DropoutMode
{
    /// <summary>Inverted dropout (PyTorch's): kept units are scaled by 1/(1 − p) in training; evaluation is the identity.</summary>
    Inverted,
    /// <summary>The lecture's form: no scaling in training; outputs are scaled by (1 − p) in evaluation.</summary>
    Classic,
}

/// <summary>Shared mask drawing for the dropout family: Bernoulli(1 − p) from the module's generator.</summary>
internal static class DropoutMasks
{
    public static void CheckP(float p, string name)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, $"{name}: dropout probability has to be between 0 and 1, but got {p}");
    }

    /// <summary>A mask of <paramref name="shape"/> with kept entries = <paramref name="keptValue"/>, dropped = 0.</summary>
    public static Tensor Draw(int[] shape, float p, float keptValue, Generator g)
    {
        return Tensor.Bernoulli(shape, p, keptValue, g);
    }

    public static Tensor Apply(Tensor x, int[] maskShape, float p, DropoutMode mode, bool training, Generator g)
    {
        if (!training) return mode == DropoutMode.Classic && p > 0 ? x * (1 - p) : x;
        if (p == 0) return x;
        if (p == 1) return x * 0f;
        var mask = Draw(maskShape, p, mode == DropoutMode.Inverted ? 1f / (1 - p) : 1f, g);
        return x * mask;
    }
}

/// <summary>
/// Dropout (Srivastava et al.; torch.nn.Dropout): in training each element is zeroed with probability p, a fresh
/// mask every forward pass from the module's seeded generator; gradients flow only through kept units. Default
/// p = 0.5 (the lecture suggests 0.2–0.5), inverted scaling by default. Input dropout is a Dropout placed first.
/// </summary>
public sealed class Dropout : Module
{
    private readonly Generator _generator;

    /// <summary>Creates the layer with its own generator.</summary>
    public Dropout(float p = 0.5f, Generator? generator = null, DropoutMode mode = DropoutMode.Inverted, int seed = 0)
    {
        DropoutMasks.CheckP(p, "Dropout");
        P = p;
        Mode = mode;
        _generator = RegisterGenerator("mask", generator ?? new Generator(seed));
    }

    /// <summary>Drop probability.</summary>
    public float P { get; }
    /// <summary>Inverted or classic scaling.</summary>
    public DropoutMode Mode { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => DropoutMasks.Apply(input, [.. input.Shape], P, Mode, Training, _generator);

    /// <inheritdoc/>
    protected override string ExtraRepr => $"p={P}{(Mode == DropoutMode.Classic ? ", mode=classic" : "")}";
}

/// <summary>
/// Channel dropout (torch.nn.Dropout2d): in training whole channels of (N, C, H, W) are zeroed with probability p
/// (one draw per sample and channel), the rest scaled as <see cref="Dropout"/>.
/// </summary>
public sealed class Dropout2d : Module
{
    private readonly Generator _generator;

    /// <summary>Creates the layer with its own generator.</summary>
    public Dropout2d(float p = 0.5f, Generator? generator = null, DropoutMode mode = DropoutMode.Inverted, int seed = 0)
    {
        DropoutMasks.CheckP(p, "Dropout2d");
        P = p;
        Mode = mode;
        _generator = RegisterGenerator("mask", generator ?? new Generator(seed));
    }

    /// <summary>Drop probability per channel.</summary>
    public float P { get; }
    /// <summary>Inverted or classic scaling.</summary>
    public DropoutMode Mode { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4) throw new ArgumentException($"Dropout2d: input {Shapes.Format(input.Shape.ToArray())} must be (N, C, H, W).", nameof(input));
        return DropoutMasks.Apply(input, [input.Shape[0], input.Shape[1], 1, 1], P, Mode, Training, _generator);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr => $"p={P}";
}

/// <summary>
/// DropConnect (Wan et al.) around a <see cref="Linear"/>: in training each weight is zeroed with probability p
/// (a fresh mask per forward pass), y = x(W ⊙ M)ᵀ + b, inverted-scaled by default; in evaluation the expected
/// weights are used. It registers the wrapped layer's weight and bias under its own name, so the keys stay those of
/// a plain Linear (a PyTorch Sequential with a Linear in this place loads the file).
/// </summary>
public sealed class DropConnect : Module
{
    private readonly Generator _generator;

    /// <summary>Wraps a linear layer.</summary>
    public DropConnect(Linear linear, float p = 0.5f, Generator? generator = null, DropoutMode mode = DropoutMode.Inverted, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(linear);
        DropoutMasks.CheckP(p, "DropConnect");
        Inner = linear;
        P = p;
        Mode = mode;
        RegisterParameter("weight", linear.Weight);
        if (linear.Bias is not null) RegisterParameter("bias", linear.Bias);
        _generator = RegisterGenerator("mask", generator ?? new Generator(seed));
    }

    /// <summary>The wrapped layer (its parameters are this module's).</summary>
    public Linear Inner { get; }
    /// <summary>Drop probability per weight.</summary>
    public float P { get; }
    /// <summary>Inverted or classic scaling.</summary>
    public DropoutMode Mode { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var w = DropoutMasks.Apply(Inner.Weight, [.. Inner.Weight.Shape], P, Mode, Training, _generator);
        return Functional.Linear(input, w, Inner.Bias);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr => $"in_features={Inner.InFeatures}, out_features={Inner.OutFeatures}, p={P}";
}

/// <summary>
/// Gaussian noise injection in training only: additive x + σε or multiplicative x·(1 + σε), ε ~ N(0, 1) drawn fresh
/// every forward pass; the identity in evaluation (Keras's GaussianNoise and GaussianDropout).
/// </summary>
public sealed class GaussianNoise : Module
{
    private readonly Generator _generator;

    /// <summary>Creates the layer with its own generator.</summary>
    public GaussianNoise(float sigma, bool multiplicative = false, Generator? generator = null, int seed = 0)
    {
        if (!(sigma >= 0)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "GaussianNoise: sigma must be non-negative.");
        Sigma = sigma;
        Multiplicative = multiplicative;
        _generator = RegisterGenerator("noise", generator ?? new Generator(seed));
    }

    /// <summary>Standard deviation of the noise.</summary>
    public float Sigma { get; }
    /// <summary>Whether the noise multiplies instead of adds.</summary>
    public bool Multiplicative { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!Training || Sigma == 0) return input;
        Tensor noise;
        using (GradMode.NoGrad()) noise = Tensor.Normal([.. input.Shape], 0f, Sigma, _generator);
        return Multiplicative ? input * (noise + 1f) : input + noise;
    }

    /// <inheritdoc/>
    protected override string ExtraRepr => $"sigma={Sigma}{(Multiplicative ? ", multiplicative" : "")}";
}
