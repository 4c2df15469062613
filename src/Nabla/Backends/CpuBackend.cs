using Nabla.Kernels;

namespace Nabla.Backends;

/// <summary>The managed CPU backend: storage in float arrays, kernels from <see cref="Nabla.Kernels"/>.</summary>
public sealed class CpuBackend : IBackend
{
    /// <summary>The one instance.</summary>
    public static CpuBackend Instance { get; } = new();

    private CpuBackend() { }

    /// <inheritdoc/>
    public Device Device => Device.Cpu;

    /// <inheritdoc/>
    public Storage Allocate(int length) => Pooled(length, zeroed: true);

    /// <inheritdoc/>
    public Storage AllocateUninitialized(int length) => Pooled(length, zeroed: false);

    // Large buffers come from BufferPool and go back to it once the storage is unreachable.
    private static CpuStorage Pooled(int length, bool zeroed)
    {
        var buffer = BufferPool<float>.Rent(length, zeroed);
        var storage = new CpuStorage(buffer);
        BufferPool<float>.Lend(storage, buffer);
        return storage;
    }

    /// <summary>Bytes of idle buffers the CPU caching allocator holds for reuse.</summary>
    public static long CachedBytes => BufferPool<float>.IdleBytes + BufferPool<int>.IdleBytes;

    /// <summary>
    /// Lets the GC have every idle cached buffer (as torch.cuda.empty_cache): call it after training when the
    /// process goes on to other work. Buffers of live tensors are unaffected.
    /// </summary>
    public static void EmptyCache()
    {
        BufferPool<float>.Trim();
        BufferPool<int>.Trim();
    }

    /// <inheritdoc/>
    public Storage FromHost(ReadOnlySpan<float> values) => new CpuStorage(values.ToArray());

    private static float[] Data(Tensor t) => t.Storage is CpuStorage s
        ? s.Data
        : throw new ArgumentException($"CpuBackend: tensor of shape {Shapes.Format(t.shape)} lives on {t.Storage.Device}, not the CPU.");

    /// <inheritdoc/>
    public void ToHost(Tensor src, Span<float> dst)
    {
        var plan = RowPlan.Create(src.shape, [src.strides], [src.offset]);
        var x = Data(src);
        for (int r = 0; r < plan.Rows; r++)
            Elementwise.UnaryRow(UnaryOp.Identity, x.AsSpan(plan.Offsets[r]), plan.InnerStrides[0], dst[(r * plan.Inner)..], 1, plan.Inner, 0, 0);
        Alive(src);
    }

    /// <inheritdoc/>
    public void Copy(Tensor src, Tensor dst) => Unary(UnaryOp.Identity, src, dst);

    /// <inheritdoc/>
    public void Fill(Tensor dst, float value)
    {
        var y = Data(dst);
        if (dst.IsContiguous) { y.AsSpan(dst.offset, dst.Numel).Fill(value); return; }
        var plan = RowPlan.Create(dst.shape, [dst.strides], [dst.offset]);
        for (int r = 0; r < plan.Rows; r++)
        {
            int o = plan.Offsets[r], s = plan.InnerStrides[0];
            for (int i = 0; i < plan.Inner; i++) y[o + i * s] = value;
        }
    }

    /// <inheritdoc/>
    public void Unary(UnaryOp op, Tensor x, Tensor y, float p0 = 0, float p1 = 0)
    {
        var xd = Data(x);
        var yd = Data(y);
        var plan = RowPlan.Create(y.shape, [x.strides, y.strides], [x.offset, y.offset]);
        int sx = plan.InnerStrides[0], sy = plan.InnerStrides[1];
        Split(plan, (r, i0, i1) =>
            Elementwise.UnaryRow(op, xd.AsSpan(plan.Offsets[2 * r] + i0 * sx), sx, yd.AsSpan(plan.Offsets[2 * r + 1] + i0 * sy), sy, i1 - i0, p0, p1));
        Alive(x, y);
    }

    /// <inheritdoc/>
    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y, float p0 = 0, float p1 = 0)
    {
        var ad = Data(a);
        var bd = Data(b);
        var yd = Data(y);
        var plan = RowPlan.Create(y.shape, [BroadcastStrides(a, y.shape), BroadcastStrides(b, y.shape), y.strides], [a.offset, b.offset, y.offset]);
        int sa = plan.InnerStrides[0], sb = plan.InnerStrides[1], sy = plan.InnerStrides[2];
        Split(plan, (r, i0, i1) =>
        {
            int oa = plan.Offsets[3 * r] + i0 * sa, ob = plan.Offsets[3 * r + 1] + i0 * sb, oy = plan.Offsets[3 * r + 2] + i0 * sy;
            Elementwise.BinaryRow(op, ad.AsSpan(oa), sa, bd.AsSpan(ob), sb, yd.AsSpan(oy), sy, i1 - i0, p0, p1);
        });
        Alive(a, b, y);
    }

    // Elementwise work over a plan's rows, split over threads when large: whole rows when there are several, blocks of
    // one long row otherwise. Every element is computed alone, so the split never changes a bit.
    internal const int ElementBlock = 16 * 1024;   // Training.StaticLayer splits the same way, for the same bits

    private static void Split(RowPlan plan, Action<int, int, int> rowRange)
    {
        int rows = plan.Rows, inner = plan.Inner;
        if (rows == 1)
        {
            int blocks = (inner + ElementBlock - 1) / ElementBlock;
            Kernels.ParallelFor.Run(blocks, ElementBlock, (b0, b1) => rowRange(0, b0 * ElementBlock, Math.Min(inner, b1 * ElementBlock)));
        }
        else
            Kernels.ParallelFor.Run(rows, inner, (r0, r1) =>
            {
                for (int r = r0; r < r1; r++) rowRange(r, 0, inner);
            });
    }

    /// <inheritdoc/>
    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        var cd = Data(cond);
        var ad = Data(a);
        var bd = Data(b);
        var yd = Data(y);
        var plan = RowPlan.Create(y.shape,
            [BroadcastStrides(cond, y.shape), BroadcastStrides(a, y.shape), BroadcastStrides(b, y.shape), y.strides],
            [cond.offset, a.offset, b.offset, y.offset]);
        var s = plan.InnerStrides;
        for (int r = 0; r < plan.Rows; r++)
        {
            int oc = plan.Offsets[4 * r], oa = plan.Offsets[4 * r + 1], ob = plan.Offsets[4 * r + 2], oy = plan.Offsets[4 * r + 3];
            for (int i = 0; i < plan.Inner; i++)
                yd[oy + i * s[3]] = cd[oc + i * s[0]] != 0 ? ad[oa + i * s[1]] : bd[ob + i * s[2]];
        }
        Alive(cond, a, b, y);
    }

    /// <summary>Strides of <paramref name="t"/> seen through a broadcast to <paramref name="shape"/> (0 on broadcast dims).</summary>
    internal static int[] BroadcastStrides(Tensor t, int[] shape)
    {
        var result = new int[shape.Length];
        int lead = shape.Length - t.shape.Length;
        for (int d = 0; d < t.shape.Length; d++)
            result[lead + d] = t.shape[d] == 1 && shape[lead + d] != 1 ? 0 : t.strides[d];
        return result;
    }

    private static float[] ContiguousData(Tensor t, out int offset)
    {
        if (t.IsContiguous) { offset = t.offset; return Data(t); }
        offset = 0;
        return t.ToArray();
    }

    /// <inheritdoc/>
    public void Reduce(ReduceOp op, Tensor x, int[] dims, Tensor y)
    {
        var cur = ContiguousData(x, out int curOffset);
        var curShape = (int[])x.shape.Clone();
        // Reduce runs of consecutive dims, last run first; sum and max are separable over dims.
        int i = dims.Length - 1;
        float[]? result = null;
        while (i >= 0)
        {
            int hi = dims[i], lo = hi;
            while (i > 0 && dims[i - 1] == lo - 1) { i--; lo--; }
            i--;
            int outer = 1, r = 1, inner = 1;
            for (int d = 0; d < lo; d++) outer *= curShape[d];
            for (int d = lo; d <= hi; d++) r *= curShape[d];
            for (int d = hi + 1; d < curShape.Length; d++) inner *= curShape[d];
            var next = new float[outer * inner];
            Kernels.Reduce.OuterInner(op, cur.AsSpan(curOffset, outer * r * inner), next, outer, r, inner);
            for (int d = lo; d <= hi; d++) curShape[d] = 1;
            cur = next;
            curOffset = 0;
            result = next;
        }
        result ??= cur.AsSpan(curOffset, x.Numel).ToArray();
        Copy(new Tensor(new CpuStorage(result), curShape), y);
        Alive(x);
    }

    /// <inheritdoc/>
    public void Softmax(Tensor x, int dim, bool log, Tensor y)
    {
        int rank = x.Rank;
        if (dim == rank - 1 && x.IsContiguous && y.IsContiguous)
        {
            int n = x.shape[dim];
            Kernels.Softmax.Rows(Data(x).AsSpan(x.offset), Data(y).AsSpan(y.offset), n == 0 ? 0 : x.Numel / n, n, log);
            Alive(x, y);
            return;
        }
        // Move dim last, compute on a contiguous copy, write back through the same permutation of y.
        var perm = new int[rank];
        for (int d = 0, k = 0; d < rank; d++) if (d != dim) perm[k++] = d;
        perm[rank - 1] = dim;
        var xp = x.Permute(perm).Contiguous();
        var tmp = Tensor.ZerosLike(xp);
        int len = x.shape[dim];
        Kernels.Softmax.Rows(Data(xp).AsSpan(xp.offset), Data(tmp), len == 0 ? 0 : x.Numel / len, len, log);
        Alive(xp, tmp);
        Copy(tmp, y.Permute(perm));
    }

    /// <inheritdoc/>
    public void MatMul(Tensor a, Tensor b, Tensor y, bool accumulate)
    {
        int rank = y.Rank;
        int m = y.shape[rank - 2], n = y.shape[rank - 1], k = a.shape[rank - 1];
        if (!MatrixLayout(a, m, k, out bool ta, out int lda)) { a = a.Contiguous(); MatrixLayout(a, m, k, out ta, out lda); }
        if (!MatrixLayout(b, k, n, out bool tb, out int ldb)) { b = b.Contiguous(); MatrixLayout(b, k, n, out tb, out ldb); }
        if (!y.IsContiguous) throw new ArgumentException("MatMul: the output must be contiguous.", nameof(y));
        var ad = Data(a);
        var bd = Data(b);
        var yd = Data(y);
        int batch = 1;
        for (int d = 0; d < rank - 2; d++) batch *= y.shape[d];
        var idx = new int[rank - 2];
        for (int bi = 0; bi < batch; bi++)
        {
            int rem = bi, oa = a.offset, ob = b.offset;
            for (int d = rank - 3; d >= 0; d--)
            {
                idx[d] = rem % y.shape[d];
                rem /= y.shape[d];
                oa += idx[d] * a.strides[d];
                ob += idx[d] * b.strides[d];
            }
            Gemm.Sgemm(ta, tb, m, n, k, ad.AsSpan(oa), lda, bd.AsSpan(ob), ldb, yd.AsSpan(y.offset + bi * m * n), n, accumulate);
        }
        Alive(a, b, y);
    }

    // A (rows × cols) matrix view is usable by GEMM as stored (unit column stride) or transposed (unit row stride).
    private static bool MatrixLayout(Tensor t, int rows, int cols, out bool transposed, out int ld) =>
        MatrixLayout(t.strides[^2], t.strides[^1], rows, cols, out transposed, out ld);

    /// <summary>The GEMM layout of a (rows × cols) matrix with row stride <paramref name="sr"/> and column stride <paramref name="sc"/>.</summary>
    internal static bool MatrixLayout(int sr, int sc, int rows, int cols, out bool transposed, out int ld)
    {
        if ((sc == 1 || cols == 1) && (rows == 1 || sr >= cols)) { transposed = false; ld = rows == 1 ? Math.Max(cols, 1) : sr; return true; }
        if ((sr == 1 || rows == 1) && (cols == 1 || sc >= rows)) { transposed = true; ld = cols == 1 ? Math.Max(rows, 1) : sc; return true; }
        transposed = false;
        ld = 0;
        return false;
    }

    /// <inheritdoc/>
    public void Gather(Tensor x, int dim, IntTensor index, Tensor y)
    {
        var xd = ContiguousData(x, out int xo);
        var yd = Data(y);
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= index.ShapeArray[d];
        for (int d = dim + 1; d < index.Rank; d++) inner *= index.ShapeArray[d];
        int xStride = 1; // x and index agree on every dim but dim (checked by the op), so inner sizes match
        for (int d = dim + 1; d < x.Rank; d++) xStride *= x.shape[d];
        int xDim = x.shape[dim], iDim = index.ShapeArray[dim];
        var idx = index.Data;
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < iDim; j++)
                for (int i = 0; i < inner; i++)
                {
                    int flat = (o * iDim + j) * inner + i;
                    yd[y.offset + flat] = xd[xo + (o * xDim + idx[flat]) * xStride + i];
                }
        Alive(x, y);
    }

    /// <inheritdoc/>
    public void ScatterAdd(Tensor g, int dim, IntTensor index, Tensor dx)
    {
        var gd = ContiguousData(g, out int go);
        var dd = Data(dx);
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= index.ShapeArray[d];
        for (int d = dim + 1; d < index.Rank; d++) inner *= index.ShapeArray[d];
        int xStride = 1;
        for (int d = dim + 1; d < dx.Rank; d++) xStride *= dx.shape[d];
        int xDim = dx.shape[dim], iDim = index.ShapeArray[dim];
        var idx = index.Data;
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < iDim; j++)
                for (int i = 0; i < inner; i++)
                {
                    int flat = (o * iDim + j) * inner + i;
                    dd[dx.offset + (o * xDim + idx[flat]) * xStride + i] += gd[go + flat];
                }
        Alive(g, dx);
    }

    /// <inheritdoc/>
    public void IndexSelect(Tensor x, int dim, IntTensor index, Tensor y)
    {
        var xd = ContiguousData(x, out int xo);
        var yd = Data(y);
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= x.shape[d];
        for (int d = dim + 1; d < x.Rank; d++) inner *= x.shape[d];
        int xDim = x.shape[dim], n = index.Numel;
        var idx = index.Data;
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < n; j++)
                xd.AsSpan(xo + (o * xDim + idx[j]) * inner, inner).CopyTo(yd.AsSpan(y.offset + (o * n + j) * inner, inner));
        Alive(x, y);
    }

    /// <inheritdoc/>
    public void IndexAdd(Tensor g, int dim, IntTensor index, Tensor dx)
    {
        var gd = ContiguousData(g, out int go);
        var dd = Data(dx);
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= dx.shape[d];
        for (int d = dim + 1; d < dx.Rank; d++) inner *= dx.shape[d];
        int xDim = dx.shape[dim], n = index.Numel;
        var idx = index.Data;
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < n; j++)
            {
                var dst = dd.AsSpan(dx.offset + (o * xDim + idx[j]) * inner, inner);
                System.Numerics.Tensors.TensorPrimitives.Add(dst, gd.AsSpan(go + (o * n + j) * inner, inner), dst);
            }
        Alive(g, dx);
    }

    /// <inheritdoc/>
    public void ArgMax(Tensor x, int dim, IntTensor result)
    {
        var xd = ContiguousData(x, out int xo);
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= x.shape[d];
        for (int d = dim + 1; d < x.Rank; d++) inner *= x.shape[d];
        int r = x.shape[dim];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int best = 0;
                float bv = xd[xo + o * r * inner + i];
                for (int j = 1; j < r && !float.IsNaN(bv); j++)
                {
                    float v = xd[xo + (o * r + j) * inner + i];
                    if (v > bv || float.IsNaN(v)) { bv = v; best = j; }
                }
                result.Data[o * inner + i] = best;
            }
        Alive(x);
    }

    // ---- convolution and pooling: contiguous NCHW in, contiguous out ---------------------------------------
    // Every tensor is kept alive until its kernel returns: the kernel holds only the raw array, and a storage the
    // GC finds unreachable gives its buffer back to BufferPool, where another thread could be handed it.

    private static Tensor C(Tensor t) => t.IsContiguous ? t : t.Contiguous();

    private static ReadOnlySpan<float> In(Tensor c) => Data(c).AsSpan(c.offset, c.Numel);

    private static Span<float> Out(Tensor t) =>
        t.IsContiguous ? Data(t).AsSpan(t.offset, t.Numel) : throw new ArgumentException("CpuBackend: outputs must be contiguous.");

    /// <inheritdoc/>
    public void Conv2d(Tensor x, Tensor w, Tensor? bias, in ConvGeometry geometry, Tensor y)
    {
        Tensor xc = C(x), wc = C(w);
        var bc = bias is null ? null : C(bias);
        Kernels.Conv2d.Forward(In(xc), In(wc), Out(y), geometry, bc is null ? default : In(bc));
        Alive(xc, wc, bc, y);
    }

    /// <inheritdoc/>
    public void Conv2dBackwardData(Tensor gy, Tensor w, in ConvGeometry geometry, Tensor gx)
    {
        Tensor gc = C(gy), wc = C(w);
        Kernels.Conv2d.BackwardData(In(gc), In(wc), Out(gx), geometry);
        Alive(gc, wc, gx);
    }

    /// <inheritdoc/>
    public void Conv2dBackwardWeight(Tensor gy, Tensor x, in ConvGeometry geometry, Tensor gw)
    {
        Tensor gc = C(gy), xc = C(x);
        Kernels.Conv2d.BackwardWeight(In(gc), In(xc), Out(gw), geometry);
        Alive(gc, xc, gw);
    }

    /// <inheritdoc/>
    public void MaxPool2d(Tensor x, in PoolGeometry geometry, Tensor y, int[] argmax)
    {
        var xc = C(x);
        Pool2d.MaxForward(In(xc), Out(y), argmax, geometry);
        Alive(xc, y);
    }

    /// <inheritdoc/>
    public void MaxPool2dBackward(Tensor gy, int[] argmax, in PoolGeometry geometry, Tensor gx)
    {
        var gc = C(gy);
        Pool2d.MaxBackward(In(gc), argmax, Out(gx), geometry);
        Alive(gc, gx);
    }

    /// <inheritdoc/>
    public void AvgPool2d(Tensor x, in PoolGeometry geometry, bool countIncludePad, int? divisorOverride, Tensor y)
    {
        var xc = C(x);
        Pool2d.AvgForward(In(xc), Out(y), geometry, countIncludePad, divisorOverride);
        Alive(xc, y);
    }

    /// <inheritdoc/>
    public void AvgPool2dBackward(Tensor gy, in PoolGeometry geometry, bool countIncludePad, int? divisorOverride, Tensor gx)
    {
        var gc = C(gy);
        Pool2d.AvgBackward(In(gc), Out(gx), geometry, countIncludePad, divisorOverride);
        Alive(gc, gx);
    }

    /// <inheritdoc/>
    public void AdaptiveAvgPool2d(Tensor x, Tensor y)
    {
        var xc = C(x);
        Pool2d.AdaptiveAvgForward(In(xc), Out(y), x.shape[0] * x.shape[1], x.shape[2], x.shape[3], y.shape[2], y.shape[3]);
        Alive(xc, y);
    }

    /// <inheritdoc/>
    public void AdaptiveAvgPool2dBackward(Tensor gy, Tensor gx)
    {
        var gc = C(gy);
        Pool2d.AdaptiveAvgBackward(In(gc), Out(gx), gx.shape[0] * gx.shape[1], gx.shape[2], gx.shape[3], gy.shape[2], gy.shape[3]);
        Alive(gc, gx);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void Alive(Tensor? a, Tensor? b = null, Tensor? c = null, Tensor? d = null)
    {
        GC.KeepAlive(a);
        GC.KeepAlive(b);
        GC.KeepAlive(c);
        GC.KeepAlive(d);
    }
}
