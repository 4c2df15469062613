namespace Nabla.Backends;

/// <summary>
/// The seam between ops and kernels. Ops (with autograd) allocate outputs through the backend of their inputs
/// and call these methods; a backend owns storage and computes. CPU is the only backend now; a CUDA backend
/// implements the same interface. Inputs may be any strided view; outputs are written through their own
/// strides (usually contiguous). Shapes are already checked by the ops.
/// </summary>
public interface IBackend
{
    /// <summary>Which device this backend computes on.</summary>
    Device Device { get; }

    /// <summary>A new storage of <paramref name="length"/> floats, zero-filled.</summary>
    Storage Allocate(int length);

    /// <summary>A new storage of <paramref name="length"/> floats with arbitrary contents, for outputs a kernel overwrites entirely.</summary>
    Storage AllocateUninitialized(int length);

    /// <summary>
    /// An int buffer of <paramref name="length"/> (pooling argmax indices) with arbitrary contents, given back once
    /// <paramref name="owner"/> is unreachable (or kept by a capture while it records).
    /// </summary>
    int[] AllocateIndices(int length, object owner);

    /// <summary>A new storage holding a copy of host values.</summary>
    Storage FromHost(ReadOnlySpan<float> values);

    /// <summary>Copies a (strided) tensor's values to a row-major host span.</summary>
    void ToHost(Tensor src, Span<float> dst);

    /// <summary>
    /// Whether a one-element tensor's value is finite — the one host read a step may make before it ends: a replayed
    /// step stops at this point when it is not (so an optimizer update after it is not taken).
    /// </summary>
    bool Finite(Tensor scalar);

    /// <summary>
    /// One launch over several tensors: packs <c>w · tᵢ</c> (w = <see cref="IReduction.Weight"/> when it runs) into one
    /// buffer, hands it to <see cref="IReduction.Reduce"/> (a sum over processes), and writes the result back into the
    /// tensors. Captured and replayed like any launch, allocating nothing then (data-parallel gradient averaging).
    /// </summary>
    void AllReduce(IReadOnlyList<Tensor> tensors, IReduction reduction);

    /// <summary>dst ← src elementwise; both any strides, same shape.</summary>
    void Copy(Tensor src, Tensor dst);

    /// <summary>dst ← value everywhere.</summary>
    void Fill(Tensor dst, float value);

    /// <summary>y ← f(x) elementwise, same shape.</summary>
    void Unary(UnaryOp op, Tensor x, Tensor y, float p0 = 0, float p1 = 0);

    /// <summary>y ← f(a, b) with a and b broadcast to y's shape.</summary>
    void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y, float p0 = 0, float p1 = 0);

    /// <summary>y ← cond ≠ 0 ? a : b, all three broadcast to y's shape.</summary>
    void Where(Tensor cond, Tensor a, Tensor b, Tensor y);

    /// <summary>y ← reduction of x over <paramref name="dims"/> (sorted, distinct); y has x's shape with those dims set to 1.</summary>
    void Reduce(ReduceOp op, Tensor x, int[] dims, Tensor y);

    /// <summary>y ← softmax (or log-softmax) of x along <paramref name="dim"/>, numerically stable.</summary>
    void Softmax(Tensor x, int dim, bool log, Tensor y);

    /// <summary>
    /// y ← a · b as batched matrices: a (…, m, k), b (…, k, n), y (…, m, n), batch dims already broadcast
    /// (a batch stride of 0 repeats a matrix). Adds into y when <paramref name="accumulate"/>.
    /// </summary>
    void MatMul(Tensor a, Tensor b, Tensor y, bool accumulate);

    /// <summary>y ← x gathered along dim (torch.gather): y[…i…] = x[…index[…i…]…].</summary>
    void Gather(Tensor x, int dim, IntTensor index, Tensor y);

    /// <summary>dx[…index[…i…]…] += g[…i…] along dim (the gather backward).</summary>
    void ScatterAdd(Tensor g, int dim, IntTensor index, Tensor dx);

    /// <summary>y ← rows (slices along dim) of x picked by a 1-D index.</summary>
    void IndexSelect(Tensor x, int dim, IntTensor index, Tensor y);

    /// <summary>dx.select(dim, index[i]) += g.select(dim, i) (the index-select backward).</summary>
    void IndexAdd(Tensor g, int dim, IntTensor index, Tensor dx);

    /// <summary>Index of the maximum along dim (first on ties), as int32.</summary>
    void ArgMax(Tensor x, int dim, IntTensor result);

    /// <summary>y ← conv(x, w) + bias for x (N, C, H, W), w (OutC, C/groups, kh, kw), bias (OutC) or null, y (N, OutC, OH, OW).</summary>
    void Conv2d(Tensor x, Tensor w, Tensor? bias, in Kernels.ConvGeometry geometry, Tensor y);

    /// <summary>gx ← ∂L/∂x of a convolution given gy = ∂L/∂y.</summary>
    void Conv2dBackwardData(Tensor gy, Tensor w, in Kernels.ConvGeometry geometry, Tensor gx);

    /// <summary>gw ← ∂L/∂w of a convolution given gy and its input x.</summary>
    void Conv2dBackwardWeight(Tensor gy, Tensor x, in Kernels.ConvGeometry geometry, Tensor gw);

    /// <summary>y ← max pooling of x; <paramref name="argmax"/> receives each output's in-plane input index.</summary>
    void MaxPool2d(Tensor x, in Kernels.PoolGeometry geometry, Tensor y, int[] argmax);

    /// <summary>gx ← gy scattered to the argmax positions.</summary>
    void MaxPool2dBackward(Tensor gy, int[] argmax, in Kernels.PoolGeometry geometry, Tensor gx);

    /// <summary>y ← average pooling of x.</summary>
    void AvgPool2d(Tensor x, in Kernels.PoolGeometry geometry, bool countIncludePad, int? divisorOverride, Tensor y);

    /// <summary>gx ← the average-pooling backward of gy.</summary>
    void AvgPool2dBackward(Tensor gy, in Kernels.PoolGeometry geometry, bool countIncludePad, int? divisorOverride, Tensor gx);

    /// <summary>y (N, C, OH, OW) ← adaptive average pooling of x (N, C, H, W).</summary>
    void AdaptiveAvgPool2d(Tensor x, Tensor y);

    /// <summary>gx ← the adaptive-average-pooling backward of gy.</summary>
    void AdaptiveAvgPool2dBackward(Tensor gy, Tensor gx);

    /// <summary>
    /// Batch normalisation of x (N, C, …): with <paramref name="batchStatistics"/> the per-channel mean and biased
    /// variance of x go to <paramref name="mean"/> and <paramref name="variance"/>, else those are read;
    /// invstd ← 1/√(σ² + ε); y ← γ(x − μ)·invstd + β (γ, β null = 1, 0), then y ← max(y, 0) with
    /// <paramref name="relu"/>; x̂ ← (x − μ)·invstd when given.
    /// </summary>
    void BatchNorm(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor variance, Tensor invstd, float eps, bool batchStatistics, Tensor y, Tensor? xhat, bool relu = false);

    /// <summary>
    /// The batch-normalisation backward into whichever of gx, gweight, gbias are given (overwritten); with
    /// <paramref name="reluOutput"/> (the fused ReLU's output) gy counts only where that output is positive.
    /// </summary>
    void BatchNormBackward(Tensor gy, Tensor xhat, Tensor invstd, Tensor? weight, bool batchStatistics, Tensor? gx, Tensor? gweight, Tensor? gbias, Tensor? reluOutput = null);

    /// <summary>
    /// One training batch's running-estimate update: batches ← batches + 1; f = momentum or 1/batches;
    /// r ← (1 − f)·r + f·μ_B; v ← (1 − f)·v + f·σ²_B·m/(m − 1), in double.
    /// </summary>
    void BatchNormRunningStatistics(Tensor runningMean, Tensor runningVar, IntTensor batchesTracked, double? momentum, Tensor mean, Tensor variance, long m);

    /// <summary>
    /// dst ← samples drawn from <paramref name="generator"/> when the launch runs, one per element, row-major:
    /// uniform a + (b − a)·u; normal a + b·z (z in double); Bernoulli b where u &lt; 1 − a, else 0 (a = p).
    /// </summary>
    void Random(Tensor dst, RandomKind kind, float a, float b, Generator generator);

    /// <summary>
    /// The class-index target of a cross-entropy or NLL loss, read when it runs: q (M, C) ← class weight ⊙ smoothed
    /// one-hot rows; or the per-row weight w[yᵢ] and a safe index; and denominator ← Σ w[yᵢ] over targets not equal
    /// to <paramref name="ignoreIndex"/>. A target out of [0, classes) throws, naming <paramref name="loss"/>.
    /// </summary>
    void ClassTargets(IntTensor target, int classes, Tensor? weight, int ignoreIndex, float labelSmoothing, Tensor? q, Tensor? weightPerRow,
        IntTensor? safeTarget, Tensor denominator, string loss);

    /// <summary>
    /// One fused optimizer update of parameter p with gradient g and its state tensors s0, s1, s2 (as
    /// <see cref="OptimizerRule"/> lists them; all contiguous, p's shape), bit-identical to the optimizer's composed
    /// tensor ops; <paramref name="scalars"/> is prepared and read when the launch runs, so a replay advances it.
    /// </summary>
    void OptimizerStep(OptimizerRule rule, Tensor p, Tensor g, Tensor? s0, Tensor? s1, Tensor? s2, OptimizerScalars scalars);
}

/// <summary>The distributions <see cref="IBackend.Random"/> draws from.</summary>
public enum RandomKind
{
    /// <summary>Uniform on [a, b).</summary>
    Uniform,
    /// <summary>Normal with mean a and standard deviation b.</summary>
    Normal,
    /// <summary>b with probability 1 − a, else 0 (a dropout mask).</summary>
    Bernoulli,
}

/// <summary>The update rules <see cref="IBackend.OptimizerStep"/> runs in one fused pass.</summary>
public enum OptimizerRule
{
    /// <summary>torch.optim.SGD (state: momentum buffer or none).</summary>
    Sgd,
    /// <summary>torch.optim.RMSprop (state: square average, grad average or none, momentum buffer or none).</summary>
    RmsProp,
    /// <summary>torch.optim.Adagrad (state: sum).</summary>
    Adagrad,
    /// <summary>torch.optim.Adam / AdamW (state: exp_avg, exp_avg_sq, max_exp_avg_sq or none).</summary>
    Adam,
}

/// <summary>What <see cref="IBackend.AllReduce"/> runs over the packed values (read when the launch runs, every replay).</summary>
public interface IReduction
{
    /// <summary>The factor each value is scaled by before the reduction.</summary>
    float Weight { get; }

    /// <summary>Reduces the packed values in place (an allreduce over ranks).</summary>
    void Reduce(Span<float> packed);

    /// <summary>A buffer of at least <paramref name="length"/> floats to pack into (kept and reused by the owner).</summary>
    float[] Buffer(int length);
}
