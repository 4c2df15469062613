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

/// <summary>
/// One activation known by name: what <c>--activation</c> and <see cref="Models"/> take, the PyTorch class it matches
/// (fixtures are found by it), a one-line formula for help texts, and the module it makes from PyTorch's keyword
/// arguments (defaults when absent).
/// </summary>
public sealed record ActivationInfo(string Name, string TorchName, string Formula, Func<IReadOnlyDictionary<string, string>, Module> Factory,
    params string[] Aliases)
{
    private static readonly Dictionary<string, string> NoArguments = [];

    /// <summary>The module, with PyTorch keyword arguments (e.g. "negative_slope") or its defaults.</summary>
    public Module Create(IReadOnlyDictionary<string, string>? kwargs = null) => Factory(kwargs ?? NoArguments);

    internal static float Arg(IReadOnlyDictionary<string, string> kwargs, string name, float fallback) =>
        !kwargs.TryGetValue(name, out var v) ? fallback
        : float.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out float f) ? f
        : throw new ArgumentException($"Activation argument {name} = '{v}' is not a number.", nameof(kwargs));
}

/// <summary>
/// The activation registry: every activation the library knows by name. The CLI's names and help, the model specs and
/// the test tables enumerate it, so adding an activation is its module (composed from ops, or with an op of its own),
/// one row here and its PyTorch fixture row.
/// </summary>
public static class Activations
{
    /// <summary>Every activation, in the order help lists them.</summary>
    public static IReadOnlyList<ActivationInfo> Registry { get; } =
    [
        new("relu", "ReLU", "max(0, x)", _ => new ReLU()),
        new("sigmoid", "Sigmoid", "1/(1 + e^−x)", _ => new Sigmoid()),
        new("tanh", "Tanh", "tanh x", _ => new Tanh()),
        new("leaky_relu", "LeakyReLU", "x if x > 0 else a·x (a = 0.01)", a => new LeakyReLU(ActivationInfo.Arg(a, "negative_slope", 0.01f)), "leakyrelu"),
        new("elu", "ELU", "x if x > 0 else α(eˣ − 1)", a => new ELU(ActivationInfo.Arg(a, "alpha", 1f))),
        new("gelu", "GELU", "x·Φ(x)", a => new GELU(a.TryGetValue("approximate", out var ap) ? ap : "none")),
        new("silu", "SiLU", "x·σ(x)", _ => new SiLU(), "swish"),
        new("softplus", "Softplus", "ln(1 + e^(βx))/β", a => new Softplus(ActivationInfo.Arg(a, "beta", 1f), ActivationInfo.Arg(a, "threshold", 20f))),
        new("mish", "Mish", "x·tanh(softplus(x))", _ => new Mish()),
        new("identity", "Identity", "x", _ => new Identity(), "linear", "none"),
    ];

    /// <summary>The registry's names, in order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Registry.Select(a => a.Name)];

    /// <summary>The entry for a name or alias (any case), or null.</summary>
    public static ActivationInfo? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var key = name.ToLowerInvariant();
        return Registry.FirstOrDefault(a => a.Name == key || a.Aliases.Contains(key));
    }

    /// <summary>The activation module for a registered name or alias.</summary>
    /// <exception cref="ArgumentException">an unknown name.</exception>
    public static Module Create(string name) =>
        (Find(name) ?? throw new ArgumentException($"Unknown activation '{name}'; expected one of {string.Join(", ", Names)}.", nameof(name))).Create();
}
