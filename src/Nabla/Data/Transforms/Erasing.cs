namespace Nabla.Data.Transforms;

/// <summary>
/// torchvision RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0) (Zhong et al., 2017): with
/// probability p, up to 10 attempts draw an area a = H·W·U(scale) and an aspect r = exp(U(log ratio)), giving
/// h = round(√(a·r)), w = round(√(a/r)); the first with h &lt; H and w &lt; W is placed at i ~ U{0 … H−h},
/// j ~ U{0 … W−w} and every channel of that rectangle is set to <see cref="Value"/> (or to N(0, 1) noise with
/// <see cref="RandomValue"/>, torchvision's value="random"). If all 10 attempts fail, the image is unchanged.
/// </summary>
public class RandomErasing : Transform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="p">Probability of erasing (torchvision <c>p</c>).</param>
    /// <param name="scale">Range of the erased area as a fraction of the image (torchvision <c>scale</c>); default (0.02, 0.33).</param>
    /// <param name="ratio">Range of the rectangle's aspect h/w, drawn log-uniformly (torchvision <c>ratio</c>); default (0.3, 3.3).</param>
    /// <param name="value">Value written into the rectangle (torchvision <c>value</c>).</param>
    /// <param name="randomValue">Write N(0, 1) noise instead (torchvision <c>value="random"</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException">an empty or non-positive range, or a scale above 1.</exception>
    public RandomErasing(double p = 0.5, (double Min, double Max)? scale = null, (double Min, double Max)? ratio = null, float value = 0, bool randomValue = false)
        : base(p)
    {
        Scale = Pixels.Range(scale ?? (0.02, 0.33), nameof(scale), GetType().Name, 0, open: true);
        if (Scale.Max > 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, $"{GetType().Name}: scale must lie in (0, 1].");
        Ratio = Pixels.Range(ratio ?? (0.3, 3.3), nameof(ratio), GetType().Name, 0, open: true);
        Value = value;
        RandomValue = randomValue;
    }

    /// <summary>Area fraction range.</summary>
    public (double Min, double Max) Scale { get; }
    /// <summary>Aspect (height/width) range.</summary>
    public (double Min, double Max) Ratio { get; }
    /// <summary>Value written into the rectangle.</summary>
    public float Value { get; }
    /// <summary>Whether the rectangle is filled with N(0, 1) noise instead.</summary>
    public bool RandomValue { get; }

    /// <summary>
    /// torchvision's RandomErasing.get_params: the rectangle (top, left, height, width) for an H×W image, or null when
    /// none of the 10 attempts fits.
    /// </summary>
    public static (int Top, int Left, int Height, int Width)? GetParams(int height, int width, (double Min, double Max) scale, (double Min, double Max) ratio, Generator g)
    {
        ArgumentNullException.ThrowIfNull(g);
        double area = (double)height * width, lr0 = Math.Log(ratio.Min), lr1 = Math.Log(ratio.Max);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double erase = area * Pixels.Uniform(g, scale.Min, scale.Max);
            double aspect = Math.Exp(Pixels.Uniform(g, lr0, lr1));
            int h = (int)Math.Round(Math.Sqrt(erase * aspect)), w = (int)Math.Round(Math.Sqrt(erase / aspect));
            if (!(h < height && w < width)) continue;
            int i = g.NextInt(height - h + 1), j = g.NextInt(width - w + 1);
            return (i, j, h, w);
        }
        return null;
    }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor image, Generator g)
    {
        var x = Pixels.Read(image, GetType().Name, out int c, out int h, out int w);
        if (!Fires(g)) return image;
        var rect = GetParams(h, w, Scale, Ratio, g);
        if (rect is null) return image;
        var (top, left, eh, ew) = rect.Value;
        for (int ch = 0; ch < c; ch++)
            for (int r = top; r < top + eh; r++)
                for (int q = left; q < left + ew; q++)
                    x[(ch * h + r) * w + q] = RandomValue ? (float)g.NextNormal() : Value;
        return Pixels.Make(x, c, h, w);
    }
}

/// <summary>
/// Cutout (DeVries and Taylor, 2017) as a <see cref="RandomErasing"/> shortcut: the erased rectangle is a square
/// (ratio (1, 1)), its area a fraction U(scale) of the image, placed inside the image, filled with
/// <see cref="RandomErasing.Value"/>.
/// </summary>
public sealed class Cutout : RandomErasing
{
    /// <summary>Creates the transform.</summary>
    /// <param name="p">Probability of cutting.</param>
    /// <param name="scale">Range of the square's area as a fraction of the image; default (0.02, 0.33).</param>
    /// <param name="value">Value written into the square.</param>
    /// <exception cref="ArgumentOutOfRangeException">an empty or non-positive range, or a scale above 1.</exception>
    public Cutout(double p = 0.5, (double Min, double Max)? scale = null, float value = 0) : base(p, scale, (1, 1), value) { }
}
