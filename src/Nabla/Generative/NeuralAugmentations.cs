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
    public BatchTransform GanSamples(string directory, double ratio) => new GanSamples(GanModel.Load(directory), ratio);

    /// <inheritdoc/>
    public BatchTransform StyleSamples(string directory, double p) => new StyleSamples(AdaInStyler.Load(directory), p);
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
        try
        {
            g.LoadStateDict(SafeTensors.Read(weights));
        }
        catch (Exception e) when (e is SafeTensorsFormatException or InvalidOperationException or KeyNotFoundException or ArgumentException)
        {
            throw new ArgumentException($"'{weights}' does not hold this generator's weights ({e.Message.ReplaceLineEndings(" ")}).", nameof(directory), e);
        }
        g.Eval();
        return g;
    }
}

/// <summary>
/// Replaces a fraction <see cref="Ratio"/> of each batch by samples of a conditional generator: ⌊R·B + ½⌋ positions
/// drawn without replacement, a class drawn uniformly for each, z ~ N(0, I), all from the batch's generator; the images
/// are mapped from the generator's (−1, 1) to the data's [0, 1] and get hard labels. Runs on the loader's worker,
/// before the per-image and batch transforms.
/// </summary>
public sealed class GanSamples : BatchTransform
{
    private readonly ConditionalGenerator _generator;

    /// <summary>Wraps a trained generator (it is put in evaluation mode).</summary>
    public GanSamples(ConditionalGenerator generator, double ratio)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (!(ratio > 0 && ratio <= 1)) throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "GanSamples: the fraction must be in (0, 1].");
        _generator = generator;
        _generator.Eval();
        Ratio = ratio;
    }

    /// <summary>Fraction of each batch replaced.</summary>
    public double Ratio { get; }

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
        Tensor images;
        using (GradMode.NoGrad())
        {
            var z = Tensor.Normal([k, _generator.LatentDim], 0f, 1f, g);
            images = ((_generator.Forward(z, new IntTensor(classes, k)) + 1f) * 0.5f).Contiguous();
        }
        var labels = (int[])batch.Labels.Data.Clone();
        for (int i = 0; i < k; i++) labels[positions[i]] = classes[i];
        return batch with { Features = ReplaceRows(batch.Features, positions, images), Labels = new IntTensor(labels, n) };
    }

    /// <summary>A copy of <paramref name="features"/> (N, …) with sample positions[i] replaced by row i of <paramref name="rows"/>.</summary>
    internal static Tensor ReplaceRows(Tensor features, IReadOnlyList<int> positions, Tensor rows)
    {
        var x = features.Contiguous().ToArray();
        var made = rows.Contiguous().ToArray();
        int per = x.Length / Math.Max(1, features.Shape[0]);
        for (int i = 0; i < positions.Count; i++) made.AsSpan(i * per, per).CopyTo(x.AsSpan(positions[i] * per, per));
        return Tensor.FromArray(x, [.. features.Shape]);
    }
}
