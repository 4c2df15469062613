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

    /// <summary>A new storage holding a copy of host values.</summary>
    Storage FromHost(ReadOnlySpan<float> values);

    /// <summary>Copies a (strided) tensor's values to a row-major host span.</summary>
    void ToHost(Tensor src, Span<float> dst);

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
}
