using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace Nabla.Cli;

/// <summary>
/// The fully resolved settings of a training run: what the user gave plus every default, written to
/// config.json and metrics.json so a run can be evaluated, resumed or repeated without the original command line.
/// Every setting is declared once in <see cref="RunOptions"/>; the command line, config.json and search grids all
/// set it through that declaration.
/// </summary>
internal sealed record RunConfig
{
    /// <summary>config.json's layout version: 2 adds the digest, test, betas, eps, alpha and a model's own norm default.</summary>
    public const int Version = 2;

    // The data.
    public string Data { get; init; } = "embedded";
    public string? Label { get; init; }
    public string Task { get; init; } = "classification";
    /// <summary>"default" (the source's own test set, else 0.2), a fraction, "none", or a file or folder.</summary>
    public string Test { get; init; } = "default";
    public int ImageSize { get; init; } = 32;
    public bool Grayscale { get; init; }

    // The library's recipe defaults are the CLI's: one place says what a run that names nothing does.
    private static readonly Training.Recipe Defaults = new();

    // The model.
    public string Model { get; init; } = Defaults.Model;
    public string Activation { get; init; } = Defaults.Activation;
    /// <summary>The normalisation, or null for the model's own default (none for mlp and cnn, batch for resnet/plain).</summary>
    public string? Norm { get; init; }
    public bool NormAfter { get; init; }
    public string WeightNorm { get; init; } = "none";
    public double Dropout { get; init; }
    public double InputDropout { get; init; }
    public double Noise { get; init; }
    public double DropConnect { get; init; }
    public string DropoutMode { get; init; } = "inverted";
    public bool ZeroInitResidual { get; init; }
    public int Ensemble { get; init; } = Defaults.Ensemble;

    // The training. Optimizer settings left null take the optimizer's default (OptimizerInfo) when resolved.
    public string Optimizer { get; init; } = Defaults.Optimizer;
    public double? Lr { get; init; }
    public double? Momentum { get; init; }
    public double? WeightDecay { get; init; }
    public double[]? Betas { get; init; }
    public double? Eps { get; init; }
    public double? Alpha { get; init; }
    public int BatchSize { get; init; } = Defaults.BatchSize;
    public int Epochs { get; init; } = Defaults.Epochs;
    public bool Shuffle { get; init; } = Defaults.Shuffle;
    public double Validation { get; init; } = 0.1;
    public int EarlyStopping { get; init; } = 5;
    public double StopWhenStable { get; init; }
    public int LayerStats { get; init; }
    public string Schedule { get; init; } = Defaults.Schedule;
    public int Warmup { get; init; }
    public string? Init { get; init; }
    public int Seed { get; init; }
    public bool Normalize { get; init; }
    public double L1 { get; init; }
    public double L2 { get; init; }
    public double WeightNoise { get; init; }
    /// <summary>--augment as given: a spec, "none", or null when not given (then <see cref="EffectiveAugment"/> picks the default).</summary>
    public string? Augment { get; init; }
    public double Adversarial { get; init; }
    public double LabelSmoothing { get; init; }
    /// <summary>"none", "balanced" or one weight per class, comma-separated.</summary>
    public string ClassWeights { get; init; } = Defaults.ClassWeights;
    public double ClipGrad { get; init; }

    // How it runs.
    public int Threads { get; init; } = Cluster.DefaultThreads;   // all cores; under mpirun, the cores divided by the ranks on this host

    // Recorded from the data, so that evaluate and resume see what training saw.
    public float[]? NormMean { get; init; }
    public float[]? NormStd { get; init; }
    public string[]? Classes { get; init; }
    public string[]? Features { get; init; }

    /// <summary>The augmentation the run uses: --augment, else the default for this model and data (resolved late, so a grid over models gets each one's).</summary>
    public string? EffectiveAugment => Augment is null ? TrainCommand.DefaultAugment(Model, Data) : Augment == "none" ? null : Augment;

    /// <summary>The normalisation in force: --norm, else the model's default.</summary>
    public string EffectiveNorm => Norm ?? (IsResidual ? "batch" : "none");

    /// <summary>Whether the model is resnet:N or plain:N.</summary>
    public bool IsResidual => Model.Trim().StartsWith("resnet", StringComparison.OrdinalIgnoreCase) || Model.Trim().StartsWith("plain", StringComparison.OrdinalIgnoreCase);

    public Nabla.Optim.OptimizerInfo OptimizerDefaults => CliOptimizers.Of(Optimizer);

    /// <summary>The library's recipe for these settings (the commands build models, losses, optimizers and schedules from it).</summary>
    public Training.Recipe ToRecipe() => new()
    {
        Model = Model, Activation = Activation, ModelOptions = TrainCommand.ModelOptionsOf(this), Ensemble = Ensemble,
        NeuralAugmentations = new Nabla.Generative.NeuralAugmentations(),
        Optimizer = Optimizer, Lr = Lr, Momentum = Momentum, WeightDecay = WeightDecay, Betas = Betas, Eps = Eps, Alpha = Alpha,
        BatchSize = BatchSize, Epochs = Epochs, Shuffle = Shuffle, Seed = Seed, Schedule = Schedule, Warmup = Warmup,
        L1 = L1, L2 = L2, WeightNoise = WeightNoise, Adversarial = Adversarial, LabelSmoothing = LabelSmoothing,
        ClassWeights = ClassWeights, ClipGrad = ClipGrad, Augment = EffectiveAugment,
    };

    /// <summary>Every optimizer setting filled in from the optimizer's defaults where it was not given.</summary>
    public RunConfig Resolved()
    {
        var o = OptimizerDefaults;
        return this with
        {
            Lr = Lr ?? o.Lr,
            Momentum = o.TakesMomentum ? Momentum ?? o.Momentum : null,
            WeightDecay = WeightDecay ?? o.WeightDecay,
            Betas = o.TakesBetas ? Betas ?? o.Betas : null,
            Eps = o.TakesEps ? Eps ?? o.Eps : null,
            Alpha = o.TakesAlpha ? Alpha ?? o.Alpha : null,
            Norm = EffectiveNorm,
            EarlyStopping = Validation > 0 ? EarlyStopping : 0,
        };
    }

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteNumber("config_version", Version);
        foreach (var o in RunOptions.All)
            o.Write?.Invoke(w, this);
        WriteArray(w, "norm_mean", NormMean);
        WriteArray(w, "norm_std", NormStd);
        WriteStrings(w, "classes", Classes);
        WriteStrings(w, "features", Features);
        w.WriteEndObject();
    }

    private static void WriteArray(Utf8JsonWriter w, string key, float[]? values)
    {
        if (values is null) return;
        w.WriteStartArray(key);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    private static void WriteStrings(Utf8JsonWriter w, string key, string[]? values)
    {
        if (values is null) return;
        w.WriteStartArray(key);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    /// <summary>
    /// Reads a config.json through the same validation as the command line: each key is the option of that name,
    /// its value the option's text; an unknown key, a wrong type or a value out of range names the file and the key.
    /// </summary>
    public static RunConfig Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{path}: cannot be read ({e.Message}).");
        }
        return Parse(bytes, path);
    }

    public static RunConfig Parse(ReadOnlySpan<byte> bytes, string path)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            // The parser's own message quotes the offending text, which may be a whole line of someone's data.
            throw new UsageException($"{path}: not a run configuration: not valid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}.");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new UsageException($"{path}: not a run configuration (expected a JSON object).");
            try
            {
                ReadEveryString(root);
            }
            catch (InvalidOperationException e)
            {
                throw new UsageException($"{path}: not a run configuration: {CliArgs.Clip(e.Message, 120)}");
            }
            var c = new RunConfig();
            int version = 1;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in root.EnumerateObject())
            {
                if (!seen.Add(p.Name)) throw new UsageException($"{path}: \"{CliArgs.Clip(p.Name)}\" appears twice.");
                try
                {
                    switch (p.Name)
                    {
                        case "config_version":
                            version = CliArgs.ParseInt("config_version", p.Value.GetRawText(), 1, Version);
                            continue;
                        case "norm_mean": c = c with { NormMean = Floats(p.Value) }; continue;
                        case "norm_std": c = c with { NormStd = Floats(p.Value) }; continue;
                        case "classes": c = c with { Classes = Strings(p.Value) }; continue;
                        case "features": c = c with { Features = Strings(p.Value) }; continue;
                    }
                    var opt = RunOptions.ByJson(p.Name) ?? throw new UsageException($"unknown setting; the settings are {string.Join(", ", RunOptions.All.Where(o => o.Json is not null).Select(o => o.Json))}.");
                    c = opt.Set!(c, opt.TextOf(p.Value));
                }
                catch (UsageException e)
                {
                    throw new UsageException($"{path}: \"{CliArgs.Clip(p.Name)}\": {e.Message}");
                }
            }
            if ((c.NormMean is null) != (c.NormStd is null) || c.NormMean is not null && c.NormMean.Length != c.NormStd!.Length)
                throw new UsageException($"{path}: \"norm_mean\" and \"norm_std\" must come together, with one value per feature each.");
            if (c.NormStd is not null && c.NormStd.Any(s => !(s > 0)))
                throw new UsageException($"{path}: \"norm_std\" holds a standard deviation that is not positive.");
            if (version == 1) c = FromVersion1(c);
            return RunOptions.Check(c, given: null);
        }
    }

    /// <summary>
    /// What a version-1 config.json meant, in today's terms: the nabla that wrote it ignored some settings, and the
    /// model and optimizer it built are the ones to rebuild (so its runs still evaluate and repeat to the same bits).
    /// </summary>
    private static RunConfig FromVersion1(RunConfig c)
    {
        // resnet:/plain: were always ReLU and BatchNorm, without dropout, noise or weight normalisation.
        if (c.IsResidual)
            c = c with
            {
                Activation = "relu", Norm = "batch", NormAfter = false, WeightNorm = "none", Dropout = 0, InputDropout = 0, Noise = 0, DropConnect = 0,
            };
        // Adam, AdamW and Adagrad ignored a recorded momentum; nesterov used 0.9 when it was 0; AdamW's 0 meant 1e-2.
        if (c.Optimizer is "adam" or "adamw" or "adagrad") c = c with { Momentum = null };
        if (c.Optimizer == "nesterov" && c.Momentum is 0) c = c with { Momentum = 0.9 };
        if (c.Optimizer == "adamw" && c.WeightDecay is 0) c = c with { WeightDecay = 1e-2 };
        return c;
    }

    /// <summary>
    /// Reads every name and string once: JsonDocument accepts bytes that are not UTF-8 and escapes that decode to no text
    /// (a lone surrogate, "\ud800"), and only reading them throws, an InvalidOperationException no setting expects.
    /// </summary>
    private static void ReadEveryString(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    _ = p.Name;
                    ReadEveryString(p.Value);
                }
                break;
            case JsonValueKind.Array:
                foreach (var v in e.EnumerateArray()) ReadEveryString(v);
                break;
            case JsonValueKind.String:
                _ = e.GetString();
                break;
        }
    }

    private static float[] Floats(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Array) throw new UsageException("expected an array of numbers.");
        var list = new List<float>();
        foreach (var v in e.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetSingle(out float f) || !float.IsFinite(f)) throw new UsageException("expected finite numbers.");
            list.Add(f);
        }
        return [.. list];
    }

    private static string[] Strings(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Array) throw new UsageException("expected an array of names.");
        var list = new List<string>();
        foreach (var v in e.EnumerateArray())
            list.Add(v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new UsageException("expected names (strings)."));
        return [.. list];
    }

    /// <summary>SHA-256 of config.json's bytes, recorded in the checkpoint so that a resume continues the run that wrote it.</summary>
    public static string Digest(ReadOnlySpan<byte> configJson) => Convert.ToHexStringLower(SHA256.HashData(configJson));

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Model} ({Activation}), {Optimizer} lr {Lr ?? OptimizerDefaults.Lr:G3}, batch {BatchSize}, {Epochs} epochs, schedule {Schedule}, seed {Seed}{(EffectiveAugment is { } aug ? $", augment {aug}" : "")}");
}
