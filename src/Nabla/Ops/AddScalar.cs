using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = x + c for a scalar c. ∂y/∂x = 1.</summary>
internal sealed class AddScalarOp(Tensor x, Tensor y) : Node(x)
{
    private Tensor? _y = y;

    public override string Name => "AddScalar";

    public static Tensor Forward(Tensor x, float c)
    {
        var y = OpHelpers.Unary(UnaryOp.AddScalar, x, c, 0);
        if (GradMode.ShouldRecord(x)) y.gradFn = new AddScalarOp(x, y);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var y = _y!;
        grads[0] = g;
    }

    protected override void ReleaseSaved() => _y = null;
}
