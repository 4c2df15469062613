using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Nabla.Onnx;

namespace Nabla.Tests;

/// <summary>
/// ONNX export: every layer type either exports (and ONNX Runtime 1.32 gives Nabla's eval outputs) or stands on the
/// named refusal list, walked over the assembly's module types and the activation registry.
/// </summary>
public class OnnxExportTests
{
    // ONNX Runtime's output for the exported model on x.
    internal static float[] RunOnnx(byte[] model, Tensor x, string input = "input")
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        var tensor = new DenseTensor<float>(x.ToArray(), [.. x.Shape]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, tensor)]);
        return results.First().AsTensor<float>().ToArray();
    }

    // Moves BatchNorm's running statistics off their initial values, so eval is not the identity normalisation.
    static void Warm(Module m, int[] shape)
    {
        m.Train();
        using (Nabla.Autograd.GradMode.NoGrad())
            for (int i = 0; i < 3; i++) m.Forward(Tensor.Randn(shape, new Generator((ulong)(50 + i))) * 2f + 0.5f);
        m.Eval();
    }

    static void AssertExportMatches(Module m, int[] shape, double tol = 1e-5, OnnxExportOptions? options = null, bool warm = true)
    {
        if (warm) Warm(m, shape);
        m.Eval();
        var bytes = OnnxExport.ToBytes(m, shape, options);
        // Another batch size than the sample's: the batch dim is symbolic.
        int[] other = [shape[0] + 1, .. shape[1..]];
        foreach (var s in new[] { shape, options?.DynamicBatch == false ? shape : other })
        {
            var x = Tensor.Randn(s, new Generator(9));
            Tensor expected;
            using (Nabla.Autograd.GradMode.NoGrad()) expected = m.Forward(x);
            var want = expected.ToArray();
            var got = RunOnnx(bytes, x, options?.InputName ?? "input");
            Assert.Equal(want.Length, got.Length);
            for (int i = 0; i < want.Length; i++)
                Assert.True(Math.Abs(want[i] - got[i]) <= tol * (1 + Math.Abs(want[i])),
                    $"{m.GetType().Name} {Shapes.Format(s)} [{i}]: Nabla {want[i]}, ONNX Runtime {got[i]}");
        }
    }

    static Generator G => new(3);

    public static TheoryData<string> Activations() => new(Nabla.Activations.Names);

    [Theory]
    [MemberData(nameof(Activations))]
    public void Every_registered_activation_exports_and_matches_onnx_runtime(string name)
    {
        var act = Nabla.Activations.Create(name);
        Assert.Contains(act.GetType(), OnnxExport.Supported);
        // Inputs wide enough to reach softplus's threshold and GELU's tails.
        AssertExportMatches(new Sequential(new Linear(5, 7, G), act, new Linear(7, 3, G)), [4, 5], warm: false);
        var x = Tensor.Randn([4, 5], 1) * 15f;
        var seq = new Sequential(act);
        var want = seq.Forward(x).ToArray();
        var got = RunOnnx(OnnxExport.ToBytes(seq, [4, 5]), x);
        for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(want[i] - got[i]) <= 1e-5 * (1 + Math.Abs(want[i])), $"{name}({x.ToArray()[i]}): {want[i]} vs {got[i]}");
    }

    [Fact]
    public void Activations_with_arguments_export_them()
    {
        AssertExportMatches(new Sequential(new LeakyReLU(0.2f), new ELU(0.7f), new Softplus(2f, 3f), new GELU("tanh")), [3, 6], warm: false);
    }

    public static TheoryData<string> Zoo() => new(ZooModels.Keys);

    static readonly Dictionary<string, (Func<Module> Build, int[] Shape)> ZooModels = new()
    {
        ["mlp"] = (() => new Sequential(new Linear(64, 16, G), new ReLU(), new Dropout(0.3f), new Linear(16, 4, G)) { FlattenInput = true }, [2, 1, 8, 8]),
        ["conv-bn-pool"] = (() => new Sequential(new Conv2d(3, 4, 3, G, padding: 1), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2), new Conv2d(4, 6, 3, G, stride: 2, padding: 1, dilation: 1, groups: 2),
            new AvgPool2d(3, stride: 1, padding: 1, countIncludePad: false), new AdaptiveAvgPool2d(1), new Flatten(), new Linear(6, 3, G), new LogSoftmax(1)), [2, 3, 12, 12]),
        ["pools"] = (() => new Sequential(new MaxPool2d(3, stride: 2, padding: 1, ceilMode: true), new AvgPool2d(2, ceilMode: false), new AdaptiveAvgPool2d(2), new Flatten(1, -1)), [2, 2, 17, 17]),
        // Ceil mode where PyTorch drops a last window that would start in the padding, and where windows overhang.
        ["pools-ceil"] = (() => new Sequential(new MaxPool2d(2, stride: 2, padding: 1, ceilMode: true), new MaxPool2d(2, ceilMode: true), new AvgPool2d(2, ceilMode: true)), [1, 2, 5, 5]),
        ["dilated-grouped"] = (() => new Sequential(new Conv2d(4, 4, 3, G, padding: 2, dilation: 2, groups: 4, bias: false), new Conv2d(4, 2, 1, G)), [1, 4, 9, 9]),
        ["transpose"] = (() => new Sequential(new ConvTranspose2d(3, 2, 3, G, stride: 2, padding: 1, outputPadding: 1), new Tanh()), [2, 3, 5, 5]),
        ["norms"] = (() => new Sequential(new Conv2d(2, 4, 3, G, padding: 1), new GroupNorm(2, 4), new InstanceNorm2d(4, affine: true), new LayerNorm([4, 6, 6]), new Sigmoid()), [2, 2, 6, 6]),
        ["instance-tracked"] = (() => new Sequential(new InstanceNorm1d(3, trackRunningStats: true), new InstanceNorm1d(3, affine: true)), [2, 3, 5]),
        ["instance2d-tracked"] = (() => new Sequential(new InstanceNorm2d(3, affine: true, trackRunningStats: true)), [2, 3, 4, 5]),
        ["batchnorm1d"] = (() => new Sequential(new Linear(6, 5, G), new BatchNorm1d(5), new ReLU(), new Linear(5, 2, G)), [4, 6]),
        ["dropouts"] = (() => new Sequential(new Dropout2d(0.25f, mode: DropoutMode.Classic), new Dropout(0.5f, mode: DropoutMode.Classic), new GaussianNoise(0.3f),
            new Identity(), new Flatten(2), new DropConnect(new Linear(16, 3, G), 0.2f, mode: DropoutMode.Classic), new DropConnect(new Linear(3, 2, G), 0.4f)), [2, 3, 4, 4]),
        ["weight-norms"] = (() => new Sequential(new WeightStandardization(new Conv2d(2, 3, 3, G)), new SpectralNorm(new Conv2d(3, 2, 1, G), G), new Flatten(),
            new WeightStandardization(new Linear(18, 4, G), WeightStandardizationMode.MinMax), new SpectralNorm(new Linear(4, 2, G), G)), [2, 2, 5, 5]),
        ["resnet8"] = (() => new ResNet(8, 1, 5, G), [2, 1, 16, 16]),
        ["resnet8-group-gelu-dropout"] = (() => new ResNet(8, 3, 4, G, activation: "gelu", norm: "group:2", dropout: 0.2f), [2, 3, 12, 12]),
        ["plain8"] = (() => new ResNet(8, 1, 3, G, residual: false), [1, 1, 10, 10]),
        ["bottleneck"] = (() => new Sequential(new Bottleneck(8, 2, 1, G), new Bottleneck(8, 4, 2, G)), [2, 8, 8, 8]),
        ["ensemble-probabilities"] = (() => new Ensemble([new Sequential(new Linear(5, 3, G)), new Sequential(new Linear(5, 8, G), new Mish(), new Linear(8, 3, G))]), [3, 5]),
        ["ensemble-mean"] = (() => new Ensemble([new Linear(5, 2, G), new Linear(5, 2, new Generator(4))], EnsembleMode.Mean), [3, 5]),
        ["upsample"] = (() => new Sequential(new Upsample(2), new Conv2d(2, 2, 3, G), new Upsample(1.5, UpsampleMode.Bilinear), new Upsample(2, UpsampleMode.Bilinear, alignCorners: true)), [1, 2, 4, 4]),
        ["softmax"] = (() => new Sequential(new Linear(4, 3, G), new Softmax(1)), [2, 4]),
        ["upsample-1.5-of-5"] = (() => new Sequential(new Upsample(1.5, UpsampleMode.Bilinear)), [1, 2, 5, 5]),
        ["linear-3d"] = (() => new Sequential(new Linear(4, 3, G), new SiLU()), [2, 5, 4]),
    };

    [Theory]
    [MemberData(nameof(Zoo))]
    public void Model_exports_and_onnx_runtime_gives_its_eval_outputs(string name)
    {
        var (build, shape) = ZooModels[name];
        AssertExportMatches(build(), shape);
    }

    [Theory]
    [InlineData("mlp:32,16", new[] { 1, 8, 8 }, "none")]
    [InlineData("cnn", new[] { 1, 28, 28 }, "batch")]
    [InlineData("resnet:8", new[] { 3, 16, 16 }, "batch")]
    public void The_cli_model_specs_export(string spec, int[] sample, string norm)
    {
        var m = Models.FromSpec(spec, sample, 10, new Generator(1), options: new ModelOptions(Dropout: 0.2f, Norm: norm));
        AssertExportMatches(m, [2, .. sample], tol: 1e-5);
    }

    [Fact]
    public void Input_normalisation_and_softmax_go_into_the_graph()
    {
        var m = new Sequential(new Conv2d(3, 2, 3, G), new Flatten(), new Linear(2 * 4 * 4, 3, G));
        m.Eval();
        float[] mean = [0.5f, 0.4f, 0.3f], std = [0.2f, 0.25f, 0.3f];
        var options = new OnnxExportOptions(InputName: "pixels", OutputName: "probabilities", InputMean: mean, InputStd: std, Softmax: true);
        var bytes = OnnxExport.ToBytes(m, [1, 3, 6, 6], options);
        var x = Tensor.Rand([2, 3, 6, 6], new Generator(2));
        var want = m.Forward((x - Tensor.FromArray(mean, 3, 1, 1)) / Tensor.FromArray(std, 3, 1, 1)).Softmax(-1).ToArray();
        var got = RunOnnx(bytes, x, "pixels");
        for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(want[i] - got[i]) <= 1e-5, $"[{i}] {want[i]} vs {got[i]}");
        var proto = Nabla.Onnx.Proto.ModelProto.Parser.ParseFrom(bytes);
        Assert.Equal("probabilities", proto.Graph.Output.Single().Name);
        Assert.Equal(OnnxExport.Opset, proto.OpsetImport.Single().Version);
        Assert.Equal("N", proto.Graph.Input.Single().Type.TensorType.Shape.Dim[0].DimParam);
        Assert.True(m.Training is false);   // the model's mode is left as it was
    }

    [Fact]
    public void Export_leaves_a_training_model_in_training_mode()
    {
        var m = new Sequential(new Linear(3, 2, G), new BatchNorm1d(2));
        OnnxExport.ToBytes(m, [4, 3]);
        Assert.True(m.Training);
    }

    // Every public layer type of the library is either exported or refused by name, so a new layer cannot be
    // forgotten silently.
    [Fact]
    public void Every_layer_type_is_supported_or_on_the_refusal_list()
    {
        var layers = typeof(Module).Assembly.GetExportedTypes()
            .Where(t => t.IsSubclassOf(typeof(Module)) && !t.IsAbstract)
            .ToList();
        Assert.NotEmpty(layers);
        foreach (var t in layers)
            Assert.True(OnnxExport.Supported.Contains(t) || OnnxExport.Refused.ContainsKey(t), $"{t.Name} is neither exported nor refused");
        Assert.Empty(OnnxExport.Supported.Intersect(OnnxExport.Refused.Keys));
        foreach (var t in OnnxExport.Supported) Assert.Contains(t, layers);
    }

    sealed class Custom : Module
    {
        public override Tensor Forward(Tensor input) => input * 2f;
    }

    [Fact]
    public void Refused_and_unknown_layers_are_named_with_their_path()
    {
        var sw = new Sequential(new Conv2d(1, 2, 3, G), new SwitchNorm(2));
        var e = Assert.Throws<OnnxExportException>(() => OnnxExport.ToBytes(sw, [2, 1, 5, 5]));
        Assert.Contains("'1' (SwitchNorm)", e.Message);
        var custom = new Sequential(new Linear(2, 2, G), new Sequential(new Custom()));
        e = Assert.Throws<OnnxExportException>(() => OnnxExport.ToBytes(custom, [1, 2]));
        Assert.Contains("'1.0'", e.Message);
        Assert.Contains("Custom", e.Message);
        // An average pool whose ceil-mode windows overhang the input, and an upsampling ONNX Runtime would size otherwise.
        e = Assert.Throws<OnnxExportException>(() => OnnxExport.ToBytes(new Sequential(new AvgPool2d(2, ceilMode: true)), [1, 1, 5, 5]));
        Assert.Contains("overhang", e.Message);
        e = Assert.Throws<OnnxExportException>(() => OnnxExport.ToBytes(new Sequential(new Upsample(1.16)), [1, 1, 25, 25]));   // 28 here, 29 in float
        Assert.Contains("output size", e.Message);
        var batchless = new Sequential(new Linear(2, 2, G), new BatchNorm1d(2, trackRunningStats: false));
        e = Assert.Throws<OnnxExportException>(() => OnnxExport.ToBytes(batchless, [3, 2]));
        Assert.Contains("track_running_stats", e.Message);
        Assert.Throws<ArgumentException>(() => OnnxExport.ToBytes(new Linear(2, 2, G), [0, 2]));
        Assert.Throws<ArgumentException>(() => OnnxExport.ToBytes(new Linear(2, 2, G), [1, 2], new OnnxExportOptions(InputName: "x", OutputName: "x")));
        Assert.Throws<ArgumentException>(() => OnnxExport.ToBytes(new Linear(2, 2, G), [1, 2], new OnnxExportOptions(InputMean: [0f], InputStd: [0f])));
    }
}

/// <summary><c>nabla export</c>: a trained run folder to an ONNX file that ONNX Runtime scores as Nabla does.</summary>
public class ExportCommandTests
{
    [Fact]
    public void Export_writes_a_run_that_onnx_runtime_scores_like_nabla_with_the_input_normalisation_inside()
    {
        using var s = new ReliabilityTests.Scratch();
        var rng = new Random(1);
        var lines = new List<string> { "a,b,c,y" };
        for (int i = 0; i < 60; i++)
        {
            double a = rng.NextDouble() * 10 + 50, b = rng.NextDouble() - 3, c = rng.NextDouble() * 100;
            lines.Add(FormattableString.Invariant($"{a},{b},{c},{(a > 55 ? "hi" : b > -2.5 ? "mid" : "lo")}"));
        }
        string csv = s.Text("t.csv", string.Join("\n", lines));
        var r = CliRunner.Run("train", "--data", csv, "--label", "y", "--model", "mlp:6", "--normalize", "--epochs", "2", "--validation", "none",
            "--test", "none", "--out", s.P("run"));
        Assert.True(r.code == 0, r.stderr);
        r = CliRunner.Run("export", "--model", s.P("run"));
        Assert.True(r.code == 0, r.stderr);
        Assert.Contains("opset 17", r.stdout);
        string onnx = s.P("run", "model.onnx");
        Assert.True(File.Exists(onnx));

        // Nabla's own logits on the normalised features, and ONNX Runtime's on the raw ones.
        string cfgPath = s.P("run", "config.json");
        var config = Nabla.Cli.RunConfig.Parse(File.ReadAllBytes(cfgPath), cfgPath);
        var data = Data.CsvTable.Load(csv, "y", Data.TaskKind.Classification);
        var net = Nabla.Cli.TrainCommand.BuildModel(config, data);
        net.Load(s.P("run", "model.safetensors"));
        net.Eval();
        var want = net.Forward(Nabla.Cli.TrainCommand.Normalize(data, config).Features).ToArray();
        var got = OnnxExportTests.RunOnnx(File.ReadAllBytes(onnx), data.Features);
        for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(want[i] - got[i]) <= 1e-4 * (1 + Math.Abs(want[i])), $"[{i}] {want[i]} vs {got[i]}");

        // Again with probabilities: refused without --overwrite (nothing changed), then replaced.
        long before = new FileInfo(onnx).Length;
        r = CliRunner.Run("export", "--model", s.P("run"), "--softmax");
        Assert.Equal(2, r.code);
        Assert.Contains("--overwrite", r.stderr);
        r = CliRunner.Run("export", "--model", s.P("run"), "--softmax", "--overwrite", "--onnx", s.P("p.onnx"));
        Assert.True(r.code == 0, r.stderr);
        var p = OnnxExportTests.RunOnnx(File.ReadAllBytes(s.P("p.onnx")), data.Features);
        for (int row = 0; row < data.Count; row++) Assert.Equal(1.0, p.Skip(row * 3).Take(3).Sum(), 4);
        Assert.Equal(before, new FileInfo(onnx).Length);
    }

    [Fact]
    public void Export_refusals_exit_2_and_write_nothing()
    {
        using var s = new ReliabilityTests.Scratch();
        var r = CliRunner.Run("export");
        Assert.Equal(2, r.code);
        Assert.Contains("--model", r.stderr);
        string weights = s.Text("w.safetensors", "x");
        r = CliRunner.Run("export", "--model", weights, "--arch", "mlp:4");
        Assert.Equal(2, r.code);
        Assert.Contains("--onnx FILE is required", r.stderr);
        r = CliRunner.Run("export", "--model", s.P("missing"));
        Assert.Equal(2, r.code);
        Assert.Single(Directory.EnumerateFileSystemEntries(s.Root));
        r = CliRunner.Run("export", "--help");
        Assert.Equal(0, r.code);
        Assert.Contains("--softmax", r.stdout);
    }
}

/// <summary><c>nabla predict</c>: every row of new data (a CSV may lack the label column) as CSV or JSON.</summary>
public class PredictCommandTests
{
    static string Table(ReliabilityTests.Scratch s, string name, bool regression, bool labelled, bool swapColumns, int rows, int seed)
    {
        var rng = new Random(seed);
        var lines = new List<string> { swapColumns ? "b,a" + (labelled ? ",y" : "") : "a,b" + (labelled ? ",y" : "") };
        for (int i = 0; i < rows; i++)
        {
            double a = rng.NextDouble() * 10, b = rng.NextDouble();
            string y = regression ? FormattableString.Invariant($"{2 * a - b}") : a > 5 ? "big" : "small";
            string first = FormattableString.Invariant($"{(swapColumns ? b : a)},{(swapColumns ? a : b)}");
            lines.Add(labelled ? $"{first},{y}" : first);
        }
        return s.Text(name, string.Join("\n", lines) + "\n");
    }

    [Fact]
    public void Predict_scores_a_folder_of_new_images_without_class_folders_by_file()
    {
        using var s = new ReliabilityTests.Scratch();
        // Dark and bright 8×8 pictures in class folders to train on; new ones side by side in one folder to predict.
        void Picture(string path, float level)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            Nabla.Imaging.ImageFolder.SavePng([.. Enumerable.Repeat(level, 64)], 1, 8, 8, path);
        }
        for (int i = 0; i < 12; i++)
        {
            Picture(s.P("pics", "dark", $"{i}.png"), 0.05f * (i % 4));
            Picture(s.P("pics", "bright", $"{i}.png"), 1 - 0.05f * (i % 4));
        }
        var r = CliRunner.Run("train", "--data", s.P("pics"), "--image-size", "8", "--grayscale", "--model", "mlp:8", "--epochs", "30", "--lr", "0.05",
            "--validation", "none", "--test", "none", "--out", s.P("run"));
        Assert.True(r.code == 0, r.stderr);
        Picture(s.P("new", "b-bright.png"), 0.95f);
        Picture(s.P("new", "a-dark.png"), 0.02f);
        r = CliRunner.Run("predict", "--model", s.P("run"), "--data", s.P("new"));
        Assert.True(r.code == 0, r.stderr);
        var lines = r.stdout.TrimEnd('\n').Split('\n');
        Assert.Equal("file,class,p_bright,p_dark", lines[0]);
        Assert.StartsWith("a-dark.png,dark,", lines[1]);
        Assert.StartsWith("b-bright.png,bright,", lines[2]);
        Assert.Equal(3, lines.Length);
        r = CliRunner.Run("predict", "--model", s.P("run"), "--data", s.P("new"), "--json");
        Assert.Contains("\"file\":\"b-bright.png\"", r.stdout);
    }

    [Fact]
    public void Predict_scores_an_unlabelled_csv_with_its_columns_in_another_order()
    {
        using var s = new ReliabilityTests.Scratch();
        string train = Table(s, "t.csv", false, true, false, 50, 1);
        var r = CliRunner.Run("train", "--data", train, "--label", "y", "--model", "mlp:8", "--normalize", "--epochs", "3", "--validation", "none",
            "--test", "none", "--out", s.P("run"));
        Assert.True(r.code == 0, r.stderr);
        string fresh = Table(s, "u.csv", false, false, true, 7, 2);
        r = CliRunner.Run("predict", "--model", s.P("run"), "--data", fresh);
        Assert.True(r.code == 0, r.stderr);
        var lines = r.stdout.TrimEnd('\n').Split('\n');
        Assert.Equal("row,class,p_big,p_small", lines[0]);
        Assert.Equal(8, lines.Length);

        // The same probabilities as the model's own softmax on the normalised rows (in the run's column order a, b).
        string cfgPath = s.P("run", "config.json");
        var config = Nabla.Cli.RunConfig.Parse(File.ReadAllBytes(cfgPath), cfgPath);
        var rows = Data.CsvTable.Load(fresh, "y", Data.TaskKind.Classification, new Data.CsvLayout(["a", "b"], ["big", "small"]) { LabelsOptional = true });
        Assert.Equal(new[] { 7, 2 }, rows.Features.Shape.ToArray());
        var net = Nabla.Cli.TrainCommand.BuildModel(config, rows);
        net.Load(s.P("run", "model.safetensors"));
        net.Eval();
        var p = net.Forward(Nabla.Cli.TrainCommand.Normalize(rows, config).Features).Softmax(-1).ToArray();
        var freshRows = File.ReadAllLines(fresh);
        for (int i = 0; i < 7; i++)
        {
            var cells = lines[i + 1].Split(',');
            Assert.Equal((i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), cells[0]);
            Assert.Equal(p[2 * i] > p[2 * i + 1] ? "big" : "small", cells[1]);
            Assert.Equal(p[2 * i], float.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(p[2 * i + 1], float.Parse(cells[3], System.Globalization.CultureInfo.InvariantCulture));
        }

        // --json, to a file.
        r = CliRunner.Run("predict", "--model", s.P("run"), "--data", fresh, "--json", "--out", s.P("p.json"));
        Assert.True(r.code == 0, r.stderr);
        Assert.Equal("", r.stdout);
        var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(s.P("p.json"))).RootElement;
        Assert.Equal(7, doc.GetProperty("count").GetInt32());
        Assert.Equal(["big", "small"], doc.GetProperty("classes").EnumerateArray().Select(e => e.GetString()!));
        var first = doc.GetProperty("predictions")[0];
        Assert.Equal(1, first.GetProperty("row").GetInt32());
        Assert.Equal(p[0], first.GetProperty("probabilities").GetProperty("big").GetSingle());
    }

    [Fact]
    public void A_csv_without_its_label_column_loads_only_where_the_layout_allows_it()
    {
        using var s = new ReliabilityTests.Scratch();
        string csv = s.Text("u.csv", "b,a\n1,2\n3,4\n");
        var both = Data.CsvTable.Load(csv, "y", Data.TaskKind.Classification, new Data.CsvLayout(["a", "b"], ["p", "q"]) { LabelsOptional = true });
        Assert.Equal([2f, 1f, 4f, 3f], both.Features.ToArray());
        Assert.Equal(["p", "q"], both.ClassNames);
        var reg = Data.CsvTable.Load(csv, "y", Data.TaskKind.Regression, new Data.CsvLayout(["a", "b"]) { LabelsOptional = true });
        Assert.Equal(2, reg.Count);
        // Without LabelsOptional, or a classification without the classes to number: the label column is required.
        Assert.Throws<Data.CsvFormatException>(() => Data.CsvTable.Load(csv, "y", Data.TaskKind.Classification, new Data.CsvLayout(["a", "b"], ["p", "q"])));
        Assert.Throws<Data.CsvFormatException>(() => Data.CsvTable.Load(csv, "y", Data.TaskKind.Classification, new Data.CsvLayout(["a", "b"]) { LabelsOptional = true }));
    }

    [Fact]
    public void Predict_gives_a_regression_runs_targets_and_refuses_data_that_does_not_fit()
    {
        using var s = new ReliabilityTests.Scratch();
        string train = Table(s, "t.csv", true, true, false, 40, 3);
        var r = CliRunner.Run("train", "--data", train, "--label", "y", "--task", "regression", "--model", "mlp:4", "--epochs", "2",
            "--validation", "none", "--test", "none", "--out", s.P("run"));
        Assert.True(r.code == 0, r.stderr);
        r = CliRunner.Run("predict", "--model", s.P("run"), "--data", Table(s, "u.csv", true, false, false, 3, 4));
        Assert.True(r.code == 0, r.stderr);
        var lines = r.stdout.TrimEnd('\n').Split('\n');
        Assert.Equal("row,prediction", lines[0]);
        Assert.Equal(4, lines.Length);
        Assert.True(float.IsFinite(float.Parse(lines[1].Split(',')[1], System.Globalization.CultureInfo.InvariantCulture)));

        // An existing --out needs --overwrite; the data file itself is never the output.
        File.WriteAllText(s.P("old.csv"), "keep");
        r = CliRunner.Run("predict", "--model", s.P("run"), "--data", Table(s, "v.csv", true, false, false, 2, 5), "--out", s.P("old.csv"));
        Assert.Equal(2, r.code);
        Assert.Equal("keep", File.ReadAllText(s.P("old.csv")));
        r = CliRunner.Run("predict", "--model", s.P("run"), "--data", s.P("v.csv"), "--out", s.P("v.csv"), "--overwrite");
        Assert.Equal(2, r.code);

        // A column the model does not take: one line naming it, exit 2, nothing written.
        string wrong = s.Text("w.csv", "a,c\n1,2\n");
        r = CliRunner.Run("predict", "--model", s.P("run"), "--data", wrong, "--out", s.P("new", "out.csv"));
        Assert.Equal(2, r.code);
        Assert.Contains("'c'", r.stderr);
        Assert.False(Directory.Exists(s.P("new")));
        r = CliRunner.Run("predict", "--help");
        Assert.Equal(0, r.code);
        Assert.Contains("p_CLASS", r.stdout);
    }
}

/// <summary>model.json and <see cref="Nabla.Training.Predictor"/>: a run folder to predictions in one library call.</summary>
public class PredictorTests
{
    [Fact]
    public void A_run_folder_predicts_in_one_call_as_nabla_predict_does_and_exports_without_its_data()
    {
        using var s = new ReliabilityTests.Scratch();
        var rng = new Random(5);
        var lines = new List<string> { "a,b,y" };
        for (int i = 0; i < 40; i++)
        {
            double a = rng.NextDouble() * 10, b = rng.NextDouble();
            lines.Add(FormattableString.Invariant($"{a},{b},{(a > 5 ? "big" : "small")}"));
        }
        string csv = s.Text("t.csv", string.Join("\n", lines) + "\n");
        var r = CliRunner.Run("train", "--data", csv, "--label", "y", "--model", "mlp:6", "--normalize", "--ensemble", "2", "--epochs", "2",
            "--validation", "none", "--test", "none", "--out", s.P("run"));
        Assert.True(r.code == 0, r.stderr);

        var p = Nabla.Training.Predictor.Load(s.P("run"));
        Assert.Equal(2, p.Card.Ensemble);
        Assert.Equal(["big", "small"], p.Card.Classes!);
        Assert.Equal(["a", "b"], p.Card.Features!);
        Assert.Equal(new[] { 2 }, p.Card.SampleShape);
        Assert.IsType<Ensemble>(p.Model);
        var x = Tensor.FromArray([7f, 0.5f, 1f, 0.2f], 2, 2);
        var probabilities = p.PredictProbabilities(x).ToArray();
        var classes = p.PredictClasses(x);

        // nabla predict on the same rows gives the same probabilities and classes.
        string fresh = s.Text("u.csv", "a,b\n7,0.5\n1,0.2\n");
        r = CliRunner.Run("predict", "--model", s.P("run"), "--data", fresh);
        Assert.True(r.code == 0, r.stderr);
        var rows = r.stdout.TrimEnd('\n').Split('\n').Skip(1).Select(l => l.Split(',')).ToArray();
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(classes[i], rows[i][1]);
            Assert.Equal(probabilities[2 * i], float.Parse(rows[i][2], System.Globalization.CultureInfo.InvariantCulture));
        }
        Assert.Throws<ArgumentException>(() => p.Predict(Tensor.Zeros([2, 3])));

        // The card round-trips, and export needs only it: the training data may be gone.
        var card = Nabla.Training.ModelCard.Load(s.P("run", "model.json"));
        Assert.Equal(card.ToJson(), Nabla.Training.ModelCard.Parse(card.ToJson()).ToJson());
        File.Delete(csv);
        r = CliRunner.Run("export", "--model", s.P("run"));
        Assert.True(r.code == 0, r.stderr);
        var onnx = OnnxExportTests.RunOnnx(File.ReadAllBytes(s.P("run", "model.onnx")), x);
        var logits = p.Predict(x).ToArray();
        for (int i = 0; i < logits.Length; i++) Assert.True(Math.Abs(logits[i] - onnx[i]) <= 1e-5 * (1 + Math.Abs(logits[i])), $"[{i}] {logits[i]} vs {onnx[i]}");
    }

    [Fact]
    public void A_broken_model_card_is_a_format_error_naming_the_file()
    {
        var e = Assert.Throws<FormatException>(() => Nabla.Training.ModelCard.Parse("{\"model\":\"mlp:4\"}"u8, "x/model.json"));
        Assert.Contains("x/model.json", e.Message);
        var good = new Nabla.Training.ModelCard { Model = "mlp:4", SampleShape = [3], Outputs = 2, Classes = ["a", "b"], InputMean = [0, 0, 0], InputStd = [1, 1, 1] };
        var json = System.Text.Encoding.UTF8.GetString(good.ToJson());
        Assert.Throws<FormatException>(() => Nabla.Training.ModelCard.Parse(System.Text.Encoding.UTF8.GetBytes(json.Replace("\"outputs\": 2", "\"outputs\": 3"))));
        Assert.Throws<FormatException>(() => Nabla.Training.ModelCard.Parse(System.Text.Encoding.UTF8.GetBytes(json.Replace("\"sample_shape\": [\n    3\n  ]", "\"sample_shape\": [\n    2\n  ]"))));
        Assert.Throws<FormatException>(() => Nabla.Training.ModelCard.Parse((good with { InputStd = [1, 0, 1] }).ToJson()));
        Assert.Throws<FormatException>(() => Nabla.Training.ModelCard.Parse((good with { SampleShape = [65536, 65536], InputMean = null, InputStd = null }).ToJson()));
        Assert.Throws<FormatException>(() => Nabla.Training.ModelCard.Parse(System.Text.Encoding.UTF8.GetBytes(json.Replace("\"inverted\"", "\"sideways\""))));
        Assert.Throws<FileNotFoundException>(() => Nabla.Training.Predictor.Load(Path.GetTempPath()));
    }
}

/// <summary>The ML.NET route: an exported model scored through <c>ApplyOnnxModel</c> in an ML.NET pipeline.</summary>
public class MlNetBridgeTests
{
    sealed class Row
    {
        [Microsoft.ML.Data.VectorType(1, 8, 8)]
        [Microsoft.ML.Data.ColumnName("input")]
        public float[] Pixels { get; set; } = [];
    }

    sealed class Scored
    {
        [Microsoft.ML.Data.ColumnName("output")]
        public float[] Probabilities { get; set; } = [];
    }

    [Fact]
    public void An_exported_model_scores_in_an_mlnet_pipeline_as_in_nabla()
    {
        var g = new Generator(2);
        var model = new Sequential(new Conv2d(1, 3, 3, g, padding: 1), new BatchNorm2d(3), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(48, 4, g));
        model.Eval();
        string path = Path.Combine(Path.GetTempPath(), $"nabla-mlnet-{Guid.NewGuid():N}.onnx");
        try
        {
            Nabla.Onnx.OnnxExport.Export(model, path, [1, 1, 8, 8], new Nabla.Onnx.OnnxExportOptions(Softmax: true));
            var x = Tensor.Rand([5, 1, 8, 8], new Generator(3));
            var want = model.Forward(x).Softmax(-1).ToArray();
            var values = x.ToArray();
            var rows = Enumerable.Range(0, 5).Select(i => new Row { Pixels = values[(i * 64)..((i + 1) * 64)] }).ToList();

            var ml = new Microsoft.ML.MLContext(seed: 0);
            var data = ml.Data.LoadFromEnumerable(rows);
            var pipeline = Microsoft.ML.OnnxCatalog.ApplyOnnxModel(ml.Transforms, modelFile: path, outputColumnNames: ["output"], inputColumnNames: ["input"],
                shapeDictionary: new Dictionary<string, int[]> { ["input"] = [1, 1, 8, 8] }, gpuDeviceId: null, fallbackToCpu: false, recursionLimit: 100);
            var scored = pipeline.Fit(data).Transform(data);
            var got = ml.Data.CreateEnumerable<Scored>(scored, reuseRowObject: false).SelectMany(r => r.Probabilities).ToArray();
            Assert.Equal(want.Length, got.Length);
            for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(want[i] - got[i]) <= 1e-5, $"[{i}] Nabla {want[i]}, ML.NET {got[i]}");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
