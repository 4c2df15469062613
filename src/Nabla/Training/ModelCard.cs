using System.Globalization;
using System.Text.Json;
using Nabla.Data;

namespace Nabla.Training;

/// <summary>
/// What it takes to rebuild a trained model and feed it: the layout (spec, activation, model options, ensemble size),
/// a sample's shape and the output count, the task, the class names and CSV feature columns, and the input
/// normalisation (per element of a sample). <c>nabla train</c> writes it as <c>model.json</c> beside
/// <c>model.safetensors</c>; <see cref="Predictor"/> reads both.
/// </summary>
public sealed record ModelCard
{
    /// <summary>The file name in a run folder.</summary>
    public const string FileName = "model.json";

    /// <summary>The model spec ("mlp:256,128", "cnn", "resnet:20" …).</summary>
    public required string Model { get; init; }
    /// <summary>The hidden activation's registry name.</summary>
    public string Activation { get; init; } = "relu";
    /// <summary>Dropout, noise, normalisation and weight-normalisation layers of the layout.</summary>
    public ModelOptions Options { get; init; } = ModelOptions.None;
    /// <summary>Members of an ensemble (1: a single model).</summary>
    public int Ensemble { get; init; } = 1;
    /// <summary>A sample's shape, without the batch dim (e.g. 1, 28, 28).</summary>
    public required int[] SampleShape { get; init; }
    /// <summary>Outputs per sample: classes, or regression targets.</summary>
    public required int Outputs { get; init; }
    /// <summary>Classification or regression.</summary>
    public TaskKind Task { get; init; } = TaskKind.Classification;
    /// <summary>Class names, index = output (classification).</summary>
    public string[]? Classes { get; init; }
    /// <summary>The CSV feature columns in the model's order (tables).</summary>
    public string[]? Features { get; init; }
    /// <summary>Mean subtracted from each element of a sample before the model, or null.</summary>
    public float[]? InputMean { get; init; }
    /// <summary>Deviation each centred element is divided by, or null.</summary>
    public float[]? InputStd { get; init; }

    /// <summary>The model with fresh weights (load the trained ones into it).</summary>
    public Module BuildModel() =>
        new Recipe { Model = Model, Activation = Activation, ModelOptions = Options, Ensemble = Ensemble }.BuildModel(SampleShape, Outputs, Task);

    /// <summary>The card as JSON.</summary>
    public byte[] ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("model", Model);
            w.WriteString("activation", Activation);
            w.WriteNumber("ensemble", Ensemble);
            w.WriteStartObject("options");
            w.WriteNumber("dropout", Options.Dropout);
            w.WriteNumber("input_dropout", Options.InputDropout);
            w.WriteNumber("noise", Options.Noise);
            w.WriteNumber("dropconnect", Options.DropConnect);
            w.WriteString("dropout_mode", Options.Mode == DropoutMode.Classic ? "classic" : "inverted");
            if (Options.Norm is null) w.WriteNull("norm");
            else w.WriteString("norm", Options.Norm);
            w.WriteBoolean("norm_after", Options.NormAfter);
            w.WriteString("weight_norm", Options.WeightNorm);
            w.WriteBoolean("zero_init_residual", Options.ZeroInitResidual);
            w.WriteEndObject();
            Ints(w, "sample_shape", SampleShape);
            w.WriteNumber("outputs", Outputs);
            w.WriteString("task", Task == TaskKind.Regression ? "regression" : "classification");
            Strings(w, "classes", Classes);
            Strings(w, "features", Features);
            Floats(w, "input_mean", InputMean);
            Floats(w, "input_std", InputStd);
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    /// <summary>Writes the card to <paramref name="path"/> (atomically).</summary>
    public void Save(string path) => IO.AtomicFile.Write(path, ToJson());

    /// <summary>Reads a card written by <see cref="Save"/>.</summary>
    /// <exception cref="FormatException">the file is not a model card (the message names the file and the key).</exception>
    public static ModelCard Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses a card's JSON; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="FormatException">not a model card.</exception>
    public static ModelCard Parse(ReadOnlySpan<byte> json, string source = "model.json")
    {
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray());
            var r = doc.RootElement;
            var o = r.GetProperty("options");
            var options = new ModelOptions(o.GetProperty("dropout").GetSingle(), o.GetProperty("input_dropout").GetSingle(), o.GetProperty("noise").GetSingle(),
                o.GetProperty("dropconnect").GetSingle(), o.GetProperty("dropout_mode").GetString() switch
                {
                    "classic" => DropoutMode.Classic,
                    "inverted" => DropoutMode.Inverted,
                    var mode => throw new FormatException($"dropout_mode '{mode}' is neither inverted nor classic"),
                },
                o.GetProperty("norm").ValueKind == JsonValueKind.Null ? null : o.GetProperty("norm").GetString(), o.GetProperty("norm_after").GetBoolean(),
                o.GetProperty("weight_norm").GetString()!)
            { ZeroInitResidual = o.GetProperty("zero_init_residual").GetBoolean() };
            var card = new ModelCard
            {
                Model = r.GetProperty("model").GetString()!,
                Activation = r.GetProperty("activation").GetString()!,
                Ensemble = r.GetProperty("ensemble").GetInt32(),
                Options = options,
                SampleShape = [.. r.GetProperty("sample_shape").EnumerateArray().Select(e => e.GetInt32())],
                Outputs = r.GetProperty("outputs").GetInt32(),
                Task = r.GetProperty("task").GetString() switch
                {
                    "classification" => TaskKind.Classification,
                    "regression" => TaskKind.Regression,
                    var t => throw new FormatException($"task '{t}' is neither classification nor regression"),
                },
                Classes = OptionalStrings(r, "classes"),
                Features = OptionalStrings(r, "features"),
                InputMean = OptionalFloats(r, "input_mean"),
                InputStd = OptionalFloats(r, "input_std"),
            };
            card.Validate();
            return card;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new FormatException($"{source}: not a Nabla model card ({e.Message}).", e);
        }
    }

    /// <summary>Checks the card's values against each other (shapes, counts, a usable normalisation).</summary>
    /// <exception cref="FormatException">a value that cannot describe a model (the message names it).</exception>
    public void Validate()
    {
        if (SampleShape.Length == 0 || SampleShape.Any(d => d < 1) || Outputs < 1 || Ensemble < 1)
            throw new FormatException("sample_shape, outputs and ensemble must be positive");
        long elements = SampleShape.Aggregate(1L, (p, d) => p * d);
        if (elements > int.MaxValue) throw new FormatException($"sample_shape holds {elements} values, more than a tensor can");
        int n = (int)elements;
        if ((InputMean is null) != (InputStd is null) || InputMean is not null && (InputMean.Length != n || InputStd!.Length != n))
            throw new FormatException($"input_mean and input_std must both hold one value per element of a sample ({n})");
        if (InputMean is not null && (!InputMean.All(float.IsFinite) || !InputStd!.All(v => float.IsFinite(v) && v > 0)))
            throw new FormatException("input_mean must be finite and input_std finite and positive");
        if (Classes is not null && Task == TaskKind.Classification && Classes.Length != Outputs)
            throw new FormatException($"{Classes.Length} classes for {Outputs} outputs");
    }

    private static void Ints(Utf8JsonWriter w, string name, int[] values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    private static void Strings(Utf8JsonWriter w, string name, string[]? values)
    {
        if (values is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static void Floats(Utf8JsonWriter w, string name, float[]? values)
    {
        if (values is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    private static string[]? OptionalStrings(JsonElement r, string name) =>
        !r.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null ? null : [.. e.EnumerateArray().Select(x => x.GetString()!)];

    private static float[]? OptionalFloats(JsonElement r, string name) =>
        !r.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null ? null : [.. e.EnumerateArray().Select(x => x.GetSingle())];
}

/// <summary>
/// A trained model ready to predict, loaded in one call from a run folder (<c>model.json</c> and
/// <c>model.safetensors</c>, as <c>nabla train</c> writes them): the input normalisation is applied, the model runs in
/// evaluation mode batch by batch.
/// </summary>
/// <example><code>
/// var p = Predictor.Load("runs/20261206-071500");
/// string[] classes = p.PredictClasses(images);          // images: (N, 1, 28, 28) as the data loader gives them
/// Tensor probabilities = p.PredictProbabilities(images); // (N, classes)
/// </code></example>
public sealed class Predictor
{
    private readonly Standardizer? _standardizer;

    private Predictor(ModelCard card, Module model)
    {
        Card = card;
        Model = model;
        // The normalisation training applied (Standardizer, in double), so the model sees the same inputs bit for bit.
        if (card.InputMean is not null)
            _standardizer = Standardizer.FromStatistics(Tensor.FromArray(card.InputMean, card.SampleShape), Tensor.FromArray(card.InputStd!, card.SampleShape));
    }

    /// <summary>The layout, shapes, classes and normalisation.</summary>
    public ModelCard Card { get; }

    /// <summary>The model with the trained weights, in evaluation mode.</summary>
    public Module Model { get; }

    /// <summary>Loads <paramref name="runFolder"/>'s model.json and model.safetensors.</summary>
    /// <exception cref="FileNotFoundException">the folder lacks one of the two files.</exception>
    /// <exception cref="FormatException">model.json is not a model card.</exception>
    /// <exception cref="InvalidOperationException">the weights do not fit the card's model.</exception>
    public static Predictor Load(string runFolder)
    {
        ArgumentNullException.ThrowIfNull(runFolder);
        string cardPath = Path.Combine(runFolder, ModelCard.FileName), weights = Path.Combine(runFolder, "model.safetensors");
        if (!File.Exists(cardPath)) throw new FileNotFoundException($"{runFolder} has no {ModelCard.FileName} (a run of 'nabla train' writes one).", cardPath);
        if (!File.Exists(weights)) throw new FileNotFoundException($"{runFolder} has no model.safetensors.", weights);
        return FromCard(ModelCard.Load(cardPath), weights);
    }

    /// <summary>The card's model with the weights in <paramref name="weightsPath"/> (a .safetensors file).</summary>
    /// <exception cref="FormatException">a card whose values do not fit together (<see cref="ModelCard.Validate"/>).</exception>
    public static Predictor FromCard(ModelCard card, string weightsPath)
    {
        ArgumentNullException.ThrowIfNull(card);
        card.Validate();
        var model = card.BuildModel();
        model.Load(weightsPath);
        return FromModel(card, model);
    }

    /// <summary>A model already holding its trained weights (built as the card says), described by <paramref name="card"/>; it is put in evaluation mode.</summary>
    /// <exception cref="FormatException">a card whose values do not fit together (<see cref="ModelCard.Validate"/>).</exception>
    public static Predictor FromModel(ModelCard card, Module model)
    {
        ArgumentNullException.ThrowIfNull(card);
        ArgumentNullException.ThrowIfNull(model);
        card.Validate();
        model.Eval();
        return new Predictor(card, model);
    }

    /// <summary>The model's outputs (logits, or regression targets) for raw features (N, …a sample's shape).</summary>
    /// <exception cref="ArgumentException">features of another sample shape.</exception>
    public Tensor Predict(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Rank != Card.SampleShape.Length + 1 || !features.Shape.ToArray().AsSpan(1).SequenceEqual(Card.SampleShape))
            throw new ArgumentException($"Predictor: features {Shapes.Format([.. features.Shape])} must be (N, {string.Join(", ", Card.SampleShape)}).", nameof(features));
        return new Trainer().Predict(Model, _standardizer is null ? features : _standardizer.Transform(features));
    }

    /// <summary>Outputs for every sample of a dataset (its features; the labels are not read).</summary>
    public Tensor Predict(TensorDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Predict(data.HoldsPixels ? data.Rows([.. Enumerable.Range(0, data.Count)]) : data.Features);
    }

    /// <summary>softmax of the outputs: class probabilities (N, classes).</summary>
    /// <exception cref="InvalidOperationException">a regression model.</exception>
    public Tensor PredictProbabilities(Tensor features)
    {
        if (Card.Task != TaskKind.Classification) throw new InvalidOperationException("Predictor: a regression model has no class probabilities; use Predict.");
        return Predict(features).Softmax(-1);
    }

    /// <summary>The most probable class's name per sample (the first on ties, as argmax).</summary>
    public string[] PredictClasses(Tensor features) => ClassNames(PredictProbabilities(features).ArgMax(-1));

    /// <summary>The card's class names (or "0", "1" … without them) of class indices.</summary>
    public string[] ClassNames(IntTensor indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var names = Card.Classes ?? [.. Enumerable.Range(0, Card.Outputs).Select(i => i.ToString(CultureInfo.InvariantCulture))];
        return [.. indices.Data.Select(i => names[i])];
    }
}
