using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = min(max(x, lo), hi). ∂y/∂x = 1 where lo ≤ x ≤ hi, else 0 (PyTorch passes the gradient at the bounds).</summary>
internal sealed class ClampOp(Tensor x, Tensor y, float lo, float hi) : UnaryNode(x, y)
{
    public override string Name => "Clamp";

    public static Tensor Forward(Tensor x, float lo, float hi) => Run(UnaryOp.Clamp, x, lo, hi, (x, y) => new ClampOp(x, y, lo, hi));

    protected internal override void Backward(Tensor g, Tensor?[] grads) => grads[0] = OpHelpers.Binary(BinaryOp.ClampGrad, g, X, Name, lo, hi);
}
