using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = a / b elementwise (broadcast). ∂y/∂a = 1/b, ∂y/∂b = −a/b².</summary>
internal sealed class DivOp(Tensor a, Tensor b) : Node(a, b)
{
    public override string Name => "Div";

    public static Tensor Forward(Tensor a, Tensor b)
    {
        var y = OpHelpers.Binary(BinaryOp.Div, a, b, "Div");
        if (GradMode.ShouldRecord(a, b)) y.gradFn = new DivOp(a, b);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var a = Inputs[0];
        var b = Inputs[1];
        var ga = g / b;
        if (NeedsGrad(0)) grads[0] = OpHelpers.SumToShape(ga, a.shape);
        if (NeedsGrad(1)) grads[1] = OpHelpers.SumToShape(-(ga * a / b), b.shape);
    }
}
