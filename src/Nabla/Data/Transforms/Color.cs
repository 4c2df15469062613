namespace Nabla.Data.Transforms;

/// <summary>
/// torchvision ColorJitter(brightness, contrast, saturation, hue) for float images in [0, 1]. Per image it draws an
/// order of the four adjustments (a permutation of 4), then factors b ~ U(max(0, 1−brightness), 1+brightness),
/// c ~ U(max(0, 1−contrast), 1+contrast), s ~ U(max(0, 1−saturation), 1+saturation) and h ~ U(−hue, hue) for each
/// parameter that is non-zero (a zero parameter does nothing), and applies them in that order, clamping to [0, 1]:
/// brightness x·b; contrast c·x + (1−c)·mean(gray(x)); saturation s·x + (1−s)·gray(x); hue shifts the HSV hue by h
/// turns. gray = 0.299 R + 0.587 G + 0.114 B. On 1-channel images saturation and hue do nothing.
/// </summary>
public sealed class ColorJitter : Transform
{
    /// <summary>Creates the jitter.</summary>
    /// <param name="brightness">How much to jitter brightness (torchvision <c>brightness</c>), ≥ 0.</param>
    /// <param name="contrast">How much to jitter contrast (torchvision <c>contrast</c>), ≥ 0.</param>
    /// <param name="saturation">How much to jitter saturation (torchvision <c>saturation</c>), ≥ 0.</param>
    /// <param name="hue">How much to shift hue, in turns (torchvision <c>hue</c>), in [0, 0.5].</param>
    /// <exception cref="ArgumentOutOfRangeException">a parameter is out of range.</exception>
    public ColorJitter(double brightness = 0, double contrast = 0, double saturation = 0, double hue = 0)
    {
        Brightness = Pixels.NonNegative(brightness, nameof(brightness), nameof(ColorJitter));
        Contrast = Pixels.NonNegative(contrast, nameof(contrast), nameof(ColorJitter));
        Saturation = Pixels.NonNegative(saturation, nameof(saturation), nameof(ColorJitter));
        Hue = Pixels.NonNegative(hue, nameof(hue), nameof(ColorJitter), 0.5);
    }

    /// <summary>Brightness jitter.</summary>
    public double Brightness { get; }
    /// <summary>Contrast jitter.</summary>
    public double Contrast { get; }
    /// <summary>Saturation jitter.</summary>
    public double Saturation { get; }
    /// <summary>Hue jitter in turns.</summary>
    public double Hue { get; }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">the image has neither 1 nor 3 channels.</exception>
    public override Tensor Apply(Tensor image, Generator g)
    {
        ArgumentNullException.ThrowIfNull(g);
        var x = Pixels.Read(image, nameof(ColorJitter), out int c, out int h, out int w);
        if (c != 1 && c != 3) throw new ArgumentException($"ColorJitter: needs a 1- or 3-channel image, got {c} channels.", nameof(image));
        var order = g.Permutation(4);
        double b = Brightness > 0 ? Pixels.Uniform(g, Math.Max(0, 1 - Brightness), 1 + Brightness) : 1;
        double ct = Contrast > 0 ? Pixels.Uniform(g, Math.Max(0, 1 - Contrast), 1 + Contrast) : 1;
        double s = Saturation > 0 ? Pixels.Uniform(g, Math.Max(0, 1 - Saturation), 1 + Saturation) : 1;
        double hue = Hue > 0 ? Pixels.Uniform(g, -Hue, Hue) : 0;
        int hw = h * w;
        foreach (int f in order)
        {
            if (f == 0 && Brightness > 0) Blend(x, b, 0);
            else if (f == 1 && Contrast > 0) Blend(x, ct, Pixels.Gray(x, c, hw, nameof(ColorJitter)).Average(v => (double)v));
            else if (f == 2 && Saturation > 0 && c == 3) BlendGray(x, s, Pixels.Gray(x, c, hw, nameof(ColorJitter)));
            else if (f == 3 && Hue > 0 && c == 3) ShiftHue(x, hw, hue);
        }
        return Pixels.Make(x, c, h, w);
    }

    /// <summary>torchvision _blend with a constant: clamp(ratio·x + (1−ratio)·other, 0, 1).</summary>
    internal static void Blend(float[] x, double ratio, double other)
    {
        for (int i = 0; i < x.Length; i++) x[i] = Pixels.Clamp01(ratio * x[i] + (1 - ratio) * other);
    }

    /// <summary>torchvision _blend with the gray image (broadcast over channels).</summary>
    internal static void BlendGray(float[] x, double ratio, float[] gray)
    {
        for (int i = 0; i < x.Length; i++) x[i] = Pixels.Clamp01(ratio * x[i] + (1 - ratio) * gray[i % gray.Length]);
    }

    /// <summary>torchvision adjust_hue on an RGB float image: to HSV, h ← (h + shift) mod 1, back to RGB.</summary>
    internal static void ShiftHue(float[] x, int hw, double shift)
    {
        for (int i = 0; i < hw; i++)
        {
            double r = x[i], gg = x[hw + i], b = x[2 * hw + i];
            double max = Math.Max(r, Math.Max(gg, b)), min = Math.Min(r, Math.Min(gg, b)), cr = max - min;
            double s = cr / (cr == 0 ? 1 : max), div = cr == 0 ? 1 : cr;
            double rc = (max - r) / div, gc = (max - gg) / div, bc = (max - b) / div;
            double hh = max == r ? bc - gc : max == gg ? 2 + rc - bc : 4 + gc - rc;
            hh = (hh / 6 + 1) % 1.0;
            hh = ((hh + shift) % 1.0 + 1) % 1.0;
            double v = max, sector = Math.Floor(hh * 6), f = hh * 6 - sector;
            double p = Math.Clamp(v * (1 - s), 0, 1), q = Math.Clamp(v * (1 - s * f), 0, 1), t = Math.Clamp(v * (1 - s * (1 - f)), 0, 1);
            (r, gg, b) = ((int)sector % 6) switch
            {
                0 => (v, t, p),
                1 => (q, v, p),
                2 => (p, v, t),
                3 => (p, q, v),
                4 => (t, p, v),
                _ => (v, p, q),
            };
            x[i] = (float)r;
            x[hw + i] = (float)gg;
            x[2 * hw + i] = (float)b;
        }
    }
}

/// <summary>
/// torchvision RandomGrayscale(p=0.1): with probability p replaces every channel of an RGB image with its luma
/// 0.299 R + 0.587 G + 0.114 B, keeping 3 channels. A 1-channel image is returned as it is.
/// </summary>
public sealed class Grayscale : Transform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="p">Probability of converting (torchvision <c>p</c>).</param>
    public Grayscale(double p = 0.1) : base(p) { }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">the image has neither 1 nor 3 channels.</exception>
    public override Tensor Apply(Tensor image, Generator g)
    {
        var x = Pixels.Read(image, nameof(Grayscale), out int c, out int h, out int w);
        if (c != 1 && c != 3) throw new ArgumentException($"Grayscale: needs a 1- or 3-channel image, got {c} channels.", nameof(image));
        if (!Fires(g) || c == 1) return image;
        var gray = Pixels.Gray(x, c, h * w, nameof(Grayscale));
        for (int ch = 0; ch < 3; ch++) gray.CopyTo(x, ch * h * w);
        return Pixels.Make(x, c, h, w);
    }
}

/// <summary>
/// albumentations ChannelShuffle(p=0.5): with probability p the channels are reordered by a uniformly random
/// permutation π (out[k] = in[π(k)]).
/// </summary>
public sealed class ChannelShuffle : Transform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="p">Probability of shuffling (albumentations <c>p</c>).</param>
    public ChannelShuffle(double p = 0.5) : base(p) { }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        var x = Pixels.Read(image, nameof(ChannelShuffle), out int c, out int h, out int w);
        if (!Fires(g) || c == 1) return image;
        var perm = g.Permutation(c);
        var o = new float[x.Length];
        for (int k = 0; k < c; k++) Array.Copy(x, perm[k] * h * w, o, k * h * w, h * w);
        return Pixels.Make(o, c, h, w);
    }
}

/// <summary>
/// torchvision GaussianBlur(kernel_size, sigma=(0.1, 2.0)): per image σ ~ U(sigma), kernel
/// k[i] ∝ exp(−½((i − (K−1)/2)/σ)²), i = 0 … K−1, normalised to sum 1, applied separably along x and y with
/// reflect padding (PyTorch's "reflect": the edge pixel is not repeated).
/// </summary>
public sealed class GaussianBlur : Transform
{
    /// <summary>Creates the blur.</summary>
    /// <param name="kernelSize">Odd kernel side K (torchvision <c>kernel_size</c>).</param>
    /// <param name="sigma">Range of σ (torchvision <c>sigma</c>); default (0.1, 2.0).</param>
    /// <exception cref="ArgumentOutOfRangeException">an even or non-positive kernel size, or σ not positive.</exception>
    public GaussianBlur(int kernelSize, (double Min, double Max)? sigma = null)
    {
        if (kernelSize < 1 || kernelSize % 2 == 0)
            throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "GaussianBlur: kernel size must be odd and positive.");
        KernelSize = kernelSize;
        Sigma = Pixels.Range(sigma ?? (0.1, 2.0), nameof(sigma), nameof(GaussianBlur), 0, open: true);
    }

    /// <summary>Kernel side.</summary>
    public int KernelSize { get; }
    /// <summary>Range of σ.</summary>
    public (double Min, double Max) Sigma { get; }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        ArgumentNullException.ThrowIfNull(g);
        var x = Pixels.Read(image, nameof(GaussianBlur), out int c, out int h, out int w);
        double sigma = Pixels.Uniform(g, Sigma.Min, Sigma.Max);
        int k = KernelSize, half = k / 2;
        var kernel = new double[k];
        for (int i = 0; i < k; i++) kernel[i] = Math.Exp(-0.5 * Math.Pow((i - half) / sigma, 2));
        double sum = kernel.Sum();
        for (int i = 0; i < k; i++) kernel[i] /= sum;
        var tmp = new double[x.Length];
        var o = new float[x.Length];
        for (int ch = 0; ch < c; ch++)
            for (int r = 0; r < h; r++)
            {
                int row = (ch * h + r) * w;
                for (int q = 0; q < w; q++)
                {
                    double acc = 0;
                    for (int i = 0; i < k; i++) acc += kernel[i] * x[row + Reflect(q + i - half, w)];
                    tmp[row + q] = acc;
                }
            }
        for (int ch = 0; ch < c; ch++)
            for (int r = 0; r < h; r++)
                for (int q = 0; q < w; q++)
                {
                    double acc = 0;
                    for (int i = 0; i < k; i++) acc += kernel[i] * tmp[(ch * h + Reflect(r + i - half, h)) * w + q];
                    o[(ch * h + r) * w + q] = (float)acc;
                }
        return Pixels.Make(o, c, h, w);
    }

    /// <summary>Reflect index into 0..n−1 (…, 2, 1, 0, 1, 2, …, n−2, n−1, n−2, …), repeated for wide kernels.</summary>
    internal static int Reflect(int i, int n)
    {
        if (n == 1) return 0;
        int period = 2 * (n - 1);
        i %= period;
        if (i < 0) i += period;
        return i < n ? i : period - i;
    }
}
