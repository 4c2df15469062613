using System.Text.Json;
using Nabla.Autograd;
using Nabla.Data;
using Nabla.Data.Transforms;
using Nabla.Serialization;

namespace Nabla.Generative;

/// <summary>
/// The augmentations that need a trained network (<c>gan:DIR:R</c> in the <c>--augment</c> grammar): pass an instance
/// to <see cref="Augmentation.Parse"/>.
/// </summary>
public sealed class NeuralAugmentations : INeuralAugmentations
{
    /// <inheritdoc/>
    public BatchTransform GanSamples(string directory, double ratio, bool softLabels = false) =>
        new GanSamples(GanModel.Load(directory), ratio, softLabels ? GanModel.LoadClassifier(directory) : null);

    /// <inheritdoc/>
    public BatchTransform StyleSamples(string directory, double p) => new StyleSamples(AdaInStyler.Load(directory), p, AdaInStyler.LoadStyles(directory));
}

/// <summary>Reads and writes a generator as <c>nabla gan train</c> saves it: config.json (its shape) and generator.safetensors.</summary>
public static class GanModel
{
    /// <summary>Writes <paramref name="generator"/> into <paramref name="directory"/> (created if missing) so that <see cref="Load"/> reads it back.</summary>
    public static void Save(DcganGenerator generator, string directory)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        using (var stream = new MemoryStream())
        {
            using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                w.WriteStartObject();
                w.WriteString("kind", "gan");
                w.WriteStartArray("sample_shape");
                foreach (int s in generator.SampleShape) w.WriteNumberValue(s);
                w.WriteEndArray();
                w.WriteNumber("classes", generator.Classes);
                w.WriteNumber("latent", generator.LatentDim);
                w.WriteNumber("width", generator.Width);
                w.WriteEndObject();
            }
            IO.AtomicFile.Write(Path.Combine(directory, "config.json"), stream.ToArray());
        }
        SafeTensors.Write(Path.Combine(directory, "generator.safetensors"), generator.StateDict());
    }

    /// <summary>The DCGAN generator in <paramref name="directory"/>, in evaluation mode.</summary>
    /// <exception cref="ArgumentException">the folder holds no GAN run, or its files do not fit each other.</exception>
    public static DcganGenerator Load(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string config = Path.Combine(directory, "config.json"), weights = Path.Combine(directory, "generator.safetensors");
        if (!File.Exists(config) || !File.Exists(weights))
            throw new ArgumentException($"'{directory}' holds no trained GAN (config.json and generator.safetensors from nabla gan train).", nameof(directory));
        DcganGenerator g;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(config));
            var r = doc.RootElement;
            if (!r.TryGetProperty("kind", out var kind) || kind.GetString() != "gan")
                throw new ArgumentException($"'{config}' is not a GAN run's configuration.", nameof(directory));
            int[] shape = [.. r.GetProperty("sample_shape").EnumerateArray().Select(e => e.GetInt32())];
            g = new DcganGenerator(r.GetProperty("latent").GetInt32(), r.GetProperty("classes").GetInt32(), shape, new Generator(0), r.GetProperty("width").GetInt32());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new ArgumentException($"'{config}' is malformed ({e.Message.ReplaceLineEndings(" ")}).", nameof(directory), e);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ArgumentException($"'{config}' describes an impossible generator ({e.Message.ReplaceLineEndings(" ")}).", nameof(directory), e);
        }
        LoadWeights(g, weights, "this generator's weights", nameof(directory));
        return g;
    }

    // Weights into a module built from the folder's configuration, in evaluation mode; a file that does not fit is an ArgumentException naming it.
    private static void LoadWeights(Module module, string path, string what, string argument)
    {
        try
        {
            module.LoadStateDict(SafeTensors.Read(path));
        }
        catch (Exception e) when (e is SafeTensorsFormatException or InvalidOperationException or KeyNotFoundException or ArgumentException)
        {
            throw new ArgumentException($"'{path}' does not hold {what} ({e.Message.ReplaceLineEndings(" ")}).", argument, e);
        }
        module.Eval();
    }

    /// <summary>
    /// The domain classifier <c>nabla gan train</c> saves beside the generator (classifier.safetensors: the <c>cnn</c>
    /// model trained on the real images in [0, 1]), in evaluation mode; it labels generated samples softly.
    /// </summary>
    /// <exception cref="ArgumentException">the folder holds no GAN run or no classifier, or its weights do not fit.</exception>
    public static Sequential LoadClassifier(string directory)
    {
        var g = Load(directory);
        string path = Path.Combine(directory, "classifier.safetensors");
        if (!File.Exists(path))
            throw new ArgumentException($"'{directory}' holds no classifier.safetensors (nabla gan train writes it) to give generated samples soft labels.", nameof(directory));
        var classifier = (Sequential)Models.FromSpec("cnn", g.SampleShape, g.Classes, new Generator(0));
        LoadWeights(classifier, path, "the cnn classifier of this GAN's images", nameof(directory));
        return classifier;
    }
}

/// <summary>
/// Replaces a fraction <see cref="Ratio"/> of each batch by samples of a conditional generator: ⌊R·B + ½⌋ positions
/// drawn without replacement, a class drawn uniformly for each, z ~ N(0, I), all from the batch's generator; the images
/// are mapped from the generator's (−1, 1) to the data's [0, 1]. Labels are hard (the class each sample was generated
/// for) or, with a <see cref="Labeller"/>, soft: the batch gets targets (B, K), one-hot for the real images and the
/// labeller's softmax p(k | x) for the generated ones, so a sample the generator drew poorly teaches its ambiguity
/// rather than a wrong certainty. Runs on the loader's worker, before the per-image and batch transforms; the
/// generator's (and the labeller's) forward pass is captured once per batch size and replayed.
/// </summary>
public sealed class GanSamples : BatchTransform
{
    private readonly ConditionalGenerator _generator;
    private readonly object _gate = new();
    private readonly Generator _rng = new(0);   // holds the batch generator's state while a captured draw reads it
    private readonly CapturedCalls<int> _calls;

    /// <summary>Wraps a trained generator (it is put in evaluation mode), with hard labels or, given <paramref name="labeller"/>, soft ones.</summary>
    /// <param name="generator">The conditional generator, outputs in (−1, 1).</param>
    /// <param name="ratio">Fraction of each batch replaced, in (0, 1].</param>
    /// <param name="labeller">A classifier of the data (images in [0, 1] → K logits) whose softmax labels the generated
    /// samples, e.g. the domain classifier <c>nabla gan train</c> saves; null for hard labels. It is put in evaluation
    /// mode and runs on the loader's worker: pass a trained, frozen classifier, not the model being trained.</param>
    public GanSamples(ConditionalGenerator generator, double ratio, Module? labeller = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (!(ratio > 0 && ratio <= 1)) throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "GanSamples: the fraction must be in (0, 1].");
        _generator = generator;
        _generator.Eval();
        labeller?.Eval();
        Labeller = labeller;
        Ratio = ratio;
        var modules = generator.NamedModules().Select(m => m.Module);
        if (labeller is not null) modules = modules.Concat(labeller.NamedModules().Select(m => m.Module));
        _calls = new CapturedCalls<int>([.. modules]);
    }

    /// <summary>Fraction of each batch replaced.</summary>
    public double Ratio { get; }

    /// <summary>The classifier whose softmax gives the generated samples' soft labels, or null for hard labels.</summary>
    public Module? Labeller { get; }

    /// <summary>Replays of the captured generator so far (every batch after the first of its size).</summary>
    public long Replays { get { lock (_gate) return _calls.Replays; } }

    /// <inheritdoc/>
    public override Batch Apply(Batch batch, Generator g, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(g);
        if (batch.Labels is null) throw new ArgumentException("GanSamples: the batch needs class labels (it runs before mixup/cutmix).", nameof(batch));
        if (numClasses != _generator.Classes)
            throw new ArgumentException($"GanSamples: the data has {numClasses} classes, the generator {_generator.Classes}.", nameof(numClasses));
        var shape = batch.Features.Shape;
        if (!shape.Skip(1).SequenceEqual(_generator.SampleShape))
            throw new ArgumentException($"GanSamples: images {Shapes.Format([.. shape.Skip(1)])} differ from the generator's {Shapes.Format(_generator.SampleShape)}.", nameof(batch));
        int n = shape[0], k = (int)Math.Floor(Ratio * n + 0.5);
        if (k == 0) return batch;
        var positions = g.Permutation(n).AsSpan(0, k).ToArray();
        var classes = new int[k];
        for (int i = 0; i < k; i++) classes[i] = g.NextInt(numClasses);
        int per = batch.Features.Numel / n, latent = _generator.LatentDim;
        lock (_gate)
        {
            // z is drawn inside the captured call from _rng carrying g's state, then g continues after those draws.
            _rng.SetState(g.GetState());
            var made = _calls.Run(k, () => ([], [new IntTensor(new int[k], k)]), (_, labels) => classes.CopyTo(labels[0].Data), (_, labels) =>
            {
                var z = Tensor.Normal([k, latent], 0f, 1f, _rng);
                var images = (_generator.Forward(z, labels[0]) + 1f) * 0.5f;
                if (Labeller is null) return images.Contiguous();
                var p = Labeller.Forward(images).Softmax(1);
                return Tensor.Concat([images.Reshape(k, per), p], 1);
            });
            g.SetState(_rng.GetState());
            if (Labeller is not null && made.Numel != k * (per + numClasses))
                throw new ArgumentException($"GanSamples: the labeller gives {made.Numel / k - per} outputs per image, the data has {numClasses} classes.", nameof(numClasses));
            var rows = HostValues(made);
            var features = ReplaceRows(batch.Features, positions, rows, Labeller is null ? per : per + numClasses, per);
            if (Labeller is null)
            {
                var labels = (int[])batch.Labels.Data.Clone();
                for (int i = 0; i < k; i++) labels[positions[i]] = classes[i];
                GC.KeepAlive(made);
                return batch with { Features = features, Labels = new IntTensor(labels, n) };
            }
            var t = SoftTargets(batch, numClasses, nameof(GanSamples), out _);
            for (int i = 0; i < k; i++)
            {
                var dst = t.AsSpan(positions[i] * numClasses, numClasses);
                rows.Span.Slice(i * (per + numClasses) + per, numClasses).CopyTo(dst);
            }
            GC.KeepAlive(made);   // rows reads its buffer: an eager result must not go back to the pool before
            return batch with { Features = features, Labels = null, Targets = Tensor.FromArray(t, n, numClasses) };
        }
    }

    // A tensor's values, read in place when it is in host memory (a captured output is).
    internal static ReadOnlyMemory<float> HostValues(Tensor t) => t.TryHostMemory(out var m) ? m : t.ToArray();

    /// <summary>
    /// A copy of <paramref name="features"/> (N, …) in a pooled tensor, with sample positions[i] replaced by the first
    /// <paramref name="width"/> values of row i of <paramref name="rows"/> (rows of <paramref name="stride"/> values).
    /// </summary>
    internal static Tensor ReplaceRows(Tensor features, IReadOnlyList<int> positions, ReadOnlyMemory<float> rows, int stride, int width)
    {
        var (source, x, output, o) = InPlaceAndPooled(features);
        x.Span.CopyTo(o);
        for (int i = 0; i < positions.Count; i++) rows.Span.Slice(i * stride, width).CopyTo(o.AsSpan(positions[i] * width, width));
        GC.KeepAlive(source);   // x reads its buffer, which the pool may take back once the tensor is unreachable
        return output;
    }
}
