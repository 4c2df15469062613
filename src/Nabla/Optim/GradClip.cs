using Nabla.Autograd;

namespace Nabla.Optim;

/// <summary>Gradient clipping, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_.</summary>
public static class GradClip
{
    /// <summary>
    /// Scales all gradients together so their joint p-norm is at most <paramref name="maxNorm"/>:
    /// total = ‖(‖g₁‖ₚ, ‖g₂‖ₚ, …)‖ₚ (p = ∞ takes the largest |g|), every g ← g·min(1, maxNorm/(total + 1e-6)).
    /// Parameters without a gradient are skipped.
    /// </summary>
    /// <returns>The total norm before clipping.</returns>
    /// <exception cref="InvalidOperationException">the norm is NaN or infinite and <paramref name="errorIfNonfinite"/> is set.</exception>
    public static float ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2, bool errorIfNonfinite = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(normType > 0)) throw new ArgumentOutOfRangeException(nameof(normType), normType, "ClipGradNorm: norm_type must be positive (or infinity).");
        var grads = parameters.Where(p => p.Grad is not null).Select(p => p.Grad!).ToArray();
        if (grads.Length == 0) return 0f;
        using var _ = GradMode.NoGrad();
        float total;
        if (double.IsPositiveInfinity(normType))
            total = grads.Max(g => g.Abs().Max().Item());
        else
        {
            float p = (float)normType;
            var norms = grads.Select(g => (double)g.Abs().Pow(p).Sum().Pow(1 / p).Item());
            total = (float)Math.Pow(norms.Sum(n => Math.Pow(n, normType)), 1 / normType);
        }
        if (errorIfNonfinite && !float.IsFinite(total))
            throw new InvalidOperationException($"The total norm of order {normType} for gradients is non-finite, so it cannot be clipped.");
        float coef = Math.Min(1f, (float)maxNorm / (total + 1e-6f));
        foreach (var g in grads) g.MulInPlace(coef);
        return total;
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
