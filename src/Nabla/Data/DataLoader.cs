using System.Collections;

namespace Nabla.Data;

/// <summary>One mini-batch: inputs, and labels or targets, with the dataset indices they came from.</summary>
/// <param name="Features">(B, …) inputs.</param>
/// <param name="Labels">(B) class labels, or null for regression.</param>
/// <param name="Targets">(B, outputs) regression targets, or null.</param>
/// <param name="Indices">Positions in the dataset.</param>
public sealed record Batch(Tensor Features, IntTensor? Labels, Tensor? Targets, int[] Indices)
{
    /// <summary>Samples in the batch.</summary>
    public int Count => Indices.Length;
}

/// <summary>
/// Mini-batches of a <see cref="TensorDataset"/> (torch.utils.data.DataLoader): batch size, a shuffle drawn from
/// (seed, epoch) so any epoch's order can be reproduced without replaying the others, drop-last, and a background
/// worker that assembles the next batch (and runs <see cref="Transform"/>, e.g. augmentation) while the model
/// trains on the current one. The same seed gives the same batches, with or without the worker.
/// </summary>
public sealed class DataLoader
{
    /// <summary>Creates a loader.</summary>
    /// <exception cref="ArgumentOutOfRangeException">batch size below 1.</exception>
    public DataLoader(TensorDataset dataset, int batchSize, bool shuffle = true, bool dropLast = false, int seed = 0, bool background = true)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "DataLoader: batch size must be at least 1.");
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        Seed = seed;
        Background = background;
    }

    /// <summary>The data.</summary>
    public TensorDataset Dataset { get; }
    /// <summary>Samples per batch (the last may be smaller unless <see cref="DropLast"/>).</summary>
    public int BatchSize { get; }
    /// <summary>Whether each epoch draws a new order.</summary>
    public bool Shuffle { get; }
    /// <summary>Whether an incomplete last batch is skipped.</summary>
    public bool DropLast { get; }
    /// <summary>Seed of the shuffles.</summary>
    public int Seed { get; }
    /// <summary>Whether batches are prepared on a background thread.</summary>
    public bool Background { get; }

    /// <summary>
    /// Applied to each batch on the worker with a generator for that batch (seeded from seed, epoch and batch
    /// index, so results do not depend on timing); augmentation plugs in here.
    /// </summary>
    public Func<Batch, Generator, Batch>? Transform { get; init; }

    /// <summary>
    /// Write batches of pixel data with class labels into a few buffers the loader keeps and reuses instead of new
    /// tensors: a batch's tensors are overwritten once the loader has produced <see cref="ReusedBatches"/> more, so
    /// use it only in a loop that is done with each batch when it asks for the next (<see cref="Training.Trainer"/>
    /// without a transform, <c>nabla bench</c>). Same values as new batches; default false.
    /// </summary>
    public bool ReuseBuffers { get; init; }

    /// <summary>How many consecutive batches have distinct buffers under <see cref="ReuseBuffers"/>: the one in use, the
    /// worker's two in flight and the one it is writing.</summary>
    public const int ReusedBatches = 4;

    private BatchRing? _ring;   // the reusable buffers, taken by one epoch at a time

    /// <summary>Batches per epoch.</summary>
    public int BatchesPerEpoch => DropLast ? Dataset.Count / BatchSize : (Dataset.Count + BatchSize - 1) / BatchSize;

    /// <summary>The sample order of an epoch: 0..N−1, or a permutation from (seed, epoch).</summary>
    public int[] Order(int epoch) => Shuffle
        ? Generator.ForStream(Seed, epoch).Permutation(Dataset.Count)
        : Enumerable.Range(0, Dataset.Count).ToArray();

    /// <summary>The batches of one epoch, in order.</summary>
    /// <remarks>
    /// With <see cref="Background"/> the worker thread lives until the enumeration ends or its enumerator is disposed
    /// (foreach and LINQ do both); an enumerator dropped half-way without Dispose leaves it waiting.
    /// </remarks>
    public IEnumerable<Batch> Epoch(int epoch, CancellationToken cancellation = default) =>
        Background ? Prefetched(epoch, cancellation) : Sequential(epoch);

    private IEnumerable<Batch> Sequential(int epoch)
    {
        var ring = TakeRing();
        var order = OrderFor(epoch, ring);
        try
        {
            for (int b = 0; b < BatchesPerEpoch; b++) yield return Make(order, epoch, b, ring);
        }
        finally
        {
            _ring = ring;
        }
    }

    // The epoch's order, in the ring's array when buffers are reused (a new N-int array each epoch is what a loader
    // allocates most otherwise).
    private int[] OrderFor(int epoch, BatchRing? ring)
    {
        if (ring is null) return Order(epoch);
        var order = ring.Order ??= new int[Dataset.Count];
        if (Shuffle) Generator.ForStream(Seed, epoch).Permutation(order);
        else for (int i = 0; i < order.Length; i++) order[i] = i;
        return order;
    }

    // An epoch's buffers: the loader's own, or new ones when another epoch is being read at the same time.
    private BatchRing? TakeRing() =>
        ReuseBuffers && Dataset.HoldsPixels && Dataset.Task == TaskKind.Classification ? Interlocked.Exchange(ref _ring, null) ?? new BatchRing() : null;

    private Batch Make(int[] order, int epoch, int b, BatchRing? ring)
    {
        int start = b * BatchSize, count = Math.Min(BatchSize, order.Length - start);
        if (ring is not null)
        {
            var reused = ring.Next(Dataset, count, BatchSize);
            order.AsSpan(start, count).CopyTo(reused.Indices);
            Dataset.RowsInto(reused.Indices, reused.Features);
            for (int k = 0; k < count; k++) reused.Labels!.Data[k] = Dataset.Labels!.Data[reused.Indices[k]];
            return Transform is null ? reused : Transform(reused, Generator.ForStream(Seed ^ 0x5bd1e995, epoch * 65536 + b));
        }
        var idx = order.AsSpan(start, count).ToArray();
        var it = new IntTensor(idx, count);
        var x = Dataset.Rows(idx);
        var batch = Dataset.Task == TaskKind.Classification
            ? new Batch(x, new IntTensor(idx.Select(i => Dataset.Labels!.Data[i]).ToArray(), count), null, idx)
            : new Batch(x, null, Dataset.Targets!.Detach().IndexSelect(0, it), idx);
        return Transform is null ? batch : Transform(batch, Generator.ForStream(Seed ^ 0x5bd1e995, epoch * 65536 + b));
    }

    private IEnumerable<Batch> Prefetched(int epoch, CancellationToken cancellation)
    {
        var ring = TakeRing();
        var order = OrderFor(epoch, ring);
        int n = BatchesPerEpoch;
        var handoff = new Handoff();
        using var registration = cancellation.Register(static h => ((Handoff)h!).Stop(), handoff);
        // A thread of its own for the epoch: the worker blocks while two batches wait.
        var producer = Task.Factory.StartNew(() =>
        {
            try
            {
                for (int b = 0; b < n; b++)
                    if (!handoff.Put(Make(order, epoch, b, ring))) return;
                handoff.Finish(null);
            }
            catch (Exception e)
            {
                handoff.Finish(e);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            for (int b = 0; b < n; b++)
            {
                var batch = handoff.Take(out var error);
                if (error is not null)
                    throw new InvalidOperationException($"DataLoader: preparing batch {b} of epoch {epoch} failed: {error.Message}", error);
                if (batch is null) yield break;   // cancelled by the caller: the epoch simply ends
                yield return batch;
            }
        }
        finally
        {
            handoff.Stop();
            try { producer.Wait(); } catch (AggregateException) { }
            if (ring is not null) _ring = ring;
        }
    }

    // Two batches in flight between the worker and the reader (the one training and the next; more only costs
    // memory), under one lock with Monitor waits: nothing is allocated per batch (a bounded Channel allocated an
    // operation for each blocked write).
    private sealed class Handoff
    {
        private readonly object _gate = new();
        private readonly Batch?[] _queue = new Batch?[2];
        private int _head, _count;
        private bool _finished, _stopped;
        private Exception? _error;

        /// <summary>Worker: queues a batch, waiting while two do; false once the reader has stopped.</summary>
        public bool Put(Batch batch)
        {
            lock (_gate)
            {
                while (_count == _queue.Length && !_stopped) Monitor.Wait(_gate);
                if (_stopped) return false;
                _queue[(_head + _count) % _queue.Length] = batch;
                _count++;
                Monitor.PulseAll(_gate);
                return true;
            }
        }

        /// <summary>Worker: no more batches; <paramref name="error"/> is what stopped it early, if anything.</summary>
        public void Finish(Exception? error)
        {
            lock (_gate)
            {
                _finished = true;
                _error = error;
                Monitor.PulseAll(_gate);
            }
        }

        /// <summary>Reader: the next batch, in order; null after <see cref="Stop"/> or when the worker failed (then <paramref name="error"/>).</summary>
        public Batch? Take(out Exception? error)
        {
            lock (_gate)
            {
                while (_count == 0 && !_finished && !_stopped) Monitor.Wait(_gate);
                error = null;
                if (_stopped) return null;
                if (_count == 0)
                {
                    error = _error ?? new InvalidOperationException("the worker ended early");
                    return null;
                }
                var batch = _queue[_head]!;
                _queue[_head] = null;
                _head = (_head + 1) % _queue.Length;
                _count--;
                Monitor.PulseAll(_gate);
                return batch;
            }
        }

        /// <summary>Reader (or cancellation): no more batches wanted; wakes both sides.</summary>
        public void Stop()
        {
            lock (_gate)
            {
                _stopped = true;
                Monitor.PulseAll(_gate);
            }
        }
    }

    // ReusedBatches batches of buffers for the full batch size, handed out in turn, and one more for an epoch's shorter
    // last batch (reused by the next epoch's last batch, long after this one is done with).
    private sealed class BatchRing
    {
        private readonly Batch?[] _slots = new Batch?[ReusedBatches];
        private Batch? _short;
        private int _next;

        /// <summary>The epoch's sample order.</summary>
        public int[]? Order;

        public Batch Next(TensorDataset data, int count, int batchSize)
        {
            if (count != batchSize) return _short is { } s && s.Count == count ? s : _short = New(data, count);
            int i = _next;
            _next = (_next + 1) % _slots.Length;
            return _slots[i] ??= New(data, count);
        }

        private static Batch New(TensorDataset data, int count) =>
            new(Tensor.Zeros([count, .. data.SampleShape]), new IntTensor(new int[count], count), null, new int[count]);
    }
}
