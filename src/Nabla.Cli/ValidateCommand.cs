using System.Globalization;
using System.Text.Json;
using Nabla.Data;
using Nabla.Training;
using Nabla.Validation;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary><c>nabla validate</c>, <c>nabla search</c> and <c>nabla split</c>: judging models by resampling.</summary>
internal static class ValidateCommand
{
    private static readonly Opt Scheme = new() { Name = "--scheme", Value = "SCHEME", Help = "the validation scheme (SCHEME below)" };
    private static readonly Opt Groups = new() { Name = "--groups", Value = "COLUMN", Help = "a CSV column naming each row's group (for group-kfold; whole groups held out for test)" };
    private static readonly Opt Parallel = new() { Name = "--parallel", Value = "N", Help = "splits trained at once", Default = "1" };
    private static readonly Opt RanksPerRun = new() { Name = "--ranks-per-run", Value = "K", Help = "under mpirun: ranks that train each run together, data-parallel (a divisor of the ranks)", Default = "1: each rank trains whole runs" };
    private static readonly Opt Grid = new() { Name = "--grid", Value = "GRID", Help = "axes to search: \"lr=1e-3,3e-4;model=mlp:128|mlp:256,128;augment=none|\\\"hflip,crop:2\\\"\"" };
    private static readonly Opt Random = new() { Name = "--random", Value = "N", Help = "try N configurations drawn from the grid instead of all" };
    private static readonly Opt Scoring = new() { Name = "--scoring", Value = "METRIC", Help = "accuracy, f1, precision, recall, loss, r2, mse or mae", Default = "accuracy; r2 for regression" };

    private static readonly Opt[] Common =
    [
        .. RunOptions.DataOptions, RunOptions.Model, .. RunOptions.ModelShapeOptions, .. RunOptions.TrainingOptions,
        RunOptions.Threads, RunOptions.Out, RunOptions.TensorBoard, RunOptions.Overwrite, RunOptions.Config, RunOptions.Json, Scheme, Groups, Parallel,
        RanksPerRun,
    ];

    internal static readonly Opt[] ValidateOptions = Common;
    internal static readonly Opt[] SearchOptions = [.. Common, Grid, Random, Scoring];
    internal static readonly Opt[] SplitOptions = [.. RunOptions.DataOptions, RunOptions.Seed, RunOptions.Shuffle, RunOptions.Normalize, Scheme, Groups, RunOptions.Json];

    private static string SchemeForms => Schemes.Help;

    public static string ValidateHelp => """
        nabla validate — cross-validate a training configuration

        Usage:
          nabla validate --scheme SCHEME [training options as in 'nabla train'] [--groups COL] [--parallel N] [--out DIR] [--json]

        Each split trains a fresh model on the training part of --data (the test part stays out; --test none uses every
        row). With early stopping, it watches an inner holdout (--validation fraction) of the split's training samples,
        never the scored ones. Prints each split as it finishes and mean ± std with the 95% interval; writes cv.json and cv.png.
        """ + SchemeForms + Opt.Render([
            ("Validation", [Scheme, Groups, Parallel, RanksPerRun]),
            ("Data", RunOptions.DataOptions),
            ("Model", [RunOptions.Model, .. RunOptions.ModelShapeOptions]),
            ("Training", RunOptions.TrainingOptions),
            ("Output", [RunOptions.Threads, RunOptions.Out, RunOptions.TensorBoard, RunOptions.Overwrite, RunOptions.Config, RunOptions.Json]),
        ]);

    public static string SearchHelp => """
        nabla search — choose hyperparameters by cross-validation

        Usage:
          nabla search --scheme SCHEME --grid "lr=1e-3,3e-4;model=mlp:128|mlp:256,128" [--random N] [--scoring METRIC]
                       [training options as in 'nabla train'] [--out DIR] [--json]

        Every option of 'nabla train' that shapes the model or the training is a grid axis, named without its dashes
        (lr, optimizer, model, norm, dropout, augment, batch-size …; a flag takes true,false). ';' separates axes, '|' or
        ',' separates values ('|' when a value holds commas), and a value in double quotes may hold both. Options that
        name files or resources (data, test, out, resume, threads, json, init) cannot be axes. Ranked as scikit-learn's
        GridSearchCV (mean, std, rank; ties to the first); writes search.json.
        """ + SchemeForms + Opt.Render([
            ("Search", [Scheme, Grid, Random, Scoring, Groups, Parallel, RanksPerRun]),
            ("Data", RunOptions.DataOptions),
            ("Model", [RunOptions.Model, .. RunOptions.ModelShapeOptions]),
            ("Training", RunOptions.TrainingOptions),
            ("Output", [RunOptions.Threads, RunOptions.Out, RunOptions.TensorBoard, RunOptions.Overwrite, RunOptions.Config, RunOptions.Json]),
        ]);

    public static string SplitHelp => """
        nabla split — show the splits a scheme makes of a dataset's training part

        Usage:
          nabla split --scheme SCHEME [--data …] [--label COL] [--task …] [--test FRACTION|none|FILE] [--groups COL]
                      [--seed N] [--shuffle true|false] [--json]

        --json prints {"scheme":…,"samples":N,"rows":[…],"splits":[{"train":[…],"validation":[…]}, …]}: indices into the
        training part, and "rows" maps them to the source's rows when a test set was carved out (with --test none the
        indices are the file's row numbers, from 0).
        """ + SchemeForms + Opt.Render([("Options", SplitOptions)]);

    private sealed record Prepared(RunConfig Config, TensorDataset Train, int[]? Groups, string Description, int[]? Rows);

    /// <summary>The settings (unresolved: a grid may still change the optimizer) and the training part, every value checked.</summary>
    private static (CliArgs Args, Prepared Data) Prepare(string[] args, Opt[] options, string help, TextWriter stdout)
    {
        var a = new CliArgs(args, options);
        if (a.HelpRequested)
        {
            stdout.Write(help);
            throw new HelpShown();
        }
        var start = a.String("--config") is { } path ? TrainCommand.LoadConfig(path) : new RunConfig();
        var config = RunOptions.Apply(start, a);
        var given = a.Given.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        Threads.Count = config.Threads;
        TensorDataset train;
        int[]? groups = null, rows = null;
        string description;
        if (a.String("--groups") is { } groupColumn)
            (train, groups, description) = DataSources.LoadGrouped(config, groupColumn, given);
        else
        {
            var data = DataSources.Load(config, given);
            (train, description, rows) = (data.Train, data.Description, data.TrainRows);
            config = config with { Features = data.Features };
        }
        config = config with { Classes = train.Task == TaskKind.Classification ? [.. train.ClassNames] : null };
        if (config.Normalize)
        {
            var (mean, std) = TrainCommand.NormalizationStats(train);
            config = config with { NormMean = mean, NormStd = std };
            train = TrainCommand.Normalize(train, config);
        }
        return (a, new Prepared(config, train, groups, description, rows));
    }

    /// <summary>Thrown after help was printed, to end the command with exit code 0.</summary>
    private sealed class HelpShown : Exception;

    private static int WithHelp(Func<int> run)
    {
        try
        {
            return run();
        }
        catch (HelpShown)
        {
            return Program.Ok;
        }
    }

    /// <summary>
    /// A fresh model, optimizer, schedule and callbacks for one split (the split's seed is the run's + its index), sized
    /// and weighted (balanced class weights) from the samples the split trains on, as scikit-learn fits per fold.
    /// </summary>
    private static TrainingSetup Setup(RunConfig c, TensorDataset data, int split, TensorDataset splitTrain, string? board = null)
    {
        int trainCount = splitTrain.Count;
        var cfg = c with { Seed = c.Seed + split };
        var model = TrainCommand.BuildModel(cfg, data);
        if (c.Init is not null) TrainCommand.LoadWeights(model, c.Init, "--init");
        var optimizer = TrainCommand.BuildOptimizer(cfg, model);
        var (scheduler, plateau) = TrainCommand.BuildSchedule(cfg, optimizer, (trainCount + c.BatchSize - 1) / c.BatchSize);
        var callbacks = new List<Callback>();
        bool inner = c.EarlyStopping > 0 && c.Validation > 0;
        if (inner) callbacks.Add(new EarlyStopping(patience: c.EarlyStopping, restoreBestWeights: true));
        if (c.StopWhenStable > 0) callbacks.Add(new WeightStabilization(c.StopWhenStable));
        if (c.WeightNorm.StartsWith("spectral-filter:", StringComparison.Ordinal))
        {
            var (rank, energy) = RunOptions.SpectralFilterSetting(c.WeightNorm);
            callbacks.Add(new SpectralFilterCallback((trainCount + c.BatchSize - 1) / c.BatchSize, rank, energy));
        }
        // --tensorboard: one run folder per split (and per candidate of a search), its file closed when the split ends.
        if (board is not null)
        {
            try
            {
                callbacks.Add(new Nabla.TensorBoard.TensorBoardCallback(new Nabla.TensorBoard.SummaryWriter(board), closeAtEnd: true));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new EnvironmentException($"--tensorboard {board}: cannot write an event file there ({e.Message}).", e);
            }
        }
        var options = cfg.ToRecipe().TrainerOptions(data.NumClasses, scheduler, plateau, validating: inner);
        return new TrainingSetup(model, TrainCommand.BuildLoss(c, splitTrain), optimizer, c.Epochs, options, callbacks);
    }

    /// <summary>
    /// The validator, with its inner holdout when any configuration stops early (then every configuration trains on the
    /// same samples, so they are compared alike), checked against the data: every split and inner holdout is made
    /// before anything trains or is written.
    /// </summary>
    private static CrossValidator Validator(CliArgs a, IReadOnlyList<RunConfig> configs, Splitter splitter, Prepared p)
    {
        double inner = configs.Any(c => c.EarlyStopping > 0 && c.Validation > 0) ? configs[0].Validation : 0;
        // Under mpirun the splits are spread over the ranks (each trains whole runs) and every rank gets every result.
        int per = a.Int("--ranks-per-run", 1, 1, 4096);
        if (Cluster.Current.Size % per != 0)
            throw new UsageException($"--ranks-per-run {per} does not divide the {Cluster.Current.Size} rank{(Cluster.Current.Size == 1 ? "" : "s")} of this job.");
        var validator = new CrossValidator(splitter, a.Int("--parallel", 1, 1, 64), inner) { Communicator = Cluster.Current, RanksPerRun = per };
        Cluster.CheckSame("data", Cluster.Digest(p.Train));
        try
        {
            validator.Check(p.Train, p.Groups);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--scheme {splitter.Name} on {p.Train.Count} samples{(inner > 0 ? $" with --validation holdout:{inner.ToString(CultureInfo.InvariantCulture)}" : "")}: {e.Message}");
        }
        return validator;
    }

    private static string[] Headline(TaskKind task) => task == TaskKind.Classification ? ["accuracy", "f1", "loss"] : ["r2", "mae", "loss"];

    private static Splitter SchemeOf(CliArgs a, RunConfig c, string example) =>
        Schemes.Parse(a.String("--scheme") ?? throw new UsageException($"--scheme is required, e.g. --scheme {example}."), c.Seed, c.Shuffle);

    /// <summary>Checks a resolved configuration against the data and the machine, and that its model can be built.</summary>
    private static void CheckRun(RunConfig c, TensorDataset train, int parallel)
    {
        if (c.Ensemble > 1) throw new UsageException("--ensemble: validate and search judge one model per split; train an ensemble with 'nabla train --ensemble N'.");
        TrainCommand.CheckWithData(c, train);
        TrainCommand.CheckMemory(c, train, parallel);
        TrainCommand.BuildModel(c, train);
    }

    public static int Validate(string[] args, TextWriter stdout, TextWriter stderr, bool interactive) => WithHelp(() =>
    {
        var (a, p) = Prepare(args, ValidateOptions, ValidateHelp, stdout);
        var config = p.Config.Resolved();
        var splitter = SchemeOf(a, config, "kfold:10");
        var splits = CheckSplits(splitter, p);
        CheckRun(config, p.Train, a.Int("--parallel", 1, 1, 64));
        bool json = a.Flag("--json");
        var log = json ? stderr : stdout;
        string outDir = a.String("--out") ?? Output.NewRunFolder("cv-");
        string? board = Output.BoardFolder(a.String("--tensorboard"), outDir);
        var validator = Validator(a, [config], splitter, p);
        if (Cluster.Current.Rank % validator.RanksPerRun != 0) board = null;   // one rank of each group logs the runs it trains
        outDir = Cluster.PrivateFolder(outDir);   // under mpirun only rank 0 writes the results
        Output.PrepareRunFolder(outDir, a.Flag("--overwrite") || !Cluster.IsRoot);
        log.WriteLine($"nabla {Program.Version}: {splitter.Name} on {p.Description}: {p.Train.Count} samples, {splits} splits; {config.Describe()}");
        var keys = Headline(p.Train.Task);
        var lines = new object();
        var result = validator.Run(p.Train, (i, t) => Setup(config, p.Train, i, t, board is null ? null : Path.Combine(board, $"split-{i}")), p.Groups, onFold: f =>
        {
            lock (lines)
            {
                string scores = string.Join("  ", keys.Select(k => string.Create(CultureInfo.InvariantCulture, $"{k} {f.Metrics[k]:F4}")));
                string best = f.BestEpoch is { } b ? $" (best {b})" : "";
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"split {f.Index + 1}/{splits}  train {f.TrainCount}  validation {f.ValidationCount}  {scores}  epochs {f.EpochsRun}{best}  {f.Seconds:F1} s"));
            }
        });
        PrintSummary(log, interactive && !json, result, keys);
        var cvPath = Path.Combine(outDir, "cv.json");
        void Write(Utf8JsonWriter w) => WriteResult(w, config, splitter, p.Description, result);
        Reports.WriteJson(cvPath, Write);
        var main = keys[0];
        var s = result.Summaries[main];
        Plots.SaveCrossValidation(result.Folds.Select(f => f.Metrics[main]).ToArray(), s.Mean, s.Lower, s.Upper, main, splitter.Name, Path.Combine(outDir, "cv.png"));
        log.WriteLine($"Saved {cvPath} and cv.png.");
        if (json) stdout.WriteLine(Reports.Compact(Write));
        return 0;
    });

    private static long CheckSplits(Splitter splitter, Prepared p)
    {
        try
        {
            _ = splitter.Split(p.Train, p.Groups).Take(1).ToArray();
            return splitter.SplitCount(p.Train.Count, p.Train.Labels?.Data, p.Groups);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--scheme: {e.Message}");
        }
    }

    private static void PrintSummary(TextWriter log, bool rich, CrossValidationResult result, string[] keys)
    {
        if (rich)
        {
            var table = new Table().AddColumns("metric", "mean", "std", "95% interval");
            foreach (var k in keys)
            {
                var s = result.Summaries[k];
                table.AddRow(k, s.Mean.ToString("F4", CultureInfo.InvariantCulture), s.Std.ToString("F4", CultureInfo.InvariantCulture),
                    string.Create(CultureInfo.InvariantCulture, $"[{s.Lower:F4}, {s.Upper:F4}]"));
            }
            AnsiConsole.Write(table);
            return;
        }
        foreach (var k in keys)
        {
            var s = result.Summaries[k];
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{k,-10} {s.Mean:F4} ± {s.Std:F4}  (95% interval {s.Lower:F4} … {s.Upper:F4}, {s.Count} splits)"));
        }
    }

    private static void WriteResult(Utf8JsonWriter w, RunConfig config, Splitter splitter, string data, CrossValidationResult result)
    {
        w.WriteStartObject();
        w.WriteString("nabla", Program.Version);
        w.WriteString("scheme", splitter.Name);
        w.WriteString("data", data);
        w.WritePropertyName("config");
        config.Write(w);
        WriteSummaries(w, result);
        w.WriteStartArray("splits");
        foreach (var f in result.Folds)
        {
            w.WriteStartObject();
            w.WriteNumber("split", f.Index + 1);
            w.WriteNumber("train", f.TrainCount);
            w.WriteNumber("validation", f.ValidationCount);
            w.WriteNumber("epochs", f.EpochsRun);
            if (f.BestEpoch is { } b) w.WriteNumber("best_epoch", b);
            w.WriteNumber("seconds", Math.Round(f.Seconds, 3));
            foreach (var (k, v) in f.Metrics) Reports.WriteNumber(w, k, v);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteSummaries(Utf8JsonWriter w, CrossValidationResult result)
    {
        w.WriteStartObject("summary");
        foreach (var (k, s) in result.Summaries)
        {
            w.WriteStartObject(k);
            Reports.WriteNumber(w, "mean", s.Mean);
            Reports.WriteNumber(w, "std", s.Std);
            Reports.WriteNumber(w, "ci95_low", s.Lower);
            Reports.WriteNumber(w, "ci95_high", s.Upper);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }


    /// <summary>
    /// The settings of one grid point: each axis is the train option of that name, set and checked by the same code
    /// as the command line; then the optimizer's defaults fill what is still open.
    /// </summary>
    private static RunConfig Apply(RunConfig c, IReadOnlyDictionary<string, string> p)
    {
        foreach (var (k, v) in p.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var opt = RunOptions.All.FirstOrDefault(o => o.AxisName == k);
            if (opt is null)
                throw new UsageException($"--grid: '{CliArgs.Clip(k)}' is not an option of 'nabla train'; the axes are {string.Join(", ", RunOptions.All.Where(o => o.Axis).Select(o => o.AxisName))}.");
            if (!opt.Axis)
                throw new UsageException($"--grid: '{k}' names a file or a resource, not a setting to search; give it as --{k} instead.");
            if (opt == RunOptions.Validation || opt == RunOptions.Normalize)
                throw new UsageException($"--grid: '{k}' changes the data every configuration is judged on, so it cannot vary; give it once as --{k}.");
            try
            {
                c = opt.Set!(c, v);
            }
            catch (UsageException e)
            {
                throw new UsageException($"--grid {k}={CliArgs.Clip(v)}: {e.Message}");
            }
        }
        try
        {
            return RunOptions.Check(c, given: null).Resolved();
        }
        catch (UsageException e)
        {
            throw new UsageException($"--grid {ModelSelection.Describe(p)}: {e.Message}");
        }
    }

    public static int Search(string[] args, TextWriter stdout, TextWriter stderr, bool interactive) => WithHelp(() =>
    {
        var (a, p) = Prepare(args, SearchOptions, SearchHelp, stdout);
        var splitter = SchemeOf(a, p.Config, "kfold:5");
        CheckSplits(splitter, p);
        IReadOnlyDictionary<string, IReadOnlyList<string>> grid;
        try
        {
            grid = ModelSelection.ParseGrid(a.String("--grid") ?? throw new UsageException("--grid is required, e.g. --grid \"lr=1e-3,3e-4;model=mlp:128|mlp:256,128\"."));
        }
        catch (FormatException e)
        {
            throw new UsageException($"--grid: {e.Message}");
        }
        foreach (var k in grid.Keys)
            if (a.Given.Any(o => o.AxisName == k))
                throw new UsageException($"--grid: '{k}' is also given as --{k}; name it in one place.");
        int count = a.Has("--random") ? a.Int("--random", 10, 1, 100000) : 0;
        long gridSize = grid.Values.Aggregate(1L, (n, v) => n * v.Count > 1_000_000 ? 1_000_001 : n * v.Count);
        if (count == 0 && gridSize > 10_000)
            throw new UsageException($"--grid: {(gridSize > 1_000_000 ? "over a million" : gridSize.ToString("N0", CultureInfo.InvariantCulture))} configurations; narrow it or draw some with --random N.");
        var candidates = count > 0 ? ModelSelection.Sample(grid, count, p.Config.Seed) : ModelSelection.Grid(grid);
        int parallel = a.Int("--parallel", 1, 1, 64);
        var configs = candidates.Select(c => Apply(p.Config, c)).ToArray(); // every value checked before any training
        foreach (var c in configs) CheckRun(c, p.Train, parallel);
        string scoring = a.String("--scoring", p.Train.Task == TaskKind.Classification ? "accuracy" : "r2");
        if (scoring is not ("accuracy" or "f1" or "precision" or "recall" or "loss" or "r2" or "mse" or "mae"))
            throw new UsageException($"--scoring: '{CliArgs.Clip(scoring)}' is not accuracy, f1, precision, recall, loss, r2, mse or mae.");
        if (p.Train.Task == TaskKind.Classification != scoring is "accuracy" or "f1" or "precision" or "recall" or "loss")
            throw new UsageException($"--scoring: {scoring} does not score {(p.Train.Task == TaskKind.Classification ? "classification" : "regression")}.");
        bool json = a.Flag("--json");
        var log = json ? stderr : stdout;
        string outDir = a.String("--out") ?? Output.NewRunFolder("search-");
        string? board = Output.BoardFolder(a.String("--tensorboard"), outDir);
        var validator = Validator(a, configs, splitter, p);
        if (Cluster.Current.Rank % validator.RanksPerRun != 0) board = null;   // one rank of each group logs the runs it trains
        outDir = Cluster.PrivateFolder(outDir);   // under mpirun only rank 0 writes the results
        Output.PrepareRunFolder(outDir, a.Flag("--overwrite") || !Cluster.IsRoot);
        log.WriteLine($"nabla {Program.Version}: {candidates.Count} configurations × {splitter.Name} on {p.Description}, scored by {scoring}");
        int index = 0;
        var result = ModelSelection.Search(candidates, p.Train, validator,
            (c, i, t) => Setup(configs[IndexOf(candidates, c)], p.Train, i, t,
                board is null ? null : Path.Combine(board, $"candidate-{IndexOf(candidates, c)}", $"split-{i}")), scoring, p.Groups,
            (c, r) => log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{++index}/{candidates.Count}] {ModelSelection.Describe(candidates[c])}: {scoring} {r.Summaries[scoring].Mean:F4} ± {r.Summaries[scoring].PopulationStd:F4}")));
        log.WriteLine();
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"rank",-5}{"mean",10}{"std",10}  configuration"));
        foreach (var c in result.Candidates.OrderBy(c => c.Rank))
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.Rank,-5}{c.Mean,10:F4}{c.Std,10:F4}  {ModelSelection.Describe(c.Parameters)}"));
        log.WriteLine($"best: {ModelSelection.Describe(result.Best!.Parameters)}");
        var path = Path.Combine(outDir, "search.json");
        void Write(Utf8JsonWriter w)
        {
            w.WriteStartObject();
            w.WriteString("nabla", Program.Version);
            w.WriteString("scheme", splitter.Name);
            w.WriteString("scoring", result.Scoring);
            w.WriteStartArray("candidates");
            foreach (var c in result.Candidates)
            {
                w.WriteStartObject();
                w.WriteStartObject("params");
                foreach (var (k, v) in c.Parameters.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
                w.WriteEndObject();
                Reports.WriteNumber(w, "mean_test_score", c.Mean);
                Reports.WriteNumber(w, "std_test_score", c.Std);
                w.WriteNumber("rank_test_score", c.Rank);
                w.WriteStartArray("split_scores");
                foreach (var f in c.Result.Folds) w.WriteNumberValue(result.Scoring.StartsWith("neg_", StringComparison.Ordinal) ? -f.Metrics[scoring] : f.Metrics[scoring]);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("best");
            foreach (var (k, v) in result.Best.Parameters.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        Reports.WriteJson(path, Write);
        log.WriteLine($"Saved {path}.");
        if (json) stdout.WriteLine(Reports.Compact(Write));
        return 0;
    }

);

    private static int IndexOf(IReadOnlyList<IReadOnlyDictionary<string, string>> list, IReadOnlyDictionary<string, string> item)
    {
        for (int i = 0; i < list.Count; i++)
            if (ReferenceEquals(list[i], item)) return i;
        throw new InvalidOperationException("search: a candidate the grid did not make.");
    }

    public static int Split(string[] args, TextWriter stdout, TextWriter stderr) => WithHelp(() =>
    {
        var (a, p) = Prepare(args, SplitOptions, SplitHelp, stdout);
        var splitter = SchemeOf(a, p.Config, "kfold:10");
        CheckSplits(splitter, p);
        long count = splitter.SplitCount(p.Train.Count, p.Train.Labels?.Data, p.Groups);
        if (count > 100_000) throw new UsageException($"--scheme {splitter.Name}: {count:N0} splits of {p.Train.Count} samples are too many to list.");
        var splits = splitter.Split(p.Train, p.Groups).ToArray();
        if (a.Flag("--json"))
        {
            stdout.WriteLine(Reports.Compact(w =>
            {
                w.WriteStartObject();
                w.WriteString("scheme", splitter.Name);
                w.WriteNumber("samples", p.Train.Count);
                if (p.Rows is { } rows)
                {
                    w.WriteStartArray("rows");
                    foreach (int r in rows) w.WriteNumberValue(r);
                    w.WriteEndArray();
                }
                w.WriteStartArray("splits");
                foreach (var s in splits)
                {
                    w.WriteStartObject();
                    w.WriteStartArray("train");
                    foreach (int i in s.Train) w.WriteNumberValue(i);
                    w.WriteEndArray();
                    w.WriteStartArray("validation");
                    foreach (int i in s.Validation) w.WriteNumberValue(i);
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }));
            return 0;
        }
        stdout.WriteLine($"{splitter.Name} on {p.Description}: {p.Train.Count} samples, {splits.Length} splits");
        for (int i = 0; i < splits.Length; i++)
        {
            var s = splits[i];
            string classes = p.Train.Labels is { } y
                ? "  validation classes " + string.Join(" ", s.Validation.GroupBy(k => y.Data[k]).OrderBy(g => g.Key).Select(g => $"{g.Key}:{g.Count()}"))
                : "";
            stdout.WriteLine($"split {i + 1}: train {s.Train.Length} ({s.Train.Distinct().Count()} distinct), validation {s.Validation.Length}{classes}");
        }
        return 0;
    });
}
