using System.Globalization;

namespace Nabla.Data.Transforms;

/// <summary>
/// One augmentation known by name in a spec (<see cref="Augmentation.Parse"/>): its usage and help line for help texts,
/// how many arguments it takes, a spec that exercises it, and the transform it makes from its arguments.
/// </summary>
/// <param name="Name">The name in a spec (lower case).</param>
/// <param name="Usage">Its form with arguments, e.g. <c>hflip[:P]</c>.</param>
/// <param name="Help">One line: what it does and its defaults.</param>
/// <param name="MinArgs">The fewest ':'-separated arguments it takes.</param>
/// <param name="MaxArgs">The most.</param>
/// <param name="Example">A spec of this item alone, e.g. <c>rotate:15</c>.</param>
public sealed record AugmentationInfo(string Name, string Usage, string Help, int MinArgs, int MaxArgs, string Example)
{
    /// <summary>Whether it acts on the whole batch (mixup, cutmix) rather than on each image.</summary>
    public bool PerBatch { get; init; }

    /// <summary>Whether its first argument is a folder of a trained network (gan:DIR[:R]); such items need <see cref="INeuralAugmentations"/>.</summary>
    public bool TakesFolder { get; init; }

    // The transform (a Transform, or a BatchTransform when PerBatch) from the arguments and the item's text for messages.
    internal Func<double[], string, object> Build { get; init; } = null!;
}

public sealed partial class Augmentation
{
    /// <summary>
    /// The augmentation registry: every name a spec takes, in the order help lists them. <see cref="Grammar"/>,
    /// <see cref="KnownNames"/>, the CLI's help and the test tables enumerate it, so adding an augmentation is its
    /// transform and one row here.
    /// </summary>
    public static IReadOnlyList<AugmentationInfo> Registry { get; } =
    [
        Row("hflip", "hflip[:P]", "horizontal flip, P = 0.5", 0, 1, "hflip", (a, _) => new HorizontalFlip(Arg(a, 0, 0.5))),
        Row("vflip", "vflip[:P]", "vertical flip, P = 0.5", 0, 1, "vflip", (a, _) => new VerticalFlip(Arg(a, 0, 0.5))),
        Row("rotate", "rotate:DEG", "rotation by U(-DEG, DEG) degrees, bilinear, fill 0", 1, 1, "rotate:15", (a, _) => new RandomRotation(a[0])),
        Row("affine", "affine:DEG[:TRANSLATE[:SCALE_MIN:SCALE_MAX[:SHEAR]]]", "torchvision RandomAffine; TRANSLATE a fraction of W and H", 1, 5,
            "affine:10:0.1:0.9:1.1:5", (a, _) => a.Length == 3
                ? throw new ArgumentException("affine takes SCALE_MIN and SCALE_MAX together.")
                : new RandomAffine(a[0], (Arg(a, 1, 0), Arg(a, 1, 0)), (Arg(a, 2, 1), Arg(a, 3, 1)), Arg(a, 4, 0))),
        // A spec is text a user typed: a padding beyond any image's size would only exhaust the memory.
        Row("crop", "crop:PAD", $"pad PAD (at most {MaxCropPadding}) pixels of 0, crop back to the image's size at a random position", 1, 1, "crop:4",
            (a, item) => Int(a, 0, 0, item) is var pad && pad <= MaxCropPadding
                ? new RandomCrop(null, pad)
                : throw new ArgumentException($"a padding of {pad} pixels is more than the {MaxCropPadding} a spec takes.")),
        Row("resized-crop", "resized-crop[:MINSCALE]", "RandomResizedCrop to the image's size, area fraction in (MINSCALE, 1), MINSCALE = 0.08", 0, 1,
            "resized-crop", (a, _) => new RandomResizedCrop(null, (Arg(a, 0, 0.08), 1.0))),
        Row("jitter", "jitter:B[:C[:S[:H]]]", "ColorJitter brightness, contrast, saturation, hue", 1, 4, "jitter:0.2:0.2:0.2:0.05",
            (a, _) => new ColorJitter(a[0], Arg(a, 1, 0), Arg(a, 2, 0), Arg(a, 3, 0))),
        Row("brightness", "brightness:B", "ColorJitter brightness alone", 1, 1, "brightness:0.3", (a, _) => new ColorJitter(brightness: a[0])),
        Row("contrast", "contrast:C", "ColorJitter contrast alone", 1, 1, "contrast:0.3", (a, _) => new ColorJitter(contrast: a[0])),
        Row("saturation", "saturation:S", "ColorJitter saturation alone", 1, 1, "saturation:0.3", (a, _) => new ColorJitter(saturation: a[0])),
        Row("hue", "hue:H", "ColorJitter hue alone", 1, 1, "hue:0.1", (a, _) => new ColorJitter(hue: a[0])),
        Row("gray", "gray[:P]", "RandomGrayscale, P = 0.1", 0, 1, "gray", (a, _) => new Grayscale(Arg(a, 0, 0.1))),
        Row("shuffle", "shuffle[:P]", "ChannelShuffle, P = 0.5", 0, 1, "shuffle", (a, _) => new ChannelShuffle(Arg(a, 0, 0.5))),
        Row("blur", "blur[:K]", $"GaussianBlur, odd kernel K = 3 (at most {MaxBlurKernel}), sigma in (0.1, 2)", 0, 1, "blur",
            (a, item) => new GaussianBlur(Int(a, 0, 3, item) is var k && k > MaxBlurKernel
                ? throw new ArgumentException($"the kernel size {k} is over {MaxBlurKernel}; at σ < 2 every weight further than 77 pixels from the centre is 0, so a wider kernel blurs no differently and only costs time.")
                : k)),
        Row("noise", "noise:STD[:P]", "additive Gaussian noise, clamped to [0, 1], P = 0.5", 1, 2, "noise:0.05", (a, _) => new GaussianNoise(a[0], Arg(a, 1, 0.5))),
        Row("saltpepper", "saltpepper:AMOUNT[:P]", "salt-and-pepper noise on a fraction AMOUNT of the pixels, P = 0.5", 1, 2, "saltpepper:0.02",
            (a, _) => new SaltAndPepper(a[0], Arg(a, 1, 0.5))),
        Row("glare", "glare[:P[:INTENSITY]]", "elliptical highlight, P = 0.5, INTENSITY = 0.6", 0, 2, "glare", (a, _) => new Glare(Arg(a, 0, 0.5), Arg(a, 1, 0.6))),
        Row("stripes", "stripes[:P[:INTENSITY]]", "stripe overlay, P = 0.5, INTENSITY = 0.3", 0, 2, "stripes",
            (a, _) => new Pattern(PatternKind.Stripes, Arg(a, 1, 0.3), Arg(a, 0, 0.5))),
        Row("grid", "grid[:P[:INTENSITY]]", "grid overlay, P = 0.5, INTENSITY = 0.3", 0, 2, "grid", (a, _) => new Pattern(PatternKind.Grid, Arg(a, 1, 0.3), Arg(a, 0, 0.5))),
        Row("texture", "texture[:P[:INTENSITY]]", "texture overlay, P = 0.5, INTENSITY = 0.3", 0, 2, "texture",
            (a, _) => new Pattern(PatternKind.Texture, Arg(a, 1, 0.3), Arg(a, 0, 0.5))),
        Row("erase", "erase[:P]", "RandomErasing, scale (0.02, 0.33), ratio (0.3, 3.3), P = 0.5", 0, 1, "erase", (a, _) => new RandomErasing(Arg(a, 0, 0.5))),
        Row("cutout", "cutout[:P]", "square RandomErasing, P = 0.5", 0, 1, "cutout", (a, _) => new Cutout(Arg(a, 0, 0.5))),
        Row("rain", "rain[:P]", "slanted bright streaks, P = 0.5", 0, 1, "rain", (a, _) => new Rain(Arg(a, 0, 0.5))),
        Row("sunflare", "sunflare[:P[:RADIUS]]", "bright disc with a halo, P = 0.5, RADIUS = 0.15 of the smaller side", 0, 2, "sunflare",
            (a, _) => new SunFlare(Arg(a, 0, 0.5), Arg(a, 1, 0.15))),
        Row("mixup", "mixup[:ALPHA]", "MixUp on the batch, ALPHA = 1 (at most one of mixup, cutmix)", 0, 1, "mixup", (a, _) => new MixUp(Arg(a, 0, 1)), perBatch: true),
        Row("cutmix", "cutmix[:ALPHA]", "CutMix on the batch, ALPHA = 1", 0, 1, "cutmix", (a, _) => new CutMix(Arg(a, 0, 1)), perBatch: true),
        new("gan", "gan:DIR[:R][:soft|:hard]", "replace a fraction R = 0.5 of each batch by samples of the GAN in DIR (nabla gan train), classes drawn uniformly; hard labels, or soft: its classifier's softmax",
            1, 2, "gan:DIR:0.5") { TakesFolder = true },
        new("style", "style:DIR[:P]", "restyle each image with P = 0.5 by the AdaIN decoder in DIR (nabla style train), the style of a random image of its --styles folder, else of the batch",
            1, 2, "style:DIR:0.5") { TakesFolder = true },
    ];

    private static AugmentationInfo Row(string name, string usage, string help, int min, int max, string example, Func<double[], string, object> build,
        bool perBatch = false) => new(name, usage, help, min, max, example) { Build = build, PerBatch = perBatch };

    private static double Arg(double[] a, int i, double fallback) => i < a.Length ? a[i] : fallback;

    private static int Int(double[] a, int i, int fallback, string item)
    {
        double v = Arg(a, i, fallback);
        if (v != Math.Floor(v) || v < int.MinValue || v > int.MaxValue) throw new ArgumentException($"{v.ToString(CultureInfo.InvariantCulture)} in \"{item}\" must be an integer.");
        return (int)v;
    }

    /// <summary>The spec grammar of <see cref="Parse"/>, one item per line, for help texts (from <see cref="Registry"/>).</summary>
    public static string Grammar { get; } =
        "SPEC = ITEM[,ITEM…], ITEM = NAME[:ARG[:ARG…]] (per-image items run in the order given; 'none' = nothing)\n" +
        string.Join("\n", Registry.Select(r => $"  {(r.Usage.Length < 26 ? r.Usage.PadRight(26) : r.Usage + "  ")}{r.Help}"));

    /// <summary>The largest padding <c>crop:PAD</c> takes in a spec (pixels on each side).</summary>
    public const int MaxCropPadding = 1024;

    /// <summary>
    /// The widest blur:K a spec may ask for: its cost grows with K (blur:2147483647 asked for a 16 GB kernel), and at
    /// the spec's σ &lt; 2 a wider kernel gives the same image.
    /// </summary>
    public const int MaxBlurKernel = 255;

    /// <summary>The names <see cref="Parse"/> accepts.</summary>
    public static IReadOnlyList<string> KnownNames { get; } = Array.AsReadOnly(Registry.Select(k => k.Name).ToArray());

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
    /// Example: <c>hflip,crop:4,jitter:0.2:0.2,erase:0.25,cutmix:1</c>. The names, their usage and help are <see cref="Registry"/>; <see cref="Grammar"/> lists them.
    /// </summary>
    /// <param name="spec">The spec.</param>
    /// <returns>The augmentation, with <see cref="Spec"/> set.</returns>
    /// <exception cref="FormatException">an unknown name, a wrong number of arguments, a value that is not a number or
    /// is out of range, or two batch items; the message names the item and lists the known names.</exception>
    /// <param name="neural">Builds the items that need a trained network (gan:DIR[:R]; Nabla.Generative's
    /// <c>NeuralAugmentations</c>); such an item runs first, on the real batch. Null refuses them.</param>
    public static Augmentation Parse(string spec, INeuralAugmentations? neural = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string trimmed = spec.Trim();
        if (trimmed.Length == 0 || trimmed.Equals("none", StringComparison.OrdinalIgnoreCase)) return new Augmentation { Spec = spec };
        var perSample = new List<Transform>();
        BatchTransform? perBatch = null, source = null, style = null;
        foreach (string raw in trimmed.Split(','))
        {
            string item = raw.Trim();
            var parts = item.Split(':');
            string name = parts[0].Trim().ToLowerInvariant();
            if (item.Length == 0) throw Error($"empty item in \"{spec}\"");
            var info = Registry.FirstOrDefault(k => k.Name == name) ?? throw Error($"unknown augmentation \"{parts[0].Trim()}\" in \"{spec}\"");
            if (info.TakesFolder)
            {
                if (name == "gan") source = source is null ? FolderItem(info, item, neural) : throw Error($"\"{item}\": at most one gan item");
                else style = style is null ? FolderItem(info, item, neural) : throw Error($"\"{item}\": at most one style item");
                continue;
            }
            int min = info.MinArgs, max = info.MaxArgs;
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
                built = info.Build(a, item);
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
        return new Augmentation(sample, perBatch, source) { Spec = spec, Style = style };
    }

    // gan:DIR[:R][:soft|:hard]: the folder is everything after the name up to a last ':'-part that is a number (folders may hold ':').
    private static BatchTransform FolderItem(AugmentationInfo info, string item, INeuralAugmentations? neural)
    {
        string rest = item[(item.IndexOf(':') is var colon and >= 0 ? colon + 1 : item.Length)..].Trim();
        double ratio = 0.5;
        bool soft = false;
        int last = rest.LastIndexOf(':');
        if (info.Name == "gan" && last >= 0 && rest[(last + 1)..].Trim().ToLowerInvariant() is "soft" or "hard")
        {
            soft = rest[(last + 1)..].Trim().Equals("soft", StringComparison.OrdinalIgnoreCase);
            rest = rest[..last].Trim();
            last = rest.LastIndexOf(':');
        }
        if (last >= 0 && double.TryParse(rest[(last + 1)..].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double r))
        {
            ratio = r;
            rest = rest[..last].Trim();
        }
        if (rest.Length == 0) throw Error($"\"{item}\" needs a folder: {info.Usage}");
        if (!(ratio > 0 && ratio <= 1)) throw Error($"\"{item}\": the fraction {ratio.ToString(CultureInfo.InvariantCulture)} must be in (0, 1]");
        if (neural is null) throw Error($"\"{item}\" needs a trained network, which this caller cannot load (pass Nabla.Generative.NeuralAugmentations to Parse)");
        try
        {
            return info.Name == "gan" ? neural.GanSamples(rest, ratio, soft) : neural.StyleSamples(rest, ratio);
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            throw new FormatException($"Augmentation: \"{item}\": {e.Message.Split(Environment.NewLine)[0]}", e);
        }
    }

    private static FormatException Error(string what) =>
        new($"Augmentation: {what}. Known names: {string.Join(", ", KnownNames)}.");
}
