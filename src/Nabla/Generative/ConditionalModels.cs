namespace Nabla.Generative;

/// <summary>A module that reads class labels beside its input: a conditional generator or discriminator.</summary>
public abstract class ConditionalModule : Module
{
    /// <summary>Number of classes the labels index.</summary>
    public abstract int Classes { get; }

    /// <summary>The output for <paramref name="input"/> (N, …) conditioned on <paramref name="labels"/> (N) in [0, Classes).</summary>
    public abstract Tensor Forward(Tensor input, IntTensor labels);

    /// <summary>Refused: a conditional module needs labels.</summary>
    public override Tensor Forward(Tensor input) =>
        throw new InvalidOperationException($"{GetType().Name} is conditional: call Forward(input, labels).");

    /// <summary>Checks a batch against the labels (one per sample, each a class).</summary>
    protected void CheckLabels(Tensor input, IntTensor labels)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Rank != 1 || input.Rank < 1 || labels.Numel != input.shape[0])
            throw new ArgumentException(
                $"{GetType().Name}: labels {Shapes.Format([.. labels.Shape])} must be one class per sample of input {Shapes.Format(input.shape)}.", nameof(labels));
    }
}

/// <summary>A conditional generator: latent codes z (N, <see cref="LatentDim"/>) and labels to samples (N, …<see cref="SampleShape"/>).</summary>
public abstract class ConditionalGenerator : ConditionalModule
{
    /// <summary>Size of the latent code z ~ N(0, I).</summary>
    public abstract int LatentDim { get; }

    /// <summary>Shape of one generated sample.</summary>
    public abstract int[] SampleShape { get; }
}

/// <summary>
/// Class-conditional DCGAN generator (Radford et al. 2016, conditioned as Mirza and Osindero's cGAN) for small images
/// (C, H, W): [z, embed(label)] → Linear → (2w, ⌈H/4⌉, ⌈W/4⌉) → BatchNorm → ReLU → ConvTranspose2d(4, stride 2, pad 1)
/// → (w, 2⌈H/4⌉, 2⌈W/4⌉) → BatchNorm → ReLU → ConvTranspose2d(4, 2, 1) → (C, 4⌈H/4⌉, 4⌈W/4⌉) → [bilinear resize to
/// (H, W) when H or W is not a multiple of 4] → tanh. Samples lie in (−1, 1): train it on images scaled to [−1, 1].
/// </summary>
public sealed class DcganGenerator : ConditionalGenerator
{
    private readonly Embedding _embed;
    private readonly Linear _project;
    private readonly Sequential _body;
    private readonly int _h0, _w0, _width;
    private readonly int[] _sampleShape;

    /// <summary>Builds the generator for samples of <paramref name="sampleShape"/> (C, H, W) and <paramref name="classes"/> classes.</summary>
    /// <param name="latentDim">Size of z.</param>
    /// <param name="classes">Number of classes.</param>
    /// <param name="sampleShape">(C, H, W), H and W at least 4.</param>
    /// <param name="generator">Draws the initial weights.</param>
    /// <param name="width">Channels of the last hidden map (the first has twice as many).</param>
    /// <param name="embeddingDim">Size of the label embedding concatenated to z.</param>
    public DcganGenerator(int latentDim, int classes, int[] sampleShape, Generator generator, int width = 64, int embeddingDim = 32)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentNullException.ThrowIfNull(generator);
        if (sampleShape.Length != 3 || sampleShape[0] < 1 || sampleShape[1] < 4 || sampleShape[2] < 4)
            throw new ArgumentException($"DcganGenerator: sample shape {Shapes.Format(sampleShape)} must be (C, H, W) with H, W ≥ 4.", nameof(sampleShape));
        if (latentDim < 1) throw new ArgumentOutOfRangeException(nameof(latentDim), latentDim, "DcganGenerator: the latent size must be positive.");
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "DcganGenerator: there must be at least one class.");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "DcganGenerator: the width must be positive.");
        LatentDim = latentDim;
        Classes = classes;
        _sampleShape = (int[])sampleShape.Clone();
        _width = width;
        int c = sampleShape[0], h = sampleShape[1], w = sampleShape[2];
        _h0 = (h + 3) / 4;
        _w0 = (w + 3) / 4;
        _embed = RegisterModule("embed", new Embedding(classes, embeddingDim, generator));
        _project = RegisterModule("project", new Linear(latentDim + embeddingDim, 2 * width * _h0 * _w0, generator, bias: false));
        var body = new Sequential(
            new BatchNorm2d(2 * width), new ReLU(),
            new ConvTranspose2d(2 * width, width, 4, generator, stride: 2, padding: 1, bias: false), new BatchNorm2d(width), new ReLU(),
            new ConvTranspose2d(width, c, 4, generator, stride: 2, padding: 1));
        if (4 * _h0 != h || 4 * _w0 != w) body.Add(new Upsample((h, w), null, UpsampleMode.Bilinear));
        body.Add(new Tanh());
        _body = RegisterModule("body", body);
    }

    /// <inheritdoc/>
    public override int LatentDim { get; }

    /// <inheritdoc/>
    public override int Classes { get; }

    /// <inheritdoc/>
    public override int[] SampleShape => (int[])_sampleShape.Clone();

    /// <summary>Channels of the last hidden map (the first has twice as many).</summary>
    public int Width => _width;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, IntTensor labels)
    {
        CheckLabels(input, labels);
        if (input.Rank != 2 || input.shape[1] != LatentDim)
            throw new ArgumentException($"DcganGenerator: z {Shapes.Format(input.shape)} must be (N, {LatentDim}).", nameof(input));
        var code = Tensor.Concat([input, _embed.Forward(labels)], 1);
        return _body.Forward(_project.Forward(code).Reshape(input.shape[0], 2 * _width, _h0, _w0));
    }
}

/// <summary>
/// Class-conditional DCGAN discriminator for images (C, H, W): the label's learned (H, W) map joins the image as one
/// more channel → Conv2d(4, stride 2, pad 1) → LeakyReLU(0.2) → Conv2d(4, 2, 1) → BatchNorm → LeakyReLU(0.2) → Linear
/// → one logit per sample (N). With spectral normalisation (Miyato et al. 2018) every convolution and the linear layer
/// are wrapped in <see cref="SpectralNorm"/> and the BatchNorm is left out, as that paper's discriminators do.
/// </summary>
public sealed class DcganDiscriminator : ConditionalModule
{
    private readonly Embedding _labelMap;
    private readonly Sequential _body;
    private readonly int[] _sampleShape;

    /// <summary>Builds the discriminator for samples of <paramref name="sampleShape"/> (C, H, W).</summary>
    /// <param name="classes">Number of classes.</param>
    /// <param name="sampleShape">(C, H, W), H and W at least 4.</param>
    /// <param name="generator">Draws the initial weights (and the spectral norms' power-iteration vectors).</param>
    /// <param name="width">Channels of the first map (the second has twice as many).</param>
    /// <param name="spectralNorm">Wrap each weight layer in spectral normalisation instead of using BatchNorm.</param>
    public DcganDiscriminator(int classes, int[] sampleShape, Generator generator, int width = 64, bool spectralNorm = false)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentNullException.ThrowIfNull(generator);
        if (sampleShape.Length != 3 || sampleShape[0] < 1 || sampleShape[1] < 4 || sampleShape[2] < 4)
            throw new ArgumentException($"DcganDiscriminator: sample shape {Shapes.Format(sampleShape)} must be (C, H, W) with H, W ≥ 4.", nameof(sampleShape));
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "DcganDiscriminator: there must be at least one class.");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "DcganDiscriminator: the width must be positive.");
        Classes = classes;
        SpectralNormalised = spectralNorm;
        _sampleShape = (int[])sampleShape.Clone();
        int c = sampleShape[0], h = sampleShape[1], w = sampleShape[2];
        int h1 = (h + 2 - 4) / 2 + 1, w1 = (w + 2 - 4) / 2 + 1, h2 = (h1 + 2 - 4) / 2 + 1, w2 = (w1 + 2 - 4) / 2 + 1;
        if (h2 < 1 || w2 < 1) throw new ArgumentException($"DcganDiscriminator: sample shape {Shapes.Format(sampleShape)} is too small for two stride-2 layers.", nameof(sampleShape));
        Module Wrap(Module m) => spectralNorm ? new SpectralNorm(m, generator) : m;
        _labelMap = RegisterModule("label_map", new Embedding(classes, h * w, generator));
        var body = new Sequential(Wrap(new Conv2d(c + 1, width, 4, generator, stride: 2, padding: 1)), new LeakyReLU(0.2f),
            Wrap(new Conv2d(width, 2 * width, 4, generator, stride: 2, padding: 1, bias: spectralNorm)));
        if (!spectralNorm) body.Add(new BatchNorm2d(2 * width));
        body.Add(new LeakyReLU(0.2f));
        body.Add(new Flatten());
        body.Add(Wrap(new Linear(2 * width * h2 * w2, 1, generator)));
        _body = RegisterModule("body", body);
    }

    /// <inheritdoc/>
    public override int Classes { get; }

    /// <summary>Whether the weight layers are spectrally normalised.</summary>
    public bool SpectralNormalised { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, IntTensor labels)
    {
        CheckLabels(input, labels);
        if (input.Rank != 4 || input.shape[1] != _sampleShape[0] || input.shape[2] != _sampleShape[1] || input.shape[3] != _sampleShape[2])
            throw new ArgumentException($"DcganDiscriminator: input {Shapes.Format(input.shape)} must be (N, {_sampleShape[0]}, {_sampleShape[1]}, {_sampleShape[2]}).", nameof(input));
        int n = input.shape[0];
        var map = _labelMap.Forward(labels).Reshape(n, 1, _sampleShape[1], _sampleShape[2]);
        return _body.Forward(Tensor.Concat([input, map], 1)).Reshape(n);
    }
}

/// <summary>
/// Class-conditional MLP generator for feature vectors (tabular data, 2-D toy mixtures): [z, embed(label)] → Linear →
/// ReLU → Linear → ReLU → Linear → features, with a linear (unbounded) output.
/// </summary>
public sealed class MlpGenerator : ConditionalGenerator
{
    private readonly Embedding _embed;
    private readonly Sequential _body;

    /// <summary>Builds the generator.</summary>
    public MlpGenerator(int latentDim, int classes, int features, Generator generator, int hidden = 64, int embeddingDim = 8)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (latentDim < 1 || features < 1 || hidden < 1)
            throw new ArgumentOutOfRangeException(nameof(latentDim), "MlpGenerator: the latent, feature and hidden sizes must be positive.");
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "MlpGenerator: there must be at least one class.");
        LatentDim = latentDim;
        Classes = classes;
        Features = features;
        _embed = RegisterModule("embed", new Embedding(classes, embeddingDim, generator));
        _body = RegisterModule("body", new Sequential(new Linear(latentDim + embeddingDim, hidden, generator), new ReLU(),
            new Linear(hidden, hidden, generator), new ReLU(), new Linear(hidden, features, generator)));
    }

    /// <inheritdoc/>
    public override int LatentDim { get; }

    /// <inheritdoc/>
    public override int Classes { get; }

    /// <summary>Size of a generated vector.</summary>
    public int Features { get; }

    /// <inheritdoc/>
    public override int[] SampleShape => [Features];

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, IntTensor labels)
    {
        CheckLabels(input, labels);
        if (input.Rank != 2 || input.shape[1] != LatentDim)
            throw new ArgumentException($"MlpGenerator: z {Shapes.Format(input.shape)} must be (N, {LatentDim}).", nameof(input));
        return _body.Forward(Tensor.Concat([input, _embed.Forward(labels)], 1));
    }
}

/// <summary>
/// Class-conditional MLP discriminator for feature vectors: [x, embed(label)] → Linear → LeakyReLU(0.2) → Linear →
/// LeakyReLU(0.2) → Linear → one logit per sample (N); optionally spectrally normalised.
/// </summary>
public sealed class MlpDiscriminator : ConditionalModule
{
    private readonly Embedding _embed;
    private readonly Sequential _body;
    private readonly int _features;

    /// <summary>Builds the discriminator.</summary>
    public MlpDiscriminator(int classes, int features, Generator generator, int hidden = 64, int embeddingDim = 8, bool spectralNorm = false)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (features < 1 || hidden < 1) throw new ArgumentOutOfRangeException(nameof(features), "MlpDiscriminator: the feature and hidden sizes must be positive.");
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "MlpDiscriminator: there must be at least one class.");
        Classes = classes;
        _features = features;
        Module Wrap(Module m) => spectralNorm ? new SpectralNorm(m, generator) : m;
        _embed = RegisterModule("embed", new Embedding(classes, embeddingDim, generator));
        _body = RegisterModule("body", new Sequential(Wrap(new Linear(features + embeddingDim, hidden, generator)), new LeakyReLU(0.2f),
            Wrap(new Linear(hidden, hidden, generator)), new LeakyReLU(0.2f), Wrap(new Linear(hidden, 1, generator))));
    }

    /// <inheritdoc/>
    public override int Classes { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, IntTensor labels)
    {
        CheckLabels(input, labels);
        if (input.Rank != 2 || input.shape[1] != _features)
            throw new ArgumentException($"MlpDiscriminator: input {Shapes.Format(input.shape)} must be (N, {_features}).", nameof(input));
        return _body.Forward(Tensor.Concat([input, _embed.Forward(labels)], 1)).Reshape(input.shape[0]);
    }
}
