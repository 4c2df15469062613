using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>
/// Fused, stable per-row cross-entropy against weighted target distributions: for logits z (M, C) and
/// Q (M, C) = class weight ⊙ target distribution, ℓᵢ = −Σ_c Q_ic·log softmax(zᵢ)_c, with log-softmax from the
/// max-subtracted kernel. ∂ℓᵢ/∂zᵢ = softmax(zᵢ)·Σ_c Q_ic − Qᵢ, computed directly instead of back through
/// log-softmax. Q is a constant (targets get no gradient).
/// </summary>
internal sealed class CrossEntropyOp(Tensor logits, Tensor q, Tensor logProbs) : Node(logits)
{
    private Tensor? _q = q;
    private Tensor? _logProbs = logProbs;

    public override string Name => "CrossEntropy";

    public static Tensor Forward(Tensor logits, Tensor q)
    {
        if (logits.Rank != 2 || !Shapes.Equal(logits.shape, q.shape))
            throw new ArgumentException($"CrossEntropy: logits {Shapes.Format(logits.shape)} and target distribution {Shapes.Format(q.shape)} must both be (M, C).");
        var logProbs = Tensor.Uninitialized(logits.Backend, (int[])logits.shape.Clone());
        logits.Backend.Softmax(logits, 1, log: true, logProbs);
        Tensor perRow;
        using (GradMode.NoGrad()) perRow = -(logProbs * q).Sum(1);
        if (GradMode.ShouldRecord(logits))
            perRow = perRow.Detach().WithGradFn(new CrossEntropyOp(logits, q, logProbs));
        return perRow;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var q = _q!;
        var p = _logProbs!.Exp();
        grads[0] = (p * q.Sum(1, keepDim: true) - q) * g.Unsqueeze(1);
    }

    protected override void ReleaseSaved()
    {
        _q = null;
        _logProbs = null;
    }
}
