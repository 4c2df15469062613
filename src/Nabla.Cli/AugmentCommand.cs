using Nabla.Data;
using Nabla.Data.Transforms;

namespace Nabla.Cli;

/// <summary><c>nabla augment</c>: a PNG grid of original images and their augmented versions, to look at.</summary>
internal static class AugmentCommand
{
    private static readonly Opt Spec = new() { Name = "--augment", Value = "SPEC", Help = "the augmentation to preview (names below)" };
    private static readonly Opt Count = new() { Name = "--count", Value = "N", Help = "images shown (1..64)", Default = "8" };
    private static readonly Opt Versions = new() { Name = "--versions", Value = "N", Help = "augmented versions of each (1..16)", Default = "3" };
    private static readonly Opt Out = new() { Name = "--out", Value = "FILE.png", Help = "the grid to write (replaced if it is a regular file)", Default = "augment.png" };

    internal static readonly Opt[] Options = [Spec, RunOptions.Data, RunOptions.ImageSize, RunOptions.Grayscale, Count, Versions, RunOptions.Seed, Out];

    public static string Help => """
        nabla augment — preview an augmentation

        Usage:
          nabla augment --augment "hflip,rotate:15,crop:4,erase:0.5" [--data embedded|fashion-mnist|DIR] [--count 8]
                        [--versions 3] [--seed 0] [--out grid.png]

        The first row shows --count training images as they are; each further row shows one augmented version of
        each (batch-level mixup/cutmix mix images within the shown batch).
        """ + Opt.Render([("Options", Options)]) + "\n" + Augmentation.Grammar + "\n";

    public static int Run(string[] args, TextWriter stdout)
    {
        var a = new CliArgs(args, Options);
        if (a.HelpRequested)
        {
            stdout.Write(Help);
            return Program.Ok;
        }
        string spec = a.String("--augment") ?? throw new UsageException("--augment SPEC is required, e.g. --augment \"hflip,rotate:15\".");
        Augmentation augmentation;
        try
        {
            augmentation = Augmentation.Parse(spec, new Generative.NeuralAugmentations());
        }
        catch (FormatException e)
        {
            throw new UsageException($"--augment: {e.Message}");
        }
        int count = a.Int("--count", 8, 1, 64), versions = a.Int("--versions", 3, 1, 16);
        var given = a.Given.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var config = RunOptions.Apply(new RunConfig { Test = "none" }, a);
        var data = DataSources.Load(config, given);
        var train = data.Train;
        if (train.SampleShape.Length != 3) throw new UsageException($"--data {config.Data}: augmentation previews need image data (C, H, W).");
        string path = a.String("--out", "augment.png");
        Output.PrepareFile(path);

        var sample = train.Subset(Enumerable.Range(0, Math.Min(count, train.Count)).ToArray());
        var batch = new Batch(sample.Features, sample.Labels, null, Enumerable.Range(0, sample.Count).ToArray());
        var images = new List<Tensor>();
        for (int i = 0; i < sample.Count; i++) images.Add(sample.Features.Select(0, i));
        var transform = augmentation.AsLoaderTransform(train.NumClasses);
        for (int v = 0; v < versions; v++)
        {
            var augmented = transform(batch, Generator.ForStream(config.Seed, v));
            for (int i = 0; i < sample.Count; i++) images.Add(augmented.Features.Select(0, i));
        }
        var grid = Augmentation.Grid(images, sample.Count, out int height, out int width);
        Imaging.ImageFolder.SavePng(grid, 3, height, width, path);
        stdout.WriteLine($"{data.Description}: {sample.Count} images, {versions} augmented version(s) each ({spec}) → {path}");
        return Program.Ok;
    }
}
