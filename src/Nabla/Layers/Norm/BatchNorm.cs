using Nabla.Autograd;
using Nabla.Ops;

namespace Nabla;

/// <summary>
/// Batch normalisation exactly as PyTorch (Ioffe &amp; Szegedy): in training, y = γ(x − μ_B)/√(σ²_B + ε) + β with the
/// batch mean and biased variance per channel over N and the spatial dims, and running estimates updated as
/// r ← (1 − momentum)·r + momentum·batch (momentum 0.1 on the new value; null = cumulative average 1/t), the
/// running variance taking the unbiased batch variance; in evaluation the running estimates are used. Weight
/// starts at 1, bias at 0; buffers running_mean (0), running_var (1), num_batches_tracked (I64 in files).
/// </summary>
public abstract class BatchNormBase : Module
{
    private readonly int _rank;

    /// <summary>Creates the layer for inputs of rank <paramref name="rank"/> (or rank − 1 for 1-D also accepting (N, C)).</summary>
    private protected BatchNormBase(int numFeatures, float eps, float? momentum, bool affine, bool trackRunningStats, int rank)
    {
        if (numFeatures < 1) throw new ArgumentOutOfRangeException(nameof(numFeatures), numFeatures, "BatchNorm: num_features must be positive.");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        Affine = affine;
        TrackRunningStats = trackRunningStats;
        _rank = rank;
        if (affine)
        {
            Weight = RegisterParameter("weight", Tensor.Ones(numFeatures));
            Bias = RegisterParameter("bias", Tensor.Zeros(numFeatures));
        }
        if (trackRunningStats)
        {
            RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(numFeatures));
            RunningVar = RegisterBuffer("running_var", Tensor.Ones(numFeatures));
            NumBatchesTracked = RegisterBuffer("num_batches_tracked", IntTensor.Zeros());
        }
    }

    /// <summary>C.</summary>
    public int NumFeatures { get; }
    /// <summary>ε added to the variance.</summary>
    public float Eps { get; }
    /// <summary>Weight of the new batch in the running averages; null = cumulative average.</summary>
    public float? Momentum { get; }
    /// <summary>Whether γ and β are learned.</summary>
    public bool Affine { get; }
    /// <summary>Whether running estimates are kept (and used in evaluation).</summary>
    public bool TrackRunningStats { get; }
    /// <summary>γ, or null.</summary>
    public Tensor? Weight { get; }
    /// <summary>β, or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>Running mean, or null.</summary>
    public Tensor? RunningMean { get; }
    /// <summary>Running (unbiased) variance, or null.</summary>
    public Tensor? RunningVar { get; }
    /// <summary>Training batches seen.</summary>
    public IntTensor? NumBatchesTracked { get; }

    /// <summary>
    /// Synchronised batch statistics (PyTorch's SyncBatchNorm): the reductions that sum the per-channel Σx, Σx² and
    /// counts over the ranks of a data-parallel job, forward and backward (<see cref="Distributed.SyncBatchNorm"/> sets
    /// them); null: each rank normalises with its own shard's statistics.
    /// </summary>
    internal (Backends.IReduction Forward, Backends.IReduction Backward)? Synchronized { get; set; }

    /// <summary>Checks the input's rank and channel count.</summary>
    protected virtual void CheckInput(Tensor input)
    {
        if (input.Rank != _rank || input.Shape[1] != NumFeatures)
            throw new ArgumentException($"{GetType().Name}: expected input of rank {_rank} with {NumFeatures} channels, got {Shapes.Format(input.Shape.ToArray())}.", nameof(input));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Forward(input, relu: false);

    /// <summary>
    /// relu(BatchNorm(input)) as one node: the bits of this layer then a ReLU, forward and backward, without the ReLU's
    /// tensor and passes (containers call it where a ReLU follows and neither layer has forward hooks).
    /// </summary>
    public Tensor ForwardRelu(Tensor input) => Forward(input, relu: true);

    private Tensor Forward(Tensor input, bool relu)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInput(input);
        bool useBatch = Training || !TrackRunningStats;
        if (!useBatch)
            return BatchNormOp.Forward(input, Weight, Bias, RunningMean!, RunningVar!, Eps, relu).Output;
        if (Synchronized is { } sync) return ForwardSynchronized(input, relu, sync.Forward, sync.Backward);
        var (y, mean, variance) = BatchNormOp.Forward(input, Weight, Bias, null, null, Eps, relu);
        // r ← (1 − f)·r + f·μ_B and v ← (1 − f)·v + f·σ²_B·m/(m − 1) (the unbiased variance), f the momentum or
        // 1/batches seen, m values per channel: a launch, so a captured step advances them too.
        if (Training && TrackRunningStats)
            input.Backend.BatchNormRunningStatistics(RunningMean!, RunningVar!, NumBatchesTracked!, Momentum, mean, variance, input.Numel / NumFeatures);
        return y;
    }

    // The batch statistics of every rank's shard together: Σx, Σx² and the count per channel summed over ranks (one
    // reduction, differentiable), then μ = Σx/m and σ² = Σx²/m − μ², composed from autograd ops. The running
    // statistics take the global count, read on the host: a synchronised step runs eagerly (it is not captured).
    private Tensor ForwardSynchronized(Tensor input, bool relu, Backends.IReduction forward, Backends.IReduction backward)
    {
        int c = NumFeatures;
        int[] dims = [0, .. Enumerable.Range(2, input.Rank - 2)];
        int[] view = [1, c, .. Enumerable.Repeat(1, input.Rank - 2)];
        var local = Tensor.Concat([input.Sum(dims), (input * input).Sum(dims), Tensor.FromArray([(float)(input.Numel / c)], 1)], 0);
        var global = AllReduceOp.Forward(local, forward, backward);
        var count = global.Narrow(0, 2 * c, 1);
        var mean = global.Narrow(0, 0, c) / count;
        var variance = global.Narrow(0, c, c) / count - mean * mean;
        var y = (input - mean.Reshape(view)) / (variance.Reshape(view) + Eps).Sqrt();
        if (Affine) y = y * Weight!.Reshape(view) + Bias!.Reshape(view);
        if (relu) y = y.Relu();
        if (Training && TrackRunningStats)
            input.Backend.BatchNormRunningStatistics(RunningMean!, RunningVar!, NumBatchesTracked!, Momentum, mean.Detach(), variance.Detach(), (long)count.Item());
        return y;
    }

    /// <inheritdoc/>
    protected override string ExtraRepr =>
        $"{NumFeatures}, eps={Eps}, momentum={(Momentum is null ? "None" : Momentum.Value.ToString(System.Globalization.CultureInfo.InvariantCulture))}, affine={Affine}, track_running_stats={TrackRunningStats}";
}

/// <summary>Batch normalisation of (N, C) or (N, C, L) inputs (torch.nn.BatchNorm1d).</summary>
public sealed class BatchNorm1d(int numFeatures, float eps = 1e-5f, float? momentum = 0.1f, bool affine = true, bool trackRunningStats = true)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats, 3)
{
    /// <inheritdoc/>
    protected override void CheckInput(Tensor input)
    {
        if ((input.Rank != 2 && input.Rank != 3) || input.Shape[1] != NumFeatures)
            throw new ArgumentException($"BatchNorm1d: expected (N, {NumFeatures}) or (N, {NumFeatures}, L), got {Shapes.Format(input.Shape.ToArray())}.", nameof(input));
    }
}

/// <summary>Batch normalisation of (N, C, H, W) inputs (torch.nn.BatchNorm2d).</summary>
public sealed class BatchNorm2d(int numFeatures, float eps = 1e-5f, float? momentum = 0.1f, bool affine = true, bool trackRunningStats = true)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats, 4);
