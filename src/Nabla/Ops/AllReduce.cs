using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>
/// y = Σ_ranks x: the sum over the processes of a data-parallel job (the forward reduction, weight 1). Backward: every
/// rank's objective term depends on every rank's x through y, so the gradient is the upstream gradients summed over
/// ranks as the data-parallel update weights them, g′ᵣ = Σ_q w_q g_q / wᵣ (the backward reduction scales by its
/// weight wᵣ, sums and divides by it; 0 where wᵣ = 0): after the trainer scales rank r's parameter gradients by wᵣ
/// and sums them, each has Σ_q w_q ∂L_q/∂θ, the gradient of the weighted whole. Used by synchronised BatchNorm.
/// </summary>
internal sealed class AllReduceOp(Tensor x, IReduction backward) : Node(x)
{
    public override string Name => "AllReduce";

    public static Tensor Forward(Tensor x, IReduction forward, IReduction backward)
    {
        var y = Tensor.Empty(x.Backend, [.. x.shape]);
        x.Backend.Copy(x, y);
        y.Backend.AllReduce([y], forward);
        if (GradMode.ShouldRecord(x)) y.gradFn = new AllReduceOp(x, backward);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var gx = Tensor.Empty(g.Backend, [.. g.shape]);
        g.Backend.Copy(g, gx);
        gx.Backend.AllReduce([gx], backward);
        grads[0] = gx;
    }
}
