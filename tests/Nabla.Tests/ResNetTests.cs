using System.Text.Json;
using Nabla.Autograd;
using Nabla.Optim;

namespace Nabla.Tests;

public class ResNetTests
{
    static readonly Lazy<JsonElement[]> Cases = new(() => Fixtures.Load("resnet.json").GetProperty("cases").EnumerateArray().ToArray());

    public static TheoryData<string> Names()
    {
        var d = new TheoryData<string>();
        foreach (var c in Cases.Value) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    static BasicBlock Block(JsonElement c)
    {
        var a = c.GetProperty("attrs");
        var block = new BasicBlock(a.GetProperty("in_planes").GetInt32(), a.GetProperty("planes").GetInt32(), a.GetProperty("stride").GetInt32(),
            new Generator(0), a.GetProperty("shortcut").GetBoolean());
        var state = new StateDict();
        foreach (var p in c.GetProperty("state").EnumerateObject())
            state.Add(p.Name, p.Value.ValueKind == JsonValueKind.Number ? new StateValue(new IntTensor([p.Value.GetInt32()])) : new StateValue(Fixtures.Tensor(p.Value)));
        block.LoadStateDict(state);
        return block;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Basic_block_matches_pytorch(string name)
    {
        var c = Cases.Value.Single(x => x.GetProperty("name").GetString() == name);
        var block = Block(c);
        var parameters = block.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        int step = 0;
        foreach (var s in c.GetProperty("steps").EnumerateArray())
        {
            block.Train(s.GetProperty("training").GetBoolean());
            block.ZeroGrad();
            var x = Fixtures.Tensor(s.GetProperty("input")).RequiresGrad_();
            var y = block.Forward(x);
            Fixtures.Close($"{name} {step} output", s.GetProperty("output"), y, atol: 5e-6);
            y.Backward(Fixtures.Tensor(s.GetProperty("grad_output")));
            Fixtures.Close($"{name} {step} grad_input", s.GetProperty("grad_input"), x.Grad!, atol: 5e-6);
            foreach (var g in s.GetProperty("grad_params").EnumerateObject())
                Fixtures.Close($"{name} {step} grad {g.Name}", g.Value, parameters[g.Name].Grad!, atol: 2e-5);
            var state = block.StateDict();
            foreach (var b in s.GetProperty("buffers_after").EnumerateObject())
            {
                if (b.Value.ValueKind == JsonValueKind.Number) Assert.Equal(b.Value.GetInt32(), state[b.Name].Int!.Data[0]);
                else Fixtures.Close($"{name} {step} {b.Name}", b.Value, state[b.Name].Float!);
            }
            step++;
        }
    }

    [Theory]
    [InlineData(4, 4, 1, true)]
    [InlineData(3, 6, 2, true)]
    [InlineData(4, 4, 1, false)]
    public void Blocks_have_the_right_shapes_and_gradients(int inPlanes, int planes, int stride, bool shortcut)
    {
        var g = new Generator(1);
        var basic = new BasicBlock(inPlanes, planes, stride, g, shortcut);
        var x = Tensor.Randn([2, inPlanes, 6, 6], 2);
        Assert.Equal(new[] { 2, planes, 6 / stride, 6 / stride }, basic.Forward(x).Shape);
        basic.Eval(); // running statistics fixed while differencing
        // Two layers of ReLU units: a ±ε step of one input can move one of the ~150 units it feeds across its kink
        // (measured: up to 8% of elements for the plain block, each converging to the analytic value as ε shrinks).
        var r = GradCheck.Check(xs => basic.Forward(xs[0]), [x], eps: 1e-3f, atol: 3e-3, rtol: 2e-2, kinkTolerance: 0.1);
        Assert.True(r.Passed, r.Message);
        var bottleneck = new Bottleneck(inPlanes, planes, stride, g, shortcut);
        Assert.Equal(new[] { 2, planes * 4, 6 / stride, 6 / stride }, bottleneck.Forward(x).Shape);
        bottleneck.Eval();
        var rb = GradCheck.Check(xs => bottleneck.Forward(xs[0]), [x], eps: 1e-3f, atol: 3e-3, rtol: 2e-2, kinkTolerance: 0.1);
        Assert.True(rb.Passed, rb.Message);
        Assert.Equal(shortcut && (stride != 1 || inPlanes != planes * 4), bottleneck.StateDict().Keys.Any(k => k.StartsWith("downsample", StringComparison.Ordinal)));
    }

    [Fact]
    public void Resnet_and_plain_nets_have_the_papers_layout_and_train()
    {
        var (train, _) = Nabla.Datasets.FashionMnistSubset.Load();
        var small = train.Subset(Enumerable.Range(0, 64).ToArray());
        foreach (var spec in new[] { "resnet:8", "plain:8" })
        {
            var net = Models.FromSpec(spec, [1, 28, 28], 10, new Generator(0));
            var keys = net.StateDict().Keys.ToArray();
            Assert.Contains("layer3.0.conv2.weight", keys);
            Assert.Equal(spec.StartsWith("resnet", StringComparison.Ordinal), keys.Contains("layer2.0.downsample.0.weight"));
            Assert.Equal("fc.weight", keys[^2]);
            var opt = new SGD(net.Parameters(), lr: 0.05, momentum: 0.9);
            float first = 0, last = 0;
            for (int step = 0; step < 6; step++)
            {
                opt.ZeroGrad();
                var loss = Functional.CrossEntropy(net.Forward(small.Features), small.Labels!);
                if (step == 0) first = loss.Item();
                last = loss.Item();
                loss.Backward();
                opt.Step();
            }
            Assert.True(last < first, $"{spec}: loss {first} → {last}");
        }
        Assert.Equal(new[] { 2, 10 }, Models.FromSpec("resnet:14", [3, 32, 32], 10, new Generator(0)).Forward(Tensor.Zeros(2, 3, 32, 32)).Shape);
        Assert.Throws<FormatException>(() => Models.FromSpec("resnet:21", [1, 28, 28], 10, new Generator(0)));
    }

    [Fact]
    public void Zero_init_residual_starts_every_block_as_relu_of_its_shortcut()
    {
        var net = new ResNet(14, 1, 10, new Generator(3), residual: true, zeroInitResidual: true);
        Assert.True(net.ZeroInitResidual);
        var blocks = net.NamedModules().Select(m => m.Item2).OfType<BasicBlock>().ToArray();
        Assert.Equal(6, blocks.Length);
        Assert.All(blocks, b => Assert.All(((BatchNorm2d)b.LastNorm!).Weight!.ToArray(), v => Assert.Equal(0f, v)));
        // An identity block (layer1.0) on a non-negative input returns it unchanged: relu(0·branch + β + x) with β = 0.
        var x = Tensor.Rand([2, 16, 7, 7], new Generator(4));
        Assert.Equal(x.ToArray(), blocks[0].Forward(x).ToArray());
        // The default keeps γ = 1, and plain nets ignore the flag (their blocks would start dead).
        Assert.All(new ResNet(14, 1, 10, new Generator(3)).NamedModules().Select(m => m.Item2).OfType<BasicBlock>(),
            b => Assert.All(((BatchNorm2d)b.LastNorm!).Weight!.ToArray(), v => Assert.Equal(1f, v)));
        var plain = new ResNet(14, 1, 10, new Generator(3), residual: false, zeroInitResidual: true);
        Assert.False(plain.ZeroInitResidual);
        Assert.All(plain.NamedModules().Select(m => m.Item2).OfType<BasicBlock>(), b => Assert.All(((BatchNorm2d)b.LastNorm!).Weight!.ToArray(), v => Assert.Equal(1f, v)));
    }

    [Fact]
    public void Degradation_verdict_says_what_happened()
    {
        var runs = new List<(string, double[], double[])>
        {
            ("plain-8", [0.3, 0.2], [0.3, 0.25]), ("resnet-8", [0.3, 0.18], [0.3, 0.22]),
            ("plain-20", [0.5, 0.3], [0.5, 0.35]), ("resnet-20", [0.3, 0.15], [0.3, 0.2]),
        };
        var v = Nabla.Cli.LabCommand.Verdict(runs, [8, 20]);
        Assert.Contains("plain-20 ends with 30.0% training error against 20.0% for plain-8", v);
        Assert.Contains("the deeper net does not", v);
    }
}
