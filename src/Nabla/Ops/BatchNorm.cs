using Nabla.Autograd;

namespace Nabla.Ops;

/// <summary>
/// Fused batch normalisation of (N, C, …): with batch statistics (training) y = γ(x − μ_B)/√(σ²_B + ε) + β, μ_B and
/// the biased σ²_B per channel over N and the spatial dims; with given statistics (evaluation) the same formula
/// with them. The op returns the batch mean and biased variance for the caller's running averages.
/// </summary>
internal sealed class BatchNormOp(Tensor[] inputs, Tensor xhat, float[] invstd, int n, int c, int s, bool batchStatistics, bool affine) : Node(inputs)
{
    private Tensor? _xhat = xhat;

    public override string Name => "BatchNorm";

    // Every gradient is a new tensor of this node's own (Engine keeps it as a leaf's Grad without a copy).
    protected internal override bool GradientsAreFresh => true;

    public static (Tensor Output, float[] Mean, float[] Variance) Forward(Tensor x, Tensor? weight, Tensor? bias, float[]? mean, float[]? variance, float eps)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 2) throw new ArgumentException($"BatchNorm: input {Shapes.Format(x.shape)} must be (N, C, …).", nameof(x));
        if (x.Storage is not CpuStorage) throw new NotSupportedException("BatchNorm: the fused kernel runs on the CPU backend only.");
        int n = x.shape[0], c = x.shape[1], s = x.Numel / Math.Max(1, n * c);
        if ((weight is not null && weight.Numel != c) || (bias is not null && bias.Numel != c))
            throw new ArgumentException($"BatchNorm: weight and bias must have {c} values, one per channel of input {Shapes.Format(x.shape)}.");
        bool batch = mean is null;
        if (batch && n * s <= 1)
            throw new ArgumentException($"Expected more than 1 value per channel when training, got input size {Shapes.Format(x.shape)}");
        // Work on the storage directly (no host copies of the activations, which are the largest tensors of a CNN step).
        var xc = x.Contiguous();
        var xd = Span(xc);
        mean ??= new float[c];
        variance ??= new float[c];
        if (batch) Kernels.BatchNorm.Statistics(xd, n, c, s, mean, variance);
        var invstd = new float[c];
        InvStd(variance, eps, invstd);
        var output = Tensor.Uninitialized(x.Backend, [.. x.shape]);
        var inputs = new List<Tensor> { x };
        if (weight is not null) inputs.Add(weight);
        if (bias is not null) inputs.Add(bias);
        bool record = GradMode.ShouldRecord(inputs.ToArray());
        var xhat = record ? Tensor.Uninitialized(x.Backend, [.. x.shape]) : null;
        Kernels.BatchNorm.Normalize(xd, n, c, s, mean, invstd, weight?.ToArray() ?? default, bias?.ToArray() ?? default, Span(output), xhat is null ? default : Span(xhat));
        if (record) output = output.WithGradFn(new BatchNormOp(inputs.ToArray(), xhat!, invstd, n, c, s, batch, weight is not null));
        GC.KeepAlive(xc); // its buffer must not go back to the pool while the kernels read it through xd
        return (output, mean, variance);
    }

    /// <summary>1/√(σ² + ε) per channel.</summary>
    internal static void InvStd(ReadOnlySpan<float> variance, float eps, Span<float> invstd)
    {
        for (int i = 0; i < invstd.Length; i++) invstd[i] = 1f / MathF.Sqrt(variance[i] + eps);
    }

    // A contiguous tensor's values as a span: the CPU storage itself, or a host copy for another backend.
    private static Span<float> Span(Tensor t) =>
        t.Storage is CpuStorage cpu && t.IsContiguous ? cpu.Data.AsSpan(t.offset, t.Numel) : t.ToArray();

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var gc = g.Contiguous();
        var dy = Span(gc);
        var gamma = affine ? Inputs[1].ToArray() : null;
        var dxTensor = NeedsGrad(0) ? Tensor.Uninitialized(g.Backend, [.. Inputs[0].shape]) : null;
        var dgamma = affine ? new float[c] : null;
        var dbeta = Inputs.Count > (affine ? 2 : 1) ? new float[c] : null;
        Kernels.BatchNorm.Backward(dy, Span(_xhat!), n, c, s, invstd, gamma ?? default, batchStatistics, dxTensor is null ? default : Span(dxTensor),
            dgamma ?? default, dbeta ?? default);
        GC.KeepAlive(gc);
        if (dxTensor is not null) grads[0] = dxTensor;
        int k = 1;
        if (affine) grads[k++] = Tensor.FromArray(dgamma!, [.. Inputs[1].shape]);
        if (dbeta is not null) grads[k] = Tensor.FromArray(dbeta, [.. Inputs[k].shape]);
    }

    protected override void ReleaseSaved() => _xhat = null;
}
