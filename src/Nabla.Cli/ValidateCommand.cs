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
    private static readonly HashSet<string> ExtraValues = ["--scheme", "--groups", "--parallel", "--grid", "--random", "--scoring"];

    public const string ValidateHelp = """
        nabla validate — cross-validate a training configuration

        Usage:
          nabla validate [training options as in 'nabla train'] --scheme SCHEME [--groups COL] [--parallel N] [--json] [--out DIR]

        SCHEME: holdout:0.3 | holdout-stratified:0.3 | kfold:10 | stratified-kfold:10 | repeated-kfold:5x3 |
                repeated-stratified-kfold:5x3 | shuffle:20x0.3 | stratified-shuffle:20x0.3 | bootstrap:50 | lpo:2 | loo |
                group-kfold:5 (needs --groups COL in a CSV)
        Each split trains a fresh model on the training part of --data (the test part stays out). With early stopping,
        it watches an inner holdout (--validation fraction) of the split's training samples, never the scored ones.
        Prints each split as it finishes and mean ± std with the 95% interval; writes cv.json and cv.png.
        """;

    public const string SearchHelp = """
        nabla search — choose hyperparameters by cross-validation

        Usage:
          nabla search [training options] --scheme SCHEME --grid "lr=1e-3,3e-4;model=mlp:128|mlp:256,128"
                       [--random N] [--scoring accuracy|f1|loss|r2|mse|mae] [--json] [--out DIR]

        Grid names: lr, optimizer, model, activation, batch-size, epochs, momentum, weight-decay, schedule.
        Values are split by '|' when one is present, else by ','. --random N tries N configurations drawn from the
        grid. Ranked as scikit-learn's GridSearchCV (mean, std, rank; ties to the first); writes search.json.
        """;

    public const string SplitHelp = """
        nabla split — show the splits a scheme makes of a dataset's training part

        Usage:
          nabla split --scheme SCHEME [--data …] [--label COL] [--task …] [--groups COL] [--seed N] [--json]

        --json prints {"splits":[{"train":[…],"validation":[…]}, …]} with indices into the training part.
        """;

    private sealed record Prepared(RunConfig Config, TensorDataset Train, int[]? Groups, string Description);

    private static (CliArgs Args, Prepared Data) Prepare(string[] args)
    {
        var a = new CliArgs(args, TrainCommand.ValueOptions.Concat(ExtraValues).ToHashSet(), TrainCommand.FlagOptions);
        if (a.Has("--resume")) throw new UsageException("--resume belongs to 'nabla train'.");
        var config = TrainCommand.Resolve(a);
        Threads.Count = config.Threads;
        var task = config.Task == "regression" ? TaskKind.Regression : TaskKind.Classification;
        TensorDataset train;
        int[]? groups = null;
        string description;
        string? groupColumn = a.String("--groups");
        if (groupColumn is not null)
        {
            if (!config.Data.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || config.Label is null)
                throw new UsageException("--groups COL needs CSV data (--data FILE.csv --label COL).");
            (train, groups, description) = DataSources.LoadGrouped(config.Data, config.Label, groupColumn, task, config.Seed);
        }
        else (train, _, description) = DataSources.Load(config.Data, config.Label, task, config.Seed);
        if (config.Normalize)
        {
            var (mean, std) = TrainCommand.NormalizationStats(train);
            config = config with { NormMean = mean, NormStd = std };
            train = TrainCommand.Normalize(train, config);
        }
        return (a, new Prepared(config, train, groups, description));
    }

    private static TrainingSetup Setup(RunConfig c, TensorDataset data, int split, int trainCount)
    {
        var cfg = c with { Seed = c.Seed + split };
        var model = TrainCommand.BuildModel(cfg, data);
        var optimizer = TrainCommand.BuildOptimizer(cfg, model);
        var (scheduler, plateau) = TrainCommand.BuildSchedule(cfg, optimizer, (trainCount + c.BatchSize - 1) / c.BatchSize);
        Loss loss = data.Task == TaskKind.Classification ? new CrossEntropyLoss() : new MSELoss();
        var callbacks = new List<Callback>();
        if (c.EarlyStopping > 0 && c.Validation > 0) callbacks.Add(new EarlyStopping(patience: c.EarlyStopping, restoreBestWeights: true));
        if (c.StopWhenStable > 0) callbacks.Add(new WeightStabilization(c.StopWhenStable));
        var options = new TrainerOptions
        {
            BatchSize = c.BatchSize, Shuffle = c.Shuffle, Seed = cfg.Seed, Scheduler = scheduler, Plateau = plateau,
            PlateauMonitor = c.EarlyStopping > 0 && c.Validation > 0 ? "val_loss" : "loss",
            Transform = TrainCommand.AugmentTransform(c, data.NumClasses), AdversarialEpsilon = c.Adversarial,
            L1 = c.L1, L2 = c.L2, WeightNoise = c.WeightNoise,
        };
        return new TrainingSetup(model, loss, optimizer, c.Epochs, options, callbacks);
    }

    private static CrossValidator Validator(CliArgs a, RunConfig c, Splitter splitter) =>
        new(splitter, a.Int("--parallel", 1, 1, 64), c.EarlyStopping > 0 && c.Validation > 0 ? c.Validation : 0);

    private static string[] Headline(TaskKind task) => task == TaskKind.Classification ? ["accuracy", "f1", "loss"] : ["r2", "mae", "loss"];

    public static int Validate(string[] args, TextWriter stdout, TextWriter stderr, bool interactive)
    {
        var (a, p) = Prepare(args);
        var splitter = Schemes.Parse(a.String("--scheme") ?? throw new UsageException("--scheme is required, e.g. --scheme kfold:10."), p.Config.Seed);
        var splits = CheckSplits(splitter, p);
        bool json = a.Flag("--json");
        var log = json ? stderr : stdout;
        string outDir = a.String("--out") ?? Path.Combine("runs", "cv-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        var validator = Validator(a, p.Config, splitter);
        log.WriteLine($"nabla {Program.Version}: {splitter.Name} on {p.Description}: {p.Train.Count} samples, {splits} splits; {p.Config.Describe()}");
        var keys = Headline(p.Train.Task);
        var lines = new object();
        var result = validator.Run(p.Train, (i, t) => Setup(p.Config, p.Train, i, t.Count), p.Groups, onFold: f =>
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
        Directory.CreateDirectory(outDir);
        var cvPath = Path.Combine(outDir, "cv.json");
        Reports.WriteJson(cvPath, w => WriteResult(w, p.Config, splitter, p.Description, result));
        var main = keys[0];
        var s = result.Summaries[main];
        Plots.SaveCrossValidation(result.Folds.Select(f => f.Metrics[main]).ToArray(), s.Mean, s.Lower, s.Upper, main, splitter.Name, Path.Combine(outDir, "cv.png"));
        log.WriteLine($"Saved {cvPath} and cv.png.");
        if (json) stdout.WriteLine(Compact(cvPath));
        return 0;
    }

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

    private static string Compact(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return JsonSerializer.Serialize(doc.RootElement, CliJson.Default.JsonElement);
    }

    private static readonly string[] GridNames = ["lr", "optimizer", "model", "activation", "batch-size", "epochs", "momentum", "weight-decay", "schedule"];

    private static RunConfig Apply(RunConfig c, IReadOnlyDictionary<string, string> p)
    {
        foreach (var (k, v) in p)
        {
            string option = "--" + k;
            var one = new CliArgs([option, v], TrainCommand.ValueOptions, TrainCommand.FlagOptions);
            c = k switch
            {
                "lr" => c with { Lr = one.Double(option, c.Lr, 0, 10, exclusiveMin: true) },
                "optimizer" => RunConfig.Optimizers.Contains(v) ? c with { Optimizer = v } : throw new UsageException($"--grid optimizer: '{v}' is not one of {string.Join(", ", RunConfig.Optimizers)}."),
                "model" => c with { Model = v },
                "activation" => c with { Activation = v },
                "batch-size" => c with { BatchSize = one.Int(option, c.BatchSize, 1, 1 << 20) },
                "epochs" => c with { Epochs = one.Int(option, c.Epochs, 1, 100000) },
                "momentum" => c with { Momentum = one.Double(option, c.Momentum, 0, 0.9999) },
                "weight-decay" => c with { WeightDecay = one.Double(option, c.WeightDecay, 0, 10) },
                "schedule" => Schedule(c, v),
                _ => throw new UsageException($"--grid: '{k}' is not a searchable setting ({string.Join(", ", GridNames)})."),
            };
        }
        return c;
    }

    private static RunConfig Schedule(RunConfig c, string v)
    {
        TrainCommand.ValidateSchedule(v);
        return c with { Schedule = v };
    }

    public static int Search(string[] args, TextWriter stdout, TextWriter stderr, bool interactive)
    {
        var (a, p) = Prepare(args);
        var splitter = Schemes.Parse(a.String("--scheme") ?? throw new UsageException("--scheme is required, e.g. --scheme kfold:5."), p.Config.Seed);
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
        var candidates = a.Has("--random") ? ModelSelection.Sample(grid, a.Int("--random", 10, 1, 100000), p.Config.Seed) : ModelSelection.Grid(grid);
        var configs = candidates.Select(c => Apply(p.Config, c)).ToArray(); // every value checked before any training
        foreach (var c in configs) TrainCommand.BuildModel(c, p.Train);
        string scoring = a.String("--scoring", p.Train.Task == TaskKind.Classification ? "accuracy" : "r2");
        if (scoring is not ("accuracy" or "f1" or "precision" or "recall" or "loss" or "r2" or "mse" or "mae"))
            throw new UsageException($"--scoring: '{scoring}' is not accuracy, f1, precision, recall, loss, r2, mse or mae.");
        bool json = a.Flag("--json");
        var log = json ? stderr : stdout;
        string outDir = a.String("--out") ?? Path.Combine("runs", "search-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        log.WriteLine($"nabla {Program.Version}: {candidates.Count} configurations × {splitter.Name} on {p.Description}, scored by {scoring}");
        var validator = Validator(a, p.Config, splitter);
        int index = 0;
        var result = ModelSelection.Search(candidates, p.Train, validator,
            (c, i, t) => Setup(configs[candidates.ToList().IndexOf(c)], p.Train, i, t.Count), scoring, p.Groups,
            (c, r) => log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{++index}/{candidates.Count}] {ModelSelection.Describe(candidates[c])}: {scoring} {r.Summaries[scoring].Mean:F4} ± {r.Summaries[scoring].PopulationStd:F4}")));
        log.WriteLine();
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"rank",-5}{"mean",10}{"std",10}  configuration"));
        foreach (var c in result.Candidates.OrderBy(c => c.Rank))
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.Rank,-5}{c.Mean,10:F4}{c.Std,10:F4}  {ModelSelection.Describe(c.Parameters)}"));
        log.WriteLine($"best: {ModelSelection.Describe(result.Best!.Parameters)}");
        Directory.CreateDirectory(outDir);
        var path = Path.Combine(outDir, "search.json");
        Reports.WriteJson(path, w =>
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
        });
        log.WriteLine($"Saved {path}.");
        if (json) stdout.WriteLine(Compact(path));
        return 0;
    }

    public static int Split(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var (a, p) = Prepare(args);
        var splitter = Schemes.Parse(a.String("--scheme") ?? throw new UsageException("--scheme is required."), p.Config.Seed);
        CheckSplits(splitter, p);
        var splits = splitter.Split(p.Train, p.Groups).ToArray();
        if (a.Flag("--json"))
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("scheme", splitter.Name);
                w.WriteNumber("samples", p.Train.Count);
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
            }
            stdout.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
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
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(JsonElement))]
internal sealed partial class CliJson : System.Text.Json.Serialization.JsonSerializerContext;
