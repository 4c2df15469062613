using System.Text.Json;

namespace Nabla.Tests;

/// <summary>
/// PyTorch golden fixtures (tests/fixtures/ops.json, made by tests/fixtures/make_fixtures.py with torch in
/// float64 from float32 inputs): forward and every input gradient must agree to 1e-5 relative.
/// </summary>
public class FixtureTests
{
    sealed record Fix(string Name, string Op, JsonElement Attrs, (float[] data, int[] shape)[] Inputs,
        (float[] data, int[] shape) Output, (float[] data, int[] shape) GradOutput, (float[] data, int[] shape)[] Grads);

    static readonly Lazy<Fix[]> Cases = new(Load);

    static (float[], int[]) T(JsonElement e) =>
        (e.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray(),
         e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray());

    static Fix[] Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", "ops.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => new Fix(
            c.GetProperty("name").GetString()!, c.GetProperty("op").GetString()!, c.GetProperty("attrs").Clone(),
            c.GetProperty("inputs").EnumerateArray().Select(T).ToArray(), T(c.GetProperty("output")),
            T(c.GetProperty("grad_output")), c.GetProperty("grads").EnumerateArray().Select(T).ToArray())).ToArray();
    }

    public static TheoryData<string> Names()
    {
        var d = new TheoryData<string>();
        foreach (var c in Cases.Value) d.Add(c.Name);
        return d;
    }

    static int[]? Dims(JsonElement a) =>
        a.GetProperty("dims").ValueKind == JsonValueKind.Null ? null : a.GetProperty("dims").EnumerateArray().Select(v => v.GetInt32()).ToArray();

    static int[] Ints(JsonElement a, string name) => a.GetProperty(name).EnumerateArray().Select(v => v.GetInt32()).ToArray();

    static Tensor Apply(Fix f, Tensor[] x)
    {
        var a = f.Attrs;
        return f.Op switch
        {
            "matmul" => Tensor.MatMul(x[0], x[1]),
            "softmax" => x[0].Softmax(a.GetProperty("dim").GetInt32()),
            "log_softmax" => x[0].LogSoftmax(a.GetProperty("dim").GetInt32()),
            "sum" => Dims(a) is { } d ? x[0].Sum(d, a.GetProperty("keepdim").GetBoolean()) : x[0].Sum(),
            "mean" => Dims(a) is { } d ? x[0].Mean(d, a.GetProperty("keepdim").GetBoolean()) : x[0].Mean(),
            "amax" => Dims(a) is { } d ? x[0].Max(d, a.GetProperty("keepdim").GetBoolean()) : x[0].Max(),
            "add" => x[0] + x[1],
            "sub" => x[0] - x[1],
            "mul" => x[0] * x[1],
            "div" => x[0] / x[1],
            "maximum" => Tensor.Maximum(x[0], x[1]),
            "minimum" => Tensor.Minimum(x[0], x[1]),
            "pow" => x[0].Pow(a.GetProperty("exponent").GetSingle()),
            "where" => Tensor.Where(Tensor.FromArray(Ints(a, "cond").Select(v => (float)v).ToArray(), Ints(a, "cond_shape")), x[0], x[1]),
            "exp" => x[0].Exp(),
            "log" => x[0].Log(),
            "sqrt" => x[0].Sqrt(),
            "abs" => x[0].Abs(),
            "neg" => -x[0],
            "relu" => x[0].Relu(),
            "sigmoid" => x[0].Sigmoid(),
            "tanh" => x[0].Tanh(),
            "clamp" => x[0].Clamp(a.GetProperty("min").GetSingle(), a.GetProperty("max").GetSingle()),
            "permute" => x[0].Permute(Ints(a, "dims")),
            "transpose" => x[0].Transpose(a.GetProperty("dim0").GetInt32(), a.GetProperty("dim1").GetInt32()),
            "narrow" => x[0].Narrow(a.GetProperty("dim").GetInt32(), a.GetProperty("start").GetInt32(), a.GetProperty("length").GetInt32()),
            "cat" => Tensor.Concat(x, a.GetProperty("dim").GetInt32()),
            "stack" => Tensor.Stack(x, a.GetProperty("dim").GetInt32()),
            "reshape" => x[0].Reshape(Ints(a, "shape")),
            "gather_rows" => x[0].Gather(1, new IntTensor(Ints(a, "index"), Ints(a, "index").Length, 1)),
            "index_select" => x[0].IndexSelect(a.GetProperty("dim").GetInt32(), IntTensor.FromArray(Ints(a, "index"))),
            _ => throw new NotSupportedException($"fixture op {f.Op}"),
        };
    }

    static void Close(string what, (float[] data, int[] shape) expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.Shape.ToArray());
        var a = actual.ToArray();
        for (int i = 0; i < a.Length; i++)
        {
            double e = expected.data[i];
            Assert.True(Math.Abs(a[i] - e) <= 1e-5 * Math.Abs(e) + 1e-6, $"{what}[{i}] = {a[i]:G9}, PyTorch {e:G9}");
        }
    }

    [Fact]
    public void Fixture_file_has_every_op_family()
    {
        var ops = Cases.Value.Select(c => c.Op).ToHashSet();
        foreach (var op in new[] { "matmul", "softmax", "log_softmax", "sum", "mean", "amax", "add", "sub", "mul", "div" })
            Assert.Contains(op, ops);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Matches_pytorch(string name)
    {
        var f = Cases.Value.Single(c => c.Name == name);
        var x = f.Inputs.Select(i => Tensor.FromArray(i.data, i.shape).RequiresGrad_()).ToArray();
        var y = Apply(f, x);
        Close($"{name} output", f.Output, y);
        y.Backward(Tensor.FromArray(f.GradOutput.data, f.GradOutput.shape));
        for (int i = 0; i < x.Length; i++)
        {
            Assert.NotNull(x[i].Grad);
            Close($"{name} grad[{i}]", f.Grads[i], x[i].Grad!);
        }
    }
}
