namespace Nabla.Training;

/// <summary>
/// What one epoch produced, Keras-style: "loss" and the training metrics, "val_loss" and "val_*" when there is
/// validation data, "lr" (first group's learning rate at the end of the epoch) and "seconds".
/// </summary>
/// <param name="Epoch">0-based epoch index.</param>
/// <param name="Logs">Values by name.</param>
public sealed record EpochLog(int Epoch, IReadOnlyDictionary<string, double> Logs)
{
    /// <summary>A value by name, or NaN when absent.</summary>
    public double this[string key] => Logs.TryGetValue(key, out var v) ? v : double.NaN;
}

/// <summary>The epochs of a <see cref="Trainer.Fit"/> run, and why it stopped.</summary>
public sealed class History
{
    /// <summary>One entry per completed epoch.</summary>
    public List<EpochLog> Epochs { get; } = [];

    /// <summary>Why training ended before the last epoch (early stopping, stable weights, NaN, cancellation), or null.</summary>
    public string? StopReason { get; set; }

    /// <summary>True when the loss became NaN or infinite.</summary>
    public bool Diverged { get; set; }

    /// <summary>True when training was cancelled.</summary>
    public bool Cancelled { get; set; }

    /// <summary>True when batches were replayed from a captured step (<see cref="StepGraph"/>) rather than run eagerly (same numbers).</summary>
    public bool CapturedStep { get; set; }

    /// <summary>Processes that trained the model together (data-parallel ranks; 1 for one process).</summary>
    public int Ranks { get; set; } = 1;

    /// <summary>Seconds the data-parallel gradient reductions took in all (0 for one process).</summary>
    public double ReduceSeconds { get; set; }

    /// <summary>Why the step was not captured (the first reason met), or null.</summary>
    public string? CaptureNote { get; set; }

    /// <summary>The values of one log key across epochs.</summary>
    public double[] Series(string key) => Epochs.Select(e => e[key]).ToArray();
}
