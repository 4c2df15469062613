using Nabla.Autograd;

namespace Nabla.Ops;

/// <summary>
/// Fused batch normalisation of (N, C, …): with batch statistics (training) y = γ(x − μ_B)/√(σ²_B + ε) + β, μ_B and
/// the biased σ²_B per channel over N and the spatial dims; with given statistics (evaluation) the same formula
/// with them. The op returns the batch mean and biased variance (as tensors) for the caller's running averages.
/// </summary>
internal sealed class BatchNormOp(Tensor[] inputs, Tensor xhat, Tensor invstd, bool batchStatistics, bool affine, Tensor? reluOutput) : Node(inputs)
{
    private Tensor? _xhat = xhat, _reluOutput = reluOutput;
    private readonly bool _fused = reluOutput is not null;

    public override string Name => _fused ? "BatchNormRelu" : "BatchNorm";

    // Every gradient is a new tensor of this node's own (Engine keeps it as a leaf's Grad without a copy).
    protected internal override bool GradientsAreFresh => true;

    /// <summary>The smallest plane (values per sample and channel) that the ReLU is fused into; measured in docs/PERFORMANCE.md.</summary>
    internal const int MinFusedPlane = 64;

    /// <summary>
    /// Normalises <paramref name="x"/> with its batch statistics (<paramref name="mean"/> null) or with the given
    /// <paramref name="mean"/> and <paramref name="variance"/> (C values each); with <paramref name="relu"/> the output
    /// is max(y, 0), one node with the bits of BatchNorm then ReLU (values and gradients).
    /// </summary>
    public static (Tensor Output, Tensor Mean, Tensor Variance) Forward(Tensor x, Tensor? weight, Tensor? bias, Tensor? mean, Tensor? variance, float eps, bool relu = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 2) throw new ArgumentException($"BatchNorm: input {Shapes.Format(x.shape)} must be (N, C, …).", nameof(x));
        int n = x.shape[0], c = x.shape[1], s = x.Numel / Math.Max(1, n * c);
        if ((weight is not null && weight.Numel != c) || (bias is not null && bias.Numel != c))
            throw new ArgumentException($"BatchNorm: weight and bias must have {c} values, one per channel of input {Shapes.Format(x.shape)}.");
        // The fused kernels work plane by plane: below a few vectors per plane (BatchNorm1d's planes are one value)
        // the per-plane calls cost more than the ReLU's own pass, so the ReLU runs apart there (the same bits).
        if (relu && s < MinFusedPlane)
        {
            var unfused = Forward(x, weight, bias, mean, variance, eps);
            return (ReluOp.Forward(unfused.Output), unfused.Mean, unfused.Variance);
        }
        bool batch = mean is null;
        if (batch && n * s <= 1)
            throw new ArgumentException($"Expected more than 1 value per channel when training, got input size {Shapes.Format(x.shape)}");
        var backend = x.Backend;
        mean ??= Tensor.Uninitialized(backend, [c]);
        variance ??= Tensor.Uninitialized(backend, [c]);
        var invstd = Tensor.Uninitialized(backend, [c]);
        var output = Tensor.Uninitialized(backend, [.. x.shape]);
        var inputs = new List<Tensor> { x };
        if (weight is not null) inputs.Add(weight);
        if (bias is not null) inputs.Add(bias);
        var all = inputs.ToArray();
        bool record = GradMode.ShouldRecord(all);
        var xhat = record ? Tensor.Uninitialized(backend, [.. x.shape]) : null;
        backend.BatchNorm(x, weight, bias, mean, variance, invstd, eps, batch, output, xhat, relu);
        if (record) output = output.WithGradFn(new BatchNormOp(all, xhat!, invstd, batch, weight is not null, relu ? output : null));
        return (output, mean, variance);
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var backend = g.Backend;
        var dx = NeedsGrad(0) ? Tensor.Uninitialized(backend, [.. x.shape]) : null;
        var weight = affine ? Inputs[1] : null;
        bool hasBias = Inputs.Count > (affine ? 2 : 1);
        var dgamma = affine ? Tensor.Uninitialized(backend, [.. Inputs[1].shape]) : null;
        var dbeta = hasBias ? Tensor.Uninitialized(backend, [.. Inputs[^1].shape]) : null;
        backend.BatchNormBackward(g, _xhat!, invstd, weight, batchStatistics, dx, dgamma, dbeta, _reluOutput);
        if (dx is not null) grads[0] = dx;
        int k = 1;
        if (affine) grads[k++] = dgamma;
        if (dbeta is not null) grads[k] = dbeta;
    }

    protected override void ReleaseSaved()
    {
        _xhat = null;
        _reluOutput = null;
    }
}
