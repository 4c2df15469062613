using System.Diagnostics;
using System.Globalization;
using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary><c>nabla train</c>: data → model → training with progress → model, metrics, plots.</summary>
internal static class TrainCommand
{
    internal static readonly HashSet<string> ValueOptions =
    [
        "--data", "--label", "--task", "--model", "--activation", "--optimizer", "--lr", "--momentum", "--weight-decay",
        "--batch-size", "--epochs", "--shuffle", "--validation", "--early-stopping", "--stop-when-stable", "--schedule",
        "--init", "--seed", "--threads", "--out", "--resume", "--dropout", "--input-dropout", "--noise", "--dropconnect", "--ensemble",
        "--dropout-mode", "--l1", "--l2", "--weight-noise", "--norm", "--weight-norm", "--image-size", "--augment", "--adversarial",
    ];

    internal static readonly HashSet<string> FlagOptions = ["--json", "--normalize", "--norm-after", "--grayscale"];

    public const string Help = """
        nabla train — train a model and write its weights, metrics and plots

        Usage:
          nabla train [--data embedded|fashion-mnist|DIR|FILE.csv] [--label COL] [--task classification|regression]
                      [--model mlp:256,128] [--activation relu] [--optimizer sgd|momentum|nesterov|rmsprop|adagrad|adam|adamw]
                      [--lr X] [--momentum X] [--weight-decay X] [--batch-size N] [--epochs N] [--shuffle true|false]
                      [--validation holdout:FRACTION|none] [--early-stopping PATIENCE|none] [--stop-when-stable TOL]
                      [--schedule cosine|step:EPOCHS:GAMMA|plateau:PATIENCE|onecycle|none] [--init FILE.safetensors]
                      [--dropout P] [--input-dropout P] [--noise SIGMA] [--dropconnect P] [--dropout-mode inverted|classic]
                      [--l1 X] [--l2 X] [--weight-noise SIGMA] [--ensemble N]
                      [--norm batch|layer|instance|group:G|switch|none] [--norm-after]
                      [--weight-norm ws|ws-minmax|spectral|spectral-filter:RANK_OR_FRACTION|none]
                      [--augment "hflip,rotate:15,crop:4,erase:0.5,mixup:0.2"|none] [--adversarial EPSILON]
                      [--image-size N] [--grayscale]   (for --data DIR of class sub-folders with PNG/JPEG images)
                      [--normalize] [--seed N] [--threads N] [--out DIR] [--resume DIR] [--json]

        Defaults: embedded Fashion-MNIST subset, mlp:256,128 with ReLU, Adam lr 1e-3, batch 128, 20 epochs,
        cosine schedule, 10% stratified validation holdout, early stopping after 5 epochs without a better
        val_loss (best weights restored), seed 0, all cores. --out defaults to runs/<timestamp>. resnet:N and plain:N
        on Fashion-MNIST train with --augment "hflip,crop:2" unless told otherwise (--augment none turns it off).

        Against co-adaptation: --dropout after each hidden activation, --input-dropout and --noise on the input,
        --dropconnect on the hidden Linear layers (docs/models.md shows the layouts and key names), --l1/--l2
        penalties, --weight-noise perturbing the weights each step, --ensemble N models from N seeds averaged.

        Writes model.safetensors (PyTorch key names), metrics.json, curves.png, confusion.png, config.json and a
        resumable checkpoint.safetensors into --out. --resume DIR continues an interrupted run from DIR.
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool interactive)
    {
        var a = new CliArgs(args, ValueOptions, FlagOptions);
        bool json = a.Flag("--json");
        string? resumeDir = a.String("--resume");
        RunConfig config;
        string outDir;
        if (resumeDir is not null)
        {
            foreach (var opt in ValueOptions.Concat(FlagOptions))
                if (a.Has(opt) && opt is not ("--resume" or "--json" or "--threads"))
                    throw new UsageException($"--resume takes the settings saved in {resumeDir}/config.json; {opt} cannot change them.");
            string cfg = Path.Combine(resumeDir, "config.json");
            if (!File.Exists(cfg) || !File.Exists(Path.Combine(resumeDir, "checkpoint.safetensors")))
                throw new UsageException($"--resume: {resumeDir} has no config.json and checkpoint.safetensors from an earlier 'nabla train'.");
            config = RunConfig.Load(cfg) with { Threads = a.Int("--threads", Environment.ProcessorCount, 1, 1024) };
            outDir = resumeDir;
        }
        else
        {
            config = Resolve(a);
            outDir = a.String("--out") ?? Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        }
        Threads.Count = config.Threads;
        if (config.Ensemble > 1)
        {
            if (resumeDir is not null) throw new UsageException("--resume continues a single model; rerun the ensemble instead.");
            return RunEnsemble(config, outDir, stdout, stderr, interactive, json);
        }
        return Execute(config, outDir, resumeDir, stdout, stderr, interactive, json).Code;
    }

    private sealed record Outcome(int Code, Module? Model, TensorDataset? Test, Evaluation? TestEval, string Description);

    private static int RunEnsemble(RunConfig config, string outDir, TextWriter stdout, TextWriter stderr, bool interactive, bool json)
    {
        var log = json ? stderr : stdout;
        var members = new List<Module>();
        var memberEvals = new List<Evaluation>();
        Outcome? last = null;
        for (int i = 0; i < config.Ensemble; i++)
        {
            log.WriteLine($"ensemble member {i + 1}/{config.Ensemble} (seed {config.Seed + i})");
            last = Execute(config with { Seed = config.Seed + i, Ensemble = 1 }, Path.Combine(outDir, $"member-{i}"), null, TextWriter.Null, log, interactive, json: true);
            if (last.Code != 0) return last.Code;
            members.Add(last.Model!);
            memberEvals.Add(last.TestEval!);
        }
        var task = config.Task == "regression" ? TaskKind.Regression : TaskKind.Classification;
        var ensemble = new Ensemble(members, task == TaskKind.Classification ? EnsembleMode.Probabilities : EnsembleMode.Mean);
        Loss loss = task == TaskKind.Classification ? new CrossEntropyLoss() : new MSELoss();
        var test = last!.Test!;
        var eval = new Trainer().Evaluate(ensemble, loss, test);
        Directory.CreateDirectory(outDir);
        Reports.WriteJson(Path.Combine(outDir, "config.json"), w => config.Write(w));
        ensemble.Save(Path.Combine(outDir, "model.safetensors"));
        string metric = task == TaskKind.Classification ? "accuracy" : "r2";
        var metricsPath = Path.Combine(outDir, "metrics.json");
        Reports.WriteJson(metricsPath, w =>
        {
            w.WriteStartObject();
            w.WriteString("nabla", Program.Version);
            w.WriteString("command", "train");
            w.WritePropertyName("config");
            config.Write(w);
            w.WriteNumber("members", members.Count);
            w.WriteStartArray("member_test");
            foreach (var m in memberEvals) w.WriteNumberValue(m.Metrics[metric]);
            w.WriteEndArray();
            w.WriteStartObject("test");
            Reports.WriteNumber(w, "loss", eval.Loss);
            foreach (var (k, v) in eval.Metrics) Reports.WriteNumber(w, k, v);
            w.WriteEndObject();
            w.WriteEndObject();
        });
        if (eval.Confusion is not null) Plots.SaveConfusion(eval.Confusion, test.ClassNames, Path.Combine(outDir, "confusion.png"));
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ensemble of {members.Count}: test {metric} {eval.Metrics[metric]:F4}; members {string.Join(", ", memberEvals.Select(m => m.Metrics[metric].ToString("F4", CultureInfo.InvariantCulture)))} (mean {memberEvals.Average(m => m.Metrics[metric]):F4})"));
        log.WriteLine($"Saved {Path.Combine(outDir, "model.safetensors")} (keys 0.*, 1.*, … one per member) and metrics.json.");
        if (json) stdout.WriteLine(File.ReadAllText(metricsPath).ReplaceLineEndings("").Replace("  ", "", StringComparison.Ordinal));
        return 0;
    }

    private static Outcome Execute(RunConfig config, string outDir, string? resumeDir, TextWriter stdout, TextWriter stderr, bool interactive, bool json)
    {
        var log = json ? stderr : stdout;

        // Everything that can be wrong with the input is checked before anything is written.
        var task = config.Task == "regression" ? TaskKind.Regression : TaskKind.Classification;
        var (trainAll, test, description) = DataSources.Load(config.Data, config.Label, task, config.Seed, config.ImageSize, config.Grayscale);
        if (config.Normalize && config.NormMean is null)
        {
            var (mean, std) = NormalizationStats(trainAll);
            config = config with { NormMean = mean, NormStd = std };
        }
        if (config.NormMean is not null)
        {
            trainAll = Normalize(trainAll, config);
            test = Normalize(test, config);
        }
        var (train, validation) = config.Validation > 0 ? DataSources.Holdout(trainAll, config.Validation, config.Seed) : (trainAll, (TensorDataset?)null);
        var model = BuildModel(config, train);
        if (config.Init is not null && resumeDir is null) LoadWeights(model, config.Init);
        var optimizer = BuildOptimizer(config, model);
        var trainerBatches = (train.Count + config.BatchSize - 1) / config.BatchSize;
        var (scheduler, plateau) = BuildSchedule(config, optimizer, trainerBatches);
        Loss loss = task == TaskKind.Classification ? new CrossEntropyLoss() : new MSELoss();

        Directory.CreateDirectory(outDir);
        Reports.WriteJson(Path.Combine(outDir, "config.json"), w => config.Write(w));
        string checkpoint = Path.Combine(outDir, "checkpoint.safetensors");
        var callbacks = new List<Callback>();
        EarlyStopping? early = null;
        if (validation is not null && config.EarlyStopping > 0)
            callbacks.Add(early = new EarlyStopping("val_loss", patience: config.EarlyStopping, restoreBestWeights: true));
        if (config.StopWhenStable > 0) callbacks.Add(new WeightStabilization(config.StopWhenStable));
        if (config.WeightNorm.StartsWith("spectral-filter:", StringComparison.Ordinal))
        {
            var (rank, energy) = SpectralFilterSetting(config.WeightNorm);
            callbacks.Add(new SpectralFilterCallback(trainerBatches, rank, energy)); // once per epoch
        }
        callbacks.Add(new ModelCheckpoint(outDir, validation is not null ? "val_loss" : "loss"));

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        var trainer = new Trainer(new TrainerOptions
        {
            BatchSize = config.BatchSize, Shuffle = config.Shuffle, Seed = config.Seed, Scheduler = scheduler, Plateau = plateau,
            PlateauMonitor = validation is not null ? "val_loss" : "loss", CheckpointPath = checkpoint, Cancellation = cancel.Token,
            L1 = config.L1, L2 = config.L2, WeightNoise = config.WeightNoise,
            Transform = AugmentTransform(config, train.NumClasses), AdversarialEpsilon = config.Adversarial,
        });

        log.WriteLine($"nabla {Program.Version}: {description}: train {train.Count}, validation {validation?.Count ?? 0}, test {test.Count}; {Threads.Count} threads");
        log.WriteLine($"model {config.Describe()}; {model.ParameterCount:N0} parameters; writing to {outDir}");
        var clock = Stopwatch.StartNew();
        History history;
        try
        {
            history = RunWithProgress(interactive && !json, log, task == TaskKind.Classification, progress =>
            {
                callbacks.Add(progress);
                return resumeDir is null
                    ? trainer.Fit(model, loss, optimizer, train, validation, config.Epochs, callbacks)
                    : trainer.Resume(checkpoint, model, loss, optimizer, train, validation, config.Epochs, callbacks);
            });
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        double seconds = clock.Elapsed.TotalSeconds;
        if (history.StopReason is not null) log.WriteLine(history.StopReason);
        if (history.Cancelled)
        {
            log.WriteLine($"Interrupted. The weights so far are in {Path.Combine(outDir, "last.safetensors")}; continue with: nabla train --resume {outDir}");
            return new Outcome(130, null, null, null, description);
        }
        if (history.Diverged) return new Outcome(1, null, null, null, description);

        var testEval = trainer.Evaluate(model, loss, test);
        model.Save(Path.Combine(outDir, "model.safetensors"));
        var metricsPath = Path.Combine(outDir, "metrics.json");
        var report = new RunReport(config, description, train.Count, validation?.Count ?? 0, test, history, testEval, seconds, early?.BestEpoch);
        Reports.WriteJson(metricsPath, report.Write);
        Plots.SaveCurves(history, Path.Combine(outDir, "curves.png"), task == TaskKind.Classification);
        if (testEval.Confusion is not null) Plots.SaveConfusion(testEval.Confusion, test.ClassNames, Path.Combine(outDir, "confusion.png"));
        Reports.PrintSummary(log, interactive && !json, history, testEval, task == TaskKind.Classification, seconds);
        log.WriteLine($"Saved {Path.Combine(outDir, "model.safetensors")}, metrics.json, curves.png{(testEval.Confusion is not null ? ", confusion.png" : "")}.");
        if (json) stdout.WriteLine(File.ReadAllText(metricsPath).ReplaceLineEndings("").Replace("  ", "", StringComparison.Ordinal));
        return new Outcome(0, model, test, testEval, description);
    }

    private static History RunWithProgress(bool interactive, TextWriter log, bool classification, Func<Callback, History> run)
    {
        if (!interactive) return run(new ProgressReporter(log, null, classification));
        History? result = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx => result = run(new ProgressReporter(log, ctx, classification)));
        return result!;
    }

    internal static RunConfig Resolve(CliArgs a)
    {
        string optimizer = a.String("--optimizer", "adam").ToLowerInvariant();
        if (!RunConfig.Optimizers.Contains(optimizer))
            throw new UsageException($"--optimizer: '{optimizer}' is not one of {string.Join(", ", RunConfig.Optimizers)}.");
        string task = a.String("--task", "classification").ToLowerInvariant();
        if (task is not ("classification" or "regression")) throw new UsageException($"--task: '{task}' is not classification or regression.");
        string activation = a.String("--activation", "relu").ToLowerInvariant();
        if (!Activations.Names.Contains(activation) && activation is not ("leakyrelu" or "swish" or "linear" or "none"))
            throw new UsageException($"--activation: '{activation}' is not one of {string.Join(", ", Activations.Names)}.");
        string model = a.String("--model", "mlp:256,128");
        try
        {
            Models.ParseSpec(model);
        }
        catch (FormatException e)
        {
            throw new UsageException($"--model: {e.Message}");
        }
        string validation = a.String("--validation", "holdout:0.1").ToLowerInvariant();
        double holdout = validation switch
        {
            "none" => 0,
            _ when validation.StartsWith("holdout:", StringComparison.Ordinal) => CliArgs.ParseDouble("--validation", validation[8..], 0, 0.9, exclusiveMin: true),
            "holdout" => 0.1,
            _ => throw new UsageException($"--validation: '{validation}' is not holdout:FRACTION or none."),
        };
        string es = a.String("--early-stopping", "5").ToLowerInvariant();
        int patience = es is "none" or "off" ? 0 : a.Int("--early-stopping", 5, 0, 100000);
        string schedule = a.String("--schedule", "cosine").ToLowerInvariant();
        ValidateSchedule(schedule);
        string? init = a.String("--init");
        if (init is not null && !File.Exists(init)) throw new UsageException($"--init: file '{init}' does not exist.");
        return new RunConfig
        {
            Data = a.String("--data", "embedded"),
            Label = a.String("--label"),
            Task = task,
            Model = model,
            Activation = activation,
            Optimizer = optimizer,
            Lr = a.Double("--lr", RunConfig.DefaultLr(optimizer), 0, 10, exclusiveMin: true),
            Momentum = a.Double("--momentum", optimizer is "momentum" or "nesterov" ? 0.9 : 0, 0, 0.9999),
            WeightDecay = a.Double("--weight-decay", 0, 0, 10),
            BatchSize = a.Int("--batch-size", 128, 1, 1 << 20),
            Epochs = a.Int("--epochs", 20, 0, 100000),
            Shuffle = a.Bool("--shuffle", true),
            Validation = holdout,
            EarlyStopping = patience,
            StopWhenStable = a.Double("--stop-when-stable", 0, 0, 1),
            Schedule = schedule,
            Init = init,
            Seed = a.Int("--seed", 0),
            Threads = a.Int("--threads", Environment.ProcessorCount, 1, 1024),
            Normalize = a.Flag("--normalize"),
            Dropout = a.Double("--dropout", 0, 0, 0.99),
            InputDropout = a.Double("--input-dropout", 0, 0, 0.99),
            Noise = a.Double("--noise", 0, 0, 100),
            DropConnect = a.Double("--dropconnect", 0, 0, 0.99),
            DropoutMode = a.String("--dropout-mode", "inverted").ToLowerInvariant() is var m && m is "inverted" or "classic"
                ? m : throw new UsageException($"--dropout-mode: '{m}' is not inverted or classic."),
            L1 = a.Double("--l1", 0, 0, 10),
            L2 = a.Double("--l2", 0, 0, 10),
            WeightNoise = a.Double("--weight-noise", 0, 0, 10),
            Ensemble = a.Int("--ensemble", 1, 1, 100),
            Norm = a.String("--norm", "none").ToLowerInvariant(),
            NormAfter = a.Flag("--norm-after"),
            WeightNorm = ValidateWeightNorm(a.String("--weight-norm", "none").ToLowerInvariant()),
            ImageSize = a.Int("--image-size", 32, 4, 1024),
            Grayscale = a.Flag("--grayscale"),
            Augment = ValidateAugment(a.String("--augment")),
            Adversarial = a.Double("--adversarial", 0, 0, 1),
        };
    }

    /// <summary>
    /// The augmentation a run gets when --augment is not given: resnet:/plain: are He et al.'s CIFAR nets and train on
    /// Fashion-MNIST (embedded or full) with their recipe's flips and small shifts (without them resnet:20 overfits by
    /// epoch 7); other models, and any other data (where a flip may change the label: digits, text), get none.
    /// </summary>
    internal static string? DefaultAugment(string model, string data) =>
        (model.StartsWith("resnet:", StringComparison.OrdinalIgnoreCase) || model.StartsWith("plain:", StringComparison.OrdinalIgnoreCase))
        && data.ToLowerInvariant() is "embedded" or "fashion-mnist"
            ? ResNetAugment : null;

    /// <summary>Random horizontal flip and ±2-pixel shifts: He et al.'s CIFAR augmentation scaled to 28×28 images.</summary>
    internal const string ResNetAugment = "hflip,crop:2";

    private static string? ValidateAugment(string? spec)
    {
        if (spec is null) return null;
        if (spec.Equals("none", StringComparison.OrdinalIgnoreCase)) return "none";
        try
        {
            Data.Transforms.Augmentation.Parse(spec);
            return spec;
        }
        catch (FormatException e)
        {
            throw new UsageException($"--augment: {e.Message}");
        }
    }

    /// <summary>The loader transform of an --augment spec, or null.</summary>
    internal static Func<Batch, Generator, Batch>? AugmentTransform(RunConfig c, int classes) =>
        c.EffectiveAugment is not { } spec ? null : Data.Transforms.Augmentation.Parse(spec).AsLoaderTransform(classes);

    private static string ValidateWeightNorm(string w)
    {
        if (w is "none" or "ws" or "ws-minmax" or "spectral") return w;
        if (w.StartsWith("spectral-filter:", StringComparison.Ordinal))
        {
            SpectralFilterSetting(w);
            return w;
        }
        throw new UsageException($"--weight-norm: '{w}' is not ws, ws-minmax, spectral, spectral-filter:RANK_OR_FRACTION or none.");
    }

    /// <summary>spectral-filter:K keeps K singular values; spectral-filter:0.9 keeps 90% of the energy.</summary>
    internal static (int? Rank, double? Energy) SpectralFilterSetting(string w)
    {
        string v = w["spectral-filter:".Length..];
        if (int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int rank) && rank >= 1) return (rank, null);
        return (null, CliArgs.ParseDouble("--weight-norm spectral-filter", v, 0, 1, exclusiveMin: true));
    }

    internal static void ValidateSchedule(string s)
    {
        var parts = s.Split(':');
        switch (parts[0])
        {
            case "cosine" or "none" or "onecycle" when parts.Length == 1: return;
            case "step" when parts.Length == 3:
                if (!int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int e) || e < 1)
                    throw new UsageException($"--schedule: step size '{parts[1]}' must be a whole number of epochs ≥ 1.");
                CliArgs.ParseDouble("--schedule gamma", parts[2], 0, 1, exclusiveMin: true);
                return;
            case "plateau" when parts.Length == 2:
                if (!int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int p) || p < 0)
                    throw new UsageException($"--schedule: plateau patience '{parts[1]}' must be a whole number ≥ 0.");
                return;
            default:
                throw new UsageException($"--schedule: '{s}' is not cosine, step:EPOCHS:GAMMA, plateau:PATIENCE, onecycle or none.");
        }
    }

    internal static Module BuildModel(RunConfig config, TensorDataset data)
    {
        int inputs = data.SampleShape.Aggregate(1, (p, v) => p * v);
        try
        {
            var options = new ModelOptions((float)config.Dropout, (float)config.InputDropout, (float)config.Noise, (float)config.DropConnect,
                config.DropoutMode == "classic" ? DropoutMode.Classic : DropoutMode.Inverted, config.Norm, config.NormAfter,
                config.WeightNorm.StartsWith("spectral-filter", StringComparison.Ordinal) ? "none" : config.WeightNorm);
            var generator = new Generator(config.Seed);
            if (config.Ensemble > 1)
                return new Ensemble(Enumerable.Range(0, config.Ensemble).Select(i =>
                        Models.FromSpec(config.Model, data.SampleShape, data.OutputSize, new Generator(config.Seed + i), config.Activation, options)),
                    data.Task == TaskKind.Classification ? EnsembleMode.Probabilities : EnsembleMode.Mean);
            return Models.FromSpec(config.Model, data.SampleShape, data.OutputSize, generator, config.Activation, options);
        }
        catch (FormatException e)
        {
            throw new UsageException($"--model: {e.Message}");
        }
    }

    internal static void LoadWeights(Module model, string path)
    {
        try
        {
            model.Load(path);
        }
        catch (Exception e) when (e is InvalidOperationException or Serialization.SafeTensorsFormatException or IOException)
        {
            throw new UsageException($"{path}: {e.Message.ReplaceLineEndings(" ")}");
        }
    }

    internal static Optimizer BuildOptimizer(RunConfig c, Module model) => c.Optimizer switch
    {
        "sgd" => new SGD(model.Parameters(), c.Lr, momentum: c.Momentum, weightDecay: c.WeightDecay),
        "momentum" => new SGD(model.Parameters(), c.Lr, momentum: c.Momentum, weightDecay: c.WeightDecay),
        "nesterov" => new SGD(model.Parameters(), c.Lr, momentum: c.Momentum > 0 ? c.Momentum : 0.9, weightDecay: c.WeightDecay, nesterov: true),
        "rmsprop" => new RMSProp(model.Parameters(), c.Lr, momentum: c.Momentum, weightDecay: c.WeightDecay),
        "adagrad" => new Adagrad(model.Parameters(), c.Lr, weightDecay: c.WeightDecay),
        "adamw" => new AdamW(model.Parameters(), c.Lr, beta1: 0.9, beta2: 0.999, weightDecay: c.WeightDecay > 0 ? c.WeightDecay : 1e-2),
        _ => new Adam(model.Parameters(), c.Lr, beta1: 0.9, beta2: 0.999, weightDecay: c.WeightDecay),
    };

    internal static (LRScheduler?, ReduceLROnPlateau?) BuildSchedule(RunConfig c, Optimizer optimizer, int batchesPerEpoch)
    {
        var parts = c.Schedule.Split(':');
        int total = Math.Max(1, c.Epochs * batchesPerEpoch);
        return parts[0] switch
        {
            "cosine" => (new CosineAnnealingWarmupLR(optimizer, warmupSteps: 0, totalSteps: total, warmupStartFactor: 1), null),
            "onecycle" => (new OneCycleLR(optimizer, c.Lr, total, cycleMomentum: c.Optimizer is not ("adagrad" or "sgd") || c.Momentum > 0), null),
            "step" => (new StepLR(optimizer, int.Parse(parts[1], CultureInfo.InvariantCulture), double.Parse(parts[2], CultureInfo.InvariantCulture)), null),
            "plateau" => (null, new ReduceLROnPlateau(optimizer, patience: int.Parse(parts[1], CultureInfo.InvariantCulture))),
            _ => (null, null),
        };
    }

    // Images: one mean and std over all training pixels (as torchvision's Normalize); tables: per feature.
    internal static (float[] Mean, float[] Std) NormalizationStats(TensorDataset train)
    {
        if (train.SampleShape.Length > 1)
        {
            var v = train.Features.ToArray();
            double mean = v.Average(x => (double)x);
            double std = Math.Sqrt(v.Average(x => (x - mean) * (x - mean)));
            int n = train.SampleShape.Aggregate(1, (p, s) => p * s);
            return (Enumerable.Repeat((float)mean, n).ToArray(), Enumerable.Repeat((float)(std > 0 ? std : 1), n).ToArray());
        }
        var s = new Standardizer().Fit(train.Features);
        return (s.Mean.ToArray(), s.Std.ToArray());
    }

    internal static TensorDataset Normalize(TensorDataset d, RunConfig c)
    {
        var shape = d.SampleShape;
        if (c.NormMean!.Length != shape.Aggregate(1, (p, s) => p * s))
            throw new UsageException($"the saved normalisation has {c.NormMean.Length} values but a sample has shape {Shapes.Format(shape)}.");
        var s = Standardizer.FromStatistics(Tensor.FromArray(c.NormMean, shape), Tensor.FromArray(c.NormStd!, shape));
        return d.WithFeatures(s.Transform(d.Features));
    }
}
