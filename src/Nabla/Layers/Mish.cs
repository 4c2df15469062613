namespace Nabla;

/// <summary>
/// Mish (Misra, 2019; torch.nn.Mish): y = x·tanh(softplus(x)), smooth and non-monotonic like SiLU. Composed from the
/// softplus, tanh and multiply ops, so its gradient, its capture and its kernels are theirs.
/// </summary>
public sealed class Mish : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return input * input.Softplus().Tanh();
    }
}
