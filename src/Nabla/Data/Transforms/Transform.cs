namespace Nabla.Data.Transforms;

/// <summary>
/// A random (or fixed) transformation of one image (C, H, W) of floats, nominally in [0, 1] (torchvision.transforms,
/// albumentations). Every draw comes from the <see cref="Generator"/> passed in, so the same generator state gives the
/// same output. Transforms hold no mutable state and may be shared between threads (each with its own generator).
/// Compose them with <see cref="Compose"/>, <see cref="RandomApply"/>, <see cref="OneOf"/>, <see cref="RandomOrder"/>;
/// plug them into a <see cref="DataLoader"/> through <see cref="Augmentation"/>.
/// </summary>
public abstract class Transform
{
    /// <summary>Creates a transform applied with probability <paramref name="p"/> (1 = always).</summary>
    /// <exception cref="ArgumentOutOfRangeException">p is outside [0, 1].</exception>
    protected Transform(double p = 1)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, $"{GetType().Name}: p must be in [0, 1].");
        P = p;
    }

    /// <summary>
    /// Probability that the transform changes an image (torchvision's and albumentations' <c>p</c>); otherwise the image
    /// is returned unchanged. 1 for transforms that have no <c>p</c> in torchvision.
    /// </summary>
    public double P { get; }

    /// <summary>Transforms one image (C, H, W) with draws from <paramref name="g"/>; returns a new tensor or the input itself.</summary>
    /// <exception cref="ArgumentException">the image is not (C, H, W), or has a channel count the transform cannot handle.</exception>
    public abstract Tensor Apply(Tensor image, Generator g);

    /// <summary>
    /// The coin flip of <see cref="P"/>: true with probability P. Draws one <see cref="Generator.NextDouble"/> only when
    /// 0 &lt; P &lt; 1 (torchvision's <c>torch.rand(1) &lt; p</c>).
    /// </summary>
    protected bool Fires(Generator g)
    {
        ArgumentNullException.ThrowIfNull(g);
        return P >= 1 || (P > 0 && g.NextDouble() < P);
    }
}

/// <summary>Host-array helpers shared by the transforms (images are small; everything works on float[] in (C, H, W) order).</summary>
internal static class Pixels
{
    internal static float[] Read(Tensor image, string who, out int c, out int h, out int w)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Rank != 3 || image.Numel == 0)
            throw new ArgumentException($"{who}: expected one non-empty image (C, H, W), got shape {Shapes.Format([.. image.Shape])}.", nameof(image));
        c = image.Shape[0];
        h = image.Shape[1];
        w = image.Shape[2];
        return image.ToArray();
    }

    internal static Tensor Make(float[] data, int c, int h, int w) => Tensor.FromArray(data, c, h, w);

    /// <summary>Uniform in [lo, hi) (torch.empty(1).uniform_(lo, hi)); exactly lo when lo = hi.</summary>
    internal static double Uniform(Generator g, double lo, double hi) => lo + (hi - lo) * g.NextDouble();

    internal static float Clamp01(double v) => v >= 1 ? 1f : v > 0 ? (float)v : 0f;

    internal static void Clamp01(float[] x)
    {
        for (int i = 0; i < x.Length; i++) x[i] = Clamp01(x[i]);
    }

    /// <summary>ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B.</summary>
    internal static double Luma(double r, double g, double b) => 0.299 * r + 0.587 * g + 0.114 * b;

    /// <summary>The luma plane (H·W) of an RGB image, or the single plane of a 1-channel one.</summary>
    internal static float[] Gray(float[] x, int c, int hw, string who)
    {
        if (c == 1) return x[..hw];
        if (c != 3) throw new ArgumentException($"{who}: needs a 1- or 3-channel image, got {c} channels.");
        var l = new float[hw];
        for (int i = 0; i < hw; i++) l[i] = (float)Luma(x[i], x[hw + i], x[2 * hw + i]);
        return l;
    }

    /// <summary>Snaps a coordinate within 1e-9 of an integer onto it, so quarter turns and identities sample exactly.</summary>
    internal static double Snap(double v)
    {
        double r = Math.Round(v);
        return Math.Abs(v - r) < 1e-9 ? r : v;
    }

    /// <summary>
    /// Bilinear sample of the plane at <paramref name="offset"/> at index coordinates (y, x) (pixel centres at integers);
    /// each of the four taps that falls outside the image reads <paramref name="fill"/>.
    /// </summary>
    internal static double Bilinear(float[] src, int offset, int h, int w, double y, double x, float fill)
    {
        if (!(x > -1 && x < w && y > -1 && y < h)) return fill;
        double fy = Math.Floor(y), fx = Math.Floor(x);
        int y0 = (int)fy, x0 = (int)fx;
        double dy = y - fy, dx = x - fx;
        double Tap(int yy, int xx) => (uint)yy < (uint)h && (uint)xx < (uint)w ? src[offset + yy * w + xx] : fill;
        double top = dx == 0 ? Tap(y0, x0) : (1 - dx) * Tap(y0, x0) + dx * Tap(y0, x0 + 1);
        if (dy == 0) return top;
        double bottom = dx == 0 ? Tap(y0 + 1, x0) : (1 - dx) * Tap(y0 + 1, x0) + dx * Tap(y0 + 1, x0 + 1);
        return (1 - dy) * top + dy * bottom;
    }

    /// <summary>
    /// Bilinear resize of the window (top, left, height, width) of every channel to (outH, outW), PyTorch's
    /// interpolate(mode="bilinear", align_corners=False, antialias=False): source = (dst + ½)·in/out − ½, clamped at 0.
    /// </summary>
    internal static float[] Resize(float[] x, int c, int h, int w, int top, int left, int height, int width, int outH, int outW)
    {
        var o = new float[c * outH * outW];
        double sy = (double)height / outH, sx = (double)width / outW;
        var x0 = new int[outW];
        var x1 = new int[outW];
        var lx = new double[outW];
        for (int q = 0; q < outW; q++)
        {
            double src = Math.Max(0, sx * (q + 0.5) - 0.5);
            x0[q] = Math.Min((int)src, width - 1);
            x1[q] = Math.Min(x0[q] + 1, width - 1);
            lx[q] = src - x0[q];
            if (x0[q] == width - 1) lx[q] = 0;
        }
        for (int r = 0; r < outH; r++)
        {
            double src = Math.Max(0, sy * (r + 0.5) - 0.5);
            int y0 = Math.Min((int)src, height - 1), y1 = Math.Min(y0 + 1, height - 1);
            double ly = y0 == height - 1 ? 0 : src - y0;
            for (int ch = 0; ch < c; ch++)
            {
                int row0 = ch * h * w + (top + y0) * w + left, row1 = ch * h * w + (top + y1) * w + left;
                int dst = (ch * outH + r) * outW;
                for (int q = 0; q < outW; q++)
                {
                    double a = (1 - lx[q]) * x[row0 + x0[q]] + lx[q] * x[row0 + x1[q]];
                    double b = (1 - lx[q]) * x[row1 + x0[q]] + lx[q] * x[row1 + x1[q]];
                    o[dst + q] = (float)((1 - ly) * a + ly * b);
                }
            }
        }
        return o;
    }

    /// <summary>Validates a (min, max) range: finite, min ≤ max, min ≥ <paramref name="floor"/> (strictly above when <paramref name="open"/>).</summary>
    internal static (double Min, double Max) Range((double Min, double Max) r, string name, string who, double floor = double.NegativeInfinity, bool open = false)
    {
        bool ok = double.IsFinite(r.Min) && double.IsFinite(r.Max) && r.Min <= r.Max && (open ? r.Min > floor : r.Min >= floor);
        if (!ok)
            throw new ArgumentOutOfRangeException(name, r, $"{who}: {name} must be a finite range (min, max) with min ≤ max{(double.IsNegativeInfinity(floor) ? "" : open ? $" and min > {floor}" : $" and min ≥ {floor}")}.");
        return r;
    }

    internal static double NonNegative(double v, string name, string who, double max = double.PositiveInfinity)
    {
        if (!(v >= 0 && v <= max && double.IsFinite(v)))
            throw new ArgumentOutOfRangeException(name, v, $"{who}: {name} must be in [0, {(double.IsPositiveInfinity(max) ? "∞" : max.ToString(System.Globalization.CultureInfo.InvariantCulture))}].");
        return v;
    }
}
