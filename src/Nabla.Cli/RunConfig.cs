using System.Globalization;
using System.Text.Json;

namespace Nabla.Cli;

/// <summary>
/// The fully resolved settings of a training run: what the user gave plus every default, written to
/// config.json and metrics.json so a run can be evaluated, resumed or repeated without the original command line.
/// </summary>
internal sealed record RunConfig
{
    public string Data { get; init; } = "embedded";
    public string? Label { get; init; }
    public string Task { get; init; } = "classification";
    public string Model { get; init; } = "mlp:256,128";
    public string Activation { get; init; } = "relu";
    public string Optimizer { get; init; } = "adam";
    public double Lr { get; init; }
    public double Momentum { get; init; }
    public double WeightDecay { get; init; }
    public int BatchSize { get; init; } = 128;
    public int Epochs { get; init; } = 20;
    public bool Shuffle { get; init; } = true;
    public double Validation { get; init; } = 0.1;
    public int EarlyStopping { get; init; } = 5;
    public double StopWhenStable { get; init; }
    public string Schedule { get; init; } = "cosine";
    public string? Init { get; init; }
    public int Seed { get; init; }
    public int Threads { get; init; } = Environment.ProcessorCount;
    public bool Normalize { get; init; }
    public float[]? NormMean { get; init; }
    public float[]? NormStd { get; init; }
    public double Dropout { get; init; }
    public double InputDropout { get; init; }
    public double Noise { get; init; }
    public double DropConnect { get; init; }
    public string DropoutMode { get; init; } = "inverted";
    public double L1 { get; init; }
    public double L2 { get; init; }
    public double WeightNoise { get; init; }
    public int Ensemble { get; init; } = 1;
    public string Norm { get; init; } = "none";
    public bool NormAfter { get; init; }
    public string WeightNorm { get; init; } = "none";
    public int ImageSize { get; init; } = 32;
    public bool Grayscale { get; init; }
    /// <summary>--augment as given: a spec, "none", or null when not given (then <see cref="EffectiveAugment"/> picks the default).</summary>
    public string? Augment { get; init; }

    /// <summary>The augmentation the run uses: --augment, else the default for this model and data (resolved late, so a grid over models gets each one's).</summary>
    public string? EffectiveAugment => Augment is null ? TrainCommand.DefaultAugment(Model, Data) : Augment == "none" ? null : Augment;
    public double Adversarial { get; init; }

    /// <summary>Default learning rate of each optimizer in the CLI (chosen so that naming only data and model trains well).</summary>
    public static double DefaultLr(string optimizer) => optimizer switch
    {
        "sgd" => 0.1,
        "momentum" or "nesterov" => 0.05,
        "adagrad" => 0.01,
        _ => 1e-3,
    };

    public static readonly string[] Optimizers = ["sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw"];

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("data", Data);
        if (Label is not null) w.WriteString("label", Label);
        w.WriteString("task", Task);
        w.WriteString("model", Model);
        w.WriteString("activation", Activation);
        w.WriteString("optimizer", Optimizer);
        w.WriteNumber("lr", Lr);
        w.WriteNumber("momentum", Momentum);
        w.WriteNumber("weight_decay", WeightDecay);
        w.WriteNumber("batch_size", BatchSize);
        w.WriteNumber("epochs", Epochs);
        w.WriteBoolean("shuffle", Shuffle);
        w.WriteNumber("validation", Validation);
        w.WriteNumber("early_stopping", EarlyStopping);
        w.WriteNumber("stop_when_stable", StopWhenStable);
        w.WriteString("schedule", Schedule);
        if (Init is not null) w.WriteString("init", Init);
        w.WriteNumber("seed", Seed);
        w.WriteNumber("threads", Threads);
        w.WriteBoolean("normalize", Normalize);
        w.WriteNumber("dropout", Dropout);
        w.WriteNumber("input_dropout", InputDropout);
        w.WriteNumber("noise", Noise);
        w.WriteNumber("dropconnect", DropConnect);
        w.WriteString("dropout_mode", DropoutMode);
        w.WriteNumber("l1", L1);
        w.WriteNumber("l2", L2);
        w.WriteNumber("weight_noise", WeightNoise);
        w.WriteNumber("ensemble", Ensemble);
        w.WriteString("norm", Norm);
        w.WriteBoolean("norm_after", NormAfter);
        w.WriteString("weight_norm", WeightNorm);
        w.WriteNumber("image_size", ImageSize);
        w.WriteBoolean("grayscale", Grayscale);
        // The augmentation used, or "none" where the default would have given one: a resumed run reads back the same.
        if (EffectiveAugment is { } augment) w.WriteString("augment", augment);
        else if (Augment == "none") w.WriteString("augment", "none");
        w.WriteNumber("adversarial", Adversarial);
        if (NormMean is not null)
        {
            w.WriteStartArray("norm_mean");
            foreach (var v in NormMean) w.WriteNumberValue(v);
            w.WriteEndArray();
            w.WriteStartArray("norm_std");
            foreach (var v in NormStd!) w.WriteNumberValue(v);
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    public static RunConfig Read(JsonElement e)
    {
        string S(string k, string d) => e.TryGetProperty(k, out var v) ? v.GetString() ?? d : d;
        double D(string k, double d) => e.TryGetProperty(k, out var v) ? v.GetDouble() : d;
        int I(string k, int d) => e.TryGetProperty(k, out var v) ? v.GetInt32() : d;
        bool B(string k, bool d) => e.TryGetProperty(k, out var v) ? v.GetBoolean() : d;
        float[]? F(string k) => e.TryGetProperty(k, out var v) ? v.EnumerateArray().Select(x => x.GetSingle()).ToArray() : null;
        return new RunConfig
        {
            Data = S("data", "embedded"),
            Label = e.TryGetProperty("label", out var l) ? l.GetString() : null,
            Task = S("task", "classification"),
            Model = S("model", "mlp:256,128"),
            Activation = S("activation", "relu"),
            Optimizer = S("optimizer", "adam"),
            Lr = D("lr", 1e-3),
            Momentum = D("momentum", 0),
            WeightDecay = D("weight_decay", 0),
            BatchSize = I("batch_size", 128),
            Epochs = I("epochs", 20),
            Shuffle = B("shuffle", true),
            Validation = D("validation", 0.1),
            EarlyStopping = I("early_stopping", 5),
            StopWhenStable = D("stop_when_stable", 0),
            Schedule = S("schedule", "cosine"),
            Init = e.TryGetProperty("init", out var i) ? i.GetString() : null,
            Seed = I("seed", 0),
            Threads = I("threads", Environment.ProcessorCount),
            Normalize = B("normalize", false),
            NormMean = F("norm_mean"),
            NormStd = F("norm_std"),
            Dropout = D("dropout", 0),
            InputDropout = D("input_dropout", 0),
            Noise = D("noise", 0),
            DropConnect = D("dropconnect", 0),
            DropoutMode = S("dropout_mode", "inverted"),
            L1 = D("l1", 0),
            L2 = D("l2", 0),
            WeightNoise = D("weight_noise", 0),
            Ensemble = I("ensemble", 1),
            Norm = S("norm", "none"),
            NormAfter = B("norm_after", false),
            WeightNorm = S("weight_norm", "none"),
            ImageSize = I("image_size", 32),
            Grayscale = B("grayscale", false),
            Augment = e.TryGetProperty("augment", out var aug) ? aug.GetString() : null,
            Adversarial = D("adversarial", 0),
        };
    }

    public static RunConfig Load(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return Read(doc.RootElement);
        }
        catch (Exception ex) when (ex is JsonException or IOException or InvalidOperationException or FormatException)
        {
            throw new UsageException($"{path}: not a readable run configuration ({ex.Message}).");
        }
    }

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Model} ({Activation}), {Optimizer} lr {Lr:G3}, batch {BatchSize}, {Epochs} epochs, schedule {Schedule}, seed {Seed}{(EffectiveAugment is { } aug ? $", augment {aug}" : "")}");
}
