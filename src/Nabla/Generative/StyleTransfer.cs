using System.Globalization;
using Nabla.Autograd;
using Nabla.Optim;
using Nabla.Serialization;

namespace Nabla.Generative;

/// <summary>
/// A convolutional feature extractor for style transfer: an optional per-channel input normalisation
/// ((x − mean)/std, ImageNet's for VGG) followed by a <see cref="Sequential"/> registered as <c>features</c>, so
/// torchvision's VGG weights (<c>features.0.weight</c> …) load by name. <see cref="Taps"/> returns the activations
/// after chosen layers; <see cref="LayerNames"/> names them as Gatys et al. do (relu1_1, relu2_1 …).
/// </summary>
public sealed class FeatureNetwork : Module
{
    private readonly Sequential _features;
    private readonly Tensor? _mean, _std;

    /// <summary>Wraps <paramref name="features"/>; <paramref name="mean"/> and <paramref name="std"/> (one per input channel) normalise the input first.</summary>
    public FeatureNetwork(Sequential features, int inChannels, float[]? mean = null, float[]? std = null, IReadOnlyList<string>? layerNames = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (inChannels < 1) throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, "FeatureNetwork: at least one input channel.");
        if (mean is null != std is null) throw new ArgumentException("FeatureNetwork: give both mean and std, or neither.", nameof(mean));
        if (mean is not null && (mean.Length != inChannels || std!.Length != inChannels || std.Any(s => !(s > 0))))
            throw new ArgumentException($"FeatureNetwork: mean and std need {inChannels} values each (std positive).", nameof(mean));
        _features = RegisterModule("features", features);
        InChannels = inChannels;
        if (mean is not null)
        {
            _mean = Tensor.FromArray(mean, 1, inChannels, 1, 1);
            _std = Tensor.FromArray(std!, 1, inChannels, 1, 1);
        }
        LayerNames = layerNames?.ToArray() ?? [.. Enumerable.Range(0, features.Count).Select(i => i.ToString(CultureInfo.InvariantCulture))];
        if (LayerNames.Count != features.Count) throw new ArgumentException("FeatureNetwork: one name per layer.", nameof(layerNames));
    }

    /// <summary>Channels of the images it reads.</summary>
    public int InChannels { get; }

    /// <summary>The layers of <c>features</c>, in order.</summary>
    public IReadOnlyList<Module> Layers => [.. Enumerable.Range(0, _features.Count).Select(i => _features[i])];

    /// <summary>How it was built, for saving: "vgg" with its configuration, or "cnn" with the classifier's spec.</summary>
    public string? Kind { get; init; }

    /// <summary>The VGG configuration or the classifier spec, sample shape and classes (see <see cref="Kind"/>).</summary>
    public IReadOnlyList<string> Recipe { get; init; } = [];

    /// <summary>A name per layer of <c>features</c> (relu3_1 …), index-aligned.</summary>
    public IReadOnlyList<string> LayerNames { get; }

    /// <summary>The layer index of a name from <see cref="LayerNames"/> or a plain index.</summary>
    public int IndexOf(string layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        for (int i = 0; i < LayerNames.Count; i++)
            if (string.Equals(LayerNames[i], layer, StringComparison.OrdinalIgnoreCase)) return i;
        if (int.TryParse(layer, NumberStyles.None, CultureInfo.InvariantCulture, out int k) && k < LayerNames.Count) return k;
        throw new ArgumentException($"FeatureNetwork: no layer '{layer}' (layers: {string.Join(", ", LayerNames.Where(n => n.StartsWith("relu", StringComparison.Ordinal)).DefaultIfEmpty("0.." + (LayerNames.Count - 1)))}).", nameof(layer));
    }

    /// <summary>The activations after each layer in <paramref name="layers"/> (indices into <c>features</c>), in the order given.</summary>
    public Tensor[] Taps(Tensor images, IReadOnlyList<int> layers)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(layers);
        if (images.Rank != 4 || images.shape[1] != InChannels)
            throw new ArgumentException($"FeatureNetwork: images {Shapes.Format(images.shape)} must be (N, {InChannels}, H, W).", nameof(images));
        int last = layers.Count == 0 ? -1 : layers.Max();
        if (layers.Any(l => l < 0 || l >= _features.Count)) throw new ArgumentOutOfRangeException(nameof(layers), "FeatureNetwork: a layer index is out of range.");
        var h = _mean is null ? images : (images - _mean) / _std!;
        var found = new Tensor[layers.Count];
        for (int i = 0; i <= last; i++)
        {
            h = _features[i].Forward(h);
            for (int j = 0; j < layers.Count; j++)
                if (layers[j] == i) found[j] = h;
        }
        return found;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Taps(input, [_features.Count - 1])[0];

    /// <summary>torchvision's VGG configurations: channels, "M" for a 2×2 max pool.</summary>
    public static IReadOnlyList<string> VggConfig(string name) => name.ToLowerInvariant() switch
    {
        "vgg11" => ["64", "M", "128", "M", "256", "256", "M", "512", "512", "M", "512", "512", "M"],
        "vgg13" => ["64", "64", "M", "128", "128", "M", "256", "256", "M", "512", "512", "M", "512", "512", "M"],
        "vgg16" => ["64", "64", "M", "128", "128", "M", "256", "256", "256", "M", "512", "512", "512", "M", "512", "512", "512", "M"],
        "vgg19" => ["64", "64", "M", "128", "128", "M", "256", "256", "256", "256", "M", "512", "512", "512", "512", "M", "512", "512", "512", "512", "M"],
        _ => throw new ArgumentException($"FeatureNetwork: unknown VGG '{name}' (vgg11, vgg13, vgg16, vgg19).", nameof(name)),
    };

    /// <summary>
    /// A VGG <c>features</c> stack as torchvision builds it (3×3 convolutions with padding 1, each followed by ReLU, and
    /// 2×2 max pools) from a configuration such as <see cref="VggConfig"/>'s, with ImageNet's input normalisation, and
    /// layers named conv/relu{block}_{i} and pool{block}. Weights start random (<paramref name="generator"/>); load
    /// trained ones with <see cref="LoadVgg"/>.
    /// </summary>
    public static FeatureNetwork Vgg(IReadOnlyList<string> config, Generator generator, int inChannels = 3, bool imageNetNormalisation = true)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(generator);
        var seq = new Sequential();
        var names = new List<string>();
        int c = inChannels, block = 1, conv = 1;
        foreach (var v in config)
        {
            if (v == "M")
            {
                seq.Add(new MaxPool2d(2, 2));
                names.Add($"pool{block}");
                block++;
                conv = 1;
                continue;
            }
            if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int outC) || outC < 1)
                throw new ArgumentException($"FeatureNetwork: '{v}' in the VGG configuration is neither a channel count nor M.", nameof(config));
            seq.Add(new Conv2d(c, outC, 3, generator, padding: 1));
            seq.Add(new ReLU());
            names.Add($"conv{block}_{conv}");
            names.Add($"relu{block}_{conv}");
            conv++;
            c = outC;
        }
        return imageNetNormalisation && inChannels == 3
            ? new FeatureNetwork(seq, inChannels, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f], names) { Kind = "vgg", Recipe = [.. config] }
            : new FeatureNetwork(seq, inChannels, null, null, names) { Kind = "vgg-raw", Recipe = [.. config] };
    }

    /// <summary>
    /// A VGG feature network with the weights of a safetensors file in torchvision's key names (<c>features.N.weight</c>,
    /// <c>features.N.bias</c>; a full VGG's classifier.* keys are ignored). Convert torchvision's weights once in Python:
    /// <c>safetensors.torch.save_file({k: v for k, v in torchvision.models.vgg19(weights="DEFAULT").state_dict().items()
    /// if k.startswith("features.")}, "vgg19.safetensors")</c>.
    /// </summary>
    public static FeatureNetwork LoadVgg(string path, IReadOnlyList<string> config)
    {
        ArgumentNullException.ThrowIfNull(path);
        var net = Vgg(config, new Generator(0));
        var all = SafeTensors.Read(path);
        var state = new StateDict();
        foreach (var (k, v) in all)
            if (k.StartsWith("features.", StringComparison.Ordinal)) state.Add(k, v);
        net.LoadStateDict(state);
        return net;
    }

    /// <summary>
    /// The convolutional part of a trained classifier (its layers before the first <see cref="Flatten"/>), as a feature
    /// network reading images as the classifier did (no normalisation); layers named as a VGG's.
    /// </summary>
    public static FeatureNetwork FromClassifier(Sequential classifier, int inChannels)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        var seq = new Sequential();
        var names = new List<string>();
        int block = 1, conv = 1;
        for (int i = 0; i < classifier.Count && classifier[i] is not Flatten; i++)
        {
            var m = classifier[i];
            seq.Add(m);
            names.Add(m switch
            {
                Conv2d => $"conv{block}_{conv}",
                ReLU => $"relu{block}_{conv++}",
                MaxPool2d or AvgPool2d => $"pool{block++}",
                _ => $"{m.GetType().Name.ToLowerInvariant()}{block}_{conv}",
            });
            if (m is MaxPool2d or AvgPool2d) conv = 1;
        }
        if (seq.Count == 0) throw new ArgumentException("FeatureNetwork: the classifier has no layers before its Flatten.", nameof(classifier));
        return new FeatureNetwork(seq, inChannels, null, null, names);
    }
}

/// <summary>Settings of <see cref="StyleTransfer.Stylize"/>.</summary>
public sealed record StyleOptions
{
    /// <summary>Layers whose activations must match the content image (Gatys et al.: relu4_2 of VGG-19).</summary>
    public IReadOnlyList<string> ContentLayers { get; init; } = ["relu4_2"];
    /// <summary>Layers whose Gram matrices must match the style image (Gatys et al.: relu1_1 … relu5_1).</summary>
    public IReadOnlyList<string> StyleLayers { get; init; } = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"];
    /// <summary>α: weight of the content loss.</summary>
    public double ContentWeight { get; init; } = 1;
    /// <summary>β: weight of the style loss (PyTorch's tutorial uses 10⁶ with its Gram normalisation).</summary>
    public double StyleWeight { get; init; } = 1e6;
    /// <summary>Optimisation steps (Adam on the pixels).</summary>
    public int Steps { get; init; } = 300;
    /// <summary>Adam's step size on pixels in [0, 1].</summary>
    public double LearningRate { get; init; } = 0.02;
    /// <summary>Called with (step, loss) every 10 steps and at the end.</summary>
    public Action<int, double>? Progress { get; init; }
}

/// <summary>
/// Neural style transfer: Gatys et al.'s optimisation (2016) and adaptive instance normalisation (Huang and Belongie 2017).
/// </summary>
public static class StyleTransfer
{
    /// <summary>The Gram matrices of features F (N, C, H, W): G = F Fᵀ / (C·H·W), (N, C, C).</summary>
    public static Tensor Gram(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Rank != 4) throw new ArgumentException($"Gram: features {Shapes.Format(features.shape)} must be (N, C, H, W).", nameof(features));
        int n = features.shape[0], c = features.shape[1], hw = features.shape[2] * features.shape[3];
        var f = features.Reshape(n, c, hw);
        return f.MatMul(f.Transpose(1, 2)) * (1f / (c * hw));
    }

    /// <summary>
    /// Gatys et al.'s loss of <paramref name="image"/>: α·mean((F_c(x) − F_c(content))²) summed over the content layers
    /// plus β·Σ_l mean((G_l(x) − G_l(style))²) over the style layers, with the targets precomputed by
    /// <see cref="Targets"/>.
    /// </summary>
    public static Tensor Loss(FeatureNetwork network, Tensor image, (int[] Content, int[] Style, Tensor[] ContentFeatures, Tensor[] StyleGrams) targets,
        double contentWeight, double styleWeight)
    {
        ArgumentNullException.ThrowIfNull(network);
        var taps = network.Taps(image, [.. targets.Content, .. targets.Style]);
        Tensor? loss = null;
        for (int i = 0; i < targets.Content.Length; i++)
        {
            var d = taps[i] - targets.ContentFeatures[i];
            var term = (d * d).Mean() * (float)contentWeight;
            loss = loss is null ? term : loss + term;
        }
        for (int i = 0; i < targets.Style.Length; i++)
        {
            var d = Gram(taps[targets.Content.Length + i]) - targets.StyleGrams[i];
            var term = (d * d).Mean() * (float)styleWeight;
            loss = loss is null ? term : loss + term;
        }
        return loss ?? throw new ArgumentException("StyleTransfer: no content or style layers.");
    }

    /// <summary>The content features and style Gram matrices the loss compares against (no graph).</summary>
    public static (int[] Content, int[] Style, Tensor[] ContentFeatures, Tensor[] StyleGrams) Targets(FeatureNetwork network, Tensor content, Tensor style,
        IReadOnlyList<string> contentLayers, IReadOnlyList<string> styleLayers)
    {
        ArgumentNullException.ThrowIfNull(network);
        int[] c = [.. contentLayers.Select(network.IndexOf)], s = [.. styleLayers.Select(network.IndexOf)];
        using var _ = GradMode.NoGrad();
        return (c, s, network.Taps(content, c), [.. network.Taps(style, s).Select(Gram)]);
    }

    /// <summary>
    /// Restyles <paramref name="content"/> (1, C, H, W) in [0, 1] with the style of <paramref name="style"/> (any size):
    /// starts from the content image and minimises <see cref="Loss"/> over its pixels with Adam, clamping to [0, 1]
    /// after each step; the network stays fixed (evaluation mode, no parameter gradients).
    /// </summary>
    public static Tensor Stylize(FeatureNetwork network, Tensor content, Tensor style, StyleOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(style);
        var o = options ?? new StyleOptions();
        if (o.Steps < 1) throw new ArgumentOutOfRangeException(nameof(options), o.Steps, "StyleOptions.Steps must be at least 1.");
        if (content.Rank != 4 || content.shape[0] != 1 || style.Rank != 4 || style.shape[0] != 1)
            throw new ArgumentException($"StyleTransfer: content {Shapes.Format(content.shape)} and style {Shapes.Format(style.shape)} must each be one image (1, C, H, W).");
        bool training = network.Training;
        var wanted = network.Parameters().Select(p => (p, p.RequiresGrad)).ToArray();
        network.Eval();
        foreach (var (p, _) in wanted) p.RequiresGrad = false;
        try
        {
            var targets = Targets(network, content, style, o.ContentLayers, o.StyleLayers);
            var image = content.Clone().Detach();
            image.RequiresGrad = true;
            var adam = new Adam([image], lr: o.LearningRate, beta1: 0.9, beta2: 0.999);
            for (int step = 1; step <= o.Steps; step++)
            {
                adam.ZeroGrad();
                var loss = Loss(network, image, targets, o.ContentWeight, o.StyleWeight);
                loss.Backward();
                adam.Step();
                using (GradMode.NoGrad()) image.CopyFrom(image.Clamp(0f, 1f));
                if (o.Progress is not null && (step % 10 == 0 || step == o.Steps)) o.Progress(step, loss.Item());
            }
            return image.Detach();
        }
        finally
        {
            foreach (var (p, r) in wanted) p.RequiresGrad = r;
            network.Train(training);
        }
    }

    /// <summary>
    /// Adaptive instance normalisation: each channel of <paramref name="content"/> features (N, C, H, W) takes the mean
    /// and standard deviation of the same channel of <paramref name="style"/> features:
    /// AdaIN(x, y) = σ(y)·(x − μ(x))/σ(x) + μ(y), σ = √(var + ε) over H·W (biased variance, as Huang and Belongie's code).
    /// </summary>
    public static Tensor AdaIn(Tensor content, Tensor style, float eps = 1e-5f)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(style);
        if (content.Rank != 4 || style.Rank != 4 || content.shape[0] != style.shape[0] || content.shape[1] != style.shape[1])
            throw new ArgumentException($"AdaIn: content {Shapes.Format(content.shape)} and style {Shapes.Format(style.shape)} must be (N, C, ·, ·) with the same N and C.");
        var (mc, sc) = Moments(content, eps);
        var (ms, ss) = Moments(style, eps);
        return (content - mc) / sc * ss + ms;
    }

    // Per-channel mean and √(biased variance + ε) over the spatial dims, kept as (N, C, 1, 1).
    private static (Tensor Mean, Tensor Std) Moments(Tensor x, float eps)
    {
        var mean = x.Mean([2, 3], keepDim: true);
        var d = x - mean;
        return (mean, ((d * d).Mean([2, 3], keepDim: true) + eps).Sqrt());
    }
}
