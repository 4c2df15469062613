namespace Nabla.Optim;

/// <summary>How one-cycle interpolates within a phase.</summary>
public enum AnnealStrategy
{
    /// <summary>end + (start − end)(1 + cos(π·pct))/2.</summary>
    Cos,
    /// <summary>start + (end − start)·pct.</summary>
    Linear,
}

/// <summary>
/// The one-cycle policy (Smith &amp; Topin; torch OneCycleLR), per batch: the learning rate rises from
/// max_lr/div_factor to max_lr over pct_start of the steps, then falls to initial/final_div_factor (three-phase:
/// back to the initial value first, then to the minimum); momentum (or Adam's β₁) cycles the opposite way
/// between max_momentum and base_momentum. Phase ends are at pct_start·T − 1 (and 2·pct_start·T − 2), T − 1.
/// </summary>
public sealed class OneCycleLR : LRScheduler
{
    private readonly (double End, double StartLr, double EndLr, double StartM, double EndM)[] _phases;
    private readonly AnnealStrategy _anneal;
    private readonly int _totalSteps;
    private readonly bool _cycleMomentum;
    private readonly string? _momentumKey;

    /// <summary>Defaults as PyTorch: pct_start 0.3, cos, div_factor 25, final_div_factor 1e4, momentum 0.85–0.95.</summary>
    public OneCycleLR(Optimizer optimizer, double maxLr, int totalSteps, double pctStart = 0.3, AnnealStrategy annealStrategy = AnnealStrategy.Cos,
        bool cycleMomentum = true, double baseMomentum = 0.85, double maxMomentum = 0.95, double divFactor = 25, double finalDivFactor = 1e4,
        bool threePhase = false)
        : base(Prepare(optimizer, maxLr / divFactor), StepInterval.Batch)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, $"Expected positive integer total_steps, but got {totalSteps}");
        if (!(pctStart >= 0 && pctStart <= 1)) throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, $"Expected float between 0 and 1 pct_start, but got {pctStart}");
        double initial = maxLr / divFactor, min = initial / finalDivFactor;
        _totalSteps = totalSteps;
        _anneal = annealStrategy;
        _cycleMomentum = cycleMomentum;
        if (cycleMomentum)
        {
            var g = optimizer.ParamGroups[0];
            _momentumKey = g.Has("momentum") ? "momentum" : g.Has("beta1") ? "beta1"
                : throw new ArgumentException("optimizer must support momentum or beta1 with `cycle_momentum` option enabled", nameof(optimizer));
            foreach (var group in optimizer.ParamGroups) group[_momentumKey] = maxMomentum;
        }
        _phases = threePhase
            ?
            [
                (pctStart * totalSteps - 1, initial, maxLr, maxMomentum, baseMomentum),
                (2 * pctStart * totalSteps - 2, maxLr, initial, baseMomentum, maxMomentum),
                (totalSteps - 1, initial, min, maxMomentum, maxMomentum),
            ]
            :
            [
                (pctStart * totalSteps - 1, initial, maxLr, maxMomentum, baseMomentum),
                (totalSteps - 1, maxLr, min, baseMomentum, maxMomentum),
            ];
        Start();
    }

    private static Optimizer Prepare(Optimizer optimizer, double initialLr)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        foreach (var g in optimizer.ParamGroups)
        {
            g["initial_lr"] = initialLr;
            g.LearningRate = initialLr;
        }
        return optimizer;
    }

    private double Anneal(double start, double end, double pct) => _anneal == AnnealStrategy.Cos
        ? end + (start - end) / 2.0 * (Math.Cos(Math.PI * pct) + 1)
        : (end - start) * pct + start;

    private (double Lr, double Momentum) At(int t)
    {
        if (t > _totalSteps)
            throw new InvalidOperationException($"Tried to step {t} times. The specified number of total steps is {_totalSteps}");
        double start = 0;
        for (int i = 0; i < _phases.Length; i++)
        {
            var p = _phases[i];
            if (t <= p.End || i == _phases.Length - 1)
            {
                double pct = (t - start) / (p.End - start);
                return (Anneal(p.StartLr, p.EndLr, pct), Anneal(p.StartM, p.EndM, pct));
            }
            start = p.End;
        }
        throw new InvalidOperationException("unreachable");
    }

    /// <inheritdoc/>
    protected override double LrAt(int t, double baseLr) => At(t).Lr;

    /// <inheritdoc/>
    protected override void OnStep(int t)
    {
        if (!_cycleMomentum) return;
        double m = At(t).Momentum;
        foreach (var g in Optimizer.ParamGroups) g[_momentumKey!] = m;
    }
}
