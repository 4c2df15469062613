using System.Globalization;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>
/// Shows training as it happens: on a terminal, one live line (the epoch, its running loss and, where the width
/// allows, samples/s; a bar, the percentage and the time left) with each finished epoch printed above it as a plain
/// line; when the output is a file or a pipe, only the plain line per epoch. The live line fits the terminal's width
/// (80 columns and up), so it never wraps.
/// </summary>
internal sealed class ProgressReporter(TextWriter log, ProgressContext? live, bool classification, IAnsiConsole? console = null) : Callback
{
    /// <summary>Runs <paramref name="run"/> under a live display on <paramref name="console"/>.</summary>
    public static History Live(IAnsiConsole console, bool classification, Func<Callback, History> run)
    {
        History? result = null;
        console.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 20 }, new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx => result = run(new ProgressReporter(TextWriter.Null, ctx, classification, console)));
        return result!;
    }

    // Room for the description: the width less the bar (20), the percentage (5), the time left (9) and the gaps.
    private int DescriptionWidth => Math.Max(20, (console?.Profile.Width ?? 80) - 40);

    private ProgressTask? _total, _epoch;
    private double _lossSum;
    private int _seen;
    private DateTime _epochStart;

    public override void OnTrainBegin(TrainingContext context)
    {
        if (live is null) return;
        _total = live.AddTask("total", maxValue: Math.Max(1, (double)context.BatchesPerEpoch * context.Epochs));
        _total.Increment(context.History.Epochs.Count * (double)context.BatchesPerEpoch);
    }

    public override void OnEpochBegin(TrainingContext context, int epoch)
    {
        _lossSum = 0;
        _seen = 0;
        _epochStart = DateTime.UtcNow;
        if (live is not null) _epoch = live.AddTask(Fit($"epoch {epoch + 1}/{context.Epochs}"), maxValue: Math.Max(1, context.BatchesPerEpoch));
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
            string text = string.Create(CultureInfo.InvariantCulture, $"epoch {epoch + 1}/{context.Epochs} loss {_lossSum / _seen:F4}");
            string more = string.Create(CultureInfo.InvariantCulture, $" {rate:N0}/s");
            _epoch.Description = Fit(text.Length + more.Length <= DescriptionWidth ? text + more : text);
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
            // The finished epoch goes above the live line, as a plain line that may wrap like any log line.
            _epoch.StopTask();
            console?.WriteLine(line);
        }
        else log.WriteLine(line);
    }

    // A description cut to the room it has (Spectre would wrap it onto more lines).
    private string Fit(string text) => Markup.Escape(text.Length <= DescriptionWidth ? text : text[..(DescriptionWidth - 1)] + "…");

    public override void OnTrainEnd(TrainingContext context)
    {
        _epoch?.StopTask();
        _total?.StopTask();
    }
}
