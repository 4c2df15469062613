using Nabla.Autograd;

namespace Nabla.Training;

/// <summary>
/// Adversarial examples against the current model, for adversarial training (Goodfellow et al.; Madry et al.):
/// FGSM takes one step x′ = clip(x + ε·sign(∇ₓL), lo, hi); PGD takes <c>steps</c> steps of size α, each projected
/// back onto the L∞ ball of radius ε around x (and the valid pixel range), from a random start in the ball.
/// The model is used in evaluation mode while the perturbation is computed and restored afterwards.
/// </summary>
public static class Adversarial
{
    private static Tensor InputGradient(Module model, Loss loss, Tensor x, IntTensor? labels, Tensor? targets)
    {
        var xi = x.Detach().Clone().RequiresGrad_();
        var output = model.Forward(xi);
        var l = labels is not null ? loss.Forward(output, labels) : loss.Forward(output, targets!);
        l.Backward();
        return xi.Grad!;
    }

    private static Tensor Sign(Tensor g) => Tensor.FromArray(g.ToArray().Select(v => v > 0 ? 1f : v < 0 ? -1f : 0f).ToArray(), [.. g.Shape]);

    /// <summary>The fast gradient sign method: x + ε·sign(∇ₓL), clamped to [lo, hi].</summary>
    public static Tensor Fgsm(Module model, Loss loss, Tensor x, IntTensor? labels, Tensor? targets, float epsilon, float lo = 0f, float hi = 1f)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(x);
        if (!(epsilon >= 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "Fgsm: epsilon must be non-negative.");
        bool training = model.Training;
        model.Eval();
        try
        {
            var grad = InputGradient(model, loss, x, labels, targets);
            using var _ = GradMode.NoGrad();
            return (x.Detach() + Sign(grad) * epsilon).Clamp(lo, hi);
        }
        finally
        {
            model.Train(training);
        }
    }

    /// <summary>Projected gradient descent on the loss (ascent), within the L∞ ball of radius ε, from a random start.</summary>
    public static Tensor Pgd(Module model, Loss loss, Tensor x, IntTensor? labels, Tensor? targets, float epsilon, float alpha, int steps, Generator generator,
        float lo = 0f, float hi = 1f)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(generator);
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "Pgd: steps must be at least 1.");
        bool training = model.Training;
        model.Eval();
        try
        {
            var origin = x.Detach();
            Tensor adv;
            using (GradMode.NoGrad()) adv = (origin + Tensor.Uniform([.. x.Shape], -epsilon, epsilon, generator)).Clamp(lo, hi);
            for (int s = 0; s < steps; s++)
            {
                var grad = InputGradient(model, loss, adv, labels, targets);
                using var _ = GradMode.NoGrad();
                adv = adv + Sign(grad) * alpha;
                adv = Tensor.Minimum(Tensor.Maximum(adv, origin - epsilon), origin + epsilon).Clamp(lo, hi);
            }
            return adv;
        }
        finally
        {
            model.Train(training);
        }
    }
}
