using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>
/// 2-D pooling over contiguous NCHW planes, as ATen computes it: max pooling keeps the first maximal position of
/// each window (NaN wins) for the backward pass; average pooling divides by the window size clipped to the padded
/// input (count_include_pad) or to the input; adaptive average pooling uses windows
/// [⌊o·I/O⌋, ⌈(o+1)·I/O⌉). These loops are the definitions themselves, so they serve as their own reference.
/// </summary>
public static class Pool2d
{
    /// <summary>y = window max; <paramref name="argmax"/> gets the flat in-plane input index of each maximum (−1 for an empty window).</summary>
    /// <remarks>Planes are split over <see cref="Threads.Count"/> threads; the 2×2/2 window has a vectorised path.</remarks>
    public static unsafe void MaxForward(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, in PoolGeometry g)
    {
        var geo = g;
        bool fast = g is { KH: 2, KW: 2, StrideH: 2, StrideW: 2, PadH: 0, PadW: 0, DilH: 1, DilW: 1 } && g.OH * 2 <= g.H && g.OW * 2 <= g.W;
        int xl = x.Length, yl = y.Length, al = argmax.Length;
        fixed (float* px = x, py = y)
        fixed (int* pa = argmax)
        {
            nint ax = (nint)px, ay = (nint)py, aa = (nint)pa;
            var state = (fast, ax, ay, aa, xl, yl, al, geo);
            ParallelFor.Run(g.N * g.C, (long)g.OH * g.OW * g.KH * g.KW, in state,
                static (in (bool Fast, nint X, nint Y, nint A, int XL, int YL, int AL, PoolGeometry G) s, int p0, int p1) =>
                {
                    var xs = new ReadOnlySpan<float>((void*)s.X, s.XL);
                    var ys = new Span<float>((void*)s.Y, s.YL);
                    var am = new Span<int>((void*)s.A, s.AL);
                    if (s.Fast && Avx2.IsSupported) MaxPlanes2x2Avx2((float*)s.X, (float*)s.Y, (int*)s.A, s.G, p0, p1);
                    else if (s.Fast) MaxPlanes2x2(xs, ys, am, s.G, p0, p1);
                    else MaxPlanes(xs, ys, am, s.G, p0, p1);
                });
        }
    }

    // Planes [p0, p1), any window: the definition.
    internal static void MaxPlanes(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, in PoolGeometry g, int p0, int p1)
    {
        int oh = g.OH, ow = g.OW;
        for (int plane = p0; plane < p1; plane++)
        {
            var xp = x.Slice(plane * g.H * g.W, g.H * g.W);
            for (int a = 0; a < oh; a++)
            {
                int hs = a * g.StrideH - g.PadH, he = Math.Min(hs + (g.KH - 1) * g.DilH + 1, g.H);
                while (hs < 0) hs += g.DilH;
                for (int b = 0; b < ow; b++)
                {
                    int ws = b * g.StrideW - g.PadW, we = Math.Min(ws + (g.KW - 1) * g.DilW + 1, g.W);
                    while (ws < 0) ws += g.DilW;
                    float best = float.NegativeInfinity;
                    int at = -1;
                    for (int h = hs; h < he; h += g.DilH)
                        for (int w = ws; w < we; w += g.DilW)
                        {
                            float v = xp[h * g.W + w];
                            if (v > best || float.IsNaN(v) || at < 0)
                            {
                                best = v;
                                at = h * g.W + w;
                            }
                        }
                    int o = (plane * oh + a) * ow + b;
                    y[o] = best;
                    argmax[o] = at;
                }
            }
        }
    }

    // The common 2×2/2 window without padding: no bounds checks, same first-maximum and NaN rules.
    internal static void MaxPlanes2x2(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, in PoolGeometry g, int p0, int p1)
    {
        int w = g.W, oh = g.OH, ow = g.OW;
        for (int plane = p0; plane < p1; plane++)
        {
            var xp = x.Slice(plane * g.H * w, g.H * w);
            for (int a = 0; a < oh; a++)
                MaxRow2x2(xp, y, argmax, w, 2 * a * w, (plane * oh + a) * ow, 0, ow);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    // Outputs [b0, b1) of one output row: window b covers xp[r0 + 2b, r0 + 2b + 1] and the same in the next row.
    private static void MaxRow2x2(ReadOnlySpan<float> xp, Span<float> y, Span<int> argmax, int w, int r0, int o, int b0, int b1)
    {
        int r1 = r0 + w;
        for (int b = b0; b < b1; b++)
        {
            int i0 = r0 + 2 * b;
            float best = xp[i0];
            int at = i0;
            float v = xp[i0 + 1];
            if (v > best || float.IsNaN(v)) { best = v; at = i0 + 1; }
            v = xp[r1 + 2 * b];
            if (v > best || float.IsNaN(v)) { best = v; at = r1 + 2 * b; }
            v = xp[r1 + 2 * b + 1];
            if (v > best || float.IsNaN(v)) { best = v; at = r1 + 2 * b + 1; }
            y[o + b] = best;
            argmax[o + b] = at;
        }
    }

    // Eight (or four) windows at a time: de-interleave even/odd columns of both rows, then the scalar rule as masks
    // (take v when v > best or v is NaN, in window order), so results and argmax equal MaxPlanes2x2's. A row whose
    // width is not a multiple of the block ends with a block overlapping the previous one (same values rewritten).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MaxPlanes2x2Avx2(float* x, float* y, int* argmax, PoolGeometry g, int p0, int p1)
    {
        int w = g.W, oh = g.OH, ow = g.OW, inPlane = g.H * w;
        var evenOdd = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
        var lanes8 = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
        var lanes4 = Vector128.Create(0, 2, 4, 6);
        for (int plane = p0; plane < p1; plane++)
        {
            float* xp = x + (long)plane * inPlane;
            for (int a = 0; a < oh; a++)
            {
                int r0 = 2 * a * w, o = (plane * oh + a) * ow;
                float* top = xp + r0, bottom = top + w;
                if (ow >= 8)
                    for (int b = 0; b < ow; b += 8)
                    {
                        int s = Math.Min(b, ow - 8);
                        var t0 = Avx2.PermuteVar8x32(Avx.LoadVector256(top + 2 * s), evenOdd);
                        var t1 = Avx2.PermuteVar8x32(Avx.LoadVector256(top + 2 * s + 8), evenOdd);
                        var u0 = Avx2.PermuteVar8x32(Avx.LoadVector256(bottom + 2 * s), evenOdd);
                        var u1 = Avx2.PermuteVar8x32(Avx.LoadVector256(bottom + 2 * s + 8), evenOdd);
                        var best = Avx.Permute2x128(t0, t1, 0x20);
                        var idx = Vector256.Create(r0 + 2 * s) + lanes8;
                        var at = idx;
                        Take(Avx.Permute2x128(t0, t1, 0x31), idx + Vector256<int>.One, ref best, ref at);
                        Take(Avx.Permute2x128(u0, u1, 0x20), idx + Vector256.Create(w), ref best, ref at);
                        Take(Avx.Permute2x128(u0, u1, 0x31), idx + Vector256.Create(w + 1), ref best, ref at);
                        Avx.Store(y + o + s, best);
                        Avx.Store(argmax + o + s, at);
                    }
                else if (ow >= 4)
                    for (int b = 0; b < ow; b += 4)
                    {
                        int s = Math.Min(b, ow - 4);
                        var t0 = Sse.LoadVector128(top + 2 * s);
                        var t1 = Sse.LoadVector128(top + 2 * s + 4);
                        var u0 = Sse.LoadVector128(bottom + 2 * s);
                        var u1 = Sse.LoadVector128(bottom + 2 * s + 4);
                        var best = Sse.Shuffle(t0, t1, 0b10_00_10_00);
                        var idx = Vector128.Create(r0 + 2 * s) + lanes4;
                        var at = idx;
                        Take4(Sse.Shuffle(t0, t1, 0b11_01_11_01), idx + Vector128<int>.One, ref best, ref at);
                        Take4(Sse.Shuffle(u0, u1, 0b10_00_10_00), idx + Vector128.Create(w), ref best, ref at);
                        Take4(Sse.Shuffle(u0, u1, 0b11_01_11_01), idx + Vector128.Create(w + 1), ref best, ref at);
                        Sse.Store(y + o + s, best);
                        Sse2.Store(argmax + o + s, at);
                    }
                else
                    MaxRow2x2(new ReadOnlySpan<float>(xp, inPlane), new Span<float>(y, o + ow), new Span<int>(argmax, o + ow), w, r0, o, 0, ow);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Take(Vector256<float> v, Vector256<int> idx, ref Vector256<float> best, ref Vector256<int> at)
        {
            var m = Vector256.GreaterThan(v, best) | ~Vector256.Equals(v, v);
            best = Vector256.ConditionalSelect(m, v, best);
            at = Vector256.ConditionalSelect(m.AsInt32(), idx, at);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Take4(Vector128<float> v, Vector128<int> idx, ref Vector128<float> best, ref Vector128<int> at)
        {
            var m = Vector128.GreaterThan(v, best) | ~Vector128.Equals(v, v);
            best = Vector128.ConditionalSelect(m, v, best);
            at = Vector128.ConditionalSelect(m.AsInt32(), idx, at);
        }
    }

    /// <summary>gx[argmax] += gy for each output (gx overwritten); planes are split over threads.</summary>
    public static unsafe void MaxBackward(ReadOnlySpan<float> gy, ReadOnlySpan<int> argmax, Span<float> gx, in PoolGeometry g)
    {
        int perOut = g.OH * g.OW, perIn = g.H * g.W, gyl = gy.Length, al = argmax.Length, gxl = gx.Length;
        fixed (float* pg = gy, px = gx)
        fixed (int* pa = argmax)
        {
            nint ag = (nint)pg, ax = (nint)px, aa = (nint)pa;
            var state = (ag, aa, ax, perOut, perIn);
            ParallelFor.Run(g.N * g.C, perIn, in state, static (in (nint G, nint A, nint X, int PerOut, int PerIn) s, int p0, int p1) =>
                MaxBackwardPlanes((float*)s.G, (int*)s.A, (float*)s.X, s.PerOut, s.PerIn, p0, p1));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MaxBackwardPlanes(float* gy, int* argmax, float* gx, int perOut, int perIn, int p0, int p1)
    {
        new Span<float>(gx + (long)p0 * perIn, (p1 - p0) * perIn).Clear();
        for (int plane = p0; plane < p1; plane++)
        {
            float* dst = gx + (long)plane * perIn;
            int o0 = plane * perOut;
            for (int o = 0; o < perOut; o++)
            {
                int at = argmax[o0 + o];
                if ((uint)at < (uint)perIn) dst[at] += gy[o0 + o];
            }
        }
    }

    private static (int hs, int he, int ws, int we, int divisor) AvgWindow(int a, int b, in PoolGeometry g, bool countIncludePad)
    {
        int hs = a * g.StrideH - g.PadH, ws = b * g.StrideW - g.PadW;
        int he = Math.Min(hs + g.KH, g.H + g.PadH), we = Math.Min(ws + g.KW, g.W + g.PadW);
        int poolSize = (he - hs) * (we - ws);
        hs = Math.Max(hs, 0);
        ws = Math.Max(ws, 0);
        he = Math.Min(he, g.H);
        we = Math.Min(we, g.W);
        return (hs, he, ws, we, countIncludePad ? poolSize : (he - hs) * (we - ws));
    }

    /// <summary>y = window mean (no dilation), with PyTorch's divisor rules.</summary>
    public static void AvgForward(ReadOnlySpan<float> x, Span<float> y, in PoolGeometry g, bool countIncludePad, int? divisorOverride)
    {
        int oh = g.OH, ow = g.OW;
        for (int plane = 0; plane < g.N * g.C; plane++)
        {
            var xp = x.Slice(plane * g.H * g.W, g.H * g.W);
            for (int a = 0; a < oh; a++)
                for (int b = 0; b < ow; b++)
                {
                    var (hs, he, ws, we, divisor) = AvgWindow(a, b, g, countIncludePad);
                    float sum = 0;
                    for (int h = hs; h < he; h++)
                        for (int w = ws; w < we; w++) sum += xp[h * g.W + w];
                    y[(plane * oh + a) * ow + b] = sum / (divisorOverride ?? divisor);
                }
        }
    }

    /// <summary>gx = Σ over windows containing each input of gy/divisor (gx overwritten).</summary>
    public static void AvgBackward(ReadOnlySpan<float> gy, Span<float> gx, in PoolGeometry g, bool countIncludePad, int? divisorOverride)
    {
        gx.Clear();
        int oh = g.OH, ow = g.OW;
        for (int plane = 0; plane < g.N * g.C; plane++)
        {
            var gp = gx.Slice(plane * g.H * g.W, g.H * g.W);
            for (int a = 0; a < oh; a++)
                for (int b = 0; b < ow; b++)
                {
                    var (hs, he, ws, we, divisor) = AvgWindow(a, b, g, countIncludePad);
                    float v = gy[(plane * oh + a) * ow + b] / (divisorOverride ?? divisor);
                    for (int h = hs; h < he; h++)
                        for (int w = ws; w < we; w++) gp[h * g.W + w] += v;
                }
        }
    }

    private static int Start(int o, int input, int output) => (int)Math.Floor((double)o * input / output);
    private static int End(int o, int input, int output) => (int)Math.Ceiling((double)(o + 1) * input / output);

    /// <summary>Adaptive average pooling of (planes, H, W) to (planes, OH, OW).</summary>
    public static void AdaptiveAvgForward(ReadOnlySpan<float> x, Span<float> y, int planes, int h, int w, int oh, int ow)
    {
        for (int p = 0; p < planes; p++)
            for (int a = 0; a < oh; a++)
            {
                int hs = Start(a, h, oh), he = End(a, h, oh);
                for (int b = 0; b < ow; b++)
                {
                    int ws = Start(b, w, ow), we = End(b, w, ow);
                    float sum = 0;
                    for (int i = hs; i < he; i++)
                        for (int j = ws; j < we; j++) sum += x[(p * h + i) * w + j];
                    y[(p * oh + a) * ow + b] = sum / ((he - hs) * (we - ws));
                }
            }
    }

    /// <summary>The backward of <see cref="AdaptiveAvgForward"/> (gx overwritten).</summary>
    public static void AdaptiveAvgBackward(ReadOnlySpan<float> gy, Span<float> gx, int planes, int h, int w, int oh, int ow)
    {
        gx.Clear();
        for (int p = 0; p < planes; p++)
            for (int a = 0; a < oh; a++)
            {
                int hs = Start(a, h, oh), he = End(a, h, oh);
                for (int b = 0; b < ow; b++)
                {
                    int ws = Start(b, w, ow), we = End(b, w, ow);
                    float v = gy[(p * oh + a) * ow + b] / ((he - hs) * (we - ws));
                    for (int i = hs; i < he; i++)
                        for (int j = ws; j < we; j++) gx[(p * h + i) * w + j] += v;
                }
            }
    }
}
