using System.Diagnostics;

namespace Nabla.Tests;

/// <summary>Models.Summarize against the models FromSpec builds: parameters per layer, shapes, FLOPs, and the same errors.</summary>
public class ModelSummaryTests
{
    static readonly Dictionary<string, (string Spec, int[] Sample, string Activation, ModelOptions Options)> Cases = new()
    {
        ["mlp plain"] = ("mlp:256,128", [1, 28, 28], "relu", ModelOptions.None),
        ["mlp no hidden"] = ("mlp", [784], "relu", ModelOptions.None),
        ["mlp batch"] = ("mlp:256,128", [1, 28, 28], "relu", new(Norm: "batch")),
        ["mlp layer after"] = ("mlp:256,128", [1, 28, 28], "tanh", new(Norm: "layer", NormAfter: true)),
        ["mlp group dropout"] = ("mlp:256,128", [1, 28, 28], "gelu", new(Dropout: 0.5f, Norm: "group:4")),
        ["mlp noise input dropout"] = ("mlp:256,128", [3, 32, 32], "relu", new(Dropout: 0.2f, InputDropout: 0.2f, Noise: 0.1f)),
        ["mlp dropconnect"] = ("mlp:256,128", [1, 28, 28], "relu", new(DropConnect: 0.3f)),
        ["mlp ws"] = ("mlp:256,128", [1, 28, 28], "relu", new(WeightNorm: "ws")),
        ["mlp ws-minmax"] = ("mlp:256,128", [1, 28, 28], "relu", new(WeightNorm: "ws-minmax", Norm: "batch")),
        ["mlp spectral"] = ("mlp:64", [20], "relu", new(WeightNorm: "spectral")),
        ["cnn plain"] = ("cnn", [1, 28, 28], "relu", ModelOptions.None),
        ["cnn batch dropout"] = ("cnn", [1, 28, 28], "relu", new(Dropout: 0.5f, Norm: "batch")),
        ["cnn layer"] = ("cnn", [1, 28, 28], "relu", new(Norm: "layer")),
        ["cnn instance"] = ("cnn:8,16", [3, 32, 32], "relu", new(Norm: "instance")),
        ["cnn switch after"] = ("cnn:8,16", [3, 32, 32], "elu", new(Norm: "switch", NormAfter: true)),
        ["cnn group ws-minmax"] = ("cnn:8,16", [3, 32, 32], "relu", new(Norm: "group:4", WeightNorm: "ws-minmax")),
        ["cnn odd spectral"] = ("cnn:8,16", [1, 9, 11], "relu", new(WeightNorm: "spectral", Noise: 0.1f, DropConnect: 0f)),
        ["cnn dropconnect"] = ("cnn:8,16", [3, 32, 32], "relu", new(DropConnect: 0.5f, InputDropout: 0.1f)),
        ["resnet:8"] = ("resnet:8", [1, 28, 28], "relu", ModelOptions.None),
        ["resnet:8 group tanh"] = ("resnet:8", [1, 28, 28], "tanh", new(Norm: "group:4")),
        ["resnet:8 instance"] = ("resnet:8", [1, 28, 28], "relu", new(Norm: "instance")),
        ["resnet:8 switch"] = ("resnet:8", [3, 32, 32], "relu", new(Norm: "switch")),
        ["resnet:8 layer"] = ("resnet:8", [1, 28, 28], "relu", new(Norm: "layer")),
        ["resnet:8 none dropout"] = ("resnet:8", [1, 28, 28], "relu", new(Norm: "none", Dropout: 0.3f)),
        ["resnet:8 ws"] = ("resnet:8", [3, 32, 32], "relu", new(WeightNorm: "ws")),
        ["resnet:8 ws-minmax"] = ("resnet:8", [1, 28, 28], "relu", new(WeightNorm: "ws-minmax")),
        ["resnet:8 spectral"] = ("resnet:8", [1, 28, 28], "relu", new(WeightNorm: "spectral", Dropout: 0.5f)),
        ["resnet:14"] = ("resnet:14", [3, 32, 32], "relu", ModelOptions.None),
        ["resnet:14 odd"] = ("resnet:14", [2, 13, 7], "gelu", new(Norm: "group:2")),
        ["plain:8"] = ("plain:8", [3, 32, 32], "relu", ModelOptions.None),
        ["plain:8 layer ws"] = ("plain:8", [1, 28, 28], "silu", new(Norm: "layer", WeightNorm: "ws")),
    };

    public static TheoryData<string> CaseNames() => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Summary_matches_the_built_model(string name)
    {
        var (spec, sample, activation, options) = Cases[name];
        var model = Models.FromSpec(spec, sample, 10, new Generator(0), activation, options);
        var summary = Models.Summarize(spec, sample, 10, activation, options);
        Assert.Equal(model.ParameterCount, summary.Parameters);

        // Each parameter belongs to the row whose name is its longest prefix; the rows' counts are those sums.
        var rows = summary.Layers;
        var counted = rows.Select(r => r.Name).Distinct().ToDictionary(n => n, _ => 0L);
        foreach (var (parameter, tensor) in model.NamedParameters())
        {
            var owner = rows.Where(r => parameter.StartsWith(r.Name + ".", StringComparison.Ordinal)).MaxBy(r => r.Name.Length);
            Assert.True(owner is not null, $"{name}: no row owns {parameter}");
            counted[owner.Name] += tensor.Numel;
        }
        foreach (var row in rows.Where(r => r.Parameters > 0)) Assert.Equal(counted[row.Name], row.Parameters);
        Assert.Equal(counted.Values.Sum(), rows.Sum(r => r.Parameters));
        var modules = model.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        foreach (var row in rows.Where(r => r.Parameters > 0)) Assert.StartsWith(modules[row.Name].GetType().Name, row.Kind);

        // Shapes: a Sequential's rows are its children in order, each output the child's; a ResNet's blocks end where
        // the block's output is.
        var x = Tensor.Randn([2, .. sample], new Generator(1));
        if (model is Sequential seq)
        {
            Assert.Equal(Enumerable.Range(0, seq.Count).Select(i => i.ToString()), rows.Select(r => r.Name));
            var y = seq.FlattenInput ? x.Flatten(1) : x;
            for (int i = 0; i < seq.Count; i++)
            {
                y = seq[i].Forward(y);
                Assert.Equal(y.Shape.Skip(1).Select(d => (long)d), rows[i].OutputShape);
                Assert.StartsWith(seq[i].GetType().Name, rows[i].Kind);
            }
        }
        else
        {
            Assert.Equal([10L], rows[^1].OutputShape);
            Assert.Equal(new[] { 2, 10 }, model.Forward(x).Shape);
            StageShapesMatch((ResNet)model, x, rows);
        }
    }

    // Runs a ResNet's stem and blocks by hand and compares each block's output shape with its last row's.
    static void StageShapesMatch(ResNet net, Tensor x, IReadOnlyList<LayerSummary> rows)
    {
        var y = net.Activation.Forward(ResNet.Normalize(net.Norm1, net.Conv1.Forward(x)));
        Assert.Equal(y.Shape.Skip(1).Select(d => (long)d), rows.Single(r => r.Name == "relu").OutputShape);
        for (int s = 0; s < 3; s++)
            for (int b = 0; b < net.Stages[s].Count; b++)
            {
                y = net.Stages[s][b].Forward(y);
                Assert.Equal(y.Shape.Skip(1).Select(d => (long)d), rows.Last(r => r.Name == $"layer{s + 1}.{b}.relu").OutputShape);
            }
    }

    [Fact]
    public void Mlp_flops_are_two_per_multiply_add_plus_one_per_activation()
    {
        var s = Models.Summarize("mlp:256,128", [1, 28, 28], 10);
        Assert.Equal(2L * (784 * 256 + 256 * 128 + 128 * 10) + 256 + 128, s.FlopsPerSample);
        Assert.Equal(new[] { "0", "1", "2", "3", "4" }, s.Layers.Select(l => l.Name));
        Assert.Equal(new[] { "Linear(784, 256)", "ReLU", "Linear(256, 128)", "ReLU", "Linear(128, 10)" }, s.Layers.Select(l => l.Kind));
        Assert.Equal(256L + 256 + 128 + 128 + 10, s.ActivationsPerSample);
        Assert.Equal(784L * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10, s.Parameters);
        // Adam: 2 slots; batch 32.
        Assert.Equal(s.Parameters * 4 * 4 + 2L * 32 * s.ActivationsPerSample * 4, s.TrainingBytes(32, 2));
        Assert.Equal(s.Parameters * 4 * 2, s.TrainingBytes(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => s.TrainingBytes(-1, 0));
    }

    [Fact]
    public void Cnn_conv_flops_by_hand()
    {
        var s = Models.Summarize("cnn", [1, 28, 28], 10);
        var rows = s.Layers.ToDictionary(l => l.Name);
        Assert.Equal("Conv2d(1, 32, 3, padding=1)", rows["0"].Kind);
        Assert.Equal(2L * 1 * 3 * 3 * 32 * 28 * 28, rows["0"].Flops);        // 451,584
        Assert.Equal(451_584L, rows["0"].Flops);
        Assert.Equal(32L * 28 * 28, rows["1"].Flops);                        // ReLU
        Assert.Equal(4L * 32 * 14 * 14, rows["2"].Flops);                    // MaxPool2d(2): four reads per output
        Assert.Equal(2L * 32 * 3 * 3 * 64 * 14 * 14, rows["3"].Flops);       // 7,225,344
        Assert.Equal(0, rows["6"].Flops);                                    // Flatten
        Assert.Equal(2L * 3136 * 128, rows["7"].Flops);
        Assert.Equal(new long[] { 3136 }, rows["6"].OutputShape);
        Assert.Equal(32L * 1 * 9 + 32, rows["0"].Parameters);
        // A ResNet's stem and first projection: bias-free, strided.
        var layers = Models.Summarize("resnet:8", [3, 32, 32], 10).Layers;
        LayerSummary R(string name, string kind) => layers.Single(l => l.Name == name && l.Kind == kind);
        Assert.Equal(2L * 3 * 9 * 16 * 32 * 32, R("conv1", "Conv2d(3, 16, 3, padding=1, bias=False)").Flops);
        Assert.Equal(2L * 16 * 1 * 32 * 16 * 16, R("layer2.0.downsample.0", "Conv2d(16, 32, 1, stride=2, bias=False)").Flops);
        Assert.Equal(2L * 16 * 9 * 32 * 16 * 16, R("layer2.0.conv1", "Conv2d(16, 32, 3, stride=2, padding=1, bias=False)").Flops);
        Assert.Equal(new long[] { 32, 16, 16 }, R("layer2.0", "Add").OutputShape);
        Assert.Equal(2, layers.Count(l => l.Name == "layer2.0.relu"));   // one module in torchvision, used twice
        Assert.Equal(64L * 8 * 8, R("avgpool", "AdaptiveAvgPool2d(1)").Flops);
    }

    [Fact]
    public void Models_too_large_to_build_are_summarised_at_once()
    {
        Models.Summarize("mlp:8", [784], 10);   // the code path compiled
        var clock = Stopwatch.StartNew();
        var s = Models.Summarize("mlp:20000000", [1, 28, 28], 10);
        clock.Stop();
        Assert.True(clock.ElapsedMilliseconds < 50, $"{clock.ElapsedMilliseconds} ms");
        Assert.Equal(784L * 20_000_000 + 20_000_000 + 20_000_000L * 10 + 10, s.Parameters);

        const long h = 99_999_999;
        var huge = Models.Summarize("mlp:99999999,99999999", [784], 10);
        Assert.Equal(784 * h + h + h * h + h + h * 10 + 10, huge.Parameters);
        Assert.Equal(2 * (784 * h + h * h + h * 10) + 2 * h, huge.FlopsPerSample);
        Assert.Equal(long.MaxValue, huge.TrainingBytes(int.MaxValue, 100));

        // Counts past long saturate instead of wrapping: conv2 alone is 2·10⁸·9·10⁸·14·14 FLOPs per sample.
        var wide = Models.Summarize("cnn:99999999,99999999", [1, 28, 28], 10);
        Assert.Equal(long.MaxValue, wide.FlopsPerSample);
        Assert.Equal(long.MaxValue, wide.Layers.Single(l => l.Name == "3").Flops);
        Assert.Equal(h * h * 9 + h, wide.Layers.Single(l => l.Name == "3").Parameters);
        Assert.Equal(long.MaxValue, wide.TrainingBytes(int.MaxValue, 2));
    }

    public static TheoryData<string, int[], string, ModelOptions> BadInputs() => new()
    {
        { "vgg:16", [1, 28, 28], "relu", ModelOptions.None },
        { "mlp:12,x", [784], "relu", ModelOptions.None },
        { "mlp:0", [784], "relu", ModelOptions.None },
        { ":3", [784], "relu", ModelOptions.None },
        { "cnn", [784], "relu", ModelOptions.None },
        { "cnn:8", [1, 28, 28], "relu", ModelOptions.None },
        { "cnn", [1, 3, 3], "relu", ModelOptions.None },
        { "resnet:9", [1, 28, 28], "relu", ModelOptions.None },
        { "plain:20", [784], "relu", ModelOptions.None },
        { "resnet:20", [1, 28, 28], "relu", new(Noise: 0.1f) },
        { "resnet:8", [1, 28, 28], "relu", new(NormAfter: true, Norm: "batch") },
        { "resnet:8", [1, 28, 28], "relu", new(Norm: "group:3") },
        { "resnet:8", [1, 28, 28], "relu", new(Norm: "groups") },
        { "resnet:8", [1, 28, 28], "relu", new(WeightNorm: "wn") },
        { "resnet:8", [1, 28, 28], "swishy", ModelOptions.None },
        { "resnet:8", [1, 28, 28], "relu", new(Dropout: 2f) },
        { "mlp:8", [784], "swishy", ModelOptions.None },
        { "mlp:8", [784], "relu", new(Norm: "instance") },
        { "mlp:8", [784], "relu", new(Norm: "group:3") },
        { "mlp:8", [784], "relu", new(Norm: "group:0") },
        { "mlp:8", [784], "relu", new(Norm: "bogus") },
        { "mlp:8", [784], "relu", new(DropConnect: 0.3f, WeightNorm: "ws") },
        { "mlp:8", [784], "relu", new(WeightNorm: "bogus") },
        { "mlp:8", [784], "relu", new(Dropout: 1.5f) },
        { "mlp:8", [784], "relu", new(InputDropout: 1.5f) },
        { "mlp:8", [784], "relu", new(DropConnect: 1.5f) },
        { "cnn", [1, 28, 28], "swishy", ModelOptions.None },
        { "cnn", [1, 28, 28], "swishy", new(WeightNorm: "bogus") },
        { "cnn", [1, 28, 28], "swishy", new(Norm: "bogus") },
        { "cnn", [1, 28, 28], "relu", new(Norm: "group:5") },
        { "cnn:8,16", [3, 32, 32], "relu", new(Norm: "group:16") },
        { "cnn:8,16", [3, 32, 32], "relu", new(Norm: "instance", DropConnect: 0.2f, WeightNorm: "ws") },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Summary_refuses_what_FromSpec_refuses_with_the_same_message(string spec, int[] sample, string activation, ModelOptions options)
    {
        var built = Record.Exception(() => Models.FromSpec(spec, sample, 10, new Generator(0), activation, options));
        var summarised = Record.Exception(() => Models.Summarize(spec, sample, 10, activation, options));
        Assert.NotNull(built);
        Assert.NotNull(summarised);
        Assert.Equal(built.GetType(), summarised.GetType());
        Assert.Equal(built.Message, summarised.Message);
    }

    [Fact]
    public void What_FromSpec_lets_through_Summarize_does_too()
    {
        // mlp without hidden layers never meets its weight normalisation or norm, so neither refuses them.
        var options = new ModelOptions(WeightNorm: "bogus", Norm: "group:7");
        Models.FromSpec("mlp", [784], 10, new Generator(0), options: options);
        Assert.Equal(7850, Models.Summarize("mlp", [784], 10, options: options).Parameters);
    }
}
