using System.Buffers;
using System.Runtime.CompilerServices;

namespace Nabla.Kernels;

/// <summary>
/// 2-D convolution by im2col + <see cref="Gemm"/>: for a chunk of samples and one group, the receptive fields become
/// the columns of a (C/g·kh·kw) × (samples·OH·OW) matrix and y = W·col is one large GEMM; backward is
/// gx = col2im(Wᵀ·gy) and gW += gy·colᵀ, also one GEMM per chunk. Tensors are contiguous NCHW; W is
/// (OutC, C/g, kh, kw). <see cref="ConvNaive"/> is the reference.
/// </summary>
public static class Conv2d
{
    // Samples per GEMM: enough columns for an efficient, parallel product, few enough to keep the im2col buffer small.
    private const int ColumnBudget = 1 << 21;

    private static int Chunk(in ConvGeometry g) => Math.Clamp(ColumnBudget / Math.Max(1, g.K * g.P), 1, Math.Max(1, g.N));

    /// <summary>y = conv(x, w) (+ bias per output channel, when given); y (N, OutC, OH, OW) is overwritten.</summary>
    public static unsafe void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> y, in ConvGeometry g, ReadOnlySpan<float> bias = default)
    {
        int k = g.K, p = g.P, chunk = Chunk(g);
        var col = ArrayPool<float>.Shared.Rent(k * p * chunk);
        var tmp = ArrayPool<float>.Shared.Rent(g.OutCG * p * chunk);
        var geo = g;
        try
        {
            fixed (float* py = y, pb = bias)
            {
                nint ay = (nint)py, ab = (nint)pb;
                int yl = y.Length, bl = bias.Length;
                for (int n0 = 0; n0 < g.N; n0 += chunk)
                {
                    int b = Math.Min(chunk, g.N - n0), cols = b * p;
                    for (int gi = 0; gi < g.Groups; gi++)
                    {
                        // col (K, b·P): sample s fills columns [s·P, (s+1)·P); then tmp (OutC/g, b·P) = W_g · col.
                        Im2ColSamples(x, col, n0, b, gi, geo, cols);
                        Gemm.Sgemm(false, false, g.OutCG, cols, k, w.Slice(gi * g.OutCG * k, g.OutCG * k), k, col.AsSpan(0, k * cols), cols,
                            tmp.AsSpan(0, g.OutCG * cols), cols, accumulate: false);
                        // Scatter to NCHW, adding the bias on the way (the copy is needed anyway).
                        ParallelFor.Run(b, (long)geo.OutCG * p, (s0, s1) =>
                        {
                            var ys = new Span<float>((void*)ay, yl);
                            var bs = new ReadOnlySpan<float>((void*)ab, bl);
                            for (int s = s0; s < s1; s++)
                                for (int o = 0; o < geo.OutCG; o++)
                                {
                                    var src = tmp.AsSpan(o * cols + s * p, p);
                                    var dst = ys.Slice(((n0 + s) * geo.OutC + gi * geo.OutCG + o) * p, p);
                                    if (bs.IsEmpty) src.CopyTo(dst);
                                    else System.Numerics.Tensors.TensorPrimitives.Add(src, bs[gi * geo.OutCG + o], dst);
                                }
                        });
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(col);
            ArrayPool<float>.Shared.Return(tmp);
        }
    }

    // gyT (OutC/g, b·P) ← gy of samples n0..n0+b, group gi; samples split over threads.
    private static unsafe void GatherGrad(ReadOnlySpan<float> gy, float[] gyT, int n0, int b, int gi, ConvGeometry g)
    {
        int p = g.P, cols = b * p, gl = gy.Length;
        fixed (float* pg = gy)
        {
            nint ag = (nint)pg;
            ParallelFor.Run(b, (long)g.OutCG * p, (s0, s1) =>
            {
                var gys = new ReadOnlySpan<float>((void*)ag, gl);
                for (int s = s0; s < s1; s++)
                    for (int o = 0; o < g.OutCG; o++)
                        gys.Slice(((n0 + s) * g.OutC + gi * g.OutCG + o) * p, p).CopyTo(gyT.AsSpan(o * cols + s * p, p));
            });
        }
    }

    /// <summary>gx = ∂L/∂x from gy = ∂L/∂y; gx (N, C, H, W) is overwritten.</summary>
    public static unsafe void BackwardData(ReadOnlySpan<float> gy, ReadOnlySpan<float> w, Span<float> gx, in ConvGeometry g)
    {
        int k = g.K, p = g.P, chunk = Chunk(g);
        var col = ArrayPool<float>.Shared.Rent(k * p * chunk);
        var gyT = ArrayPool<float>.Shared.Rent(g.OutCG * p * chunk);
        var geo = g;
        try
        {
            fixed (float* px = gx)
            {
                nint ax = (nint)px;
                int xl = gx.Length, plane = g.CG * g.H * g.W;
                for (int n0 = 0; n0 < g.N; n0 += chunk)
                {
                    int b = Math.Min(chunk, g.N - n0), cols = b * p;
                    for (int gi = 0; gi < g.Groups; gi++)
                    {
                        GatherGrad(gy, gyT, n0, b, gi, g);
                        Gemm.Sgemm(true, false, k, cols, g.OutCG, w.Slice(gi * g.OutCG * k, g.OutCG * k), k, gyT.AsSpan(0, g.OutCG * cols), cols,
                            col.AsSpan(0, k * cols), cols, accumulate: false);
                        // Each sample's group slice of gx is written by one thread: cleared, then summed into.
                        ParallelFor.Run(b, (long)k * p, (s0, s1) =>
                        {
                            var gxs = new Span<float>((void*)ax, xl);
                            for (int s = s0; s < s1; s++)
                            {
                                var dst = gxs.Slice(((n0 + s) * geo.C + gi * geo.CG) * geo.H * geo.W, plane);
                                dst.Clear();
                                Col2Im(col.AsSpan(s * p), dst, geo, cols);
                            }
                        });
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(col);
            ArrayPool<float>.Shared.Return(gyT);
        }
    }

    /// <summary>gw = ∂L/∂W from gy and x, summed over the batch; gw (OutC, C/g, kh, kw) is overwritten.</summary>
    public static void BackwardWeight(ReadOnlySpan<float> gy, ReadOnlySpan<float> x, Span<float> gw, in ConvGeometry g)
    {
        int k = g.K, p = g.P, chunk = Chunk(g);
        var col = ArrayPool<float>.Shared.Rent(k * p * chunk);
        var gyT = ArrayPool<float>.Shared.Rent(g.OutCG * p * chunk);
        try
        {
            gw.Clear();
            for (int n0 = 0; n0 < g.N; n0 += chunk)
            {
                int b = Math.Min(chunk, g.N - n0), cols = b * p;
                for (int gi = 0; gi < g.Groups; gi++)
                {
                    Im2ColSamples(x, col, n0, b, gi, g, cols);
                    GatherGrad(gy, gyT, n0, b, gi, g);
                    Gemm.Sgemm(false, true, g.OutCG, k, cols, gyT.AsSpan(0, g.OutCG * cols), cols, col.AsSpan(0, k * cols), cols,
                        gw.Slice(gi * g.OutCG * k, g.OutCG * k), k, accumulate: true);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(col);
            ArrayPool<float>.Shared.Return(gyT);
        }
    }

    // Im2Col of samples n0..n0+b (group gi) into columns [s·P, (s+1)·P) of col; samples split over threads.
    private static unsafe void Im2ColSamples(ReadOnlySpan<float> x, float[] col, int n0, int b, int gi, ConvGeometry g, int cols)
    {
        int xl = x.Length;
        fixed (float* px = x)
        {
            nint ax = (nint)px;
            ParallelFor.Run(b, (long)g.K * g.P, (s0, s1) =>
            {
                var xs = new ReadOnlySpan<float>((void*)ax, xl);
                for (int s = s0; s < s1; s++)
                    Im2Col(xs.Slice(((n0 + s) * g.C + gi * g.CG) * g.H * g.W, g.CG * g.H * g.W), col.AsSpan(s * g.P), g, cols);
            });
        }
    }

    /// <summary>
    /// col[(c·kh + i)·kw + j, oh·OW + ow] = x[c, oh·sh − ph + i·dh, ow·sw − pw + j·dw] (0 outside), for one sample's
    /// group; rows of <paramref name="col"/> are <paramref name="ld"/> floats apart (several samples share one matrix).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Im2Col(ReadOnlySpan<float> x, Span<float> col, in ConvGeometry g, int ld)
    {
        int oh = g.OH, ow = g.OW, p = oh * ow;
        for (int c = 0; c < g.CG; c++)
            for (int i = 0; i < g.KH; i++)
                for (int j = 0; j < g.KW; j++)
                {
                    var row = col.Slice(((c * g.KH + i) * g.KW + j) * ld, p);
                    int dy = i * g.DilH - g.PadH, dx = j * g.DilW - g.PadW;
                    for (int y = 0; y < oh; y++)
                    {
                        int iy = y * g.StrideH + dy;
                        var dst = row.Slice(y * ow, ow);
                        if ((uint)iy >= (uint)g.H)
                        {
                            dst.Clear();
                            continue;
                        }
                        var src = x.Slice((c * g.H + iy) * g.W, g.W);
                        if (g.StrideW == 1)
                        {
                            // A contiguous run: copy the in-bounds part, zero the padding on either side.
                            int lo = Math.Clamp(-dx, 0, ow), hi = Math.Clamp(g.W - dx, lo, ow);
                            dst[..lo].Clear();
                            src.Slice(lo + dx, hi - lo).CopyTo(dst[lo..hi]);
                            dst[hi..].Clear();
                        }
                        else
                            for (int xo = 0; xo < ow; xo++)
                            {
                                int ix = xo * g.StrideW + dx;
                                dst[xo] = (uint)ix < (uint)g.W ? src[ix] : 0f;
                            }
                    }
                }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: adds each column entry back into the image position it came from.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Col2Im(ReadOnlySpan<float> col, Span<float> x, in ConvGeometry g, int ld)
    {
        int oh = g.OH, ow = g.OW, p = oh * ow;
        for (int c = 0; c < g.CG; c++)
            for (int i = 0; i < g.KH; i++)
                for (int j = 0; j < g.KW; j++)
                {
                    var row = col.Slice(((c * g.KH + i) * g.KW + j) * ld, p);
                    int dy = i * g.DilH - g.PadH, dx = j * g.DilW - g.PadW;
                    for (int y = 0; y < oh; y++)
                    {
                        int iy = y * g.StrideH + dy;
                        if ((uint)iy >= (uint)g.H) continue;
                        var dst = x.Slice((c * g.H + iy) * g.W, g.W);
                        var src = row.Slice(y * ow, ow);
                        if (g.StrideW == 1)
                        {
                            int lo = Math.Clamp(-dx, 0, ow), hi = Math.Clamp(g.W - dx, lo, ow);
                            var d = dst.Slice(lo + dx, hi - lo);
                            System.Numerics.Tensors.TensorPrimitives.Add(d, src[lo..hi], d);
                        }
                        else
                            for (int xo = 0; xo < ow; xo++)
                            {
                                int ix = xo * g.StrideW + dx;
                                if ((uint)ix < (uint)g.W) dst[ix] += src[xo];
                            }
                    }
                }
    }
}

/// <summary>The reference convolution: the definition, one output (or one weight) at a time, summed in double.</summary>
public static class ConvNaive
{
    /// <summary>y[n, o, a, b] = Σ x[n, c, a·sh − ph + i·dh, b·sw − pw + j·dw]·w[o, c′, i, j] over the group's channels.</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> y, in ConvGeometry g)
    {
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.OutC; o++)
            {
                int gi = o / g.OutCG;
                for (int a = 0; a < g.OH; a++)
                    for (int b = 0; b < g.OW; b++)
                    {
                        double s = 0;
                        for (int c = 0; c < g.CG; c++)
                            for (int i = 0; i < g.KH; i++)
                                for (int j = 0; j < g.KW; j++)
                                {
                                    int iy = a * g.StrideH - g.PadH + i * g.DilH, ix = b * g.StrideW - g.PadW + j * g.DilW;
                                    if ((uint)iy >= (uint)g.H || (uint)ix >= (uint)g.W) continue;
                                    s += x[((n * g.C + gi * g.CG + c) * g.H + iy) * g.W + ix] * (double)w[((o * g.CG + c) * g.KH + i) * g.KW + j];
                                }
                        y[((n * g.OutC + o) * g.OH + a) * g.OW + b] = (float)s;
                    }
            }
    }

    /// <summary>gx[n, c, iy, ix] = Σ gy[n, o, a, b]·w[o, c′, i, j] over the outputs the input position fed.</summary>
    public static void BackwardData(ReadOnlySpan<float> gy, ReadOnlySpan<float> w, Span<float> gx, in ConvGeometry g)
    {
        var acc = new double[gx.Length];
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.OutC; o++)
            {
                int gi = o / g.OutCG;
                for (int a = 0; a < g.OH; a++)
                    for (int b = 0; b < g.OW; b++)
                    {
                        double gv = gy[((n * g.OutC + o) * g.OH + a) * g.OW + b];
                        for (int c = 0; c < g.CG; c++)
                            for (int i = 0; i < g.KH; i++)
                                for (int j = 0; j < g.KW; j++)
                                {
                                    int iy = a * g.StrideH - g.PadH + i * g.DilH, ix = b * g.StrideW - g.PadW + j * g.DilW;
                                    if ((uint)iy >= (uint)g.H || (uint)ix >= (uint)g.W) continue;
                                    acc[((n * g.C + gi * g.CG + c) * g.H + iy) * g.W + ix] += gv * w[((o * g.CG + c) * g.KH + i) * g.KW + j];
                                }
                    }
            }
        for (int i = 0; i < acc.Length; i++) gx[i] = (float)acc[i];
    }

    /// <summary>gw[o, c′, i, j] = Σ over n, a, b of gy[n, o, a, b]·x[n, c, a·sh − ph + i·dh, b·sw − pw + j·dw].</summary>
    public static void BackwardWeight(ReadOnlySpan<float> gy, ReadOnlySpan<float> x, Span<float> gw, in ConvGeometry g)
    {
        for (int o = 0; o < g.OutC; o++)
        {
            int gi = o / g.OutCG;
            for (int c = 0; c < g.CG; c++)
                for (int i = 0; i < g.KH; i++)
                    for (int j = 0; j < g.KW; j++)
                    {
                        double s = 0;
                        for (int n = 0; n < g.N; n++)
                            for (int a = 0; a < g.OH; a++)
                                for (int b = 0; b < g.OW; b++)
                                {
                                    int iy = a * g.StrideH - g.PadH + i * g.DilH, ix = b * g.StrideW - g.PadW + j * g.DilW;
                                    if ((uint)iy >= (uint)g.H || (uint)ix >= (uint)g.W) continue;
                                    s += gy[((n * g.OutC + o) * g.OH + a) * g.OW + b] * (double)x[((n * g.C + gi * g.CG + c) * g.H + iy) * g.W + ix];
                                }
                        gw[((o * g.CG + c) * g.KH + i) * g.KW + j] = (float)s;
                    }
        }
    }
}
