using System.Globalization;
using System.Text.Json;
using Nabla.Data;
using Nabla.Data.Transforms;
using Nabla.Generative;
using Nabla.Optim;
using Nabla.Serialization;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// <c>nabla gan train|sample</c>: a class-conditional DCGAN on image data, its sample grids, losses and quality
/// measures, and samples drawn from a trained generator.
/// </summary>
internal static class GanCommand
{
    private static readonly Opt Epochs = new() { Name = "--epochs", Value = "N", Help = "passes over the data", Default = "10" };
    private static readonly Opt BatchSize = new() { Name = "--batch-size", Value = "N", Help = "real images per step (2..4096)", Default = "64" };
    private static readonly Opt Lr = new() { Name = "--lr", Value = "X", Help = "Adam's step size for both networks (DCGAN's)", Default = "0.0002" };
    private static readonly Opt Latent = new() { Name = "--latent", Value = "N", Help = "size of the latent code z", Default = "64" };
    private static readonly Opt Width = new() { Name = "--width", Value = "N", Help = "channels of the generator's last and the discriminator's first map", Default = "64" };
    private static readonly Opt Smoothing = new() { Name = "--label-smoothing", Value = "S", Help = "one-sided: the discriminator's target for real images is 1 − S", Default = "0" };
    private static readonly Opt Spectral = new() { Name = "--spectral-norm", Help = "spectrally normalise the discriminator's weight layers (instead of its BatchNorm)" };
    private static readonly Opt EvalSamples = new() { Name = "--eval-samples", Value = "N", Help = "generated and real images per quality measurement (0: no measurement)", Default = "10000" };
    private static readonly Opt ClassifierEpochs = new() { Name = "--classifier-epochs", Value = "N", Help = "epochs of the domain classifier (cnn) that judges the samples", Default = "3" };
    private static readonly Opt Out = new() { Name = "--out", Value = "DIR", Help = "the run folder", Default = "runs/gan-<time>" };
    private static readonly Opt Resume = new() { Name = "--resume", Value = "DIR", Help = "continue the run in DIR from its checkpoint (the same options)" };
    private static readonly Opt Model = new() { Name = "--model", Value = "DIR", Help = "a folder written by nabla gan train" };
    private static readonly Opt PerClass = new() { Name = "--per-class", Value = "N", Help = "samples of each class (1..64), one row per class", Default = "10" };
    private static readonly Opt SampleOut = new() { Name = "--out", Value = "FILE.png", Help = "the grid to write (replaced if it is a regular file)", Default = "samples.png" };

    internal static readonly Opt[] TrainOptions =
        [RunOptions.Data, RunOptions.Label, RunOptions.ImageSize, RunOptions.Grayscale, Epochs, BatchSize, Lr, Latent, Width, Smoothing, Spectral, EvalSamples, ClassifierEpochs,
         RunOptions.Seed, Out, RunOptions.Overwrite, Resume];
    internal static readonly Opt[] SampleOptions = [Model, PerClass, RunOptions.Seed, SampleOut];

    public static string Help => """
        nabla gan — a class-conditional GAN that generates training images

        Usage:
          nabla gan train [--data embedded|fashion-mnist|DIR] [--epochs 10] [--out DIR] [options]
          nabla gan sample --model DIR [--per-class 10] [--out samples.png]

        train: a DCGAN (Radford et al.) conditioned on the class, trained with DCGAN's Adam (lr 2e-4, β1 0.5) on the
        images scaled to [−1, 1]. The run folder gets samples-epoch-N.png (one row per class), losses.png, metrics.json
        (per epoch: both losses, the discriminator's mean scores, and — unless --eval-samples 0 — class fidelity and a
        Fréchet distance measured with a cnn trained on the real images; at the end, train-on-synthetic/test-on-real
        accuracy), generator.safetensors with config.json, and checkpoint.safetensors for --resume.
        The Fréchet distance uses that domain classifier's features, not Inception's: compare it only between runs
        on the same data.
        """ + "\n" + Opt.Render([("train options", TrainOptions), ("sample options", SampleOptions)]) + "\n";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool interactive)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            stdout.Write(Help);
            return Program.Ok;
        }
        return args[0] switch
        {
            "train" => Train(args[1..], stdout, interactive),
            "sample" => Sample(args[1..], stdout),
            _ => throw new UsageException($"unknown gan command '{CliArgs.Clip(args[0])}': use 'gan train' or 'gan sample' (see nabla gan --help)."),
        };
    }

    // What config.json records: enough to rebuild the generator and to check a resume.
    private sealed record GanConfig(string Data, int[] SampleShape, int Classes, string[] ClassNames, int Latent, int Width, bool SpectralNorm,
        int Epochs, int BatchSize, double Lr, float LabelSmoothing, int Seed, int EvalSamples, int ClassifierEpochs);

    private static int Train(string[] args, TextWriter stdout, bool interactive)
    {
        var a = new CliArgs(args, TrainOptions);
        if (a.HelpRequested)
        {
            stdout.Write(Help);
            return Program.Ok;
        }
        string? resume = a.String("--resume");
        GanConfig cfg;
        string dir;
        var given = a.Given.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        if (resume is not null)
        {
            if (a.Has("--out")) throw new UsageException("--resume DIR continues the run in DIR; leave out --out.");
            dir = resume;
            cfg = ReadConfig(dir, "--resume");
            if (!File.Exists(Path.Combine(dir, "checkpoint.safetensors")))
                throw new UsageException($"--resume {dir}: no checkpoint.safetensors to continue from.");
            cfg = cfg with { Epochs = a.Int("--epochs", cfg.Epochs, 1, 100_000) };
        }
        else
        {
            cfg = new GanConfig(a.String("--data", "embedded"), [], 0, [], a.Int("--latent", 64, 1, 4096), a.Int("--width", 64, 1, 1024), a.Flag("--spectral-norm"),
                a.Int("--epochs", 10, 1, 100_000), a.Int("--batch-size", 64, 2, 4096), a.Double("--lr", 2e-4, 0, 1, exclusiveMin: true),
                (float)a.Double("--label-smoothing", 0, 0, 0.99), a.Int("--seed", 0), a.Int("--eval-samples", 10_000, 0, 1_000_000),
                a.Int("--classifier-epochs", 3, 1, 1000));
            dir = a.String("--out") ?? Output.NewRunFolder("gan-");
        }
        // The GAN trains on every training image; the quality measures test on the source's own test split (Fashion-MNIST's
        // 10,000, an image folder's test/), which the GAN never sees, or else on 10% of the images (then seen by the GAN).
        var config = RunOptions.Apply(new RunConfig { Data = cfg.Data, Test = "none" }, a);
        var kind = DataSources.KindOf(cfg.Data);
        bool ownTest = kind is SourceKind.Embedded or SourceKind.FashionMnist or SourceKind.Idx ||
            kind == SourceKind.Images && Directory.Exists(Path.Combine(cfg.Data, "train")) && Directory.Exists(Path.Combine(cfg.Data, "test"));
        var data = DataSources.Load(config with { Test = ownTest ? "default" : "none" }, given);
        var train = data.Train;
        if (train.Task != TaskKind.Classification || train.SampleShape.Length != 3)
            throw new UsageException($"--data {cfg.Data}: a conditional GAN needs labelled images (C, H, W); this data is {Shapes.Format(train.SampleShape)}.");
        if (train.SampleShape[1] < 4 || train.SampleShape[2] < 4)
            throw new UsageException($"--data {cfg.Data}: images of {train.SampleShape[1]}×{train.SampleShape[2]} are too small (at least 4×4).");
        if (train.Count < cfg.BatchSize)
            throw new UsageException($"--batch-size {cfg.BatchSize}: the data has only {train.Count} images.");
        if (resume is not null && (!cfg.SampleShape.SequenceEqual(train.SampleShape) || cfg.Classes != train.NumClasses))
            throw new UsageException($"--resume {dir}: the data now gives {Shapes.Format(train.SampleShape)} images of {train.NumClasses} classes, the run had {Shapes.Format(cfg.SampleShape)} of {cfg.Classes}.");
        cfg = cfg with { SampleShape = train.SampleShape, Classes = train.NumClasses, ClassNames = [.. train.ClassNames] };
        if (resume is null) Output.PrepareRunFolder(dir, a.Flag("--overwrite"));
        else Output.PrepareResumeFolder(dir);
        WriteConfig(dir, cfg);

        var g = new DcganGenerator(cfg.Latent, cfg.Classes, cfg.SampleShape, new Generator(cfg.Seed), cfg.Width);
        var d = new DcganDiscriminator(cfg.Classes, cfg.SampleShape, new Generator(cfg.Seed + 1), cfg.Width, cfg.SpectralNorm);
        stdout.WriteLine($"{data.Description}: {train.Count} images {Shapes.Format(cfg.SampleShape)}, {cfg.Classes} classes; " +
            $"generator {g.Parameters().Sum(p => p.Numel):N0} parameters, discriminator {d.Parameters().Sum(p => p.Numel):N0}");

        // The judge: a cnn trained on the real images (scaled as they come, [0, 1]), with its held-out accuracy.
        Quality? quality = null;
        if (cfg.EvalSamples > 0) quality = Quality.Prepare(train, data.Test, cfg, dir, stdout);

        var rows = new List<Dictionary<string, double>>();
        var options = new GanOptions
        {
            Epochs = cfg.Epochs, BatchSize = cfg.BatchSize, LearningRate = cfg.Lr, LabelSmoothing = cfg.LabelSmoothing, Seed = cfg.Seed,
            CheckpointPath = Path.Combine(dir, "checkpoint.safetensors"),
            Transform = static (b, _) => b with { Features = b.Features * 2f - 1f },
        };
        GanHistory history = null!;
        void Fit(Action<int, int>? onBatch, Action<GanEpoch> report)
        {
            var o = options with
            {
                OnBatch = onBatch,
                OnEpoch = e =>
                {
                    WriteGrid(g, cfg, Path.Combine(dir, $"samples-epoch-{e.Epoch + 1}.png"));
                    quality?.Measure(g, e);
                    report(e);
                },
            };
            var trainer = new GanTrainer(o);
            if (resume is null) history = trainer.Train(g, d, train);
            else
            {
                // A checkpoint that cannot be read or does not fit is the user's file, not a bug: one line, exit 2.
                StateDict checkpoint;
                try
                {
                    checkpoint = SafeTensors.Read(Path.Combine(dir, "checkpoint.safetensors"));
                }
                catch (SafeTensorsFormatException e)
                {
                    throw new UsageException($"--resume {dir}: checkpoint.safetensors is not readable ({e.Message.ReplaceLineEndings(" ")}).");
                }
                if (!checkpoint.Metadata.ContainsKey("gan_history") || !checkpoint.Metadata.ContainsKey("epoch"))
                    throw new UsageException($"--resume {dir}: checkpoint.safetensors is not a GAN training checkpoint.");
                history = trainer.Resume(checkpoint, g, d, train);
            }
        }
        string Line(GanEpoch e) => string.Create(CultureInfo.InvariantCulture,
            $"epoch {e.Epoch + 1}/{cfg.Epochs}  D {e.DiscriminatorLoss:F4}  G {e.GeneratorLoss:F4}  D(x) {e.RealScore:F3}  D(G(z)) {e.FakeScore:F3}") +
            (e.Metrics.TryGetValue("class_fidelity", out var f) ? string.Create(CultureInfo.InvariantCulture, $"  fidelity {f:F3}  FID(domain) {e.Metrics["domain_fid"]:F2}") : "") +
            string.Create(CultureInfo.InvariantCulture, $"  {e.Seconds:F1} s");
        if (interactive)
        {
            AnsiConsole.Progress().AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    ProgressTask? bar = null;
                    Fit((i, n) =>
                    {
                        bar ??= ctx.AddTask("epoch", maxValue: n);
                        bar.Value = i;
                    }, e =>
                    {
                        if (bar is not null)
                        {
                            bar.Description = Markup.Escape(Line(e));
                            bar.StopTask();
                        }
                        bar = null;
                    });
                });
        }
        else Fit(null, e => stdout.WriteLine(Line(e)));

        SafeTensors.Write(Path.Combine(dir, "generator.safetensors"), g.StateDict());
        double? tstr = quality?.TrainOnSynthetic(g, cfg, stdout);
        WriteMetrics(Path.Combine(dir, "metrics.json"), history, quality, tstr);
        Plots.SaveGanLosses(history, Path.Combine(dir, "losses.png"));
        stdout.WriteLine($"wrote {dir}: generator.safetensors, config.json, metrics.json, losses.png, samples-epoch-1..{cfg.Epochs}.png");
        return Program.Ok;
    }

    private static int Sample(string[] args, TextWriter stdout)
    {
        var a = new CliArgs(args, SampleOptions);
        if (a.HelpRequested)
        {
            stdout.Write(Help);
            return Program.Ok;
        }
        string dir = a.String("--model") ?? throw new UsageException("--model DIR is required (a folder written by nabla gan train).");
        var cfg = ReadConfig(dir, "--model");
        int perClass = a.Int("--per-class", 10, 1, 64);
        string path = a.String("--out", "samples.png");
        DcganGenerator g;
        try
        {
            g = GanModel.Load(dir);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--model {dir}: {e.Message.ReplaceLineEndings(" ")}");
        }
        Output.PrepareFile(path);
        WriteGrid(g, cfg, path, perClass, a.Int("--seed", 0));
        stdout.WriteLine($"{cfg.Classes} classes × {perClass} samples ({string.Join(", ", cfg.ClassNames.Take(10))}{(cfg.Classes > 10 ? ", …" : "")}) → {path}");
        return Program.Ok;
    }

    // One row per class, samples mapped back from (−1, 1) to [0, 1].
    private static void WriteGrid(DcganGenerator g, GanConfig cfg, string path, int perClass = 10, int seed = 12345)
    {
        var (samples, _) = GanSampling.PerClass(g, perClass, new Generator(seed));
        var images = new List<Tensor>();
        var pixels = (samples + 1f) * 0.5f;
        for (int i = 0; i < pixels.Shape[0]; i++) images.Add(pixels.Select(0, i));
        var grid = Augmentation.Grid(images, perClass, out int height, out int width);
        Imaging.ImageFolder.SavePng(grid, 3, height, width, path);
    }

    private static void WriteConfig(string dir, GanConfig c) => Reports.WriteJson(Path.Combine(dir, "config.json"), w =>
    {
        w.WriteStartObject();
        w.WriteString("kind", "gan");
        w.WriteString("data", c.Data);
        w.WriteStartArray("sample_shape");
        foreach (int s in c.SampleShape) w.WriteNumberValue(s);
        w.WriteEndArray();
        w.WriteNumber("classes", c.Classes);
        w.WriteStartArray("class_names");
        foreach (var n in c.ClassNames) w.WriteStringValue(n);
        w.WriteEndArray();
        w.WriteNumber("latent", c.Latent);
        w.WriteNumber("width", c.Width);
        w.WriteBoolean("spectral_norm", c.SpectralNorm);
        w.WriteNumber("epochs", c.Epochs);
        w.WriteNumber("batch_size", c.BatchSize);
        w.WriteNumber("lr", c.Lr);
        w.WriteNumber("label_smoothing", c.LabelSmoothing);
        w.WriteNumber("seed", c.Seed);
        w.WriteNumber("eval_samples", c.EvalSamples);
        w.WriteNumber("classifier_epochs", c.ClassifierEpochs);
        w.WriteEndObject();
    });

    private static GanConfig ReadConfig(string dir, string option)
    {
        string path = Path.Combine(dir, "config.json");
        if (!File.Exists(path)) throw new UsageException($"{option} {dir}: no config.json (not a folder written by nabla gan train).");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var r = doc.RootElement;
            if (!r.TryGetProperty("kind", out var kind) || kind.GetString() != "gan")
                throw new UsageException($"{option} {dir}: config.json is not a GAN run's (no \"kind\": \"gan\").");
            var shape = r.GetProperty("sample_shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            int classes = r.GetProperty("classes").GetInt32(), latent = r.GetProperty("latent").GetInt32(), width = r.GetProperty("width").GetInt32();
            if (shape.Length != 3 || shape.Any(s => s < 1) || shape[1] < 4 || shape[2] < 4 || classes < 1 || latent < 1 || width < 1 || width > 1024 || latent > 4096)
                throw new UsageException($"{option} {dir}: config.json holds an impossible generator (shape {Shapes.Format(shape)}, {classes} classes, latent {latent}, width {width}).");
            return new GanConfig(r.GetProperty("data").GetString()!, shape, classes, [.. r.GetProperty("class_names").EnumerateArray().Select(e => e.GetString()!)],
                latent, width, r.GetProperty("spectral_norm").GetBoolean(), r.GetProperty("epochs").GetInt32(), r.GetProperty("batch_size").GetInt32(),
                r.GetProperty("lr").GetDouble(), r.GetProperty("label_smoothing").GetSingle(), r.GetProperty("seed").GetInt32(),
                r.GetProperty("eval_samples").GetInt32(), r.GetProperty("classifier_epochs").GetInt32());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or NullReferenceException)
        {
            throw new UsageException($"{option} {dir}: config.json is malformed ({e.Message.ReplaceLineEndings(" ")}).");
        }
    }

    private static void WriteMetrics(string path, GanHistory history, Quality? quality, double? tstr) => Reports.WriteJson(path, w =>
    {
        w.WriteStartObject();
        w.WriteBoolean("captured_step", history.CapturedStep);
        if (history.CaptureNote is null) w.WriteNull("capture_note");
        else w.WriteString("capture_note", history.CaptureNote);
        if (quality is not null)
        {
            w.WriteString("fid_note", "Fréchet distance on the penultimate features of a cnn trained on the real training images (not Inception FID)");
            Reports.WriteNumber(w, "classifier_test_accuracy", quality.ClassifierAccuracy);
            w.WriteNumber("eval_samples", quality.Samples);
            w.WriteNumber("real_test_images", quality.RealTest.Count);
        }
        if (tstr is double t) Reports.WriteNumber(w, "train_on_synthetic_test_on_real_accuracy", t);
        w.WriteStartArray("epochs");
        foreach (var e in history.Epochs)
        {
            w.WriteStartObject();
            w.WriteNumber("epoch", e.Epoch + 1);
            Reports.WriteNumber(w, "d_loss", e.DiscriminatorLoss);
            Reports.WriteNumber(w, "g_loss", e.GeneratorLoss);
            Reports.WriteNumber(w, "d_real", e.RealScore);
            Reports.WriteNumber(w, "d_fake", e.FakeScore);
            Reports.WriteNumber(w, "seconds", e.Seconds);
            foreach (var (k, v) in e.Metrics) Reports.WriteNumber(w, k, v);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    });

    /// <summary>The domain classifier and the real images' features it judges generated ones against.</summary>
    private sealed class Quality
    {
        public required Sequential Classifier { get; init; }
        public required Tensor RealFeatures { get; init; }
        public required TensorDataset RealTest { get; init; }
        public required double ClassifierAccuracy { get; init; }
        public required int Samples { get; init; }

        public static Quality Prepare(TensorDataset train, TensorDataset? test, GanConfig cfg, string dir, TextWriter log)
        {
            var (fit, held) = test is null ? DataSources.Holdout(train, 0.1, cfg.Seed, "--data") : (train, test);
            var classifier = (Sequential)Models.FromSpec("cnn", cfg.SampleShape, cfg.Classes, new Generator(cfg.Seed + 7));
            var loss = new CrossEntropyLoss();
            var trainer = new Training.Trainer(new Training.TrainerOptions { BatchSize = 128, Seed = cfg.Seed });
            trainer.Fit(classifier, loss, new Adam(classifier.Parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.999), fit, null, cfg.ClassifierEpochs);
            double accuracy = trainer.Evaluate(classifier, loss, held).Metrics["accuracy"];
            SafeTensors.Write(Path.Combine(dir, "classifier.safetensors"), classifier.StateDict());
            int n = Math.Min(cfg.EvalSamples, fit.Count);
            var rows = Enumerable.Range(0, n).Select(i => (int)((long)i * fit.Count / n)).ToArray();
            var real = GanEvaluation.Features(classifier, fit.Rows(rows));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"domain classifier (cnn, {cfg.ClassifierEpochs} epochs on {fit.Count} real images): accuracy {accuracy:F4} on {held.Count} {(test is null ? "held-out training images (seen by the GAN)" : "test images")}; measuring on {n} real vs {cfg.EvalSamples} generated images"));
            return new Quality { Classifier = classifier, RealFeatures = real, RealTest = held, ClassifierAccuracy = accuracy, Samples = cfg.EvalSamples };
        }

        public void Measure(DcganGenerator g, GanEpoch e)
        {
            var set = GanSampling.Dataset(g, Samples, new Generator(777), x => (x + 1f) * 0.5f);
            var (fidelity, perClass) = GanEvaluation.ClassFidelity(Classifier, set.Features, set.Labels!, g.Classes);
            e.Metrics["class_fidelity"] = fidelity;
            for (int c = 0; c < perClass.Length; c++) e.Metrics[$"class_fidelity_{c}"] = perClass[c];
            e.Metrics["domain_fid"] = GanEvaluation.FrechetDistance(RealFeatures, GanEvaluation.Features(Classifier, set.Features));
        }

        public double TrainOnSynthetic(DcganGenerator g, GanConfig cfg, TextWriter log)
        {
            var synthetic = GanSampling.Dataset(g, Samples, new Generator(778), x => (x + 1f) * 0.5f);
            double acc = GanEvaluation.TrainOnSyntheticTestOnReal(() => Models.FromSpec("cnn", cfg.SampleShape, cfg.Classes, new Generator(cfg.Seed + 8)),
                synthetic, RealTest, cfg.ClassifierEpochs, cfg.Seed);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"train on {Samples} generated images, test on {RealTest.Count} real: accuracy {acc:F4} (the classifier trained on real images: {ClassifierAccuracy:F4})"));
            return acc;
        }
    }
}
