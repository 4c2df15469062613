using Nabla.Optim;

namespace Nabla.Training;

/// <summary>What callbacks see and can change during <see cref="Trainer.Fit"/>.</summary>
public sealed class TrainingContext
{
    internal TrainingContext(Module model, Optimizer optimizer, History history, int epochs, int batchesPerEpoch, int samplesPerEpoch)
    {
        Model = model;
        Optimizer = optimizer;
        History = history;
        Epochs = epochs;
        BatchesPerEpoch = batchesPerEpoch;
        SamplesPerEpoch = samplesPerEpoch;
    }

    /// <summary>The model being trained.</summary>
    public Module Model { get; }
    /// <summary>Its optimizer.</summary>
    public Optimizer Optimizer { get; }
    /// <summary>Epochs completed so far.</summary>
    public History History { get; }
    /// <summary>The epoch count asked for.</summary>
    public int Epochs { get; }
    /// <summary>Optimizer steps per epoch.</summary>
    public int BatchesPerEpoch { get; }
    /// <summary>Training samples per epoch.</summary>
    public int SamplesPerEpoch { get; }

    /// <summary>Set by a callback to end training after the current epoch.</summary>
    public bool StopTraining { get; private set; }

    /// <summary>Why training was stopped.</summary>
    public string? StopReason { get; private set; }

    /// <summary>Asks the trainer to stop after this epoch, saying why.</summary>
    public void Stop(string reason)
    {
        StopTraining = true;
        StopReason ??= reason;
    }
}

/// <summary>
/// Hooks into the training loop (Keras's Callback). Callbacks with state that must survive a resume save and load
/// it through <see cref="SaveState"/>/<see cref="LoadState"/>.
/// </summary>
public abstract class Callback
{
    /// <summary>Before the first epoch (also when resuming).</summary>
    public virtual void OnTrainBegin(TrainingContext context) { }
    /// <summary>Before each epoch.</summary>
    public virtual void OnEpochBegin(TrainingContext context, int epoch) { }
    /// <summary>After each optimizer step, with the batch's mean loss and size.</summary>
    public virtual void OnBatchEnd(TrainingContext context, int epoch, int batch, double loss, int samples) { }
    /// <summary>After each epoch, with its logs (after validation).</summary>
    public virtual void OnEpochEnd(TrainingContext context, EpochLog log) { }
    /// <summary>After the last epoch, an early stop, divergence or cancellation.</summary>
    public virtual void OnTrainEnd(TrainingContext context) { }
    /// <summary>Writes the callback's state into a checkpoint under <paramref name="prefix"/>.</summary>
    public virtual void SaveState(StateDict state, string prefix) { }
    /// <summary>Reads what <see cref="SaveState"/> wrote.</summary>
    public virtual void LoadState(StateDict state, string prefix) { }
}
