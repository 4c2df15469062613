using System.Text.Json;
using Nabla.Optim;

namespace Nabla.Tests;

/// <summary>
/// One row per optimizer configuration: 25 steps of a small MLP from PyTorch's initial weights on fixed batches;
/// every parameter after every step must match PyTorch's float32 trajectory (tests/fixtures/optim.json).
/// </summary>
public class OptimizerCases
{
    static readonly Lazy<JsonElement> Root = new(() => Fixtures.Load("optim.json"));

    public static TheoryData<string> Names()
    {
        var d = new TheoryData<string>();
        foreach (var c in Root.Value.GetProperty("optimizers").EnumerateArray()) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    static Sequential Model()
    {
        var g = new Generator(0);
        var net = new Sequential(new Linear(4, 6, g), new Tanh(), new Linear(6, 3, g));
        var state = new StateDict();
        foreach (var p in Root.Value.GetProperty("initial").EnumerateObject()) state.Add(p.Name, Fixtures.Tensor(p.Value));
        net.LoadStateDict(state);
        return net;
    }

    static double H(JsonElement h, string k) => h.GetProperty(k).ValueKind switch
    {
        JsonValueKind.True => 1,
        JsonValueKind.False => 0,
        _ => h.GetProperty(k).GetDouble(),
    };

    public static Optimizer Build(string kind, JsonElement h, IEnumerable<Tensor> ps) => kind switch
    {
        "SGD" => new SGD(ps, H(h, "lr"), H(h, "momentum"), H(h, "dampening"), H(h, "weight_decay"), H(h, "nesterov") != 0, H(h, "maximize") != 0),
        "RMSprop" => new RMSProp(ps, H(h, "lr"), H(h, "alpha"), H(h, "eps"), H(h, "weight_decay"), H(h, "momentum"), H(h, "centered") != 0, H(h, "maximize") != 0),
        "Adagrad" => new Adagrad(ps, H(h, "lr"), H(h, "lr_decay"), H(h, "weight_decay"), H(h, "initial_accumulator_value"), H(h, "eps"), H(h, "maximize") != 0),
        "Adam" => new Adam(ps, H(h, "lr"), h.GetProperty("betas")[0].GetDouble(), h.GetProperty("betas")[1].GetDouble(), H(h, "eps"), H(h, "weight_decay"), H(h, "amsgrad") != 0, H(h, "maximize") != 0),
        "AdamW" => new AdamW(ps, H(h, "lr"), h.GetProperty("betas")[0].GetDouble(), h.GetProperty("betas")[1].GetDouble(), H(h, "eps"), H(h, "weight_decay"), H(h, "amsgrad") != 0, H(h, "maximize") != 0),
        _ => throw new NotSupportedException(kind),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Trajectory_matches_pytorch(string name)
    {
        var c = Root.Value.GetProperty("optimizers").EnumerateArray().Single(x => x.GetProperty("name").GetString() == name);
        var net = Model();
        var opt = Build(c.GetProperty("optimizer").GetString()!, c.GetProperty("hyper"), net.Parameters());
        var batches = Root.Value.GetProperty("batches").EnumerateArray().ToArray();
        var losses = c.GetProperty("losses").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var trajectory = c.GetProperty("trajectory").EnumerateArray().ToArray();
        for (int step = 0; step < batches.Length; step++)
        {
            var x = Fixtures.Tensor(batches[step].GetProperty("x"));
            var y = IntTensor.FromArray(batches[step].GetProperty("y").EnumerateArray().Select(v => v.GetInt32()).ToArray());
            opt.ZeroGrad();
            var loss = Functional.CrossEntropy(net.Forward(x), y);
            Assert.True(Math.Abs(loss.Item() - losses[step]) <= 1e-5 * Math.Abs(losses[step]) + 1e-6, $"{name} step {step}: loss {loss.Item()}, PyTorch {losses[step]}");
            loss.Backward();
            opt.Step();
            var state = net.StateDict();
            foreach (var p in trajectory[step].EnumerateObject())
                Fixtures.Close($"{name} step {step} {p.Name}", p.Value, state[p.Name].Float!, atol: 1e-6);
        }
    }
}

public class OptimizerTests
{
    static Sequential Net(int seed) => Models.Mlp(3, [5], 2, new Generator(seed), "tanh");

    static void Train(Sequential net, Optimizer opt, int steps, int offset)
    {
        for (int i = 0; i < steps; i++)
        {
            var g = new Generator(100 + offset + i);
            var x = Tensor.Randn([8, 3], g);
            var y = IntTensor.FromArray(Enumerable.Range(0, 8).Select(_ => g.NextInt(2)).ToArray());
            opt.ZeroGrad();
            Functional.CrossEntropy(net.Forward(x), y).Backward();
            opt.Step();
        }
    }

    public static TheoryData<string> Kinds() => new(["sgd", "rmsprop", "adagrad", "adam", "adamw"]);

    static Optimizer Make(string kind, IEnumerable<Tensor> ps) => kind switch
    {
        "sgd" => new SGD(ps, lr: 0.1, momentum: 0.9, nesterov: true),
        "rmsprop" => new RMSProp(ps, lr: 0.01, centered: true, momentum: 0.5),
        "adagrad" => new Adagrad(ps, lr: 0.1, lrDecay: 0.01),
        "adam" => new Adam(ps, lr: 0.01, amsgrad: true),
        _ => new AdamW(ps, lr: 0.01),
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Resuming_from_a_checkpoint_continues_bit_for_bit(string kind)
    {
        var dir = Directory.CreateTempSubdirectory("nabla-resume");
        try
        {
            var a = Net(1);
            var optA = Make(kind, a.Parameters());
            Train(a, optA, 10, 0);
            a.Save(Path.Combine(dir.FullName, "model.safetensors"));
            Serialization.SafeTensors.Write(Path.Combine(dir.FullName, "optim.safetensors"), optA.StateDict());
            Train(a, optA, 5, 10);

            var b = Net(2);
            var optB = Make(kind, b.Parameters());
            b.Load(Path.Combine(dir.FullName, "model.safetensors"));
            optB.LoadStateDict(Serialization.SafeTensors.Read(Path.Combine(dir.FullName, "optim.safetensors")));
            Train(b, optB, 5, 10);

            foreach (var (key, value) in a.StateDict())
                Assert.Equal(value.Float!.ToArray(), b.StateDict()[key].Float!.ToArray());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void State_uses_pytorch_buffer_names()
    {
        var net = Net(0);
        var adam = new Adam(net.Parameters(), amsgrad: true);
        Train(net, adam, 1, 0);
        var keys = adam.StateDict().Keys.Where(k => k.StartsWith("state.0.", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq"], keys);
        var sgd = new SGD(net.Parameters(), momentum: 0.9);
        Train(net, sgd, 1, 0);
        Assert.Contains("state.0.momentum_buffer", sgd.StateDict().Keys);
    }

    [Fact]
    public void Parameter_groups_keep_their_own_hyperparameters()
    {
        var net = Net(0);
        var first = (Linear)net[0];
        var last = (Linear)net[2];
        var opt = new SGD([new ParamGroup(first.Parameters(), new Dictionary<string, double> { ["lr"] = 0 }), new ParamGroup(last.Parameters())], lr: 0.5, momentum: 0);
        Assert.Equal(0, opt.ParamGroups[0].LearningRate);
        Assert.Equal(0.5, opt.ParamGroups[1].LearningRate);
        Assert.Equal(0, opt.ParamGroups[0]["momentum"]);
        var before = first.Weight.ToArray();
        var lastBefore = last.Weight.ToArray();
        Train(net, opt, 1, 0);
        Assert.Equal(before, first.Weight.ToArray());
        Assert.NotEqual(lastBefore, last.Weight.ToArray());
    }

    [Fact]
    public void Parameters_without_gradients_are_skipped()
    {
        var w = Tensor.Ones(3).RequiresGrad_();
        var unused = Tensor.Ones(2).RequiresGrad_();
        var opt = new Adam([w, unused], lr: 0.1);
        (w * 2f).Sum().Backward();
        opt.Step();
        Assert.Equal([1f, 1f], unused.ToArray());
        Assert.Null(opt.StateOf(unused));
        Assert.NotNull(opt.StateOf(w));
    }

    [Fact]
    public void Bad_hyperparameters_raise_pytorchs_checks()
    {
        var ps = new[] { Tensor.Ones(2).RequiresGrad_() };
        Assert.Contains("Invalid learning rate: -0.1", Assert.ThrowsAny<ArgumentException>(() => new SGD(ps, lr: -0.1)).Message);
        Assert.Contains("Invalid momentum value: -1", Assert.ThrowsAny<ArgumentException>(() => new SGD(ps, momentum: -1)).Message);
        Assert.Contains("Nesterov momentum requires a momentum and zero dampening",
            Assert.ThrowsAny<ArgumentException>(() => new SGD(ps, momentum: 0.9, dampening: 0.1, nesterov: true)).Message);
        Assert.Contains("Invalid beta parameter at index 0: 1", Assert.ThrowsAny<ArgumentException>(() => new Adam(ps, beta1: 1.0)).Message);
        Assert.Contains("Invalid beta parameter at index 1: -0.5", Assert.ThrowsAny<ArgumentException>(() => new AdamW(ps, beta2: -0.5)).Message);
        Assert.Contains("Invalid epsilon value: -1", Assert.ThrowsAny<ArgumentException>(() => new RMSProp(ps, eps: -1)).Message);
        Assert.Contains("Invalid weight_decay value: -0.01", Assert.ThrowsAny<ArgumentException>(() => new Adagrad(ps, weightDecay: -0.01)).Message);
        Assert.Contains("more than one parameter group",
            Assert.Throws<ArgumentException>(() => new SGD([new ParamGroup(ps), new ParamGroup(ps)])).Message);
        Assert.Contains("unknown hyperparameter 'betas'",
            Assert.Throws<ArgumentException>(() => new Adam([new ParamGroup(ps, new Dictionary<string, double> { ["betas"] = 0.9 })])).Message);
        Assert.Throws<ArgumentException>(() => new SGD(Array.Empty<Tensor>()));
        Assert.Throws<InvalidOperationException>(() => new Adam(ps).LoadStateDict(new SGD(ps).StateDict()));
    }

    [Fact]
    public void Defaults_are_the_lectures_numbers()
    {
        var ps = new[] { Tensor.Ones(2).RequiresGrad_() };
        Assert.Equal(0.9, new SGD(ps).Defaults["momentum"]);
        var rms = new RMSProp(ps).Defaults;
        Assert.Equal((1e-3, 0.9), (rms["lr"], rms["alpha"]));
        var adam = new Adam(ps).Defaults;
        Assert.Equal((3e-4, 0.9, 0.99, 1e-8), (adam["lr"], adam["beta1"], adam["beta2"], adam["eps"]));
        Assert.Equal(1e-2, new AdamW(ps).Defaults["weight_decay"]);
    }
}
