using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = σ(x) = 1/(1 + e⁻ˣ). ∂y/∂x = y(1 − y), from the saved output.</summary>
internal sealed class SigmoidOp(Tensor x, Tensor y) : UnaryNode(x, y)
{
    public override string Name => "Sigmoid";

    public static Tensor Forward(Tensor x) => Run(UnaryOp.Sigmoid, x, static (x, y) => new SigmoidOp(x, y));

    protected internal override void Backward(Tensor g, Tensor?[] grads) => grads[0] = OpHelpers.Binary(BinaryOp.SigmoidGrad, g, Y, Name);
}
