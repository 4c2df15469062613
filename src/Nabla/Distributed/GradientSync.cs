namespace Nabla.Distributed;

/// <summary>
/// Data-parallel gradient averaging: after each rank's backward pass on its shard of the global batch, every gradient
/// (and the loss) is scaled by the rank's share of the batch, <c>nᵣ / B</c>, and summed over ranks, so each rank holds
/// the gradient of the global batch's mean loss, <c>Σᵣ (nᵣ / B) ∇Lᵣ</c>, as one process on the whole batch would
/// (up to float rounding in another order). One bucket per step: the tensors are packed into one buffer, reduced with
/// one <see cref="ICommunicator.AllReduceSum(Span{float})"/> (the same bits on every rank) and unpacked, by one
/// backend launch (<see cref="Backends.IBackend.AllReduce"/>): a captured step (<see cref="StepGraph"/>) replays it,
/// reading <see cref="Weight"/> when it runs, and allocates nothing.
/// </summary>
public sealed class GradientSync(ICommunicator communicator) : Backends.IReduction
{
    /// <summary>The communicator the sums go over.</summary>
    public ICommunicator Communicator { get; } = communicator ?? throw new ArgumentNullException(nameof(communicator));

    /// <summary>This rank's share of the current global batch, <c>nᵣ / B</c> (0 for a rank with no rows in it).</summary>
    public float Weight { get; set; } = 1f;

    /// <summary>Seconds spent in the reductions so far (the sums over ranks, waiting for the slowest rank included).</summary>
    public double Seconds { get; private set; }

    /// <summary>Reductions run so far.</summary>
    public long Count { get; private set; }

    /// <summary>Scales and sums <paramref name="tensors"/> (on one backend) over ranks in place.</summary>
    public void Reduce(IReadOnlyList<Tensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) return;
        tensors[0].Backend.AllReduce(tensors, this);
    }

    private float[] _buffer = [];

    // One buffer for every step (launches run one at a time): it grows, never shrinks.
    float[] Backends.IReduction.Buffer(int length) => _buffer.Length >= length ? _buffer : _buffer = new float[length];

    void Backends.IReduction.Reduce(Span<float> packed)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        Communicator.AllReduceSum(packed);
        Seconds += System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
        Count++;
    }
}
