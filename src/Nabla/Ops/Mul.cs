using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = a · b elementwise (broadcast). ∂y/∂a = b, ∂y/∂b = a.</summary>
internal sealed class MulOp(Tensor a, Tensor b) : Node(a, b)
{
    public override string Name => "Mul";

    public static Tensor Forward(Tensor a, Tensor b)
    {
        var y = OpHelpers.Binary(BinaryOp.Mul, a, b, "Mul");
        if (GradMode.ShouldRecord(a, b)) y.gradFn = new MulOp(a, b);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var a = Inputs[0];
        var b = Inputs[1];
        if (NeedsGrad(0)) grads[0] = OpHelpers.SumToShape(g * b, a.shape);
        if (NeedsGrad(1)) grads[1] = OpHelpers.SumToShape(g * a, b.shape);
    }
}
