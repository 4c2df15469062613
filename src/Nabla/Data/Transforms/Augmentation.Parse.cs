using System.Globalization;

namespace Nabla.Data.Transforms;

public sealed partial class Augmentation
{
    /// <summary>The spec grammar of <see cref="Parse"/>, one item per line, for help texts.</summary>
    public const string Grammar =
        "SPEC = ITEM[,ITEM…], ITEM = NAME[:ARG[:ARG…]] (per-image items run in the order given; 'none' = nothing)\n" +
        "  hflip[:P]                 horizontal flip, P = 0.5\n" +
        "  vflip[:P]                 vertical flip, P = 0.5\n" +
        "  rotate:DEG                rotation by U(-DEG, DEG) degrees, bilinear, fill 0\n" +
        "  affine:DEG[:TRANSLATE[:SCALE_MIN:SCALE_MAX[:SHEAR]]]  torchvision RandomAffine; TRANSLATE a fraction of W and H\n" +
        "  crop:PAD                  pad PAD (at most 1024) pixels of 0, crop back to the image's size at a random position\n" +
        "  resized-crop[:MINSCALE]   RandomResizedCrop to the image's size, area fraction in (MINSCALE, 1), MINSCALE = 0.08\n" +
        "  jitter:B[:C[:S[:H]]]      ColorJitter brightness, contrast, saturation, hue\n" +
        "  brightness:B  contrast:C  saturation:S  hue:H   one ColorJitter component\n" +
        "  gray[:P]                  RandomGrayscale, P = 0.1\n" +
        "  shuffle[:P]               ChannelShuffle, P = 0.5\n" +
        "  blur[:K]                  GaussianBlur, odd kernel K = 3 (at most 255), sigma in (0.1, 2)\n" +
        "  noise:STD[:P]             additive Gaussian noise, clamped to [0, 1], P = 0.5\n" +
        "  saltpepper:AMOUNT[:P]     salt-and-pepper noise on a fraction AMOUNT of the pixels, P = 0.5\n" +
        "  glare[:P[:INTENSITY]]     elliptical highlight, P = 0.5, INTENSITY = 0.6\n" +
        "  stripes|grid|texture[:P[:INTENSITY]]  pattern overlay, P = 0.5, INTENSITY = 0.3\n" +
        "  erase[:P]                 RandomErasing, scale (0.02, 0.33), ratio (0.3, 3.3), P = 0.5\n" +
        "  cutout[:P]                square RandomErasing, P = 0.5\n" +
        "  rain[:P]                  slanted bright streaks, P = 0.5\n" +
        "  sunflare[:P[:RADIUS]]     bright disc with a halo, P = 0.5, RADIUS = 0.15 of the smaller side\n" +
        "  mixup[:ALPHA]             MixUp on the batch, ALPHA = 1 (at most one of mixup, cutmix)\n" +
        "  cutmix[:ALPHA]            CutMix on the batch, ALPHA = 1";

    private static readonly (string Name, int Min, int Max)[] Known =
    [
        ("hflip", 0, 1), ("vflip", 0, 1), ("rotate", 1, 1), ("affine", 1, 5), ("crop", 1, 1), ("resized-crop", 0, 1),
        ("jitter", 1, 4), ("brightness", 1, 1), ("contrast", 1, 1), ("saturation", 1, 1), ("hue", 1, 1), ("gray", 0, 1),
        ("shuffle", 0, 1), ("blur", 0, 1), ("noise", 1, 2), ("saltpepper", 1, 2), ("glare", 0, 2), ("stripes", 0, 2),
        ("grid", 0, 2), ("texture", 0, 2), ("erase", 0, 1), ("cutout", 0, 1), ("rain", 0, 1), ("sunflare", 0, 2),
        ("mixup", 0, 1), ("cutmix", 0, 1),
    ];

    /// <summary>The largest padding <c>crop:PAD</c> takes in a spec (pixels on each side).</summary>
    public const int MaxCropPadding = 1024;

    /// <summary>
    /// The widest blur:K a spec may ask for: its cost grows with K (blur:2147483647 asked for a 16 GB kernel), and at
    /// the spec's σ &lt; 2 a wider kernel gives the same image.
    /// </summary>
    public const int MaxBlurKernel = 255;

    /// <summary>The names <see cref="Parse"/> accepts.</summary>
    public static IReadOnlyList<string> KnownNames { get; } = Array.AsReadOnly(Known.Select(k => k.Name).ToArray());

    /// <summary>
    /// Builds an augmentation from a spec: a comma-separated list of NAME or NAME:ARGS with the ARGS separated by ':'
    /// (numbers in invariant culture); whitespace around items is ignored, names are case-insensitive, and "" or
    /// "none" gives an empty augmentation. Per-image items are composed in the order given; at most one batch item.
    /// <list type="table">
    /// <item><term>hflip[:P], vflip[:P]</term><description><see cref="HorizontalFlip"/>, <see cref="VerticalFlip"/>; P = 0.5.</description></item>
    /// <item><term>rotate:DEG</term><description><see cref="RandomRotation"/> by U(−DEG, DEG).</description></item>
    /// <item><term>affine:DEG[:TRANSLATE[:SCALE_MIN:SCALE_MAX[:SHEAR]]]</term><description><see cref="RandomAffine"/>(DEG, (TRANSLATE, TRANSLATE), (SCALE_MIN, SCALE_MAX), SHEAR).</description></item>
    /// <item><term>crop:PAD</term><description><see cref="RandomCrop"/> of the image's own size after padding PAD (an integer) pixels of 0.</description></item>
    /// <item><term>resized-crop[:MINSCALE]</term><description><see cref="RandomResizedCrop"/> to the image's own size, scale (MINSCALE, 1); MINSCALE = 0.08.</description></item>
    /// <item><term>jitter:B[:C[:S[:H]]]; brightness:B, contrast:C, saturation:S, hue:H</term><description><see cref="ColorJitter"/>.</description></item>
    /// <item><term>gray[:P]</term><description><see cref="Grayscale"/>; P = 0.1.</description></item>
    /// <item><term>shuffle[:P]</term><description><see cref="ChannelShuffle"/>; P = 0.5.</description></item>
    /// <item><term>blur[:K]</term><description><see cref="GaussianBlur"/> with odd kernel K = 3 (at most <see cref="MaxBlurKernel"/>), σ in (0.1, 2).</description></item>
    /// <item><term>noise:STD[:P]</term><description><see cref="GaussianNoise"/>; P = 0.5.</description></item>
    /// <item><term>saltpepper:AMOUNT[:P]</term><description><see cref="SaltAndPepper"/>; P = 0.5.</description></item>
    /// <item><term>glare[:P[:INTENSITY]]</term><description><see cref="Glare"/>; P = 0.5, INTENSITY = 0.6.</description></item>
    /// <item><term>stripes|grid|texture[:P[:INTENSITY]]</term><description><see cref="Pattern"/>; P = 0.5, INTENSITY = 0.3.</description></item>
    /// <item><term>erase[:P], cutout[:P]</term><description><see cref="RandomErasing"/>, <see cref="Cutout"/>; P = 0.5.</description></item>
    /// <item><term>rain[:P], sunflare[:P[:RADIUS]]</term><description><see cref="Rain"/>, <see cref="SunFlare"/>; P = 0.5, RADIUS = 0.15.</description></item>
    /// <item><term>mixup[:ALPHA], cutmix[:ALPHA]</term><description><see cref="MixUp"/>, <see cref="CutMix"/> on the batch; ALPHA = 1.</description></item>
    /// </list>
    /// Example: <c>hflip,crop:4,jitter:0.2:0.2,erase:0.25,cutmix:1</c>. The same text is in <see cref="Grammar"/>.
    /// </summary>
    /// <param name="spec">The spec.</param>
    /// <returns>The augmentation, with <see cref="Spec"/> set.</returns>
    /// <exception cref="FormatException">an unknown name, a wrong number of arguments, a value that is not a number or
    /// is out of range, or two batch items; the message names the item and lists the known names.</exception>
    public static Augmentation Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string trimmed = spec.Trim();
        if (trimmed.Length == 0 || trimmed.Equals("none", StringComparison.OrdinalIgnoreCase)) return new Augmentation { Spec = spec };
        var perSample = new List<Transform>();
        BatchTransform? perBatch = null;
        foreach (string raw in trimmed.Split(','))
        {
            string item = raw.Trim();
            var parts = item.Split(':');
            string name = parts[0].Trim().ToLowerInvariant();
            if (item.Length == 0) throw Error($"empty item in \"{spec}\"");
            int known = Array.FindIndex(Known, k => k.Name == name);
            if (known < 0) throw Error($"unknown augmentation \"{parts[0].Trim()}\" in \"{spec}\"");
            var (_, min, max) = Known[known];
            int count = parts.Length - 1;
            if (count < min || count > max)
                throw Error($"\"{item}\" takes {(min == max ? $"{min}" : $"{min} to {max}")} argument{(max == 1 ? "" : "s")}, got {count}");
            var a = new double[count];
            for (int i = 0; i < count; i++)
            {
                string s = parts[i + 1].Trim();
                if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out a[i]) || !double.IsFinite(a[i]))
                    throw Error($"\"{s}\" in \"{item}\" is not a number");
            }
            object built;
            try
            {
                built = Build(name, a, item);
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"Augmentation: \"{item}\": {e.Message.Split(Environment.NewLine)[0]} Known names: {string.Join(", ", KnownNames)}.", e);
            }
            if (built is BatchTransform bt)
            {
                if (perBatch is not null) throw Error($"\"{item}\": at most one of mixup and cutmix");
                perBatch = bt;
            }
            else perSample.Add((Transform)built);
        }
        var sample = perSample.Count switch { 0 => null, 1 => perSample[0], _ => new Compose([.. perSample]) };
        return new Augmentation(sample, perBatch) { Spec = spec };
    }

    private static FormatException Error(string what) =>
        new($"Augmentation: {what}. Known names: {string.Join(", ", KnownNames)}.");

    private static object Build(string name, double[] a, string item)
    {
        double Arg(int i, double fallback) => i < a.Length ? a[i] : fallback;
        int Int(int i, int fallback)
        {
            double v = Arg(i, fallback);
            if (v != Math.Floor(v) || v < int.MinValue || v > int.MaxValue) throw new ArgumentException($"{v.ToString(CultureInfo.InvariantCulture)} in \"{item}\" must be an integer.");
            return (int)v;
        }
        return name switch
        {
            "hflip" => new HorizontalFlip(Arg(0, 0.5)),
            "vflip" => new VerticalFlip(Arg(0, 0.5)),
            "rotate" => new RandomRotation(a[0]),
            "affine" => a.Length == 3
                ? throw new ArgumentException("affine takes SCALE_MIN and SCALE_MAX together.")
                : new RandomAffine(a[0], (Arg(1, 0), Arg(1, 0)), (Arg(2, 1), Arg(3, 1)), Arg(4, 0)),
            // A spec is text a user typed: a padding beyond any image's size would only exhaust the memory.
            "crop" => Int(0, 0) is var pad && pad <= MaxCropPadding
                ? new RandomCrop(null, pad)
                : throw new ArgumentException($"a padding of {pad} pixels is more than the {MaxCropPadding} a spec takes."),
            "resized-crop" => new RandomResizedCrop(null, (Arg(0, 0.08), 1.0)),
            "jitter" => new ColorJitter(a[0], Arg(1, 0), Arg(2, 0), Arg(3, 0)),
            "brightness" => new ColorJitter(brightness: a[0]),
            "contrast" => new ColorJitter(contrast: a[0]),
            "saturation" => new ColorJitter(saturation: a[0]),
            "hue" => new ColorJitter(hue: a[0]),
            "gray" => new Grayscale(Arg(0, 0.1)),
            "shuffle" => new ChannelShuffle(Arg(0, 0.5)),
            "blur" => new GaussianBlur(Int(0, 3) is var k && k > MaxBlurKernel
                ? throw new ArgumentException($"the kernel size {k} is over {MaxBlurKernel}; at σ < 2 every weight further than 77 pixels from the centre is 0, so a wider kernel blurs no differently and only costs time.")
                : k),
            "noise" => new GaussianNoise(a[0], Arg(1, 0.5)),
            "saltpepper" => new SaltAndPepper(a[0], Arg(1, 0.5)),
            "glare" => new Glare(Arg(0, 0.5), Arg(1, 0.6)),
            "stripes" => new Pattern(PatternKind.Stripes, Arg(1, 0.3), Arg(0, 0.5)),
            "grid" => new Pattern(PatternKind.Grid, Arg(1, 0.3), Arg(0, 0.5)),
            "texture" => new Pattern(PatternKind.Texture, Arg(1, 0.3), Arg(0, 0.5)),
            "erase" => new RandomErasing(Arg(0, 0.5)),
            "cutout" => new Cutout(Arg(0, 0.5)),
            "rain" => new Rain(Arg(0, 0.5)),
            "sunflare" => new SunFlare(Arg(0, 0.5), Arg(1, 0.15)),
            "mixup" => new MixUp(Arg(0, 1)),
            "cutmix" => new CutMix(Arg(0, 1)),
            _ => throw new ArgumentException($"unknown augmentation \"{name}\"."),
        };
    }
}
