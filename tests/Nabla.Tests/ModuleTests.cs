using System.Text.Json;

namespace Nabla.Tests;

public class ModuleTests
{
    sealed class Block : Module
    {
        public Block(Generator g)
        {
            RegisterModule("features", new Sequential(new Linear(4, 3, g), new ReLU()));
            RegisterParameter("scale", Tensor.Ones(3));
            RegisterBuffer("count", IntTensor.Zeros(1));
            RegisterBuffer("running", Tensor.Zeros(3));
            RegisterBuffer("scratch", Tensor.Zeros(3), persistent: false);
        }

        public override Tensor Forward(Tensor input) => input;
    }

    [Fact]
    public void Names_follow_pytorch_dotted_paths_and_order()
    {
        var m = new Block(new Generator(0));
        Assert.Equal(["scale", "count", "running", "features.0.weight", "features.0.bias"], m.StateDict().Keys.ToArray());
        Assert.Equal(["scale", "features.0.weight", "features.0.bias"], m.NamedParameters().Select(p => p.Name).ToArray());
        Assert.Equal(["", "features", "features.0", "features.1"], m.NamedModules().Select(p => p.Name).ToArray());
    }

    [Fact]
    public void Mlp_spec_has_pytorch_layout_and_keys()
    {
        var net = Models.FromSpec("mlp:256,128", 784, 10, new Generator(0));
        var keys = net.StateDict().Select(kv => $"{kv.Key}{Shapes.Format(kv.Value.Shape.ToArray())}").ToArray();
        Assert.Equal(["0.weight(256, 784)", "0.bias(256,)", "2.weight(128, 256)", "2.bias(128,)", "4.weight(10, 128)", "4.bias(10,)"], keys);
        Assert.IsType<ReLU>(((Sequential)net)[1]);
        var tanh = Models.FromSpec("mlp:8", 4, 2, new Generator(0), activation: "tanh");
        Assert.IsType<Tanh>(((Sequential)tanh)[1]);
        Assert.Equal(new[] { 5, 2 }, tanh.Forward(Tensor.Zeros(5, 4)).Shape);
        Assert.Throws<FormatException>(() => Models.FromSpec("mlp:12,x", 4, 2, new Generator(0)));
        Assert.Throws<FormatException>(() => Models.FromSpec("resnet:9000", 4, 2, new Generator(0)));
        Assert.Throws<ArgumentException>(() => Models.FromSpec("mlp:8", 4, 2, new Generator(0), activation: "swishy"));
        Assert.Contains("(0): Linear(in_features=784, out_features=256, bias=True)", net.ToString());
    }

    [Fact]
    public void Train_and_eval_propagate_to_children()
    {
        var net = Models.Mlp(3, [4], 2, new Generator(0));
        net.Eval();
        Assert.All(net.NamedModules(), m => Assert.False(m.Module.Training));
        net.Train();
        Assert.All(net.NamedModules(), m => Assert.True(m.Module.Training));
    }

    [Fact]
    public void LoadStateDict_reports_every_problem_in_one_message()
    {
        var net = Models.Mlp(3, [4], 2, new Generator(0));
        var state = new StateDict
        {
            { "0.weight", Tensor.Zeros(4, 3) },
            { "0.bias", Tensor.Zeros(5) },          // shape mismatch
            { "2.weight", Tensor.Zeros(2, 4) },
            { "extra.weight", Tensor.Zeros(1) },     // unexpected; 2.bias missing
        };
        var ex = Assert.Throws<InvalidOperationException>(() => net.LoadStateDict(state));
        Assert.Contains("Missing key(s): \"2.bias\"", ex.Message);
        Assert.Contains("Unexpected key(s): \"extra.weight\"", ex.Message);
        Assert.Contains("0.bias: shape (5,) in the state, (4,) in the model", ex.Message);
        Assert.NotEqual(0f, net.StateDict()["0.weight"].Float!.Abs().Sum().Item()); // nothing was changed

        state["0.bias"] = Tensor.Ones(4);
        var result = net.LoadStateDict(state, strict: false);
        Assert.Equal(["2.bias"], result.MissingKeys);
        Assert.Equal(["extra.weight"], result.UnexpectedKeys);
        Assert.Equal(new[] { 1f, 1f, 1f, 1f }, ((Linear)net[0]).Bias!.ToArray());
    }

    [Fact]
    public void Loading_keeps_parameter_identity_for_optimizers()
    {
        var net = Models.Mlp(3, [4], 2, new Generator(0));
        var before = net.Parameters().ToArray();
        net.LoadStateDict(Models.Mlp(3, [4], 2, new Generator(5)).StateDict());
        Assert.Equal(before, net.Parameters().ToArray());
        Assert.Equal(Models.Mlp(3, [4], 2, new Generator(5)).StateDict()["0.weight"].Float!.ToArray(), before[0].ToArray());
    }

    [Fact]
    public void Linear_default_init_follows_pytorch_bounds()
    {
        var l = new Linear(400, 300, new Generator(3));
        float bound = 1 / MathF.Sqrt(400);
        var w = l.Weight.ToArray();
        Assert.All(w, v => Assert.InRange(v, -bound, bound));
        // U(±b) has variance b²/3.
        double var = w.Select(v => (double)v * v).Average();
        Assert.Equal(bound * bound / 3, var, 4);
        Assert.All(l.Bias!.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.True(l.Weight.RequiresGrad);
        Assert.Equal(l.Weight.ToArray(), new Linear(400, 300, new Generator(3)).Weight.ToArray());
    }

    [Fact]
    public void Pytorch_saved_mlp_loads_and_reproduces_pytorch_outputs()
    {
        var io = Fixtures.Load("torch_mlp_io.json");
        var g = new Generator(0);
        var net = new Sequential(new Linear(6, 8, g), new ReLU(), new Linear(8, 5, g), new Tanh(), new Linear(5, 3, g));
        net.Load(Path.Combine(Fixtures.Dir, "torch_mlp.safetensors"));
        var y = net.Forward(Fixtures.Tensor(io.GetProperty("input")));
        Fixtures.Close("torch mlp output", io.GetProperty("output"), y);
    }

    [Fact]
    public void Saved_file_follows_the_format_and_round_trips()
    {
        var dir = Directory.CreateTempSubdirectory("nabla-save");
        try
        {
            var path = Path.Combine(dir.FullName, "mlp.safetensors");
            var net = Models.Mlp(6, [8, 5], 3, new Generator(1));
            net.Save(path);
            var bytes = File.ReadAllBytes(path);
            ulong n = BitConverter.ToUInt64(bytes, 0);
            Assert.Equal(0UL, n % 8);
            var header = JsonDocument.Parse(bytes.AsMemory(8, (int)n)).RootElement;
            Assert.Equal("pt", header.GetProperty("__metadata__").GetProperty("format").GetString());
            var entries = header.EnumerateObject().Where(p => p.Name != "__metadata__").ToArray();
            Assert.Equal(["0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight"], entries.Select(e => e.Name).Order(StringComparer.Ordinal).ToArray());
            long expected = 0;
            foreach (var e in entries.OrderBy(e => e.Value.GetProperty("data_offsets")[0].GetInt64()))
            {
                Assert.Equal("F32", e.Value.GetProperty("dtype").GetString());
                var offs = e.Value.GetProperty("data_offsets");
                Assert.Equal(expected, offs[0].GetInt64());
                long numel = e.Value.GetProperty("shape").EnumerateArray().Aggregate(1L, (p, v) => p * v.GetInt64());
                Assert.Equal(expected + 4 * numel, offs[1].GetInt64());
                expected = offs[1].GetInt64();
            }
            Assert.Equal(8 + (long)n + expected, bytes.LongLength);
            var copy = Models.Mlp(6, [8, 5], 3, new Generator(99));
            copy.Load(path);
            foreach (var (key, value) in net.StateDict())
                Assert.Equal(value.Float!.ToArray(), copy.StateDict()[key].Float!.ToArray());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

/// <summary>Sequential applies ReLU → MaxPool2d as pool → ReLU; max commutes with ReLU, so nothing may change.</summary>
public class ReluMaxPoolOrderTests
{
    [Theory]
    [InlineData(2, 2, 0)]   // the cnn's 2×2 pool
    [InlineData(3, 1, 1)]   // overlapping windows with padding: gradients meet in the same input
    public void Pooling_before_relu_gives_the_same_values_and_gradients(int kernel, int stride, int padding)
    {
        float[][] Run(bool reorder)
        {
            bool saved = Sequential.ReorderReluMaxPool;
            Sequential.ReorderReluMaxPool = reorder;
            try
            {
                var g = new Generator(4);
                // The first pair sees the raw input; the second the convolution's output.
                var net = new Sequential(new ReLU(), new MaxPool2d(kernel, stride, padding), new Conv2d(2, 3, 3, g, padding: 1),
                    new ReLU(), new MaxPool2d(kernel, stride, padding), new Flatten());
                // Whole numbers in −3..1: ties inside windows, exact zeros and windows with no positive value.
                var rng = new Random(3);
                var x = Tensor.FromArray(Enumerable.Range(0, 2 * 2 * 6 * 6).Select(_ => (float)rng.Next(-3, 2)).ToArray(), 2, 2, 6, 6).RequiresGrad_();
                var y = net.Forward(x);
                var up = Tensor.Randn(y.Shape.ToArray(), new Generator(9));
                (y * up).Sum().Backward();
                var firstPair = new Sequential(new ReLU(), new MaxPool2d(kernel, stride, padding)).Forward(x.Detach()).ToArray();
                return [firstPair, y.ToArray(), x.Grad!.ToArray(), .. net.Parameters().Select(p => p.Grad!.ToArray())];
            }
            finally { Sequential.ReorderReluMaxPool = saved; }
        }
        var reordered = Run(true);
        var plain = Run(false);
        Assert.Equal(plain.Length, reordered.Length);
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i].Select(BitConverter.SingleToInt32Bits), reordered[i].Select(BitConverter.SingleToInt32Bits));
        Assert.Contains(0f, plain[0]);   // some windows of the input held no positive value
        Assert.Contains(plain[2], v => v != 0);
    }
}

/// <summary>
/// BatchNorm → ReLU and a residual block's add → ReLU run as one node each (Sequential, the ResNets' stem and blocks,
/// Bottleneck): the same bits as the separate layers, forward, every gradient and the running statistics, in training
/// and evaluation, for 1d and 2d inputs, with and without a gradient for the input.
/// </summary>
public class NormReluFusionTests
{
    static float[][] Run(bool fuse, Func<Generator, Module> build, int[] shape, bool training, bool inputGrad = true)
    {
        (bool savedNorm, bool savedAdd) = (Sequential.FuseNormRelu, Sequential.FuseAddRelu);
        (Sequential.FuseNormRelu, Sequential.FuseAddRelu) = (fuse, fuse);
        try
        {
            var net = build(new Generator(5));
            // Two training steps' worth of statistics first, so evaluation reads moved running averages.
            for (int i = 0; i < 2; i++) net.Forward(Tensor.Randn(shape, new Generator((ulong)(10 + i))));
            if (!training) net.Eval();
            var x = Tensor.Randn(shape, new Generator(7));
            if (inputGrad) x.RequiresGrad_();
            var y = net.Forward(x);
            (y * Tensor.Randn([.. y.Shape], new Generator(8))).Sum().Backward();
            return [y.ToArray(), inputGrad ? x.Grad!.ToArray() : [],
                .. net.NamedParameters().Select(p => p.Parameter.Grad?.ToArray() ?? []),
                .. net.StateDict().Where(kv => kv.Value.Float is not null).Select(kv => kv.Value.Float!.ToArray())];
        }
        finally { (Sequential.FuseNormRelu, Sequential.FuseAddRelu) = (savedNorm, savedAdd); }
    }

    public static TheoryData<string, bool> Cases() => new()
    {
        { "bn2d", true }, { "bn2d", false }, { "bn1d", true }, { "bn1d", false }, { "resnet", true }, { "resnet", false },
        { "bottleneck", true }, { "bottleneck", false }, { "bottleneck-stride", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Fused_batchnorm_relu_gives_the_bits_of_the_two_layers(string net, bool training)
    {
        (Func<Generator, Module> build, int[] shape) = net switch
        {
            "bn2d" => ((Func<Generator, Module>)(g => new Sequential(new Conv2d(3, 4, 3, g, padding: 1), new BatchNorm2d(4), new ReLU(), new Flatten())), new[] { 3, 3, 9, 9 }),
            "bn1d" => (g => new Sequential(new Linear(6, 5, g), new BatchNorm1d(5), new ReLU()), new[] { 7, 6 }),
            "bottleneck" => (g => new Bottleneck(8, 2, 1, g), new[] { 3, 8, 9, 9 }),
            "bottleneck-stride" => (g => new Bottleneck(4, 2, 2, g), new[] { 3, 4, 16, 16 }),
            _ => (g => new ResNet(8, 1, 3, g), new[] { 2, 1, 32, 32 }),
        };
        var fused = Run(true, build, shape, training);
        var plain = Run(false, build, shape, training);
        Assert.Equal(plain.Length, fused.Length);
        for (int i = 0; i < plain.Length; i++)
            Assert.Equal(plain[i].Select(BitConverter.SingleToInt32Bits), fused[i].Select(BitConverter.SingleToInt32Bits));
        if (net != "resnet") Assert.Contains(0f, fused[0]);   // some outputs were cut by the ReLU
        Assert.Contains(fused[1], v => v != 0);
    }

    // Without a gradient for the input (a first layer) the masked gradient goes to a scratch plane, not dx.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Fused_batchnorm_relu_without_an_input_gradient_gives_the_same_parameter_gradients(bool training)
    {
        Func<Generator, Module> build = g => new Sequential(new BatchNorm2d(3), new ReLU(), new Conv2d(3, 2, 3, g), new BatchNorm2d(2), new ReLU());
        var fused = Run(true, build, [4, 3, 10, 10], training, inputGrad: false);
        var plain = Run(false, build, [4, 3, 10, 10], training, inputGrad: false);
        for (int i = 0; i < plain.Length; i++)
            Assert.Equal(plain[i].Select(BitConverter.SingleToInt32Bits), fused[i].Select(BitConverter.SingleToInt32Bits));
        Assert.Contains(fused[2], v => v != 0);   // the first BatchNorm's γ gradient
    }

    [Fact]
    public void Before_a_max_pooling_the_relu_moves_after_the_pool_instead_of_fusing()
    {
        var g = new Generator(3);
        var net = new Sequential(new Conv2d(1, 2, 3, g), new BatchNorm2d(2), new ReLU(), new MaxPool2d(2));
        Assert.Equal("Relu", net.Forward(Tensor.Randn([2, 1, 6, 6], g).RequiresGrad_()).GradFn!.Name);
    }

    [Fact]
    public void The_fused_node_is_what_runs_unless_a_layer_is_hooked()
    {
        var g = new Generator(1);
        var net = new Sequential(new Conv2d(1, 3, 3, g, padding: 1), new BatchNorm2d(3), new ReLU());
        var x = Tensor.Randn([5, 1, 8, 8], g).RequiresGrad_();
        Assert.Equal("BatchNormRelu", net.Forward(x).GradFn!.Name);
        using (net[2].RegisterForwardHook((_, _, _) => { }))
            Assert.Equal("Relu", net.Forward(x).GradFn!.Name);   // a hooked ReLU sees its own input and output
        // Planes below MinFusedPlane values (BatchNorm1d: one value) keep the ReLU apart, where it is cheaper.
        var mlp = new Sequential(new Linear(4, 3, g), new BatchNorm1d(3), new ReLU());
        Assert.Equal("Relu", mlp.Forward(Tensor.Randn([5, 4], g).RequiresGrad_()).GradFn!.Name);
        var resnet = new ResNet(8, 1, 3, new Generator(2));
        var names = new HashSet<string>();
        void Walk(Nabla.Autograd.Node? n)
        {
            if (n is null || !names.Add(n.Name + "#" + System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(n))) return;
            foreach (var i in n.Inputs) Walk(i.GradFn);
        }
        Walk(resnet.Forward(Tensor.Randn([2, 1, 32, 32], g).RequiresGrad_()).GradFn);   // stage 3 at 8×8: planes of 64
        // The stem and each block's first BatchNorm (4 in resnet:8) are fused; each block's second is followed by the
        // add, fused with the block's last ReLU.
        Assert.Equal(4, names.Count(n => n.StartsWith("BatchNormRelu#", StringComparison.Ordinal)));
        Assert.Equal(3 + 2, names.Count(n => n.StartsWith("BatchNorm#", StringComparison.Ordinal)));   // bn2 ×3 and the two projections
        Assert.Equal(3, names.Count(n => n.StartsWith("AddRelu#", StringComparison.Ordinal)));
        Assert.DoesNotContain(names, n => n.StartsWith("Relu#", StringComparison.Ordinal) || n.StartsWith("Add#", StringComparison.Ordinal));
        // A block whose activation is hooked keeps its add and ReLU apart, so the hook sees the ReLU's own input.
        var block = new BasicBlock(2, 2, 1, g);
        using (block.Activation.RegisterForwardHook((_, _, _) => { }))
            Assert.Equal("Relu", block.Forward(Tensor.Randn([2, 2, 4, 4], g).RequiresGrad_()).GradFn!.Name);
        Assert.Equal("AddRelu", block.Forward(Tensor.Randn([2, 2, 4, 4], g).RequiresGrad_()).GradFn!.Name);
    }
}

/// <summary>The fused nodes against finite differences (away from ReLU's kink, a few elements allowed near it).</summary>
public class FusedNodeGradCheckTests
{
    [Fact]
    public void AddRelu_gradients_match_finite_differences()
    {
        var result = Nabla.Autograd.GradCheck.Check(t => Nabla.Ops.AddReluOp.Forward(t[0], t[1]).Square().Sum(),
            [Tensor.Randn([2, 3, 4, 4], 1), Tensor.Randn([2, 3, 4, 4], 2)], kinkTolerance: 0.05);
        Assert.True(result.Passed, result.ToString());
    }

    [Fact]
    public void BatchNormRelu_gradients_match_finite_differences()
    {
        var bn = new BatchNorm2d(3);
        var w = Tensor.Randn([2, 3, 8, 8], 4);   // a fixed weighting, so the loss is not a function of the batch mean only
        var result = Nabla.Autograd.GradCheck.Check(t => (bn.ForwardRelu(t[0]) * w).Sum(), [Tensor.Randn([2, 3, 8, 8], 3)], kinkTolerance: 0.05);
        Assert.True(result.Passed, result.ToString());
        Assert.Equal("BatchNormRelu", bn.ForwardRelu(Tensor.Randn([2, 3, 8, 8], 5).RequiresGrad_()).GradFn!.Name);
    }
}
