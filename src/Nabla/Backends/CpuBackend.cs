using Nabla.Kernels;

namespace Nabla.Backends;

/// <summary>
/// The managed CPU backend: storage in float arrays, kernels from <see cref="Nabla.Kernels"/>. Every method plans
/// (row plans, offsets, the thread split, scratch buffers) and builds a <see cref="Launch"/> that only computes, then
/// runs it; while a <see cref="StepGraph"/> captures on this thread the launch is also recorded, and allocations
/// come from the capture's own buffers, so a replay runs the same kernels over the same buffers and creates nothing.
/// </summary>
public sealed partial class CpuBackend : IBackend
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

    // Large buffers come from BufferPool and go back to it once the storage is unreachable. While capturing, the
    // capture owns them (a replay rewrites them every step), and a zeroed one is zeroed again by a launch at replay.
    private static CpuStorage Pooled(int length, bool zeroed)
    {
        var session = CaptureSession.Current;
        if (session is null)
        {
            var buffer = BufferPool<float>.Rent(length, zeroed);
            var storage = new CpuStorage(buffer);
            BufferPool<float>.Lend(storage, buffer);
            return storage;
        }
        var owned = BufferPool<float>.Rent(length, zeroed: false);
        var s = new CpuStorage(owned);
        session.Owned.Add((s, owned));
        session.Pin(s);
        if (zeroed) Submit(new FillLaunch(owned, 0, length, 0f));
        return s;
    }

    /// <inheritdoc/>
    public int[] AllocateIndices(int length, object owner)
    {
        if (CaptureSession.Current is not null) return new int[length];   // held by the launches that use it
        var buffer = BufferPool<int>.Rent(length, zeroed: false);
        BufferPool<int>.Lend(owner, buffer);
        return buffer;
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

    // Runs a planned launch, and records it when a capture is recording on this thread.
    private static void Submit(Launch launch)
    {
        launch.Run();
        CaptureSession.Current?.Record(launch);
    }

    // The array behind a tensor; a capture keeps its storage alive (its buffer must not go back to the pool while a
    // recorded launch can still write it).
    private static float[] Data(Tensor t)
    {
        if (t.Storage is not CpuStorage s)
            throw new ArgumentException($"CpuBackend: tensor of shape {Shapes.Format(t.shape)} lives on {t.Storage.Device}, not the CPU.");
        CaptureSession.Current?.Pin(s);
        return s.Data;
    }

    /// <inheritdoc/>
    public void ToHost(Tensor src, Span<float> dst)
    {
        CaptureSession.Current?.Fail($"the step reads a tensor of shape {Shapes.Format(src.shape)} on the host (Item, ToArray or an indexer) before it ends");
        var x = src.Storage is CpuStorage s ? s.Data : throw new ArgumentException($"CpuBackend: tensor lives on {src.Storage.Device}, not the CPU.");
        if (src.IsContiguous)
        {
            x.AsSpan(src.offset, src.Numel).CopyTo(dst);
            return;
        }
        var plan = RowPlan.Create(src.shape, [src.strides], [src.offset]);
        for (int r = 0; r < plan.Rows; r++)
            Elementwise.UnaryRow(UnaryOp.Identity, x.AsSpan(plan.Offsets[r]), plan.InnerStrides[0], dst[(r * plan.Inner)..], 1, plan.Inner, 0, 0);
        GC.KeepAlive(src);
    }

    /// <inheritdoc/>
    public bool Finite(Tensor scalar)
    {
        var guard = new GuardLaunch(Data(scalar), scalar.offset);
        guard.Run();
        CaptureSession.Current?.Record(guard);
        return !guard.Stopped;
    }

    /// <inheritdoc/>
    public void AllReduce(IReadOnlyList<Tensor> tensors, IReduction reduction)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(reduction);
        var buffers = new float[tensors.Count][];
        var offsets = new int[tensors.Count];
        var lengths = new int[tensors.Count];
        int total = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            if (!t.IsContiguous) throw new ArgumentException($"CpuBackend.AllReduce: tensor {i} of shape {Shapes.Format(t.shape)} is not contiguous.", nameof(tensors));
            buffers[i] = Data(t);
            offsets[i] = t.offset;
            lengths[i] = t.Numel;
            total += t.Numel;
        }
        Submit(new CollectiveLaunch(reduction, buffers, offsets, lengths, reduction.Buffer(total), total));
    }

    // Scale, pack, reduce, unpack: one bucket per call (the packed buffer is the launch's own).
    private sealed class CollectiveLaunch(IReduction reduction, float[][] buffers, int[] offsets, int[] lengths, float[] packed, int total) : Launch
    {
        public override void Run()
        {
            float w = reduction.Weight;
            int k = 0;
            for (int i = 0; i < buffers.Length; i++)
            {
                System.Numerics.Tensors.TensorPrimitives.Multiply(buffers[i].AsSpan(offsets[i], lengths[i]), w, packed.AsSpan(k, lengths[i]));
                k += lengths[i];
            }
            reduction.Reduce(packed.AsSpan(0, total));
            k = 0;
            for (int i = 0; i < buffers.Length; i++)
            {
                packed.AsSpan(k, lengths[i]).CopyTo(buffers[i].AsSpan(offsets[i], lengths[i]));
                k += lengths[i];
            }
        }

        public override void Remap(Func<float[], float[]> map)
        {
            for (int i = 0; i < buffers.Length; i++) buffers[i] = map(buffers[i]);
        }
    }

    /// <inheritdoc/>
    public void Copy(Tensor src, Tensor dst)
    {
        if (CaptureSession.Current is null && src.IsContiguous && dst.IsContiguous && src.Storage is CpuStorage s && dst.Storage is CpuStorage d)
        {
            // Eager and contiguous: a plain copy with no plan or launch to allocate (a batch into a static input).
            s.Data.AsSpan(src.offset, src.Numel).CopyTo(d.Data.AsSpan(dst.offset, dst.Numel));
            return;
        }
        Unary(UnaryOp.Identity, src, dst);
    }

    /// <inheritdoc/>
    public void Fill(Tensor dst, float value)
    {
        var y = Data(dst);
        if (dst.IsContiguous) { Submit(new FillLaunch(y, dst.offset, dst.Numel, value)); return; }
        var plan = RowPlan.Create(dst.shape, [dst.strides], [dst.offset]);
        Submit(new StridedFillLaunch(y, plan, value));
    }

    /// <inheritdoc/>
    public void Unary(UnaryOp op, Tensor x, Tensor y, float p0 = 0, float p1 = 0)
    {
        var plan = RowPlan.Create(y.shape, [x.strides, y.strides], [x.offset, y.offset]);
        Submit(new ElementwiseLaunch(plan, Data(x), null, Data(y), unary: true, op, default, p0, p1));
    }

    /// <inheritdoc/>
    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y, float p0 = 0, float p1 = 0)
    {
        var plan = RowPlan.Create(y.shape, [BroadcastStrides(a, y.shape), BroadcastStrides(b, y.shape), y.strides], [a.offset, b.offset, y.offset]);
        Submit(new ElementwiseLaunch(plan, Data(a), Data(b), Data(y), unary: false, default, op, p0, p1));
    }

    // Elementwise work over a plan's rows, split over threads when large: whole rows when there are several, blocks of
    // one long row otherwise. Every element is computed alone, so the split never changes a bit.
    internal const int ElementBlock = 16 * 1024;


    private sealed class ElementwiseLaunch(RowPlan plan, float[] a, float[]? b, float[] y, bool unary, UnaryOp uop, BinaryOp bop, float p0, float p1) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            a = map(a);
            if (b is not null) b = map(b);
            y = map(y);
        }

        private readonly int _inner = plan.Inner;

        public override void Run()
        {
            int rows = plan.Rows, inner = _inner;
            if ((long)rows * inner < ParallelFor.StreamingMinWork)
            {
                for (int r = 0; r < rows; r++) Range(r, 0, inner);
                return;
            }
            if (rows == 1)
                ParallelFor.Run((inner + ElementBlock - 1) / ElementBlock, ElementBlock, this, static (in ElementwiseLaunch l, int b0, int b1) =>
                    l.Range(0, b0 * ElementBlock, Math.Min(l._inner, b1 * ElementBlock)));
            else
                ParallelFor.Run(rows, inner, this, static (in ElementwiseLaunch l, int r0, int r1) =>
                {
                    for (int r = r0; r < r1; r++) l.Range(r, 0, l._inner);
                });
        }

        private void Range(int r, int i0, int i1)
        {
            var s = plan.InnerStrides;
            if (unary)
            {
                Elementwise.UnaryRow(uop, a.AsSpan(plan.Offsets[2 * r] + i0 * s[0]), s[0], y.AsSpan(plan.Offsets[2 * r + 1] + i0 * s[1]), s[1], i1 - i0, p0, p1);
                return;
            }
            int oa = plan.Offsets[3 * r] + i0 * s[0], ob = plan.Offsets[3 * r + 1] + i0 * s[1], oy = plan.Offsets[3 * r + 2] + i0 * s[2];
            Elementwise.BinaryRow(bop, a.AsSpan(oa), s[0], b!.AsSpan(ob), s[1], y.AsSpan(oy), s[2], i1 - i0, p0, p1);
        }
    }

    /// <summary>Stops a replay when the value it watches is not finite.</summary>
    internal sealed class GuardLaunch(float[] x, int offset) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            x = map(x);
        }

        public bool Stopped;

        public override void Run() => Stopped = !float.IsFinite(x[offset]);
    }

    private sealed class FillLaunch(float[] y, int offset, int length, float value) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            y = map(y);
        }

        public override void Run() => y.AsSpan(offset, length).Fill(value);
    }

    private sealed class StridedFillLaunch(float[] y, RowPlan plan, float value) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            y = map(y);
        }

        public override void Run()
        {
            for (int r = 0; r < plan.Rows; r++)
            {
                int o = plan.Offsets[r], s = plan.InnerStrides[0];
                for (int i = 0; i < plan.Inner; i++) y[o + i * s] = value;
            }
        }
    }

    /// <inheritdoc/>
    public void Where(Tensor cond, Tensor a, Tensor b, Tensor y)
    {
        var plan = RowPlan.Create(y.shape,
            [BroadcastStrides(cond, y.shape), BroadcastStrides(a, y.shape), BroadcastStrides(b, y.shape), y.strides],
            [cond.offset, a.offset, b.offset, y.offset]);
        Submit(new WhereLaunch(plan, Data(cond), Data(a), Data(b), Data(y)));
    }

    private sealed class WhereLaunch(RowPlan plan, float[] cd, float[] ad, float[] bd, float[] yd) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            cd = map(cd);
            ad = map(ad);
            bd = map(bd);
            yd = map(yd);
        }

        public override void Run()
        {
            var s = plan.InnerStrides;
            for (int r = 0; r < plan.Rows; r++)
            {
                int oc = plan.Offsets[4 * r], oa = plan.Offsets[4 * r + 1], ob = plan.Offsets[4 * r + 2], oy = plan.Offsets[4 * r + 3];
                for (int i = 0; i < plan.Inner; i++)
                    yd[oy + i * s[3]] = cd[oc + i * s[0]] != 0 ? ad[oa + i * s[1]] : bd[ob + i * s[2]];
            }
        }
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

    // A contiguous view of t: t itself, or a copy made by a (recorded) copy launch into a new buffer.
    private static Tensor C(Tensor t)
    {
        if (t.IsContiguous) return t;
        var c = Tensor.Uninitialized(Instance, (int[])t.shape.Clone());
        Instance.Copy(t, c);
        return c;
    }

    /// <inheritdoc/>
    public void Reduce(ReduceOp op, Tensor x, int[] dims, Tensor y)
    {
        var xc = C(x);
        var curShape = (int[])x.shape.Clone();
        float[] cur = Data(xc);
        int curOffset = xc.offset;
        // Reduce runs of consecutive dims, last run first; sum and max are separable over dims.
        var passes = new List<ReduceLaunch.Pass>();
        int i = dims.Length - 1;
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
            passes.Add(new ReduceLaunch.Pass(cur, curOffset, next, outer, r, inner));
            for (int d = lo; d <= hi; d++) curShape[d] = 1;
            cur = next;
            curOffset = 0;
        }
        if (passes.Count > 0) Submit(new ReduceLaunch(op, [.. passes]));
        Copy(new Tensor(new CpuStorage(cur), curShape, Shapes.ContiguousStrides(curShape), curOffset), y);
    }

    private sealed class ReduceLaunch(ReduceOp op, ReduceLaunch.Pass[] passes) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            for (int i = 0; i < passes.Length; i++) passes[i] = passes[i] with { X = map(passes[i].X), Y = map(passes[i].Y) };
        }

        public readonly record struct Pass(float[] X, int Offset, float[] Y, int Outer, int R, int Inner);

        public override void Run()
        {
            foreach (var p in passes) Kernels.Reduce.OuterInner(op, p.X.AsSpan(p.Offset, p.Outer * p.R * p.Inner), p.Y, p.Outer, p.R, p.Inner);
        }
    }

    /// <inheritdoc/>
    public void Softmax(Tensor x, int dim, bool log, Tensor y)
    {
        int rank = x.Rank;
        if (dim == rank - 1 && x.IsContiguous && y.IsContiguous)
        {
            int n = x.shape[dim];
            Submit(new SoftmaxLaunch(Data(x), x.offset, Data(y), y.offset, n == 0 ? 0 : x.Numel / n, n, log));
            return;
        }
        // Move dim last, compute on a contiguous copy, write back through the same permutation of y.
        var perm = new int[rank];
        for (int d = 0, k = 0; d < rank; d++) if (d != dim) perm[k++] = d;
        perm[rank - 1] = dim;
        var xp = C(x.Permute(perm));
        var tmp = Tensor.Uninitialized(Instance, (int[])xp.shape.Clone());
        int len = x.shape[dim];
        Submit(new SoftmaxLaunch(Data(xp), xp.offset, Data(tmp), 0, len == 0 ? 0 : x.Numel / len, len, log));
        Copy(tmp, y.Permute(perm));
    }

    private sealed class SoftmaxLaunch(float[] x, int xo, float[] y, int yo, int rows, int n, bool log) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            x = map(x);
            y = map(y);
        }

        public override void Run() => Kernels.Softmax.Rows(x.AsSpan(xo), y.AsSpan(yo), rows, n, log);
    }

    /// <inheritdoc/>
    public void MatMul(Tensor a, Tensor b, Tensor y, bool accumulate)
    {
        int rank = y.Rank;
        int m = y.shape[rank - 2], n = y.shape[rank - 1], k = a.shape[rank - 1];
        if (!MatrixLayout(a, m, k, out bool ta, out int lda)) { a = C(a); MatrixLayout(a, m, k, out ta, out lda); }
        if (!MatrixLayout(b, k, n, out bool tb, out int ldb)) { b = C(b); MatrixLayout(b, k, n, out tb, out ldb); }
        if (!y.IsContiguous) throw new ArgumentException("MatMul: the output must be contiguous.", nameof(y));
        int batch = 1;
        for (int d = 0; d < rank - 2; d++) batch *= y.shape[d];
        var offsets = new int[3 * batch];
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
            offsets[3 * bi] = oa;
            offsets[3 * bi + 1] = ob;
            offsets[3 * bi + 2] = y.offset + bi * m * n;
        }
        Submit(new MatMulLaunch(Data(a), Data(b), Data(y), offsets, ta, tb, m, n, k, lda, ldb, accumulate));
    }

    private sealed class MatMulLaunch(float[] a, float[] b, float[] y, int[] offsets, bool ta, bool tb, int m, int n, int k, int lda, int ldb, bool accumulate) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            a = map(a);
            b = map(b);
            y = map(y);
        }

        public override void Run()
        {
            for (int i = 0; i < offsets.Length; i += 3)
                Gemm.Sgemm(ta, tb, m, n, k, a.AsSpan(offsets[i]), lda, b.AsSpan(offsets[i + 1]), ldb, y.AsSpan(offsets[i + 2]), n, accumulate);
        }
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

    // ---- indexing ------------------------------------------------------------------------------------------
    // Index tensors are read when the launch runs, so a captured step sees each replay's targets.

    /// <inheritdoc/>
    public void Gather(Tensor x, int dim, IntTensor index, Tensor y)
    {
        var xc = C(x);
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= index.ShapeArray[d];
        for (int d = dim + 1; d < index.Rank; d++) inner *= index.ShapeArray[d];
        int xStride = 1; // x and index agree on every dim but dim (checked by the op), so inner sizes match
        for (int d = dim + 1; d < x.Rank; d++) xStride *= x.shape[d];
        Submit(new GatherLaunch(Data(xc), xc.offset, Data(y), y.offset, index.Data, outer, x.shape[dim], index.ShapeArray[dim], inner, xStride, scatter: false));
    }

    /// <inheritdoc/>
    public void ScatterAdd(Tensor g, int dim, IntTensor index, Tensor dx)
    {
        var gc = C(g);
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= index.ShapeArray[d];
        for (int d = dim + 1; d < index.Rank; d++) inner *= index.ShapeArray[d];
        int xStride = 1;
        for (int d = dim + 1; d < dx.Rank; d++) xStride *= dx.shape[d];
        Submit(new GatherLaunch(Data(dx), dx.offset, Data(gc), gc.offset, index.Data, outer, dx.shape[dim], index.ShapeArray[dim], inner, xStride, scatter: true));
    }

    // Gather: y[flat] = x[(o·xDim + idx[flat])·xStride + i]; scatter: x[…] += y[flat] (x is then the gradient).
    private sealed class GatherLaunch(float[] x, int xo, float[] y, int yo, int[] idx, int outer, int xDim, int iDim, int inner, int xStride, bool scatter) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            x = map(x);
            y = map(y);
        }

        public override void Run()
        {
            for (int o = 0; o < outer; o++)
                for (int j = 0; j < iDim; j++)
                    for (int i = 0; i < inner; i++)
                    {
                        int flat = (o * iDim + j) * inner + i;
                        int at = xo + (o * xDim + idx[flat]) * xStride + i;
                        if (scatter) x[at] += y[yo + flat];
                        else y[yo + flat] = x[at];
                    }
        }
    }

    /// <inheritdoc/>
    public void IndexSelect(Tensor x, int dim, IntTensor index, Tensor y)
    {
        var xc = C(x);
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= x.shape[d];
        for (int d = dim + 1; d < x.Rank; d++) inner *= x.shape[d];
        Submit(new IndexSelectLaunch(Data(xc), xc.offset, Data(y), y.offset, index.Data, outer, x.shape[dim], index.Numel, inner, add: false));
    }

    /// <inheritdoc/>
    public void IndexAdd(Tensor g, int dim, IntTensor index, Tensor dx)
    {
        var gc = C(g);
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= dx.shape[d];
        for (int d = dim + 1; d < dx.Rank; d++) inner *= dx.shape[d];
        Submit(new IndexSelectLaunch(Data(dx), dx.offset, Data(gc), gc.offset, index.Data, outer, dx.shape[dim], index.Numel, inner, add: true));
    }

    // Select: y rows ← x rows idx[j]; add: x rows idx[j] += y rows (x is then the gradient).
    private sealed class IndexSelectLaunch(float[] x, int xo, float[] y, int yo, int[] idx, int outer, int xDim, int n, int inner, bool add) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            x = map(x);
            y = map(y);
        }

        public override void Run()
        {
            for (int o = 0; o < outer; o++)
                for (int j = 0; j < n; j++)
                {
                    var xs = x.AsSpan(xo + (o * xDim + idx[j]) * inner, inner);
                    var ys = y.AsSpan(yo + (o * n + j) * inner, inner);
                    if (add) System.Numerics.Tensors.TensorPrimitives.Add(xs, ys, xs);
                    else xs.CopyTo(ys);
                }
        }
    }

    /// <inheritdoc/>
    public void ArgMax(Tensor x, int dim, IntTensor result)
    {
        var xc = C(x);
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= x.shape[d];
        for (int d = dim + 1; d < x.Rank; d++) inner *= x.shape[d];
        Submit(new ArgMaxLaunch(Data(xc), xc.offset, result.Data, outer, x.shape[dim], inner));
    }

    private sealed class ArgMaxLaunch(float[] xd, int xo, int[] result, int outer, int r, int inner) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            xd = map(xd);
        }

        public override void Run()
        {
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
                    result[o * inner + i] = best;
                }
        }
    }
}
