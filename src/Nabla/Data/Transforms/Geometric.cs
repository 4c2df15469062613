namespace Nabla.Data.Transforms;

/// <summary>
/// Mirrors the image left–right with probability p (torchvision RandomHorizontalFlip(p=0.5)):
/// out[c, y, x] = in[c, y, W−1−x].
/// </summary>
public sealed class HorizontalFlip : Transform
{
    /// <summary>Creates the flip.</summary>
    /// <param name="p">Probability of flipping (torchvision <c>p</c>).</param>
    public HorizontalFlip(double p = 0.5) : base(p) { }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        var x = Pixels.Read(image, nameof(HorizontalFlip), out int c, out int h, out int w);
        if (!Fires(g)) return image;
        var o = new float[x.Length];
        for (int row = 0; row < c * h; row++)
            for (int q = 0; q < w; q++) o[row * w + q] = x[row * w + w - 1 - q];
        return Pixels.Make(o, c, h, w);
    }
}

/// <summary>
/// Mirrors the image top–bottom with probability p (torchvision RandomVerticalFlip(p=0.5)):
/// out[c, y, x] = in[c, H−1−y, x].
/// </summary>
public sealed class VerticalFlip : Transform
{
    /// <summary>Creates the flip.</summary>
    /// <param name="p">Probability of flipping (torchvision <c>p</c>).</param>
    public VerticalFlip(double p = 0.5) : base(p) { }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        var x = Pixels.Read(image, nameof(VerticalFlip), out int c, out int h, out int w);
        if (!Fires(g)) return image;
        var o = new float[x.Length];
        for (int ch = 0; ch < c; ch++)
            for (int r = 0; r < h; r++)
                Array.Copy(x, (ch * h + h - 1 - r) * w, o, (ch * h + r) * w, w);
        return Pixels.Make(o, c, h, w);
    }
}

/// <summary>
/// torchvision RandomCrop(size, padding, fill): pads every side with <see cref="Padding"/> pixels of
/// <see cref="Fill"/> (padding_mode="constant"), then cuts a size×size window at a uniformly random position
/// i ~ U{0 … H+2·pad−size}, j ~ U{0 … W+2·pad−size}. With no size, the window has the input's own H×W (the classic
/// CIFAR "pad 4 and crop 32" shift augmentation).
/// </summary>
public sealed class RandomCrop : Transform
{
    /// <summary>Creates the crop.</summary>
    /// <param name="size">Side of the square output (torchvision <c>size</c>); null keeps the input's H×W.</param>
    /// <param name="padding">Pixels added on each side before cropping (torchvision <c>padding</c>).</param>
    /// <param name="fill">Value of the padding (torchvision <c>fill</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException">size below 1 or padding negative.</exception>
    public RandomCrop(int? size = null, int padding = 0, float fill = 0)
    {
        if (size is < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "RandomCrop: size must be at least 1.");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, "RandomCrop: padding must be non-negative.");
        Size = size;
        Padding = padding;
        Fill = fill;
    }

    /// <summary>Side of the output; null = the input's own size.</summary>
    public int? Size { get; }
    /// <summary>Pixels of padding on each side.</summary>
    public int Padding { get; }
    /// <summary>Value of the padding.</summary>
    public float Fill { get; }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">the padded image is smaller than the crop.</exception>
    public override Tensor Apply(Tensor image, Generator g)
    {
        ArgumentNullException.ThrowIfNull(g);
        var x = Pixels.Read(image, nameof(RandomCrop), out int c, out int h, out int w);
        // 64-bit: a padding near int.MaxValue must not wrap the padded size around to a negative one.
        long ph = h + 2L * Padding, pw = w + 2L * Padding;
        int th = Size ?? h, tw = Size ?? w;
        if (th > ph || tw > pw)
            throw new ArgumentException($"RandomCrop: a {th}×{tw} crop does not fit the padded {ph}×{pw} image.", nameof(image));
        long i = Position(g, ph - th + 1), j = Position(g, pw - tw + 1);
        var o = new float[c * th * tw];
        for (int ch = 0; ch < c; ch++)
            for (int r = 0; r < th; r++)
            {
                long sy = i + r - Padding;
                int dst = (ch * th + r) * tw;
                for (int q = 0; q < tw; q++)
                {
                    long sx = j + q - Padding;
                    o[dst + q] = (ulong)sy < (ulong)h && (ulong)sx < (ulong)w ? x[(ch * h + (int)sy) * w + (int)sx] : Fill;
                }
            }
        return Pixels.Make(o, c, th, tw);
    }

    /// <summary>
    /// Uniform in 0 … n−1: <see cref="Generator.NextInt"/> where n fits an int (every padding below 2^30 on ordinary
    /// images, so their draws are as before), else the high word of a 64-bit draw times n (bias below n / 2^64).
    /// </summary>
    private static long Position(Generator g, long n) =>
        n <= int.MaxValue ? g.NextInt((int)n) : (long)((UInt128)g.NextUInt64() * (ulong)n >> 64);
}

/// <summary>
/// torchvision RandomResizedCrop(size, scale=(0.08, 1), ratio=(3/4, 4/3)): up to 10 attempts draw an area fraction
/// s ~ U(scale) and an aspect r = exp(U(log ratio)), giving w = round(√(s·H·W·r)), h = round(√(s·H·W/r)); the first
/// with 0 &lt; w ≤ W and 0 &lt; h ≤ H is placed at i ~ U{0 … H−h}, j ~ U{0 … W−w}. After 10 failures the fallback is a
/// centred crop of the whole image clipped to the ratio range. The window is resized to size×size bilinearly
/// (align_corners=False, without torchvision's antialias, which only matters when shrinking a lot).
/// </summary>
public sealed class RandomResizedCrop : Transform
{
    /// <summary>Creates the crop.</summary>
    /// <param name="size">Side of the square output (torchvision <c>size</c>); null keeps the input's H×W.</param>
    /// <param name="scale">Range of the window's area as a fraction of the image (torchvision <c>scale</c>); default (0.08, 1).</param>
    /// <param name="ratio">Range of the window's aspect width/height, drawn log-uniformly (torchvision <c>ratio</c>); default (3/4, 4/3).</param>
    /// <exception cref="ArgumentOutOfRangeException">size below 1, or a range that is empty or not positive.</exception>
    public RandomResizedCrop(int? size = null, (double Min, double Max)? scale = null, (double Min, double Max)? ratio = null)
    {
        if (size is < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "RandomResizedCrop: size must be at least 1.");
        Size = size;
        Scale = Pixels.Range(scale ?? (0.08, 1.0), nameof(scale), nameof(RandomResizedCrop), 0, open: true);
        Ratio = Pixels.Range(ratio ?? (3.0 / 4, 4.0 / 3), nameof(ratio), nameof(RandomResizedCrop), 0, open: true);
    }

    /// <summary>Side of the output; null = the input's own size.</summary>
    public int? Size { get; }
    /// <summary>Area fraction range.</summary>
    public (double Min, double Max) Scale { get; }
    /// <summary>Aspect (width/height) range.</summary>
    public (double Min, double Max) Ratio { get; }

    /// <summary>torchvision's RandomResizedCrop.get_params: the window (top, left, height, width) for an H×W image.</summary>
    public static (int Top, int Left, int Height, int Width) GetParams(int height, int width, (double Min, double Max) scale, (double Min, double Max) ratio, Generator g)
    {
        ArgumentNullException.ThrowIfNull(g);
        double area = (double)height * width, lr0 = Math.Log(ratio.Min), lr1 = Math.Log(ratio.Max);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * Pixels.Uniform(g, scale.Min, scale.Max);
            double aspect = Math.Exp(Pixels.Uniform(g, lr0, lr1));
            int w = (int)Math.Round(Math.Sqrt(target * aspect));
            int h = (int)Math.Round(Math.Sqrt(target / aspect));
            if (w > 0 && w <= width && h > 0 && h <= height)
            {
                int i = g.NextInt(height - h + 1), j = g.NextInt(width - w + 1);
                return (i, j, h, w);
            }
        }
        double inRatio = (double)width / height;
        int fw, fh;
        if (inRatio < ratio.Min) { fw = width; fh = (int)Math.Round(fw / ratio.Min); }
        else if (inRatio > ratio.Max) { fh = height; fw = (int)Math.Round(fh * ratio.Max); }
        else { fw = width; fh = height; }
        fw = Math.Clamp(fw, 1, width);
        fh = Math.Clamp(fh, 1, height);
        return ((height - fh) / 2, (width - fw) / 2, fh, fw);
    }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        var x = Pixels.Read(image, nameof(RandomResizedCrop), out int c, out int h, out int w);
        var (top, left, ch, cw) = GetParams(h, w, Scale, Ratio, g);
        int oh = Size ?? h, ow = Size ?? w;
        return Pixels.Make(Pixels.Resize(x, c, h, w, top, left, ch, cw, oh, ow), c, oh, ow);
    }
}
