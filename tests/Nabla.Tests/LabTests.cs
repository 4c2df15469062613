using Nabla.Lab;
using Xunit;

namespace Nabla.Tests;

public class LabVerdictTests
{
    static Comparison C(double[] a, double[] b, Expect e, double margin = 0) =>
        new() { Claim = "c", Metric = "m", A = "a", B = "b", ValuesA = a, ValuesB = b, Expect = e, Margin = margin };

    [Fact]
    public void The_rule_calls_a_clear_win_a_tie_within_the_noise_and_a_reversal()
    {
        double[] b = [0.80, 0.81, 0.79];
        // A clear win: d = 0.05, SE ≈ 0.008.
        Assert.Equal(Verdict.Supported, C([0.85, 0.86, 0.84], b, Expect.Higher).Verdict);
        Assert.Equal(Verdict.Contradicted, C([0.85, 0.86, 0.84], b, Expect.Lower).Verdict);
        // Within the noise: d = 0.01, 2·SE ≈ 0.05.
        Assert.Equal(0.01, C([0.85, 0.77, 0.81], b, Expect.Higher).Difference, 10);
        Assert.Equal(Verdict.NotShown, C([0.86, 0.76, 0.82], b, Expect.Higher).Verdict);
        // A reversal.
        Assert.Equal(Verdict.Contradicted, C([0.70, 0.71, 0.69], b, Expect.Higher).Verdict);
        Assert.Equal(Verdict.Supported, C([0.70, 0.71, 0.69], b, Expect.Lower).Verdict);
        // Welch's SE: √(s²a/na + s²b/nb).
        var w = C([1, 2, 3, 4], [2, 4], Expect.Higher);
        Assert.Equal(Math.Sqrt(5.0 / 3 / 4 + 2.0 / 2), w.StandardError, 12);
        // No effect: within the margin, clearly outside it, or not clear.
        Assert.Equal(Verdict.Supported, C([0.805, 0.815, 0.795], b, Expect.Same, 0.01).Verdict);
        Assert.Equal(Verdict.Contradicted, C([0.90, 0.91, 0.89], b, Expect.Same, 0.01).Verdict);
        Assert.Equal(Verdict.NotShown, C([0.84, 0.78, 0.83], b, Expect.Same, 0.01).Verdict);
        Assert.Equal(Verdict.Supported, C([0.70, 0.71, 0.69], b, Expect.NoHigher, 0.01).Verdict);
        Assert.Equal(Verdict.Contradicted, C([0.90, 0.91, 0.89], b, Expect.NoHigher, 0.01).Verdict);
        // One seed gives no estimate of the noise; a NaN decides nothing.
        Assert.Equal(Verdict.NotShown, C([0.9], [0.1], Expect.Higher).Verdict);
        Assert.Equal(Verdict.NotShown, C([0.9, double.NaN], [0.1, 0.2], Expect.Higher).Verdict);
        Assert.Contains("supported", C([0.85, 0.86, 0.84], b, Expect.Higher).Sentence);
    }

    [Fact]
    public void A_labs_verdict_needs_every_deciding_comparison()
    {
        var r = new LabResult { Name = "x", Title = "x", SeedLines = "1", Claim = "x", Published = "x", Budget = "x" };
        Assert.Equal(Verdict.NotShown, r.Verdict);
        r.Comparisons.Add(C([2, 2.1], [1, 1.1], Expect.Higher));
        Assert.Equal(Verdict.Supported, r.Verdict);
        r.Comparisons.Add(C([2, 2.1], [1, 1.1], Expect.Lower) with { Deciding = false });
        Assert.Equal(Verdict.Supported, r.Verdict);
        r.Comparisons.Add(C([1.5, 1.6], [1, 2], Expect.Higher));
        Assert.Equal(Verdict.NotShown, r.Verdict);
        r.Comparisons.Add(C([2, 2.1], [1, 1.1], Expect.Lower));
        Assert.Equal(Verdict.Contradicted, r.Verdict);
    }
}

/// <summary>
/// Every lab in its tiny setting (seconds); its deciding comparisons are the ones this table states (metric, A, B, claimed
/// direction), so none is wired to the wrong metric or backwards; then its judge is fed its own measurements rewritten
/// so that every deciding comparison clearly holds (it must say supported), and then so that each one alone is
/// reversed (that comparison and the lab must say contradicted).
/// </summary>
public class LabWiringTests
{
    public static TheoryData<string> Names() => [.. LabRegistry.Names];

    static readonly Lazy<(Nabla.Data.TensorDataset Train, Nabla.Data.TensorDataset Test)> Data = new(() => Nabla.Datasets.FashionMnistSubset.Load());

    static readonly Dictionary<string, (string Metric, string A, string B, Expect Expect)[]> Deciding = new()
    {
        ["activations"] = [("loss@4", "sigmoid", "relu", Expect.Higher), ("log10 first/last gradient at init", "sigmoid", "relu", Expect.Lower)],
        ["optimizers"] = [("training loss", "momentum", "mini-batch SGD", Expect.Lower), ("training loss", "RMSProp", "mini-batch SGD", Expect.Lower),
            ("training loss", "Adam", "mini-batch SGD", Expect.Lower)],
        ["stopping"] = [("epochs used", "early stopping", "fixed budget", Expect.Lower), ("test accuracy", "early stopping", "fixed budget", Expect.Same)],
        ["validation"] = [("squared error", "holdout 30%", "10-fold", Expect.Higher)],
        ["co-adaptation"] = [("train-test gap", "dropout", "none", Expect.Lower), ("test accuracy", "dropout", "none", Expect.Higher)],
        ["augmentation"] = [("test accuracy", "combined", "none", Expect.Higher), ("train-test gap", "combined", "none", Expect.Lower)],
        ["normalisation"] = [("steps to target loss", "BatchNorm", "none", Expect.Lower), ("log10 highest learning rate that trains", "BatchNorm", "none", Expect.Higher)],
        ["weight-normalisation"] = [("largest singular value", "spectral normalisation", "none", Expect.Lower),
            ("test accuracy", "none", "weight standardisation", Expect.NoHigher), ("test accuracy", "none", "min-max standardisation", Expect.NoHigher),
            ("test accuracy", "none", "spectral normalisation", Expect.NoHigher), ("test accuracy", "none", "spectral filtering", Expect.NoHigher)],
        ["degradation"] = [("training error", "plain-14", "plain-8", Expect.Higher), ("training error", "resnet-14", "resnet-8", Expect.NoHigher),
            ("identity layers: test accuracy", "mlp:64,64 + 4 identity layers", "mlp:64,64", Expect.NoHigher)],
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Each_lab_runs_tiny_and_its_verdict_follows_its_numbers(string name)
    {
        Assert.Equal(LabRegistry.Names.Order(), Deciding.Keys.Order());
        var lab = LabRegistry.Find(name)!;
        var settings = new LabSettings { Train = Data.Value.Train, Test = Data.Value.Test, Seeds = 2, Scale = LabScale.Tiny };
        var r = lab.Run(settings, TextWriter.Null);
        var deciding = r.Comparisons.Where(c => c.Deciding).ToArray();
        Assert.Equal(Deciding[name], deciding.Select(c => (c.Metric, c.A, c.B, c.Expect)).ToArray());
        Assert.NotEmpty(r.Tables);
        Assert.NotEmpty(r.Figures);
        Assert.All(deciding, c => Assert.Equal(2, c.ValuesA.Length));
        // The side of a comparison that no other deciding comparison shares is the one moved.
        bool MoveA(Comparison c) => deciding.Count(o => o.Metric == c.Metric && (o.A == c.A || o.B == c.A)) == 1;
        double Shift(Comparison c, bool holds) => c.Expect switch
        {
            Expect.Higher => holds ? 0.5 : -0.5,
            Expect.Lower => holds ? -0.5 : 0.5,
            _ => holds ? 0 : c.Margin + 0.5,
        };
        Measurements Rewritten(int reversed)
        {
            var m = Copy(r.Measurements);
            double[] b = [1.0, 1.02];
            foreach (var c in deciding)
            {
                Set(m, c.Metric, c.A, b);
                Set(m, c.Metric, c.B, b);
            }
            for (int i = 0; i < deciding.Length; i++)
            {
                var c = deciding[i];
                double shift = Shift(c, i != reversed);
                if (MoveA(c)) Set(m, c.Metric, c.A, [.. b.Select(v => v + shift)]);
                else Set(m, c.Metric, c.B, [.. b.Select(v => v - shift)]);
            }
            return m;
        }
        var holding = lab.Judge(Rewritten(-1), settings);
        Assert.True(holding.Verdict == Verdict.Supported, $"{name}, every claim holding: {string.Join(" | ", holding.Comparisons.Where(c => c.Deciding).Select(c => c.Sentence))}");
        for (int i = 0; i < deciding.Length; i++)
        {
            var judged = lab.Judge(Rewritten(i), settings);
            var d = judged.Comparisons.Where(c => c.Deciding).ToArray();
            Assert.True(d[i].Verdict == Verdict.Contradicted && judged.Verdict == Verdict.Contradicted, $"{name}, comparison {i} reversed: {d[i].Sentence}");
            Assert.All(d.Where((_, j) => j != i), c => Assert.Equal(Verdict.Supported, c.Verdict));
        }
        var dir = Directory.CreateTempSubdirectory("nabla-lab-report");
        try
        {
            var files = LabReport.Write([r], dir.FullName, "test");
            Assert.All(files, f => Assert.True(new FileInfo(f).Length > 0, f));
            Assert.Contains($"## {name}", File.ReadAllText(Path.Combine(dir.FullName, "report.md")));
            Assert.Contains("data:image/png;base64,", File.ReadAllText(Path.Combine(dir.FullName, "report.html")));
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.FullName, "report.json")));
            Assert.Equal(Comparison.Words(r.Verdict), json.RootElement.GetProperty("labs")[0].GetProperty("verdict").GetString());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    static Measurements Copy(Measurements m)
    {
        var c = new Measurements();
        foreach (var (metric, byCondition) in m.Values)
            foreach (var (condition, values) in byCondition)
                foreach (var v in values) c.Add(metric, condition, v);
        foreach (var (curve, byCondition) in m.Curves)
            foreach (var (condition, series) in byCondition)
                foreach (var s in series) c.AddCurve(curve, condition, s);
        return c;
    }

    static void Set(Measurements m, string metric, string condition, double[] values)
    {
        if (!m.Values.TryGetValue(metric, out var byCondition)) m.Values[metric] = byCondition = [];
        byCondition[condition] = [.. values];
    }
}

public class LabCliTests
{
    [Fact]
    public void Nabla_lab_writes_a_report_and_refuses_what_it_cannot_run()
    {
        var dir = Directory.CreateTempSubdirectory("nabla-lab-cli");
        try
        {
            string outDir = Path.Combine(dir.FullName, "run");
            var (code, stdout, stderr) = CliRunner.Run("lab", "stopping", "--tiny", "--seeds", "2", "--out", outDir);
            Assert.True(code == 0, stderr + stdout);
            foreach (var f in new[] { "report.html", "report.md", "report.json", "stopping-val-loss.png" })
                Assert.True(File.Exists(Path.Combine(outDir, f)), f);
            Assert.Contains("stopping", stdout);
            // An earlier report is not replaced without --overwrite; unknown claims, bad seeds and non-image data for an image lab are one line, exit 2.
            Assert.Equal(2, CliRunner.Run("lab", "stopping", "--tiny", "--out", outDir).code);
            // --overwrite replaces the whole earlier report: another lab's figure from before does not stay beside the new one.
            File.WriteAllBytes(Path.Combine(outDir, "activations-loss.png"), [1]);
            var again = CliRunner.Run("lab", "stopping", "--tiny", "--seeds", "2", "--overwrite", "--out", outDir);
            Assert.True(again.code == 0, again.stderr);
            Assert.False(File.Exists(Path.Combine(outDir, "activations-loss.png")));
            Assert.True(File.Exists(Path.Combine(outDir, "stopping-val-loss.png")));
            // A folder holding only an earlier lab's figures is an earlier run too.
            string figuresOnly = Path.Combine(dir.FullName, "figures-only");
            Directory.CreateDirectory(figuresOnly);
            File.WriteAllBytes(Path.Combine(figuresOnly, "optimizers-steps.png"), [1]);
            Assert.Equal(2, CliRunner.Run("lab", "stopping", "--tiny", "--out", figuresOnly).code);
            var unknown = CliRunner.Run("lab", "sparkle", "--out", Path.Combine(dir.FullName, "never"));
            Assert.Equal(2, unknown.code);
            Assert.Contains("activations", unknown.stderr);
            Assert.Equal(2, CliRunner.Run("lab", "stopping", "--seeds", "1", "--out", Path.Combine(dir.FullName, "never")).code);
            Assert.Equal(2, CliRunner.Run("lab", "stopping", "--tiny", "--full", "--out", Path.Combine(dir.FullName, "never")).code);
            Assert.Equal(2, CliRunner.Run("lab", "augmentation", "--data", Path.Combine(Fixtures.Dir, "cli_train.csv"), "--label", "y", "--out", Path.Combine(dir.FullName, "never")).code);
            Assert.Equal(2, CliRunner.Run("lab", "augmentation", "--gan", Path.Combine(dir.FullName, "no-gan"), "--out", Path.Combine(dir.FullName, "never")).code);
            Assert.False(Directory.Exists(Path.Combine(dir.FullName, "never")));
            Assert.Equal(0, CliRunner.Run("lab", "--help").code);
            var both = CliRunner.Run("lab", "degradation", "--help");
            Assert.Equal(0, both.code);
            Assert.Contains("nabla lab CLAIM|all", both.stdout);
            Assert.Contains("--depths", both.stdout);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

public class LayerStatisticsCliTests
{
    [Fact]
    public void Train_with_layer_stats_writes_them_into_metrics_json()
    {
        var dir = Directory.CreateTempSubdirectory("nabla-layer-stats");
        try
        {
            var (code, _, stderr) = CliRunner.Run("train", "--data", Path.Combine(Fixtures.Dir, "cli_train.csv"), "--label", "y", "--model", "mlp:8",
                "--activation", "sigmoid", "--epochs", "2", "--batch-size", "8", "--layer-stats", "2", "--out", dir.FullName);
            Assert.True(code == 0, stderr);
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir.FullName, "metrics.json")));
            var stats = doc.RootElement.GetProperty("layer_statistics");
            Assert.Equal(2, stats.GetProperty("every").GetInt32());
            var layers = stats.GetProperty("layers").EnumerateArray().Select(e => e.GetString()!).ToArray();
            Assert.Contains(layers, l => l.Contains("Sigmoid", StringComparison.Ordinal));
            var samples = stats.GetProperty("samples").EnumerateArray().ToArray();
            Assert.True(samples.Length >= 2);
            Assert.Equal(1, samples[0].GetProperty("step").GetInt32());
            Assert.Equal(layers.Length, samples[0].GetProperty("mean").GetArrayLength());
            Assert.True(samples[0].GetProperty("gradient_norm")[0].GetDouble() > 0);
            Assert.True(doc.RootElement.GetProperty("captured_step").GetBoolean());
            Assert.Equal(2, CliRunner.Run("train", "--layer-stats", "-1", "--out", Path.Combine(dir.FullName, "never")).code);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

public class IdentityLayerTests
{
    [Fact]
    public void Extra_identity_layers_leave_the_function_unchanged_at_first()
    {
        var train = new Nabla.Data.TensorDataset(Tensor.Rand([8, 1, 6, 6], 1), IntTensor.FromArray([0, 1, 2, 0, 1, 2, 0, 1]), 3);
        var shallow = Nabla.Lab.Labs.DegradationLab.IdentityStack(train, 3, 0);
        var deep = Nabla.Lab.Labs.DegradationLab.IdentityStack(train, 3, 4);
        Assert.Equal(shallow.Count + 8, deep.Count);
        Assert.Equal(shallow.Forward(train.Features).ToArray(), deep.Forward(train.Features).ToArray());
    }
}
