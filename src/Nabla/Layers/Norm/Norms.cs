using Nabla.Autograd;

namespace Nabla;

/// <summary>Composed normalisation helpers: mean and biased variance over dims, normalise.</summary>
internal static class NormMath
{
    /// <summary>(x − E[x]) / √(Var[x] + ε) over <paramref name="dims"/>, biased variance, with the statistics returned (keepdim shape).</summary>
    public static (Tensor Normalized, Tensor Mean, Tensor Variance) Normalize(Tensor x, int[] dims, float eps)
    {
        var mean = x.Mean(dims, keepDim: true);
        var centered = x - mean;
        var variance = centered.Square().Mean(dims, keepDim: true);
        return (centered / (variance + eps).Sqrt(), mean, variance);
    }
}

/// <summary>
/// Layer normalisation (Ba et al.; torch.nn.LayerNorm): statistics over the last dims given by normalized_shape,
/// biased variance, per-element affine γ (ones) and β (zeros); the same in training and evaluation.
/// </summary>
public sealed class LayerNorm : Module
{
    /// <summary>Creates the layer for trailing dims <paramref name="normalizedShape"/>.</summary>
    public LayerNorm(int[] normalizedShape, float eps = 1e-5f, bool elementwiseAffine = true, bool bias = true)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d < 1)) throw new ArgumentException("LayerNorm: normalized_shape must be non-empty and positive.", nameof(normalizedShape));
        NormalizedShape = (int[])normalizedShape.Clone();
        Eps = eps;
        if (elementwiseAffine)
        {
            Weight = RegisterParameter("weight", Tensor.Ones(normalizedShape));
            if (bias) Bias = RegisterParameter("bias", Tensor.Zeros(normalizedShape));
        }
    }

    /// <summary>Creates the layer for one trailing dim.</summary>
    public LayerNorm(int normalizedShape, float eps = 1e-5f, bool elementwiseAffine = true) : this([normalizedShape], eps, elementwiseAffine) { }

    /// <summary>The normalised trailing dims.</summary>
    public int[] NormalizedShape { get; }
    /// <summary>ε.</summary>
    public float Eps { get; }
    /// <summary>γ, or null.</summary>
    public Tensor? Weight { get; }
    /// <summary>β, or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int k = NormalizedShape.Length;
        if (input.Rank < k || !input.Shape.Skip(input.Rank - k).SequenceEqual(NormalizedShape))
            throw new ArgumentException($"LayerNorm: input {Shapes.Format(input.Shape.ToArray())} must end in normalized_shape {Shapes.Format(NormalizedShape)}.", nameof(input));
        var y = NormMath.Normalize(input, Enumerable.Range(input.Rank - k, k).ToArray(), Eps).Normalized;
        if (Weight is not null) y = y * Weight;
        if (Bias is not null) y = y + Bias;
        return y;
    }

    /// <inheritdoc/>
    protected override string ExtraRepr => $"({string.Join(", ", NormalizedShape)},), eps={Eps}, elementwise_affine={Weight is not null}";
}

/// <summary>
/// Group normalisation (Wu &amp; He; torch.nn.GroupNorm): channels split into G groups, statistics per (sample, group)
/// over the group's channels and spatial dims, biased variance; per-channel affine γ, β. GroupNorm(1, C) normalises
/// like a layer norm over (C, …); GroupNorm(C, C) like an instance norm.
/// </summary>
public sealed class GroupNorm : Module
{
    /// <summary>Creates the layer; <paramref name="numChannels"/> must divide by <paramref name="numGroups"/>.</summary>
    public GroupNorm(int numGroups, int numChannels, float eps = 1e-5f, bool affine = true)
    {
        if (numGroups < 1 || numChannels % numGroups != 0) throw new ArgumentException("num_channels must be divisible by num_groups", nameof(numGroups));
        NumGroups = numGroups;
        NumChannels = numChannels;
        Eps = eps;
        if (affine)
        {
            Weight = RegisterParameter("weight", Tensor.Ones(numChannels));
            Bias = RegisterParameter("bias", Tensor.Zeros(numChannels));
        }
    }

    /// <summary>G.</summary>
    public int NumGroups { get; }
    /// <summary>C.</summary>
    public int NumChannels { get; }
    /// <summary>ε.</summary>
    public float Eps { get; }
    /// <summary>γ, or null.</summary>
    public Tensor? Weight { get; }
    /// <summary>β, or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank < 2 || input.Shape[1] != NumChannels)
            throw new ArgumentException($"GroupNorm: expected (N, {NumChannels}, …), got {Shapes.Format(input.Shape.ToArray())}.", nameof(input));
        int n = input.Shape[0];
        var grouped = input.Reshape(n, NumGroups, -1);
        var y = NormMath.Normalize(grouped, [2], Eps).Normalized.Reshape([.. input.Shape]);
        if (Weight is null) return y;
        var affineShape = new int[input.Rank];
        Array.Fill(affineShape, 1);
        affineShape[1] = NumChannels;
        return y * Weight.Reshape(affineShape) + Bias!.Reshape(affineShape);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr => $"{NumGroups}, {NumChannels}, eps={Eps}, affine={Weight is not null}";
}

/// <summary>
/// Instance normalisation (Ulyanov et al.; torch.nn.InstanceNorm1d/2d): statistics per (sample, channel) over the
/// spatial dims, biased variance. PyTorch's defaults: no affine, no running statistics; with
/// track_running_stats the running estimates follow BatchNorm's rule (unbiased variance, averaged over the batch)
/// and are used in evaluation; as in PyTorch, num_batches_tracked is kept but never incremented.
/// </summary>
public abstract class InstanceNormBase : Module
{
    private readonly int _rank;

    private protected InstanceNormBase(int numFeatures, float eps, float momentum, bool affine, bool trackRunningStats, int rank)
    {
        if (numFeatures < 1) throw new ArgumentOutOfRangeException(nameof(numFeatures), numFeatures, "InstanceNorm: num_features must be positive.");
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
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
    /// <summary>ε.</summary>
    public float Eps { get; }
    /// <summary>Weight of the new value in the running averages.</summary>
    public float Momentum { get; }
    /// <summary>γ, or null.</summary>
    public Tensor? Weight { get; }
    /// <summary>β, or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>Running mean, or null.</summary>
    public Tensor? RunningMean { get; }
    /// <summary>Running variance, or null.</summary>
    public Tensor? RunningVar { get; }
    /// <summary>Training batches seen, or null.</summary>
    public IntTensor? NumBatchesTracked { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != _rank || input.Shape[1] != NumFeatures)
            throw new ArgumentException($"{GetType().Name}: expected input of rank {_rank} with {NumFeatures} channels, got {Shapes.Format(input.Shape.ToArray())}.", nameof(input));
        var spatial = Enumerable.Range(2, input.Rank - 2).ToArray();
        var shape = new int[input.Rank];
        Array.Fill(shape, 1);
        shape[1] = NumFeatures;
        Tensor y;
        if (RunningMean is not null && !Training)
            y = (input - RunningMean.Reshape(shape)) / (RunningVar!.Reshape(shape) + Eps).Sqrt();
        else
        {
            var (normalized, mean, variance) = NormMath.Normalize(input, spatial, Eps);
            y = normalized;
            if (RunningMean is not null)
            {
                using (GradMode.NoGrad())
                {
                    int count = spatial.Aggregate(1, (p, d) => p * input.Shape[d]);
                    var batchMean = mean.Mean(0).Reshape(NumFeatures);
                    var batchVar = (variance * ((float)count / Math.Max(1, count - 1))).Mean(0).Reshape(NumFeatures);
                    RunningMean.MulInPlace(1 - Momentum).AddInPlace(batchMean, Momentum);
                    RunningVar!.MulInPlace(1 - Momentum).AddInPlace(batchVar, Momentum);
                }
            }
        }
        return Weight is null ? y : y * Weight.Reshape(shape) + Bias!.Reshape(shape);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr => $"{NumFeatures}, eps={Eps}, momentum={Momentum}, affine={Weight is not null}, track_running_stats={RunningMean is not null}";
}

/// <summary>Instance normalisation of (N, C, L) (torch.nn.InstanceNorm1d).</summary>
public sealed class InstanceNorm1d(int numFeatures, float eps = 1e-5f, float momentum = 0.1f, bool affine = false, bool trackRunningStats = false)
    : InstanceNormBase(numFeatures, eps, momentum, affine, trackRunningStats, 3);

/// <summary>Instance normalisation of (N, C, H, W) (torch.nn.InstanceNorm2d).</summary>
public sealed class InstanceNorm2d(int numFeatures, float eps = 1e-5f, float momentum = 0.1f, bool affine = false, bool trackRunningStats = false)
    : InstanceNormBase(numFeatures, eps, momentum, affine, trackRunningStats, 4);

/// <summary>
/// Switchable normalisation (Luo et al., after the authors' switchable_norm.py): the mean and variance are learned
/// softmax mixtures of instance statistics (per sample and channel over the spatial dims; the variance is the
/// UNBIASED one, as the reference code's x.var), layer statistics (mean_ln = mean over C of mean_in,
/// var_ln = mean over C of (var_in + mean_in²) − mean_ln²) and batch statistics (the same over N, or the running
/// estimates in evaluation, kept as r ← 0.997·r + 0.003·batch). Input (N, C, H, W) or (N, C, L); keys weight and
/// bias (1, C, 1, 1), mean_weight and var_weight (3), running_mean and running_var (1, C, 1).
/// </summary>
public sealed class SwitchNorm : Module
{
    /// <summary>Creates the layer for C channels.</summary>
    public SwitchNorm(int numFeatures, float eps = 1e-5f, float momentum = 0.997f)
    {
        NumFeatures = numFeatures;
        Eps = eps;
        Momentum = momentum;
        Weight = RegisterParameter("weight", Tensor.Ones(1, numFeatures, 1, 1));
        Bias = RegisterParameter("bias", Tensor.Zeros(1, numFeatures, 1, 1));
        MeanWeight = RegisterParameter("mean_weight", Tensor.Ones(3));
        VarWeight = RegisterParameter("var_weight", Tensor.Ones(3));
        RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(1, numFeatures, 1));
        RunningVar = RegisterBuffer("running_var", Tensor.Zeros(1, numFeatures, 1));
    }

    /// <summary>C.</summary>
    public int NumFeatures { get; }
    /// <summary>ε.</summary>
    public float Eps { get; }
    /// <summary>Weight of the old value in the running averages.</summary>
    public float Momentum { get; }
    /// <summary>γ (1, C, 1, 1).</summary>
    public Tensor Weight { get; }
    /// <summary>β (1, C, 1, 1).</summary>
    public Tensor Bias { get; }
    /// <summary>Logits of the (instance, layer, batch) mixture of means.</summary>
    public Tensor MeanWeight { get; }
    /// <summary>Logits of the mixture of variances.</summary>
    public Tensor VarWeight { get; }
    /// <summary>Running batch mean (1, C, 1).</summary>
    public Tensor RunningMean { get; }
    /// <summary>Running batch variance (1, C, 1).</summary>
    public Tensor RunningVar { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank < 3 || input.Shape[1] != NumFeatures)
            throw new ArgumentException($"SwitchNorm: expected (N, {NumFeatures}, H, W) or (N, {NumFeatures}, L), got {Shapes.Format(input.Shape.ToArray())}.", nameof(input));
        int n = input.Shape[0], c = NumFeatures;
        var x = input.Reshape(n, c, -1);
        int s = x.Shape[2];
        if (s < 2) throw new ArgumentException($"SwitchNorm: needs at least 2 spatial positions for the unbiased instance variance, got {s}.", nameof(input));
        var meanIn = x.Mean(2, keepDim: true);
        var varIn = (x - meanIn).Square().Sum(2, keepDim: true) / (float)(s - 1);
        var meanLn = meanIn.Mean(1, keepDim: true);
        var temp = varIn + meanIn.Square();
        var varLn = temp.Mean(1, keepDim: true) - meanLn.Square();
        Tensor meanBn, varBn;
        if (Training)
        {
            meanBn = meanIn.Mean(0, keepDim: true);
            varBn = temp.Mean(0, keepDim: true) - meanBn.Square();
            using (GradMode.NoGrad())
            {
                RunningMean.MulInPlace(Momentum).AddInPlace(meanBn.Detach(), 1 - Momentum);
                RunningVar.MulInPlace(Momentum).AddInPlace(varBn.Detach(), 1 - Momentum);
            }
        }
        else
        {
            meanBn = RunningMean;
            varBn = RunningVar;
        }
        var mw = MeanWeight.Softmax(0);
        var vw = VarWeight.Softmax(0);
        var mean = mw.Select(0, 0) * meanIn + mw.Select(0, 1) * meanLn + mw.Select(0, 2) * meanBn;
        var variance = vw.Select(0, 0) * varIn + vw.Select(0, 1) * varLn + vw.Select(0, 2) * varBn;
        var y = ((x - mean) / (variance + Eps).Sqrt()).Reshape([.. input.Shape]);
        var affine = new int[input.Rank];
        Array.Fill(affine, 1);
        affine[1] = c;
        return y * Weight.Reshape(affine) + Bias.Reshape(affine);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr => $"{NumFeatures}, eps={Eps}, momentum={Momentum}";
}
