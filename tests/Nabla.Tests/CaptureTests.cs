using Nabla.Data.Transforms;
using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Tests;

/// <summary>
/// One generic check over every layer, activation, loss, norm, regulariser and optimizer: two twins of a small model
/// step alike, one eagerly and one captured after a warm-up step and then replayed, and must agree bit for bit in
/// losses, outputs, gradients, weights, optimizer state, running statistics and generator states — with replays
/// counted (a silent fall-back to eager fails) and 0 bytes allocated per replayed step on every thread.
/// </summary>
public class CaptureTests
{
    // What one case trains: a model, its loss, an optimizer factory, the input shape and how targets look.
    public sealed record Case(Func<Module> Model, Func<Loss> Loss, Func<IEnumerable<Tensor>, Optimizer> Optimizer, int[] Input, int Classes, TargetKind Targets);

    public enum TargetKind { Labels, Probabilities, Values }

    private static Func<IEnumerable<Tensor>, Optimizer> Adam => ps => new Adam(ps, lr: 1e-2);

    private static Case Mlp(Func<Module> activation, string? _ = null) =>
        new(() => new Sequential(new Linear(6, 8, 1), activation(), new Linear(8, 3, 2)), () => new CrossEntropyLoss(), Adam, [5, 6], 3, TargetKind.Labels);

    private static Case Image(Func<Module[]> layers, Func<Loss>? loss = null) =>
        new(() => new Sequential([.. layers(), new Flatten(), new Linear(4 * 4 * 4, 3, 7)]), loss ?? (() => new CrossEntropyLoss()), Adam, [4, 2, 8, 8], 3, TargetKind.Labels);

    private static Module Conv(int seed = 3) => new Conv2d(2, 4, 3, new Generator(seed), padding: 1);

    /// <summary>The table: every family's members (the registries of issue 20 will enumerate it; until then, this list).</summary>
    public static readonly Dictionary<string, Case> Cases = new()
    {
        // activations: every row of the registry (below), plus the variants the registry's defaults do not reach
        ["gelu_tanh"] = Mlp(() => new GELU("tanh")),
        ["softplus_beta_threshold"] = Mlp(() => new Softplus(2f, 10f)),
        ["leaky_relu_0.1"] = Mlp(() => new LeakyReLU(0.1f)),
        // layers and pooling
        ["conv_maxpool"] = Image(() => [Conv(), new ReLU(), new MaxPool2d(2)]),
        ["conv_avgpool"] = Image(() => [Conv(), new Tanh(), new AvgPool2d(2)]),
        ["adaptive_avgpool"] = Image(() => [Conv(), new ReLU(), new AdaptiveAvgPool2d(4, 4)]),
        ["identity_flatten"] = Mlp(() => new Identity()),
        ["conv_transpose"] = Image(() => [Conv(), new ReLU(), new ConvTranspose2d(4, 4, 4, new Generator(21), stride: 2, padding: 1), new MaxPool2d(4)]),
        ["conv_transpose_groups_output_padding"] = Image(() =>
            [Conv(), new ReLU(), new ConvTranspose2d(4, 4, 3, new Generator(22), stride: 2, padding: 1, outputPadding: 1, groups: 2), new MaxPool2d(4)]),
        ["upsample_nearest"] = Image(() => [Conv(), new ReLU(), new MaxPool2d(4), new Upsample(2)]),
        ["upsample_bilinear"] = Image(() => [Conv(), new ReLU(), new MaxPool2d(4), new Upsample(2, UpsampleMode.Bilinear)]),
        // norms
        ["batchnorm1d"] = Mlp(() => new BatchNorm1d(8)),
        ["batchnorm1d_cumulative"] = Mlp(() => new BatchNorm1d(8, momentum: null)),
        ["batchnorm2d"] = Image(() => [Conv(), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2)]),
        ["layernorm"] = Mlp(() => new LayerNorm(8)),
        ["groupnorm"] = Image(() => [Conv(), new GroupNorm(2, 4), new ReLU(), new MaxPool2d(2)]),
        ["instancenorm"] = Image(() => [Conv(), new InstanceNorm2d(4, affine: true, trackRunningStats: true), new ReLU(), new MaxPool2d(2)]),
        ["switchnorm"] = Image(() => [Conv(), new SwitchNorm(4), new ReLU(), new MaxPool2d(2)]),
        ["weight_standardization"] = Image(() => [new WeightStandardization(Conv()), new ReLU(), new MaxPool2d(2)]),
        ["spectral_norm"] = Image(() => [new SpectralNorm(Conv(), new Generator(9)), new ReLU(), new MaxPool2d(2)]),
        // regularisers
        ["dropout"] = Mlp(() => new Dropout(0.3f, new Generator(11))),
        ["dropout_classic"] = Mlp(() => new Dropout(0.3f, new Generator(11), DropoutMode.Classic)),
        ["dropout2d"] = Image(() => [Conv(), new Dropout2d(0.5f, new Generator(12)), new ReLU(), new MaxPool2d(2)]),
        ["dropconnect"] = new(() => new Sequential(new DropConnect(new Linear(6, 8, 1), 0.4f, new Generator(13)), new ReLU(), new Linear(8, 3, 2)),
            () => new CrossEntropyLoss(), Adam, [5, 6], 3, TargetKind.Labels),
        ["gaussian_noise"] = Mlp(() => new GaussianNoise(0.2f, generator: new Generator(14))),
        ["gaussian_noise_multiplicative"] = Mlp(() => new GaussianNoise(0.2f, multiplicative: true, generator: new Generator(14))),
        // residual blocks
        ["basic_block"] = new(() => new Sequential(new BasicBlock(2, 4, 2, new Generator(15)), new Flatten(), new Linear(4 * 4 * 4, 3, 7)),
            () => new CrossEntropyLoss(), Adam, [4, 2, 8, 8], 3, TargetKind.Labels),
        ["bottleneck"] = new(() => new Sequential(new Bottleneck(2, 1, 2, new Generator(16)), new Flatten(), new Linear(4 * 4 * 4, 3, 7)),
            () => new CrossEntropyLoss(), Adam, [4, 2, 8, 8], 3, TargetKind.Labels),
        ["resnet8"] = new(() => Models.FromSpec("resnet:8", [1, 8, 8], 3, new Generator(17), options: new ModelOptions(Dropout: 0.2f)),
            () => new CrossEntropyLoss(), Adam, [4, 1, 8, 8], 3, TargetKind.Labels),
        // losses
        ["cross_entropy_weighted_smoothed"] = Mlp(() => new ReLU()) with
        {
            Loss = () => new CrossEntropyLoss(Tensor.FromArray([0.5f, 2f, 1f], 3), labelSmoothing: 0.1f),
        },
        ["cross_entropy_sum"] = Mlp(() => new ReLU()) with { Loss = () => new CrossEntropyLoss(reduction: Reduction.Sum) },
        ["cross_entropy_soft_labels"] = Mlp(() => new ReLU()) with { Loss = () => new CrossEntropyLoss(labelSmoothing: 0.05f), Targets = TargetKind.Probabilities },
        ["nll"] = new(() => new Sequential(new Linear(6, 8, 1), new ReLU(), new Linear(8, 3, 2), new LogSoftmax(1)),
            () => new NLLLoss(Tensor.FromArray([1f, 0.5f, 2f], 3)), Adam, [5, 6], 3, TargetKind.Labels),
        ["mse"] = Mlp(() => new ReLU()) with { Loss = () => new MSELoss(), Targets = TargetKind.Values },
        ["l1"] = Mlp(() => new ReLU()) with { Loss = () => new L1Loss(), Targets = TargetKind.Values },
        ["huber"] = Mlp(() => new ReLU()) with { Loss = () => new HuberLoss(0.5f), Targets = TargetKind.Values },
        ["bce"] = new(() => new Sequential(new Linear(6, 8, 1), new ReLU(), new Linear(8, 3, 2), new Sigmoid()),
            () => new BCELoss(), Adam, [5, 6], 3, TargetKind.Probabilities),
        ["bce_logits"] = Mlp(() => new ReLU()) with { Loss = () => new BCEWithLogitsLoss(posWeight: Tensor.FromArray([1f, 2f, 0.5f], 3)), Targets = TargetKind.Probabilities },
        // optimizers
        ["adam_weight_decay"] = Mlp(() => new ReLU()) with { Optimizer = ps => new Adam(ps, lr: 1e-2, weightDecay: 0.1) },
        ["adamw"] = Mlp(() => new ReLU()) with { Optimizer = ps => new AdamW(ps, lr: 1e-2) },
        ["adam_amsgrad_maximize"] = Mlp(() => new ReLU()) with { Optimizer = ps => new Adam(ps, lr: 1e-2, amsgrad: true, maximize: true) },
        ["sgd"] = Mlp(() => new ReLU()) with { Optimizer = ps => new SGD(ps, lr: 1e-2, momentum: 0) },
        ["sgd_momentum_dampening_decay"] = Mlp(() => new ReLU()) with { Optimizer = ps => new SGD(ps, lr: 1e-2, momentum: 0.9, dampening: 0.1, weightDecay: 1e-2) },
        ["sgd_nesterov"] = Mlp(() => new ReLU()) with { Optimizer = ps => new SGD(ps, lr: 1e-2, momentum: 0.9, nesterov: true) },
        ["rmsprop"] = Mlp(() => new ReLU()) with { Optimizer = ps => new RMSProp(ps, lr: 1e-2) },
        ["rmsprop_centered_momentum"] = Mlp(() => new ReLU()) with { Optimizer = ps => new RMSProp(ps, lr: 1e-2, momentum: 0.5, centered: true, weightDecay: 1e-3) },
        ["adagrad"] = Mlp(() => new ReLU()) with { Optimizer = ps => new Adagrad(ps, lr: 1e-2, lrDecay: 0.01, weightDecay: 1e-3, initialAccumulatorValue: 0.1) },
    };

    static CaptureTests()
    {
        foreach (var a in Activations.Registry) Cases["activation:" + a.Name] = Mlp(() => a.Create());
        foreach (var o in Optimizers.Registry) Cases["optimizer:" + o.Name] = Mlp(() => new ReLU()) with { Optimizer = ps => o.Create(ps) };
        foreach (var n in Norms.Registry)
        {
            string spec = n.Form.Replace("G", "2", StringComparison.Ordinal);
            Cases["norm:" + spec] = Image(() => [Conv(), .. n.Maps(spec, 4, 8, 8) is { } plan ? [plan.Create()] : Array.Empty<Module>(), new ReLU(), new MaxPool2d(2)]);
            if (n.Features?.Invoke(spec, 8) is { } flat) Cases["norm:" + spec + ":flat"] = Mlp(() => flat.Create());
        }
        foreach (var l in Losses.Registry)
            Cases["loss:" + l.Name] = l.Target switch
            {
                LossTarget.Classes => Mlp(() => new ReLU()) with { Loss = () => l.Create() },
                LossTarget.LogProbabilities => Mlp(() => new ReLU()) with { Model = () => new Sequential(new Linear(6, 8, 1), new ReLU(), new Linear(8, 3, 2), new LogSoftmax(1)), Loss = () => l.Create() },
                LossTarget.Probabilities => Mlp(() => new ReLU()) with { Model = () => new Sequential(new Linear(6, 8, 1), new ReLU(), new Linear(8, 3, 2), new Sigmoid()), Loss = () => l.Create(), Targets = TargetKind.Probabilities },
                LossTarget.LogitsVsProbabilities => Mlp(() => new ReLU()) with { Loss = () => l.Create(), Targets = TargetKind.Probabilities },
                _ => Mlp(() => new ReLU()) with { Loss = () => l.Create(), Targets = TargetKind.Values },
            };
    }

    public static TheoryData<string> Names => [.. Cases.Keys];

    private const int Steps = 6;

    [Theory]
    [MemberData(nameof(Names))]
    public void A_captured_step_replays_the_eager_step_bit_for_bit_and_allocates_nothing(string name)
    {
        var c = Cases[name];
        var eager = new Twin(c);
        var captured = new Twin(c);
        var graph = new StepGraph();
        var data = new Generator(99);
        for (int step = 0; step < Steps; step++)
        {
            var (x, labels, targets) = Batch(c, data);
            eager.Eager(x, labels, targets, step);
            captured.CopyIn(x, labels, targets, step);
            if (step == 0) captured.Step();                 // warm-up: the optimizer makes its state
            else if (step == 1) Assert.True(graph.Capture(captured.Step), $"{name}: {graph.Failure}");
            else graph.Replay();
            Same(name, step, eager, captured);
        }
        Assert.Equal(Steps - 2, graph.Replays);
        Assert.True(graph.LaunchCount > 0 && graph.ArenaBytes > 0, $"{name}: {graph.LaunchCount} launches, {graph.ArenaBytes} arena bytes");
    }

    internal static (Tensor X, IntTensor? Labels, Tensor? Targets) NewBatch(Case c, Generator g) => Batch(c, g);

    private static (Tensor X, IntTensor? Labels, Tensor? Targets) Batch(Case c, Generator g)
    {
        var x = Tensor.Randn(c.Input, g);
        int n = c.Input[0];
        return c.Targets switch
        {
            TargetKind.Labels => (x, IntTensor.FromArray(Enumerable.Range(0, n).Select(_ => g.NextInt(c.Classes)).ToArray()), null),
            TargetKind.Probabilities => (x, null, Tensor.Rand([n, c.Classes], g).Softmax(1).Detach()),
            _ => (x, null, Tensor.Randn([n, c.Classes], g)),
        };
    }

    // A model, loss and optimizer built from the case's seeds; the captured twin reads static inputs.
    internal sealed class Twin
    {
        public readonly Module Model;
        public readonly Loss LossFn;
        public readonly Optimizer Optimizer;
        public Tensor? Loss, Output;
        private readonly Tensor _x;
        private readonly IntTensor? _labels;
        private readonly Tensor? _targets;

        public Twin(Case c)
        {
            Model = c.Model();
            LossFn = c.Loss();
            Optimizer = c.Optimizer(Model.Parameters());
            _x = Tensor.Zeros(c.Input);
            _labels = c.Targets == TargetKind.Labels ? new IntTensor(new int[c.Input[0]], c.Input[0]) : null;
            _targets = c.Targets == TargetKind.Labels ? null : Tensor.Zeros(c.Input[0], c.Classes);
        }

        // The scheduled learning rate changes every step: a replay must read it when it runs.
        private void Schedule(int step) => Optimizer.ParamGroups[0].LearningRate = 1e-2 * Math.Pow(0.8, step);

        public void Eager(Tensor x, IntTensor? labels, Tensor? targets, int step)
        {
            Schedule(step);
            Run(x, labels, targets);
        }

        public void CopyIn(Tensor x, IntTensor? labels, Tensor? targets, int step)
        {
            Schedule(step);
            _x.CopyFrom(x);
            if (labels is not null) labels.Data.CopyTo(_labels!.Data, 0);
            if (targets is not null) _targets!.CopyFrom(targets);
        }

        public void Step() => Run(_x, _labels, _targets);

        private void Run(Tensor x, IntTensor? labels, Tensor? targets)
        {
            Optimizer.ZeroGrad();
            Output = Model.Forward(x);
            Loss = labels is not null ? LossFn.Forward(Output, labels) : LossFn.Forward(Output, targets!);
            Loss.Backward();
            Optimizer.Step();
        }
    }

    private static void Same(string name, int step, Twin a, Twin b)
    {
        string at = $"{name}, step {step}";
        Assert.True(Bits(a.Loss!).SequenceEqual(Bits(b.Loss!)), $"{at}: loss {a.Loss!.Item()} vs {b.Loss!.Item()}");
        Assert.True(Bits(a.Output!).SequenceEqual(Bits(b.Output!)), $"{at}: outputs differ");
        var pa = a.Model.NamedParameters().ToArray();
        var pb = b.Model.NamedParameters().ToArray();
        for (int i = 0; i < pa.Length; i++)
        {
            Assert.True(Bits(pa[i].Parameter).SequenceEqual(Bits(pb[i].Parameter)), $"{at}: weight {pa[i].Name} differs");
            Assert.Equal(pa[i].Parameter.Grad is null, pb[i].Parameter.Grad is null);
            if (pa[i].Parameter.Grad is { } ga)
                Assert.True(Bits(ga).SequenceEqual(Bits(pb[i].Parameter.Grad!)), $"{at}: gradient of {pa[i].Name} differs");
            var sa = a.Optimizer.StateOf(pa[i].Parameter);
            var sb = b.Optimizer.StateOf(pb[i].Parameter);
            Assert.Equal(sa?.Step, sb?.Step);
            if (sa is not null)
                foreach (var (key, t) in sa.Buffers)
                    Assert.True(Bits(t).SequenceEqual(Bits(sb!.Buffers[key])), $"{at}: optimizer state {key} of {pa[i].Name} differs");
        }
        var ba = a.Model.NamedBuffers().ToArray();
        var bb = b.Model.NamedBuffers().ToArray();
        for (int i = 0; i < ba.Length; i++)
        {
            if (ba[i].Buffer.Float is { } fa) Assert.True(Bits(fa).SequenceEqual(Bits(bb[i].Buffer.Float!)), $"{at}: buffer {ba[i].Name} differs");
            else Assert.Equal(ba[i].Buffer.Int!.Data, bb[i].Buffer.Int!.Data);
        }
        var ga2 = a.Model.NamedGenerators().ToArray();
        var gb2 = b.Model.NamedGenerators().ToArray();
        for (int i = 0; i < ga2.Length; i++) Assert.Equal(ga2[i].Generator.GetState(), gb2[i].Generator.GetState());
    }

    private static int[] Bits(Tensor t) => t.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();
}

/// <summary>
/// Replays allocate nothing, on any thread, once warm: every case of <see cref="CaptureTests"/>, alone in the process
/// (other tests' threads would count), past the JIT's call-counting threshold (30) and its delay (100 ms), whose
/// tier-up can allocate once.
/// </summary>
[Collection(nameof(AloneInTheProcess))]
public class CaptureAllocationTests
{
    [Theory]
    [MemberData(nameof(CaptureTests.Names), MemberType = typeof(CaptureTests))]
    public void A_warm_replay_allocates_nothing_on_any_thread(string name)
    {
        var c = CaptureTests.Cases[name];
        var twin = new CaptureTests.Twin(c);
        var (x, labels, targets) = CaptureTests.NewBatch(c, new Generator(5));
        twin.CopyIn(x, labels, targets, 0);
        twin.Step();
        using var graph = new StepGraph();
        Assert.True(graph.Capture(twin.Step), graph.Failure);
        for (int i = 0; i < 40; i++) graph.Replay();
        Thread.Sleep(300);
        for (int i = 0; i < 10; i++) graph.Replay();
        // Three windows of 20 replays: a replay that allocates does so in every window, while the runtime's one-off
        // background work (a JIT tier-up, a worker's first thread-static) lands in one at most.
        var windows = new List<(long All, long Stepping)>();
        for (int w = 0; w < 3; w++)
        {
            long all = GC.GetTotalAllocatedBytes(precise: true), mine = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++) graph.Replay();
            windows.Add((GC.GetTotalAllocatedBytes(precise: true) - all, GC.GetAllocatedBytesForCurrentThread() - mine));
        }
        Assert.True(windows.Min(w => w.All) == 0 && windows.All(w => w.Stepping == 0),
            $"{name}: bytes per 20 replays (all threads, stepping thread): {string.Join("; ", windows)}");
        Assert.Equal(110, graph.Replays);
    }
}

/// <summary>Tests that must not share the process's worker threads with tests running in parallel.</summary>
[CollectionDefinition(nameof(AloneInTheProcess), DisableParallelization = true)]
public class AloneInTheProcess;

/// <summary>
/// The Trainer captures each batch shape's step and replays it: with every option that shapes a step (L1/L2, weight
/// noise, gradient clipping, MixUp's soft labels, a per-batch schedule, dropout, regression) a captured run gives the
/// eager run's history and weights to the bit, and says so in <see cref="History.CapturedStep"/>; FGSM says why not.
/// </summary>
public class CaptureTrainerTests
{
    public static TheoryData<string> Settings => ["plain", "l1_l2", "weight_noise", "clip", "mixup", "cutmix_cnn", "cosine_per_batch_sgd", "dropout_rmsprop", "regression", "smoothing_weights"];

    private static (History History, float[][] Weights) Fit(string setting, bool capture)
    {
        var g = new Generator(21);
        bool regression = setting == "regression";
        bool images = setting == "cutmix_cnn";
        var x = images ? Tensor.Rand([70, 1, 8, 8], g) : Tensor.Randn([70, 6], g);
        var data = regression
            ? new TensorDataset(x, Tensor.Randn([70, 2], g))
            : new TensorDataset(x, IntTensor.FromArray(Enumerable.Range(0, 70).Select(i => i % 3).ToArray()));
        int outputs = regression ? 2 : 3;
        Module model = setting == "dropout_rmsprop"
            ? new Sequential(new Linear(6, 16, 1), new ReLU(), new Dropout(0.3f, new Generator(5)), new Linear(16, outputs, 2))
            : images ? Models.FromSpec("cnn:4,4", [1, 8, 8], outputs, new Generator(6), options: new ModelOptions(Norm: "batch"))
            : new Sequential(new Linear(6, 16, 1), new Tanh(), new Linear(16, outputs, 2));
        Optimizer opt = setting switch
        {
            "cosine_per_batch_sgd" => new SGD(model.Parameters(), lr: 0.05, momentum: 0.9, nesterov: true),
            "dropout_rmsprop" => new RMSProp(model.Parameters(), lr: 1e-2),
            _ => new Adam(model.Parameters(), lr: 1e-2),
        };
        Loss loss = regression ? new MSELoss()
            : setting == "smoothing_weights" ? new CrossEntropyLoss(Tensor.FromArray([1f, 2f, 0.5f], 3), labelSmoothing: 0.1f)
            : new CrossEntropyLoss();
        BatchTransform? mix = setting == "mixup" ? new MixUp(0.4) : images ? new CutMix(1.0) : null;
        var options = new TrainerOptions
        {
            BatchSize = 16, Seed = 4, BackgroundLoading = false, CaptureStep = capture,
            L1 = setting == "l1_l2" ? 1e-3 : 0, L2 = setting == "l1_l2" ? 1e-3 : 0,
            WeightNoise = setting == "weight_noise" ? 0.01 : 0,
            ClipGradNorm = setting == "clip" ? 0.05 : 0,
            Transform = mix is null ? null : (b, gen) => mix.Apply(b, gen, 3),
            Scheduler = setting == "cosine_per_batch_sgd" ? new CosineAnnealingLR(opt, 20, interval: StepInterval.Batch) : null,
        };
        var history = new Trainer(options).Fit(model, loss, opt, data, null, 4);
        return (history, model.Parameters().Select(p => p.ToArray()).ToArray());
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public void A_captured_run_is_the_eager_run(string setting)
    {
        var (eager, we) = Fit(setting, capture: false);
        var (captured, wc) = Fit(setting, capture: true);
        Assert.False(eager.CapturedStep);
        Assert.Equal("capture is turned off (TrainerOptions.CaptureStep = false)", eager.CaptureNote);
        Assert.True(captured.CapturedStep, captured.CaptureNote);
        Assert.Null(captured.CaptureNote);
        for (int e = 0; e < eager.Epochs.Count; e++)
            foreach (var key in new[] { "loss", "accuracy", "mae", "lr" })
                if (eager.Epochs[e].Logs.ContainsKey(key))
                    Assert.Equal(eager.Epochs[e][key], captured.Epochs[e][key]);
        for (int i = 0; i < we.Length; i++) Assert.Equal(we[i], wc[i]);
    }

    [Fact]
    public void Fgsm_training_stays_eager_and_says_why()
    {
        var g = new Generator(3);
        var data = new TensorDataset(Tensor.Rand([32, 6], g), IntTensor.FromArray(Enumerable.Range(0, 32).Select(i => i % 2).ToArray()));
        var model = new Sequential(new Linear(6, 4, 1), new ReLU(), new Linear(4, 2, 2));
        var h = new Trainer(new TrainerOptions { BatchSize = 8, BackgroundLoading = false, AdversarialEpsilon = 0.05 })
            .Fit(model, new CrossEntropyLoss(), new Adam(model.Parameters()), data, null, 2);
        Assert.False(h.CapturedStep);
        Assert.Contains("FGSM", h.CaptureNote);
    }
}

/// <summary>What ends or invalidates a capture, and what the Trainer does then.</summary>
public class CaptureBoundaryTests
{
    [Fact]
    public void A_host_read_inside_the_step_ends_the_capture_with_its_reason_and_the_step_still_runs()
    {
        var model = new Sequential(new Linear(4, 3, 1));
        var opt = new Adam(model.Parameters(), lr: 1e-2);
        var x = Tensor.Randn([5, 4], new Generator(1));
        var y = IntTensor.FromArray([0, 1, 2, 0, 1]);
        float seen = 0;
        void Step()
        {
            opt.ZeroGrad();
            var l = new CrossEntropyLoss().Forward(model.Forward(x), y);
            seen = l.Item();   // a host read before the update
            l.Backward();
            opt.Step();
        }
        Step();
        var before = model.Parameters().First().ToArray();
        using var graph = new StepGraph();
        Assert.False(graph.Capture(Step));
        Assert.Contains("reads a tensor of shape () on the host", graph.Failure);
        Assert.False(graph.IsCaptured);
        Assert.True(float.IsFinite(seen));
        Assert.NotEqual(before, model.Parameters().First().ToArray());   // the eager step happened
        Assert.Throws<InvalidOperationException>(graph.Replay);
    }

    [Fact]
    public void Loading_an_optimizer_state_makes_its_captures_stale()
    {
        var model = new Sequential(new Linear(4, 3, 1));
        var opt = new Adam(model.Parameters(), lr: 1e-2);
        var x = Tensor.Randn([5, 4], new Generator(1));
        var y = IntTensor.FromArray([0, 1, 2, 0, 1]);
        void Step()
        {
            opt.ZeroGrad();
            new CrossEntropyLoss().Forward(model.Forward(x), y).Backward();
            opt.Step();
        }
        Step();
        using var graph = new StepGraph();
        Assert.True(graph.Capture(Step), graph.Failure);
        graph.Replay();
        Assert.True(graph.IsValid);
        opt.LoadStateDict(opt.StateDict());
        Assert.False(graph.IsValid);
        Assert.Throws<InvalidOperationException>(graph.Replay);
    }

    [Fact]
    public void A_non_finite_loss_stops_a_replay_before_the_update()
    {
        var model = new Sequential(new Linear(4, 3, 1));
        var opt = new SGD(model.Parameters(), lr: 1e-2, momentum: 0);
        var x = Tensor.Randn([5, 4], new Generator(1));
        var y = IntTensor.FromArray([0, 1, 2, 0, 1]);
        void Step()
        {
            opt.ZeroGrad();
            var l = new CrossEntropyLoss().Forward(model.Forward(x), y);
            l.Backward();
            if (!l.Backend.Finite(l)) return;
            opt.Step();
        }
        Step();
        using var graph = new StepGraph();
        Assert.True(graph.Capture(Step), graph.Failure);
        x.CopyFrom(Tensor.Full([5, 4], float.NaN));
        var before = model.Parameters().Select(p => p.ToArray()).ToArray();
        graph.Replay();
        Assert.True(graph.Stopped);
        Assert.Equal(before, model.Parameters().Select(p => p.ToArray()).ToArray());
    }

    // A callback that freezes the first layer after epoch 1 and puts dropout in evaluation mode after epoch 2: the
    // Trainer notices at the next batch, runs it eagerly, captures again, and the run equals the eager one to the bit.
    private sealed class Changer(Module model) : Callback
    {
        public override void OnEpochEnd(TrainingContext context, EpochLog log)
        {
            if (log.Epoch == 0) foreach (var p in ((Sequential)model)[0].Parameters()) p.RequiresGrad = false;
            if (log.Epoch == 1) ((Sequential)model)[2].Eval();
        }
    }

    private static (History, float[][]) Fit(bool capture)
    {
        var g = new Generator(8);
        var data = new TensorDataset(Tensor.Randn([48, 6], g), IntTensor.FromArray(Enumerable.Range(0, 48).Select(i => i % 3).ToArray()));
        var model = new Sequential(new Linear(6, 8, 1), new ReLU(), new Dropout(0.3f, new Generator(2)), new Linear(8, 3, 2));
        var h = new Trainer(new TrainerOptions { BatchSize = 16, Seed = 1, BackgroundLoading = false, CaptureStep = capture })
            .Fit(model, new CrossEntropyLoss(), new Adam(model.Parameters(), lr: 1e-2), data, null, 4, [new Changer(model)]);
        return (h, model.Parameters().Select(p => p.ToArray()).ToArray());
    }

    [Fact]
    public void Freezing_a_layer_or_a_mode_change_between_batches_recaptures_and_keeps_the_eager_bits()
    {
        var (he, we) = Fit(capture: false);
        var (hc, wc) = Fit(capture: true);
        Assert.True(hc.CapturedStep);
        Assert.Equal(he.Series("loss"), hc.Series("loss"));
        for (int i = 0; i < we.Length; i++) Assert.Equal(we[i], wc[i]);
    }
}

/// <summary>Buffers whose lifetimes do not overlap share memory after a capture (CaptureSession.Compact).</summary>
public class CaptureArenaTests
{
    [Fact]
    public void A_deep_plain_net_keeps_fewer_bytes_than_its_step_allocated()
    {
        // Twelve equal 64-wide layers: every activation and gradient has one length, so most can share.
        var layers = new List<Module>();
        for (int i = 0; i < 12; i++) layers.AddRange([new Linear(64, 64, i), new Tanh()]);
        var model = new Sequential([.. layers, new Linear(64, 3, 99)]);
        var opt = new SGD(model.Parameters(), lr: 1e-2, momentum: 0);
        var x = Tensor.Randn([256, 64], new Generator(1));
        var y = IntTensor.FromArray(Enumerable.Range(0, 256).Select(i => i % 3).ToArray());
        void Step()
        {
            opt.ZeroGrad();
            new CrossEntropyLoss().Forward(model.Forward(x), y).Backward();
            opt.Step();
        }
        Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        using var graph = new StepGraph();
        Assert.True(graph.Capture(Step), graph.Failure);
        // 256 × 64 floats per activation, its tanh output, its gradients: dozens of 64 KiB buffers made during the step.
        Assert.True(graph.ArenaBytes < 0.6 * 12 * 4 * 256 * 64 * 4, $"{graph.ArenaBytes} bytes kept");
        Assert.True(before > 0);
        var w = model.Parameters().First().ToArray();
        graph.Replay();
        Assert.NotEqual(w, model.Parameters().First().ToArray());
    }
}
