using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = eˣ. ∂y/∂x = y.</summary>
internal sealed class ExpOp(Tensor x, Tensor y) : UnaryNode(x, y)
{
    public override string Name => "Exp";

    public static Tensor Forward(Tensor x) => Run(UnaryOp.Exp, x, static (x, y) => new ExpOp(x, y));

    protected internal override void Backward(Tensor g, Tensor?[] grads) => grads[0] = g * Y;
}
