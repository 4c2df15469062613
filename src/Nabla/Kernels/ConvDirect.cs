using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>
/// Direct convolution, with no im2col matrix. Each channel plane is copied once into a zero-padded
/// plane of width Wp = W + 2·pw and read as a flat signal: output position q = oh·Wp + ow (ow &lt; Wp; the columns
/// ow ≥ OW are computed and dropped) takes tap (i, j) of channel c from x̃[c, q + i·dh·Wp + j·dw], so every tap is
/// one contiguous run and a register tile of 8 (AVX-512) or 4 (AVX2) output channels × up to 48 or 24 positions
/// accumulates y[o, q] += w[o, c, i, j] · x̃[c, q + offset] over the taps in the weight's order (c, i, j), one FMA
/// per tap and lane — the same order on both instruction sets, so forward and data-gradient bits do not depend on
/// it. The data gradient is the same kernel run on gy padded by d·(k − 1) − p with the weights flipped and the
/// channel axes swapped. The weight gradient gW[o, c, i, j] = Σ_n Σ_q ĝ[o, q] · x̃[c, q + offset] (ĝ = gy in the
/// padded-width layout, 0 in the dropped columns) sums 16-lane partials over a fixed run of samples, reduces the
/// 16 lanes in order and adds the runs in order (AVX2 keeps each 16-lane partial in two registers), so its bits
/// depend neither on the thread count nor on the instruction set. A stride s reads through s² phase planes (see
/// <see cref="Layout"/>), so the forward pass and the weight gradient take strided convolutions too; a strided data
/// gradient stays on the im2col path. <see cref="ConvNaive"/> is the reference.
/// </summary>
internal static unsafe class ConvDirect
{
    /// <summary>Whether the direct kernels run on this machine (AVX-512F, or AVX2 with FMA).</summary>
    public static bool Available => Wide || Narrow;

    // AVX-512 unless a test on this thread asks for the AVX2 kernels (read on the calling thread, passed to the workers).
    private static bool Wide => !t_forceNarrow && Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    [ThreadStatic] private static bool t_forceNarrow;

    /// <summary>Runs this thread's direct convolutions on the AVX2 kernels while set (tests compare the two paths' bits).</summary>
    internal static bool ForceNarrow { get => t_forceNarrow; set => t_forceNarrow = value; }
    private static bool Narrow => Avx2.IsSupported && Fma.IsSupported && Vector256.IsHardwareAccelerated;

    /// <summary>
    /// Whether the data gradient takes the direct path: unit stride, a kernel larger than 1×1 (a pointwise convolution
    /// reads gy itself as the GEMM's matrix already), and padding p ≤ d·(k − 1), so that gx is a convolution of gy.
    /// </summary>
    public static bool AppliesToData(in ConvGeometry g) =>
        AppliesToForward(g) && g.StrideH == 1 && g.StrideW == 1 && g.KH * g.KW > 1
        && g.PadH <= g.DilH * (g.KH - 1) && g.PadW <= g.DilW * (g.KW - 1);

    /// <summary>
    /// Whether the forward pass takes the direct path: any stride (read through phase planes), every kernel but a
    /// unit-stride 1×1 (which reads x itself as the GEMM's matrix).
    /// </summary>
    public static bool AppliesToForward(in ConvGeometry g) =>
        Available && g.N > 0 && g.OH > 0 && g.OW > 0 && (g.KH * g.KW > 1 || g.StrideH > 1 || g.StrideW > 1);

    /// <summary>
    /// Whether the weight gradient takes the direct path: when a sample's flat output positions (OH·Ws, the dropped
    /// columns included) number at least 128, as in ResNet's 28×28 and 14×14 stages. Measured on an AMD EPYC (AVX-512): at 7×7
    /// (Q = 63, four 16-lane steps per sample) the per-tile overhead makes it ~0.6× the im2col GEMM, which keeps it.
    /// </summary>
    public static bool AppliesToWeight(in ConvGeometry g) => AppliesToForward(g) && g.OH * Layout.For(g, 1).Ws >= 128;

    // Lanes of the weight gradient's partial sums, whatever the vector width.
    private const int Lanes = 16;

    // The padded flat layout of one convolution's input: each channel's zero-padded Hp×Wp plane split into sh·sw
    // phase planes of Hs×Ws (phase (a, b) holds padded rows a, a + sh, … and columns b, b + sw, …), so tap (i, j) of
    // output q = oh·Ws + ow reads phase ((i·dh) mod sh, (j·dw) mod sw) at q + ⌊i·dh/sh⌋·Ws + ⌊j·dw/sw⌋: a strided
    // convolution becomes unit-stride reads too. Unit stride has one phase, the padded plane itself.
    private readonly record struct Layout(int Hs, int Ws, int Q, int QTiles, int PlaneStride, int ChannelStride, long PhaseMask)
    {
        public static Layout For(in ConvGeometry g, int tile)
        {
            int hs = (g.H + 2 * g.PadH + g.StrideH - 1) / g.StrideH, ws = (g.W + 2 * g.PadW + g.StrideW - 1) / g.StrideW;
            int q = g.OH * ws;
            int qTiles = (q + tile - 1) / tile * tile;
            int maxOffset = (g.KH - 1) * g.DilH / g.StrideH * ws + (g.KW - 1) * g.DilW / g.StrideW;
            // Reads reach qTiles − 1 + maxOffset; past the phase plane they meet zeros.
            int stride = (Math.Max(hs * ws, qTiles + maxOffset) + 15) & ~15;
            // The phases some tap reads (a 1×1 stride-2 projection reads one of four): the others are never written.
            long mask = 0;
            for (int i = 0; i < g.KH; i++)
                for (int j = 0; j < g.KW; j++)
                    mask |= 1L << Math.Min(63, i * g.DilH % g.StrideH * g.StrideW + j * g.DilW % g.StrideW);
            return new Layout(hs, ws, q, qTiles, stride, stride * g.StrideH * g.StrideW, mask);
        }
    }

    [ThreadStatic] private static float[]? t_x, t_y, t_w;
    [ThreadStatic] private static int[]? t_offsets;

    // Positions per forward tile step (one vector) and output channels per tile.
    private static int VectorWidth(bool wide) => wide ? 16 : 8;
    private static int TileRows(bool wide) => wide ? 8 : 4;

    /// <summary>y = conv(x, w) (+ bias); y (N, OutC, OH, OW) is overwritten. Requires <see cref="AppliesToForward"/>.</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> y, in ConvGeometry g, ReadOnlySpan<float> bias)
    {
        bool wide = Wide;
        int rows = TileRows(wide), taps = g.K, blocks = (g.OutCG + rows - 1) / rows;
        float[] packed = Scratch.Get(ref t_w, g.Groups * blocks * taps * rows);
        // Packed weights: [group][block of `rows` output channels][tap][row], zero rows past OutC/g.
        for (int gi = 0; gi < g.Groups; gi++)
            for (int b = 0; b < blocks; b++)
            {
                var dst = packed.AsSpan((gi * blocks + b) * taps * rows, taps * rows);
                for (int r = 0; r < rows; r++)
                {
                    int o = b * rows + r;
                    if (o >= g.OutCG)
                    {
                        for (int t = 0; t < taps; t++) dst[t * rows + r] = 0;
                        continue;
                    }
                    var src = w.Slice((gi * g.OutCG + o) * taps, taps);
                    for (int t = 0; t < taps; t++) dst[t * rows + r] = src[t];
                }
            }
        Run(x, packed, y, g, bias, wide);
    }

    /// <summary>gx = ∂L/∂x from gy (N, OutC, OH, OW); gx (N, C, H, W) is overwritten. Requires <see cref="AppliesToData"/>.</summary>
    public static void BackwardData(ReadOnlySpan<float> gy, ReadOnlySpan<float> w, Span<float> gx, in ConvGeometry g)
    {
        // gx = gy ⋆ w′ with w′[c, o, i, j] = w[o, c, kh − 1 − i, kw − 1 − j] (per group), padding d·(k − 1) − p.
        var t = new ConvGeometry(g.N, g.OutC, g.OH, g.OW, g.C, g.KH, g.KW, 1, 1,
            g.DilH * (g.KH - 1) - g.PadH, g.DilW * (g.KW - 1) - g.PadW, g.DilH, g.DilW, g.Groups);
        bool wide = Wide;
        int rows = TileRows(wide), taps = t.K, blocks = (t.OutCG + rows - 1) / rows, kk = g.KH * g.KW;
        float[] packed = Scratch.Get(ref t_w, t.Groups * blocks * taps * rows);
        for (int gi = 0; gi < t.Groups; gi++)
            for (int b = 0; b < blocks; b++)
            {
                var dst = packed.AsSpan((gi * blocks + b) * taps * rows, taps * rows);
                for (int r = 0; r < rows; r++)
                {
                    int c = b * rows + r;   // an input channel of g: an output channel of t
                    for (int o = 0; o < t.CG; o++)
                        for (int k = 0; k < kk; k++)
                            dst[(o * kk + k) * rows + r] = c < g.CG ? w[((gi * g.OutCG + o) * g.CG + c) * kk + kk - 1 - k] : 0;
                }
            }
        Run(gy, packed, gx, t, default, wide);
    }

    private static void Run(ReadOnlySpan<float> x, float[] packed, Span<float> y, in ConvGeometry g, ReadOnlySpan<float> bias, bool wide)
    {
        fixed (float* px = x, pw = packed, py = y, pb = bias)
        {
            var state = new RunState(g, (nint)px, (nint)pw, (nint)py, (nint)pb, wide);
            ParallelFor.Run(g.N, (long)g.OutC * g.K * g.P, in state, static (in RunState st, int n0, int n1) => RunRange(st, n0, n1));
        }
    }

    private readonly record struct RunState(ConvGeometry G, nint X, nint W, nint Y, nint Bias, bool Wide);

    // Samples [n0, n1) of a forward pass on one thread.
    private static void RunRange(in RunState st, int n0, int n1)
    {
        var g = st.G;
        bool wide = st.Wide;
        int rows = TileRows(wide), vw = VectorWidth(wide), tile = 3 * vw, taps = g.K, blocks = (g.OutCG + rows - 1) / rows;
        var lay = Layout.For(g, vw);
        float[] xpad = Scratch.Get(ref t_x, g.CG * lay.ChannelStride);
        float[] ybuf = Scratch.Get(ref t_y, blocks * rows * lay.QTiles);
        int[] offsets = Offsets(g, lay);
        // The borders and the slack stay zero: only the interior is written below.
        Array.Clear(xpad, 0, g.CG * lay.ChannelStride);
        float* x = (float*)st.X, w = (float*)st.W, y = (float*)st.Y, bias = (float*)st.Bias;
        int hw = g.H * g.W, ohw = g.OH * g.OW;
        fixed (float* xp = xpad, yb = ybuf)
        fixed (int* offs = offsets)
        {
            for (int n = n0; n < n1; n++)
                for (int gi = 0; gi < g.Groups; gi++)
                {
                    Pad(x + ((long)n * g.C + gi * g.CG) * hw, xp, g, lay);
                    for (int q0 = 0; q0 < lay.QTiles; q0 += tile)
                    {
                        int vectors = Math.Min(3, (lay.QTiles - q0) / vw);
                        for (int b = 0; b < blocks; b++)
                        {
                            float* wb = w + (long)(gi * blocks + b) * taps * rows, yt = yb + (long)b * rows * lay.QTiles + q0;
                            if (wide)
                            {
                                if (vectors == 3) Tile512<Three>(xp + q0, offs, taps, wb, yt, lay.QTiles);
                                else if (vectors == 2) Tile512<Two>(xp + q0, offs, taps, wb, yt, lay.QTiles);
                                else Tile512<One>(xp + q0, offs, taps, wb, yt, lay.QTiles);
                            }
                            else
                            {
                                if (vectors == 3) Tile256<Three>(xp + q0, offs, taps, wb, yt, lay.QTiles);
                                else if (vectors == 2) Tile256<Two>(xp + q0, offs, taps, wb, yt, lay.QTiles);
                                else Tile256<One>(xp + q0, offs, taps, wb, yt, lay.QTiles);
                            }
                        }
                    }
                    // Drop the padded columns while writing NCHW (and add the bias).
                    for (int o = 0; o < g.OutCG; o++)
                    {
                        int oc = gi * g.OutCG + o;
                        float* src = yb + (long)o * lay.QTiles, dst = y + ((long)n * g.OutC + oc) * ohw;
                        float add = bias == null ? 0f : bias[oc];
                        for (int oh = 0; oh < g.OH; oh++)
                            if (bias == null) CopyRow(src + oh * lay.Ws, dst + oh * g.OW, g.OW);
                            else AddRow(src + oh * lay.Ws, dst + oh * g.OW, g.OW, add);
                    }
                }
        }
    }

    // Samples whose packed planes (x̃ and ĝ) a weight-gradient run keeps: about 512 KiB, inside a core's L2.
    private const int RunFloats = 128 * 1024;

    [ThreadStatic] private static float[]? t_g, t_partials;

    /// <summary>gw = ∂L/∂W summed over the batch; gw (OutC, C/g, kh, kw) is overwritten. Requires <see cref="AppliesToForward"/>.</summary>
    public static void BackwardWeight(ReadOnlySpan<float> gy, ReadOnlySpan<float> x, Span<float> gw, in ConvGeometry g)
    {
        var lay = Layout.For(g, Lanes);
        long perSample = (long)g.CG * lay.ChannelStride + (long)GradRows(g) * lay.QTiles;
        // Fixed by the shapes (never by the thread count): at least 16 runs when the batch allows, for balance.
        int perRun = (int)Math.Clamp(RunFloats / perSample, 1, Math.Max(1, (g.N + 15) / 16));
        int runs = (g.N + perRun - 1) / perRun, size = g.OutC * g.K;
        float[]? partials = runs > 1 ? Scratch.Get(ref t_partials, runs * size) : null;
        fixed (float* pg = gy, px = x, pw = gw)
        fixed (float* pp = partials)
        {
            var state = new WeightState(g, lay, (nint)pg, (nint)px, (nint)(runs > 1 ? pp : pw), perRun, runs, Wide);
            ParallelFor.Run(runs, (long)g.OutC * g.K * g.P * perRun, in state, static (in WeightState st, int r0, int r1) => WeightRange(st, r0, r1));
        }
        if (partials is not null)
        {
            partials.AsSpan(0, size).CopyTo(gw);
            for (int r = 1; r < runs; r++) System.Numerics.Tensors.TensorPrimitives.Add(gw, partials.AsSpan(r * size, size), gw);
        }
    }

    // Gradient rows kept per sample: OutC/g rounded up to whole 4-row tiles (the extra rows are zeros).
    private static int GradRows(in ConvGeometry g) => (g.OutCG + 3) & ~3;

    private readonly record struct WeightState(ConvGeometry G, Layout Lay, nint Gy, nint X, nint Out, int PerRun, int Runs, bool Wide);

    // Runs [r0, r1) of the weight gradient on one thread; run r writes its own (OutC, K) block of Out.
    private static void WeightRange(in WeightState st, int r0, int r1)
    {
        var g = st.G;
        var lay = st.Lay;
        bool wide = st.Wide;
        int rows = wide ? 4 : 2, tapBlock = wide ? 6 : 3, taps = g.K, size = g.OutC * g.K;
        int hw = g.H * g.W, ohw = g.OH * g.OW;
        int gRowsPerSample = GradRows(g), xFloats = st.PerRun * g.CG * lay.ChannelStride, gFloats = st.PerRun * gRowsPerSample * lay.QTiles;
        float[] xpad = Scratch.Get(ref t_x, xFloats), gpad = Scratch.Get(ref t_g, gFloats);
        int[] offsets = Offsets(g, lay);
        Array.Clear(xpad, 0, xFloats);
        Array.Clear(gpad, 0, gFloats);   // the dropped columns and the rows past OutC/g stay 0
        float* x = (float*)st.X, gy = (float*)st.Gy;
        float* lanes = stackalloc float[Lanes * 24];
        fixed (float* xp = xpad, gp = gpad)
        fixed (int* offs = offsets)
        {
            float** gRows = stackalloc float*[4];
            for (int r = r0; r < r1; r++)
            {
                float* acc = (float*)st.Out + (long)r * size;
                int n0 = r * st.PerRun, n1 = Math.Min(g.N, n0 + st.PerRun), count = n1 - n0;
                for (int gi = 0; gi < g.Groups; gi++)
                {
                    for (int n = n0; n < n1; n++)
                    {
                        Pad(x + ((long)n * g.C + gi * g.CG) * hw, xp + (long)(n - n0) * g.CG * lay.ChannelStride, g, lay);
                        float* gs = gy + ((long)n * g.OutC + gi * g.OutCG) * ohw, gd = gp + (long)(n - n0) * gRowsPerSample * lay.QTiles;
                        for (int o = 0; o < g.OutCG; o++)
                            for (int oh = 0; oh < g.OH; oh++)
                                CopyRow(gs + (long)o * ohw + oh * g.OW, gd + (long)o * lay.QTiles + oh * lay.Ws, g.OW);
                    }
                    for (int o0 = 0; o0 < g.OutCG; o0 += rows)
                    {
                        for (int i = 0; i < rows; i++) gRows[i] = gp + (long)(o0 + i) * lay.QTiles;
                        long gStride = (long)gRowsPerSample * lay.QTiles;
                        for (int t0 = 0; t0 < taps; t0 += tapBlock)
                        {
                            if (wide) Weight512(gRows, gStride, xp, (long)g.CG * lay.ChannelStride, offs + t0, count, lay.QTiles, lanes);
                            else Weight256(gRows, gStride, xp, (long)g.CG * lay.ChannelStride, offs + t0, count, lay.QTiles, lanes);
                            for (int i = 0; i < rows && o0 + i < g.OutCG; i++)
                                for (int j = 0; j < tapBlock && t0 + j < taps; j++)
                                    acc[(long)(gi * g.OutCG + o0 + i) * taps + t0 + j] = SumLanes(lanes + (i * tapBlock + j) * Lanes);
                        }
                    }
                }
            }
        }
    }

    // The 16 lanes of a partial summed by halving (8 + 8, 4 + 4, 2 + 2, 1 + 1): a fixed order on every instruction set.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SumLanes(float* l)
    {
        var v8 = Vector256.Load(l) + Vector256.Load(l + 8);
        var v4 = v8.GetLower() + v8.GetUpper();
        return (v4.GetElement(0) + v4.GetElement(2)) + (v4.GetElement(1) + v4.GetElement(3));
    }

    // 4 gradient rows × 6 taps, 16-lane partials over `count` samples × q: acc[i][j] += ĝ[i, q] · x̃[q + offs[j]].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Weight512(float** gRows, long gStride, float* x, long xStride, int* offs, int count, int q, float* lanes)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a04 = default, a05 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default, a24 = default, a25 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default, a34 = default, a35 = default;
        float* g0 = gRows[0], g1 = gRows[1], g2 = gRows[2], g3 = gRows[3];
        for (int s = 0; s < count; s++)
        {
            float* p0 = x + offs[0], p1 = x + offs[1], p2 = x + offs[2], p3 = x + offs[3], p4 = x + offs[4], p5 = x + offs[5];
            for (int k = 0; k < q; k += 16)
            {
                var v0 = Vector512.Load(g0 + k); var v1 = Vector512.Load(g1 + k); var v2 = Vector512.Load(g2 + k); var v3 = Vector512.Load(g3 + k);
                var xv = Vector512.Load(p0 + k);
                a00 = Avx512F.FusedMultiplyAdd(v0, xv, a00); a10 = Avx512F.FusedMultiplyAdd(v1, xv, a10); a20 = Avx512F.FusedMultiplyAdd(v2, xv, a20); a30 = Avx512F.FusedMultiplyAdd(v3, xv, a30);
                xv = Vector512.Load(p1 + k);
                a01 = Avx512F.FusedMultiplyAdd(v0, xv, a01); a11 = Avx512F.FusedMultiplyAdd(v1, xv, a11); a21 = Avx512F.FusedMultiplyAdd(v2, xv, a21); a31 = Avx512F.FusedMultiplyAdd(v3, xv, a31);
                xv = Vector512.Load(p2 + k);
                a02 = Avx512F.FusedMultiplyAdd(v0, xv, a02); a12 = Avx512F.FusedMultiplyAdd(v1, xv, a12); a22 = Avx512F.FusedMultiplyAdd(v2, xv, a22); a32 = Avx512F.FusedMultiplyAdd(v3, xv, a32);
                xv = Vector512.Load(p3 + k);
                a03 = Avx512F.FusedMultiplyAdd(v0, xv, a03); a13 = Avx512F.FusedMultiplyAdd(v1, xv, a13); a23 = Avx512F.FusedMultiplyAdd(v2, xv, a23); a33 = Avx512F.FusedMultiplyAdd(v3, xv, a33);
                xv = Vector512.Load(p4 + k);
                a04 = Avx512F.FusedMultiplyAdd(v0, xv, a04); a14 = Avx512F.FusedMultiplyAdd(v1, xv, a14); a24 = Avx512F.FusedMultiplyAdd(v2, xv, a24); a34 = Avx512F.FusedMultiplyAdd(v3, xv, a34);
                xv = Vector512.Load(p5 + k);
                a05 = Avx512F.FusedMultiplyAdd(v0, xv, a05); a15 = Avx512F.FusedMultiplyAdd(v1, xv, a15); a25 = Avx512F.FusedMultiplyAdd(v2, xv, a25); a35 = Avx512F.FusedMultiplyAdd(v3, xv, a35);
            }
            x += xStride;
            g0 += gStride; g1 += gStride; g2 += gStride; g3 += gStride;
        }
        a00.Store(lanes); a01.Store(lanes + 16); a02.Store(lanes + 32); a03.Store(lanes + 48); a04.Store(lanes + 64); a05.Store(lanes + 80);
        a10.Store(lanes + 96); a11.Store(lanes + 112); a12.Store(lanes + 128); a13.Store(lanes + 144); a14.Store(lanes + 160); a15.Store(lanes + 176);
        a20.Store(lanes + 192); a21.Store(lanes + 208); a22.Store(lanes + 224); a23.Store(lanes + 240); a24.Store(lanes + 256); a25.Store(lanes + 272);
        a30.Store(lanes + 288); a31.Store(lanes + 304); a32.Store(lanes + 320); a33.Store(lanes + 336); a34.Store(lanes + 352); a35.Store(lanes + 368);
    }

    // 2 gradient rows × 3 taps, each 16-lane partial as two 8-lane halves (the lanes and sums of Weight512), the low
    // halves then the high ones: 12 accumulators, 2 gradient and 1 input register.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Weight256(float** gRows, long gStride, float* x, long xStride, int* offs, int count, int q, float* lanes)
    {
        Vector256<float> a00l = default, a00h = default, a01l = default, a01h = default, a02l = default, a02h = default;
        Vector256<float> a10l = default, a10h = default, a11l = default, a11h = default, a12l = default, a12h = default;
        float* g0 = gRows[0], g1 = gRows[1];
        for (int s = 0; s < count; s++)
        {
            float* p0 = x + offs[0], p1 = x + offs[1], p2 = x + offs[2];
            for (int k = 0; k < q; k += 16)
            {
                var v0 = Vector256.Load(g0 + k); var v1 = Vector256.Load(g1 + k);
                var xv = Vector256.Load(p0 + k);
                a00l = Fma.MultiplyAdd(v0, xv, a00l); a10l = Fma.MultiplyAdd(v1, xv, a10l);
                xv = Vector256.Load(p1 + k);
                a01l = Fma.MultiplyAdd(v0, xv, a01l); a11l = Fma.MultiplyAdd(v1, xv, a11l);
                xv = Vector256.Load(p2 + k);
                a02l = Fma.MultiplyAdd(v0, xv, a02l); a12l = Fma.MultiplyAdd(v1, xv, a12l);
                v0 = Vector256.Load(g0 + k + 8); v1 = Vector256.Load(g1 + k + 8);
                xv = Vector256.Load(p0 + k + 8);
                a00h = Fma.MultiplyAdd(v0, xv, a00h); a10h = Fma.MultiplyAdd(v1, xv, a10h);
                xv = Vector256.Load(p1 + k + 8);
                a01h = Fma.MultiplyAdd(v0, xv, a01h); a11h = Fma.MultiplyAdd(v1, xv, a11h);
                xv = Vector256.Load(p2 + k + 8);
                a02h = Fma.MultiplyAdd(v0, xv, a02h); a12h = Fma.MultiplyAdd(v1, xv, a12h);
            }
            x += xStride;
            g0 += gStride; g1 += gStride;
        }
        a00l.Store(lanes); a00h.Store(lanes + 8); a01l.Store(lanes + 16); a01h.Store(lanes + 24); a02l.Store(lanes + 32); a02h.Store(lanes + 40);
        a10l.Store(lanes + 48); a10h.Store(lanes + 56); a11l.Store(lanes + 64); a11h.Store(lanes + 72); a12l.Store(lanes + 80); a12h.Store(lanes + 88);
    }

    // Tap offsets in the padded flat layout, in the weight's order (c, i, j).
    private static int[] Offsets(in ConvGeometry g, in Layout lay)
    {
        int[] offs = t_offsets is { } a && a.Length >= g.K + 8 ? a : (t_offsets = new int[g.K + 8]);
        for (int c = 0, t = 0; c < g.CG; c++)
            for (int i = 0; i < g.KH; i++)
                for (int j = 0; j < g.KW; j++)
                {
                    int di = i * g.DilH, dj = j * g.DilW;
                    int phase = di % g.StrideH * g.StrideW + dj % g.StrideW;
                    offs[t++] = c * lay.ChannelStride + phase * lay.PlaneStride + di / g.StrideH * lay.Ws + dj / g.StrideW;
                }
        // Whole tap blocks of the weight gradient read past the last tap: point them at tap 0 (their sums are dropped).
        for (int t = g.K; t < g.K + 8; t++) offs[t] = 0;
        return offs;
    }

    // Copies a group's C/g planes of H×W into the interiors of their zero-bordered phase planes.
    private static void Pad(float* src, float* dst, in ConvGeometry g, in Layout lay)
    {
        int h = g.H, w = g.W, sh = g.StrideH, sw = g.StrideW;
        if (sh == 1 && sw == 1)
        {
            int interior = g.PadH * lay.Ws + g.PadW;
            for (int c = 0; c < g.CG; c++)
                for (int r = 0; r < h; r++)
                    CopyRow(src + ((long)c * h + r) * w, dst + (long)c * lay.ChannelStride + interior + r * lay.Ws, w);
            return;
        }
        for (int c = 0; c < g.CG; c++)
            for (int r = 0; r < h; r++)
            {
                int pr = r + g.PadH;
                float* row = src + ((long)c * h + r) * w;
                for (int b = 0; b < sw; b++)
                {
                    int phase = pr % sh * sw + b;
                    if (phase < 64 && (lay.PhaseMask >> phase & 1) == 0) continue;
                    int col = ((b - g.PadW) % sw + sw) % sw;   // the first input column of this phase
                    float* d = dst + (long)c * lay.ChannelStride + (long)phase * lay.PlaneStride + pr / sh * lay.Ws + (col + g.PadW) / sw;
                    for (; col < w; col += sw) *d++ = row[col];
                }
            }
    }

    // dst[0..n) = src[0..n): the rows here are 7–56 floats, too short for a Memmove call to pay.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(float* src, float* dst, int n)
    {
        int i = 0;
        for (; i + 8 <= n; i += 8) Vector256.Load(src + i).Store(dst + i);
        if (i + 4 <= n)
        {
            Vector128.Load(src + i).Store(dst + i);
            i += 4;
        }
        for (; i < n; i++) dst[i] = src[i];
    }

    // dst[0..n) = src[0..n) + add (the bias).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float* src, float* dst, int n, float add)
    {
        int i = 0;
        var a8 = Vector256.Create(add);
        for (; i + 8 <= n; i += 8) (Vector256.Load(src + i) + a8).Store(dst + i);
        if (i + 4 <= n)
        {
            (Vector128.Load(src + i) + a8.GetLower()).Store(dst + i);
            i += 4;
        }
        for (; i < n; i++) dst[i] = src[i] + add;
    }

    private interface ICount { static abstract int N { get; } }
    private struct One : ICount { public static int N => 1; }
    private struct Two : ICount { public static int N => 2; }
    private struct Three : ICount { public static int N => 3; }

    // 8 output channels × T.N vectors of 16 positions: acc[r][v] += w[t][r] · x[offs[t] + 16v] over the taps.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile512<T>(float* x, int* offs, int taps, float* w, float* y, int ldy) where T : struct, ICount
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        Vector512<float> a40 = default, a41 = default, a42 = default, a50 = default, a51 = default, a52 = default;
        Vector512<float> a60 = default, a61 = default, a62 = default, a70 = default, a71 = default, a72 = default;
        for (int t = 0; t < taps; t++, w += 8)
        {
            float* p = x + offs[t];
            var x0 = Vector512.Load(p);
            var x1 = T.N > 1 ? Vector512.Load(p + 16) : default;
            var x2 = T.N > 2 ? Vector512.Load(p + 32) : default;
            var b = Vector512.Create(w[0]);
            a00 = Avx512F.FusedMultiplyAdd(b, x0, a00); if (T.N > 1) a01 = Avx512F.FusedMultiplyAdd(b, x1, a01); if (T.N > 2) a02 = Avx512F.FusedMultiplyAdd(b, x2, a02);
            b = Vector512.Create(w[1]);
            a10 = Avx512F.FusedMultiplyAdd(b, x0, a10); if (T.N > 1) a11 = Avx512F.FusedMultiplyAdd(b, x1, a11); if (T.N > 2) a12 = Avx512F.FusedMultiplyAdd(b, x2, a12);
            b = Vector512.Create(w[2]);
            a20 = Avx512F.FusedMultiplyAdd(b, x0, a20); if (T.N > 1) a21 = Avx512F.FusedMultiplyAdd(b, x1, a21); if (T.N > 2) a22 = Avx512F.FusedMultiplyAdd(b, x2, a22);
            b = Vector512.Create(w[3]);
            a30 = Avx512F.FusedMultiplyAdd(b, x0, a30); if (T.N > 1) a31 = Avx512F.FusedMultiplyAdd(b, x1, a31); if (T.N > 2) a32 = Avx512F.FusedMultiplyAdd(b, x2, a32);
            b = Vector512.Create(w[4]);
            a40 = Avx512F.FusedMultiplyAdd(b, x0, a40); if (T.N > 1) a41 = Avx512F.FusedMultiplyAdd(b, x1, a41); if (T.N > 2) a42 = Avx512F.FusedMultiplyAdd(b, x2, a42);
            b = Vector512.Create(w[5]);
            a50 = Avx512F.FusedMultiplyAdd(b, x0, a50); if (T.N > 1) a51 = Avx512F.FusedMultiplyAdd(b, x1, a51); if (T.N > 2) a52 = Avx512F.FusedMultiplyAdd(b, x2, a52);
            b = Vector512.Create(w[6]);
            a60 = Avx512F.FusedMultiplyAdd(b, x0, a60); if (T.N > 1) a61 = Avx512F.FusedMultiplyAdd(b, x1, a61); if (T.N > 2) a62 = Avx512F.FusedMultiplyAdd(b, x2, a62);
            b = Vector512.Create(w[7]);
            a70 = Avx512F.FusedMultiplyAdd(b, x0, a70); if (T.N > 1) a71 = Avx512F.FusedMultiplyAdd(b, x1, a71); if (T.N > 2) a72 = Avx512F.FusedMultiplyAdd(b, x2, a72);
        }
        Store512<T>(y, a00, a01, a02); Store512<T>(y + ldy, a10, a11, a12);
        Store512<T>(y + 2 * ldy, a20, a21, a22); Store512<T>(y + 3 * ldy, a30, a31, a32);
        Store512<T>(y + 4 * ldy, a40, a41, a42); Store512<T>(y + 5 * ldy, a50, a51, a52);
        Store512<T>(y + 6 * ldy, a60, a61, a62); Store512<T>(y + 7 * ldy, a70, a71, a72);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512<T>(float* y, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2) where T : struct, ICount
    {
        v0.Store(y);
        if (T.N > 1) v1.Store(y + 16);
        if (T.N > 2) v2.Store(y + 32);
    }

    // 4 output channels × T.N vectors of 8 positions (the AVX2 tile; the same FMA per tap and lane).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile256<T>(float* x, int* offs, int taps, float* w, float* y, int ldy) where T : struct, ICount
    {
        Vector256<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        for (int t = 0; t < taps; t++, w += 4)
        {
            float* p = x + offs[t];
            var x0 = Vector256.Load(p);
            var x1 = T.N > 1 ? Vector256.Load(p + 8) : default;
            var x2 = T.N > 2 ? Vector256.Load(p + 16) : default;
            var b = Vector256.Create(w[0]);
            a00 = Fma.MultiplyAdd(b, x0, a00); if (T.N > 1) a01 = Fma.MultiplyAdd(b, x1, a01); if (T.N > 2) a02 = Fma.MultiplyAdd(b, x2, a02);
            b = Vector256.Create(w[1]);
            a10 = Fma.MultiplyAdd(b, x0, a10); if (T.N > 1) a11 = Fma.MultiplyAdd(b, x1, a11); if (T.N > 2) a12 = Fma.MultiplyAdd(b, x2, a12);
            b = Vector256.Create(w[2]);
            a20 = Fma.MultiplyAdd(b, x0, a20); if (T.N > 1) a21 = Fma.MultiplyAdd(b, x1, a21); if (T.N > 2) a22 = Fma.MultiplyAdd(b, x2, a22);
            b = Vector256.Create(w[3]);
            a30 = Fma.MultiplyAdd(b, x0, a30); if (T.N > 1) a31 = Fma.MultiplyAdd(b, x1, a31); if (T.N > 2) a32 = Fma.MultiplyAdd(b, x2, a32);
        }
        Store256<T>(y, a00, a01, a02); Store256<T>(y + ldy, a10, a11, a12);
        Store256<T>(y + 2 * ldy, a20, a21, a22); Store256<T>(y + 3 * ldy, a30, a31, a32);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256<T>(float* y, Vector256<float> v0, Vector256<float> v1, Vector256<float> v2) where T : struct, ICount
    {
        v0.Store(y);
        if (T.N > 1) v1.Store(y + 8);
        if (T.N > 2) v2.Store(y + 16);
    }
}
