using Nabla.Ops;

namespace Nabla;

// Activation functions beyond the core primitives: GELU and softplus are fused primitives (their naive
// compositions lose accuracy in the tails); the rest are composed.
public sealed partial class Tensor
{
    /// <summary>x if x &gt; 0 else slope·x (torch.nn.functional.leaky_relu; gradient at 0 is slope, as PyTorch).</summary>
    public Tensor LeakyRelu(float negativeSlope = 0.01f) => Where(Gt(0f), this, this * negativeSlope);

    /// <summary>x if x &gt; 0 else α(eˣ − 1) (ELU). The exponent is clamped at 0 so the unused branch never overflows.</summary>
    public Tensor Elu(float alpha = 1f) => Where(Gt(0f), this, (Minimum(this, Scalar(0f)).Exp() - 1f) * alpha);

    /// <summary>GELU: x·Φ(x) exactly, or with <paramref name="tanhApproximation"/> the tanh form.</summary>
    public Tensor Gelu(bool tanhApproximation = false) => GeluOp.Forward(this, tanhApproximation);

    /// <summary>SiLU (swish): x·σ(x).</summary>
    public Tensor Silu() => this * Sigmoid();

    /// <summary>Softplus: ln(1 + e^(βx))/β, linear past βx &gt; threshold.</summary>
    public Tensor Softplus(float beta = 1f, float threshold = 20f) => SoftplusOp.Forward(this, beta, threshold);
}
