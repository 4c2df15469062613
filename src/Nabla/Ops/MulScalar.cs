using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = c·x for a scalar c. ∂y/∂x = c.</summary>
internal sealed class MulScalarOp(Tensor x, Tensor y, float c) : Node(x)
{
    private Tensor? _y = y;
    private readonly float _c = c;

    public override string Name => "MulScalar";

    public static Tensor Forward(Tensor x, float c)
    {
        var y = OpHelpers.Unary(UnaryOp.MulScalar, x, c, 0);
        if (GradMode.ShouldRecord(x)) y.gradFn = new MulScalarOp(x, y, c);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var y = _y!;
        grads[0] = OpHelpers.Unary(UnaryOp.MulScalar, g, _c);
    }

    protected override void ReleaseSaved() => _y = null;
}
