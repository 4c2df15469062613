using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = a + b (broadcast). ∂y/∂a = 1, ∂y/∂b = 1, summed over broadcast dims.</summary>
internal sealed class AddOp(Tensor a, Tensor b) : Node(a, b)
{
    public override string Name => "Add";

    public static Tensor Forward(Tensor a, Tensor b)
    {
        var y = OpHelpers.Binary(BinaryOp.Add, a, b, "Add");
        if (GradMode.ShouldRecord(a, b)) y.gradFn = new AddOp(a, b);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        if (NeedsGrad(0)) grads[0] = OpHelpers.SumToShape(g, Inputs[0].shape);
        if (NeedsGrad(1)) grads[1] = OpHelpers.SumToShape(g, Inputs[1].shape);
    }
}
