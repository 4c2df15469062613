using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = −x. ∂y/∂x = −1.</summary>
internal sealed class NegOp(Tensor x, Tensor y) : UnaryNode(x, y)
{
    public override string Name => "Neg";

    public static Tensor Forward(Tensor x) => Run(UnaryOp.Neg, x, static (x, y) => new NegOp(x, y));

    protected internal override void Backward(Tensor g, Tensor?[] grads) => grads[0] = OpHelpers.Unary(UnaryOp.Neg, g);
}
