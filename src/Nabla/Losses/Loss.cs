namespace Nabla;

/// <summary>How a loss combines per-element values (PyTorch's <c>reduction</c>).</summary>
public enum Reduction
{
    /// <summary>The mean (the weighted mean for class-index cross-entropy and NLL with weights).</summary>
    Mean,
    /// <summary>The sum.</summary>
    Sum,
    /// <summary>No reduction: one value per element (or per sample for cross-entropy/NLL).</summary>
    None,
}

/// <summary>
/// Base of the loss modules (<c>torch.nn.*Loss</c>): <c>loss.Forward(input, target)</c> with float targets, or
/// with an <see cref="IntTensor"/> of class indices for the classification losses.
/// </summary>
public abstract class Loss(Reduction reduction)
{
    /// <summary>How per-element values are combined.</summary>
    public Reduction Reduction { get; } = reduction;

    /// <summary>The loss for float targets.</summary>
    /// <exception cref="ArgumentException">this loss takes class indices, or the shapes disagree.</exception>
    public virtual Tensor Forward(Tensor input, Tensor target) =>
        throw new ArgumentException($"{GetType().Name} takes class-index targets (an IntTensor), not float targets.", nameof(target));

    /// <summary>The loss for class-index targets.</summary>
    /// <exception cref="ArgumentException">this loss takes float targets, or the shapes disagree.</exception>
    public virtual Tensor Forward(Tensor input, IntTensor target) =>
        throw new ArgumentException($"{GetType().Name} takes float targets (a Tensor), not class indices.", nameof(target));

    /// <inheritdoc/>
    public override string ToString() => $"{GetType().Name}(reduction={Reduction.ToString().ToLowerInvariant()})";
}
