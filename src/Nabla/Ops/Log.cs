using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = ln x. ∂y/∂x = 1/x.</summary>
internal sealed class LogOp(Tensor x, Tensor y) : Node(x)
{
    private Tensor? _y = y;

    public override string Name => "Log";

    public static Tensor Forward(Tensor x)
    {
        var y = OpHelpers.Unary(UnaryOp.Log, x, 0, 0);
        if (GradMode.ShouldRecord(x)) y.gradFn = new LogOp(x, y);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var y = _y!;
        grads[0] = g / x;
    }

    protected override void ReleaseSaved() => _y = null;
}
