using System.Globalization;

namespace Nabla;

/// <summary>
/// Layers against co-adaptation that <see cref="Models"/> inserts: Gaussian noise and dropout on the input, dropout
/// after each hidden activation, DropConnect on the hidden Linear layers (0 = none).
/// </summary>
/// <param name="Dropout">Drop probability after each hidden activation.</param>
/// <param name="InputDropout">Drop probability on the input.</param>
/// <param name="Noise">σ of additive Gaussian noise on the input.</param>
/// <param name="DropConnect">Weight drop probability of the hidden Linear layers.</param>
/// <param name="Mode">Inverted (default) or classic dropout scaling.</param>
/// <param name="Norm">
/// Activation normalisation: none, batch, layer, instance, group:G or switch (placed before the activation); null (the
/// default) is the model's own, <see cref="Models.DefaultNorm"/>: none for mlp and cnn, batch for resnet and plain.
/// </param>
/// <param name="NormAfter">Place the normalisation after the activation instead.</param>
/// <param name="WeightNorm">Weight normalisation of the hidden layers: none, ws, ws-minmax or spectral.</param>
/// <remarks>
/// Residual nets (resnet, plain) take the activation, <paramref name="Norm"/>, <paramref name="Dropout"/> (before the
/// classifier), <paramref name="Mode"/> and <paramref name="WeightNorm"/> (every convolution); the other options are
/// refused with a <see cref="FormatException"/> (see <see cref="ResNet"/>).
/// </remarks>
public sealed record ModelOptions(float Dropout = 0, float InputDropout = 0, float Noise = 0, float DropConnect = 0, DropoutMode Mode = DropoutMode.Inverted,
    string? Norm = null, bool NormAfter = false, string WeightNorm = "none")
{
    /// <summary>No extra layers.</summary>
    public static ModelOptions None { get; } = new();

    /// <summary>
    /// Residual nets only: start the last normalisation γ of every residual branch at 0, so each block starts as the
    /// identity (torchvision's zero_init_residual; see <see cref="ResNet"/>).
    /// </summary>
    public bool ZeroInitResidual { get; init; }
}

/// <summary>Ready-made models with PyTorch's key names, and the model-spec strings the CLI takes.</summary>
public static partial class Models
{
    // Each random layer draws its own generator from the model's, in construction order.
    private static void AddInputLayers(Sequential net, ModelOptions o, Generator g)
    {
        if (o.Noise > 0) net.Add(new GaussianNoise(o.Noise, generator: new Generator(g.NextUInt64())));
        if (o.InputDropout > 0) net.Add(new Dropout(o.InputDropout, new Generator(g.NextUInt64()), o.Mode));
    }

    private static void AddHidden(Sequential net, Linear linear, string activation, ModelOptions o, Generator g)
    {
        CheckDropConnect(o);
        net.Add(o.DropConnect > 0 ? new DropConnect(linear, o.DropConnect, new Generator(g.NextUInt64()), o.Mode) : WrapWeights(linear, o.WeightNorm, g));
        AddNormAndActivation(net, activation, o, FeatureNorm(o.Norm!, linear.OutFeatures)?.Create());
        if (o.Dropout > 0) net.Add(new Dropout(o.Dropout, new Generator(g.NextUInt64()), o.Mode));
    }

    private static void AddNormAndActivation(Sequential net, string activation, ModelOptions o, Module? norm)
    {
        if (norm is not null && !o.NormAfter) net.Add(norm);
        net.Add(Activations.Create(activation));
        if (norm is not null && o.NormAfter) net.Add(norm);
    }

    internal static void CheckDropConnect(ModelOptions o)
    {
        if (o.DropConnect > 0 && o.WeightNorm != "none")
            throw new FormatException("DropConnect and a weight normalisation cannot wrap the same layer; choose one.");
    }

    // The layer in a weight normalisation named none, ws, ws-minmax or spectral (which draws its vectors from g).
    internal static Module WrapWeights(Module layer, string weightNorm, Generator g) => CheckWeightNorm(weightNorm) switch
    {
        "ws" => new WeightStandardization(layer),
        "ws-minmax" => new WeightStandardization(layer, WeightStandardizationMode.MinMax),
        "spectral" => new SpectralNorm(layer, new Generator(g.NextUInt64())),
        _ => layer,
    };

    internal static string CheckWeightNorm(string weightNorm) => weightNorm is "none" or "ws" or "ws-minmax" or "spectral"
        ? weightNorm
        : throw new FormatException($"Unknown weight normalisation '{weightNorm}'; expected none, ws, ws-minmax or spectral.");

    // The kind a normalisation spec names (a registry name: none, batch, layer, instance, switch, group).
    internal static string NormKind(string norm) => Norms.Get(norm).Name;

    // G of group:G, when it divides the count of channels or features.
    internal static int GroupsFor(string norm, int count, string unit) => Norms.GroupsFor(norm, count, unit);

    // Normalisation of (N, features) activations; instance and switch normalisation need spatial dims.
    internal static LayerPlan? FeatureNorm(string norm, int features) => Norms.Get(norm).Features?.Invoke(norm, features);

    // Normalisation of (N, C, H, W) feature maps.
    internal static LayerPlan? MapNorm(string norm, int channels, int height, int width) => Norms.Get(norm).Maps(norm, channels, height, width);

    // The options with the model's default normalisation in place of null.
    private static ModelOptions Resolve(ModelOptions? options, string defaultNorm)
    {
        var o = options ?? ModelOptions.None;
        return o.Norm is null ? o with { Norm = defaultNorm } : o;
    }

    // What a residual net does not take, refused before anything is built.
    internal static void CheckResidualOptions(string spec, ModelOptions o)
    {
        string? refused = o.Noise > 0 ? "input noise" : o.InputDropout > 0 ? "input dropout" : o.DropConnect > 0 ? "DropConnect"
            : o.NormAfter ? "normalisation after the activation" : null;
        if (refused is not null)
            throw new FormatException(
                $"{spec} takes no {refused}; residual nets take an activation, a normalisation, dropout before the classifier and a weight normalisation.");
    }

    internal static void CheckFlatNorm(string norm)
    {
        if (Norms.Get(norm).Features is null)
            throw new FormatException($"Normalisation '{norm}' needs feature maps (N, C, H, W); use it with the cnn model.");
    }

    internal static void CheckCnnSize(int height, int width)
    {
        if (height < 4 || width < 4) throw new ArgumentException($"Cnn: images must be at least 4×4, got {height}×{width}.");
    }

    /// <summary>
    /// A multilayer perceptron <c>Sequential(Linear(in, h₁), act, Linear(h₁, h₂), act, …, Linear(hₖ, out))</c> that
    /// flattens (N, C, H, W) images itself (<see cref="Sequential.FlattenInput"/>):
    /// for 784 inputs, hidden [256, 128] and 10 outputs the keys are 0.weight, 0.bias, 2.weight, 2.bias,
    /// 4.weight, 4.bias, exactly as the same <c>torch.nn.Sequential</c>.
    /// </summary>
    public static Sequential Mlp(int inputs, IReadOnlyList<int> hidden, int outputs, Generator generator, string activation = "relu", ModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(generator);
        var o = Resolve(options, "none");
        Activations.Create(activation); // validate the name before building anything
        CheckFlatNorm(o.Norm!);
        var net = new Sequential { FlattenInput = true };
        AddInputLayers(net, o, generator);
        int width = inputs;
        foreach (int h in hidden)
        {
            if (h <= 0) throw new ArgumentOutOfRangeException(nameof(hidden), h, "Mlp: hidden sizes must be positive.");
            AddHidden(net, new Linear(width, h, generator), activation, o, generator);
            width = h;
        }
        net.Add(new Linear(width, outputs, generator));
        return net;
    }

    /// <summary>
    /// The small convolutional network for 28×28 images: <c>Sequential(Conv2d(C, c₁, 3, padding=1), act, MaxPool2d(2),
    /// Conv2d(c₁, c₂, 3, padding=1), act, MaxPool2d(2), Flatten, Linear(c₂·⌊H/4⌋·⌊W/4⌋, 128), act, Linear(128, out))</c>
    /// with PyTorch's key names (0.weight, 3.weight, 7.weight, 9.weight); default channels 32 and 64.
    /// </summary>
    public static Sequential Cnn(int channels, int height, int width, int outputs, Generator generator, int c1 = 32, int c2 = 64, string activation = "relu",
        ModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        CheckCnnSize(height, width);
        var o = Resolve(options, "none");
        var net = new Sequential();
        AddInputLayers(net, o, generator);
        net.Add(WrapWeights(new Conv2d(channels, c1, 3, generator, padding: 1), o.WeightNorm, generator));
        AddNormAndActivation(net, activation, o, MapNorm(o.Norm!, c1, height, width)?.Create());
        net.Add(new MaxPool2d(2));
        net.Add(WrapWeights(new Conv2d(c1, c2, 3, generator, padding: 1), o.WeightNorm, generator));
        AddNormAndActivation(net, activation, o, MapNorm(o.Norm!, c2, height / 2, width / 2)?.Create());
        net.Add(new MaxPool2d(2));
        net.Add(new Flatten());
        // Instance and switch normalisation apply to the feature maps only; the hidden Linear gets none.
        AddHidden(net, new Linear(c2 * (height / 4) * (width / 4), 128, generator), activation, o is { Norm: "instance" or "switch" } ? o with { Norm = "none" } : o, generator);
        return net.Add(new Linear(128, outputs, generator));
    }

    /// <summary>
    /// Builds a model from a spec — <c>mlp:256,128</c> (hidden sizes; <c>mlp</c> alone has none), <c>cnn</c> /
    /// <c>cnn:32,64</c> (channel counts), <c>resnet:20</c> or <c>plain:20</c> (depth 6n + 2, <see cref="ResNet"/>) — for
    /// samples of <paramref name="sampleShape"/> and <paramref name="outputs"/> outputs. A null
    /// <see cref="ModelOptions.Norm"/> is the model's default (<see cref="DefaultNorm"/>).
    /// </summary>
    /// <exception cref="FormatException">the spec is malformed, does not fit the data, or asks for an option the model does not take; the message shows the expected form.</exception>
    public static Module FromSpec(string spec, IReadOnlyList<int> sampleShape, int outputs, Generator generator, string activation = "relu", ModelOptions? options = null)
    {
        var (kind, args) = CheckSpec(spec, sampleShape, options);
        switch (kind)
        {
            case "mlp":
                return Mlp(sampleShape.Aggregate(1, (p, v) => p * v), args, outputs, generator, activation, options);
            case "cnn":
                return args.Length == 0
                    ? Cnn(sampleShape[0], sampleShape[1], sampleShape[2], outputs, generator, activation: activation, options: options)
                    : Cnn(sampleShape[0], sampleShape[1], sampleShape[2], outputs, generator, args[0], args[1], activation, options);
            default:
                var o = Resolve(options, DefaultNorm(spec));
                return new ResNet(args[0], sampleShape[0], outputs, generator, activation, o.Norm!, o.Dropout, o.Mode, o.WeightNorm, residual: kind == "resnet",
                    zeroInitResidual: o.ZeroInitResidual);
        }
    }

    // The checks of a spec against the data, and of a residual net's options (FromSpec and Summarize make them first).
    internal static (string Kind, int[] Args) CheckSpec(string spec, IReadOnlyList<int> sampleShape, ModelOptions? options)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(sampleShape);
        var (kind, args) = ParseSpec(spec);
        switch (kind)
        {
            case "mlp":
                break;
            case "cnn":
                if (sampleShape.Count != 3)
                    throw new FormatException($"Model 'cnn' needs image data (C, H, W); the samples here have shape {Shapes.Format(sampleShape.ToArray())}.");
                if (args.Length is not (0 or 2)) throw new FormatException($"Model spec '{spec}': cnn takes two channel counts, e.g. 'cnn:32,64'.");
                break;
            case "resnet" or "plain":
                if (sampleShape.Count != 3)
                    throw new FormatException($"Model '{kind}' needs image data (C, H, W); the samples here have shape {Shapes.Format(sampleShape.ToArray())}.");
                if (args.Length != 1 || args[0] < 8 || (args[0] - 2) % 6 != 0)
                    throw new FormatException($"Model spec '{spec}': {kind} takes a depth 6n + 2, e.g. '{kind}:20' or '{kind}:56'.");
                CheckResidualOptions($"{kind}:{args[0]}", options ?? ModelOptions.None);
                break;
            default:
                throw UnknownModel(kind, spec);
        }
        return (kind, args);
    }

    /// <summary>
    /// The normalisation a spec's model gets when <see cref="ModelOptions.Norm"/> is null: "none" for mlp and cnn,
    /// "batch" for resnet and plain (He et al.'s nets).
    /// </summary>
    /// <exception cref="FormatException">the spec is malformed or names an unknown model.</exception>
    public static string DefaultNorm(string spec) => ParseSpec(spec).Kind switch
    {
        "mlp" or "cnn" => "none",
        "resnet" or "plain" => "batch",
        var kind => throw UnknownModel(kind, spec),
    };

    private static FormatException UnknownModel(string kind, string spec) =>
        new($"Unknown model '{kind}' in spec '{spec}'; expected e.g. 'mlp:256,128', 'cnn:32,64', 'resnet:20' or 'plain:20'.");

    /// <summary>Builds a model from a spec for flat samples of <paramref name="inputs"/> features.</summary>
    public static Module FromSpec(string spec, int inputs, int outputs, Generator generator, string activation = "relu") =>
        FromSpec(spec, [inputs], outputs, generator, activation);

    /// <summary>Splits <c>name:a,b,c</c> into the name and its integer arguments.</summary>
    public static (string Kind, int[] Args) ParseSpec(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var parts = spec.Trim().Split(':', 2);
        var kind = parts[0].Trim().ToLowerInvariant();
        if (kind.Length == 0) throw new FormatException($"Model spec '{spec}' has no model name; expected e.g. 'mlp:256,128'.");
        if (parts.Length == 1 || parts[1].Trim().Length == 0) return (kind, []);
        var args = parts[1].Split(',').Select(a =>
            int.TryParse(a.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0
                ? v
                : throw new FormatException($"Model spec '{spec}': '{a.Trim()}' is not a positive integer.")).ToArray();
        return (kind, args);
    }
}
