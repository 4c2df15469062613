using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = |x|. ∂y/∂x = sign(x), 0 at 0 (as PyTorch).</summary>
internal sealed class AbsOp(Tensor x, Tensor y) : UnaryNode(x, y)
{
    public override string Name => "Abs";

    public static Tensor Forward(Tensor x) => Run(UnaryOp.Abs, x, static (x, y) => new AbsOp(x, y));

    protected internal override void Backward(Tensor g, Tensor?[] grads) => grads[0] = g * OpHelpers.Unary(UnaryOp.Sign, X);
}
