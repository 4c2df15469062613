namespace Nabla.Backends;

/// <summary>Elementwise functions of one tensor. <c>p0</c>/<c>p1</c> carry scalar parameters where named.</summary>
public enum UnaryOp
{
    /// <summary>y = x (a copy).</summary>
    Identity,
    /// <summary>y = −x.</summary>
    Neg,
    /// <summary>y = eˣ.</summary>
    Exp,
    /// <summary>y = ln x.</summary>
    Log,
    /// <summary>y = √x.</summary>
    Sqrt,
    /// <summary>y = |x|.</summary>
    Abs,
    /// <summary>y = max(x, 0).</summary>
    Relu,
    /// <summary>y = 1 / (1 + e⁻ˣ).</summary>
    Sigmoid,
    /// <summary>y = tanh x.</summary>
    Tanh,
    /// <summary>y = x^p0.</summary>
    Pow,
    /// <summary>y = min(max(x, p0), p1).</summary>
    Clamp,
    /// <summary>y = x + p0.</summary>
    AddScalar,
    /// <summary>y = x · p0.</summary>
    MulScalar,
    /// <summary>y = sign(x) ∈ {−1, 0, 1}.</summary>
    Sign,
    /// <summary>y = x·Φ(x) = ½x·(1 + erf(x/√2)) (exact GELU).</summary>
    Gelu,
    /// <summary>y = ½x·(1 + tanh(√(2/π)(x + 0.044715x³))) (GELU, tanh approximation).</summary>
    GeluTanh,
    /// <summary>y = ln(1 + e^(p0·x))/p0, or x where p0·x &gt; p1 (softplus with β = p0, threshold = p1).</summary>
    Softplus,
}

/// <summary>Elementwise functions of two broadcast tensors. The "Grad"/"Mask" entries serve backward passes.</summary>
public enum BinaryOp
{
    /// <summary>a + b.</summary>
    Add,
    /// <summary>a − b.</summary>
    Sub,
    /// <summary>a · b.</summary>
    Mul,
    /// <summary>a / b.</summary>
    Div,
    /// <summary>a + p0·b with one rounding (fused multiply-add), as PyTorch's <c>add(a, b, alpha)</c>.</summary>
    AddScaled,
    /// <summary>max(a, b), NaN propagating.</summary>
    Maximum,
    /// <summary>min(a, b), NaN propagating.</summary>
    Minimum,
    /// <summary>a if b &gt; 0 else 0 (ReLU backward: a = upstream, b = input).</summary>
    ReluGrad,
    /// <summary>a · b · (1 − b) (sigmoid backward: a = upstream, b = output).</summary>
    SigmoidGrad,
    /// <summary>a · (1 − b²) (tanh backward: a = upstream, b = output).</summary>
    TanhGrad,
    /// <summary>a if p0 ≤ b ≤ p1 else 0 (clamp backward: a = upstream, b = input).</summary>
    ClampGrad,
    /// <summary>a · GELU′(b) (exact GELU backward: a = upstream, b = input).</summary>
    GeluGrad,
    /// <summary>a · GELU′(b) for the tanh approximation.</summary>
    GeluTanhGrad,
    /// <summary>a · σ(p0·b), or a where p0·b &gt; p1 (softplus backward: a = upstream, b = input).</summary>
    SoftplusGrad,
    /// <summary>1 if a &gt; b else 0.</summary>
    Greater,
    /// <summary>1 if a ≥ b else 0.</summary>
    GreaterEqual,
    /// <summary>1 if a == b else 0.</summary>
    Equal,
}

/// <summary>Reductions over a set of dims.</summary>
public enum ReduceOp
{
    /// <summary>Σ.</summary>
    Sum,
    /// <summary>max, NaN propagating.</summary>
    Max,
}

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
