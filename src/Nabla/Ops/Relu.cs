using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = max(x, 0). ∂y/∂x = 1 where y &gt; 0, else 0 (0 at x = 0, as PyTorch).</summary>
internal sealed class ReluOp(Tensor x, Tensor y) : UnaryNode(x, y)
{
    public override string Name => "Relu";

    public static Tensor Forward(Tensor x) => Run(UnaryOp.Relu, x, static (x, y) => new ReluOp(x, y));

    protected internal override void Backward(Tensor g, Tensor?[] grads) => grads[0] = OpHelpers.Binary(BinaryOp.ReluGrad, g, Y, Name);
}
