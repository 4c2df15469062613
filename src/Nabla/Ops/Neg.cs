using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = −x. ∂y/∂x = −1.</summary>
internal sealed class NegOp(Tensor x, Tensor y) : Node(x)
{
    private Tensor? _y = y;

    public override string Name => "Neg";

    public static Tensor Forward(Tensor x)
    {
        var y = OpHelpers.Unary(UnaryOp.Neg, x, 0, 0);
        if (GradMode.ShouldRecord(x)) y.gradFn = new NegOp(x, y);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var y = _y!;
        grads[0] = OpHelpers.Unary(UnaryOp.Neg, g);
    }

    protected override void ReleaseSaved() => _y = null;
}
