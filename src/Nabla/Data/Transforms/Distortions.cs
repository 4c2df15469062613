namespace Nabla.Data.Transforms;

/// <summary>
/// Additive Gaussian noise (albumentations GaussNoise, torchvision v2 GaussianNoise(mean, sigma, clip=True)): with
/// probability p, out = clamp(x + mean + std·ε, 0, 1) with ε ~ N(0, 1) drawn independently for every value of
/// every channel. (Not the <see cref="Nabla.GaussianNoise"/> layer, which perturbs activations inside a model.)
/// </summary>
public sealed class GaussianNoise : Transform
{
    /// <summary>Creates the noise.</summary>
    /// <param name="std">Standard deviation σ (torchvision <c>sigma</c>; albumentations <c>std_range</c> as a single value).</param>
    /// <param name="p">Probability of adding noise (albumentations <c>p</c>).</param>
    /// <param name="mean">Mean of the noise (torchvision <c>mean</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException">std negative, or a value not finite.</exception>
    public GaussianNoise(double std, double p = 0.5, double mean = 0) : base(p)
    {
        Std = Pixels.NonNegative(std, nameof(std), nameof(GaussianNoise));
        if (!double.IsFinite(mean)) throw new ArgumentOutOfRangeException(nameof(mean), mean, "GaussianNoise: mean must be finite.");
        Mean = mean;
    }

    /// <summary>Standard deviation of the noise.</summary>
    public double Std { get; }
    /// <summary>Mean of the noise.</summary>
    public double Mean { get; }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        var x = Pixels.Read(image, nameof(GaussianNoise), out int c, out int h, out int w);
        if (!Fires(g)) return image;
        for (int i = 0; i < x.Length; i++) x[i] = Pixels.Clamp01(x[i] + Mean + Std * g.NextNormal());
        return Pixels.Make(x, c, h, w);
    }
}

/// <summary>
/// Salt-and-pepper noise (albumentations SaltAndPepper with a fixed amount and salt_vs_pepper = 0.5): with probability
/// p, each pixel independently becomes pepper (0 in every channel) with probability amount/2 and salt (1 in every
/// channel) with probability amount/2; the rest stay.
/// </summary>
public sealed class SaltAndPepper : Transform
{
    /// <summary>Creates the noise.</summary>
    /// <param name="amount">Fraction of pixels replaced (albumentations <c>amount</c> as a single value), in [0, 1].</param>
    /// <param name="p">Probability of applying (albumentations <c>p</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException">amount outside [0, 1].</exception>
    public SaltAndPepper(double amount, double p = 0.5) : base(p) =>
        Amount = Pixels.NonNegative(amount, nameof(amount), nameof(SaltAndPepper), 1);

    /// <summary>Fraction of pixels replaced.</summary>
    public double Amount { get; }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        var x = Pixels.Read(image, nameof(SaltAndPepper), out int c, out int h, out int w);
        if (!Fires(g)) return image;
        int hw = h * w;
        for (int i = 0; i < hw; i++)
        {
            double u = g.NextDouble();
            if (u >= Amount) continue;
            float v = u < Amount / 2 ? 0f : 1f;
            for (int ch = 0; ch < c; ch++) x[ch * hw + i] = v;
        }
        return Pixels.Make(x, c, h, w);
    }
}

/// <summary>
/// A glare: with probability p, a bright elliptical highlight is blended in. The ellipse has its centre uniform in
/// the image, semi-axes U(0.15, 0.5)·W and U(0.15, 0.5)·H and a uniform orientation; with ρ² the normalised elliptical
/// distance, the mask is m = (1 − ρ²)² inside (0 outside), and out = x + intensity·m·(1 − x) (a blend towards white,
/// strongest at the centre, so values stay in [0, 1]).
/// </summary>
public sealed class Glare : Transform
{
    /// <summary>Creates the glare.</summary>
    /// <param name="p">Probability of applying.</param>
    /// <param name="intensity">Blend weight towards white at the centre, in [0, 1].</param>
    /// <exception cref="ArgumentOutOfRangeException">intensity outside [0, 1].</exception>
    public Glare(double p = 0.5, double intensity = 0.6) : base(p) =>
        Intensity = Pixels.NonNegative(intensity, nameof(intensity), nameof(Glare), 1);

    /// <summary>Blend weight towards white at the centre.</summary>
    public double Intensity { get; }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        var x = Pixels.Read(image, nameof(Glare), out int c, out int h, out int w);
        if (!Fires(g)) return image;
        double cx = Pixels.Uniform(g, 0, w), cy = Pixels.Uniform(g, 0, h);
        double ax = Pixels.Uniform(g, 0.15, 0.5) * w, ay = Pixels.Uniform(g, 0.15, 0.5) * h;
        double theta = Pixels.Uniform(g, 0, Math.PI), cos = Math.Cos(theta), sin = Math.Sin(theta);
        int hw = h * w;
        for (int r = 0; r < h; r++)
            for (int q = 0; q < w; q++)
            {
                double dx = q + 0.5 - cx, dy = r + 0.5 - cy;
                double u = (dx * cos + dy * sin) / ax, v = (-dx * sin + dy * cos) / ay, rho2 = u * u + v * v;
                if (rho2 >= 1) continue;
                double m = Intensity * (1 - rho2) * (1 - rho2);
                for (int ch = 0; ch < c; ch++)
                {
                    int i = ch * hw + r * w + q;
                    x[i] = (float)(x[i] + m * (1 - x[i]));
                }
            }
        return Pixels.Make(x, c, h, w);
    }
}

/// <summary>The overlay drawn by <see cref="Pattern"/>.</summary>
public enum PatternKind
{
    /// <summary>Sinusoidal stripes at a random angle, period and phase.</summary>
    Stripes,
    /// <summary>A grid of one-pixel lines at a random spacing and offset, bright or dark.</summary>
    Grid,
    /// <summary>A random smooth texture: Gaussian values on a coarse lattice, bilinearly upsampled.</summary>
    Texture,
}

/// <summary>
/// A pattern overlay: with probability p, out = clamp(x + intensity·s(y, x), 0, 1) in every channel, where s ∈ [−1, 1]
/// is: <see cref="PatternKind.Stripes"/> sin(2π(x cos θ + y sin θ)/T + φ) with θ ~ U(0, π), period
/// T ~ U(3, max(4, min(H, W)/2)) pixels, φ ~ U(0, 2π); <see cref="PatternKind.Grid"/> ±1 on every T-th row and column
/// (T ~ U{3 … max(3, min(H, W)/3)}, random offset, sign bright or dark) and 0 elsewhere;
/// <see cref="PatternKind.Texture"/> N(0, 1) values on a lattice of about 4×4 cells, bilinearly upsampled and scaled
/// so that max |s| = 1.
/// </summary>
public sealed class Pattern : Transform
{
    /// <summary>Creates the overlay.</summary>
    /// <param name="kind">Which pattern.</param>
    /// <param name="intensity">Amplitude added to the image, in [0, 1].</param>
    /// <param name="p">Probability of applying.</param>
    /// <exception cref="ArgumentOutOfRangeException">an unknown kind or intensity outside [0, 1].</exception>
    public Pattern(PatternKind kind, double intensity = 0.3, double p = 0.5) : base(p)
    {
        if (kind is not (PatternKind.Stripes or PatternKind.Grid or PatternKind.Texture))
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Pattern: unknown kind.");
        Kind = kind;
        Intensity = Pixels.NonNegative(intensity, nameof(intensity), nameof(Pattern), 1);
    }

    /// <summary>Which pattern.</summary>
    public PatternKind Kind { get; }
    /// <summary>Amplitude of the overlay.</summary>
    public double Intensity { get; }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        var x = Pixels.Read(image, nameof(Pattern), out int c, out int h, out int w);
        if (!Fires(g)) return image;
        var s = Kind switch
        {
            PatternKind.Stripes => Stripes(h, w, g),
            PatternKind.Grid => Grid(h, w, g),
            _ => Texture(h, w, g),
        };
        int hw = h * w;
        for (int i = 0; i < x.Length; i++) x[i] = Pixels.Clamp01(x[i] + Intensity * s[i % hw]);
        return Pixels.Make(x, c, h, w);
    }

    private static double[] Stripes(int h, int w, Generator g)
    {
        double theta = Pixels.Uniform(g, 0, Math.PI), period = Pixels.Uniform(g, 3, Math.Max(4, Math.Min(h, w) / 2.0));
        double phase = Pixels.Uniform(g, 0, 2 * Math.PI), cos = Math.Cos(theta), sin = Math.Sin(theta);
        var s = new double[h * w];
        for (int r = 0; r < h; r++)
            for (int q = 0; q < w; q++) s[r * w + q] = Math.Sin(2 * Math.PI * (q * cos + r * sin) / period + phase);
        return s;
    }

    private static double[] Grid(int h, int w, Generator g)
    {
        int period = 3 + g.NextInt(Math.Max(3, Math.Min(h, w) / 3) - 2);
        int oy = g.NextInt(period), ox = g.NextInt(period);
        double sign = g.NextDouble() < 0.5 ? -1 : 1;
        var s = new double[h * w];
        for (int r = 0; r < h; r++)
            for (int q = 0; q < w; q++)
                if ((r - oy) % period == 0 || (q - ox) % period == 0) s[r * w + q] = sign;
        return s;
    }

    private static double[] Texture(int h, int w, Generator g)
    {
        const int cells = 4;
        var lattice = new float[(cells + 1) * (cells + 1)];
        for (int i = 0; i < lattice.Length; i++) lattice[i] = (float)g.NextNormal();
        var s = new double[h * w];
        double max = 0;
        for (int r = 0; r < h; r++)
            for (int q = 0; q < w; q++)
            {
                double ly = h == 1 ? 0 : (double)r * cells / (h - 1), lx = w == 1 ? 0 : (double)q * cells / (w - 1);
                double v = Pixels.Bilinear(lattice, 0, cells + 1, cells + 1, ly, lx, 0);
                s[r * w + q] = v;
                max = Math.Max(max, Math.Abs(v));
            }
        if (max > 0)
            for (int i = 0; i < s.Length; i++) s[i] /= max;
        return s;
    }
}
