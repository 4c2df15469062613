using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>
/// y = ln(1 + e^(βx))/β, reverting to y = x where βx &gt; threshold (torch.nn.Softplus, β = 1, threshold = 20 by
/// default). ∂y/∂x = σ(βx), or 1 past the threshold.
/// </summary>
internal sealed class SoftplusOp(Tensor x, Tensor y, float beta, float threshold) : UnaryNode(x, y)
{
    public override string Name => "Softplus";

    public static Tensor Forward(Tensor x, float beta, float threshold)
    {
        if (!(beta != 0) || float.IsNaN(beta)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "Softplus: beta must be non-zero.");
        return Run(UnaryOp.Softplus, x, beta, threshold, (x, y) => new SoftplusOp(x, y, beta, threshold));
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads) =>
        grads[0] = OpHelpers.Binary(BinaryOp.SoftplusGrad, g, X, Name, beta, threshold);
}
