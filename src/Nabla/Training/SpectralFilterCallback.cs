using Nabla.Training;

namespace Nabla;

/// <summary>Applies <see cref="SpectralFilter"/> to the model every <c>everySteps</c> optimizer steps, or once when training ends (everySteps = 0).</summary>
public sealed class SpectralFilterCallback(int everySteps, int? rank = null, double? energy = null) : Callback
{
    private long _steps;

    /// <inheritdoc/>
    public override void OnBatchEnd(TrainingContext context, int epoch, int batch, double loss, int samples)
    {
        if (everySteps > 0 && ++_steps % everySteps == 0) SpectralFilter.Apply(context.Model, rank, energy);
    }

    /// <inheritdoc/>
    public override void OnTrainEnd(TrainingContext context)
    {
        if (everySteps == 0 && !context.History.Diverged) SpectralFilter.Apply(context.Model, rank, energy);
    }
}
