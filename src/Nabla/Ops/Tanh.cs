using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = tanh x. ∂y/∂x = 1 − y², from the saved output.</summary>
internal sealed class TanhOp(Tensor x, Tensor y) : UnaryNode(x, y)
{
    public override string Name => "Tanh";

    public static Tensor Forward(Tensor x) => Run(UnaryOp.Tanh, x, static (x, y) => new TanhOp(x, y));

    protected internal override void Backward(Tensor g, Tensor?[] grads) => grads[0] = OpHelpers.Binary(BinaryOp.TanhGrad, g, Y, Name);
}
