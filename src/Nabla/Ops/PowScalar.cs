using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = xᵖ for a scalar exponent p. ∂y/∂x = p·xᵖ⁻¹.</summary>
internal sealed class PowScalarOp(Tensor x, Tensor y, float p) : UnaryNode(x, y)
{
    public override string Name => "PowScalar";

    public static Tensor Forward(Tensor x, float p) => Run(UnaryOp.Pow, x, p, 0, (x, y) => new PowScalarOp(x, y, p));

    protected internal override void Backward(Tensor g, Tensor?[] grads) => grads[0] = p == 0 ? Tensor.ZerosLike(X) : g * OpHelpers.Unary(UnaryOp.Pow, X, p - 1) * p;
}
