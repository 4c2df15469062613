using Nabla.Optim;

namespace Nabla.Training;

/// <summary>
/// Saves the model's weights as safetensors (atomically: temp file, flush, rename) into a directory:
/// <c>last.safetensors</c> after every epoch and at the end of training (also after cancellation), and
/// <c>best.safetensors</c> whenever the monitored value improves (Keras's save_best_only comparison: strictly
/// better, mode auto by name). A NaN loss never overwrites them, so they stay the last good weights.
/// </summary>
public sealed class ModelCheckpoint : Callback
{
    private double _best;

    /// <summary>Writes into <paramref name="directory"/> (created if missing).</summary>
    public ModelCheckpoint(string directory, string monitor = "val_loss", MonitorMode? mode = null, double? initialValueThreshold = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory = directory;
        Monitor = monitor;
        Mode = mode ?? ReduceLROnPlateau.AutoMode(monitor);
        _best = initialValueThreshold ?? (Mode == MonitorMode.Min ? double.PositiveInfinity : double.NegativeInfinity);
    }

    /// <summary>Where the files go.</summary>
    public string Directory { get; }
    /// <summary>The log key that decides "best".</summary>
    public string Monitor { get; }
    /// <summary>Direction of improvement.</summary>
    public MonitorMode Mode { get; }
    /// <summary>Path of the latest weights.</summary>
    public string LastPath => Path.Combine(Directory, "last.safetensors");
    /// <summary>Path of the best weights.</summary>
    public string BestPath => Path.Combine(Directory, "best.safetensors");
    /// <summary>The epoch last written to <see cref="BestPath"/>, or null.</summary>
    public int? BestEpoch { get; private set; }

    /// <inheritdoc/>
    public override void OnTrainBegin(TrainingContext context) => System.IO.Directory.CreateDirectory(Directory);

    /// <inheritdoc/>
    public override void OnEpochEnd(TrainingContext context, EpochLog log)
    {
        context.Model.Save(LastPath);
        if (log.Logs.TryGetValue(Monitor, out var current) && double.IsFinite(current)
            && (Mode == MonitorMode.Min ? current < _best : current > _best))
        {
            _best = current;
            BestEpoch = log.Epoch;
            context.Model.Save(BestPath);
        }
    }

    /// <inheritdoc/>
    public override void OnTrainEnd(TrainingContext context)
    {
        if (!context.History.Diverged) context.Model.Save(LastPath);
    }

    /// <inheritdoc/>
    public override void SaveState(StateDict state, string prefix) =>
        state.Metadata[prefix + "best"] = _best.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public override void LoadState(StateDict state, string prefix)
    {
        if (state.Metadata.TryGetValue(prefix + "best", out var b)) _best = double.Parse(b, System.Globalization.CultureInfo.InvariantCulture);
    }
}
