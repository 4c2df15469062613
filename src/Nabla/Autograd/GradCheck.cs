namespace Nabla.Autograd;

/// <summary>The outcome of <see cref="GradCheck.Check"/>: the worst disagreement and where it was.</summary>
/// <param name="Passed">Every element agreed within atol + rtol·|numeric|.</param>
/// <param name="MaxAbsError">The largest |analytic − numeric| over all checked elements.</param>
/// <param name="Message">Where the worst element was, with both values; or a summary when all passed.</param>
public sealed record GradCheckResult(bool Passed, double MaxAbsError, string Message);

/// <summary>
/// Finite-difference gradient checker for any function of tensors. It reduces the output to the scalar
/// L = Σ f(x) ⊙ r with a fixed random r, so every output element is checked at once, then compares the
/// analytic ∂L/∂xᵢ from <see cref="Tensor.Backward()"/> with central differences
/// (L(x + εeᵢ) − L(x − εeᵢ)) / (2ε), where L is summed in double.
/// </summary>
/// <remarks>
/// Tensors are float32, so the defaults balance rounding (∝ 1/ε) against truncation (∝ ε²): ε = 5e-3,
/// atol = 1e-3, rtol = 1e-2. Keep inputs away from kinks (ReLU at 0, |x| at 0, ties of max). CPU tensors only.
/// </remarks>
public static class GradCheck
{
    /// <summary>Compares analytic and numeric gradients of <paramref name="f"/> at <paramref name="inputs"/>.</summary>
    /// <param name="f">The function; it must be deterministic.</param>
    /// <param name="inputs">Points to check at. Those with <see cref="Tensor.RequiresGrad"/> are checked; if none has it, all are.</param>
    /// <param name="eps">Finite-difference step ε.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="rtol">Relative tolerance (to the numeric value).</param>
    /// <param name="seed">Seed of the random projection r.</param>
    /// <param name="kinkTolerance">
    /// Fraction of elements allowed to disagree, for piecewise-linear functions with many kinks (deep ReLU networks),
    /// where a ±ε step of one input can move some hidden unit across its kink; 0 (the default) allows none.
    /// </param>
    public static GradCheckResult Check(Func<Tensor[], Tensor> f, Tensor[] inputs, float eps = 5e-3f, double atol = 1e-3, double rtol = 1e-2, int seed = 0,
        double kinkTolerance = 0)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputs);
        bool any = inputs.Any(t => t.RequiresGrad);
        // Fresh contiguous leaves we own, so perturbing them touches nothing else.
        var xs = inputs.Select(t => Tensor.FromArray(t.ToArray(), t.shape).RequiresGrad_(!any || t.RequiresGrad)).ToArray();
        return Run(() => f(xs), xs.Where(x => x.RequiresGrad).ToArray(), eps, atol, rtol, seed, kinkTolerance);
    }

    /// <summary>
    /// Checks the gradients of existing leaf tensors, e.g. a module's parameters: <paramref name="f"/> is
    /// evaluated while each element of each tensor is perturbed in place (and restored).
    /// </summary>
    public static GradCheckResult CheckParameters(Func<Tensor> f, IEnumerable<Tensor> parameters, float eps = 5e-3f, double atol = 1e-3, double rtol = 1e-2, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(parameters);
        var ps = parameters.ToArray();
        foreach (var p in ps)
            if (!p.IsLeaf || !p.RequiresGrad || !p.TryHostMemory(out _))
                throw new ArgumentException($"CheckParameters: every tensor must be a contiguous CPU leaf that requires grad; got shape {Shapes.Format(p.shape)}.", nameof(parameters));
        var saved = ps.Select(p => p.Grad).ToArray();
        try
        {
            return Run(f, ps, eps, atol, rtol, seed);
        }
        finally
        {
            for (int i = 0; i < ps.Length; i++) ps[i].Grad = saved[i];
        }
    }

    private static GradCheckResult Run(Func<Tensor> f, Tensor[] checkedTensors, float eps, double atol, double rtol, int seed, double kinkTolerance = 0)
    {
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "GradCheck: eps must be positive.");
        foreach (var t in checkedTensors) t.Grad = null;
        var y = f();
        if (!y.RequiresGrad)
            return new GradCheckResult(false, double.PositiveInfinity, "GradCheck: the output does not depend on any checked input (it does not require grad).");
        var r = Tensor.Randn(y.shape, new Generator(seed));
        var rHost = r.ToArray();
        y.Backward(r);

        double worstExcess = double.NegativeInfinity, maxAbs = 0;
        string worst = "";
        int checkedCount = 0, failures = 0;
        for (int i = 0; i < checkedTensors.Length; i++)
        {
            var t = checkedTensors[i];
            var data = t.TryHostMemory(out var values) ? values.Span : throw new ArgumentException("GradCheck: the checked tensors must be contiguous host tensors.");
            var analytic = t.Grad?.ToArray() ?? new float[t.Numel];
            for (int j = 0; j < analytic.Length; j++)
            {
                int at = j;   // the span starts at the tensor's offset
                float orig = data[at];
                float plus = orig + eps, minus = orig - eps;
                data[at] = plus;
                double lp = Project(f, rHost);
                data[at] = minus;
                double lm = Project(f, rHost);
                data[at] = orig;
                // The step actually taken in float32, not the ε asked for.
                double numeric = (lp - lm) / ((double)plus - minus);
                double err = Math.Abs(analytic[j] - numeric);
                double excess = err - (atol + rtol * Math.Abs(numeric));
                maxAbs = Math.Max(maxAbs, double.IsNaN(err) ? double.PositiveInfinity : err);
                if (excess > 0 || double.IsNaN(err)) failures++;
                if (excess > worstExcess || double.IsNaN(err))
                {
                    worstExcess = double.IsNaN(err) ? double.PositiveInfinity : excess;
                    worst = $"input {i} {Shapes.Format(t.shape)} element {j}: analytic {analytic[j]:G6}, numeric {numeric:G6}, |diff| {err:G3}";
                }
                checkedCount++;
            }
        }
        bool passed = worstExcess <= 0 || failures <= kinkTolerance * checkedCount;
        return new GradCheckResult(passed, maxAbs, passed
            ? $"GradCheck passed on {checkedCount} elements ({failures} off, allowed {kinkTolerance:P1}); max |diff| {maxAbs:G3}."
            : $"GradCheck failed (atol {atol}, rtol {rtol}, eps {eps}): {failures} of {checkedCount} elements off; worst at {worst}.");
    }

    /// <summary>Like <see cref="Check"/> but throws <see cref="InvalidOperationException"/> with the worst element when it fails.</summary>
    public static void Assert(Func<Tensor[], Tensor> f, Tensor[] inputs, float eps = 5e-3f, double atol = 1e-3, double rtol = 1e-2, int seed = 0)
    {
        var result = Check(f, inputs, eps, atol, rtol, seed);
        if (!result.Passed) throw new InvalidOperationException(result.Message);
    }

    private static double Project(Func<Tensor> f, float[] r)
    {
        using var _ = GradMode.NoGrad();
        var y = f().ToArray();
        double s = 0;
        for (int k = 0; k < y.Length; k++) s += (double)y[k] * r[k];
        return s;
    }
}
