namespace Nabla;

/// <summary>ReLU(x) = max(x, 0).</summary>
public sealed class ReLU : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Relu();
}

/// <summary>σ(x) = 1/(1 + e⁻ˣ).</summary>
public sealed class Sigmoid : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Sigmoid();
}

/// <summary>tanh(x).</summary>
public sealed class Tanh : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Tanh();
}

/// <summary>LeakyReLU(x) = x if x &gt; 0 else negative_slope·x (default slope 0.01, as PyTorch).</summary>
public sealed class LeakyReLU(float negativeSlope = 0.01f) : Module
{
    /// <summary>The slope for negative inputs.</summary>
    public float NegativeSlope { get; } = negativeSlope;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.LeakyRelu(NegativeSlope);

    /// <inheritdoc/>
    protected override string ExtraRepr => $"negative_slope={NegativeSlope}";
}

/// <summary>ELU(x) = x if x &gt; 0 else α(eˣ − 1) (default α = 1).</summary>
public sealed class ELU(float alpha = 1f) : Module
{
    /// <summary>α, the saturation value for large negative inputs is −α.</summary>
    public float Alpha { get; } = alpha;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Elu(Alpha);

    /// <inheritdoc/>
    protected override string ExtraRepr => $"alpha={Alpha}";
}

/// <summary>GELU(x) = x·Φ(x); with approximate = "tanh", ½x(1 + tanh(√(2/π)(x + 0.044715x³))).</summary>
public sealed class GELU : Module
{
    /// <summary>"none" (exact) or "tanh".</summary>
    public string Approximate { get; }

    /// <summary>Creates the activation; <paramref name="approximate"/> is "none" or "tanh" as in PyTorch.</summary>
    public GELU(string approximate = "none")
    {
        if (approximate is not ("none" or "tanh"))
            throw new ArgumentException($"GELU: approximate must be 'none' or 'tanh', got '{approximate}'.", nameof(approximate));
        Approximate = approximate;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Gelu(Approximate == "tanh");

    /// <inheritdoc/>
    protected override string ExtraRepr => $"approximate='{Approximate}'";
}

/// <summary>SiLU(x) = x·σ(x) (swish).</summary>
public sealed class SiLU : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Silu();
}

/// <summary>Softplus(x) = ln(1 + e^(βx))/β, linear where βx &gt; threshold (defaults β = 1, threshold = 20).</summary>
public sealed class Softplus(float beta = 1f, float threshold = 20f) : Module
{
    /// <summary>β.</summary>
    public float Beta { get; } = beta;

    /// <summary>Above βx &gt; threshold the function is the identity.</summary>
    public float Threshold { get; } = threshold;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Softplus(Beta, Threshold);

    /// <inheritdoc/>
    protected override string ExtraRepr => $"beta={Beta}, threshold={Threshold}";
}

/// <summary>Softmax along a dim: e^xᵢ / Σⱼ e^xⱼ.</summary>
public sealed class Softmax(int dim) : Module
{
    /// <summary>The dim that sums to 1.</summary>
    public int Dim { get; } = dim;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Softmax(Dim);

    /// <inheritdoc/>
    protected override string ExtraRepr => $"dim={Dim}";
}

/// <summary>Log-softmax along a dim: xᵢ − ln Σⱼ e^xⱼ.</summary>
public sealed class LogSoftmax(int dim) : Module
{
    /// <summary>The normalised dim.</summary>
    public int Dim { get; } = dim;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.LogSoftmax(Dim);

    /// <inheritdoc/>
    protected override string ExtraRepr => $"dim={Dim}";
}

/// <summary>Activations by name, for model specs and the CLI.</summary>
public static class Activations
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "silu", "softplus", "identity"];

    /// <summary>A fresh activation module: relu, sigmoid, tanh, leaky_relu, elu, gelu, silu, softplus or identity.</summary>
    /// <exception cref="ArgumentException">an unknown name; the message lists the known ones.</exception>
    public static Module Create(string name) => name.ToLowerInvariant() switch
    {
        "relu" => new ReLU(),
        "sigmoid" => new Sigmoid(),
        "tanh" => new Tanh(),
        "leaky_relu" or "leakyrelu" => new LeakyReLU(),
        "elu" => new ELU(),
        "gelu" => new GELU(),
        "silu" or "swish" => new SiLU(),
        "softplus" => new Softplus(),
        "identity" or "linear" or "none" => new Identity(),
        _ => throw new ArgumentException($"Unknown activation '{name}'; expected one of {string.Join(", ", Names)}.", nameof(name)),
    };
}
