using Nabla.Autograd;

namespace Nabla.Optim;

/// <summary>Gradient clipping, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_.</summary>
public static class GradClip
{
    /// <summary>
    /// Scales all gradients together so their joint p-norm is at most <paramref name="maxNorm"/>:
    /// total = ‖(‖g₁‖ₚ, ‖g₂‖ₚ, …)‖ₚ (p = ∞ takes the largest |g|), every g ← g·min(1, maxNorm/(total + 1e-6)), in float32
    /// tensor ops as torch.nn.utils.clip_grad_norm_. Parameters without a gradient are skipped.
    /// </summary>
    /// <returns>The total norm before clipping (read on the host, so a step that calls this is not captured; see <see cref="ClipGradNormTensor"/>).</returns>
    /// <exception cref="InvalidOperationException">the norm is NaN or infinite and <paramref name="errorIfNonfinite"/> is set.</exception>
    public static float ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2, bool errorIfNonfinite = false)
    {
        var (grads, total) = TotalNorm(parameters, normType);
        if (total is null) return 0f;
        if (errorIfNonfinite && !float.IsFinite(total.Item()))
            throw new InvalidOperationException($"The total norm of order {normType} for gradients is non-finite, so it cannot be clipped.");
        Scale(grads, total, maxNorm);
        return total.Item();
    }

    /// <summary>
    /// <see cref="ClipGradNorm"/> without a host read: the total norm stays a one-element tensor (read it after the
    /// step) and the clip factor min(1, maxNorm/(total + 1e-6)) is applied on the device, so a captured step can clip.
    /// </summary>
    /// <returns>The total norm before clipping, or null when no parameter has a gradient.</returns>
    public static Tensor? ClipGradNormTensor(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2)
    {
        var (grads, total) = TotalNorm(parameters, normType);
        if (total is not null) Scale(grads, total, maxNorm);
        return total;
    }

    private static (Tensor[] Grads, Tensor? Total) TotalNorm(IEnumerable<Tensor> parameters, double normType)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(normType > 0)) throw new ArgumentOutOfRangeException(nameof(normType), normType, "ClipGradNorm: norm_type must be positive (or infinity).");
        var grads = parameters.Where(p => p.Grad is not null).Select(p => p.Grad!).ToArray();
        if (grads.Length == 0) return (grads, null);
        using var _ = GradMode.NoGrad();
        if (double.IsPositiveInfinity(normType))
            return (grads, Tensor.Stack(grads.Select(g => g.Abs().Max()).ToArray()).Max());
        float p = (float)normType;
        var norms = Tensor.Stack(grads.Select(g => g.Abs().Pow(p).Sum().Pow(1 / p)).ToArray());
        return (grads, norms.Pow(p).Sum().Pow(1 / p));
    }

    private static void Scale(Tensor[] grads, Tensor total, double maxNorm)
    {
        using var _ = GradMode.NoGrad();
        var coef = (Tensor.Scalar((float)maxNorm) / (total + 1e-6f)).Clamp(max: 1f);
        foreach (var g in grads) g.MulInPlace(coef);
    }

    /// <summary>Clamps every gradient element to [−clipValue, clipValue].</summary>
    public static void ClipGradValue(IEnumerable<Tensor> parameters, double clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clipValue >= 0)) throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, "ClipGradValue: clip_value must be non-negative.");
        using var _ = GradMode.NoGrad();
        foreach (var p in parameters)
            p.Grad?.ClampInPlace(-(float)clipValue, (float)clipValue);
    }
}
