using System.Text.Json;
using Nabla.Autograd;

namespace Nabla.Tests;

/// <summary>
/// Every loss configuration against PyTorch (tests/fixtures/nn.json): value and input gradient at 1e-5 relative,
/// a finite-difference check per row, and the fused cross-entropy against its composed reference.
/// </summary>
public class LossCases
{
    static readonly Lazy<JsonElement[]> Cases = new(() => Fixtures.Load("nn.json").GetProperty("losses").EnumerateArray().ToArray());

    public static TheoryData<string> Names()
    {
        var d = new TheoryData<string>();
        foreach (var c in Cases.Value) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    static JsonElement Case(string name) => Cases.Value.Single(c => c.GetProperty("name").GetString() == name);

    static Tensor? Vec(JsonElement a, string key) =>
        a.TryGetProperty(key, out var v) ? Tensor.FromArray(v.EnumerateArray().Select(x => x.GetSingle()).ToArray()) : null;

    static Loss Build(string loss, JsonElement a)
    {
        var reduction = a.GetProperty("reduction").GetString() switch { "sum" => Reduction.Sum, "none" => Reduction.None, _ => Reduction.Mean };
        int ignore = a.TryGetProperty("ignore_index", out var ii) ? ii.GetInt32() : -100;
        float smoothing = a.TryGetProperty("label_smoothing", out var ls) ? ls.GetSingle() : 0f;
        // Through the registry, so a new loss is its class, one registry row and its fixture rows.
        var info = Losses.Find(loss) ?? throw new NotSupportedException(loss);
        return info.Create(new LossArguments(reduction, Vec(a, "weight"), Vec(a, "pos_weight"), ignore, smoothing,
            a.TryGetProperty("delta", out var d) ? d.GetSingle() : 1f));
    }

    static Func<Tensor, Tensor> Bind(JsonElement c)
    {
        var loss = Build(c.GetProperty("loss").GetString()!, c.GetProperty("attrs"));
        var t = c.GetProperty("target");
        if (t.GetProperty("dtype").GetString() == "int")
        {
            var labels = Fixtures.Ints(t);
            return x => loss.Forward(x, labels);
        }
        var target = Fixtures.Tensor(t);
        return x => loss.Forward(x, target);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Matches_pytorch(string name)
    {
        var c = Case(name);
        var f = Bind(c);
        var x = Fixtures.Tensor(c.GetProperty("input")).RequiresGrad_();
        var y = f(x);
        Fixtures.Close($"{name} output", c.GetProperty("output"), y);
        y.Backward(Fixtures.Tensor(c.GetProperty("grad_output")));
        Fixtures.Close($"{name} grad_input", c.GetProperty("grad_input"), x.Grad!);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Gradient_matches_finite_differences(string name)
    {
        var c = Case(name);
        if (name.StartsWith("bce_logits_large", StringComparison.Ordinal)) return; // float32 cannot resolve ±40 logits by differences
        var f = Bind(c);
        var result = GradCheck.Check(xs => f(xs[0]), [Fixtures.Tensor(c.GetProperty("input"))]);
        Assert.True(result.Passed, $"{name}: {result.Message}");
    }

    [Fact]
    public void Fused_cross_entropy_matches_the_composed_log_softmax_nll()
    {
        var g = new Generator(11);
        var logits = Tensor.Randn([6, 5], g).RequiresGrad_();
        var labels = IntTensor.FromArray([0, 4, 2, 2, 1, 3]);
        var fused = Functional.CrossEntropy(logits, labels);
        fused.Backward();
        var fusedGrad = logits.Grad!.ToArray();
        logits.ZeroGrad();
        var composed = -logits.LogSoftmax(1).Gather(1, labels.Reshape(6, 1)).Mean();
        composed.Backward();
        Assert.Equal(composed.Item(), fused.Item(), 5);
        var cg = logits.Grad!.ToArray();
        for (int i = 0; i < cg.Length; i++) Assert.Equal(cg[i], fusedGrad[i], 5);
    }

    [Fact]
    public void Cross_entropy_is_finite_for_huge_logits()
    {
        var logits = Tensor.FromArray([1e4f, -1e4f, 0f, 3e4f, 0f, -3e4f], 2, 3).RequiresGrad_();
        var loss = Functional.CrossEntropy(logits, IntTensor.FromArray([1, 0]));
        loss.Backward();
        Assert.True(float.IsFinite(loss.Item()));
        Assert.Equal(10000f, loss.Item(), 1); // row 0: 1e4 − (−1e4) = 2e4; row 1: 0
        Assert.All(logits.Grad!.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Bad_targets_are_refused_with_the_shapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => new CrossEntropyLoss().Forward(Tensor.Zeros(4, 3), IntTensor.FromArray([0, 1, 2])));
        Assert.Contains("(3,)", ex.Message);
        Assert.Contains("(4, 3)", ex.Message);
        var oob = Assert.Throws<ArgumentOutOfRangeException>(() => new CrossEntropyLoss().Forward(Tensor.Zeros(2, 3), IntTensor.FromArray([0, 3])));
        Assert.Contains("3 classes", oob.Message);
        var mse = Assert.Throws<ArgumentException>(() => new MSELoss().Forward(Tensor.Zeros(4, 1), Tensor.Zeros(4)));
        Assert.Contains("(4, 1)", mse.Message);
        Assert.Throws<ArgumentException>(() => new MSELoss().Forward(Tensor.Zeros(4), IntTensor.FromArray([1, 2, 3, 4])));
        Assert.Throws<ArgumentException>(() => new CrossEntropyLoss(weight: Tensor.Ones(2)).Forward(Tensor.Zeros(2, 3), IntTensor.FromArray([0, 1])));
    }
}
