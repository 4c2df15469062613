using System.Text.Json;
using static Nabla.Tests.ReliabilityTests;

namespace Nabla.Tests;

/// <summary>What the CLI promises beyond refusing bad input: --test, one model-option table for every command, the
/// optimizer settings, the library features it exposes, --config, summary and grids over any setting.</summary>
public class CliSeamTests
{
    static string Csv(Scratch s, string name = "t.csv") => s.File(name, File.ReadAllBytes(Path.Combine(Fixtures.Dir, "cli_train.csv")));

    static string[] Rows(string csv) => File.ReadAllLines(csv);

    static JsonElement Metrics(string dir) => JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "metrics.json"))).RootElement;

    static string[] Quick(string csv, string outDir, int epochs = 2) =>
        ["train", "--data", csv, "--label", "y", "--model", "mlp:8", "--epochs", $"{epochs}", "--validation", "none", "--out", outDir];

    // ---- --test ------------------------------------------------------------------------------------------

    [Fact]
    public void Test_takes_a_fraction_none_or_a_file_laid_out_by_name()
    {
        using var s = new Scratch();
        string csv = Csv(s);
        var r = Run([.. Quick(csv, s.P("frac")), "--test", "0.25"]);
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(15, Metrics(s.P("frac")).GetProperty("dataset").GetProperty("test").GetInt32());   // 5 of each class's 20
        Assert.Equal(45, Metrics(s.P("frac")).GetProperty("dataset").GetProperty("train").GetInt32());

        r = Run([.. Quick(csv, s.P("none")), "--test", "none"]);
        Assert.True(r.Code == 0, r.Err);
        Assert.False(Metrics(s.P("none")).TryGetProperty("test", out _));
        Assert.Equal(60, Metrics(s.P("none")).GetProperty("dataset").GetProperty("train").GetInt32());

        // A test file with its columns in another order and two classes of three: matched by name.
        var lines = Rows(csv);
        var header = lines[0].Split(',');
        int[] order = [5, 4, 0, 3, 1, 2];
        var picked = lines.Skip(1).Where(l => !l.EndsWith(",2", StringComparison.Ordinal)).Take(12)
            .Select(l => string.Join(",", order.Select(i => l.Split(',')[i])));
        string testFile = s.Text("test.csv", string.Join("\n", [string.Join(",", order.Select(i => header[i])), .. picked]));
        r = Run([.. Quick(csv, s.P("file")), "--test", testFile, "--json"]);
        Assert.True(r.Code == 0, r.Err);
        var m = JsonDocument.Parse(r.Out).RootElement;
        Assert.Equal(12, m.GetProperty("dataset").GetProperty("test").GetInt32());
        Assert.Equal(3, m.GetProperty("confusion").GetArrayLength());   // still the model's three classes

        // The same run scored by evaluate on every row of the file.
        r = Run("evaluate", "--model", s.P("none"), "--test", "none", "--json");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(60, JsonDocument.Parse(r.Out).RootElement.GetProperty("count").GetInt32());

        // A test file with a class the model never saw, or without a feature column, is refused by name.
        string unknown = s.Text("unknown.csv", "f0,f1,f2,f3,f4,y\n1,2,3,4,5,7\n");
        AssertOneLine(2, Run([.. Quick(csv, s.P("bad1")), "--test", unknown]), "class '7'");
        string missing = s.Text("missing.csv", "f0,f1,f2,f3,y\n1,2,3,4,1\n");
        AssertOneLine(2, Run([.. Quick(csv, s.P("bad2")), "--test", missing]), "'f4'");
        Assert.False(Directory.Exists(s.P("bad1")) || Directory.Exists(s.P("bad2")));
    }

    [Fact]
    public void Evaluate_rebuilds_any_model_train_can_build_from_a_bare_file()
    {
        using var s = new Scratch();
        string csv = Csv(s);
        // A Linear–BatchNorm1d–ReLU–Linear saved without its run folder, as a PyTorch user would have it.
        var r = Run([.. Quick(csv, s.P("run")), "--norm", "batch", "--test", "none"]);
        Assert.True(r.Code == 0, r.Err);
        string weights = s.P("weights.safetensors");
        File.Copy(Path.Combine(s.P("run"), "model.safetensors"), weights);
        var e = Run("evaluate", "--model", weights, "--arch", "mlp:8", "--norm", "batch", "--data", csv, "--label", "y", "--test", "none", "--json");
        Assert.True(e.Code == 0, e.Err);
        var folder = Run("evaluate", "--model", s.P("run"), "--test", "none", "--json");
        Assert.Equal(JsonDocument.Parse(folder.Out).RootElement.GetProperty("accuracy").GetDouble(),
            JsonDocument.Parse(e.Out).RootElement.GetProperty("accuracy").GetDouble());
        // Without --norm the layout differs, and the message says which keys.
        AssertOneLine(2, Run("evaluate", "--model", weights, "--arch", "mlp:8", "--data", csv, "--label", "y"), "1.running_mean");
        // A run folder already says its layout.
        AssertOneLine(2, Run("evaluate", "--model", s.P("run"), "--norm", "layer"), "--norm");
    }

    // ---- optimizers, features, --config, summary, grids ----------------------------------------------------

    [Fact]
    public void Train_help_shows_every_optimizers_defaults_and_the_lectures_constants()
    {
        var r = Run("train", "--help");
        Assert.Equal(0, r.Code);
        Assert.EndsWith("\n", r.Out);
        Assert.Contains("betas 0.9,0.999", r.Out);
        Assert.Contains("alpha 0.9", r.Out);
        Assert.Contains("The lecture's constants: Adam η 3e-4, β1 0.9, β2 0.99", r.Out);
        foreach (var o in Nabla.Cli.RunOptions.All) Assert.Contains(o.Name, r.Out);
    }

    [Fact]
    public void Config_json_reads_back_every_setting_it_wrote()
    {
        string[] args =
        [
            "--data", "x.csv", "--label", "y", "--task", "classification", "--test", "0.3", "--model", "mlp:7,5", "--activation", "tanh",
            "--norm", "layer", "--norm-after", "--weight-norm", "ws", "--dropout", "0.2", "--input-dropout", "0.1", "--noise", "0.05",
            "--dropout-mode", "classic", "--ensemble", "2", "--optimizer", "rmsprop", "--lr", "0.02", "--momentum", "0.5",
            "--weight-decay", "1e-4", "--eps", "1e-6", "--alpha", "0.95", "--batch-size", "17", "--epochs", "9", "--shuffle", "false",
            "--validation", "holdout:0.2", "--early-stopping", "3", "--stop-when-stable", "1e-4", "--schedule", "cosine", "--warmup", "2",
            "--init", "w.safetensors", "--seed", "42", "--normalize", "--l1", "1e-5", "--l2", "2e-5", "--weight-noise", "0.01",
            "--augment", "mixup:0.2", "--adversarial", "0.01", "--label-smoothing", "0.1", "--class-weights", "balanced", "--clip-grad", "2",
            "--threads", "1",
        ];
        var config = Nabla.Cli.RunOptions.Apply(new Nabla.Cli.RunConfig(), new Nabla.Cli.CliArgs(args, Nabla.Cli.TrainCommand.Options)).Resolved();
        byte[] first = Nabla.Cli.Reports.JsonBytes(config.Write);
        var back = Nabla.Cli.RunConfig.Parse(first, "config.json");
        Assert.Equal(first, Nabla.Cli.Reports.JsonBytes(back.Write));
        Assert.Equal(0.95, back.Alpha);
        Assert.Equal("classic", back.DropoutMode);
        Assert.Equal("0.3", back.Test);
    }

    [Fact]
    public void A_config_json_of_the_first_version_means_what_that_nabla_built()
    {
        // 0.1 ignored these on residual nets and in these optimizers; its runs must rebuild as they trained.
        var old = Nabla.Cli.RunConfig.Parse("""
            {"model": "resnet:20", "norm": "none", "activation": "tanh", "weight_norm": "ws", "dropout": 0.5, "optimizer": "adamw",
             "momentum": 0.9, "weight_decay": 0}
            """u8, "old.json").Resolved();
        Assert.Equal(("relu", "batch", "none", 0.0), (old.Activation, old.EffectiveNorm, old.WeightNorm, old.Dropout));
        Assert.Equal(0.01, old.WeightDecay);
        Assert.Null(old.Momentum);
        var nesterov = Nabla.Cli.RunConfig.Parse("""{"optimizer": "nesterov", "momentum": 0}"""u8, "old.json").Resolved();
        Assert.Equal(0.9, nesterov.Momentum);
    }

    [Fact]
    public void An_ensemble_trains_without_a_test_set_and_a_finished_run_is_not_resumed()
    {
        using var s = new Scratch();
        string csv = Csv(s);
        var r = Run([.. Quick(csv, s.P("ens")), "--ensemble", "2", "--test", "none", "--json"]);
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(2, JsonDocument.Parse(r.Out).RootElement.GetProperty("members").GetInt32());
        Assert.False(JsonDocument.Parse(r.Out).RootElement.TryGetProperty("test", out _));
        AssertOneLine(2, Run("train", "--resume", Path.Combine(s.P("ens"), "member-0")), "finished");
    }

    [Fact]
    public void Config_repeats_a_run_and_options_given_beside_it_override_it()
    {
        using var s = new Scratch();
        string csv = Csv(s);
        Assert.Equal(0, Run([.. Quick(csv, s.P("a")), "--optimizer", "momentum", "--seed", "3"]).Code);
        var r = Run("train", "--config", s.P("a", "config.json"), "--out", s.P("b"));
        Assert.True(r.Code == 0, r.Err);
        var a = Serialization.SafeTensors.Read(s.P("a", "model.safetensors"));
        var b = Serialization.SafeTensors.Read(s.P("b", "model.safetensors"));
        foreach (var (k, v) in a) Assert.Equal(v.Float!.ToArray(), b[k].Float!.ToArray());
        r = Run("train", "--config", s.P("a"), "--epochs", "1", "--out", s.P("c"));
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(1, Metrics(s.P("c")).GetProperty("epochs_run").GetInt32());
        Assert.Equal("momentum", Metrics(s.P("c")).GetProperty("config").GetProperty("optimizer").GetString());
    }

    [Fact]
    public void Clip_grad_bounds_every_step_and_warmup_ramps_the_rate()
    {
        using var s = new Scratch();
        string csv = Csv(s), init = Path.Combine(Fixtures.Dir, "cli_init.safetensors");
        string[] common = ["--test", "none", "--shuffle", "false", "--schedule", "none", "--init", init, "--optimizer", "sgd", "--lr", "0.1", "--batch-size", "8"];
        var r = Run([.. Quick(csv, s.P("clip")), .. common, "--clip-grad", "1e-4"]);
        Assert.True(r.Code == 0, r.Err);
        // 2 epochs × 8 steps, each moving the weights by at most lr · 1e-4 in L2: at most 1.6e-4 in all.
        var start = Serialization.SafeTensors.Read(init);
        var end = Serialization.SafeTensors.Read(s.P("clip", "model.safetensors"));
        double moved = Math.Sqrt(start.Sum(kv => kv.Value.Float!.ToArray().Zip(end[kv.Key].Float!.ToArray(), (x, y) => (double)(x - y) * (x - y)).Sum()));
        Assert.InRange(moved, 1e-6, 1.6e-4 * 1.001);

        r = Run([.. Quick(csv, s.P("warm"), epochs: 3), .. common, "--warmup", "2"]);
        Assert.True(r.Code == 0, r.Err);
        var lrs = Metrics(s.P("warm")).GetProperty("history").EnumerateArray().Select(e => e.GetProperty("lr").GetDouble()).ToArray();
        // torch's LinearLR(start_factor=0.01, total_iters=16) per step: 8 steps into 16, then warm.
        Assert.Equal(0.1 * (0.01 + 0.99 * 8 / 16), lrs[0], 12);
        Assert.Equal(0.1, lrs[1], 12);
        Assert.Equal(0.1, lrs[2], 12);
        var history = Metrics(s.P("warm")).GetProperty("config");
        Assert.Equal(2, history.GetProperty("warmup").GetInt32());
    }

    [Fact]
    public void Class_weights_and_label_smoothing_reach_the_loss()
    {
        using var s = new Scratch();
        var lines = new List<string> { "a,b,y" };
        for (int i = 0; i < 40; i++) lines.Add($"{i % 7},{i % 5},{(i < 30 ? 0 : 1)}");
        string csv = s.Text("imbalanced.csv", string.Join("\n", lines));
        var data = Data.CsvTable.Load(csv, "y", Data.TaskKind.Classification);
        // scikit-learn's compute_class_weight('balanced'): n / (classes · count) = 40/(2·30), 40/(2·10).
        Assert.Equal([40f / 60, 40f / 20], Nabla.Training.Recipe.BalancedWeights(data));
        var config = new Nabla.Cli.RunConfig { ClassWeights = "balanced", LabelSmoothing = 0.1 };
        var loss = Assert.IsType<CrossEntropyLoss>(Nabla.Cli.TrainCommand.BuildLoss(config, data));
        Assert.Equal(0.1f, loss.LabelSmoothing);
        Assert.Equal([40f / 60, 2f], loss.Weight!.ToArray());
        var r = Run("train", "--data", csv, "--label", "y", "--model", "mlp:4", "--epochs", "1", "--validation", "none",
            "--class-weights", "balanced", "--label-smoothing", "0.1", "--out", s.P("run"));
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal("balanced", Metrics(s.P("run")).GetProperty("config").GetProperty("class_weights").GetString());
    }

    [Fact]
    public void Summary_counts_a_model_without_building_it()
    {
        var r = Run("summary", "--model", "mlp:256,128", "--json");
        Assert.True(r.Code == 0, r.Err);
        var s = JsonDocument.Parse(r.Out).RootElement;
        Assert.Equal(784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10, s.GetProperty("parameters").GetInt64());
        Assert.True(s.GetProperty("fits").GetBoolean());
        Assert.Equal(5, s.GetProperty("layers").GetArrayLength());
        var huge = Run("summary", "--model", "mlp:20000000");
        Assert.True(huge.Code == 0, huge.Err);
        Assert.Contains("exceeds the limit", huge.Out);
        var resnet = Run("summary", "--model", "resnet:20", "--norm", "group:4");
        Assert.True(resnet.Code == 0, resnet.Err);
        Assert.Contains("GroupNorm", resnet.Out);
    }

    [Fact]
    public void Search_varies_any_setting_including_quoted_values_with_commas()
    {
        using var s = new Scratch();
        string csv = Csv(s);
        var r = Run("search", "--data", csv, "--label", "y", "--scheme", "holdout:0.3", "--epochs", "1", "--model", "mlp:8",
            "--grid", "norm=batch|none;dropout=0,0.5;optimizer=sgd,adam", "--out", s.P("grid"), "--json");
        Assert.True(r.Code == 0, r.Err);
        var candidates = JsonDocument.Parse(r.Out).RootElement.GetProperty("candidates");
        Assert.Equal(8, candidates.GetArrayLength());
        r = Run("search", "--scheme", "holdout:0.3", "--epochs", "1", "--model", "mlp:8", "--grid", "augment=none|\"hflip,crop:2\"",
            "--out", s.P("aug"), "--json");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(["hflip,crop:2", "none"], JsonDocument.Parse(r.Out).RootElement.GetProperty("candidates").EnumerateArray()
            .Select(c => c.GetProperty("params").GetProperty("augment").GetString()).Order());
        AssertOneLine(2, Run("search", "--scheme", "holdout:0.3", "--grid", "lr=0.1", "--lr", "0.2", "--out", s.P("twice")), "also given as --lr");
    }

    [Fact]
    public void Residual_nets_take_the_options_that_mean_something_for_them()
    {
        using var s = new Scratch();
        foreach (var c in new[] { "a", "b" })
            for (int i = 0; i < 6; i++) s.File(Path.Combine("img", c, $"{i}.png"), ImagingTests.Png(10 + i, 9 + i));
        var r = Run("train", "--data", s.P("img"), "--image-size", "8", "--model", "resnet:8", "--norm", "group:4", "--activation", "tanh",
            "--dropout", "0.2", "--weight-norm", "ws", "--epochs", "1", "--validation", "none", "--test", "none", "--out", s.P("run"));
        Assert.True(r.Code == 0, r.Err);
        var config = Metrics(s.P("run")).GetProperty("config");
        Assert.Equal("group:4", config.GetProperty("norm").GetString());
        Assert.Equal("tanh", config.GetProperty("activation").GetString());
        var keys = Serialization.SafeTensors.Read(s.P("run", "model.safetensors")).Keys.ToArray();
        Assert.Contains("layer1.0.bn1.weight", keys);                       // GroupNorm under torchvision's name
        Assert.DoesNotContain(keys, k => k.EndsWith("running_mean", StringComparison.Ordinal));
        var e = Run("evaluate", "--model", s.P("run"), "--test", "none", "--json");
        Assert.True(e.Code == 0, e.Err);
        // Without --norm a residual net keeps its BatchNorm (the recorded default), even in an old config that said none.
        var old = Nabla.Cli.RunConfig.Parse("""{"model": "resnet:20", "norm": "none"}"""u8, "old.json");
        Assert.Equal("batch", old.EffectiveNorm);
        var now = Nabla.Cli.RunConfig.Parse("""{"config_version": 2, "model": "resnet:20", "norm": "none"}"""u8, "new.json");
        Assert.Equal("none", now.EffectiveNorm);
    }
}
