using System.Globalization;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// Shows training as it happens: a live Spectre.Console progress bar (epoch, loss, accuracy, samples/s, ETA)
/// on a terminal, or one plain line per epoch when the output is a file or a pipe.
/// </summary>
internal sealed class ProgressReporter(TextWriter log, ProgressContext? live, bool classification) : Callback
{
    private ProgressTask? _total, _epoch;
    private double _lossSum;
    private int _seen;
    private DateTime _epochStart;

    public override void OnTrainBegin(TrainingContext context)
    {
        if (live is null) return;
        _total = live.AddTask("[bold]total[/]", maxValue: Math.Max(1, (double)context.BatchesPerEpoch * context.Epochs));
        _total.Increment(context.History.Epochs.Count * (double)context.BatchesPerEpoch);
    }

    public override void OnEpochBegin(TrainingContext context, int epoch)
    {
        _lossSum = 0;
        _seen = 0;
        _epochStart = DateTime.UtcNow;
        if (live is not null) _epoch = live.AddTask($"epoch {epoch + 1}/{context.Epochs}", maxValue: Math.Max(1, context.BatchesPerEpoch));
    }

    public override void OnBatchEnd(TrainingContext context, int epoch, int batch, double loss, int samples)
    {
        _lossSum += loss * samples;
        _seen += samples;
        if (_epoch is null) return;
        _epoch.Increment(1);
        _total?.Increment(1);
        if (batch % 10 == 0 || batch == context.BatchesPerEpoch - 1)
        {
            double rate = _seen / Math.Max((DateTime.UtcNow - _epochStart).TotalSeconds, 1e-9);
            _epoch.Description = string.Create(CultureInfo.InvariantCulture,
                $"epoch {epoch + 1}/{context.Epochs}  loss {_lossSum / _seen:F4}  {rate:N0} samples/s");
        }
    }

    public override void OnEpochEnd(TrainingContext context, EpochLog e)
    {
        string metric = classification ? "accuracy" : "mae";
        string line = string.Create(CultureInfo.InvariantCulture,
            $"epoch {e.Epoch + 1}/{context.Epochs}  loss {e["loss"]:F4}  {metric} {e[metric]:F4}") +
            (e.Logs.ContainsKey("val_loss") ? string.Create(CultureInfo.InvariantCulture, $"  val_loss {e["val_loss"]:F4}  val_{metric} {e["val_" + metric]:F4}") : "") +
            string.Create(CultureInfo.InvariantCulture, $"  lr {e["lr"]:G3}  {e["samples_per_second"]:N0} samples/s  {e["seconds"]:F1} s");
        if (_epoch is not null)
        {
            _epoch.Description = Markup.Escape(line);
            _epoch.StopTask();
        }
        else log.WriteLine(line);
    }

    public override void OnTrainEnd(TrainingContext context)
    {
        _epoch?.StopTask();
        _total?.StopTask();
    }
}
