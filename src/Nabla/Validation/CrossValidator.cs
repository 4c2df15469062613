using System.Diagnostics;
using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Validation;

/// <summary>Everything one training run needs; a factory makes a fresh one per split.</summary>
/// <param name="Model">A freshly initialised model.</param>
/// <param name="Loss">The loss.</param>
/// <param name="Optimizer">An optimizer over <paramref name="Model"/>'s parameters.</param>
/// <param name="Epochs">Epochs to train.</param>
/// <param name="Options">Trainer options (batch size, seed, schedule …).</param>
/// <param name="Callbacks">Callbacks, e.g. early stopping on the inner validation set.</param>
public sealed record TrainingSetup(Module Model, Loss Loss, Optimizer Optimizer, int Epochs, TrainerOptions? Options = null, IReadOnlyList<Callback>? Callbacks = null);

/// <summary>One split's outcome.</summary>
/// <param name="Index">Split number.</param>
/// <param name="TrainCount">Samples trained on.</param>
/// <param name="ValidationCount">Samples validated on.</param>
/// <param name="Metrics">Scores on the split's validation samples: loss, accuracy, precision, recall, f1 (or mse, mae, r2).</param>
/// <param name="EpochsRun">Epochs actually trained.</param>
/// <param name="BestEpoch">The epoch early stopping kept (1-based), or null.</param>
/// <param name="Seconds">Wall time of training and scoring.</param>
/// <param name="History">The training history.</param>
/// <param name="Model">The trained model, when kept.</param>
public sealed record FoldResult(int Index, int TrainCount, int ValidationCount, IReadOnlyDictionary<string, double> Metrics,
    int EpochsRun, int? BestEpoch, double Seconds, History History, Module? Model);

/// <summary>Mean, sample standard deviation and the 95% confidence interval of the mean (Student's t, n − 1 degrees of freedom).</summary>
/// <param name="Mean">Mean over splits.</param>
/// <param name="Std">Sample standard deviation (n − 1); 0 for one split.</param>
/// <param name="Lower">Lower end of the 95% interval of the mean.</param>
/// <param name="Upper">Upper end.</param>
/// <param name="Count">Splits.</param>
public sealed record MetricSummary(double Mean, double Std, double Lower, double Upper, int Count)
{
    /// <summary>Summarises values; one value gives an interval of zero width.</summary>
    public static MetricSummary Of(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        int n = values.Count;
        if (n == 0) return new MetricSummary(double.NaN, double.NaN, double.NaN, double.NaN, 0);
        double mean = values.Average();
        if (n == 1) return new MetricSummary(mean, 0, mean, mean, 1);
        double std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (n - 1));
        double half = MathNet.Numerics.Distributions.StudentT.InvCDF(0, 1, n - 1, 0.975) * std / Math.Sqrt(n);
        return new MetricSummary(mean, std, mean - half, mean + half, n);
    }

    /// <summary>Population standard deviation (n), as scikit-learn's std_test_score.</summary>
    public double PopulationStd => Count <= 1 ? 0 : Std * Math.Sqrt((Count - 1.0) / Count);
}

/// <summary>All splits of a cross-validation and their summaries.</summary>
public sealed class CrossValidationResult
{
    internal CrossValidationResult(string scheme, FoldResult[] folds)
    {
        Scheme = scheme;
        Folds = folds;
        Summaries = folds.Length == 0
            ? new Dictionary<string, MetricSummary>()
            : folds[0].Metrics.Keys.ToDictionary(k => k, k => MetricSummary.Of(folds.Select(f => f.Metrics[k]).ToArray()));
    }

    /// <summary>The splitter's name.</summary>
    public string Scheme { get; }
    /// <summary>Per split, in split order.</summary>
    public IReadOnlyList<FoldResult> Folds { get; }
    /// <summary>Mean ± std and 95% interval of each metric.</summary>
    public IReadOnlyDictionary<string, MetricSummary> Summaries { get; }

    /// <summary>The kept fold models as one averaged predictor.</summary>
    /// <exception cref="InvalidOperationException">the models were not kept.</exception>
    public Ensemble ToEnsemble(EnsembleMode mode = EnsembleMode.Probabilities)
    {
        if (Folds.Any(f => f.Model is null)) throw new InvalidOperationException("ToEnsemble: run the cross-validation with keepModels: true.");
        return new Ensemble(Folds.Select(f => f.Model!), mode);
    }
}

/// <summary>
/// Runs a fresh model per split of a <see cref="Splitter"/> and scores it on that split's validation samples.
/// With an inner validation fraction, early stopping and plateau schedules watch a holdout carved from the split's
/// training part, so the reported scores never saw the samples they are measured on. Splits may run in parallel
/// (up to <see cref="Parallelism"/> at once); each split's result depends only on its index, so the numbers are
/// the same for any parallelism.
/// </summary>
public sealed class CrossValidator
{
    /// <summary>Creates the validator.</summary>
    /// <param name="splitter">The validation scheme.</param>
    /// <param name="parallelism">Splits trained at once (each uses the shared kernel thread pool).</param>
    /// <param name="innerValidation">Fraction of each split's training part held out for early stopping (0 = none).</param>
    public CrossValidator(Splitter splitter, int parallelism = 1, double innerValidation = 0)
    {
        ArgumentNullException.ThrowIfNull(splitter);
        if (parallelism < 1) throw new ArgumentOutOfRangeException(nameof(parallelism), parallelism, "CrossValidator: parallelism must be at least 1.");
        if (!(innerValidation >= 0 && innerValidation < 1)) throw new ArgumentOutOfRangeException(nameof(innerValidation), innerValidation, "CrossValidator: the inner validation fraction must be in [0, 1).");
        Splitter = splitter;
        Parallelism = parallelism;
        InnerValidation = innerValidation;
    }

    /// <summary>
    /// Distributes the splits over ranks (null or one rank: all here): split i trains on rank i mod size (each rank trains
    /// whole runs), and every rank receives every split's result, so all ranks return the same
    /// <see cref="CrossValidationResult"/> and take the same decisions after it. Results from other ranks carry their
    /// numbers but an empty <see cref="FoldResult.History"/> and no model (keepModels needs one process).
    /// <c>onFold</c> is called for this rank's splits as they finish, then for the others' in index order.
    /// </summary>
    public Distributed.ICommunicator? Communicator { get; set; }

    /// <summary>
    /// Ranks that train each run together, data-parallel (default 1: each rank trains whole runs): the ranks are split
    /// into groups of this many (MPI_Comm_split), each group trains every split i with i mod groups = its index, and
    /// <see cref="Parallelism"/> is 1 within a group. The communicator's size must be a multiple of it.
    /// </summary>
    public int RanksPerRun { get; set; } = 1;

    /// <summary>The scheme.</summary>
    public Splitter Splitter { get; }
    /// <summary>Splits run at once.</summary>
    public int Parallelism { get; }
    /// <summary>Inner holdout fraction for early stopping.</summary>
    public double InnerValidation { get; }

    /// <summary>Cross-validates: for each split, <paramref name="factory"/>(split index) builds the run, which trains and is scored.</summary>
    /// <param name="data">All samples available for training and validation (keep the test set out).</param>
    /// <param name="factory">Makes a fresh setup per split (seed it from the index for different initialisations).</param>
    /// <param name="groups">Group ids for grouped schemes.</param>
    /// <param name="keepModels">Keep each split's trained model (for <see cref="CrossValidationResult.ToEnsemble"/>).</param>
    /// <param name="onFold">Called as each split finishes (from the thread that ran it).</param>
    /// <param name="cancellation">Stops starting new splits.</param>
    public CrossValidationResult Run(TensorDataset data, Func<int, TrainingSetup> factory, IReadOnlyList<int>? groups = null,
        bool keepModels = false, Action<FoldResult>? onFold = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return Run(data, (i, _) => factory(i), groups, keepModels, onFold, cancellation);
    }

    /// <summary>
    /// As <see cref="Run(TensorDataset, Func{int, TrainingSetup}, IReadOnlyList{int}?, bool, Action{FoldResult}?, CancellationToken)"/>,
    /// with the factory also given the samples the split trains on (for schedules sized in batches).
    /// </summary>
    public CrossValidationResult Run(TensorDataset data, Func<int, TensorDataset, TrainingSetup> factory, IReadOnlyList<int>? groups = null,
        bool keepModels = false, Action<FoldResult>? onFold = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(factory);
        var splits = Splitter.Split(data, groups).ToArray();
        var results = new FoldResult[splits.Length];
        var options = new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellation };
        var comm = Communicator is { Size: > 1 } c ? c : null;
        if (comm is not null && keepModels) throw new InvalidOperationException("CrossValidator: keepModels needs every split's model in one process; run it without a communicator.");
        int per = comm is null ? 1 : RanksPerRun;
        if (per < 1 || (comm is not null && comm.Size % per != 0))
            throw new ArgumentException($"CrossValidator: RanksPerRun {RanksPerRun} must divide the {comm?.Size ?? 1} ranks.");
        // Groups of `per` ranks train a run together; one rank per group is a group of one.
        using var group = per > 1 ? comm!.Split(comm.Rank / per, comm.Rank) : null;
        int teams = comm is null ? 1 : comm.Size / per, team = comm is null ? 0 : comm.Rank / per;
        if (group is not null) options.MaxDegreeOfParallelism = 1;   // one run at a time: its collectives must not interleave
        int[] mine = [.. Enumerable.Range(0, splits.Length).Where(i => i % teams == team)];
        Parallel.For(0, mine.Length, options, j =>
        {
            int i = mine[j];
            results[i] = RunSplit(data, splits[i], i, factory, keepModels, group);
            onFold?.Invoke(results[i]);
        });
        if (comm is not null)
        {
            // Every group's results (from its first rank) to rank 0, then all of them to every rank.
            bool speaks = group is null || group.Rank == 0;
            // Ranks wait here for the others' whole runs (uneven shares of the splits): no collective time limit.
            var limit = comm.Timeout;
            comm.Timeout = Timeout.InfiniteTimeSpan;
            byte[][]? gathered;
            try
            {
                gathered = comm.Gather(FoldCodec.Encode(speaks ? mine.Select(i => results[i]) : []), 0);
            }
            finally
            {
                comm.Timeout = limit;
            }
            byte[] all = gathered is null ? [] : FoldCodec.Encode(gathered.SelectMany(FoldCodec.Decode));
            var length = new byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(length, all.Length);
            comm.Broadcast(length.AsSpan(), 0);
            if (comm.Rank != 0) all = new byte[System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(length)];
            comm.Broadcast(all.AsSpan(), 0);
            foreach (var f in FoldCodec.Decode(all))
                if (results[f.Index] is null)
                {
                    results[f.Index] = f;
                    onFold?.Invoke(f);
                }
        }
        return new CrossValidationResult(Splitter.Name, results);
    }

    /// <summary>
    /// Makes every split and its inner holdout without training anything, so that a scheme the data cannot support
    /// fails before any run starts (and before anything is written).
    /// </summary>
    /// <returns>Per split: the samples it trains on, holds out for early stopping, and scores.</returns>
    /// <exception cref="ArgumentException">a split, or its inner holdout, cannot be made; the message names the split.</exception>
    public IReadOnlyList<(int Train, int Inner, int Validation)> Check(TensorDataset data, IReadOnlyList<int>? groups = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var sizes = new List<(int, int, int)>();
        int index = 0;
        foreach (var split in Splitter.Split(data, groups))
        {
            if (split.Train.Length == 0 || split.Validation.Length == 0)
                throw new ArgumentException($"CrossValidator: split {index + 1} has {split.Train.Length} training and {split.Validation.Length} validation samples; both need at least one.");
            var train = data.Subset(split.Train);
            try
            {
                var (kept, inner) = InnerSplit(train, index);
                sizes.Add((kept.Length, inner.Length, split.Validation.Length));
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"CrossValidator: split {index + 1}'s inner holdout for early stopping ({InnerValidation:0.##} of {train.Count} samples): {e.Message}", e);
            }
            index++;
        }
        return sizes;
    }

    // The part of a split's training samples kept for training and the part held out for early stopping (indices into it).
    private (int[] Train, int[] Inner) InnerSplit(TensorDataset train, int index)
    {
        if (InnerValidation == 0) return (Enumerable.Range(0, train.Count).ToArray(), []);
        var holdout = new Holdout(InnerValidation, stratify: train.Task == TaskKind.Classification && CanStratify(train), seed: index);
        var s = holdout.Split(train).Single();
        return (s.Train, s.Validation);
    }

    private FoldResult RunSplit(TensorDataset data, Split split, int index, Func<int, TensorDataset, TrainingSetup> factory, bool keepModels,
        Distributed.ICommunicator? group = null)
    {
        var clock = Stopwatch.StartNew();
        var train = data.Subset(split.Train);
        var validation = data.Subset(split.Validation);
        TensorDataset? inner = null;
        if (InnerValidation > 0)
        {
            var (kept, held) = InnerSplit(train, index);
            inner = train.Subset(held);
            train = train.Subset(kept);
        }
        var setup = factory(index, train);
        var trainer = new Trainer(group is null ? setup.Options : (setup.Options ?? new TrainerOptions()).WithCommunicator(group));
        var callbacks = setup.Callbacks ?? [];
        var history = trainer.Fit(setup.Model, setup.Loss, setup.Optimizer, train, inner, setup.Epochs, callbacks);
        var eval = trainer.Evaluate(setup.Model, setup.Loss, validation);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal) { ["loss"] = eval.Loss };
        foreach (var (k, v) in eval.Metrics) metrics[k] = v;
        int? best = callbacks.OfType<EarlyStopping>().FirstOrDefault() is { } es && history.Epochs.Count > 0 ? es.BestEpoch + 1 : null;
        return new FoldResult(index, train.Count, validation.Count, metrics, history.Epochs.Count, best, clock.Elapsed.TotalSeconds, history,
            keepModels ? setup.Model : null);
    }

    private static bool CanStratify(TensorDataset d) =>
        d.Labels!.Data.GroupBy(y => y).All(g => g.Count() >= 2);

    /// <summary>Trains the chosen configuration once on all of <paramref name="data"/> (scikit-learn's refit).</summary>
    public static Module Refit(TensorDataset data, TrainingSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        new Trainer(setup.Options).Fit(setup.Model, setup.Loss, setup.Optimizer, data, null, setup.Epochs, setup.Callbacks);
        return setup.Model;
    }
}

/// <summary>A fold's numbers as JSON bytes, to send between ranks (the history and the model stay where they were made).</summary>
internal static class FoldCodec
{
    public static byte[] Encode(IEnumerable<FoldResult> folds)
    {
        using var stream = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(stream))
        {
            w.WriteStartArray();
            foreach (var f in folds)
            {
                w.WriteStartObject();
                w.WriteNumber("index", f.Index);
                w.WriteNumber("train", f.TrainCount);
                w.WriteNumber("validation", f.ValidationCount);
                w.WriteNumber("epochs", f.EpochsRun);
                if (f.BestEpoch is { } b) w.WriteNumber("best", b);
                w.WriteNumber("seconds", f.Seconds);
                w.WriteStartObject("metrics");
                // Non-finite values (a NaN loss) as strings: JSON has no NaN.
                foreach (var (k, v) in f.Metrics)
                    if (double.IsFinite(v)) w.WriteNumber(k, v); else w.WriteString(k, v.ToString(System.Globalization.CultureInfo.InvariantCulture));
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return stream.ToArray();
    }

    public static IEnumerable<FoldResult> Decode(byte[] bytes)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(bytes);
        var list = new List<FoldResult>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var m in e.GetProperty("metrics").EnumerateObject())
                metrics[m.Name] = m.Value.ValueKind == System.Text.Json.JsonValueKind.Number ? m.Value.GetDouble()
                    : double.Parse(m.Value.GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            list.Add(new FoldResult(e.GetProperty("index").GetInt32(), e.GetProperty("train").GetInt32(), e.GetProperty("validation").GetInt32(), metrics,
                e.GetProperty("epochs").GetInt32(), e.TryGetProperty("best", out var b) ? b.GetInt32() : null, e.GetProperty("seconds").GetDouble(), new History(), null));
        }
        return list.OrderBy(f => f.Index);
    }
}
