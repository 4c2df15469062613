using System.Text.Json;
using Nabla.Autograd;
using Nabla.Data;
using Nabla.Data.Transforms;
using Nabla.Optim;
using Nabla.Serialization;

namespace Nabla.Generative;

/// <summary>
/// Fast style transfer by adaptive instance normalisation (Huang and Belongie 2017): a frozen encoder f (a
/// <see cref="FeatureNetwork"/> up to one layer), AdaIN of the content's features with the style's channel statistics,
/// and a trained decoder g that mirrors the encoder (3×3 convolutions with ReLU, nearest upsampling where the encoder
/// pooled, a last convolution to the image's channels): restyled = g(AdaIN(f(c), f(s))), in one forward pass.
/// </summary>
public sealed class AdaInStyler : Module
{
    private readonly FeatureNetwork _encoder;
    private readonly Sequential _decoder;
    private readonly int _last;

    /// <summary>Builds the styler over <paramref name="encoder"/>'s layers 0 … <paramref name="encoderLayer"/>, with a fresh decoder.</summary>
    public AdaInStyler(FeatureNetwork encoder, string encoderLayer, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(generator);
        _encoder = encoder;
        _last = encoder.IndexOf(encoderLayer);
        EncoderLayer = encoder.LayerNames[_last];
        // Mirror the encoder: walk its layers backwards, a conv for each conv (channels reversed), an upsample per pool.
        var layers = encoder.Layers.Take(_last + 1).ToArray();
        var decoder = new Sequential();
        var convs = layers.OfType<Conv2d>().ToArray();
        if (convs.Length == 0) throw new ArgumentException($"AdaInStyler: the encoder has no convolution up to {EncoderLayer}.", nameof(encoderLayer));
        for (int i = layers.Length - 1; i >= 0; i--)
        {
            if (layers[i] is MaxPool2d or AvgPool2d) decoder.Add(new Upsample(2));
            else if (layers[i] is Conv2d conv)
            {
                bool first = ReferenceEquals(conv, convs[0]);
                int outC = first ? encoder.InChannels : conv.InChannels;
                decoder.Add(new Conv2d(conv.OutChannels, outC, 3, generator, padding: 1));
                if (!first) decoder.Add(new ReLU());
            }
        }
        _decoder = RegisterModule("decoder", decoder);
        foreach (var p in _encoder.Parameters()) p.RequiresGrad = false;
    }

    /// <summary>The encoder layer whose features are restyled.</summary>
    public string EncoderLayer { get; }

    /// <summary>The frozen encoder (not part of this module's state dict: save it separately).</summary>
    public FeatureNetwork Encoder => _encoder;

    /// <summary>f(x): the encoder's features at <see cref="EncoderLayer"/>.</summary>
    public Tensor Encode(Tensor images) => _encoder.Taps(images, [_last])[0];

    /// <summary>g(t): the decoder's image for features t.</summary>
    public Tensor Decode(Tensor features) => _decoder.Forward(features);

    /// <summary>
    /// Restyles each content image with the style image at the same batch position: g(α·AdaIN(f(c), f(s)) + (1 − α)·f(c)).
    /// </summary>
    public Tensor Stylize(Tensor content, Tensor style, float alpha = 1f)
    {
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "AdaInStyler: alpha must be in [0, 1].");
        var fc = Encode(content);
        var t = StyleTransfer.AdaIn(fc, Encode(style));
        if (alpha < 1) t = t * alpha + fc * (1 - alpha);
        return Decode(t);
    }

    /// <summary>Refused: the styler needs a content and a style image.</summary>
    public override Tensor Forward(Tensor input) => throw new InvalidOperationException("AdaInStyler: call Stylize(content, style).");

    /// <summary>
    /// Huang and Belongie's training loss for one batch: the content loss mean((f(g(t)) − t)²) plus
    /// <paramref name="styleWeight"/> × Σ over <paramref name="styleLayers"/> of the mean squared differences of the
    /// channel means and deviations of g(t)'s and the style's features, with t = AdaIN(f(c), f(s)).
    /// </summary>
    public Tensor Loss(Tensor content, Tensor style, IReadOnlyList<int> styleLayers, double styleWeight)
    {
        ArgumentNullException.ThrowIfNull(styleLayers);
        Tensor t, sTaps0;
        Tensor[] sTaps;
        using (GradMode.NoGrad())
        {
            t = StyleTransfer.AdaIn(Encode(content), Encode(style));
            sTaps = _encoder.Taps(style, styleLayers);
            sTaps0 = t;
        }
        var image = Decode(sTaps0);
        var taps = _encoder.Taps(image, [.. styleLayers, _last]);
        var d = taps[^1] - t;
        var loss = (d * d).Mean();
        for (int i = 0; i < styleLayers.Count; i++)
        {
            var (m1, s1) = Moments(taps[i]);
            var (m2, s2) = Moments(sTaps[i]);
            var dm = m1 - m2;
            var ds = s1 - s2;
            loss = loss + ((dm * dm).Mean() + (ds * ds).Mean()) * (float)styleWeight;
        }
        return loss;
    }

    private static (Tensor Mean, Tensor Std) Moments(Tensor x)
    {
        var mean = x.Mean([2, 3]);
        var d = x - x.Mean([2, 3], keepDim: true);
        return (mean, ((d * d).Mean([2, 3]) + 1e-5f).Sqrt());
    }

    /// <summary>
    /// Trains the decoder on <paramref name="data"/>'s images (values in [0, 1]): each batch is restyled with the same
    /// batch in a random order as styles (so every image serves as a style), Adam 1e-4 as the paper; returns the mean
    /// loss per epoch.
    /// </summary>
    public double[] Train(TensorDataset data, int epochs, int batchSize = 16, double lr = 1e-4, double styleWeight = 10, IReadOnlyList<string>? styleLayers = null,
        int seed = 0, Action<int, int>? onBatch = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "AdaInStyler: at least one epoch.");
        if (batchSize < 2) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "AdaInStyler: batches of at least 2 images.");
        var layers = (styleLayers ?? _encoder.LayerNames.Take(_last + 1).Where(n => n.StartsWith("relu", StringComparison.Ordinal) && n.EndsWith("_1", StringComparison.Ordinal)).ToArray())
            .Select(_encoder.IndexOf).ToArray();
        if (layers.Length == 0) layers = [_last];
        var opt = new Adam(_decoder.Parameters(), lr: lr, beta1: 0.9, beta2: 0.999);
        var loader = new DataLoader(data, batchSize, shuffle: true, dropLast: true, seed: seed);
        var shuffle = new Generator(seed + 1);
        var result = new double[epochs];
        Train();
        for (int e = 0; e < epochs; e++)
        {
            double sum = 0;
            int n = 0;
            foreach (var b in loader.Epoch(e))
            {
                var perm = shuffle.Permutation(b.Count);
                var style = b.Features.IndexSelect(0, new IntTensor(perm, perm.Length));
                opt.ZeroGrad();
                var loss = Loss(b.Features, style, layers, styleWeight);
                loss.Backward();
                opt.Step();
                sum += loss.Item();
                onBatch?.Invoke(++n, loader.BatchesPerEpoch);
            }
            result[e] = sum / Math.Max(1, n);
        }
        Eval();
        return result;
    }

    /// <summary>
    /// Writes the styler into <paramref name="directory"/>: config.json (how to rebuild the encoder, its layer),
    /// encoder.safetensors and decoder.safetensors. <paramref name="encoderRecipe"/> rebuilds the encoder: for a VGG its
    /// configuration (<see cref="FeatureNetwork.VggConfig"/>), for a classifier's convolutions ["cnn spec", "C,H,W", "classes"].
    /// </summary>
    public void Save(string directory, string encoderKind, IReadOnlyList<string> encoderRecipe)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        using (var stream = new MemoryStream())
        {
            using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                w.WriteStartObject();
                w.WriteString("kind", "adain");
                w.WriteString("encoder_kind", encoderKind);
                w.WriteStartArray("encoder_recipe");
                foreach (var r in encoderRecipe) w.WriteStringValue(r);
                w.WriteEndArray();
                w.WriteString("encoder_layer", EncoderLayer);
                w.WriteNumber("in_channels", _encoder.InChannels);
                w.WriteEndObject();
            }
            IO.AtomicFile.Write(Path.Combine(directory, "config.json"), stream.ToArray());
        }
        SafeTensors.Write(Path.Combine(directory, "encoder.safetensors"), _encoder.StateDict());
        SafeTensors.Write(Path.Combine(directory, "decoder.safetensors"), StateDict());
    }

    /// <summary>Reads a styler written by <see cref="Save"/> (<c>nabla style train</c>), in evaluation mode.</summary>
    /// <exception cref="ArgumentException">the folder holds no styler, or its files do not fit each other.</exception>
    public static AdaInStyler Load(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string config = Path.Combine(directory, "config.json");
        if (!File.Exists(config) || !File.Exists(Path.Combine(directory, "encoder.safetensors")) || !File.Exists(Path.Combine(directory, "decoder.safetensors")))
            throw new ArgumentException($"'{directory}' holds no trained style decoder (config.json, encoder.safetensors, decoder.safetensors from nabla style train).", nameof(directory));
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(config));
            var r = doc.RootElement;
            if (!r.TryGetProperty("kind", out var kind) || kind.GetString() != "adain")
                throw new ArgumentException($"'{config}' is not a style decoder's configuration.", nameof(directory));
            string encoderKind = r.GetProperty("encoder_kind").GetString()!;
            string[] recipe = [.. r.GetProperty("encoder_recipe").EnumerateArray().Select(e => e.GetString()!)];
            int channels = r.GetProperty("in_channels").GetInt32();
            FeatureNetwork encoder = encoderKind switch
            {
                "vgg" => FeatureNetwork.Vgg(recipe, new Generator(0), channels),
                "vgg-raw" => FeatureNetwork.Vgg(recipe, new Generator(0), channels, imageNetNormalisation: false),
                "cnn" => FeatureNetwork.FromClassifier((Sequential)Models.FromSpec(recipe[0],
                    [.. recipe[1].Split(',').Select(v => int.Parse(v, System.Globalization.CultureInfo.InvariantCulture))],
                    int.Parse(recipe[2], System.Globalization.CultureInfo.InvariantCulture), new Generator(0)), channels),
                _ => throw new ArgumentException($"'{config}': unknown encoder kind '{encoderKind}'.", nameof(directory)),
            };
            encoder.LoadStateDict(SafeTensors.Read(Path.Combine(directory, "encoder.safetensors")));
            var styler = new AdaInStyler(encoder, r.GetProperty("encoder_layer").GetString()!, new Generator(0));
            styler.LoadStateDict(SafeTensors.Read(Path.Combine(directory, "decoder.safetensors")));
            styler.Eval();
            return styler;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or IndexOutOfRangeException
            or SafeTensorsFormatException or NullReferenceException)
        {
            throw new ArgumentException($"'{directory}': the style decoder's files are malformed ({e.Message.ReplaceLineEndings(" ")}).", nameof(directory), e);
        }
    }
}

/// <summary>
/// Restyles each image of a batch with probability <see cref="P"/>, taking the style (AdaIN statistics) of another
/// image of the same batch drawn at random, through a trained <see cref="AdaInStyler"/>; labels stay. Runs on the
/// loader's worker (<c>style:DIR:P</c> in the augment grammar). Outputs are clamped to [0, 1].
/// </summary>
public sealed class StyleSamples : BatchTransform
{
    private readonly AdaInStyler _styler;

    /// <summary>Wraps a trained styler.</summary>
    public StyleSamples(AdaInStyler styler, double p)
    {
        ArgumentNullException.ThrowIfNull(styler);
        if (!(p > 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "StyleSamples: the probability must be in (0, 1].");
        _styler = styler;
        _styler.Eval();
        P = p;
    }

    /// <summary>Probability that an image is restyled.</summary>
    public double P { get; }

    /// <inheritdoc/>
    public override Batch Apply(Batch batch, Generator g, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(g);
        var shape = batch.Features.Shape;
        if (shape.Count != 4 || shape[1] != _styler.Encoder.InChannels)
            throw new ArgumentException($"StyleSamples: images {Shapes.Format([.. shape])} must be (N, {_styler.Encoder.InChannels}, H, W) for this style decoder.", nameof(batch));
        int n = shape[0];
        var chosen = new List<int>();
        var styles = new List<int>();
        for (int i = 0; i < n; i++)
        {
            bool on = g.NextDouble() < P;
            int other = g.NextInt(n);
            if (on) { chosen.Add(i); styles.Add(other); }
        }
        if (chosen.Count == 0) return batch;
        var x = batch.Features.Contiguous();
        Tensor restyled;
        using (GradMode.NoGrad())
        {
            var content = x.IndexSelect(0, new IntTensor([.. chosen], chosen.Count));
            var style = x.IndexSelect(0, new IntTensor([.. styles], styles.Count));
            var y = _styler.Stylize(content, style);
            if (y.shape[2] != shape[2] || y.shape[3] != shape[3]) y = Functional.Interpolate(y, (shape[2], shape[3]), mode: UpsampleMode.Bilinear);
            restyled = y.Clamp(0f, 1f).Contiguous();
        }
        return batch with { Features = GanSamples.ReplaceRows(x, chosen, restyled) };
    }
}
