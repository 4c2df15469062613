using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = eˣ. ∂y/∂x = y.</summary>
internal sealed class ExpOp(Tensor x, Tensor y) : Node(x)
{
    private Tensor? _y = y;

    public override string Name => "Exp";

    public static Tensor Forward(Tensor x)
    {
        var y = OpHelpers.Unary(UnaryOp.Exp, x, 0, 0);
        if (GradMode.ShouldRecord(x)) y.gradFn = new ExpOp(x, y);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var y = _y!;
        grads[0] = g * y;
    }

    protected override void ReleaseSaved() => _y = null;
}
