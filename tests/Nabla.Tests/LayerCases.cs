using System.Text.Json;
using Nabla.Autograd;

namespace Nabla.Tests;

/// <summary>
/// Layers and activations against PyTorch (tests/fixtures/nn.json from make_nn_fixtures.py): forward, input
/// gradient and parameter gradients at 1e-5 relative, and a finite-difference check per row.
/// </summary>
public class LayerCases
{
    static readonly Lazy<JsonElement[]> Cases = new(() => Fixtures.Load("nn.json").GetProperty("layers").EnumerateArray().ToArray());

    public static TheoryData<string> Names()
    {
        var d = new TheoryData<string>();
        foreach (var c in Cases.Value) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    static JsonElement Case(string name) => Cases.Value.Single(c => c.GetProperty("name").GetString() == name);

    static float F(JsonElement attrs, string key, float fallback) => attrs.TryGetProperty(key, out var v) ? v.GetSingle() : fallback;
    static int I(JsonElement attrs, string key, int fallback) => attrs.TryGetProperty(key, out var v) ? v.GetInt32() : fallback;

    /// <summary>The Nabla module for a PyTorch class name and its constructor kwargs (activations from the registry).</summary>
    public static Module Build(string module, JsonElement a) =>
        Activations.Registry.FirstOrDefault(r => r.TorchName == module) is { } activation
            ? activation.Create(a.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText()))
            : BuildLayer(module, a);

    static Module BuildLayer(string module, JsonElement a) => module switch
    {
        "Linear" => new Linear(a.GetProperty("in_features").GetInt32(), a.GetProperty("out_features").GetInt32(), new Generator(0),
            !a.TryGetProperty("bias", out var b) || b.GetBoolean()),
        "Flatten" => new Flatten(I(a, "start_dim", 1), I(a, "end_dim", -1)),
        "Softmax" => new Softmax(a.GetProperty("dim").GetInt32()),
        "LogSoftmax" => new LogSoftmax(a.GetProperty("dim").GetInt32()),
        "ConvTranspose2d" => new ConvTranspose2d(a.GetProperty("in_channels").GetInt32(), a.GetProperty("out_channels").GetInt32(), Pair(a, "kernel_size", 0),
            new Generator(0), Pair(a, "stride", 1), Pair(a, "padding", 0), Pair(a, "output_padding", 0), Pair(a, "dilation", 1), I(a, "groups", 1),
            !a.TryGetProperty("bias", out var tb) || tb.GetBoolean()),
        "Upsample" => new Upsample(a.TryGetProperty("size", out var size) ? (size[0].GetInt32(), size[1].GetInt32()) : null,
            a.TryGetProperty("scale_factor", out var f) ? (f.GetDouble(), f.GetDouble()) : null,
            a.GetProperty("mode").GetString() == "bilinear" ? UpsampleMode.Bilinear : UpsampleMode.Nearest,
            a.TryGetProperty("align_corners", out var ac) && ac.GetBoolean()),
        _ => throw new NotSupportedException(module),
    };

    // A torch size argument: an int for both dims or [h, w].
    static (int, int) Pair(JsonElement a, string key, int fallback) =>
        !a.TryGetProperty(key, out var v) ? (fallback, fallback)
        : v.ValueKind == JsonValueKind.Array ? (v[0].GetInt32(), v[1].GetInt32()) : (v.GetInt32(), v.GetInt32());

    static Module Prepared(JsonElement c)
    {
        var m = Build(c.GetProperty("module").GetString()!, c.GetProperty("attrs"));
        var state = new StateDict();
        foreach (var p in c.GetProperty("params").EnumerateObject()) state.Add(p.Name, Fixtures.Tensor(p.Value));
        m.LoadStateDict(state);
        return m;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Matches_pytorch(string name)
    {
        var c = Case(name);
        var m = Prepared(c);
        var x = Fixtures.Tensor(c.GetProperty("input")).RequiresGrad_();
        var y = m.Forward(x);
        Fixtures.Close($"{name} output", c.GetProperty("output"), y);
        y.Backward(Fixtures.Tensor(c.GetProperty("grad_output")));
        Fixtures.Close($"{name} grad_input", c.GetProperty("grad_input"), x.Grad!);
        var parameters = m.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        foreach (var g in c.GetProperty("param_grads").EnumerateObject())
            Fixtures.Close($"{name} grad {g.Name}", g.Value, parameters[g.Name].Grad!);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Gradient_matches_finite_differences(string name)
    {
        var c = Case(name);
        var m = Prepared(c);
        var x = Fixtures.Tensor(c.GetProperty("input"));
        var result = GradCheck.Check(xs => m.Forward(xs[0]), [x]);
        Assert.True(result.Passed, $"{name}: {result.Message}");
        var parameters = m.Parameters().ToArray();
        if (parameters.Length == 0) return;
        var pr = GradCheck.CheckParameters(() => m.Forward(x), parameters);
        Assert.True(pr.Passed, $"{name} parameters: {pr.Message}");
    }
}
