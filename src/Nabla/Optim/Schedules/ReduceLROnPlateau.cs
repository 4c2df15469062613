namespace Nabla.Optim;

/// <summary>Whether a monitored value should go down (loss) or up (accuracy).</summary>
public enum MonitorMode
{
    /// <summary>Lower is better.</summary>
    Min,
    /// <summary>Higher is better.</summary>
    Max,
}

/// <summary>
/// Keras's ReduceLROnPlateau, stepped once per epoch with the monitored value: an improvement is
/// current &lt; best − min_delta (min mode; current &gt; best + min_delta in max mode, absolute). After
/// <c>patience</c> epochs without one, every group's lr ← max(lr·factor, min_lr) (if lr &gt; min_lr), then
/// <c>cooldown</c> epochs pass during which the wait counter stays 0.
/// Defaults as Keras: factor 0.1, patience 10, min_delta 1e-4, cooldown 0, min_lr 0.
/// </summary>
public sealed class ReduceLROnPlateau
{
    private readonly Optimizer _optimizer;
    private int _cooldownCounter;

    /// <summary>Creates the schedule; <paramref name="factor"/> must be below 1.</summary>
    public ReduceLROnPlateau(Optimizer optimizer, MonitorMode mode = MonitorMode.Min, double factor = 0.1, int patience = 10,
        double minDelta = 1e-4, int cooldown = 0, double minLr = 0)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (factor >= 1.0) throw new ArgumentOutOfRangeException(nameof(factor), factor, "ReduceLROnPlateau does not support a factor >= 1.0.");
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, "ReduceLROnPlateau: patience must be non-negative.");
        _optimizer = optimizer;
        Mode = mode;
        Factor = factor;
        Patience = patience;
        MinDelta = Math.Abs(minDelta);
        Cooldown = cooldown;
        MinLr = minLr;
        Best = mode == MonitorMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
    }

    /// <summary>Keras's 'auto' mode: max when the monitored name contains "acc", else min.</summary>
    public static MonitorMode AutoMode(string monitor) =>
        monitor.Contains("acc", StringComparison.OrdinalIgnoreCase) ? MonitorMode.Max : MonitorMode.Min;

    /// <summary>Direction of improvement.</summary>
    public MonitorMode Mode { get; }
    /// <summary>Multiplier applied on a plateau.</summary>
    public double Factor { get; }
    /// <summary>Epochs without improvement before reducing.</summary>
    public int Patience { get; }
    /// <summary>Smallest change that counts as an improvement (absolute).</summary>
    public double MinDelta { get; }
    /// <summary>Epochs to wait after a reduction before counting again.</summary>
    public int Cooldown { get; }
    /// <summary>Lower bound on the learning rate.</summary>
    public double MinLr { get; }
    /// <summary>The best value seen.</summary>
    public double Best { get; private set; }
    /// <summary>Epochs since the last improvement.</summary>
    public int Wait { get; private set; }
    /// <summary>Per epoch.</summary>
    public StepInterval Interval => StepInterval.Epoch;

    private bool InCooldown => _cooldownCounter > 0;

    private bool Improved(double current) => Mode == MonitorMode.Min ? current < Best - MinDelta : current > Best + MinDelta;

    /// <summary>Feeds one epoch's monitored value; returns true when the learning rate was reduced.</summary>
    public bool Step(double current)
    {
        if (InCooldown)
        {
            _cooldownCounter--;
            Wait = 0;
        }
        if (Improved(current))
        {
            Best = current;
            Wait = 0;
            return false;
        }
        if (InCooldown) return false;
        if (++Wait < Patience) return false;
        bool reduced = false;
        foreach (var g in _optimizer.ParamGroups)
        {
            double old = g.LearningRate;
            // Keras compares against min_lr rounded to float32.
            if (old > (float)MinLr)
            {
                g.LearningRate = Math.Max(old * Factor, MinLr);
                reduced = true;
            }
        }
        if (reduced)
        {
            _cooldownCounter = Cooldown;
            Wait = 0;
        }
        return reduced;
    }

    /// <summary>The counters for a checkpoint (the learning rate itself lives in the optimizer's state).</summary>
    public StateDict StateDict()
    {
        var d = new StateDict();
        d.Metadata["scheduler"] = nameof(ReduceLROnPlateau);
        d.Metadata["best"] = Best.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        d.Metadata["wait"] = Wait.ToString(System.Globalization.CultureInfo.InvariantCulture);
        d.Metadata["cooldown_counter"] = _cooldownCounter.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return d;
    }

    /// <summary>Restores <see cref="StateDict"/>.</summary>
    public void LoadStateDict(StateDict state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.Metadata.TryGetValue("scheduler", out var type) || type != nameof(ReduceLROnPlateau))
            throw new InvalidOperationException($"LoadStateDict: the state is for scheduler '{type ?? "?"}', this is ReduceLROnPlateau.");
        Best = double.Parse(state.Metadata["best"], System.Globalization.CultureInfo.InvariantCulture);
        Wait = int.Parse(state.Metadata["wait"], System.Globalization.CultureInfo.InvariantCulture);
        _cooldownCounter = int.Parse(state.Metadata["cooldown_counter"], System.Globalization.CultureInfo.InvariantCulture);
    }
}
