namespace Nabla.Data.Transforms;

/// <summary>
/// torchvision RandomAffine(degrees, translate, scale, shear, fill): a random rotation, translation, scaling and
/// x-shear about the image centre, computed by inverse mapping with bilinear interpolation. Per image it draws
/// angle ~ U(degrees), tx = round(U(−a·W, a·W)), ty = round(U(−b·H, b·H)) for translate = (a, b), s ~ U(scale) and
/// shear φ ~ U(shear), then builds torchvision's inverse matrix (RSS⁻¹ of F.affine: a positive angle turns the
/// picture clockwise on screen, y pointing down) and samples each output pixel at
/// M·(x − cₓ, y − c_y, 1) + (cₓ, c_y) with c = ((W−1)/2, (H−1)/2). Taps outside the image read <see cref="Fill"/>.
/// </summary>
public sealed class RandomAffine : Transform
{
    /// <summary>Creates the transform with torchvision's symmetric ranges.</summary>
    /// <param name="degrees">Angle range (−degrees, degrees) (torchvision <c>degrees</c>).</param>
    /// <param name="translate">Largest shift as fractions (of width, of height) (torchvision <c>translate</c>); default none.</param>
    /// <param name="scale">Zoom range (torchvision <c>scale</c>); default (1, 1).</param>
    /// <param name="shear">x-shear range (−shear, shear) in degrees (torchvision <c>shear</c> as one number).</param>
    /// <param name="fill">Value of pixels mapped from outside the input (torchvision <c>fill</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException">a negative or non-finite degrees or shear, translate outside [0, 1], or a scale range not positive.</exception>
    public RandomAffine(double degrees, (double X, double Y) translate = default, (double Min, double Max)? scale = null, double shear = 0, float fill = 0)
        : this((-Pixels.NonNegative(degrees, nameof(degrees), nameof(RandomAffine)), degrees), translate, scale,
            (-Pixels.NonNegative(shear, nameof(shear), nameof(RandomAffine), 89), shear), fill)
    {
    }

    /// <summary>Creates the transform with explicit ranges; a range (a, a) fixes the value (e.g. degrees (90, 90)).</summary>
    /// <param name="degrees">Angle range in degrees.</param>
    /// <param name="translate">Largest shift as fractions (of width, of height); default none.</param>
    /// <param name="scale">Zoom range; default (1, 1).</param>
    /// <param name="shear">x-shear range in degrees; default (0, 0).</param>
    /// <param name="fill">Value of pixels mapped from outside the input.</param>
    /// <exception cref="ArgumentOutOfRangeException">an empty or non-finite range, translate outside [0, 1], a scale range not positive, or |shear| ≥ 90.</exception>
    public RandomAffine((double Min, double Max) degrees, (double X, double Y) translate = default, (double Min, double Max)? scale = null,
        (double Min, double Max)? shear = null, float fill = 0)
    {
        Degrees = Pixels.Range(degrees, nameof(degrees), nameof(RandomAffine));
        Pixels.NonNegative(translate.X, nameof(translate), nameof(RandomAffine), 1);
        Pixels.NonNegative(translate.Y, nameof(translate), nameof(RandomAffine), 1);
        Translate = translate;
        Scale = Pixels.Range(scale ?? (1, 1), nameof(scale), nameof(RandomAffine), 0, open: true);
        Shear = Pixels.Range(shear ?? (0, 0), nameof(shear), nameof(RandomAffine), -90, open: true);
        if (Shear.Max >= 90) throw new ArgumentOutOfRangeException(nameof(shear), shear, "RandomAffine: shear must lie inside (−90, 90) degrees.");
        Fill = fill;
    }

    /// <summary>Angle range in degrees.</summary>
    public (double Min, double Max) Degrees { get; }
    /// <summary>Largest shift as fractions of width and height.</summary>
    public (double X, double Y) Translate { get; }
    /// <summary>Zoom range.</summary>
    public (double Min, double Max) Scale { get; }
    /// <summary>x-shear range in degrees.</summary>
    public (double Min, double Max) Shear { get; }
    /// <summary>Value of pixels mapped from outside the input.</summary>
    public float Fill { get; }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        ArgumentNullException.ThrowIfNull(g);
        var x = Pixels.Read(image, nameof(RandomAffine), out int c, out int h, out int w);
        double angle = Pixels.Uniform(g, Degrees.Min, Degrees.Max);
        double maxDx = Translate.X * w, maxDy = Translate.Y * h;
        double tx = Math.Round(Pixels.Uniform(g, -maxDx, maxDx)), ty = Math.Round(Pixels.Uniform(g, -maxDy, maxDy));
        double s = Pixels.Uniform(g, Scale.Min, Scale.Max);
        double shear = Pixels.Uniform(g, Shear.Min, Shear.Max);
        return Pixels.Make(Warp(x, c, h, w, angle, tx, ty, s, shear, Fill), c, h, w);
    }

    /// <summary>
    /// torchvision F.affine on host data: inverse matrix of rotation (clockwise degrees), translation (pixels), scale
    /// and x-shear (degrees) about the centre, bilinear sampling, fill outside.
    /// </summary>
    internal static float[] Warp(float[] x, int c, int h, int w, double angle, double tx, double ty, double scale, double shearX, float fill)
    {
        if (angle == 0 && tx == 0 && ty == 0 && scale == 1 && shearX == 0) return (float[])x.Clone();
        double rot = angle * Math.PI / 180, sx = shearX * Math.PI / 180;
        // torchvision _get_inverse_affine_matrix with shear_y = 0 and center (0, 0) in centre-relative coordinates.
        double a = Math.Cos(rot), b = -Math.Cos(rot) * Math.Tan(sx) - Math.Sin(rot);
        double cc = Math.Sin(rot), d = -Math.Sin(rot) * Math.Tan(sx) + Math.Cos(rot);
        double m0 = d / scale, m1 = -b / scale, m3 = -cc / scale, m4 = a / scale;
        double m2 = m0 * -tx + m1 * -ty, m5 = m3 * -tx + m4 * -ty;
        double cx = (w - 1) * 0.5, cy = (h - 1) * 0.5;
        var o = new float[x.Length];
        for (int r = 0; r < h; r++)
        {
            double yy = r - cy;
            for (int q = 0; q < w; q++)
            {
                double xx = q - cx;
                double srcX = Pixels.Snap(m0 * xx + m1 * yy + m2 + cx), srcY = Pixels.Snap(m3 * xx + m4 * yy + m5 + cy);
                for (int ch = 0; ch < c; ch++)
                    o[(ch * h + r) * w + q] = (float)Pixels.Bilinear(x, ch * h * w, h, w, srcY, srcX, fill);
            }
        }
        return o;
    }
}

/// <summary>
/// torchvision RandomRotation(degrees, fill): <see cref="RandomAffine"/> with only a rotation, angle ~ U(degrees),
/// and torchvision's convention that a positive angle turns the picture counter-clockwise on screen (F.rotate passes
/// −angle to the affine matrix). Bilinear, about the centre, same size, outside pixels read <see cref="Fill"/>.
/// </summary>
public sealed class RandomRotation : Transform
{
    /// <summary>Creates the rotation with angles in (−degrees, degrees).</summary>
    /// <param name="degrees">Largest angle (torchvision <c>degrees</c>).</param>
    /// <param name="fill">Value of pixels mapped from outside the input (torchvision <c>fill</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException">degrees negative or not finite.</exception>
    public RandomRotation(double degrees, float fill = 0)
        : this((-Pixels.NonNegative(degrees, nameof(degrees), nameof(RandomRotation)), degrees), fill)
    {
    }

    /// <summary>Creates the rotation with angles in an explicit range; (a, a) fixes the angle.</summary>
    /// <param name="degrees">Angle range in degrees, counter-clockwise.</param>
    /// <param name="fill">Value of pixels mapped from outside the input.</param>
    /// <exception cref="ArgumentOutOfRangeException">the range is empty or not finite.</exception>
    public RandomRotation((double Min, double Max) degrees, float fill = 0)
    {
        Degrees = Pixels.Range(degrees, nameof(degrees), nameof(RandomRotation));
        Fill = fill;
    }

    /// <summary>Angle range in degrees (counter-clockwise).</summary>
    public (double Min, double Max) Degrees { get; }
    /// <summary>Value of pixels mapped from outside the input.</summary>
    public float Fill { get; }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        ArgumentNullException.ThrowIfNull(g);
        var x = Pixels.Read(image, nameof(RandomRotation), out int c, out int h, out int w);
        double angle = Pixels.Uniform(g, Degrees.Min, Degrees.Max);
        return Pixels.Make(RandomAffine.Warp(x, c, h, w, -angle, 0, 0, 1, 0, Fill), c, h, w);
    }
}
