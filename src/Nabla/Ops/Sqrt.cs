using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = √x. ∂y/∂x = 1/(2y).</summary>
internal sealed class SqrtOp(Tensor x, Tensor y) : UnaryNode(x, y)
{
    public override string Name => "Sqrt";

    public static Tensor Forward(Tensor x) => Run(UnaryOp.Sqrt, x, static (x, y) => new SqrtOp(x, y));

    protected internal override void Backward(Tensor g, Tensor?[] grads) => grads[0] = g / (Y * 2f);
}
