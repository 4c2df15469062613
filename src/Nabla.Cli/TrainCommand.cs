using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary><c>nabla train</c>: data → model → training with progress → model, metrics, plots.</summary>
internal static class TrainCommand
{
    private static readonly Opt SyncBatchNormOpt = new()
    {
        Name = "--sync-batchnorm", Group = OptGroup.Run,
        Help = "under mpirun: BatchNorm normalises with the whole global batch's statistics (SyncBatchNorm; steps run uncaptured); without it each rank uses its shard's",
    };

    internal static readonly Opt[] Options =
    [
        .. RunOptions.DataOptions, RunOptions.Model, .. RunOptions.ModelShapeOptions, .. RunOptions.TrainingOptions,
        RunOptions.LayerStats, RunOptions.Threads, RunOptions.Out, RunOptions.TensorBoard, RunOptions.Resume, RunOptions.Overwrite, RunOptions.Config, RunOptions.Json,
        SyncBatchNormOpt,
    ];


    /// <summary>The checkpoint metadata key holding the SHA-256 of the run's config.json.</summary>
    internal const string DigestKey = "nabla.config_sha256";

    public static string Help => """
        nabla train — train a model and write its weights, metrics and plots

        Usage:
          nabla train [options]
          nabla train --resume DIR [--threads N] [--json]

        Defaults: the embedded Fashion-MNIST subset, mlp:256,128 with ReLU, Adam, batch 128, 20 epochs, cosine
        schedule, 10% stratified validation holdout, early stopping after 5 epochs without a better val_loss (best
        weights restored), seed 0, all cores, results in runs/<timestamp>. resnet:N and plain:N on Fashion-MNIST
        train with --augment "hflip,crop:2" unless told otherwise (--augment none turns it off).
        """ + Opt.Render([
            ("Data", RunOptions.DataOptions),
            ("Model", [RunOptions.Model, .. RunOptions.ModelShapeOptions]),
            ("Training", RunOptions.TrainingOptions),
            ("Output", [RunOptions.LayerStats, RunOptions.Threads, RunOptions.Out, RunOptions.TensorBoard, RunOptions.Resume, RunOptions.Overwrite, RunOptions.Config, RunOptions.Json]),
            ("Under mpirun (docs/SCALE.md)", [SyncBatchNormOpt]),
        ]) + CliOptimizers.HelpTable() + """

        Writes model.safetensors (PyTorch key names), metrics.json, curves.png, confusion.png, config.json and a resumable
        checkpoint.safetensors into --out. A folder holds one run: a new run into a folder with another run's files is
        refused unless --overwrite; --resume DIR continues an interrupted run with the settings in DIR/config.json.
        Exit codes: 0 done, 1 the environment failed, 2 a mistake in the input (nothing written), 130 interrupted.

        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool interactive)
    {
        var a = new CliArgs(args, Options);
        if (a.HelpRequested)
        {
            stdout.Write(Help);
            return Program.Ok;
        }
        bool json = a.Flag("--json");
        if (a.String("--resume") is { } resumeDir) return Resume(a, resumeDir, stdout, stderr, interactive, json);

        var start = a.String("--config") is { } path ? LoadConfig(path) : new RunConfig();
        var config = RunOptions.Apply(start, a).Resolved();
        string outDir = a.String("--out") ?? Output.NewRunFolder();
        var given = a.Given.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        Threads.Count = config.Threads;
        var run = new RunPlan(config, outDir, given, a.Flag("--overwrite"), null)
        {
            TensorBoard = Output.BoardFolder(a.String("--tensorboard"), outDir), SyncBatchNorm = a.Flag("--sync-batchnorm"),
        };
        if (config.ClassWeights != "none" && Cluster.Current.Size > 1)
            throw new UsageException("--class-weights under mpirun: a weighted loss averages over the batch's weights, which the ranks' shards do not share; train without mpirun, or without class weights.");
        if (config.Ensemble > 1 && Cluster.Current.Size > 1)
            throw new UsageException("--ensemble under mpirun: members are trained one after another in one process; train them with separate runs (or without mpirun).");
        return config.Ensemble > 1
            ? RunEnsemble(run, stdout, stderr, interactive, json)
            : Execute(run, stdout, stderr, interactive, json).Code;
    }

    private static int Resume(CliArgs a, string dir, TextWriter stdout, TextWriter stderr, bool interactive, bool json)
    {
        foreach (var opt in a.Given)
            if (opt.Name is not ("--resume" or "--json" or "--threads" or "--tensorboard"))
                throw new UsageException($"--resume takes the settings saved in {Path.Combine(dir, "config.json")}; {opt.Name} cannot change them.");
        if (!Directory.Exists(dir)) throw new UsageException($"--resume: folder '{dir}' does not exist.");
        string cfg = Path.Combine(dir, "config.json"), checkpoint = Path.Combine(dir, "checkpoint.safetensors");
        bool hasConfig = File.Exists(cfg), hasCheckpoint = File.Exists(checkpoint);
        if (!hasConfig || !hasCheckpoint)
            throw new UsageException(!hasConfig && !hasCheckpoint
                ? $"--resume: {dir} holds no run of 'nabla train' (no config.json, no checkpoint.safetensors)."
                : !hasConfig
                    ? $"--resume: {dir} has checkpoint.safetensors but no config.json, so its settings are unknown."
                    : $"--resume: {dir} has config.json but no checkpoint.safetensors: the run stopped before its first epoch ended; start it again with --out {dir} --overwrite.");
        if (File.Exists(Path.Combine(dir, "metrics.json")))
            throw new UsageException($"--resume: the run in {dir} finished (metrics.json is there); train again with --out {dir} --overwrite, or into another folder.");
        byte[] configBytes = ReadInput(cfg, "--resume");
        var config = RunConfig.Parse(configBytes, cfg).Resolved() with { Threads = a.Int("--threads", Cluster.DefaultThreads, 1, 1024) };
        if (config.Ensemble > 1) throw new UsageException("--resume continues a single model; rerun the ensemble instead.");
        StateDict state;
        try
        {
            state = Serialization.SafeTensors.Read(checkpoint);
        }
        catch (Serialization.SafeTensorsFormatException e)
        {
            throw new UsageException($"--resume: {checkpoint} is not a readable checkpoint: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--resume: {checkpoint} cannot be read ({e.Message}).");
        }
        var meta = Trainer.CheckpointMetadata(state);
        if (!meta.ContainsKey("epoch"))
            throw new UsageException($"--resume: {checkpoint} holds weights but no training state (is it a copy of model.safetensors?).");
        if (!meta.TryGetValue(DigestKey, out var digest))
            throw new UsageException($"--resume: {checkpoint} does not record which settings made it (an older nabla wrote it); start the run again.");
        if (digest != RunConfig.Digest(configBytes))
            throw new UsageException($"--resume: {checkpoint} was written by a run with other settings than {cfg} (the digests differ); the two files are from different runs.");
        Threads.Count = config.Threads;
        return Execute(new RunPlan(config, dir, null, false, state)
        {
            ConfigBytes = configBytes, TensorBoard = Output.BoardFolder(a.String("--tensorboard"), dir), SyncBatchNorm = a.Flag("--sync-batchnorm"),
        }, stdout, stderr, interactive, json).Code;
    }

    /// <summary>What a run is: its settings, where it writes, what was given on the command line, and the checkpoint it resumes.</summary>
    private sealed record RunPlan(RunConfig Config, string OutDir, IReadOnlySet<string>? Given, bool Overwrite, StateDict? Checkpoint)
    {
        public byte[]? ConfigBytes { get; init; }
        /// <summary>--tensorboard: the folder of this run's event file, or null.</summary>
        public string? TensorBoard { get; init; }
        /// <summary>--sync-batchnorm: how this process trains under mpirun, not a setting config.json records.</summary>
        public bool SyncBatchNorm { get; init; }
    }

    private sealed record Outcome(int Code, Module? Model, TensorDataset? Test, Evaluation? TestEval, string Description);

    /// <summary>A run prepared to the last check: data, model, optimizer and schedule, built before anything is written.</summary>
    internal sealed record Prepared(RunConfig Config, TensorDataset Train, TensorDataset? Validation, TensorDataset? Test, string Description,
        Module Model, Loss Loss, Optimizer Optimizer, LRScheduler? Scheduler, ReduceLROnPlateau? Plateau, int BatchesPerEpoch);

    /// <summary>
    /// Loads and checks the data, the model and every setting against each other; throws UsageException for any
    /// mistake. Nothing is written.
    /// </summary>
    internal static Prepared Prepare(RunConfig config, IReadOnlySet<string>? given, bool loadInit)
    {
        var data = DataSources.Load(config, given);
        var trainAll = data.Train;
        var test = data.Test;
        config = config with
        {
            Classes = trainAll.Task == TaskKind.Classification ? [.. trainAll.ClassNames] : null,
            Features = data.Features,
        };
        if (config.Normalize && config.NormMean is null)
        {
            var (mean, std) = NormalizationStats(trainAll);
            config = config with { NormMean = mean, NormStd = std };
        }
        if (config.NormMean is not null)
        {
            trainAll = Normalize(trainAll, config);
            if (test is not null) test = Normalize(test, config);
        }
        CheckWithData(config, trainAll);
        var (train, validation) = config.Validation > 0 ? DataSources.Holdout(trainAll, config.Validation, config.Seed) : (trainAll, (TensorDataset?)null);
        CheckMemory(config, train);
        var model = BuildModel(config, train);
        if (config.Init is not null && loadInit) LoadWeights(model, config.Init, "--init");
        var optimizer = BuildOptimizer(config, model);
        int batches = (train.Count + config.BatchSize - 1) / config.BatchSize;
        var (scheduler, plateau) = BuildSchedule(config, optimizer, batches);
        return new Prepared(config, train, validation, test, data.Description, model, BuildLoss(config, train), optimizer, scheduler, plateau, batches);
    }

    /// <summary>Settings that depend on the data: an augmentation needs images, class weights one per class.</summary>
    internal static void CheckWithData(RunConfig c, TensorDataset train)
    {
        if (c.EffectiveAugment is { } spec)
        {
            var aug = Data.Transforms.Augmentation.Parse(spec, new Generative.NeuralAugmentations());
            bool needsImages = aug.PerSample is not null || aug.PerBatch is Data.Transforms.CutMix || aug.Source is not null || aug.Style is not null;
            if (needsImages && train.SampleShape.Length != 3)
                throw new UsageException($"--augment {spec}: image transforms need images (C, H, W); {c.Data} gives samples of shape {Shapes.Format(train.SampleShape)}.");
            // A dry run on two samples: a transform that cannot work on these images fails here, not on the loader's worker.
            try
            {
                var two = train.Subset([0, Math.Min(1, train.Count - 1)]);
                aug.AsLoaderTransform(train.NumClasses)(new Batch(two.Features, two.Labels, two.Targets, [0, 1]), new Generator(0));
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"--augment {spec}: on {c.Data}'s samples of shape {Shapes.Format(train.SampleShape)}: {e.Message.Split(Environment.NewLine)[0]}");
            }
        }
        if (c.ClassWeights is not ("none" or "balanced") && c.ClassWeights.Split(',').Length != train.NumClasses)
            throw new UsageException($"--class-weights: {c.ClassWeights.Split(',').Length} weights for {train.NumClasses} classes ({string.Join(", ", train.ClassNames.Take(12))}).");
        if (c.Model.Trim().StartsWith("cnn", StringComparison.OrdinalIgnoreCase) || c.IsResidual)
            if (train.SampleShape.Length != 3)
                throw new UsageException($"--model {c.Model} needs image data (C, H, W); {c.Data} gives samples of shape {Shapes.Format(train.SampleShape)}.");
    }

    /// <summary>
    /// Refuses a model the machine cannot hold: parameters, gradients and optimizer state plus two batches of
    /// activations, against half the memory the GC reports available.
    /// </summary>
    internal static void CheckMemory(RunConfig c, TensorDataset train, int models = 1)
    {
        ModelSummary summary;
        try
        {
            summary = Models.Summarize(c.Model, train.SampleShape, train.OutputSize, c.Activation, ModelOptionsOf(c));
        }
        catch (FormatException e)
        {
            throw new UsageException($"--model {c.Model}: {e.Message}");
        }
        long need = summary.TrainingBytes(c.BatchSize, c.OptimizerDefaults.Slots(c.Momentum ?? 0));
        need = need > long.MaxValue / Math.Max(1, models) ? long.MaxValue : need * Math.Max(1, models);
        long limit = MemoryLimit();
        if (need > limit)
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"--model {c.Model}: training it needs about {Bytes(need)} ({summary.Parameters:N0} parameters, batch {c.BatchSize}{(models > 1 ? $", {models} models" : "")}), " +
                $"more than half of the {Bytes(limit * 2)} this machine has available; choose a smaller model or batch."));
    }

    /// <summary>Half the memory the GC reports available.</summary>
    internal static long MemoryLimit() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;

    internal static string Bytes(long b) => b switch
    {
        >= 1L << 40 => string.Create(CultureInfo.InvariantCulture, $"{b / (double)(1L << 40):F1} TiB"),
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{b / (double)(1L << 30):F1} GiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{b / (double)(1L << 20):F0} MiB"),
    };

    private static int RunEnsemble(RunPlan run, TextWriter stdout, TextWriter stderr, bool interactive, bool json)
    {
        var config = run.Config;
        var log = json ? stderr : stdout;
        // Every member is checked before the first one trains or anything is written.
        var first = Prepare(config with { Ensemble = 1 }, run.Given, loadInit: true);
        CheckMemory(config, first.Train, config.Ensemble);
        Output.PrepareRunFolder(run.OutDir, run.Overwrite);
        var members = new List<Module>();
        var memberEvals = new List<Evaluation>();
        Outcome? last = null;
        for (int i = 0; i < config.Ensemble; i++)
        {
            log.WriteLine($"ensemble member {i + 1}/{config.Ensemble} (seed {config.Seed + i})");
            var member = new RunPlan(config with { Seed = config.Seed + i, Ensemble = 1 }, Path.Combine(run.OutDir, $"member-{i}"), run.Given, false, null)
            {
                TensorBoard = run.TensorBoard is null ? null : Path.Combine(run.TensorBoard, $"member-{i}"),
            };
            last = Execute(member, TextWriter.Null, log, interactive, json: true);
            if (last.Code == Program.Interrupted)
                log.WriteLine($"The ensemble stopped at member {i + 1}; members are not resumed one by one: run it again with --out {run.OutDir} --overwrite.");
            if (last.Code != 0) return last.Code;
            members.Add(last.Model!);
            if (last.TestEval is not null) memberEvals.Add(last.TestEval);
        }
        var task = config.Task == "regression" ? TaskKind.Regression : TaskKind.Classification;
        var ensemble = new Ensemble(members, task == TaskKind.Classification ? EnsembleMode.Probabilities : EnsembleMode.Mean);
        var test = last!.Test;
        var eval = test is null ? null : new Trainer().Evaluate(ensemble, BuildLoss(config, first.Train), test);
        var written = first.Config with { Ensemble = config.Ensemble, Seed = config.Seed };
        Reports.WriteJson(Path.Combine(run.OutDir, "config.json"), written.Write);
        ensemble.Save(Path.Combine(run.OutDir, "model.safetensors"));
        CardOf(written, first.Train).Save(Path.Combine(run.OutDir, ModelCard.FileName));
        string metric = task == TaskKind.Classification ? "accuracy" : "r2";
        var metricsPath = Path.Combine(run.OutDir, "metrics.json");
        void Metrics(Utf8JsonWriter w)
        {
            w.WriteStartObject();
            w.WriteString("nabla", Program.Version);
            w.WriteString("command", "train");
            w.WritePropertyName("config");
            written.Write(w);
            w.WriteNumber("members", members.Count);
            if (memberEvals.Count > 0)
            {
                w.WriteStartArray("member_test");
                foreach (var m in memberEvals) Reports.WriteNumberValue(w, m.Metrics.GetValueOrDefault(metric, double.NaN));
                w.WriteEndArray();
            }
            if (eval is not null)
            {
                w.WriteStartObject("test");
                Reports.WriteScores(w, eval);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        Reports.WriteJson(metricsPath, Metrics);
        if (eval?.Confusion is not null) Plots.SaveConfusion(eval.Confusion, test!.ClassNames, Path.Combine(run.OutDir, "confusion.png"));
        if (eval is not null && memberEvals.Count > 0)
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ensemble of {members.Count}: test {metric} {eval.Metrics[metric]:F4}; members {string.Join(", ", memberEvals.Select(m => m.Metrics[metric].ToString("F4", CultureInfo.InvariantCulture)))} (mean {memberEvals.Average(m => m.Metrics[metric]):F4})"));
        log.WriteLine($"Saved {Path.Combine(run.OutDir, "model.safetensors")} (keys 0.*, 1.*, … one per member) and metrics.json.");
        if (json) stdout.WriteLine(Reports.Compact(Metrics));
        return 0;
    }

    private static Outcome Execute(RunPlan run, TextWriter stdout, TextWriter stderr, bool interactive, bool json)
    {
        var log = json ? stderr : stdout;
        bool resume = run.Checkpoint is not null;
        // Everything that can be wrong with the input is checked before anything is written.
        var p = Prepare(run.Config, run.Given, loadInit: !resume);
        var config = p.Config;
        var task = config.Task == "regression" ? TaskKind.Regression : TaskKind.Classification;
        // Under mpirun every rank checks it trains on the same data; only rank 0 writes the run folder (the others write
        // into a private folder removed at exit).
        Cluster.CheckSame("data", Cluster.Digest(p.Train));
        string outDir = Cluster.PrivateFolder(run.OutDir);
        if (resume && Cluster.IsRoot) Output.PrepareResumeFolder(outDir);
        else Output.PrepareRunFolder(outDir, run.Overwrite || !Cluster.IsRoot);

        byte[] configBytes = run.ConfigBytes ?? Reports.JsonBytes(config.Write);
        if (!resume) Reports.WriteJson(Path.Combine(outDir, "config.json"), configBytes);
        string checkpoint = Path.Combine(outDir, "checkpoint.safetensors");
        var callbacks = new List<Callback>();
        EarlyStopping? early = null;
        if (p.Validation is not null && config.EarlyStopping > 0)
            callbacks.Add(early = new EarlyStopping("val_loss", patience: config.EarlyStopping, restoreBestWeights: true));
        if (config.StopWhenStable > 0) callbacks.Add(new WeightStabilization(config.StopWhenStable));
        if (config.WeightNorm.StartsWith("spectral-filter:", StringComparison.Ordinal))
        {
            var (rank, energy) = RunOptions.SpectralFilterSetting(config.WeightNorm);
            callbacks.Add(new SpectralFilterCallback(p.BatchesPerEpoch, rank, energy)); // once per epoch
        }
        LayerStatistics? layerStats = config.LayerStats > 0 ? new LayerStatistics(config.LayerStats) : null;
        if (layerStats is not null) callbacks.Add(layerStats);
        callbacks.Add(new ModelCheckpoint(outDir, p.Validation is not null ? "val_loss" : "loss"));
        using var board = run.TensorBoard is null || !Cluster.IsRoot ? null : OpenBoard(run.TensorBoard);   // rank 0 logs the run
        if (board is not null) callbacks.Add(new Nabla.TensorBoard.TensorBoardCallback(board));

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        // Under mpirun Ctrl+C ends every rank (mpirun stops them; each says where it was): ranks cannot agree on the batch
        // at which to stop without another collective per step.
        if (Cluster.Current.Size == 1) Console.CancelKeyPress += onCancel;
        var trainer = new Trainer(TrainerOptionsFor(config, p, checkpoint, cancel.Token,
            new Dictionary<string, string> { [DigestKey] = RunConfig.Digest(configBytes) }, Cluster.Current, run.SyncBatchNorm));
        Nabla.Distributed.Progress.Checkpoint = Path.Combine(run.OutDir, "checkpoint.safetensors");

        log.WriteLine($"nabla {Program.Version}: {p.Description}: train {p.Train.Count}, validation {p.Validation?.Count ?? 0}, test {p.Test?.Count ?? 0}; {Threads.Count} threads" +
            (Cluster.Current.Size > 1 ? $" × {Cluster.Current.Size} ranks ({Cluster.Current.Description}), {Math.Max(1, config.BatchSize / Cluster.Current.Size)}+ samples of each batch per rank" : ""));
        log.WriteLine($"model {config.Describe()}; {p.Model.ParameterCount:N0} parameters; writing to {outDir}");
        var clock = Stopwatch.StartNew();
        var started = new TrainingStarted();
        History history;
        try
        {
            history = RunWithProgress(interactive && !json, log, task == TaskKind.Classification, progress =>
            {
                callbacks.Add(started);
                callbacks.Add(progress);
                return resume
                    ? trainer.Resume(run.Checkpoint!, p.Model, p.Loss, p.Optimizer, p.Train, p.Validation, config.Epochs, callbacks)
                    : trainer.Fit(p.Model, p.Loss, p.Optimizer, p.Train, p.Validation, config.Epochs, callbacks);
            });
        }
        catch (InvalidOperationException e) when (resume && !started.Begun)
        {
            throw new UsageException($"--resume: {checkpoint} does not fit the run in {outDir}: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && !Directory.Exists(outDir))
        {
            throw new EnvironmentException($"--out {outDir} vanished while the run was going, so nothing more can be saved ({e.Message}).", e);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        double seconds = clock.Elapsed.TotalSeconds;
        if (history.Cancelled)
        {
            if (history.StopReason is not null) log.WriteLine(history.StopReason);
            log.WriteLine($"Interrupted. The weights so far are in {Path.Combine(outDir, "last.safetensors")}; continue with: nabla train --resume {outDir}");
            return new Outcome(Program.Interrupted, null, null, null, p.Description);
        }
        if (history.Diverged)
        {
            // Training failed: the message is an error, and goes where errors go.
            stderr.WriteLine(history.StopReason);
            return new Outcome(Program.EnvironmentFailure, null, null, null, p.Description);
        }
        if (history.StopReason is not null) log.WriteLine(history.StopReason);

        var testEval = p.Test is null ? null : trainer.Evaluate(p.Model, p.Loss, p.Test);
        p.Model.Save(Path.Combine(outDir, "model.safetensors"));
        CardOf(config, p.Train).Save(Path.Combine(outDir, ModelCard.FileName));
        var metricsPath = Path.Combine(outDir, "metrics.json");
        var report = new RunReport(config, p.Description, p.Train.Count, p.Validation?.Count ?? 0, p.Test, history, testEval, seconds, early?.BestEpoch, layerStats);
        Reports.WriteJson(metricsPath, report.Write);
        Plots.SaveCurves(history, Path.Combine(outDir, "curves.png"), task == TaskKind.Classification);
        if (testEval?.Confusion is not null) Plots.SaveConfusion(testEval.Confusion, p.Test!.ClassNames, Path.Combine(outDir, "confusion.png"));
        Reports.PrintSummary(log, interactive && !json, history, testEval, task == TaskKind.Classification, seconds);
        if (board is not null)
        {
            long last = history.Epochs.Count;
            if (testEval is not null)
                foreach (var (k, v) in testEval.Metrics.Prepend(new("loss", testEval.Loss)))
                    if (double.IsFinite(v)) board.AddScalar("test/" + k, v, last);
            foreach (var image in new[] { "curves", "confusion" })
                if (File.Exists(Path.Combine(outDir, image + ".png"))) board.AddImage(image, File.ReadAllBytes(Path.Combine(outDir, image + ".png")), last);
            board.Flush();
        }
        log.WriteLine($"Saved {Path.Combine(outDir, "model.safetensors")}, metrics.json, curves.png{(testEval?.Confusion is not null ? ", confusion.png" : "")}.");
        if (json) stdout.WriteLine(Reports.Compact(report.Write));
        return new Outcome(Program.Ok, p.Model, p.Test, testEval, p.Description);
    }

    /// <summary>Notes that training began: a resume's checkpoint was restored by then, so a later failure is not the checkpoint's.</summary>
    private sealed class TrainingStarted : Callback
    {
        public bool Begun { get; private set; }

        public override void OnTrainBegin(TrainingContext context) => Begun = true;
    }

    /// <summary>The trainer's options for a run (validate and search use them too).</summary>
    internal static TrainerOptions TrainerOptionsFor(RunConfig c, Prepared p, string? checkpoint = null, CancellationToken cancel = default,
        IReadOnlyDictionary<string, string>? metadata = null, Nabla.Distributed.ICommunicator? communicator = null, bool syncBatchNorm = false) =>
        c.ToRecipe().TrainerOptions(p.Train.NumClasses, p.Scheduler, p.Plateau, p.Validation is not null, checkpoint, cancel, metadata, communicator, syncBatchNorm);

    private static History RunWithProgress(bool interactive, TextWriter log, bool classification, Func<Callback, History> run) =>
        interactive ? ProgressReporter.Live(AnsiConsole.Console, classification, run) : run(new ProgressReporter(log, null, classification));

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

    /// <summary>The loader transform of an --augment spec, or null.</summary>
    internal static Func<Batch, Generator, Batch>? AugmentTransform(RunConfig c, int classes) => c.ToRecipe().AugmentTransform(classes);

    /// <summary>The model-shaping settings as the library takes them.</summary>
    internal static ModelOptions ModelOptionsOf(RunConfig c) =>
        new((float)c.Dropout, (float)c.InputDropout, (float)c.Noise, (float)c.DropConnect,
            c.DropoutMode == "classic" ? DropoutMode.Classic : DropoutMode.Inverted, c.EffectiveNorm, c.NormAfter,
            c.WeightNorm.StartsWith("spectral-filter", StringComparison.Ordinal) ? "none" : c.WeightNorm)
        { ZeroInitResidual = c.ZeroInitResidual };

    // --tensorboard: a new event file in the run's board folder (a resumed run adds a second file to the same run).
    private static Nabla.TensorBoard.SummaryWriter OpenBoard(string dir)
    {
        try
        {
            return new Nabla.TensorBoard.SummaryWriter(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnvironmentException($"--tensorboard {dir}: cannot write an event file there ({e.Message}).", e);
        }
    }

    /// <summary>model.json: what Predictor.Load and nabla export need to rebuild the model without the data.</summary>
    internal static ModelCard CardOf(RunConfig c, TensorDataset train) => new()
    {
        Model = c.Model, Activation = c.Activation, Options = ModelOptionsOf(c), Ensemble = Math.Max(1, c.Ensemble),
        SampleShape = [.. train.SampleShape], Outputs = train.OutputSize, Task = train.Task,
        Classes = c.Classes, Features = c.Features, InputMean = c.NormMean, InputStd = c.NormStd,
    };

    internal static Module BuildModel(RunConfig config, TensorDataset data)
    {
        try
        {
            return config.ToRecipe().BuildModel(data.SampleShape, data.OutputSize, data.Task);
        }
        catch (FormatException e)
        {
            throw new UsageException($"--model {config.Model}: {e.Message}");
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--model {config.Model}: {e.Message.Split(Environment.NewLine)[0]}");
        }
    }

    internal static Loss BuildLoss(RunConfig c, TensorDataset train) => c.ToRecipe().BuildLoss(train);

    internal static Optimizer BuildOptimizer(RunConfig c, Module model) => c.ToRecipe().BuildOptimizer(model);

    /// <summary>Loads weights a user names, refusing a file that does not fit the model or holds NaN or infinite values.</summary>
    internal static void LoadWeights(Module model, string path, string option)
    {
        if (Directory.Exists(path)) throw new UsageException($"{option}: '{path}' is a folder, not a .safetensors file.");
        if (!File.Exists(path)) throw new UsageException($"{option}: file '{path}' does not exist.");
        try
        {
            model.Load(path);
        }
        catch (Exception e) when (e is InvalidOperationException or Serialization.SafeTensorsFormatException or ArgumentException)
        {
            throw new UsageException($"{option} {path}: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option} {path}: cannot be read ({e.Message}).");
        }
        foreach (var (name, v) in model.StateDict())
            if (v.Float is { } t && !t.ToArray().All(float.IsFinite))
                throw new UsageException($"{option} {path}: '{name}' holds NaN or infinite values.");
    }

    internal static (LRScheduler?, ReduceLROnPlateau?) BuildSchedule(RunConfig c, Optimizer optimizer, int batchesPerEpoch)
    {
        try
        {
            return c.ToRecipe().BuildSchedule(optimizer, batchesPerEpoch);
        }
        catch (ArgumentOutOfRangeException e) when (e.ParamName == nameof(Training.Recipe.Epochs))
        {
            throw new UsageException($"--epochs {c.Epochs}: {e.Message.Split(" (Parameter")[0]}");
        }
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

    /// <summary>--config FILE (or a run folder holding config.json): the settings to start from.</summary>
    internal static RunConfig LoadConfig(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, "config.json") : path;
        if (!File.Exists(file)) throw new UsageException($"--config: '{file}' does not exist.");
        // What the earlier run measured on its data (normalisation, classes, columns) is measured again on this run's.
        return RunConfig.Parse(ReadInput(file, "--config"), file) with { NormMean = null, NormStd = null, Classes = null, Features = null };
    }

    /// <summary>Reads a small input file a user named (a config.json), as a usage error when it cannot be read.</summary>
    internal static byte[] ReadInput(string path, string option)
    {
        try
        {
            var info = new FileInfo(path);
            // A run on large colour images records a mean and std per pixel: tens of MB are legitimate, gigabytes are not.
            if (info.Exists && info.Length > 256L << 20) throw new UsageException($"{option}: {path} is {info.Length:N0} bytes, too large for a run configuration.");
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option}: {path} cannot be read ({e.Message}).");
        }
    }
}
