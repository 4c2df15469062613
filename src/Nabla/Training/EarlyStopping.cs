using System.Globalization;
using Nabla.Optim;

namespace Nabla.Training;

/// <summary>
/// Stops when the monitored value stops improving, with Keras 3's semantics: an improvement is
/// current − min_delta &lt; best (min mode; current − min_delta &gt; best in max mode, min_delta taken positive for
/// max and negative for min); each epoch from <c>start_from_epoch</c> increments the wait, an improvement resets it
/// (only if it also beats <c>baseline</c>, when one is given), and training stops once wait ≥ patience (never
/// at epoch 0). With restore_best_weights the best epoch's weights are put back at the end of training, whether
/// or not it stopped early. Defaults as Keras: monitor val_loss, min_delta 0, patience 0, mode auto.
/// </summary>
public sealed class EarlyStopping : Callback
{
    private readonly double _minDelta;
    private double _best;
    private StateDict? _bestWeights;

    /// <summary>Creates the callback; mode null means Keras's auto (max when the name contains "acc").</summary>
    public EarlyStopping(string monitor = "val_loss", double minDelta = 0, int patience = 0, MonitorMode? mode = null,
        double? baseline = null, bool restoreBestWeights = false, int startFromEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, "EarlyStopping: patience must be non-negative.");
        Monitor = monitor;
        Mode = mode ?? ReduceLROnPlateau.AutoMode(monitor);
        _minDelta = Mode == MonitorMode.Min ? -Math.Abs(minDelta) : Math.Abs(minDelta);
        Patience = patience;
        Baseline = baseline;
        RestoreBestWeights = restoreBestWeights;
        StartFromEpoch = startFromEpoch;
        _best = Mode == MonitorMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
    }

    /// <summary>The log key watched.</summary>
    public string Monitor { get; }
    /// <summary>Direction of improvement.</summary>
    public MonitorMode Mode { get; }
    /// <summary>Epochs without improvement tolerated.</summary>
    public int Patience { get; }
    /// <summary>A value that must be beaten for the wait to reset, or null.</summary>
    public double? Baseline { get; }
    /// <summary>Whether the best weights are restored at the end.</summary>
    public bool RestoreBestWeights { get; }
    /// <summary>Epochs ignored at the start (warm-up).</summary>
    public int StartFromEpoch { get; }
    /// <summary>Epochs since the last improvement.</summary>
    public int Wait { get; private set; }
    /// <summary>The best value seen.</summary>
    public double Best => _best;
    /// <summary>The epoch of the best value.</summary>
    public int BestEpoch { get; private set; }
    /// <summary>The epoch training was stopped at, or null.</summary>
    public int? StoppedEpoch { get; private set; }

    private bool IsImprovement(double value, double reference) =>
        Mode == MonitorMode.Min ? value - _minDelta < reference : value - _minDelta > reference;

    /// <inheritdoc/>
    public override void OnEpochEnd(TrainingContext context, EpochLog log)
    {
        if (!log.Logs.TryGetValue(Monitor, out double current) || log.Epoch < StartFromEpoch) return;
        if (RestoreBestWeights && _bestWeights is null)
        {
            _bestWeights = Snapshot(context.Model);
            BestEpoch = log.Epoch;
        }
        Wait++;
        if (IsImprovement(current, _best))
        {
            _best = current;
            BestEpoch = log.Epoch;
            if (RestoreBestWeights) _bestWeights = Snapshot(context.Model);
            if (Baseline is null || IsImprovement(current, Baseline.Value)) Wait = 0;
            return;
        }
        if (Wait >= Patience && log.Epoch > 0)
        {
            StoppedEpoch = log.Epoch;
            context.Stop($"Early stopping: {Monitor} did not improve for {Wait} epoch(s); best {_best.ToString("G6", CultureInfo.InvariantCulture)} at epoch {BestEpoch + 1}.");
        }
    }

    /// <inheritdoc/>
    public override void OnTrainEnd(TrainingContext context)
    {
        if (RestoreBestWeights && _bestWeights is not null) context.Model.LoadStateDict(_bestWeights);
    }

    internal static StateDict Snapshot(Module model)
    {
        var copy = new StateDict();
        foreach (var (k, v) in model.StateDict())
            copy.Add(k, v.Float is { } f ? new StateValue(f.Detach().Clone()) : new StateValue(new IntTensor(v.Int!.ToArray(), v.Int.ShapeArray)));
        return copy;
    }

    /// <inheritdoc/>
    public override void SaveState(StateDict state, string prefix)
    {
        state.Metadata[prefix + "wait"] = Wait.ToString(CultureInfo.InvariantCulture);
        state.Metadata[prefix + "best"] = _best.ToString("R", CultureInfo.InvariantCulture);
        state.Metadata[prefix + "best_epoch"] = BestEpoch.ToString(CultureInfo.InvariantCulture);
        if (_bestWeights is not null)
            foreach (var (k, v) in _bestWeights) state.Add(prefix + "best." + k, v);
    }

    /// <inheritdoc/>
    public override void LoadState(StateDict state, string prefix)
    {
        if (!state.Metadata.TryGetValue(prefix + "wait", out var wait)) return;
        Wait = int.Parse(wait, CultureInfo.InvariantCulture);
        _best = double.Parse(state.Metadata[prefix + "best"], CultureInfo.InvariantCulture);
        BestEpoch = int.Parse(state.Metadata[prefix + "best_epoch"], CultureInfo.InvariantCulture);
        var best = new StateDict();
        foreach (var (k, v) in state)
            if (k.StartsWith(prefix + "best.", StringComparison.Ordinal)) best.Add(k[(prefix.Length + 5)..], v);
        _bestWeights = best.Count > 0 ? best : null;
    }
}
