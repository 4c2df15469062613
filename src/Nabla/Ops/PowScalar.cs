using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = xᵖ for a scalar exponent p. ∂y/∂x = p·xᵖ⁻¹.</summary>
internal sealed class PowScalarOp(Tensor x, Tensor y, float p) : Node(x)
{
    private Tensor? _y = y;

    public override string Name => "PowScalar";

    public static Tensor Forward(Tensor x, float exponent)
    {
        var y = OpHelpers.Unary(UnaryOp.Pow, x, exponent, 0);
        if (GradMode.ShouldRecord(x)) y.gradFn = new PowScalarOp(x, y, exponent);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var y = _y!;
        grads[0] = p == 0 ? Tensor.ZerosLike(x) : g * OpHelpers.Unary(UnaryOp.Pow, x, p - 1) * p;
    }

    protected override void ReleaseSaved() => _y = null;
}
