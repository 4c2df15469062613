using System.Diagnostics;
using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Lab;

/// <summary>The training the labs share: stratified subsets, one fit, accuracies, a per-step loss trace.</summary>
public static class LabTraining
{
    /// <summary>A stratified subset of <paramref name="count"/> samples (⌊count/K⌋ of each class, in a seeded order).</summary>
    public static TensorDataset Subset(TensorDataset data, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (count >= data.Count) return data;
        int k = Math.Max(1, data.NumClasses);
        var order = new Generator(seed).Permutation(data.Count);
        var taken = new int[k];
        int per = Math.Max(1, count / k);
        var pick = data.Labels is null ? order.Take(count).ToArray() : order.Where(i => taken[data.Labels.Data[i]]++ < per).ToArray();
        Array.Sort(pick);
        return data.Subset(pick);
    }

    /// <summary>
    /// Fits <paramref name="model"/> with cross-entropy (batch order and random layers from <paramref name="seed"/>);
    /// with <paramref name="board"/> (see <see cref="LabSettings.BoardFor"/>) the run is also logged to TensorBoard there.
    /// <paramref name="options"/>, when given (a lab with its own schedule), replace the ones built from
    /// <paramref name="batchSize"/>, <paramref name="seed"/> and <paramref name="transform"/>.
    /// </summary>
    public static History Fit(Module model, Optimizer optimizer, TensorDataset train, TensorDataset? validation, int epochs, int batchSize, int seed,
        IEnumerable<Callback>? callbacks = null, Func<Batch, Generator, Batch>? transform = null, string? board = null, TrainerOptions? options = null)
    {
        var trainer = new Trainer(options ?? new TrainerOptions { BatchSize = batchSize, Seed = seed, Transform = transform });
        var all = callbacks?.ToList() ?? [];
        if (board is not null) all.Add(new TensorBoard.TensorBoardCallback(new TensorBoard.SummaryWriter(board), closeAtEnd: true));
        return trainer.Fit(model, new CrossEntropyLoss(), optimizer, train, validation, epochs, all);
    }

    /// <summary>The mean training loss of the last epoch, or NaN when the run diverged (no verdict is drawn from NaN).</summary>
    public static double FinalLoss(History history) =>
        history.Diverged || history.Epochs.Count == 0 ? double.NaN : history.Epochs[^1]["loss"];

    /// <summary>The last value of a per-step series, or NaN when there is none (a run that diverged at its first step).</summary>
    public static double Last(IReadOnlyList<double> series) => series.Count == 0 ? double.NaN : series[^1];

    /// <summary>Accuracy of <paramref name="model"/> on <paramref name="data"/> (evaluation mode).</summary>
    public static double Accuracy(Module model, TensorDataset data) =>
        new Trainer(new TrainerOptions { BatchSize = 256 }).Evaluate(model, new CrossEntropyLoss(), data).Metrics["accuracy"];

    /// <summary>
    /// The share of rows of <paramref name="scores"/> (n × K, row-major; logits or probabilities) whose largest entry is
    /// the label of sample <paramref name="first"/> + row of <paramref name="data"/>.
    /// </summary>
    public static int Correct(ReadOnlySpan<float> scores, TensorDataset data, int first = 0)
    {
        int k = data.NumClasses, n = scores.Length / k, right = 0;
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int c = 1; c < k; c++) if (scores[i * k + c] > scores[i * k + best]) best = c;
            if (best == data.Labels!.Data[first + i]) right++;
        }
        return right;
    }

    /// <summary>Mean cross-entropy of <paramref name="model"/> on <paramref name="data"/> (evaluation mode).</summary>
    public static double Loss(Module model, TensorDataset data) =>
        new Trainer(new TrainerOptions { BatchSize = 256 }).Evaluate(model, new CrossEntropyLoss(), data).Loss;
}

/// <summary>Records the training loss and the elapsed seconds after every step.</summary>
public sealed class LossTrace : Callback
{
    private readonly Stopwatch _clock = new();

    /// <summary>Loss per step.</summary>
    public List<double> Losses { get; } = [];
    /// <summary>Seconds since training began, per step.</summary>
    public List<double> Seconds { get; } = [];

    /// <inheritdoc/>
    public override void OnTrainBegin(TrainingContext context) => _clock.Restart();

    /// <inheritdoc/>
    public override void OnBatchEnd(TrainingContext context, int epoch, int batch, double loss, int samples)
    {
        Losses.Add(loss);
        Seconds.Add(_clock.Elapsed.TotalSeconds);
    }
}
