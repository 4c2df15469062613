using Nabla.Training;

namespace Nabla.TensorBoard;

/// <summary>
/// Logs a training run to TensorBoard (Keras's TensorBoard callback): the batch loss every
/// <paramref name="stepEvery"/> steps ("batch/loss", x = the global step), every value of each epoch's log
/// ("epoch/loss", "epoch/val_accuracy", "epoch/lr" …, x = the epoch, 1-based), and per epoch a histogram of each
/// parameter and of its gradient ("weights/NAME", "gradients/NAME") when <paramref name="histograms"/>. With
/// <paramref name="closeAtEnd"/> the writer is disposed when training ends (one writer per run). Each logged step
/// serialises one small record (a few hundred bytes of managed allocation outside the captured step); a larger
/// <paramref name="stepEvery"/> logs fewer.
/// </summary>
public sealed class TensorBoardCallback(SummaryWriter writer, bool histograms = true, int stepEvery = 1, bool closeAtEnd = false) : Callback
{
    private readonly SummaryWriter _writer = writer ?? throw new ArgumentNullException(nameof(writer));
    private readonly int _every = stepEvery >= 1 ? stepEvery : throw new ArgumentOutOfRangeException(nameof(stepEvery), stepEvery, "TensorBoardCallback: stepEvery must be at least 1.");

    /// <inheritdoc/>
    public override void OnBatchEnd(TrainingContext context, int epoch, int batch, double loss, int samples)
    {
        long step = (long)epoch * context.BatchesPerEpoch + batch + 1;
        if (step % _every == 0) _writer.AddScalar("batch/loss", loss, step);
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(TrainingContext context, EpochLog log)
    {
        long step = log.Epoch + 1;
        foreach (var (key, value) in log.Logs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            if (double.IsFinite(value)) _writer.AddScalar("epoch/" + key, value, step);
        if (histograms)
            foreach (var (name, p) in context.Model.NamedParameters())
            {
                _writer.AddHistogram("weights/" + name, p.ToArray(), step);
                if (p.Grad is { } g) _writer.AddHistogram("gradients/" + name, g.ToArray(), step);
            }
        _writer.Flush();
    }

    /// <inheritdoc/>
    public override void OnTrainEnd(TrainingContext context)
    {
        if (closeAtEnd) _writer.Dispose();
        else _writer.Flush();
    }
}
