using Nabla.Autograd;

namespace Nabla.Tests;

/// <summary>One op, as every property test sees it.</summary>
/// <param name="Name">Row name, shown in test output.</param>
/// <param name="Inputs">Makes the inputs from a generator (values kept away from kinks where the op has them).</param>
/// <param name="Op">The op under test.</param>
/// <param name="Reference">The same function written independently in <see cref="Ref"/> (double precision).</param>
/// <param name="Bad">Inputs that must be refused, or null where no shape error exists (unary elementwise ops).</param>
/// <param name="BadMessage">Fragments the refusal's message must contain: the op and both shapes.</param>
public sealed record OpCase(
    string Name,
    Func<Generator, Tensor[]> Inputs,
    Func<Tensor[], Tensor> Op,
    Func<Arr[], Arr> Reference,
    Func<Tensor>? Bad = null,
    string[]? BadMessage = null)
{
    public override string ToString() => Name;
}

/// <summary>The case table: one row per op.</summary>
public static class OpCases
{
    static Tensor N(Generator g, params int[] shape) => Tensor.Randn(shape, g);
    static Tensor Pos(Generator g, params int[] shape) => Tensor.Uniform(shape, 0.5f, 2f, g);
    // |x| ≥ 0.2: safe for ReLU, |x| and division.
    static Tensor Away(Generator g, params int[] shape)
    {
        var v = Tensor.Randn(shape, g).ToArray().Select(x => MathF.CopySign(0.2f + MathF.Abs(x), x)).ToArray();
        return Tensor.FromArray(v, shape);
    }
    // Distinct values spaced ≥ 0.1 apart, shuffled: no ties for max/min and no kink within ε.
    static Tensor Distinct(Generator g, params int[] shape)
    {
        int n = shape.Aggregate(1, (p, v) => p * v);
        var perm = g.Permutation(n);
        return Tensor.FromArray(perm.Select(i => (i - n / 2) * 0.1f + 0.013f).ToArray(), shape);
    }
    static Tensor Mask(params float[] v) => Tensor.FromArray(v, v.Length);
    static Tensor Bad2(int[] a, int[] b, Func<Tensor, Tensor, Tensor> f) => f(Tensor.Zeros(a), Tensor.Zeros(b));

    static readonly string[] AddMsg = ["(2, 3)", "(4, 3)"];

    public static readonly OpCase[] All =
    [
        new("add_broadcast", g => [N(g, 2, 3, 4), N(g, 3, 1)], x => x[0] + x[1], r => Ref.Zip(r[0], r[1], (a, b) => a + b),
            () => Bad2([2, 3], [4, 3], (a, b) => a + b), ["Add", .. AddMsg]),
        new("sub_broadcast", g => [N(g, 4), N(g, 3, 4)], x => x[0] - x[1], r => Ref.Zip(r[0], r[1], (a, b) => a - b),
            () => Bad2([2, 3], [4, 3], (a, b) => a - b), ["Sub", .. AddMsg]),
        new("mul_broadcast", g => [N(g, 2, 1, 4), N(g, 3, 1)], x => x[0] * x[1], r => Ref.Zip(r[0], r[1], (a, b) => a * b),
            () => Bad2([2, 3], [4, 3], (a, b) => a * b), ["Mul", .. AddMsg]),
        new("div_broadcast", g => [N(g, 3, 4), Away(g, 4)], x => x[0] / x[1], r => Ref.Zip(r[0], r[1], (a, b) => a / b),
            () => Bad2([2, 3], [4, 3], (a, b) => a / b), ["Div", .. AddMsg]),
        new("div_scalar_tensor", g => [N(g, 3, 4), Away(g)], x => x[0] / x[1], r => Ref.Zip(r[0], r[1], (a, b) => a / b)),
        new("maximum", g => [Distinct(g, 3, 4), Distinct(g, 4)], x => Tensor.Maximum(x[0], x[1]), r => Ref.Zip(r[0], r[1], Math.Max),
            () => Bad2([2, 3], [4, 3], Tensor.Maximum), ["Maximum", .. AddMsg]),
        new("minimum", g => [Distinct(g, 2, 1, 3), Distinct(g, 2, 3)], x => Tensor.Minimum(x[0], x[1]), r => Ref.Zip(r[0], r[1], Math.Min),
            () => Bad2([2, 3], [4, 3], Tensor.Minimum), ["Minimum", .. AddMsg]),
        new("add_scalar", g => [N(g, 3, 4)], x => x[0] + 1.5f, r => Ref.Map(r[0], a => a + 1.5)),
        new("rsub_scalar", g => [N(g, 3, 4)], x => 2f - x[0], r => Ref.Map(r[0], a => 2 - a)),
        new("mul_scalar", g => [N(g, 3, 4)], x => x[0] * -2.5f, r => Ref.Map(r[0], a => a * -2.5)),
        new("neg", g => [N(g, 3, 4)], x => -x[0], r => Ref.Map(r[0], a => -a)),
        new("pow_2", g => [N(g, 3, 4)], x => x[0].Pow(2f), r => Ref.Map(r[0], a => a * a)),
        new("pow_fractional", g => [Pos(g, 3, 4)], x => x[0].Pow(1.7f), r => Ref.Map(r[0], a => Math.Pow(a, 1.7))),
        new("pow_negative", g => [Pos(g, 3, 4)], x => x[0].Pow(-0.5f), r => Ref.Map(r[0], a => Math.Pow(a, -0.5))),
        new("exp", g => [N(g, 3, 4)], x => x[0].Exp(), r => Ref.Map(r[0], Math.Exp)),
        new("log", g => [Pos(g, 3, 4)], x => x[0].Log(), r => Ref.Map(r[0], Math.Log)),
        new("sqrt", g => [Pos(g, 3, 4)], x => x[0].Sqrt(), r => Ref.Map(r[0], Math.Sqrt)),
        new("abs", g => [Away(g, 3, 4)], x => x[0].Abs(), r => Ref.Map(r[0], Math.Abs)),
        new("clamp", g => [Distinct(g, 3, 4)], x => x[0].Clamp(-0.45f, 0.35f), r => Ref.Map(r[0], a => Math.Clamp(a, -0.45, 0.35))),
        new("relu", g => [Away(g, 3, 4)], x => x[0].Relu(), r => Ref.Map(r[0], a => Math.Max(a, 0))),
        new("sigmoid", g => [N(g, 3, 4)], x => x[0].Sigmoid(), r => Ref.Map(r[0], a => 1 / (1 + Math.Exp(-a)))),
        new("tanh", g => [N(g, 3, 4)], x => x[0].Tanh(), r => Ref.Map(r[0], Math.Tanh)),
        new("matmul_2d", g => [N(g, 3, 5), N(g, 5, 4)], x => Tensor.MatMul(x[0], x[1]), r => Ref.MatMul(r[0], r[1]),
            () => Bad2([2, 3], [4, 5], Tensor.MatMul), ["MatMul", "(2, 3)", "(4, 5)"]),
        new("matmul_batched", g => [N(g, 2, 3, 5), N(g, 2, 5, 4)], x => Tensor.MatMul(x[0], x[1]), r => Ref.MatMul(r[0], r[1]),
            () => Bad2([2, 3, 4], [3, 4, 5], Tensor.MatMul), ["MatMul", "(2,)", "(3,)"]),
        new("matmul_batch_broadcast", g => [N(g, 2, 1, 3, 5), N(g, 3, 5, 2)], x => Tensor.MatMul(x[0], x[1]), r => Ref.MatMul(r[0], r[1])),
        new("matmul_fold_3d_2d", g => [N(g, 2, 3, 5), N(g, 5, 4)], x => Tensor.MatMul(x[0], x[1]), r => Ref.MatMul(r[0], r[1])),
        new("matmul_transposed_views", g => [N(g, 5, 3), N(g, 4, 5)], x => Tensor.MatMul(x[0].T, x[1].T),
            r => Ref.MatMul(Ref.Permute(r[0], [1, 0]), Ref.Permute(r[1], [1, 0]))),
        new("matmul_vector", g => [N(g, 5), N(g, 5, 4)], x => Tensor.MatMul(x[0], x[1]),
            r => { var y = Ref.MatMul(r[0] with { Shape = [1, 5] }, r[1]); return y with { Shape = [4] }; }),
        new("sum_dims", g => [N(g, 2, 3, 4)], x => x[0].Sum([0, 2]), r => Ref.Reduce(r[0], [0, 2], false, v => v.Sum()),
            () => Tensor.Zeros(2, 3).Sum(-3), ["Sum", "-3", "rank 2"]),
        new("sum_all", g => [N(g, 3, 4)], x => x[0].Sum(), r => Ref.Reduce(r[0], [0, 1], false, v => v.Sum())),
        new("sum_keepdim", g => [N(g, 3, 4)], x => x[0].Sum(1, keepDim: true), r => Ref.Reduce(r[0], [1], true, v => v.Sum())),
        new("mean_dims", g => [N(g, 2, 3, 4)], x => x[0].Mean([-1], keepDim: true), r => Ref.Reduce(r[0], [2], true, v => v.Average()),
            () => Tensor.Zeros(2, 3).Mean(2), ["Mean", "2", "rank 2"]),
        new("max_dims", g => [Distinct(g, 2, 3, 4)], x => x[0].Max([0, 2]), r => Ref.Reduce(r[0], [0, 2], false, v => v.Max()),
            () => Tensor.Zeros(2, 3).Max(5), ["Max", "5", "rank 2"]),
        new("max_all", g => [Distinct(g, 3, 4)], x => x[0].Max(), r => Ref.Reduce(r[0], [0, 1], false, v => v.Max())),
        new("min_dim", g => [Distinct(g, 3, 4)], x => x[0].Min(0), r => Ref.Reduce(r[0], [0], false, v => v.Min())),
        new("softmax_last", g => [N(g, 3, 5)], x => x[0].Softmax(-1), r => Ref.Softmax(r[0], -1, false),
            () => Tensor.Zeros(2, 3).Softmax(2), ["Softmax", "2", "rank 2"]),
        new("softmax_dim0", g => [N(g, 4, 3)], x => x[0].Softmax(0), r => Ref.Softmax(r[0], 0, false)),
        new("log_softmax_last", g => [N(g, 3, 5)], x => x[0].LogSoftmax(1), r => Ref.Softmax(r[0], 1, true),
            () => Tensor.Zeros(2, 3).LogSoftmax(-3), ["LogSoftmax", "-3", "rank 2"]),
        new("log_softmax_middle", g => [N(g, 2, 4, 3)], x => x[0].LogSoftmax(1), r => Ref.Softmax(r[0], 1, true)),
        new("reshape", g => [N(g, 3, 4)], x => x[0].Reshape(2, -1, 3), r => r[0] with { Shape = [2, 2, 3] },
            () => Tensor.Zeros(2, 3).Reshape(4, 2), ["Reshape", "(2, 3)", "(4, 2)"]),
        new("reshape_noncontiguous", g => [N(g, 3, 4)], x => x[0].T.Reshape(12), r => Ref.Permute(r[0], [1, 0]) with { Shape = [12] }),
        new("permute", g => [N(g, 2, 3, 4)], x => x[0].Permute(2, 0, 1), r => Ref.Permute(r[0], [2, 0, 1]),
            () => Tensor.Zeros(2, 3).Permute(0), ["Permute", "(2, 3)"]),
        new("transpose", g => [N(g, 2, 3, 4)], x => x[0].Transpose(0, -1), r => Ref.Permute(r[0], [2, 1, 0])),
        new("slice_step", g => [N(g, 3, 7)], x => x[0].Slice(1, 1, 7, 2), r => Ref.Slice(r[0], 1, 1, 7, 2)),
        new("narrow", g => [N(g, 4, 3)], x => x[0].Narrow(0, 1, 2), r => Ref.Slice(r[0], 0, 1, 3, 1),
            () => Tensor.Zeros(2, 3).Narrow(1, 2, 2), ["Narrow", "(2, 3)"]),
        new("squeeze_unsqueeze", g => [N(g, 3, 1, 4)], x => x[0].Squeeze(1).Unsqueeze(0), r => r[0] with { Shape = [1, 3, 4] }),
        new("expand", g => [N(g, 3, 1)], x => x[0].Expand(2, 3, 4), r => Ref.Expand(r[0], [2, 3, 4]),
            () => Tensor.Zeros(2, 3).Expand(4, 3), ["Expand", "(2, 3)", "(4, 3)"]),
        new("contiguous_of_view", g => [N(g, 3, 4)], x => x[0].T.Contiguous() * 1f, r => Ref.Permute(r[0], [1, 0])),
        new("concat", g => [N(g, 2, 3), N(g, 2, 2)], x => Tensor.Concat([x[0], x[1]], 1), r => Ref.Concat([r[0], r[1]], 1),
            () => Tensor.Concat([Tensor.Zeros(2, 3), Tensor.Zeros(3, 4)], 1), ["Concat", "(3, 4)", "(2, 3)"]),
        new("stack", g => [N(g, 2, 3), N(g, 2, 3)], x => Tensor.Stack([x[0], x[1]], 1),
            r => Ref.Permute(Ref.Concat([r[0] with { Shape = [1, 2, 3] }, r[1] with { Shape = [1, 2, 3] }], 0), [1, 0, 2]),
            () => Tensor.Stack([Tensor.Zeros(2, 3), Tensor.Zeros(3, 2)]), ["Stack", "(3, 2)", "(2, 3)"]),
        new("where", g => [N(g, 3, 4), N(g, 4)], x => Tensor.Where(Mask(1, 0, 0, 1), x[0], x[1]),
            r => Ref.Where(new Arr([1, 0, 0, 1], [4]), r[0], r[1]),
            () => Tensor.Where(Tensor.Zeros(2), Tensor.Zeros(3), Tensor.Zeros(3)), ["Where", "(2,)", "(3,)"]),
        new("gather_labels", g => [N(g, 4, 5)], x => x[0].Gather(1, new IntTensor([2, 0, 4, 4], 4, 1)),
            r => Ref.Gather(r[0], 1, [2, 0, 4, 4], [4, 1]),
            () => Tensor.Zeros(4, 5).Gather(1, new IntTensor([0, 1, 2], 3, 1)), ["Gather", "(3, 1)", "(4, 5)"]),
        new("index_select_rows", g => [N(g, 4, 3)], x => x[0].IndexSelect(0, IntTensor.FromArray([3, 0, 3, 1])),
            r => Ref.IndexSelect(r[0], 0, [3, 0, 3, 1]),
            () => Tensor.Zeros(4, 3).IndexSelect(0, new IntTensor([0, 1], 1, 2)), ["IndexSelect", "(1, 2)"]),
        new("index_select_cols", g => [N(g, 2, 5)], x => x[0].IndexSelect(1, IntTensor.FromArray([4, 4, 0])),
            r => Ref.IndexSelect(r[0], 1, [4, 4, 0])),
        new("flatten", g => [N(g, 2, 3, 4)], x => x[0].Flatten(1), r => r[0] with { Shape = [2, 12] }),
    ];

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in All) data.Add(c.Name);
        return data;
    }

    public static TheoryData<string> WithBadInput()
    {
        var data = new TheoryData<string>();
        foreach (var c in All) if (c.Bad is not null) data.Add(c.Name);
        return data;
    }

    public static OpCase Get(string name) => All.Single(c => c.Name == name);
}

public class OpCaseTests
{
    [Theory]
    [MemberData(nameof(OpCases.Names), MemberType = typeof(OpCases))]
    public void Forward_matches_reference(string name)
    {
        var c = OpCases.Get(name);
        var xs = c.Inputs(new Generator(42));
        var y = c.Op(xs);
        var expected = c.Reference(xs.Select(Arr.Of).ToArray());
        Assert.Equal(expected.Shape, y.Shape.ToArray());
        var actual = y.ToArray();
        for (int i = 0; i < actual.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected.Data[i]) <= 1e-5 + 1e-5 * Math.Abs(expected.Data[i]),
                $"{name}: element {i} is {actual[i]}, reference {expected.Data[i]}");
    }

    [Theory]
    [MemberData(nameof(OpCases.Names), MemberType = typeof(OpCases))]
    public void Gradient_matches_finite_differences(string name)
    {
        var c = OpCases.Get(name);
        var xs = c.Inputs(new Generator(7));
        var result = GradCheck.Check(c.Op, xs);
        Assert.True(result.Passed, $"{name}: {result.Message}");
    }

    [Theory]
    [MemberData(nameof(OpCases.WithBadInput), MemberType = typeof(OpCases))]
    public void Bad_input_names_the_op_and_shapes(string name)
    {
        var c = OpCases.Get(name);
        var ex = Assert.ThrowsAny<ArgumentException>(() => c.Bad!());
        foreach (var part in c.BadMessage!)
            Assert.Contains(part, ex.Message);
    }

    [Theory]
    [MemberData(nameof(OpCases.Names), MemberType = typeof(OpCases))]
    public void Same_seed_same_bits(string name)
    {
        var c = OpCases.Get(name);
        var a = c.Op(c.Inputs(new Generator(3))).ToArray();
        var b = c.Op(c.Inputs(new Generator(3))).ToArray();
        Assert.Equal(a, b);
    }
}
