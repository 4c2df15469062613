using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = c·x for a scalar c. ∂y/∂x = c.</summary>
internal sealed class MulScalarOp(Tensor x, Tensor y, float c) : UnaryNode(x, y)
{
    public override string Name => "MulScalar";

    public static Tensor Forward(Tensor x, float c) => Run(UnaryOp.MulScalar, x, c, 0, (x, y) => new MulScalarOp(x, y, c));

    protected internal override void Backward(Tensor g, Tensor?[] grads) => grads[0] = OpHelpers.Unary(UnaryOp.MulScalar, g, c);
}
