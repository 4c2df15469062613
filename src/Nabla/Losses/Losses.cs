namespace Nabla;

/// <summary>Mean squared error ℓ = (x − y)² (torch.nn.MSELoss).</summary>
public sealed class MSELoss(Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Functional.MseLoss(input, target, Reduction);
}

/// <summary>Mean absolute error ℓ = |x − y| (torch.nn.L1Loss).</summary>
public sealed class L1Loss(Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Functional.L1Loss(input, target, Reduction);
}

/// <summary>Huber loss: quadratic within δ, linear beyond (torch.nn.HuberLoss, δ = 1 by default).</summary>
public sealed class HuberLoss(float delta = 1f, Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <summary>δ, where the loss turns from quadratic to linear.</summary>
    public float Delta { get; } = delta > 0 ? delta : throw new ArgumentOutOfRangeException(nameof(delta), delta, "HuberLoss: delta must be positive.");

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Functional.HuberLoss(input, target, Delta, Reduction);
}

/// <summary>
/// Cross-entropy of logits (torch.nn.CrossEntropyLoss): class-index targets (an <see cref="IntTensor"/>) or class
/// probabilities (a <see cref="Tensor"/>), optional class weights, label smoothing and an ignored index.
/// Fused log-softmax + NLL, stable for any logits.
/// </summary>
public sealed class CrossEntropyLoss(Tensor? weight = null, int ignoreIndex = -100, float labelSmoothing = 0f, Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <summary>Per-class weights (C), or null.</summary>
    public Tensor? Weight { get; } = weight;

    /// <summary>Targets with this value are skipped (class-index targets only).</summary>
    public int IgnoreIndex { get; } = ignoreIndex;

    /// <summary>ε: the target becomes (1 − ε)·target + ε/C.</summary>
    public float LabelSmoothing { get; } = labelSmoothing;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, IntTensor target) =>
        Functional.CrossEntropy(input, target, Weight, IgnoreIndex, LabelSmoothing, Reduction);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) =>
        Functional.CrossEntropy(input, target, Weight, LabelSmoothing, Reduction);
}

/// <summary>Negative log-likelihood of class indices over log-probabilities (torch.nn.NLLLoss).</summary>
public sealed class NLLLoss(Tensor? weight = null, int ignoreIndex = -100, Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <summary>Per-class weights (C), or null.</summary>
    public Tensor? Weight { get; } = weight;

    /// <summary>Targets with this value are skipped.</summary>
    public int IgnoreIndex { get; } = ignoreIndex;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, IntTensor target) => Functional.NllLoss(input, target, Weight, IgnoreIndex, Reduction);
}

/// <summary>Binary cross-entropy on probabilities (torch.nn.BCELoss); logs clamped at −100.</summary>
public sealed class BCELoss(Tensor? weight = null, Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <summary>Element weights broadcast to the input, or null.</summary>
    public Tensor? Weight { get; } = weight;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => Functional.BinaryCrossEntropy(input, target, Weight, Reduction);
}

/// <summary>Binary cross-entropy on logits, stable for any |x| (torch.nn.BCEWithLogitsLoss).</summary>
public sealed class BCEWithLogitsLoss(Tensor? weight = null, Tensor? posWeight = null, Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <summary>Element weights broadcast to the input, or null.</summary>
    public Tensor? Weight { get; } = weight;

    /// <summary>Weight of positive examples per class (broadcast over the last dim), or null.</summary>
    public Tensor? PosWeight { get; } = posWeight;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) =>
        Functional.BinaryCrossEntropyWithLogits(input, target, Weight, PosWeight, Reduction);
}
