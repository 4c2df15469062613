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
    /// Trains the decoder on <paramref name="data"/>'s images (values in [0, 1]), Adam 1e-4 as the paper; returns the mean
    /// loss per epoch. Each image is restyled with a style image drawn uniformly from <paramref name="styles"/> (as the
    /// paper pairs content images with a collection of paintings) or, without one, with the same batch in a random order
    /// (so every image serves as a style).
    /// </summary>
    /// <param name="data">Content images (N, C, H, W) in [0, 1].</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="batchSize">Images per step, at least 2.</param>
    /// <param name="lr">Adam's step size.</param>
    /// <param name="styleWeight">λ, the weight of the style statistics' loss.</param>
    /// <param name="styleLayers">Encoder layers whose statistics must match (default: each block's first ReLU up to the AdaIN layer).</param>
    /// <param name="seed">Seeds the batches and the style draws.</param>
    /// <param name="onBatch">Called after each step with (step, steps per epoch).</param>
    /// <param name="styles">Style images (S, C, H′, W′) in [0, 1] with the encoder's channels, or null.</param>
    public double[] Train(TensorDataset data, int epochs, int batchSize = 16, double lr = 1e-4, double styleWeight = 10, IReadOnlyList<string>? styleLayers = null,
        int seed = 0, Action<int, int>? onBatch = null, Tensor? styles = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (styles is not null) CheckStyles(styles, nameof(styles));
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
                Tensor style;
                if (styles is null)
                {
                    var perm = shuffle.Permutation(b.Count);
                    style = b.Features.IndexSelect(0, new IntTensor(perm, perm.Length));
                }
                else
                {
                    var pick = new int[b.Count];
                    for (int i = 0; i < pick.Length; i++) pick[i] = shuffle.NextInt(styles.Shape[0]);
                    style = styles.IndexSelect(0, new IntTensor(pick, pick.Length));
                }
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
    /// <param name="directory">The folder, created if missing.</param>
    /// <param name="encoderKind">"vgg", "vgg-raw" or "cnn".</param>
    /// <param name="encoderRecipe">How to rebuild the encoder (see above).</param>
    /// <param name="styles">The style images the decoder trained with (S, C, H′, W′) in [0, 1], written to
    /// styles.safetensors for the <c>style:</c> augmentation to draw from, or null.</param>
    public void Save(string directory, string encoderKind, IReadOnlyList<string> encoderRecipe, Tensor? styles = null)
    {
        if (styles is not null) CheckStyles(styles, nameof(styles));
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
        string bank = Path.Combine(directory, "styles.safetensors");
        if (styles is not null) SafeTensors.Write(bank, new StateDict { ["styles"] = styles.Contiguous() });
        else if (File.Exists(bank)) File.Delete(bank);
    }

    /// <summary>The style images saved with the styler in <paramref name="directory"/> (styles.safetensors), or null when it has none.</summary>
    /// <exception cref="ArgumentException">the file is malformed.</exception>
    public static Tensor? LoadStyles(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string path = Path.Combine(directory, "styles.safetensors");
        if (!File.Exists(path)) return null;
        try
        {
            var styles = SafeTensors.Read(path)["styles"].Float ?? throw new InvalidCastException("its \"styles\" tensor is not F32");
            if (styles.Rank != 4 || styles.Shape.Any(d => d < 1))
                throw new ArgumentException($"'{path}': style images {Shapes.Format([.. styles.Shape])} must be (S, C, H, W), none of them 0.", nameof(directory));
            return styles;
        }
        catch (Exception e) when (e is SafeTensorsFormatException or KeyNotFoundException or InvalidCastException)
        {
            throw new ArgumentException($"'{path}' is not a set of style images ({e.Message.ReplaceLineEndings(" ")}).", nameof(directory), e);
        }
    }

    private static void CheckStyles(Tensor styles, string argument)
    {
        if (styles.Rank != 4 || styles.Shape.Any(d => d < 1))
            throw new ArgumentException($"AdaInStyler: style images {Shapes.Format([.. styles.Shape])} must be (S, C, H, W), none of them 0.", argument);
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
/// Restyles each image of a batch with probability <see cref="P"/> through a trained <see cref="AdaInStyler"/>, taking
/// the style (AdaIN statistics) of an image drawn uniformly from <see cref="Styles"/> (a folder of style images given
/// to <c>nabla style train --styles</c>) or, without them, of another image of the same batch; labels stay. Runs on the
/// loader's worker (<c>style:DIR:P</c> in the augment grammar). Outputs are clamped to [0, 1]. The chosen images go
/// through the styler in blocks padded to a multiple of <see cref="Block"/> rows, one captured forward pass per padded
/// size and image size (the rows are independent in evaluation mode, so the padding rows do not enter a chosen row's
/// value; a different row count may change its last bits, as any batch size can through the kernels' blocking).
/// </summary>
public sealed class StyleSamples : BatchTransform
{
    /// <summary>The restyled images' count is padded up to a multiple of this, so a few captures serve every batch.</summary>
    public const int Block = 16;

    private readonly AdaInStyler _styler;
    private readonly object _gate = new();
    private readonly CapturedCalls<(int, int, int, int, int, int)> _calls;

    /// <summary>Wraps a trained styler, with the style images to draw from or null for the batch's own images.</summary>
    public StyleSamples(AdaInStyler styler, double p, Tensor? styles = null)
    {
        ArgumentNullException.ThrowIfNull(styler);
        if (!(p > 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "StyleSamples: the probability must be in (0, 1].");
        if (styles is not null && (styles.Rank != 4 || styles.Shape.Any(d => d < 1) || styles.Shape[1] != styler.Encoder.InChannels))
            throw new ArgumentException($"StyleSamples: style images {Shapes.Format([.. styles.Shape])} must be (S, {styler.Encoder.InChannels}, H, W).", nameof(styles));
        _styler = styler;
        _styler.Eval();
        Styles = styles?.Contiguous();
        P = p;
        _calls = new CapturedCalls<(int, int, int, int, int, int)>([.. styler.NamedModules().Select(m => m.Module), .. styler.Encoder.NamedModules().Select(m => m.Module)]);
    }

    /// <summary>Probability that an image is restyled.</summary>
    public double P { get; }

    /// <summary>The style images (S, C, H, W) drawn from, or null: styles come from the batch.</summary>
    public Tensor? Styles { get; }

    /// <summary>Replays of the captured styler so far.</summary>
    public long Replays { get { lock (_gate) return _calls.Replays; } }

    /// <inheritdoc/>
    public override Batch Apply(Batch batch, Generator g, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(g);
        var shape = batch.Features.Shape;
        if (shape.Count != 4 || shape[1] != _styler.Encoder.InChannels)
            throw new ArgumentException($"StyleSamples: images {Shapes.Format([.. shape])} must be (N, {_styler.Encoder.InChannels}, H, W) for this style decoder.", nameof(batch));
        int n = shape[0], pool = Styles?.Shape[0] ?? n;
        var chosen = new List<int>();
        var styles = new List<int>();
        for (int i = 0; i < n; i++)
        {
            bool on = g.NextDouble() < P;
            int other = g.NextInt(pool);
            if (on) { chosen.Add(i); styles.Add(other); }
        }
        if (chosen.Count == 0) return batch;
        int m = chosen.Count, padded = (m + Block - 1) / Block * Block;
        var source = batch.Features.Contiguous();
        var x = GanSamples.HostValues(source);
        var bank = Styles is null ? x : GanSamples.HostValues(Styles);
        int per = x.Length / n, stylePer = Styles is null ? per : bank.Length / pool;
        int[] styleShape = Styles is null ? [padded, .. shape.Skip(1)] : [padded, .. Styles.Shape.Skip(1)];
        lock (_gate)
        {
            var key = (padded, shape[1], shape[2], shape[3], styleShape[2], styleShape[3]);
            var made = _calls.Run(key, () => ([Tensor.Zeros([padded, .. shape.Skip(1)]), Tensor.Zeros(styleShape)], []), (inputs, _) =>
            {
                if (!inputs[0].TryHostMemory(out var content) || !inputs[1].TryHostMemory(out var style))
                    throw new InvalidOperationException("StyleSamples: the styler's inputs are not in host memory.");
                for (int i = 0; i < m; i++)
                {
                    x.Span.Slice(chosen[i] * per, per).CopyTo(content.Span.Slice(i * per, per));
                    bank.Span.Slice(styles[i] * stylePer, stylePer).CopyTo(style.Span.Slice(i * stylePer, stylePer));
                }
            }, (inputs, _) =>
            {
                var y = _styler.Stylize(inputs[0], inputs[1]);
                if (y.shape[2] != shape[2] || y.shape[3] != shape[3]) y = Functional.Interpolate(y, (shape[2], shape[3]), mode: UpsampleMode.Bilinear);
                return y.Clamp(0f, 1f).Contiguous();
            });
            var restyled = GanSamples.ReplaceRows(source, chosen, GanSamples.HostValues(made), per, per);
            GC.KeepAlive(made);
            return batch with { Features = restyled };
        }
    }
}
