using System.Globalization;
using System.Text.Json;

namespace Nabla.Cli;

/// <summary>
/// Every setting of a run, declared once: name, value, range, default, help, config.json key. train, validate,
/// search, evaluate and summary take them from here; config.json and --grid values are read through the same
/// <see cref="Opt.Set"/>; <see cref="Check"/> refuses combinations that cannot work, before anything is written.
/// </summary>
internal static class RunOptions
{
    private static readonly RunConfig D = new();

    private static string F(double v) => Opt.Format(v);

    private static Opt Number(string name, string json, string value, OptGroup group, string help, double min, double max, bool exclusiveMin,
        Func<RunConfig, double> get, Func<RunConfig, double, RunConfig> set, string? shown = null) => new()
        {
            Name = name, Value = value, Group = group, Help = help, Json = json, Default = shown ?? F(get(D)),
            Set = (c, v) => set(c, CliArgs.ParseDouble(name, v, min, max, exclusiveMin)),
            Write = (w, c) => w.WriteNumber(json, get(c)),
        };

    // An optimizer setting: absent until given, then the optimizer's default fills it (RunConfig.Resolved).
    private static Opt OptionalNumber(string name, string json, string help, string shown, double min, double max, bool exclusiveMin,
        Func<RunConfig, double?> get, Func<RunConfig, double, RunConfig> set) => new()
        {
            Name = name, Value = "X", Group = OptGroup.Training, Help = help, Json = json, Default = shown,
            Set = (c, v) => set(c, CliArgs.ParseDouble(name, v, min, max, exclusiveMin)),
            Write = (w, c) => { if (get(c) is { } x) w.WriteNumber(json, x); },
        };

    private static Opt Integer(string name, string json, string value, OptGroup group, string help, int min, int max,
        Func<RunConfig, int> get, Func<RunConfig, int, RunConfig> set, string? shown = null) => new()
        {
            Name = name, Value = value, Group = group, Help = help, Json = json, Default = shown ?? get(D).ToString(CultureInfo.InvariantCulture),
            Set = (c, v) => set(c, CliArgs.ParseInt(name, v, min, max)),
            Write = (w, c) => w.WriteNumber(json, get(c)),
        };

    private static Opt Flag(string name, string json, OptGroup group, string help, Func<RunConfig, bool> get, Func<RunConfig, bool, RunConfig> set) => new()
    {
        Name = name, Group = group, Help = help, Json = json,
        Set = (c, v) => set(c, CliArgs.ParseBool(name, v)),
        Write = (w, c) => w.WriteBoolean(json, get(c)),
    };

    private static Opt Text(string name, string json, string value, OptGroup group, string help, Func<RunConfig, string?> get,
        Func<RunConfig, string, RunConfig> set, string? shown = null, string[]? choices = null) => new()
        {
            Name = name, Value = value, Group = group, Help = help, Json = json, Default = shown ?? get(D), Choices = choices,
            Set = set,
            Write = (w, c) => { if (get(c) is { } s) w.WriteString(json, s); },
        };

    private static string Choice(string name, string v, params string[] allowed)
    {
        string x = v.Trim().ToLowerInvariant();
        return allowed.Contains(x) ? x : throw new UsageException($"{name}: '{CliArgs.Clip(v)}' is not {string.Join(", ", allowed[..^1])} or {allowed[^1]}.");
    }

    // ---- the data ------------------------------------------------------------------------------------------

    public static readonly Opt Data = Text("--data", "data", "SOURCE", OptGroup.Data,
        "embedded, fashion-mnist, a folder of IDX files, a folder of class sub-folders of PNG/JPEG images, or FILE.csv", c => c.Data,
        (c, v) => c with { Data = v.Trim().Length > 0 ? v.Trim() : throw new UsageException("--data: the source is empty.") });

    public static readonly Opt Label = Text("--label", "label", "COLUMN", OptGroup.Data, "the label (or target) column of a CSV", c => c.Label,
        (c, v) => c with { Label = v.Length > 0 ? v : throw new UsageException("--label: the column name is empty.") }, shown: null);

    public static readonly Opt Task = Text("--task", "task", "KIND", OptGroup.Data, "classification or regression (numeric targets, CSV only)", c => c.Task,
        (c, v) => c with { Task = Choice("--task", v, "classification", "regression") }, choices: ["classification", "regression"]);

    public static readonly Opt Test = Text("--test", "test", "FRACTION|none|FILE", OptGroup.Data,
        "the test set: a fraction carved (stratified, seeded) from the training part, none, or a CSV file / image folder laid out as the data",
        c => c.Test, (c, v) => c with { Test = ParseTest(v) }, shown: "the source's own test set, else 0.2");

    public static readonly Opt ImageSize = Integer("--image-size", "image_size", "N", OptGroup.Data, "side of the square images decoded from an image folder",
        4, 1024, c => c.ImageSize, (c, v) => c with { ImageSize = v });

    public static readonly Opt Grayscale = Flag("--grayscale", "grayscale", OptGroup.Data, "decode an image folder as one channel", c => c.Grayscale, (c, v) => c with { Grayscale = v });

    // ---- the model -----------------------------------------------------------------------------------------

    public static readonly Opt Model = Text("--model", "model", "SPEC", OptGroup.Model,
        "mlp:H1,H2,… | cnn[:C1,C2] | resnet:N | plain:N (N = 6n + 2)", c => c.Model, (c, v) => c with { Model = ParseModel("--model", v) });

    /// <summary>evaluate's name for the layout, since its --model names the weights.</summary>
    public static readonly Opt Arch = new()
    {
        Name = "--arch", Value = "SPEC", Group = OptGroup.Model, Help = "the layout of a bare .safetensors file, as train --model takes it",
        Set = (c, v) => c with { Model = ParseModel("--arch", v) },
    };

    public static readonly Opt Activation = Text("--activation", "activation", "NAME", OptGroup.Model,
        $"{string.Join(", ", Activations.Names)}", c => c.Activation, (c, v) => c with { Activation = ParseActivation(v) }, choices: [.. Activations.Names]);

    public static readonly Opt Norm = new()
    {
        Name = "--norm", Value = "KIND", Group = OptGroup.Model, Json = "norm", Default = "none for mlp and cnn, batch for resnet and plain",
        Help = $"{string.Join(", ", Norms.Forms.Take(Norms.Forms.Count - 1))} or {Norms.Forms[^1]}",
        Set = (c, v) => c with { Norm = ParseNorm(v) },
        Write = (w, c) => w.WriteString("norm", c.EffectiveNorm),
    };

    public static readonly Opt NormAfter = Flag("--norm-after", "norm_after", OptGroup.Model, "put the normalisation after the activation", c => c.NormAfter, (c, v) => c with { NormAfter = v });

    public static readonly Opt WeightNorm = Text("--weight-norm", "weight_norm", "KIND", OptGroup.Model,
        "ws, ws-minmax, spectral, spectral-filter:RANK_OR_FRACTION or none", c => c.WeightNorm, (c, v) => c with { WeightNorm = ParseWeightNorm(v) });

    public static readonly Opt Dropout = Number("--dropout", "dropout", "P", OptGroup.Model, "dropout after each hidden activation (before the classifier of a residual net)",
        0, 0.99, false, c => c.Dropout, (c, v) => c with { Dropout = v });

    public static readonly Opt InputDropout = Number("--input-dropout", "input_dropout", "P", OptGroup.Model, "dropout on the input", 0, 0.99, false,
        c => c.InputDropout, (c, v) => c with { InputDropout = v });

    public static readonly Opt Noise = Number("--noise", "noise", "SIGMA", OptGroup.Model, "Gaussian noise on the input", 0, 100, false,
        c => c.Noise, (c, v) => c with { Noise = v });

    public static readonly Opt DropConnect = Number("--dropconnect", "dropconnect", "P", OptGroup.Model, "DropConnect on the hidden Linear layers", 0, 0.99, false,
        c => c.DropConnect, (c, v) => c with { DropConnect = v });

    public static readonly Opt DropoutMode = Text("--dropout-mode", "dropout_mode", "MODE", OptGroup.Model, "inverted or classic (the lecture's scaling at evaluation time)",
        c => c.DropoutMode, (c, v) => c with { DropoutMode = Choice("--dropout-mode", v, "inverted", "classic") }, choices: ["inverted", "classic"]);

    public static readonly Opt ZeroInitResidual = Flag("--zero-init-residual", "zero_init_residual", OptGroup.Model,
        "start each residual block as the identity (resnet only)", c => c.ZeroInitResidual, (c, v) => c with { ZeroInitResidual = v });

    public static readonly Opt Ensemble = Integer("--ensemble", "ensemble", "N", OptGroup.Model, "N models from N seeds, averaged", 1, 100,
        c => c.Ensemble, (c, v) => c with { Ensemble = v });

    // ---- the training --------------------------------------------------------------------------------------

    public static readonly Opt Optimizer = Text("--optimizer", "optimizer", "NAME", OptGroup.Training, string.Join(", ", Nabla.Optim.Optimizers.Names),
        c => c.Optimizer, (c, v) => c with { Optimizer = CliOptimizers.Of(v.Trim().ToLowerInvariant()).Name }, choices: [.. Nabla.Optim.Optimizers.Names]);

    public static readonly Opt Lr = OptionalNumber("--lr", "lr", "learning rate", "per optimizer, below", 0, 10, true,
        c => c.Lr, (c, v) => c with { Lr = v });

    public static readonly Opt Momentum = OptionalNumber("--momentum", "momentum", "momentum of sgd, momentum, nesterov and rmsprop",
        "per optimizer, below", 0, 0.9999, false, c => c.Momentum, (c, v) => c with { Momentum = v });

    public static readonly Opt WeightDecay = OptionalNumber("--weight-decay", "weight_decay", "L2 weight decay in the optimizer (decoupled in adamw)",
        "0; 0.01 for adamw", 0, 10, false, c => c.WeightDecay, (c, v) => c with { WeightDecay = v });

    public static readonly Opt Betas = new()
    {
        Name = "--betas", Value = "B1,B2", Group = OptGroup.Training, Json = "betas", Help = "Adam's and AdamW's β1, β2", Default = "0.9,0.999",
        Set = (c, v) => c with { Betas = ParseBetas(v) },
        Write = (w, c) =>
        {
            if (c.Betas is not { } b) return;
            w.WriteStartArray("betas");
            w.WriteNumberValue(b[0]);
            w.WriteNumberValue(b[1]);
            w.WriteEndArray();
        },
        FromJson = e => e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 2 && e.EnumerateArray().All(x => x.ValueKind == JsonValueKind.Number)
            ? string.Join(",", e.EnumerateArray().Select(x => x.GetRawText()))
            : throw new UsageException("expected [B1, B2]."),
    };

    public static readonly Opt Eps = OptionalNumber("--eps", "eps", "ε of rmsprop, adagrad, adam and adamw", "per optimizer, below", 0, 1, true,
        c => c.Eps, (c, v) => c with { Eps = v });

    public static readonly Opt Alpha = OptionalNumber("--alpha", "alpha", "RMSProp's smoothing constant (weight of the old average, PyTorch's name)",
        "0.9", 0, 0.9999, false, c => c.Alpha, (c, v) => c with { Alpha = v });

    public static readonly Opt BatchSize = Integer("--batch-size", "batch_size", "N", OptGroup.Training, "samples per step (1 = stochastic, all = full batch)",
        1, 1 << 20, c => c.BatchSize, (c, v) => c with { BatchSize = v });

    public static readonly Opt Epochs = Integer("--epochs", "epochs", "N", OptGroup.Training, "passes over the training data", 0, 100_000,
        c => c.Epochs, (c, v) => c with { Epochs = v });

    public static readonly Opt Shuffle = new()
    {
        Name = "--shuffle", Value = "true|false", Group = OptGroup.Training, Json = "shuffle", Default = "true",
        Help = "reshuffle every epoch; false also makes kfold, stratified-kfold and holdout schemes unshuffled",
        Set = (c, v) => c with { Shuffle = CliArgs.ParseBool("--shuffle", v) },
        Write = (w, c) => w.WriteBoolean("shuffle", c.Shuffle),
    };

    public static readonly Opt Validation = new()
    {
        Name = "--validation", Value = "holdout:F|none", Group = OptGroup.Training, Json = "validation", Default = "holdout:0.1",
        Help = "a stratified holdout of the training part, watched by early stopping",
        Set = (c, v) => c with { Validation = ParseValidation(v) },
        Write = (w, c) => w.WriteNumber("validation", c.Validation),
        FromJson = e => e.ValueKind == JsonValueKind.Number
            ? e.GetDouble() == 0 ? "none" : "holdout:" + e.GetRawText()
            : throw new UsageException("expected the holdout fraction (0 for none)."),
    };

    public static readonly Opt EarlyStopping = new()
    {
        Name = "--early-stopping", Value = "PATIENCE|none", Group = OptGroup.Training, Json = "early_stopping", Default = "5",
        Help = "stop after PATIENCE epochs without a better val_loss, restoring the best weights",
        Set = (c, v) => c with { EarlyStopping = v.Trim().ToLowerInvariant() is "none" or "off" ? 0 : CliArgs.ParseInt("--early-stopping", v, 0, 100_000) },
        Write = (w, c) => w.WriteNumber("early_stopping", c.EarlyStopping),
        FromJson = e => e.ValueKind == JsonValueKind.Number ? e.GetRawText() : throw new UsageException("expected the patience (0 for none)."),
    };

    public static readonly Opt StopWhenStable = Number("--stop-when-stable", "stop_when_stable", "TOL", OptGroup.Training,
        "stop when the relative weight change of an epoch falls below TOL (0 = off)", 0, 1, false, c => c.StopWhenStable, (c, v) => c with { StopWhenStable = v });

    public static readonly Opt LayerStats = Integer("--layer-stats", "layer_stats", "N", OptGroup.Training,
        "every N steps record each layer's gradient norm and output mean/deviation into metrics.json (0 = off)", 0, 1_000_000, c => c.LayerStats, (c, v) => c with { LayerStats = v });

    public static readonly Opt Schedule = Text("--schedule", "schedule", "KIND", OptGroup.Training, string.Join(", ", Nabla.Optim.Schedules.Registry.Select(s => s.Form)),
        c => c.Schedule, (c, v) => c with { Schedule = ParseSchedule(v) });

    public static readonly Opt Warmup = Integer("--warmup", "warmup", "EPOCHS", OptGroup.Training,
        "linear warm-up from lr/100 over the first EPOCHS (with cosine or none)", 0, 100_000, c => c.Warmup, (c, v) => c with { Warmup = v });

    public static readonly Opt Init = Text("--init", "init", "FILE", OptGroup.Training, "start from these weights (.safetensors, PyTorch key names)", c => c.Init,
        (c, v) => c with { Init = v.Length > 0 ? v : throw new UsageException("--init: the file name is empty.") }, shown: null);

    public static readonly Opt Seed = Integer("--seed", "seed", "N", OptGroup.Training, "seed of initialisation, shuffling, dropout and augmentation",
        int.MinValue, int.MaxValue, c => c.Seed, (c, v) => c with { Seed = v });

    public static readonly Opt Normalize = Flag("--normalize", "normalize", OptGroup.Training, "standardise the inputs with the training part's statistics",
        c => c.Normalize, (c, v) => c with { Normalize = v });

    public static readonly Opt L1 = Number("--l1", "l1", "X", OptGroup.Training, "λ1·Σ|w| added to the loss", 0, 10, false, c => c.L1, (c, v) => c with { L1 = v });

    public static readonly Opt L2 = Number("--l2", "l2", "X", OptGroup.Training, "λ2·Σw² added to the loss", 0, 10, false, c => c.L2, (c, v) => c with { L2 = v });

    public static readonly Opt WeightNoise = Number("--weight-noise", "weight_noise", "SIGMA", OptGroup.Training, "noise on the weights each step", 0, 10, false,
        c => c.WeightNoise, (c, v) => c with { WeightNoise = v });

    public static readonly Opt Augment = new()
    {
        Name = "--augment", Value = "SPEC|none", Group = OptGroup.Training, Json = "augment",
        Help = "image augmentation, e.g. \"hflip,rotate:15,crop:4,erase:0.5,mixup:0.2\" (nabla augment --help lists the names)",
        Default = "none; hflip,crop:2 for resnet/plain on Fashion-MNIST",
        Set = (c, v) => c with { Augment = ParseAugment(v) },
        // The augmentation used, or "none" where the default would have given one: a resumed run reads back the same.
        Write = (w, c) =>
        {
            if (c.EffectiveAugment is { } a) w.WriteString("augment", a);
            else if (c.Augment == "none") w.WriteString("augment", "none");
        },
    };

    public static readonly Opt Adversarial = Number("--adversarial", "adversarial", "EPSILON", OptGroup.Training, "train on FGSM examples of this size",
        0, 1, false, c => c.Adversarial, (c, v) => c with { Adversarial = v });

    public static readonly Opt LabelSmoothing = Number("--label-smoothing", "label_smoothing", "EPSILON", OptGroup.Training,
        "cross-entropy against (1 − ε)·one-hot + ε/classes", 0, 0.99, false, c => c.LabelSmoothing, (c, v) => c with { LabelSmoothing = v });

    public static readonly Opt ClassWeights = Text("--class-weights", "class_weights", "none|balanced|W1,W2,…", OptGroup.Training,
        "per-class weights of the cross-entropy (balanced: n / (classes · count), as scikit-learn)", c => c.ClassWeights,
        (c, v) => c with { ClassWeights = ParseClassWeights(v) });

    public static readonly Opt ClipGrad = Number("--clip-grad", "clip_grad", "MAX_NORM", OptGroup.Training,
        "rescale the gradients to at most this global L2 norm each step (0 = off)", 0, 1e6, false, c => c.ClipGrad, (c, v) => c with { ClipGrad = v });

    // ---- how it runs ---------------------------------------------------------------------------------------

    public static readonly Opt Threads = Integer("--threads", "threads", "N", OptGroup.Run, "threads of the parallel kernels", 1, 1024,
        c => c.Threads, (c, v) => c with { Threads = v }, shown: "all cores");

    public static readonly Opt Out = new() { Name = "--out", Value = "DIR", Group = OptGroup.Run, Help = "where the results go", Default = "runs/<timestamp>" };
    public static readonly Opt TensorBoard = new()
    {
        Name = "--tensorboard", Value = "DIR", Group = OptGroup.Run,
        Help = "also write TensorBoard event files into DIR: the loss per step, the epoch's values, weight and gradient histograms per epoch, the curve and confusion images",
    };
    public static readonly Opt Resume = new() { Name = "--resume", Value = "DIR", Group = OptGroup.Run, Help = "continue the interrupted run in DIR with its own settings" };
    public static readonly Opt Overwrite = new() { Name = "--overwrite", Group = OptGroup.Run, Help = "replace the files of an earlier run in --out (deleted first)" };
    public static readonly Opt Json = new() { Name = "--json", Group = OptGroup.Run, Help = "print the results as one line of JSON on stdout (progress goes to stderr)" };
    public static readonly Opt Config = new() { Name = "--config", Value = "FILE", Group = OptGroup.Run, Help = "start from a run's config.json (options given here override it)" };

    /// <summary>Every run setting, in config.json's order.</summary>
    public static readonly Opt[] All =
    [
        Data, Label, Task, Test, Model, Activation, Optimizer, Lr, Momentum, WeightDecay, Betas, Eps, Alpha, BatchSize, Epochs, Shuffle, Validation,
        EarlyStopping, StopWhenStable, LayerStats, Schedule, Warmup, Init, Seed, Threads, Normalize, Dropout, InputDropout, Noise, DropConnect, DropoutMode,
        L1, L2, WeightNoise, Ensemble, Norm, NormAfter, WeightNorm, ZeroInitResidual, ImageSize, Grayscale, Augment, Adversarial, LabelSmoothing,
        ClassWeights, ClipGrad,
    ];

    public static readonly Opt[] DataOptions = [Data, Label, Task, Test, ImageSize, Grayscale];

    /// <summary>What shapes a model besides its spec: train, validate, search, evaluate and summary all take these.</summary>
    public static readonly Opt[] ModelShapeOptions = [Activation, Norm, NormAfter, WeightNorm, Dropout, InputDropout, Noise, DropConnect, DropoutMode, ZeroInitResidual];

    public static readonly Opt[] TrainingOptions =
    [
        Optimizer, Lr, Momentum, WeightDecay, Betas, Eps, Alpha, BatchSize, Epochs, Shuffle, Validation, EarlyStopping, StopWhenStable, Schedule,
        Warmup, Init, Seed, Normalize, L1, L2, WeightNoise, Augment, Adversarial, LabelSmoothing, ClassWeights, ClipGrad, Ensemble,
    ];

    /// <summary>The option config.json records under <paramref name="key"/>.</summary>
    public static Opt? ByJson(string key) => All.FirstOrDefault(o => o.Json == key);

    /// <summary>The settings from the options given, on top of <paramref name="start"/>, checked together.</summary>
    public static RunConfig Apply(RunConfig start, CliArgs a)
    {
        var c = start;
        foreach (var o in a.Given)
            if (o.Set is not null) c = o.Set(c, a.String(o.Name)!);
        return Check(c, a.Given.Select(o => o.Name).ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>
    /// Refuses settings that cannot work together, whatever the data (those that depend on it are checked when it is
    /// loaded). <paramref name="given"/> holds the options named on the command line, or null for a config file.
    /// </summary>
    public static RunConfig Check(RunConfig c, IReadOnlySet<string>? given)
    {
        var o = c.OptimizerDefaults;
        if (c.Momentum is > 0 && !o.TakesMomentum) throw new UsageException($"--momentum: {c.Optimizer} has no momentum{(o.TakesBetas ? " (its β1 is --betas)" : "")}.");
        if (c.Betas is not null && !o.TakesBetas) throw new UsageException($"--betas: only adam and adamw take betas, not {c.Optimizer}.");
        if (c.Eps is not null && !o.TakesEps) throw new UsageException($"--eps: {c.Optimizer} has no ε.");
        if (c.Alpha is not null && !o.TakesAlpha) throw new UsageException($"--alpha: only rmsprop takes alpha, not {c.Optimizer}.");
        if (c.Optimizer == "nesterov" && c.Momentum is 0) throw new UsageException("--momentum: Nesterov momentum needs a momentum above 0.");
        if (c.Warmup > 0)
        {
            if (Nabla.Optim.Schedules.Find(c.Schedule) is { TakesWarmup: false })
                throw new UsageException($"--warmup: the {c.Schedule.Split(':')[0]} schedule takes no warm-up ({string.Join(" and ", Nabla.Optim.Schedules.Registry.Where(s => s.TakesWarmup).Select(s => s.Name))} do{(c.Schedule == "onecycle" ? "; onecycle warms up by itself" : "")}).");
            if (c.Warmup >= c.Epochs && c.Epochs > 0) throw new UsageException($"--warmup: {c.Warmup} warm-up epochs leave nothing of the {c.Epochs} epochs.");
        }
        if (given is not null && given.Contains("--early-stopping") && c.EarlyStopping > 0 && c.Validation == 0)
            throw new UsageException("--early-stopping: it watches the validation holdout, and --validation is none.");
        if (c.IsResidual)
        {
            foreach (var (value, name) in new[] { (c.Noise, "--noise"), (c.InputDropout, "--input-dropout"), (c.DropConnect, "--dropconnect") })
                if (value > 0) throw new UsageException($"{name}: {c.Model} takes no {name[2..]}; residual nets take --activation, --norm, --dropout and --weight-norm.");
            if (c.NormAfter) throw new UsageException($"--norm-after: {c.Model} keeps the normalisation before the activation.");
        }
        else
        {
            if (c.ZeroInitResidual) throw new UsageException($"--zero-init-residual: {c.Model} has no residual blocks.");
            if (c.Model.Trim().StartsWith("mlp", StringComparison.OrdinalIgnoreCase) && c.Norm is "instance" or "switch")
                throw new UsageException($"--norm: {c.Norm} normalisation needs feature maps (N, C, H, W); use it with cnn or resnet.");
        }
        if (c.DropConnect > 0 && c.WeightNorm != "none")
            throw new UsageException("--dropconnect and --weight-norm cannot wrap the same layers; choose one.");
        if (c.Task == "regression")
        {
            if (c.LabelSmoothing > 0) throw new UsageException("--label-smoothing: regression has no labels to smooth.");
            if (c.ClassWeights != "none") throw new UsageException("--class-weights: regression has no classes.");
            if (c.EffectiveAugment is { } aug && Nabla.Data.Transforms.Augmentation.Parse(aug, new Nabla.Generative.NeuralAugmentations()).PerBatch is not null)
                throw new UsageException("--augment: mixup and cutmix mix class labels; regression has none.");
        }
        return c;
    }

    // ---- value parsers -------------------------------------------------------------------------------------

    private static string ParseTest(string v)
    {
        string t = v.Trim();
        if (t.Length == 0) throw new UsageException("--test: expected a fraction, none or a file.");
        if (t.Equals("none", StringComparison.OrdinalIgnoreCase)) return "none";
        if (t.Equals("default", StringComparison.OrdinalIgnoreCase)) return "default";
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            return CliArgs.ParseDouble("--test", t, 0, 0.9, exclusiveMin: true).ToString("R", CultureInfo.InvariantCulture);
        return t;
    }

    /// <summary>The deepest residual or plain net the CLI builds.</summary>
    public const int MaxDepth = 12_002;

    private static string ParseModel(string name, string v)
    {
        try
        {
            var (kind, args) = Models.ParseSpec(v);
            if (kind is not ("mlp" or "cnn" or "resnet" or "plain"))
                throw new UsageException($"{name}: Unknown model '{CliArgs.Clip(kind)}' in spec '{CliArgs.Clip(v)}'; expected e.g. 'mlp:256,128', 'cnn:32,64', 'resnet:20' or 'plain:20'.");
            if (kind is "resnet" or "plain" && (args.Length != 1 || args[0] < 8 || (args[0] - 2) % 6 != 0))
                throw new UsageException($"{name}: {kind} takes a depth 6n + 2, e.g. '{kind}:20' or '{kind}:56'.");
            // Ten times He et al.'s deepest (1202): beyond it even listing the layers would exhaust the memory.
            if (kind is "resnet" or "plain" && args[0] > MaxDepth)
                throw new UsageException($"{name}: {kind}:{args[0]} is deeper than the {MaxDepth} layers nabla builds.");
            if (kind == "cnn" && args.Length is not (0 or 2)) throw new UsageException($"{name}: cnn takes two channel counts, e.g. 'cnn:32,64'.");
            return v.Trim();
        }
        catch (FormatException e)
        {
            throw new UsageException($"{name}: {e.Message}");
        }
    }

    private static string ParseActivation(string v)
    {
        string a = v.Trim().ToLowerInvariant();
        if (Activations.Find(a) is null)
            throw new UsageException($"--activation: '{CliArgs.Clip(v)}' is not one of {string.Join(", ", Activations.Names)}.");
        return a;
    }

    private static string ParseNorm(string v)
    {
        string n = v.Trim().ToLowerInvariant();
        if (n.StartsWith("group:", StringComparison.Ordinal))
        {
            CliArgs.ParseInt("--norm group", n[6..], 1, 4096);
            return n;
        }
        try
        {
            return Norms.Get(n).Name;
        }
        catch (FormatException)
        {
            var forms = Norms.Forms;
            throw new UsageException($"--norm: '{CliArgs.Clip(v)}' is not {string.Join(", ", forms.Take(forms.Count - 1))} or {forms[^1]}.");
        }
    }

    private static string ParseWeightNorm(string v)
    {
        string w = v.Trim().ToLowerInvariant();
        if (w is "none" or "ws" or "ws-minmax" or "spectral") return w;
        if (w.StartsWith("spectral-filter:", StringComparison.Ordinal))
        {
            SpectralFilterSetting(w);
            return w;
        }
        throw new UsageException($"--weight-norm: '{CliArgs.Clip(v)}' is not ws, ws-minmax, spectral, spectral-filter:RANK_OR_FRACTION or none.");
    }

    /// <summary>spectral-filter:K keeps K singular values; spectral-filter:0.9 keeps 90% of the energy.</summary>
    public static (int? Rank, double? Energy) SpectralFilterSetting(string w)
    {
        string v = w["spectral-filter:".Length..];
        if (int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int rank) && rank >= 1) return (rank, null);
        return (null, CliArgs.ParseDouble("--weight-norm spectral-filter", v, 0, 1, exclusiveMin: true));
    }

    private static double[] ParseBetas(string v)
    {
        var parts = v.Split(',');
        if (parts.Length != 2) throw new UsageException($"--betas: '{CliArgs.Clip(v)}' is not B1,B2 (e.g. 0.9,0.999).");
        var b = parts.Select(p => CliArgs.ParseDouble("--betas", p.Trim(), 0, 1)).ToArray();
        if (b.Any(x => x >= 1)) throw new UsageException($"--betas: {CliArgs.Clip(v)}: each β must be in [0, 1).");
        return b;
    }

    private static double ParseValidation(string v)
    {
        string s = v.Trim().ToLowerInvariant();
        return s switch
        {
            "none" => 0,
            "holdout" => 0.1,
            _ when s.StartsWith("holdout:", StringComparison.Ordinal) => CliArgs.ParseDouble("--validation", s[8..], 0, 0.9, exclusiveMin: true),
            _ => throw new UsageException($"--validation: '{CliArgs.Clip(v)}' is not holdout:FRACTION or none."),
        };
    }

    public static string ParseSchedule(string v)
    {
        string s = v.Trim().ToLowerInvariant();
        var parts = s.Split(':');
        var forms = Nabla.Optim.Schedules.Registry.Select(r => r.Form).ToArray();
        if (Nabla.Optim.Schedules.Find(s) is not { } info || info.Form.Split(':').Length != parts.Length)
            throw new UsageException($"--schedule: '{CliArgs.Clip(v)}' is not {string.Join(", ", forms[..^1])} or {forms[^1]}.");
        switch (parts[0])
        {
            case "step":
                CliArgs.ParseInt("--schedule step size", parts[1], 1, 100_000);
                CliArgs.ParseDouble("--schedule gamma", parts[2], 0, 1, exclusiveMin: true);
                return s;
            case "plateau":
                CliArgs.ParseInt("--schedule plateau patience", parts[1], 0, 100_000);
                return s;
            default:
                return s;   // no arguments, or none the CLI bounds
        }
    }

    private static string? ParseAugment(string spec)
    {
        if (spec.Trim().Equals("none", StringComparison.OrdinalIgnoreCase)) return "none";
        try
        {
            Nabla.Data.Transforms.Augmentation.Parse(spec, new Nabla.Generative.NeuralAugmentations());
            return spec.Trim();
        }
        catch (FormatException e)
        {
            throw new UsageException($"--augment: {CliArgs.Clip(e.Message, 300)}");
        }
    }

    private static string ParseClassWeights(string v)
    {
        string s = v.Trim().ToLowerInvariant();
        if (s is "none" or "balanced") return s;
        var w = s.Split(',').Select(p => CliArgs.ParseDouble("--class-weights", p.Trim(), 0, 1e6)).ToArray();
        if (w.All(x => x == 0)) throw new UsageException("--class-weights: every weight is 0.");
        return string.Join(",", w.Select(x => x.ToString("R", CultureInfo.InvariantCulture)));
    }
}
