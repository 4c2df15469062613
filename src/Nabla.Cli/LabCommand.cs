using System.Globalization;
using System.Text;
using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Cli;

/// <summary>
/// <c>nabla lab CLAIM|all</c>: the lecture's claims as experiments (Nabla.Lab), each trained alike over several seeds and
/// judged by one rule, with a report; and <c>nabla lab degradation --depths …</c>, the single configurable run of the
/// degradation problem.
/// </summary>
internal static class LabCommand
{
    internal static readonly Opt[] LabOptions =
    [
        new() { Name = "--seeds", Value = "N", Help = "seeds per condition (2..100)", Default = "3" },
        new() { Name = "--full", Help = "the full setting (larger subsets and budgets; see docs/LAB.md for the times)" },
        new() { Name = "--tiny", Help = "a seconds-long wiring run (what CI runs): no verdict to read anything into" },
        new() { Name = "--data", Value = "SOURCE", Help = "embedded, fashion-mnist, an image folder or a CSV (the image labs need images)", Default = "embedded" },
        new() { Name = "--label", Value = "COLUMN", Help = "the label column of a CSV" },
        new() { Name = "--gan", Value = "DIR", Help = "a GAN from nabla gan train, for the augmentation lab" },
        new() { Name = "--style", Value = "DIR", Help = "a style decoder from nabla style train, for the augmentation lab" },
        new() { Name = "--threads", Value = "N", Help = "threads", Default = "all cores" },
        new() { Name = "--out", Value = "DIR", Help = "where the report goes", Default = "runs/lab-<timestamp>" },
        new() { Name = "--overwrite", Help = "replace an earlier lab report in --out" },
        new() { Name = "--tensorboard", Value = "DIR", Help = "also log every training run to TensorBoard: DIR/LAB/ARM-seedN" },
    ];

    private static readonly string[] SingleRunOptions = ["--depths", "--epochs", "--subset", "--test-subset", "--lr", "--batch-size", "--zero-init-residual", "--json", "--seed"];

    public static string LabHelp => $"""
        nabla lab — the lecture's claims, measured and judged from the data

        Usage:
          nabla lab CLAIM|all [--seeds 3] [--full] [--data embedded|fashion-mnist|DIR|FILE.csv] [--gan DIR] [--style DIR] [--out DIR]
          nabla lab degradation --depths 20,56 [--epochs 12] …   (the single configurable run: nabla lab degradation --help)

        Claims: {string.Join(", ", Nabla.Lab.LabRegistry.Names)}.
        Each lab trains what it compares alike (same data, seeds, budget) over several seeds and decides by one rule:
        supported when the mean difference goes the claimed way by more than two standard errors (Welch), contradicted
        when it goes the other way by as much, otherwise not shown (a claim of no effect: within its stated margin).
        It writes report.html (figures inline), report.md, report.json (every number) and the figures into --out.
        Quick mode (the default) keeps each lab within about 3 minutes on 2 cores; docs/LAB.md has each lab's budget.

        """;

    internal static readonly Opt[] Options =
    [
        new() { Name = "--depths", Value = "D1,D2,…", Help = "depths 6n + 2 to compare", Default = "20,56" },
        new() { Name = "--epochs", Value = "N", Help = "epochs per net", Default = "12" },
        new() { Name = "--subset", Value = "N", Help = "training images (stratified)", Default = "2000" },
        new() { Name = "--test-subset", Value = "N", Help = "test images (stratified)", Default = "1000" },
        new() { Name = "--data", Value = "SOURCE", Help = "embedded, fashion-mnist or an image folder", Default = "embedded" },
        new() { Name = "--lr", Value = "X", Help = "SGD learning rate", Default = "0.05" },
        new() { Name = "--batch-size", Value = "N", Help = "samples per step", Default = "64" },
        new() { Name = "--seed", Value = "N", Help = "seed", Default = "0" },
        new() { Name = "--threads", Value = "N", Help = "threads", Default = "all cores" },
        new() { Name = "--out", Value = "DIR", Help = "where the results go", Default = "runs/degradation-<timestamp>" },
        new() { Name = "--overwrite", Help = "replace an earlier lab run in --out" },
        new() { Name = "--zero-init-residual", Help = "start each residual block as the identity" },
        new() { Name = "--json", Help = "print the results as one line of JSON" },
    ];

    public static string Help => """
        nabla lab degradation — the degradation problem of deep plain networks and its cure

        Usage:
          nabla lab degradation [--depths 20,56] [--epochs 12] [--subset 2000] [--test-subset 1000]
                                [--data embedded|fashion-mnist|DIR] [--lr 0.05] [--batch-size 64] [--seed 0]
                                [--zero-init-residual] [--out DIR] [--json]

        Trains plain:D and resnet:D for every depth D on the same stratified subset with the same settings (SGD,
        momentum 0.9, weight decay 1e-4, cosine schedule, no early stopping) and writes degradation.png (training
        and test error per epoch for every net), degradation.json and a table, ending with a sentence that says what
        the run showed. The defaults take about 10 minutes on 2 cores (plain-56 and resnet-56 train at ~80–130 samples/s).
        --zero-init-residual starts the last BatchNorm γ of every residual branch at 0 (torchvision's
        zero_init_residual), so each residual block starts as the identity; plain nets are unaffected.
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        string? claim = args.FirstOrDefault(x => !x.StartsWith('-'));
        if (claim == "degradation" && args.Any(x => SingleRunOptions.Contains(x.Split('=')[0])))
            return RunDegradation(args, stdout, stderr);
        if (claim == "degradation" && (args.Contains("--help") || args.Contains("-h")))
        {
            // Both forms: the seeded lab (nabla lab degradation) and the single configurable run (with --depths …).
            stdout.Write(LabHelp + Opt.Render([("Options", LabOptions)]) + "\n");
            return RunDegradation(args, stdout, stderr);
        }
        return RunLabs(args, stdout, stderr);
    }

    private static int RunLabs(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new CliArgs(args, LabOptions, positionals: 1);
        if (a.HelpRequested)
        {
            stdout.Write(LabHelp + Opt.Render([("Options", LabOptions)]) + "\n");
            return Program.Ok;
        }
        if (a.Positionals.Count == 0)
            throw new UsageException($"lab needs a claim: one of {string.Join(", ", Nabla.Lab.LabRegistry.Names)}, or all (see --help).");
        string name = a.Positionals[0];
        var labs = name == "all" ? Nabla.Lab.LabRegistry.All
            : Nabla.Lab.LabRegistry.Find(name) is { } one ? [one]
            : throw new UsageException($"lab: unknown claim '{CliArgs.Clip(name)}'; expected one of {string.Join(", ", Nabla.Lab.LabRegistry.Names)}, or all.");
        int seeds = a.Int("--seeds", 3, 2, 100);
        if (a.Flag("--full") && a.Flag("--tiny")) throw new UsageException("--full and --tiny exclude each other.");
        var scale = a.Flag("--full") ? Nabla.Lab.LabScale.Full : a.Flag("--tiny") ? Nabla.Lab.LabScale.Tiny : Nabla.Lab.LabScale.Quick;
        Threads.Count = a.Int("--threads", Environment.ProcessorCount, 1, 1024);
        string? gan = a.String("--gan"), style = a.String("--style");
        foreach (var (opt, dir) in new[] { ("--gan", gan), ("--style", style) })
            if (dir is not null && !Directory.Exists(dir)) throw new UsageException($"{opt} {dir}: no such folder.");
        var given = a.Given.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var loaded = DataSources.Load(new RunConfig { Data = a.String("--data", "embedded"), Label = a.String("--label"), Seed = 0 }, given);
        var (train, test) = loaded.Test is { } t ? (loaded.Train, t) : DataSources.Holdout(loaded.Train, 0.3, 0, "--data");
        if (train.Labels is null) throw new UsageException("--data: the labs compare classifiers; this data has no class labels.");
        bool images = train.SampleShape.Length == 3;
        var skipped = labs.Where(l => l.NeedsImages && !images).Select(l => l.Name).ToArray();
        if (name != "all" && skipped.Length > 0) throw new UsageException($"--data: the {name} lab trains convolutional nets on images (C, H, W); this data is {Shapes.Format(train.SampleShape)}.");
        labs = [.. labs.Where(l => images || !l.NeedsImages)];
        // What the run would meet only after earlier labs' reports are written is checked now: a GAN or style decoder
        // that does not fit the data (one dry batch of two images), data too small for a lab's schemes.
        var probe = new Batch(train.Rows([0, Math.Min(1, train.Count - 1)]), IntTensor.FromArray([train.Labels.Data[0], train.Labels.Data[Math.Min(1, train.Count - 1)]]), null, [0, 1]);
        foreach (var (opt, spec) in new[] { ("--gan", gan is null ? null : $"gan:{gan}:0.25:soft"), ("--style", style is null ? null : $"style:{style}:0.5") })
        {
            if (spec is null) continue;
            if (!images) throw new UsageException($"{opt}: the augmentation lab needs image data.");
            try
            {
                Data.Transforms.Augmentation.Parse(spec, new Nabla.Generative.NeuralAugmentations()).Apply(probe, new Generator(0), train.NumClasses);
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                throw new UsageException($"{opt}: {e.Message.Split(Environment.NewLine)[0]}");
            }
        }
        var settings = new Nabla.Lab.LabSettings
        {
            Train = train, Test = test, DataDescription = loaded.Description, Seeds = seeds, Scale = scale, GanDirectory = gan, StyleDirectory = style,
        };
        foreach (var lab in labs)
            if (lab.Refusal(settings) is { } why) throw new UsageException($"--data: {why}");
        string outDir = a.String("--out") ?? Output.NewRunFolder("lab-");
        settings = settings with { TensorBoard = Output.BoardFolder(a.String("--tensorboard"), outDir) };
        Output.PrepareRunFolder(outDir, a.Flag("--overwrite"), LabFigures(outDir));
        string header = $"nabla {Program.Version}, {scale.ToString().ToLowerInvariant()} setting, {seeds} seeds, on {loaded.Description} ({train.Count} training and {test.Count} test samples); " +
            $"{Environment.ProcessorCount} cores; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC" + (skipped.Length > 0 ? $"; not run on this data (they need images): {string.Join(", ", skipped)}" : "");
        stdout.WriteLine(header);
        var results = new List<Nabla.Lab.LabResult>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var lab in labs)
        {
            var r = lab.Run(settings, stdout);
            results.Add(r);
            foreach (var c in r.Comparisons.Where(c => c.Deciding)) stdout.WriteLine("  " + c.Sentence);
            // The report so far, after every lab: a long `lab all` that is stopped keeps what it measured.
            Nabla.Lab.LabReport.Write(results, outDir, header);
        }
        stdout.WriteLine();
        foreach (var r in results) stdout.WriteLine($"{r.Name,-22} {Nabla.Lab.Comparison.Words(r.Verdict),-24} {r.Seconds,6:F0} s");
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalMinutes:F1} minutes; report.html, report.md and report.json in {outDir}"));
        return Program.Ok;
    }

    private static int RunDegradation(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new CliArgs(args, Options, positionals: 1);
        if (a.HelpRequested)
        {
            stdout.Write(Help + Opt.Render([("Options", Options)]) + "\n");
            return Program.Ok;
        }
        if (a.Positionals.Count == 0 || a.Positionals[0] != "degradation")
            throw new UsageException("the lab has one experiment: 'nabla lab degradation' (see --help).");
        var depths = a.String("--depths", "20,56").Split(',').Select(d =>
            int.TryParse(d.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 8 && (v - 2) % 6 == 0 && v <= RunOptions.MaxDepth
                ? v : throw new UsageException($"--depths: '{CliArgs.Clip(d)}' is not a depth 6n + 2 from 8 to {RunOptions.MaxDepth} (8, 14, 20, 32, 44, 56 …).")).Distinct().Order().ToArray();
        int epochs = a.Int("--epochs", 12, 1, 10000), subset = a.Int("--subset", 2000, 10, 1_000_000), testSubset = a.Int("--test-subset", 1000, 10, 1_000_000);
        int seed = a.Int("--seed", 0), batch = a.Int("--batch-size", 64, 1, 1 << 16);
        double lr = a.Double("--lr", 0.05, 0, 10, exclusiveMin: true);
        Threads.Count = a.Int("--threads", Environment.ProcessorCount, 1, 1024);
        bool json = a.Flag("--json");
        bool zeroInit = a.Flag("--zero-init-residual");
        var log = json ? stderr : stdout;
        var loaded = DataSources.Load(new RunConfig { Data = a.String("--data", "embedded"), Seed = seed }, null);
        var (trainAll, testAll, description) = (loaded.Train, loaded.Test!, loaded.Description);
        if (trainAll.SampleShape.Length != 3) throw new UsageException("--data: the degradation lab needs image data (C, H, W).");
        var train = subset < trainAll.Count ? DataSources.Holdout(trainAll, (double)subset / trainAll.Count, seed, "--subset").Held : trainAll;
        var test = testSubset < testAll.Count ? DataSources.Holdout(testAll, (double)testSubset / testAll.Count, seed, "--test-subset").Held : testAll;
        // The deepest nets of each kind are checked against the machine's memory before anything is written.
        foreach (var kind in new[] { "plain", "resnet" })
            TrainCommand.CheckMemory(new RunConfig { Model = $"{kind}:{depths[^1]}", Optimizer = "momentum", Momentum = 0.9, BatchSize = batch }, train);
        string outDir = a.String("--out") ?? Output.NewRunFolder("degradation-");
        log.WriteLine($"nabla {Program.Version}: degradation lab on {description}: {train.Count} training and {test.Count} test images, depths {string.Join(", ", depths)}, {epochs} epochs, SGD lr {lr}, batch {batch}");

        Output.PrepareRunFolder(outDir, a.Flag("--overwrite"));
        var runs = new List<(string Name, double[] TrainError, double[] TestError)>();
        foreach (int depth in depths)
            foreach (bool residual in new[] { false, true })
            {
                string name = $"{(residual ? "resnet" : "plain")}-{depth}";
                var model = new ResNet(depth, train.SampleShape[0], train.NumClasses, new Generator(seed), residual, zeroInit);
                var opt = new SGD(model.Parameters(), lr, momentum: 0.9, weightDecay: 1e-4);
                int steps = epochs * ((train.Count + batch - 1) / batch);
                var options = new TrainerOptions { BatchSize = batch, Seed = seed, Scheduler = new CosineAnnealingWarmupLR(opt, 0, Math.Max(1, steps), warmupStartFactor: 1) };
                var progress = new ProgressReporter(log, null, classification: true);
                log.WriteLine($"{name}: {model.ParameterCount:N0} parameters");
                var h = new Trainer(options).Fit(model, new CrossEntropyLoss(), opt, train, test, epochs, [progress]);
                if (h.Diverged)
                {
                    // One line, on stderr, and the lab stops: a comparison with a diverged net would decide nothing.
                    stderr.WriteLine($"{name}: {h.StopReason}");
                    return Program.EnvironmentFailure;
                }
                runs.Add((name, h.Series("accuracy").Select(v => 1 - v).ToArray(), h.Series("val_accuracy").Select(v => 1 - v).ToArray()));
            }

        Plots.SaveErrorCurves(runs, Path.Combine(outDir, "degradation.png"));
        var table = new StringBuilder();
        table.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{"net",-12}{"train error",14}{"test error",14}"));
        foreach (var (name, tr, te) in runs)
            table.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{name,-12}{tr[^1],14:F4}{te[^1],14:F4}"));
        string verdict = Verdict(runs, depths);
        log.Write(table.ToString());
        log.WriteLine(verdict);
        var path = Path.Combine(outDir, "degradation.json");
        void Write(System.Text.Json.Utf8JsonWriter w)
        {
            w.WriteStartObject();
            w.WriteString("nabla", Program.Version);
            w.WriteString("data", description);
            w.WriteNumber("train", train.Count);
            w.WriteNumber("test", test.Count);
            w.WriteNumber("epochs", epochs);
            w.WriteNumber("lr", lr);
            w.WriteNumber("batch_size", batch);
            w.WriteBoolean("zero_init_residual", zeroInit);
            w.WriteStartArray("runs");
            foreach (var (name, tr, te) in runs)
            {
                w.WriteStartObject();
                w.WriteString("net", name);
                w.WriteStartArray("train_error");
                foreach (var v in tr) w.WriteNumberValue(v);
                w.WriteEndArray();
                w.WriteStartArray("test_error");
                foreach (var v in te) w.WriteNumberValue(v);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("verdict", verdict);
            w.WriteEndObject();
        }
        Reports.WriteJson(path, Write);
        log.WriteLine($"Saved degradation.png and degradation.json in {outDir}.");
        if (json) stdout.WriteLine(Reports.Compact(Write));
        return 0;
    }

    /// <summary>One sentence on what the run showed, comparing the shallowest and deepest nets of each kind.</summary>
    // Every lab names its figures "<lab>-<what>.png": an earlier report's figures are replaced with it, never left beside it.
    // A folder that cannot be listed yields none here: PrepareRunFolder's write probe then reports it (one line, exit 1).
    private static List<string> LabFigures(string dir)
    {
        try
        {
            return !Directory.Exists(dir) ? [] :
                [.. Directory.EnumerateFiles(dir, "*.png").Select(Path.GetFileName).OfType<string>()
                    .Where(f => Nabla.Lab.LabRegistry.Names.Any(n => f.StartsWith(n + "-", StringComparison.Ordinal)))];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static string Pct(double v) => (v * 100).ToString("F1", CultureInfo.InvariantCulture) + "%";

    internal static string Verdict(IReadOnlyList<(string Name, double[] TrainError, double[] TestError)> runs, int[] depths)
    {
        if (depths.Length < 2) return "Only one depth was trained, so there is no degradation to compare.";
        double Final(string name) => runs.Single(r => r.Name == name).TrainError[^1];
        int lo = depths[0], hi = depths[^1];
        double plainLo = Final($"plain-{lo}"), plainHi = Final($"plain-{hi}"), resLo = Final($"resnet-{lo}"), resHi = Final($"resnet-{hi}");
        string plain = plainHi > plainLo
            ? string.Create(CultureInfo.InvariantCulture, $"The deeper plain net degrades: plain-{hi} ends with {Pct(plainHi)} training error against {Pct(plainLo)} for plain-{lo}")
            : string.Create(CultureInfo.InvariantCulture, $"This run shows no degradation of the plain nets: plain-{hi} ends with {Pct(plainHi)} training error against {Pct(plainLo)} for plain-{lo}");
        string residual = resHi <= resLo
            ? string.Create(CultureInfo.InvariantCulture, $"; with shortcuts the deeper net does not (resnet-{hi} {Pct(resHi)}, resnet-{lo} {Pct(resLo)}).")
            : string.Create(CultureInfo.InvariantCulture, $"; resnet-{hi} ends at {Pct(resHi)} against {Pct(resLo)} for resnet-{lo}, so the residual nets did not cure it in this run.");
        return plain + residual;
    }
}
