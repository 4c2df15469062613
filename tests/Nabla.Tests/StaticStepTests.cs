using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Tests;

/// <summary>
/// The static training step against the autograd path it replaces: the same losses, gradients, parameters, running
/// statistics and dropout masks, bit for bit, over several Adam steps; and no allocation once warm.
/// </summary>
public class StaticStepTests
{
    internal static (Tensor X, IntTensor Y) Batch(int n, int[] sample, int seed, int classes = 10)
    {
        var g = new Generator((ulong)seed);
        var x = Tensor.Randn([n, .. sample], g);
        var y = IntTensor.FromArray(Enumerable.Range(0, n).Select(i => (int)(g.NextUInt64() % (ulong)classes)).ToArray());
        return (x, y);
    }

    // Trains twin models (same seed) with the autograd path and with the static step, batch by batch, comparing bits.
    static void AssertTwinsAgree(string spec, int[] sample, ModelOptions options, int[] batchSizes, CrossEntropyLoss? loss = null, string activation = "relu")
    {
        loss ??= new CrossEntropyLoss();
        var eager = Models.FromSpec(spec, sample, 10, new Generator(3), activation, options);
        var twin = Models.FromSpec(spec, sample, 10, new Generator(3), activation, options);
        var step = StaticStep.TryCreate(twin, loss, out var reason);
        Assert.True(step is not null, reason);
        var eagerOpt = new Adam(eager.Parameters(), lr: 1e-2);
        var staticOpt = new Adam(twin.Parameters(), lr: 1e-2);
        var eagerParams = eager.Parameters().ToArray();
        var staticParams = twin.Parameters().ToArray();
        for (int s = 0; s < batchSizes.Length; s++)
        {
            var (x, y) = Batch(batchSizes[s], sample, 100 + s);
            eagerOpt.ZeroGrad();
            var l = loss.Forward(eager.Forward(x), y);
            l.Backward();
            float staticLoss = step.Run(x, y);
            Assert.Equal(l.Item(), staticLoss);
            for (int i = 0; i < eagerParams.Length; i++)
                Assert.True(eagerParams[i].Grad!.ToArray().AsSpan().SequenceEqual(staticParams[i].Grad!.ToArray()), $"step {s}: gradient of parameter {i} differs");
            eagerOpt.Step();
            staticOpt.Step();
        }
        var a = eager.StateDict();
        var b = twin.StateDict();
        foreach (var (key, value) in a)
        {
            if (value.Float is { } t) Assert.True(t.ToArray().AsSpan().SequenceEqual(b[key].Float!.ToArray()), $"{key} differs");
            else Assert.Equal(value.Int!.Data, b[key].Int!.Data);
        }
    }

    [Fact]
    public void Mlp_steps_match_the_autograd_path_bit_for_bit() =>
        AssertTwinsAgree("mlp:64,32", [1, 10, 10], ModelOptions.None, [32, 32, 32, 7, 32]);

    // The lecture's classic activations and two more; a 200×100 hidden layer is big enough to split over threads.
    [Theory]
    [InlineData("sigmoid")]
    [InlineData("tanh")]
    [InlineData("gelu")]
    [InlineData("softplus")]
    public void Mlps_with_other_activations_match_the_autograd_path_bit_for_bit(string activation) =>
        AssertTwinsAgree("mlp:100,30", [1, 13, 13], ModelOptions.None, [200, 200, 13], activation: activation);

    // Residual blocks (identity and projection shortcuts), the plain net's blocks and global average pooling.
    [Theory]
    [InlineData("resnet:8")]
    [InlineData("plain:8")]
    [InlineData("resnet:14")]
    public void Resnet_steps_match_the_autograd_path_bit_for_bit(string spec) =>
        AssertTwinsAgree(spec, [1, 8, 8], ModelOptions.None, [6, 6, 3]);

    // Dropout before fc, the one model option besides the defaults that the static layers run for a residual net.
    [Theory]
    [InlineData("resnet:8", DropoutMode.Inverted)]
    [InlineData("plain:8", DropoutMode.Classic)]
    public void Resnet_with_dropout_matches_the_autograd_path_bit_for_bit(string spec, DropoutMode mode) =>
        AssertTwinsAgree(spec, [1, 8, 8], new ModelOptions(Dropout: 0.4f, Mode: mode), [6, 6, 3]);

    [Fact]
    public void Cnn_steps_match_the_autograd_path_bit_for_bit() =>
        AssertTwinsAgree("cnn:4,8", [1, 12, 12], ModelOptions.None, [16, 16, 5]);

    [Fact]
    public void Cnn_with_batch_norm_and_dropout_matches_the_autograd_path_bit_for_bit() =>
        AssertTwinsAgree("cnn:4,8", [2, 12, 12], new ModelOptions(Dropout: 0.5f, Norm: "batch"), [16, 16, 9, 16]);

    [Fact]
    public void Mlp_with_batch_norm_dropout_and_summed_loss_matches() =>
        AssertTwinsAgree("mlp:24,16", [30], new ModelOptions(Dropout: 0.3f, InputDropout: 0.2f, Norm: "batch"), [20, 20, 6],
            new CrossEntropyLoss(reduction: Reduction.Sum));

    // Every layer option the static layers pass on: strided, dilated, grouped and bias-free convolutions, padded and
    // ceil-mode pooling, BatchNorm without affine or running statistics and with a cumulative average, p = 0 and
    // classic dropout, tanh, tanh-approximated GELU, softplus with β and a threshold, sigmoid, Identity and Flatten.
    static Sequential Odd(int seed)
    {
        var g = new Generator((ulong)seed);
        return new Sequential(
            new Conv2d(2, 4, (3, 3), g, stride: (2, 1), padding: (1, 2), dilation: (1, 2), groups: 2, bias: false),
            new BatchNorm2d(4, momentum: null),
            new Tanh(),
            new MaxPool2d(3, stride: 2, padding: 1, ceilMode: true),
            new Dropout(0f, new Generator(1)),
            new Conv2d(4, 6, 1, g),
            new BatchNorm2d(6, affine: false, trackRunningStats: false),
            new ReLU(),
            new Identity(),
            new Flatten(),
            new Linear(6 * 5 * 5, 12, g),
            new GELU("tanh"),
            new Dropout(0.3f, new Generator(2), DropoutMode.Classic),
            new Linear(12, 12, g),
            new Softplus(beta: 2f, threshold: 1f),
            new Sigmoid(),
            new Linear(12, 5, g));
    }

    [Fact]
    public void Layer_options_match_the_autograd_path_bit_for_bit()
    {
        var eager = Odd(7);
        var twin = Odd(7);
        var loss = new CrossEntropyLoss();
        var step = StaticStep.TryCreate(twin, loss, out var reason);
        Assert.True(step is not null, reason);
        var eagerOpt = new SGD(eager.Parameters(), lr: 0.1, momentum: 0.9);
        var staticOpt = new SGD(twin.Parameters(), lr: 0.1, momentum: 0.9);
        for (int s = 0; s < 3; s++)
        {
            var (x, y) = Batch(6, [2, 15, 9], 40 + s, classes: 5);
            eagerOpt.ZeroGrad();
            var logits = eager.Forward(x);
            var l = loss.Forward(logits, y);
            l.Backward();
            Assert.Equal(l.Item(), step!.Run(x, y));
            Assert.Equal(logits.ToArray(), step.Output!.ToArray());
            var e = eager.Parameters().ToArray();
            var t = twin.Parameters().ToArray();
            for (int i = 0; i < e.Length; i++)
                Assert.True(e[i].Grad!.ToArray().AsSpan().SequenceEqual(t[i].Grad!.ToArray()), $"step {s}: gradient of parameter {i} differs");
            eagerOpt.Step();
            staticOpt.Step();
        }
        foreach (var (key, value) in eager.StateDict())
            if (value.Float is { } f) Assert.True(f.ToArray().AsSpan().SequenceEqual(twin.StateDict()[key].Float!.ToArray()), $"{key} differs");
    }

    [Fact]
    public void Ignored_targets_count_as_on_the_autograd_path()
    {
        var eager = Models.FromSpec("mlp:16", [8], 10, new Generator(4));
        var twin = Models.FromSpec("mlp:16", [8], 10, new Generator(4));
        var loss = new CrossEntropyLoss(ignoreIndex: 3);
        var step = StaticStep.TryCreate(twin, loss, out _)!;
        var (x, _) = Batch(12, [8], 9);
        var y = IntTensor.FromArray([3, 1, 3, 0, 9, 3, 2, 3, 5, 3, 7, 3]);
        var l = loss.Forward(eager.Forward(x), y);
        l.Backward();
        Assert.Equal(l.Item(), step.Run(x, y));
        var e = eager.Parameters().ToArray();
        var s = twin.Parameters().ToArray();
        for (int i = 0; i < e.Length; i++) Assert.Equal(e[i].Grad!.ToArray(), s[i].Grad!.ToArray());
    }

    // 5462 × 3 logits: the autograd path's exp runs over a 16,384-element block and a 2-element one (two threads), and
    // TensorPrimitives gives a 2-element span the scalar exp, which differs from its vector one in the last bit for
    // about half of all inputs; the static step must split the same way. Compared on ∂loss/∂logits itself, where a
    // difference cannot vanish in a later sum.
    [Fact]
    public void Cross_entropy_splits_its_exp_as_the_autograd_path_does()
    {
        var g = new Generator(6);
        int m = 5462, classes = 3;
        var logits = (Tensor.Randn([m, classes], g) * 3f).RequiresGrad_();
        var (_, y) = Batch(m, [1], 8, classes);
        var loss = Functional.CrossEntropy(logits, y);
        loss.Backward();
        var ce = new StaticCrossEntropy([m, classes], ignoreIndex: -100, mean: true);
        Assert.Equal(loss.Item(), ce.Run(logits.ToArray(), 0, y.Data));
        Assert.True(logits.Grad!.ToArray().AsSpan().SequenceEqual(ce.GradLogits), "∂loss/∂logits differs");
    }

    // cnn: the first convolution and its BatchNorm frozen, so nothing before the second convolution wants a gradient;
    // resnet:8: the stem and the first block's first convolution and BatchNorm frozen, so that block's chain starts
    // halfway.
    [Theory]
    [InlineData("cnn:4,8", 4)]
    [InlineData("resnet:8", 6)]
    public void Frozen_parameters_get_no_gradient_and_the_others_the_autograd_ones(string spec, int frozen)
    {
        var options = spec.StartsWith("cnn", StringComparison.Ordinal) ? new ModelOptions(Norm: "batch") : ModelOptions.None;
        var eager = Models.FromSpec(spec, [1, 12, 12], 10, new Generator(3), options: options);
        var twin = Models.FromSpec(spec, [1, 12, 12], 10, new Generator(3), options: options);
        foreach (var model in new[] { eager, twin })
            foreach (var p in model.Parameters().Take(frozen)) p.RequiresGrad = false;
        var loss = new CrossEntropyLoss();
        var step = StaticStep.TryCreate(twin, loss, out _)!;
        var (x, y) = Batch(8, [1, 12, 12], 4);
        loss.Forward(eager.Forward(x), y).Backward();
        step.Run(x, y);
        var e = eager.Parameters().ToArray();
        var t = twin.Parameters().ToArray();
        for (int i = 0; i < e.Length; i++)
        {
            if (i < frozen) Assert.Null(t[i].Grad);
            else Assert.Equal(e[i].Grad!.ToArray(), t[i].Grad!.ToArray());
        }
    }

    [Fact]
    public void A_refused_first_batch_does_not_fix_the_sample_shape()
    {
        var model = new Sequential(new Linear(6, 3, new Generator(1)), new BatchNorm2d(3));
        var step = StaticStep.TryCreate(model, new CrossEntropyLoss(), out _)!;
        // BatchNorm2d after a Linear gets (N, C): the autograd path refuses it, and so does the static step.
        Assert.Throws<ArgumentException>(() => step.Run(Tensor.Zeros(4, 6), IntTensor.FromArray([0, 1, 2, 0])));
        var ok = StaticStep.TryCreate(new Sequential(new Linear(6, 3, new Generator(1))), new CrossEntropyLoss(), out _)!;
        Assert.Throws<ArgumentException>(() => ok.Run(Tensor.Zeros(4, 5), IntTensor.FromArray([0, 1, 2, 0])));
        ok.Run(Tensor.Zeros(4, 6), IntTensor.FromArray([0, 1, 2, 0]));
    }

    [Fact]
    public void A_changed_model_or_a_layer_in_evaluation_mode_stops_the_step()
    {
        var model = Models.FromSpec("mlp:8", [4], 3, new Generator(1), options: new ModelOptions(Norm: "batch"));
        var step = StaticStep.TryCreate(model, new CrossEntropyLoss(), out _)!;
        var (x, y) = Batch(5, [4], 2, classes: 3);
        Assert.True(step.CanRun);
        ((Sequential)model)[1].Eval();   // the BatchNorm1d alone
        Assert.False(step.CanRun);
        Assert.Throws<InvalidOperationException>(() => step.Run(x, y));
        model.Train();
        Assert.True(step.CanRun);
        ((Sequential)model).Add(new ReLU());
        Assert.False(step.CanRun);
        Assert.Throws<InvalidOperationException>(() => step.Run(x, y));
    }

    [Fact]
    public void Unsupported_models_and_losses_say_why()
    {
        var noisy = Models.FromSpec("mlp:8", [4], 3, new Generator(1), options: new ModelOptions(Noise: 0.1f));
        Assert.Null(StaticStep.TryCreate(noisy, new CrossEntropyLoss(), out var reason));
        Assert.Contains("GaussianNoise", reason);
        var mlp = Models.FromSpec("mlp:8", [4], 3, new Generator(1));
        Assert.Null(StaticStep.TryCreate(mlp, new CrossEntropyLoss(labelSmoothing: 0.1f), out reason));
        Assert.Contains("label smoothing", reason);
        Assert.Null(StaticStep.TryCreate(mlp, new MSELoss(), out _));
        var shared = new Linear(4, 4, new Generator(2));
        Assert.Null(StaticStep.TryCreate(new Sequential(shared, new ReLU(), shared), new CrossEntropyLoss(), out reason));
        Assert.Contains("shares a parameter", reason);
    }

    [Fact]
    public void Bad_batches_and_evaluation_mode_are_refused()
    {
        var model = Models.FromSpec("mlp:8", [4], 3, new Generator(1));
        var step = StaticStep.TryCreate(model, new CrossEntropyLoss(), out _)!;
        var (x, y) = Batch(5, [4], 2, classes: 3);
        step.Run(x, y);
        Assert.Throws<ArgumentException>(() => step.Run(Tensor.Zeros(5, 6), y));
        Assert.Throws<ArgumentException>(() => step.Run(x, IntTensor.FromArray([0, 1])));
        Assert.Throws<ArgumentOutOfRangeException>(() => step.Run(x, IntTensor.FromArray([0, 1, 2, 3, 0])));
        model.Eval();
        Assert.Throws<InvalidOperationException>(() => step.Run(x, y));
    }
}

/// <summary>
/// Steady-state allocation of the static step. Alone in the process: when another test holds the worker threads, a
/// kernel runs every part on the calling thread, whose first use of a scratch size is an allocation.
/// </summary>
[Collection(nameof(AloneInTheProcess))]
public class StaticStepAllocationTests
{
    // The bench's workloads (the cnn ones on a smaller batch): kernels split over threads, Adam updates in place.
    [Theory]
    [InlineData("mlp:256,128", 128, false)]
    [InlineData("cnn", 32, false)]
    [InlineData("cnn", 32, true)]
    [InlineData("resnet:8", 16, false)]
    [InlineData("resnet:8", 16, true)]
    public void A_warm_step_allocates_nothing(string spec, int batch, bool normAndDropout)
    {
        var options = normAndDropout ? new ModelOptions(Dropout: 0.5f, Norm: "batch") : ModelOptions.None;
        var model = Models.FromSpec(spec, [1, 28, 28], 10, new Generator(0), options: options);
        var step = StaticStep.TryCreate(model, new CrossEntropyLoss(), out _)!;
        var opt = new Adam(model.Parameters(), lr: 1e-3);
        var (x, y) = StaticStepTests.Batch(batch, [1, 28, 28], 1);
        void Step()
        {
            opt.ZeroGrad();
            step.Run(x, y);
            opt.Step();
        }
        // Past the JIT's call-counting threshold (30) and its delay (100 ms): its tier-up can allocate once on the
        // calling thread.
        for (int i = 0; i < 40; i++) Step();
        Thread.Sleep(300);
        for (int i = 0; i < 10; i++) Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 40; i++) Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

}

/// <summary>Tests that must not share the process's worker threads with tests running in parallel.</summary>
[CollectionDefinition(nameof(AloneInTheProcess), DisableParallelization = true)]
public class AloneInTheProcess;

/// <summary>The Trainer takes the static step when it can, with the autograd path's numbers.</summary>
public class StaticStepTrainerTests
{
    static (History History, float[] Weights) Fit(bool useStatic, string spec, ModelOptions options)
    {
        var g = new Generator(11);
        var data = new TensorDataset(Tensor.Rand([90, 1, 12, 12], g), IntTensor.FromArray(Enumerable.Range(0, 90).Select(i => i % 10).ToArray()));
        var validation = new TensorDataset(Tensor.Rand([20, 1, 12, 12], g), IntTensor.FromArray(Enumerable.Range(0, 20).Select(i => i % 10).ToArray()));
        var model = Models.FromSpec(spec, [1, 12, 12], 10, new Generator(5), options: options);
        var trainer = new Trainer(new TrainerOptions { BatchSize = 32, Seed = 3, StaticStep = useStatic, BackgroundLoading = false });
        var history = trainer.Fit(model, new CrossEntropyLoss(), new Adam(model.Parameters(), lr: 3e-3), data, validation, 3);
        return (history, model.Parameters().SelectMany(p => p.ToArray()).ToArray());
    }

    [Theory]
    [InlineData("mlp:32,16", false)]
    [InlineData("cnn:4,8", true)]
    public void Static_and_autograd_training_give_the_same_history_and_weights(string spec, bool normAndDropout)
    {
        var options = normAndDropout ? new ModelOptions(Dropout: 0.5f, Norm: "batch") : ModelOptions.None;
        var a = Fit(false, spec, options);
        var b = Fit(true, spec, options);
        foreach (var key in new[] { "loss", "accuracy", "val_loss", "val_accuracy" })
            Assert.Equal(a.History.Series(key), b.History.Series(key));
        Assert.Equal(a.Weights, b.Weights);
        Assert.False(a.History.StaticStep);
        Assert.True(b.History.StaticStep);
    }
}
