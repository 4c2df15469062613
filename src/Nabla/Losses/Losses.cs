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

/// <summary>What the loss registry's factories take: PyTorch's keyword arguments, each optional.</summary>
public sealed record LossArguments(Reduction Reduction = Reduction.Mean, Tensor? Weight = null, Tensor? PosWeight = null, int IgnoreIndex = -100,
    float LabelSmoothing = 0f, float Delta = 1f);

/// <summary>The kind of target a loss compares its input with.</summary>
public enum LossTarget
{
    /// <summary>Class indices (an <see cref="IntTensor"/>) — or class probabilities, which cross-entropy also takes.</summary>
    Classes,
    /// <summary>Class log-probabilities in, class indices as targets (NLL).</summary>
    LogProbabilities,
    /// <summary>Probabilities in [0, 1] in and as targets (BCE).</summary>
    Probabilities,
    /// <summary>Logits in, probabilities as targets (BCE with logits).</summary>
    LogitsVsProbabilities,
    /// <summary>Real values (regression).</summary>
    Values,
}

/// <summary>One loss known by name: its PyTorch class (fixtures are found by it), its formula, the targets it takes and the factory.</summary>
public sealed record LossInfo(string Name, string TorchName, string Formula, LossTarget Target, Func<LossArguments, Loss> Factory)
{
    /// <summary>The loss with these arguments (PyTorch's defaults when null).</summary>
    public Loss Create(LossArguments? arguments = null) => Factory(arguments ?? new LossArguments());
}

/// <summary>The loss registry: every loss by name. The PyTorch fixture cases and the capture test enumerate it.</summary>
public static class Losses
{
    /// <summary>Every loss.</summary>
    public static IReadOnlyList<LossInfo> Registry { get; } =
    [
        new("cross_entropy", "CrossEntropyLoss", "−Σ w_c·y′_c·log softmax(x)_c", LossTarget.Classes,
            a => new CrossEntropyLoss(a.Weight, a.IgnoreIndex, a.LabelSmoothing, a.Reduction)),
        new("nll", "NLLLoss", "−w_y·x_y", LossTarget.LogProbabilities, a => new NLLLoss(a.Weight, a.IgnoreIndex, a.Reduction)),
        new("mse", "MSELoss", "(x − y)²", LossTarget.Values, a => new MSELoss(a.Reduction)),
        new("l1", "L1Loss", "|x − y|", LossTarget.Values, a => new L1Loss(a.Reduction)),
        new("huber", "HuberLoss", "½d² if |d| < δ else δ(|d| − ½δ)", LossTarget.Values, a => new HuberLoss(a.Delta, a.Reduction)),
        new("bce", "BCELoss", "−w[y·ln x + (1 − y)·ln(1 − x)]", LossTarget.Probabilities, a => new BCELoss(a.Weight, a.Reduction)),
        new("bce_logits", "BCEWithLogitsLoss", "w[(1 − y)x + (1 + (p − 1)y)·softplus(−x)]", LossTarget.LogitsVsProbabilities,
            a => new BCEWithLogitsLoss(a.Weight, a.PosWeight, a.Reduction)),
    ];

    /// <summary>The registry's names, in order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Registry.Select(l => l.Name)];

    /// <summary>The entry for a name or PyTorch class name, or null.</summary>
    public static LossInfo? Find(string name) => Registry.FirstOrDefault(l => l.Name == name || l.TorchName == name);
}
