using Nabla.Autograd;
using Nabla.Backends;
using Nabla.Ops;

namespace Nabla;

// The public op surface. Primitives (one file each under Ops/, forward beside backward) are called here;
// composites are written in terms of them and need no backward of their own.
public sealed partial class Tensor
{
    // ---- arithmetic (broadcasting) ----------------------------------------------------------------------

    /// <summary>a + b elementwise, numpy/PyTorch broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => AddOp.Forward(a, b);
    /// <summary>a − b elementwise, broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => SubOp.Forward(a, b);
    /// <summary>a · b elementwise (Hadamard), broadcasting. For the matrix product use <see cref="MatMul(Tensor, Tensor)"/>.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => MulOp.Forward(a, b);
    /// <summary>a / b elementwise, broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => DivOp.Forward(a, b);
    /// <summary>−x.</summary>
    public static Tensor operator -(Tensor x) => NegOp.Forward(x);
    /// <summary>x + c.</summary>
    public static Tensor operator +(Tensor x, float c) => AddScalarOp.Forward(x, c);
    /// <summary>c + x.</summary>
    public static Tensor operator +(float c, Tensor x) => AddScalarOp.Forward(x, c);
    /// <summary>x − c.</summary>
    public static Tensor operator -(Tensor x, float c) => AddScalarOp.Forward(x, -c);
    /// <summary>c − x.</summary>
    public static Tensor operator -(float c, Tensor x) => AddScalarOp.Forward(NegOp.Forward(x), c);
    /// <summary>x · c.</summary>
    public static Tensor operator *(Tensor x, float c) => MulScalarOp.Forward(x, c);
    /// <summary>c · x.</summary>
    public static Tensor operator *(float c, Tensor x) => MulScalarOp.Forward(x, c);
    /// <summary>x / c (as x · (1/c), exact for powers of two).</summary>
    public static Tensor operator /(Tensor x, float c) => DivOp.Forward(x, Scalar(c));
    /// <summary>c / x.</summary>
    public static Tensor operator /(float c, Tensor x) => DivOp.Forward(Scalar(c), x);

    /// <summary>a + b (broadcasting).</summary>
    public static Tensor Add(Tensor a, Tensor b) => AddOp.Forward(a, b);
    /// <summary>a − b (broadcasting).</summary>
    public static Tensor Sub(Tensor a, Tensor b) => SubOp.Forward(a, b);
    /// <summary>a · b elementwise (broadcasting).</summary>
    public static Tensor Mul(Tensor a, Tensor b) => MulOp.Forward(a, b);
    /// <summary>a / b elementwise (broadcasting).</summary>
    public static Tensor Div(Tensor a, Tensor b) => DivOp.Forward(a, b);
    /// <summary>max(a, b) elementwise (broadcasting, NaN propagating; ties share the gradient).</summary>
    public static Tensor Maximum(Tensor a, Tensor b) => MaximumOp.Forward(a, b, minimum: false);
    /// <summary>min(a, b) elementwise (broadcasting, NaN propagating; ties share the gradient).</summary>
    public static Tensor Minimum(Tensor a, Tensor b) => MaximumOp.Forward(a, b, minimum: true);

    // ---- elementwise functions --------------------------------------------------------------------------

    /// <summary>−x.</summary>
    public Tensor Neg() => NegOp.Forward(this);
    /// <summary>eˣ.</summary>
    public Tensor Exp() => ExpOp.Forward(this);
    /// <summary>ln x.</summary>
    public Tensor Log() => LogOp.Forward(this);
    /// <summary>√x.</summary>
    public Tensor Sqrt() => SqrtOp.Forward(this);
    /// <summary>|x|.</summary>
    public Tensor Abs() => AbsOp.Forward(this);
    /// <summary>xᵖ for a scalar exponent.</summary>
    public Tensor Pow(float exponent) => PowScalarOp.Forward(this, exponent);
    /// <summary>x².</summary>
    public Tensor Square() => MulOp.Forward(this, this);
    /// <summary>min(max(x, min), max); a null bound is no bound.</summary>
    public Tensor Clamp(float? min = null, float? max = null)
    {
        if (min is null && max is null) throw new ArgumentException("Clamp: give at least one of min and max.");
        float lo = min ?? float.NegativeInfinity, hi = max ?? float.PositiveInfinity;
        return ClampOp.Forward(this, lo, hi);
    }
    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => ReluOp.Forward(this);
    /// <summary>1 / (1 + e⁻ˣ).</summary>
    public Tensor Sigmoid() => SigmoidOp.Forward(this);
    /// <summary>tanh x.</summary>
    public Tensor Tanh() => TanhOp.Forward(this);

    // ---- reductions -------------------------------------------------------------------------------------

    /// <summary>Σ over all elements, a scalar.</summary>
    public Tensor Sum() => SumOp.Forward(this, null, keepDim: false);
    /// <summary>Σ over the given dims (negative dims count from the end).</summary>
    public Tensor Sum(int[] dims, bool keepDim = false) => SumOp.Forward(this, dims, keepDim);
    /// <summary>Σ over one dim.</summary>
    public Tensor Sum(int dim, bool keepDim = false) => SumOp.Forward(this, [dim], keepDim);
    /// <summary>Mean of all elements, a scalar.</summary>
    public Tensor Mean() => Sum() * (Numel == 0 ? float.NaN : 1f / Numel);
    /// <summary>Mean over the given dims: Σ / count.</summary>
    public Tensor Mean(int[] dims, bool keepDim = false)
    {
        var d = Shapes.NormalizeDims(dims, Rank, "Mean");
        long count = 1;
        foreach (int k in d) count *= shape[k];
        return SumOp.Forward(this, d, keepDim) * (count == 0 ? float.NaN : 1f / count);
    }
    /// <summary>Mean over one dim.</summary>
    public Tensor Mean(int dim, bool keepDim = false) => Mean([dim], keepDim);
    /// <summary>Maximum of all elements (torch.amax over every dim), a scalar.</summary>
    public Tensor Max() => MaxOp.Forward(this, null, keepDim: false);
    /// <summary>Maximum over the given dims (torch.amax); the gradient is split among ties.</summary>
    public Tensor Max(int[] dims, bool keepDim = false) => MaxOp.Forward(this, dims, keepDim);
    /// <summary>Maximum over one dim.</summary>
    public Tensor Max(int dim, bool keepDim = false) => MaxOp.Forward(this, [dim], keepDim);
    /// <summary>Minimum over the given dims: −max(−x).</summary>
    public Tensor Min(int[] dims, bool keepDim = false) => -MaxOp.Forward(-this, dims, keepDim);
    /// <summary>Minimum over one dim.</summary>
    public Tensor Min(int dim, bool keepDim = false) => Min([dim], keepDim);
    /// <summary>Index of the maximum along dim (the first on ties), an int tensor without that dim.</summary>
    public IntTensor ArgMax(int dim)
    {
        int d = Shapes.NormalizeDim(dim, Rank, "ArgMax");
        if (shape[d] == 0) throw new ArgumentException($"ArgMax: dim {d} has size 0 (shape {Shapes.Format(shape)}).", nameof(dim));
        var result = IntTensor.Zeros(SumOp.DroppedShape(shape, [d]));
        Backend.ArgMax(this, d, result);
        return result;
    }

    /// <summary>Softmax along dim: e^xᵢ / Σⱼ e^xⱼ, computed stably.</summary>
    public Tensor Softmax(int dim) => SoftmaxOp.Forward(this, dim, log: false);
    /// <summary>Log-softmax along dim: xᵢ − ln Σⱼ e^xⱼ, computed stably.</summary>
    public Tensor LogSoftmax(int dim) => SoftmaxOp.Forward(this, dim, log: true);

    // ---- linear algebra ---------------------------------------------------------------------------------

    /// <summary>
    /// Matrix product with torch.matmul's rules: 1-D·1-D is a dot product, 2-D·2-D a matrix product, a 1-D
    /// operand is treated as a row (left) or column (right) vector and that dim removed, and batch dims of
    /// (…, m, k)·(…, k, n) broadcast.
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Rank == 0 || b.Rank == 0)
            throw new ArgumentException($"MatMul: both arguments need at least 1 dim, got a {Shapes.Format(a.shape)} and b {Shapes.Format(b.shape)}.");
        if (a.Rank == 1 && b.Rank == 1 && a.shape[0] != b.shape[0])
            throw new ArgumentException($"MatMul: a {Shapes.Format(a.shape)} and b {Shapes.Format(b.shape)} must have the same length for a dot product.");
        if (a.Rank == 1 && b.Rank == 1) return MatMulOp.Forward(a.Unsqueeze(0), b.Unsqueeze(1)).Reshape();
        if (a.Rank == 1) return MatMul(a.Unsqueeze(0), b).Squeeze(-2);
        if (b.Rank == 1) return MatMul(a, b.Unsqueeze(1)).Squeeze(-1);
        // (…, m, k)·(k, n): fold the batch into m so one large GEMM runs instead of many small ones.
        if (a.Rank > 2 && b.Rank == 2 && a.IsContiguous)
        {
            if (a.shape[^1] != b.shape[0]) return MatMulOp.Forward(a, b); // raises the shape error
            int[] outShape = [.. a.shape[..^1], b.shape[1]];
            return MatMulOp.Forward(a.Reshape(-1, a.shape[^1]), b).Reshape(outShape);
        }
        return MatMulOp.Forward(a, b);
    }

    /// <summary>this · other (see <see cref="MatMul(Tensor, Tensor)"/>).</summary>
    public Tensor MatMul(Tensor other) => MatMul(this, other);

    // ---- shape and views --------------------------------------------------------------------------------

    /// <summary>The same elements with a new shape (one size may be −1); a view when contiguous.</summary>
    public Tensor Reshape(params int[] newShape) => ReshapeOp.Forward(this, newShape);
    /// <summary>Reorders dims: result.shape[i] = shape[dims[i]]; a view.</summary>
    public Tensor Permute(params int[] dims) => PermuteOp.Forward(this, dims);
    /// <summary>Swaps two dims; a view.</summary>
    public Tensor Transpose(int dim0, int dim1)
    {
        int d0 = Shapes.NormalizeDim(dim0, Rank, "Transpose", nameof(dim0));
        int d1 = Shapes.NormalizeDim(dim1, Rank, "Transpose", nameof(dim1));
        var perm = Enumerable.Range(0, Rank).ToArray();
        (perm[d0], perm[d1]) = (perm[d1], perm[d0]);
        return PermuteOp.Forward(this, perm);
    }
    /// <summary>The transpose of a matrix (2-D only); a view.</summary>
    public Tensor T => Rank == 2 ? Transpose(0, 1) : throw new InvalidOperationException($"T: expects a 2-D tensor, got shape {Shapes.Format(shape)}; use Transpose or Permute.");
    /// <summary>x[start:end:step] along dim (Python slice rules); a view.</summary>
    public Tensor Slice(int dim, int start, int end, int step = 1) => SliceOp.Forward(this, dim, start, end, step);
    /// <summary>length elements from start along dim (torch.narrow); a view.</summary>
    public Tensor Narrow(int dim, int start, int length)
    {
        int d = Shapes.NormalizeDim(dim, Rank, "Narrow");
        if (start < 0) start += shape[d];
        if (start < 0 || length < 0 || start + length > shape[d])
            throw new ArgumentOutOfRangeException(nameof(length), $"Narrow: start {start} + length {length} exceeds dim {d} of size {shape[d]} (shape {Shapes.Format(shape)}).");
        return SliceOp.Forward(this, d, start, start + length, 1);
    }
    /// <summary>The index-th slice along dim, that dim removed; a view.</summary>
    public Tensor Select(int dim, int index)
    {
        int d = Shapes.NormalizeDim(dim, Rank, "Select");
        int i = index < 0 ? index + shape[d] : index;
        if ((uint)i >= (uint)shape[d])
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Select: index out of range for dim {d} of size {shape[d]}.");
        return Narrow(d, i, 1).Squeeze(d);
    }
    /// <summary>Removes every size-1 dim.</summary>
    public Tensor Squeeze() => Reshape(shape.Where(s => s != 1).ToArray());
    /// <summary>Removes dim if its size is 1 (otherwise returns the tensor unchanged, as PyTorch).</summary>
    public Tensor Squeeze(int dim)
    {
        int d = Shapes.NormalizeDim(dim, Rank, "Squeeze");
        if (shape[d] != 1) return this;
        var s = shape.ToList();
        s.RemoveAt(d);
        return Reshape(s.ToArray());
    }
    /// <summary>Inserts a size-1 dim at position dim (−1 appends).</summary>
    public Tensor Unsqueeze(int dim)
    {
        int d = Shapes.NormalizeDim(dim, Rank + 1, "Unsqueeze");
        var s = shape.ToList();
        s.Insert(d, 1);
        return Reshape(s.ToArray());
    }
    /// <summary>Flattens dims startDim..endDim into one.</summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        if (Rank == 0) return Reshape(1);
        int s = Shapes.NormalizeDim(startDim, Rank, "Flatten", nameof(startDim));
        int e = Shapes.NormalizeDim(endDim, Rank, "Flatten", nameof(endDim));
        if (s > e) throw new ArgumentException($"Flatten: startDim {startDim} comes after endDim {endDim}.");
        var ns = new List<int>(shape[..s]) { shape[s..(e + 1)].Aggregate(1, (p, v) => p * v) };
        ns.AddRange(shape[(e + 1)..]);
        return Reshape(ns.ToArray());
    }
    /// <summary>A broadcast view to a larger shape (size-1 dims repeat, −1 keeps a size).</summary>
    public Tensor Expand(params int[] newShape) => ExpandOp.Forward(this, newShape);
    internal Tensor Expand(IReadOnlyList<int> newShape) => ExpandOp.Forward(this, newShape.ToArray());
    /// <summary>This tensor when contiguous, else a contiguous copy (gradient flows through).</summary>
    public Tensor Contiguous() => IsContiguous ? this : CopyOp.Forward(this, "Contiguous");
    /// <summary>A contiguous copy (gradient flows through).</summary>
    public Tensor Clone() => CopyOp.Forward(this, "Clone");

    /// <summary>Joins tensors along an existing dim (torch.cat).</summary>
    public static Tensor Concat(Tensor[] tensors, int dim = 0) => ConcatOp.Forward(tensors, dim);
    /// <summary>Stacks equal-shaped tensors along a new dim (torch.stack).</summary>
    public static Tensor Stack(Tensor[] tensors, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Length == 0) throw new ArgumentException("Stack: needs at least one tensor.", nameof(tensors));
        for (int i = 1; i < tensors.Length; i++)
            if (!Shapes.Equal(tensors[i].shape, tensors[0].shape))
                throw new ArgumentException($"Stack: tensors[{i}] {Shapes.Format(tensors[i].shape)} differs from tensors[0] {Shapes.Format(tensors[0].shape)}; all must have one shape.", nameof(tensors));
        int d = Shapes.NormalizeDim(dim, tensors[0].Rank + 1, "Stack");
        return ConcatOp.Forward(tensors.Select(t => t.Unsqueeze(d)).ToArray(), d);
    }

    // ---- indexing and masks -----------------------------------------------------------------------------

    /// <summary>Picks along dim by an index of the same rank (torch.gather); e.g. the logit of each label.</summary>
    public Tensor Gather(int dim, IntTensor index) => GatherOp.Forward(this, dim, index);
    /// <summary>The slices along dim picked by a 1-D index (torch.index_select); e.g. a mini-batch of rows.</summary>
    public Tensor IndexSelect(int dim, IntTensor index) => IndexSelectOp.Forward(this, dim, index);
    /// <summary>cond ? a : b elementwise with broadcasting; cond is a mask (non-zero means true).</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b) => WhereOp.Forward(condition, a, b);
    /// <summary>Mask (1/0) of this &gt; other; not differentiable.</summary>
    public Tensor Gt(Tensor other) => Compare(BinaryOp.Greater, this, other, "Gt");
    /// <summary>Mask of this ≥ other.</summary>
    public Tensor Ge(Tensor other) => Compare(BinaryOp.GreaterEqual, this, other, "Ge");
    /// <summary>Mask of this &lt; other.</summary>
    public Tensor Lt(Tensor other) => Compare(BinaryOp.Greater, other, this, "Lt");
    /// <summary>Mask of this ≤ other.</summary>
    public Tensor Le(Tensor other) => Compare(BinaryOp.GreaterEqual, other, this, "Le");
    /// <summary>Mask of this == other.</summary>
    public Tensor Eq(Tensor other) => Compare(BinaryOp.Equal, this, other, "Eq");
    /// <summary>Mask of this &gt; c.</summary>
    public Tensor Gt(float c) => Gt(Scalar(c));
    /// <summary>Mask of this &lt; c.</summary>
    public Tensor Lt(float c) => Lt(Scalar(c));

    private static Tensor Compare(BinaryOp op, Tensor a, Tensor b, string name) => OpHelpers.Binary(op, a, b, name);

    // ---- in place (for optimizers; refused while the graph is being recorded for this tensor) -------------

    private void CheckInPlace(string op)
    {
        if (GradMode.IsEnabled && RequiresGrad)
            throw new InvalidOperationException(
                $"{op}: a tensor that requires grad cannot be changed in place while grad mode is on; wrap the update in GradMode.NoGrad().");
    }

    /// <summary>this ← this + alpha·other (other broadcast to this shape), one rounding per element.</summary>
    public Tensor AddInPlace(Tensor other, float alpha = 1f)
    {
        CheckInPlace("AddInPlace");
        ArgumentNullException.ThrowIfNull(other);
        CheckBroadcastsTo(other, "AddInPlace");
        Backend.Binary(alpha == 1f ? BinaryOp.Add : BinaryOp.AddScaled, this, other, this, alpha);
        return this;
    }

    /// <summary>this ← this + value·t1·t2 (torch addcmul_).</summary>
    public Tensor AddcmulInPlace(Tensor t1, Tensor t2, float value = 1f)
    {
        CheckInPlace("AddcmulInPlace");
        var product = OpHelpers.Binary(BinaryOp.Mul, t1, t2, "AddcmulInPlace");
        CheckBroadcastsTo(product, "AddcmulInPlace");
        Backend.Binary(BinaryOp.AddScaled, this, product, this, value);
        return this;
    }

    /// <summary>this ← this + value·t1/t2 (torch addcdiv_).</summary>
    public Tensor AddcdivInPlace(Tensor t1, Tensor t2, float value = 1f)
    {
        CheckInPlace("AddcdivInPlace");
        var quotient = OpHelpers.Binary(BinaryOp.Div, t1, t2, "AddcdivInPlace");
        CheckBroadcastsTo(quotient, "AddcdivInPlace");
        Backend.Binary(BinaryOp.AddScaled, this, quotient, this, value);
        return this;
    }

    /// <summary>this ← max(this, other) elementwise.</summary>
    public Tensor MaximumInPlace(Tensor other)
    {
        CheckInPlace("MaximumInPlace");
        CheckBroadcastsTo(other, "MaximumInPlace");
        Backend.Binary(BinaryOp.Maximum, this, other, this);
        return this;
    }

    /// <summary>this ← min(max(this, min), max).</summary>
    public Tensor ClampInPlace(float min, float max)
    {
        CheckInPlace("ClampInPlace");
        Backend.Unary(UnaryOp.Clamp, this, this, min, max);
        return this;
    }

    private void CheckBroadcastsTo(Tensor other, string op)
    {
        var b = Shapes.Broadcast(shape, other.shape, op, "this", "other");
        if (!Shapes.Equal(b, shape))
            throw new ArgumentException($"{op}: other {Shapes.Format(other.shape)} does not broadcast to this {Shapes.Format(shape)}.", nameof(other));
    }

    /// <summary>this ← this · c.</summary>
    public Tensor MulInPlace(float c)
    {
        CheckInPlace("MulInPlace");
        Backend.Unary(UnaryOp.MulScalar, this, this, c);
        return this;
    }

    /// <summary>this ← this ⊙ other (other broadcast to this shape; torch mul_).</summary>
    public Tensor MulInPlace(Tensor other)
    {
        CheckInPlace("MulInPlace");
        ArgumentNullException.ThrowIfNull(other);
        CheckBroadcastsTo(other, "MulInPlace");
        Backend.Binary(BinaryOp.Mul, this, other, this);
        return this;
    }

    /// <summary>this ← value everywhere.</summary>
    public Tensor FillInPlace(float value)
    {
        CheckInPlace("FillInPlace");
        Backend.Fill(this, value);
        return this;
    }

    /// <summary>this ← src (broadcast to this shape).</summary>
    public Tensor CopyFrom(Tensor src)
    {
        CheckInPlace("CopyFrom");
        ArgumentNullException.ThrowIfNull(src);
        if (Shapes.Equal(shape, src.shape))
        {
            Backend.Copy(src, this);   // no broadcast view: copying a batch into a captured step's static input allocates nothing
            return this;
        }
        var b = Shapes.Broadcast(shape, src.shape, "CopyFrom", "this", "src");
        if (!Shapes.Equal(b, shape))
            throw new ArgumentException($"CopyFrom: src {Shapes.Format(src.shape)} does not broadcast to this {Shapes.Format(shape)}.", nameof(src));
        Backend.Copy(src.Expand(shape), this);
        return this;
    }
}
