namespace Nabla.Optim;

/// <summary>
/// lr(t) = η_min + (lr₀ − η_min)(1 + cos(πt/T_max))/2 (torch CosineAnnealingLR; past T_max the cosine goes on,
/// rising again, as PyTorch's).
/// </summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    private readonly int _tMax;
    private readonly double _etaMin;

    /// <summary>Anneals to <paramref name="etaMin"/> over <paramref name="tMax"/> steps.</summary>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0, StepInterval interval = StepInterval.Epoch) : base(optimizer, interval)
    {
        if (tMax <= 0) throw new ArgumentOutOfRangeException(nameof(tMax), tMax, "CosineAnnealingLR: T_max must be positive.");
        _tMax = tMax;
        _etaMin = etaMin;
        Start();
    }

    /// <inheritdoc/>
    protected override double LrAt(int t, double baseLr) => _etaMin + (baseLr - _etaMin) * (1 + Math.Cos(Math.PI * t / _tMax)) / 2;
}

/// <summary>
/// Linear warm-up then cosine annealing, per batch by default:
/// lr(t) = lr₀·(s + (1 − s)·t/W) for t &lt; W, then η_min + (lr₀ − η_min)(1 + cos(π(t − W)/(T − W)))/2, held at
/// η_min after T. The same values as torch's SequentialLR(LinearLR(s, total_iters=W), CosineAnnealingLR(T − W, η_min)).
/// </summary>
public sealed class CosineAnnealingWarmupLR : LRScheduler
{
    private readonly int _warmup, _total;
    private readonly double _etaMin, _startFactor;

    /// <summary>Warms up over <paramref name="warmupSteps"/> from lr₀·<paramref name="warmupStartFactor"/>, then anneals until <paramref name="totalSteps"/>.</summary>
    public CosineAnnealingWarmupLR(Optimizer optimizer, int warmupSteps, int totalSteps, double etaMin = 0, double warmupStartFactor = 0.01,
        StepInterval interval = StepInterval.Batch) : base(optimizer, interval)
    {
        if (warmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, "CosineAnnealingWarmupLR: warmup steps must be non-negative.");
        if (totalSteps <= warmupSteps) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, $"CosineAnnealingWarmupLR: total steps must exceed the {warmupSteps} warm-up steps.");
        if (!(warmupStartFactor > 0 && warmupStartFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(warmupStartFactor), warmupStartFactor, "CosineAnnealingWarmupLR: the start factor must be in (0, 1].");
        _warmup = warmupSteps;
        _total = totalSteps;
        _etaMin = etaMin;
        _startFactor = warmupStartFactor;
        Start();
    }

    /// <inheritdoc/>
    protected override double LrAt(int t, double baseLr)
    {
        if (t < _warmup) return baseLr * (_startFactor + (1 - _startFactor) * t / _warmup);
        if (t >= _total) return _etaMin;
        return _etaMin + (baseLr - _etaMin) * (1 + Math.Cos(Math.PI * (t - _warmup) / (_total - _warmup))) / 2;
    }
}
