using System.Globalization;

namespace Nabla.Optim;

/// <summary>When a schedule is stepped: once per epoch or once per mini-batch.</summary>
public enum StepInterval
{
    /// <summary>After each epoch.</summary>
    Epoch,
    /// <summary>After each optimizer step.</summary>
    Batch,
}

/// <summary>
/// Base of the learning-rate schedules (torch.optim.lr_scheduler): each computes lr(t) in closed form from the
/// group's initial learning rate; construction applies lr(0), and each <see cref="Step"/> advances t by one and
/// applies lr(t). <see cref="Interval"/> says whether the trainer steps it per epoch or per batch.
/// </summary>
public abstract class LRScheduler
{
    /// <summary>Attaches to an optimizer; records each group's initial learning rate ("initial_lr").</summary>
    protected LRScheduler(Optimizer optimizer, StepInterval interval)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        Interval = interval;
        foreach (var g in optimizer.ParamGroups)
            if (!g.Has("initial_lr")) g["initial_lr"] = g.LearningRate;
        BaseLrs = optimizer.ParamGroups.Select(g => g["initial_lr"]).ToArray();
    }

    /// <summary>The optimizer whose groups this schedule drives.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Per epoch or per batch.</summary>
    public StepInterval Interval { get; }

    /// <summary>Each group's initial learning rate.</summary>
    public IReadOnlyList<double> BaseLrs { get; }

    /// <summary>Steps taken so far (t); −1 before construction finished, as PyTorch's last_epoch.</summary>
    public int LastEpoch { get; private set; } = -1;

    /// <summary>The learning rates last applied, per group.</summary>
    public IReadOnlyList<double> LastLr { get; private set; } = [];

    /// <summary>lr(t) for a group whose initial learning rate is <paramref name="baseLr"/>.</summary>
    protected abstract double LrAt(int t, double baseLr);

    /// <summary>Applies lr(0); derived constructors call it last, once their fields are set.</summary>
    protected void Start() => Step();

    /// <summary>Advances one epoch or batch and applies the new learning rates.</summary>
    public virtual void Step()
    {
        LastEpoch++;
        var lrs = new double[BaseLrs.Count];
        for (int i = 0; i < lrs.Length; i++)
        {
            lrs[i] = LrAt(LastEpoch, BaseLrs[i]);
            Optimizer.ParamGroups[i].LearningRate = lrs[i];
        }
        LastLr = lrs;
        OnStep(LastEpoch);
    }

    /// <summary>Hook for schedules that also drive other hyperparameters (one-cycle momentum).</summary>
    protected virtual void OnStep(int t) { }

    /// <summary>The position (t) for a checkpoint.</summary>
    public StateDict StateDict()
    {
        var d = new StateDict();
        d.Metadata["scheduler"] = GetType().Name;
        d.Metadata["last_epoch"] = LastEpoch.ToString(CultureInfo.InvariantCulture);
        return d;
    }

    /// <summary>Restores the position and re-applies lr(t).</summary>
    public void LoadStateDict(StateDict state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.Metadata.TryGetValue("scheduler", out var type) || type != GetType().Name)
            throw new InvalidOperationException($"LoadStateDict: the state is for scheduler '{type ?? "?"}', this is {GetType().Name}.");
        LastEpoch = int.Parse(state.Metadata["last_epoch"], CultureInfo.InvariantCulture) - 1;
        Step();
    }
}

/// <summary>
/// lr(t) = lr₀·(s + (e − s)·min(t, T)/T) (torch LinearLR): a linear warm-up from lr₀·s to lr₀·e over T steps, then
/// held; per batch by default, as a warm-up is usually counted in steps.
/// </summary>
public sealed class LinearLR : LRScheduler
{
    private readonly double _start, _end;
    private readonly int _total;

    /// <summary>Ramps the factor from <paramref name="startFactor"/> to <paramref name="endFactor"/> over <paramref name="totalIters"/> steps.</summary>
    public LinearLR(Optimizer optimizer, double startFactor = 1.0 / 3, double endFactor = 1.0, int totalIters = 5, StepInterval interval = StepInterval.Batch)
        : base(optimizer, interval)
    {
        if (!(startFactor > 0 && startFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor, "LinearLR: start_factor must be in (0, 1].");
        if (!(endFactor >= 0 && endFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(endFactor), endFactor, "LinearLR: end_factor must be in [0, 1].");
        if (totalIters <= 0) throw new ArgumentOutOfRangeException(nameof(totalIters), totalIters, "LinearLR: total_iters must be positive.");
        _start = startFactor;
        _end = endFactor;
        _total = totalIters;
        Start();
    }

    /// <inheritdoc/>
    protected override double LrAt(int t, double baseLr) => baseLr * (_start + (_end - _start) * Math.Min(t, _total) / _total);
}

/// <summary>lr(t) = lr₀·γ^⌊t/step_size⌋ (torch StepLR; per epoch by default).</summary>
public sealed class StepLR : LRScheduler
{
    private readonly int _stepSize;
    private readonly double _gamma;

    /// <summary>Decays by <paramref name="gamma"/> every <paramref name="stepSize"/> steps.</summary>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1, StepInterval interval = StepInterval.Epoch) : base(optimizer, interval)
    {
        if (stepSize <= 0) throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "StepLR: step_size must be positive.");
        _stepSize = stepSize;
        _gamma = gamma;
        Start();
    }

    /// <inheritdoc/>
    protected override double LrAt(int t, double baseLr) => baseLr * Math.Pow(_gamma, t / _stepSize);
}

/// <summary>lr(t) = lr₀·γ^(number of milestones ≤ t) (torch MultiStepLR).</summary>
public sealed class MultiStepLR : LRScheduler
{
    private readonly int[] _milestones;
    private readonly double _gamma;

    /// <summary>Decays by <paramref name="gamma"/> at each milestone.</summary>
    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1, StepInterval interval = StepInterval.Epoch) : base(optimizer, interval)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        _milestones = milestones.Order().ToArray();
        _gamma = gamma;
        Start();
    }

    /// <inheritdoc/>
    protected override double LrAt(int t, double baseLr) => baseLr * Math.Pow(_gamma, _milestones.Count(m => m <= t));
}

/// <summary>lr(t) = lr₀·γᵗ (torch ExponentialLR).</summary>
public sealed class ExponentialLR : LRScheduler
{
    private readonly double _gamma;

    /// <summary>Decays by <paramref name="gamma"/> every step.</summary>
    public ExponentialLR(Optimizer optimizer, double gamma, StepInterval interval = StepInterval.Epoch) : base(optimizer, interval)
    {
        _gamma = gamma;
        Start();
    }

    /// <inheritdoc/>
    protected override double LrAt(int t, double baseLr) => baseLr * Math.Pow(_gamma, t);
}
