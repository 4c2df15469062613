using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>
/// y = max(a, b) elementwise (broadcast, NaN propagating). The gradient goes to the larger input; on a tie
/// each gets half, as in PyTorch.
/// </summary>
internal sealed class MaximumOp(Tensor a, Tensor b, bool minimum) : Node(a, b)
{
    public override string Name => minimum ? "Minimum" : "Maximum";

    public static Tensor Forward(Tensor a, Tensor b, bool minimum)
    {
        var y = OpHelpers.Binary(minimum ? BinaryOp.Minimum : BinaryOp.Maximum, a, b, minimum ? "Minimum" : "Maximum");
        if (GradMode.ShouldRecord(a, b)) y.gradFn = new MaximumOp(a, b, minimum);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var a = Inputs[0];
        var b = Inputs[1];
        // Share of the gradient that goes to a: 1 where a wins, ½ on ties, 0 where b wins.
        var wins = minimum ? OpHelpers.Binary(BinaryOp.Greater, b, a, Name) : OpHelpers.Binary(BinaryOp.Greater, a, b, Name);
        var share = wins + OpHelpers.Binary(BinaryOp.Equal, a, b, Name) * 0.5f;
        if (NeedsGrad(0)) grads[0] = OpHelpers.SumToShape(g * share, a.shape);
        if (NeedsGrad(1)) grads[1] = OpHelpers.SumToShape(g * (1f - share), b.shape);
    }
}
