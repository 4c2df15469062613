using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>
/// y = x·Wᵀ + b for x (…, in), W (out, in), b (out): one GEMM into the output and the bias added in place, one node
/// instead of transpose, matmul and broadcast add. ∂L/∂x = g·W, ∂L/∂W = gᵀ·x (over every leading position, computed
/// in W's own layout), ∂L/∂b = Σ g over the leading positions. Same values as the composed ops. With a ReLU fused
/// (y = max(x·Wᵀ + b, 0), applied in place to the output) the incoming gradient is first masked where y &gt; 0, as
/// ReLU's own backward does; the bits are those of Linear followed by ReLU.
/// </summary>
internal sealed class LinearOp : Node
{
    private Tensor? _reluOutput;   // the output, for the ReLU mask (null: no ReLU fused)

    private LinearOp(Tensor x, Tensor w, Tensor? reluOutput) : base(x, w) => _reluOutput = reluOutput;
    private LinearOp(Tensor x, Tensor w, Tensor b, Tensor? reluOutput) : base(x, w, b) => _reluOutput = reluOutput;

    public override string Name => _reluOutput is null ? "Linear" : "LinearRelu";

    // Every gradient is a new tensor of this node's own (Engine keeps it as a leaf's Grad without a copy).
    protected internal override bool GradientsAreFresh => true;

    /// <summary>Whether <see cref="Forward"/> can take these operands (contiguous x, 2-D W, 1-D b; any backend: it calls only IBackend); else compose.</summary>
    public static bool Applies(Tensor x, Tensor w, Tensor? b) =>
        x.IsContiguous && x.Rank >= 1 && w.Rank == 2 && (b is null || (b.Rank == 1 && b.shape[0] == w.shape[0]));

    public static Tensor Forward(Tensor x, Tensor w, Tensor? b, bool relu = false)
    {
        int inF = w.shape[1], outF = w.shape[0], m = Rows(x);
        int[] yShape = [.. x.shape[..^1], outF];
        var y = Tensor.Uninitialized(x.Backend, yShape);
        var x2 = x.View([m, inF], [inF, 1], x.offset);
        var y2 = y.View([m, outF], [outF, 1], 0);
        var wT = w.View([inF, outF], [w.strides[1], w.strides[0]], w.offset);
        x.Backend.MatMul(x2, wT, y2, accumulate: false);
        if (b is not null) x.Backend.Binary(BinaryOp.Add, y2, b.View([1, outF], [0, b.strides[0]], b.offset), y2);
        if (relu) x.Backend.Unary(UnaryOp.Relu, y2, y2);
        if (GradMode.ShouldRecord(x, w) || (b is not null && GradMode.ShouldRecord(b)))
            y.gradFn = b is null ? new LinearOp(x, w, relu ? y : null) : new LinearOp(x, w, b, relu ? y : null);
        return y;
    }

    // Leading positions of x: the product of all but its last dim.
    private static int Rows(Tensor x)
    {
        int m = 1;
        for (int d = 0; d < x.Rank - 1; d++) m *= x.shape[d];
        return m;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var w = Inputs[1];
        int inF = w.shape[1], outF = w.shape[0], m = Rows(x);
        if (_reluOutput is not null) g = OpHelpers.Binary(BinaryOp.ReluGrad, g, _reluOutput, Name);
        var g2 = g.Contiguous().Reshape(m, outF);
        if (NeedsGrad(0)) grads[0] = g2.MatMul(w).Reshape(x.shape);
        if (NeedsGrad(1)) grads[1] = g2.Transpose(0, 1).MatMul(x.Reshape(m, inF));
        if (Inputs.Count > 2 && NeedsGrad(2)) grads[2] = g2.Sum(0);
    }

    protected override void ReleaseSaved() => _reluOutput = null;
}
