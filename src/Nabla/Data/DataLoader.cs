using System.Collections;
using System.Threading.Channels;

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
    public IEnumerable<Batch> Epoch(int epoch, CancellationToken cancellation = default) =>
        Background ? Prefetched(epoch, cancellation) : Sequential(epoch);

    private IEnumerable<Batch> Sequential(int epoch)
    {
        var order = Order(epoch);
        var ring = TakeRing();
        try
        {
            for (int b = 0; b < BatchesPerEpoch; b++) yield return Make(order, epoch, b, ring);
        }
        finally
        {
            _ring = ring;
        }
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
        var order = Order(epoch);
        var ring = TakeRing();
        int n = BatchesPerEpoch;
        // Two batches in flight: the one training and the next; more only costs memory.
        var channel = Channel.CreateBounded<Batch>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var producer = Task.Run(async () =>
        {
            try
            {
                for (int b = 0; b < n; b++) await channel.Writer.WriteAsync(Make(order, epoch, b, ring), stop.Token).ConfigureAwait(false);
                channel.Writer.TryComplete();
            }
            catch (Exception e)
            {
                channel.Writer.TryComplete(e);
            }
        }, CancellationToken.None);
        try
        {
            for (int b = 0; b < n; b++)
            {
                Batch? batch = null;
                try
                {
                    // A batch already waiting is taken without the task a blocking read allocates.
                    if (!channel.Reader.TryRead(out batch)) batch = channel.Reader.ReadAsync(stop.Token).AsTask().GetAwaiter().GetResult();
                }
                catch (ChannelClosedException e) when (e.InnerException is not null)
                {
                    throw new InvalidOperationException($"DataLoader: preparing batch {b} of epoch {epoch} failed: {e.InnerException.Message}", e.InnerException);
                }
                catch (OperationCanceledException)
                {
                    // Cancelled by the caller: the epoch simply ends. (Tested inside the handler: an exception
                    // filter on this iterator's hoisted token did not see the cancellation.)
                    if (!cancellation.IsCancellationRequested) throw;
                }
                if (batch is null) yield break;
                yield return batch;
            }
        }
        finally
        {
            stop.Cancel();
            try { producer.Wait(); } catch (AggregateException) { }
            if (ring is not null) _ring = ring;
        }
    }

    // ReusedBatches batches of buffers for the full batch size, handed out in turn, and one more for an epoch's shorter
    // last batch (reused by the next epoch's last batch, long after this one is done with).
    private sealed class BatchRing
    {
        private readonly Batch?[] _slots = new Batch?[ReusedBatches];
        private Batch? _short;
        private int _next;

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
