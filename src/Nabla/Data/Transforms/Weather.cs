namespace Nabla.Data.Transforms;

/// <summary>
/// Rain (after albumentations RandomRain): with probability p, <see cref="Drops"/> slanted streaks are drawn. One slant
/// α ~ U(−20°, 20°) from vertical per image; each drop starts at a uniform pixel and runs ⌈length·H⌉ pixels along
/// (sin α, cos α); a streak pixel becomes out = x + brightness·(1 − x) in every channel (a blend towards white).
/// </summary>
public sealed class Rain : Transform
{
    /// <summary>Creates the effect.</summary>
    /// <param name="p">Probability of applying (albumentations <c>p</c>).</param>
    /// <param name="drops">Number of streaks.</param>
    /// <param name="length">Streak length as a fraction of the image height (albumentations <c>drop_length</c>, relative), in (0, 1].</param>
    /// <param name="brightness">Blend weight of a streak towards white, in [0, 1].</param>
    /// <exception cref="ArgumentOutOfRangeException">a negative drop count or a value out of range.</exception>
    public Rain(double p = 0.5, int drops = 20, double length = 0.2, double brightness = 0.5) : base(p)
    {
        if (drops < 0) throw new ArgumentOutOfRangeException(nameof(drops), drops, "Rain: drops must be non-negative.");
        if (!(length > 0 && length <= 1)) throw new ArgumentOutOfRangeException(nameof(length), length, "Rain: length must be in (0, 1].");
        Drops = drops;
        Length = length;
        Brightness = Pixels.NonNegative(brightness, nameof(brightness), nameof(Rain), 1);
    }

    /// <summary>Number of streaks.</summary>
    public int Drops { get; }
    /// <summary>Streak length as a fraction of the height.</summary>
    public double Length { get; }
    /// <summary>Blend weight of a streak towards white.</summary>
    public double Brightness { get; }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        var x = Pixels.Read(image, nameof(Rain), out int c, out int h, out int w);
        if (!Fires(g)) return image;
        double slant = Pixels.Uniform(g, -20, 20) * Math.PI / 180, dx = Math.Sin(slant), dy = Math.Cos(slant);
        int steps = (int)Math.Ceiling(Length * h), hw = h * w;
        var mask = new bool[hw];
        for (int d = 0; d < Drops; d++)
        {
            double x0 = g.NextInt(w), y0 = g.NextInt(h);
            for (int t = 0; t < steps; t++)
            {
                int q = (int)Math.Round(x0 + t * dx), r = (int)Math.Round(y0 + t * dy);
                if ((uint)q < (uint)w && (uint)r < (uint)h) mask[r * w + q] = true;
            }
        }
        for (int i = 0; i < hw; i++)
            if (mask[i])
                for (int ch = 0; ch < c; ch++) x[ch * hw + i] = (float)(x[ch * hw + i] + Brightness * (1 - x[ch * hw + i]));
        return Pixels.Make(x, c, h, w);
    }
}

/// <summary>
/// A sun flare (after albumentations RandomSunFlare): with probability p, a bright disc of radius
/// R = radius·min(H, W) centred at a uniform point of the upper half of the image (albumentations' default flare_roi)
/// is added with a soft halo: out = clamp(x + m(d), 0, 1), m(d) = 1 within the disc and exp(−(d − R)²/(2R²)) outside,
/// d the distance to the centre.
/// </summary>
public sealed class SunFlare : Transform
{
    /// <summary>Creates the effect.</summary>
    /// <param name="p">Probability of applying (albumentations <c>p</c>).</param>
    /// <param name="radius">Disc radius as a fraction of the image's smaller side, in (0, 1] (albumentations <c>src_radius</c>, relative).</param>
    /// <exception cref="ArgumentOutOfRangeException">radius outside (0, 1].</exception>
    public SunFlare(double p = 0.5, double radius = 0.15) : base(p)
    {
        if (!(radius > 0 && radius <= 1)) throw new ArgumentOutOfRangeException(nameof(radius), radius, "SunFlare: radius must be in (0, 1].");
        Radius = radius;
    }

    /// <summary>Disc radius as a fraction of the smaller side.</summary>
    public double Radius { get; }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        var x = Pixels.Read(image, nameof(SunFlare), out int c, out int h, out int w);
        if (!Fires(g)) return image;
        double cx = Pixels.Uniform(g, 0, w), cy = Pixels.Uniform(g, 0, h / 2.0), radius = Radius * Math.Min(h, w);
        int hw = h * w;
        for (int r = 0; r < h; r++)
            for (int q = 0; q < w; q++)
            {
                double d = Math.Sqrt(Math.Pow(q + 0.5 - cx, 2) + Math.Pow(r + 0.5 - cy, 2)), over = Math.Max(0, d - radius);
                double m = Math.Exp(-over * over / (2 * radius * radius));
                for (int ch = 0; ch < c; ch++) x[ch * hw + r * w + q] = Pixels.Clamp01(x[ch * hw + r * w + q] + m);
            }
        return Pixels.Make(x, c, h, w);
    }
}
