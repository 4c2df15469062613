using Nabla.Data;
using Nabla.Data.Transforms;

namespace Nabla.Cli;

/// <summary><c>nabla augment</c>: a PNG grid of original images and their augmented versions, to look at.</summary>
internal static class AugmentCommand
{
    private static readonly HashSet<string> Values = ["--data", "--augment", "--out", "--count", "--versions", "--seed", "--image-size", "--label"];
    private static readonly HashSet<string> Flags = ["--grayscale"];

    public const string Help = """
        nabla augment — preview an augmentation

        Usage:
          nabla augment --augment "hflip,rotate:15,crop:4,erase:0.5" [--data embedded|fashion-mnist|DIR] [--count 8]
                        [--versions 3] [--seed 0] [--out grid.png]

        The first row shows --count training images as they are; each further row shows one augmented version of
        each (batch-level mixup/cutmix mix images within the shown batch). Names: hflip, vflip, rotate:DEG,
        affine:DEG:TRANSLATE:SCALE_MIN:SCALE_MAX, crop:PAD, resized-crop:MINSCALE, jitter:B:C:S:H, brightness:B,
        contrast:C, gray:P, shuffle:P, blur:K, noise:STD, saltpepper:AMOUNT, glare:P, stripes:P, grid:P, texture:P,
        erase:P, cutout:P, rain:P, sunflare:P, mixup:ALPHA, cutmix:ALPHA.
        """;

    public static int Run(string[] args, TextWriter stdout)
    {
        var a = new CliArgs(args, Values, Flags);
        string spec = a.String("--augment") ?? throw new UsageException("--augment SPEC is required, e.g. --augment \"hflip,rotate:15\".");
        Augmentation augmentation;
        try
        {
            augmentation = Augmentation.Parse(spec);
        }
        catch (FormatException e)
        {
            throw new UsageException($"--augment: {e.Message}");
        }
        int count = a.Int("--count", 8, 1, 64), versions = a.Int("--versions", 3, 1, 16), seed = a.Int("--seed", 0);
        var (train, _, description) = DataSources.Load(a.String("--data", "embedded"), a.String("--label"), TaskKind.Classification, seed,
            a.Int("--image-size", 32, 4, 1024), a.Flag("--grayscale"));
        if (train.SampleShape.Length != 3) throw new UsageException("--data: augmentation previews need image data (C, H, W).");
        var sample = train.Subset(Enumerable.Range(0, Math.Min(count, train.Count)).ToArray());
        var batch = new Batch(sample.Features, sample.Labels, null, Enumerable.Range(0, sample.Count).ToArray());
        var images = new List<Tensor>();
        for (int i = 0; i < sample.Count; i++) images.Add(sample.Features.Select(0, i));
        var transform = augmentation.AsLoaderTransform(train.NumClasses);
        for (int v = 0; v < versions; v++)
        {
            var augmented = transform(batch, Generator.ForStream(seed, v));
            for (int i = 0; i < sample.Count; i++) images.Add(augmented.Features.Select(0, i));
        }
        var grid = Augmentation.Grid(images, sample.Count, out int height, out int width);
        string path = a.String("--out", "augment.png");
        Imaging.ImageFolder.SavePng(grid, 3, height, width, path);
        stdout.WriteLine($"{description}: {sample.Count} images, {versions} augmented version(s) each ({spec}) → {path}");
        return 0;
    }
}
