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
    public static void MaxForward(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, in PoolGeometry g)
    {
        int oh = g.OH, ow = g.OW;
        if (g is { KH: 2, KW: 2, StrideH: 2, StrideW: 2, PadH: 0, PadW: 0, DilH: 1, DilW: 1 } && oh * 2 <= g.H && ow * 2 <= g.W)
        {
            MaxForward2x2(x, y, argmax, g, oh, ow);
            return;
        }
        for (int plane = 0; plane < g.N * g.C; plane++)
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
    private static void MaxForward2x2(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, in PoolGeometry g, int oh, int ow)
    {
        int w = g.W;
        for (int plane = 0; plane < g.N * g.C; plane++)
        {
            var xp = x.Slice(plane * g.H * w, g.H * w);
            int o = plane * oh * ow;
            for (int a = 0; a < oh; a++)
            {
                int r0 = 2 * a * w, r1 = r0 + w;
                for (int b = 0; b < ow; b++, o++)
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
                    y[o] = best;
                    argmax[o] = at;
                }
            }
        }
    }

    /// <summary>gx[argmax] += gy for each output (gx overwritten).</summary>
    public static void MaxBackward(ReadOnlySpan<float> gy, ReadOnlySpan<int> argmax, Span<float> gx, in PoolGeometry g)
    {
        gx.Clear();
        int perOut = g.OH * g.OW, perIn = g.H * g.W;
        for (int plane = 0; plane < g.N * g.C; plane++)
            for (int o = 0; o < perOut; o++)
            {
                int at = argmax[plane * perOut + o];
                if (at >= 0) gx[plane * perIn + at] += gy[plane * perOut + o];
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
