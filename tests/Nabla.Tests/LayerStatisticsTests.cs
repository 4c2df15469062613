using Nabla.Autograd;
using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;
using Xunit;

namespace Nabla.Tests;

public class LayerStatisticsTests
{
    [Fact]
    public void A_forward_hook_sees_each_layers_output_and_unfuses_only_what_it_watches()
    {
        var net = (Sequential)Models.FromSpec("mlp:8", 4, 3, new Generator(1));
        var x = Tensor.Rand([5, 4], 2);
        var before = net.Forward(x).ToArray();
        Tensor? seen = null;
        var handle = net[1].RegisterForwardHook((m, input, output) => seen = output);   // the ReLU after Linear 0
        Assert.True(net[1].HasForwardHooks);
        var after = net.Forward(x).ToArray();
        Assert.Equal(before, after);   // unfused Linear then ReLU: the same bits
        Assert.NotNull(seen);
        float[] expected;
        using (GradMode.NoGrad()) expected = net[0].Forward(x).Relu().ToArray();
        Assert.Equal(expected, seen!.ToArray());
        handle.Dispose();
        seen = null;
        net.Forward(x);
        Assert.Null(seen);
        Assert.False(net[1].HasForwardHooks);
        handle.Dispose();   // twice is harmless
    }

    [Fact]
    public void Layer_statistics_replay_inside_a_captured_step_and_equal_the_eager_ones()
    {
        var data = new TensorDataset(Tensor.Rand([96, 1, 6, 6], 3), IntTensor.FromArray([.. Enumerable.Range(0, 96).Select(i => i % 3)]), 3);
        (History H, LayerStatistics S) Run(bool capture)
        {
            var model = Models.FromSpec("mlp:16,8", data.SampleShape, 3, new Generator(4), activation: "sigmoid", options: new ModelOptions(Norm: "batch"));
            var stats = new LayerStatistics(every: 1);
            var h = new Trainer(new TrainerOptions { BatchSize = 16, Seed = 1, CaptureStep = capture })
                .Fit(model, new CrossEntropyLoss(), new SGD(model.Parameters(), 0.5), data, null, 2, [stats]);
            return (h, stats);
        }
        var (hc, captured) = Run(true);
        var (he, eager) = Run(false);
        Assert.True(hc.CapturedStep, hc.CaptureNote);
        Assert.False(he.CapturedStep);
        Assert.Equal(12, captured.Samples.Count);   // 2 epochs of 6 steps, every step
        Assert.Contains(captured.Layers, l => l.Contains("Linear", StringComparison.Ordinal));
        Assert.Contains(captured.Layers, l => l.Contains("Sigmoid", StringComparison.Ordinal));
        Assert.Contains(captured.Layers, l => l.Contains("BatchNorm1d", StringComparison.Ordinal));
        for (int i = 0; i < captured.Samples.Count; i++)
        {
            Assert.Equal(eager.Samples[i].Mean, captured.Samples[i].Mean);
            Assert.Equal(eager.Samples[i].Std, captured.Samples[i].Std);
            Assert.Equal(eager.Samples[i].GradientNorm, captured.Samples[i].GradientNorm);
        }
        // The statistics move from step to step (a replay that left them stale would repeat the first).
        Assert.NotEqual(captured.Samples[3].Mean, captured.Samples[9].Mean);
        // A BatchNorm's output has mean ≈ β = 0 and deviation ≈ γ = 1 at the start.
        int bn = captured.Layers.ToList().FindIndex(l => l.Contains("BatchNorm1d", StringComparison.Ordinal));
        Assert.InRange(captured.Samples[0].Mean[bn], -1e-5, 1e-5);
        Assert.InRange(captured.Samples[0].Std[bn], 0.99, 1.0);
        Assert.True(double.IsNaN(captured.Samples[0].GradientNorm[bn]));
        Assert.True(captured.Samples[0].GradientNorm[0] > 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LayerStatistics(0));
    }

    [Fact]
    public void An_eval_pass_neither_runs_the_reductions_nor_overwrites_the_training_steps()
    {
        var model = Models.FromSpec("mlp:8", 4, 3, new Generator(1));
        var stats = new LayerStatistics(every: 1);
        stats.Attach(model);
        model.Train();
        model.Forward(Tensor.Rand([6, 4], 2));
        var trained = stats.Sample(1);
        model.Eval();
        model.Forward(Tensor.Full([6, 4], 100f));   // a very different batch: were it recorded, the means would move
        var afterEval = stats.Sample(2);
        Assert.Equal(trained.Mean, afterEval.Mean);
        Assert.Equal(trained.Std, afterEval.Std);
        stats.Detach();
    }
}

public class LayerStatisticsCoverageTests
{
    [Theory]
    [InlineData("resnet:8", "none", "Conv2d")]
    [InlineData("mlp:16", "ws", "WeightStandardization")]
    [InlineData("mlp:16", "spectral", "SpectralNorm")]
    public void Residual_nets_and_wrapped_layers_are_recorded(string spec, string weightNorm, string kind)
    {
        var data = new TensorDataset(Tensor.Rand([32, 1, 8, 8], 3), IntTensor.FromArray([.. Enumerable.Range(0, 32).Select(i => i % 3)]), 3);
        var model = Models.FromSpec(spec, data.SampleShape, 3, new Generator(4), options: new ModelOptions(WeightNorm: weightNorm));
        var stats = new LayerStatistics(every: 1);
        new Trainer(new TrainerOptions { BatchSize = 16, Seed = 1 }).Fit(model, new CrossEntropyLoss(), new SGD(model.Parameters(), 0.1), data, null, 1, [stats]);
        int k = stats.Layers.ToList().FindIndex(l => l.Contains($"({kind})", StringComparison.Ordinal));
        Assert.True(k >= 0, string.Join(", ", stats.Layers));
        Assert.True(stats.Samples[^1].GradientNorm[k] > 0);
        Assert.True(double.IsFinite(stats.Samples[^1].Mean[k]) && stats.Samples[^1].Std[k] > 0);
    }
}
