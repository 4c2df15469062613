using Nabla.Autograd;
using Nabla.Ops;

namespace Nabla;

// Loss functions, as torch.nn.functional. Composed from primitives except the fused cross-entropy.
public static partial class Functional
{
    private static Tensor Reduce(Tensor perElement, Reduction reduction) => reduction switch
    {
        Reduction.Mean => perElement.Mean(),
        Reduction.Sum => perElement.Sum(),
        _ => perElement,
    };

    private static void SameShape(string loss, Tensor input, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (!Shapes.Equal(input.shape, target.shape))
            throw new ArgumentException(
                $"{loss}: input {Shapes.Format(input.shape)} and target {Shapes.Format(target.shape)} must have the same shape.", nameof(target));
    }

    /// <summary>Mean squared error: ℓ = (x − y)², reduced.</summary>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        SameShape("MSELoss", input, target);
        return Reduce((input - target).Square(), reduction);
    }

    /// <summary>Mean absolute error: ℓ = |x − y|, reduced.</summary>
    public static Tensor L1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        SameShape("L1Loss", input, target);
        return Reduce((input - target).Abs(), reduction);
    }

    /// <summary>Huber: ℓ = ½d² where |d| &lt; δ, else δ(|d| − ½δ), d = x − y (default δ = 1).</summary>
    public static Tensor HuberLoss(Tensor input, Tensor target, float delta = 1f, Reduction reduction = Reduction.Mean)
    {
        SameShape("HuberLoss", input, target);
        if (!(delta > 0)) throw new ArgumentOutOfRangeException(nameof(delta), delta, "HuberLoss: delta must be positive.");
        var d = input - target;
        var abs = d.Abs();
        return Reduce(Tensor.Where(abs.Lt(delta), d.Square() * 0.5f, (abs - 0.5f * delta) * delta), reduction);
    }

    /// <summary>
    /// Binary cross-entropy on probabilities: ℓ = −w[y·ln x + (1 − y)·ln(1 − x)], each log clamped at −100 as
    /// PyTorch does. <paramref name="weight"/> broadcasts to the input. Mean divides by the element count.
    /// </summary>
    public static Tensor BinaryCrossEntropy(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean)
    {
        SameShape("BCELoss", input, target);
        var l = -(target * input.Log().Clamp(min: -100f) + (1f - target) * (1f - input).Log().Clamp(min: -100f));
        if (weight is not null) l = l * weight;
        return Reduce(l, reduction);
    }

    /// <summary>
    /// Binary cross-entropy on logits, stable for any |x|: ℓ = w[(1 − y)·x + (1 + (p − 1)y)·softplus(−x)],
    /// p the per-class <paramref name="posWeight"/> (default 1). Mean divides by the element count.
    /// </summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor? weight = null, Tensor? posWeight = null, Reduction reduction = Reduction.Mean)
    {
        SameShape("BCEWithLogitsLoss", input, target);
        var softplusNeg = (-input).Softplus();
        var logWeight = posWeight is null ? null : 1f + (posWeight - 1f) * target;
        var l = (1f - target) * input + (logWeight is null ? softplusNeg : logWeight * softplusNeg);
        if (weight is not null) l = l * weight;
        return Reduce(l, reduction);
    }

    /// <summary>
    /// Negative log-likelihood of class indices: ℓᵢ = −w[yᵢ]·xᵢ,yᵢ for log-probabilities x (N, C) or (N, C, d…)
    /// and targets (N) or (N, d…). Targets equal to <paramref name="ignoreIndex"/> contribute nothing; the mean
    /// divides by Σ w[yᵢ] over the others (PyTorch's weighted mean).
    /// </summary>
    public static Tensor NllLoss(Tensor input, IntTensor target, Tensor? weight = null, int ignoreIndex = -100, Reduction reduction = Reduction.Mean)
    {
        var (x, t, outShape) = FlattenClasses("NLLLoss", input, target);
        int m = t.Numel, classes = x.shape[1];
        CheckClassWeights("NLLLoss", weight, classes);
        // The per-row weights, safe indices and Σ w[yᵢ] come from a launch that reads the targets when it runs.
        var weights = Tensor.Uninitialized(x.Backend, [m, 1]);
        var safe = new IntTensor(new int[m], m, 1);
        var denominator = Tensor.Uninitialized(x.Backend, []);
        x.Backend.ClassTargets(t, classes, weight, ignoreIndex, 0f, null, weights, safe, denominator, "NLLLoss");
        var perSample = -(x.Gather(1, safe) * weights).Reshape(outShape);
        return reduction switch
        {
            Reduction.Mean => perSample.Sum() / denominator,
            Reduction.Sum => perSample.Sum(),
            _ => perSample,
        };
    }

    /// <summary>
    /// Cross-entropy of logits against class indices (fused log-softmax + NLL, stable for any logits):
    /// ℓᵢ = (1 − ε)·w[yᵢ]·(−log pᵢ,yᵢ) + (ε/C)·Σ_c w[c]·(−log pᵢ,c), ε the label smoothing. Logits (N, C) or
    /// (N, C, d…), targets (N) or (N, d…). Ignored targets contribute nothing; the mean divides by Σ w[yᵢ] over
    /// the others, as PyTorch.
    /// </summary>
    public static Tensor CrossEntropy(Tensor input, IntTensor target, Tensor? weight = null, int ignoreIndex = -100, float labelSmoothing = 0f, Reduction reduction = Reduction.Mean)
    {
        CheckSmoothing(labelSmoothing);
        var (x, t, outShape) = FlattenClasses("CrossEntropyLoss", input, target);
        int m = t.Numel, classes = x.shape[1];
        CheckClassWeights("CrossEntropyLoss", weight, classes);
        // Q = class weight ⊙ smoothed one-hot rows and the denominator Σ w[yᵢ], from a launch that reads the targets when it runs.
        var q = Tensor.Uninitialized(x.Backend, [m, classes]);
        var denominator = Tensor.Uninitialized(x.Backend, []);
        x.Backend.ClassTargets(t, classes, weight, ignoreIndex, labelSmoothing, q, null, null, denominator, "CrossEntropyLoss");
        var perSample = CrossEntropyOp.Forward(x, q).Reshape(outShape);
        return reduction switch
        {
            Reduction.Mean => perSample.Sum() / denominator,
            Reduction.Sum => perSample.Sum(),
            _ => perSample,
        };
    }

    /// <summary>
    /// Cross-entropy of logits against class probabilities (soft labels, e.g. MixUp): the target is smoothed to
    /// y′ = (1 − ε)y + ε/C, then ℓᵢ = −Σ_c w[c]·y′ᵢ,c·log pᵢ,c. The mean divides by the number of samples.
    /// </summary>
    public static Tensor CrossEntropy(Tensor input, Tensor target, Tensor? weight = null, float labelSmoothing = 0f, Reduction reduction = Reduction.Mean)
    {
        CheckSmoothing(labelSmoothing);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        SameShape("CrossEntropyLoss", input, target);
        if (input.Rank < 2)
            throw new ArgumentException($"CrossEntropyLoss: input {Shapes.Format(input.shape)} must be (N, C) or (N, C, d…).", nameof(input));
        var x = MoveClassesLast(input);
        var y = MoveClassesLast(target).Detach();
        int classes = input.shape[1];
        CheckClassWeights("CrossEntropyLoss", weight, classes);
        Tensor q;
        using (GradMode.NoGrad())
        {
            q = labelSmoothing == 0 ? y : y * (1f - labelSmoothing) + labelSmoothing / classes;
            if (weight is not null) q = q * weight.Detach();
            q = q.Contiguous();
        }
        var perSample = CrossEntropyOp.Forward(x, q).Reshape(SampleShape(input));
        return Reduce(perSample, reduction);
    }

    private static void CheckSmoothing(float labelSmoothing)
    {
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "CrossEntropyLoss: label_smoothing must be in [0, 1].");
    }

    private static void CheckClassWeights(string loss, Tensor? weight, int classes)
    {
        if (weight is not null && (weight.Rank != 1 || weight.shape[0] != classes))
            throw new ArgumentException($"{loss}: weight {Shapes.Format(weight.shape)} must have one value per class ({classes},).", nameof(weight));
    }

    private static int[] SampleShape(Tensor input)
    {
        var s = input.shape.ToList();
        s.RemoveAt(1);
        return s.ToArray();
    }

    // (N, C, d…) → (N·d…, C) so every op works on rows of classes.
    private static Tensor MoveClassesLast(Tensor t)
    {
        if (t.Rank == 2) return t;
        var perm = new List<int> { 0 };
        for (int d = 2; d < t.Rank; d++) perm.Add(d);
        perm.Add(1);
        return t.Permute(perm.ToArray()).Reshape(-1, t.shape[1]);
    }

    private static (Tensor X, IntTensor Targets, int[] OutShape) FlattenClasses(string loss, Tensor input, IntTensor target)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (input.Rank < 2)
            throw new ArgumentException($"{loss}: input {Shapes.Format(input.shape)} must be (N, C) or (N, C, d…).", nameof(input));
        var expected = SampleShape(input);
        if (!Shapes.Equal(target.ShapeArray, expected))
            throw new ArgumentException(
                $"{loss}: target {Shapes.Format(target.ShapeArray)} must be {Shapes.Format(expected)} for input {Shapes.Format(input.shape)} (one class index per sample).", nameof(target));
        return (MoveClassesLast(input), target, expected);
    }
}
