using System.Globalization;
using Nabla.Generative;
using Nabla.Optim;

namespace Nabla.Cli;

/// <summary><c>nabla style</c>: Gatys et al.'s style transfer of one image with a VGG from a file or a cnn trained on the data.</summary>
internal static class StyleCommand
{
    private static readonly Opt Content = new() { Name = "--content", Value = "IMAGE", Help = "the picture whose content is kept (PNG, JPEG …)" };
    private static readonly Opt Style = new() { Name = "--style", Value = "IMAGE", Help = "the picture whose style is taken" };
    private static readonly Opt Out = new() { Name = "--out", Value = "FILE.png", Help = "the restyled picture (replaced if it is a regular file)", Default = "styled.png" };
    private static readonly Opt Features = new() { Name = "--features", Value = "FILE", Help = "VGG features in torchvision's key names (.safetensors; see docs/GENERATIVE.md)" };
    private static readonly Opt Arch = new() { Name = "--arch", Value = "NAME", Help = "the VGG of --features: vgg11, vgg13, vgg16, vgg19, or its layers as channels and M (64,64,M,128,…)", Default = "vgg19" };
    private static readonly Opt Size = new() { Name = "--size", Value = "N", Help = "side of the square the pictures are resized to (8..1024)", Default = "128 (VGG), 64 (trained cnn)" };
    private static readonly Opt Steps = new() { Name = "--steps", Value = "N", Help = "Adam steps on the pixels", Default = "300" };
    private static readonly Opt Lr = new() { Name = "--lr", Value = "X", Help = "Adam's step size on pixels in [0, 1]", Default = "0.02" };
    private static readonly Opt StyleWeight = new() { Name = "--style-weight", Value = "X", Help = "β, the style loss weight (content weight 1)", Default = "1e6" };
    private static readonly Opt ContentLayers = new() { Name = "--content-layers", Value = "L,…", Help = "feature layers the content must match", Default = "relu4_2 (VGG), the last ReLU (cnn)" };
    private static readonly Opt StyleLayers = new() { Name = "--style-layers", Value = "L,…", Help = "layers whose Gram matrices must match", Default = "relu1_1…relu5_1 (VGG), every ReLU (cnn)" };
    private static readonly Opt ClassifierEpochs = new() { Name = "--classifier-epochs", Value = "N", Help = "without --features: epochs of the cnn trained on --data", Default = "2" };

    internal static readonly Opt[] Options = [Content, Style, Out, Features, Arch, RunOptions.Data, RunOptions.ImageSize, RunOptions.Grayscale, ClassifierEpochs, Size, Steps, Lr, StyleWeight, ContentLayers, StyleLayers, RunOptions.Seed];

    public static string Help => """
        nabla style — restyle a picture (Gatys et al.'s neural style transfer)

        Usage:
          nabla style --content photo.png --style painting.png [--out styled.png] [--features vgg19.safetensors]
                      [--steps 300] [--size 128]
          nabla style train [--data …] [--out DIR]    an AdaIN decoder for --augment style:DIR:P (see nabla style train --help)

        The output starts as the content picture and is optimised (Adam on its pixels) so that a convolutional
        network's features match the content picture's and their Gram matrices match the style picture's. The network
        is a VGG from --features (torchvision's weights converted once to safetensors, see docs/GENERATIVE.md) or, by
        default, a cnn trained here on --data (the embedded Fashion-MNIST subset unless told otherwise; its pictures
        are then read in grayscale).
        """ + "\n" + Opt.Render([("Options", Options)]) + "\n";

    private static readonly Opt TrainOut = new() { Name = "--out", Value = "DIR", Help = "the folder for the trained decoder", Default = "runs/style-<time>" };
    private static readonly Opt Layer = new() { Name = "--layer", Value = "L", Help = "the encoder layer AdaIN restyles", Default = "relu4_1 (VGG), the last ReLU (cnn)" };
    private static readonly Opt DecoderEpochs = new() { Name = "--epochs", Value = "N", Help = "passes over the data", Default = "2" };
    private static readonly Opt DecoderBatch = new() { Name = "--batch-size", Value = "N", Help = "images per step (2..1024)", Default = "16" };
    private static readonly Opt DecoderLr = new() { Name = "--lr", Value = "X", Help = "Adam's step size (Huang and Belongie's)", Default = "0.0001" };
    private static readonly Opt DecoderStyleWeight = new() { Name = "--style-weight", Value = "X", Help = "λ, the weight of the style statistics' loss", Default = "10" };
    private static readonly Opt Styles = new() { Name = "--styles", Value = "DIR", Help = "a folder of style pictures: the decoder trains on them and style:DIR:P draws from them", Default = "the data's own images" };
    internal static readonly Opt[] TrainOptions = [RunOptions.Data, RunOptions.ImageSize, RunOptions.Grayscale, Features, Arch, ClassifierEpochs, Layer, Styles, DecoderEpochs,
        DecoderBatch, DecoderLr, DecoderStyleWeight, RunOptions.Seed, TrainOut, RunOptions.Overwrite];

    public static int Run(string[] args, TextWriter stdout)
    {
        if (args.Length > 0 && args[0] == "train") return Train(args[1..], stdout);
        var a = new CliArgs(args, Options);
        if (a.HelpRequested)
        {
            stdout.Write(Help);
            return Program.Ok;
        }
        string content = a.String("--content") ?? throw new UsageException("--content IMAGE is required.");
        string style = a.String("--style") ?? throw new UsageException("--style IMAGE is required.");
        foreach (var (opt, path) in new[] { ("--content", content), ("--style", style) })
            if (!File.Exists(path)) throw new UsageException($"{opt} {path}: no such file.");
        string? features = a.String("--features");
        if (features is not null && !File.Exists(features)) throw new UsageException($"--features {features}: no such file.");
        int steps = a.Int("--steps", 300, 1, 100_000);
        double lr = a.Double("--lr", 0.02, 0, 10, exclusiveMin: true), styleWeight = a.Double("--style-weight", 1e6, 0, 1e15);
        int size = a.Int("--size", features is null ? 64 : 128, 8, 1024);
        string outPath = a.String("--out", "styled.png");
        IReadOnlyList<string> config = features is null ? [] : VggConfig(a);
        Output.PrepareFile(outPath);

        FeatureNetwork net;
        string[] contentLayers, styleLayers;
        if (features is not null)
        {
            net = LoadVgg(features, config);
            contentLayers = ["relu4_2"];
            styleLayers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"];
        }
        else
        {
            var given = a.Given.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
            var data = DataSources.Load(RunOptions.Apply(new RunConfig { Test = "none" }, a), given).Train;
            if (data.Task != Data.TaskKind.Classification || data.SampleShape.Length != 3)
                throw new UsageException("--data: the default feature network is a cnn trained on labelled images; give image data or --features.");
            int epochs = a.Int("--classifier-epochs", 2, 1, 1000), seed = a.Int("--seed", 0);
            var cnn = (Sequential)Models.FromSpec("cnn", data.SampleShape, data.NumClasses, new Generator(seed));
            new Training.Trainer(new Training.TrainerOptions { BatchSize = 128, Seed = seed })
                .Fit(cnn, new CrossEntropyLoss(), new Adam(cnn.Parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.999), data, null, epochs);
            net = FeatureNetwork.FromClassifier(cnn, data.SampleShape[0]);
            var relus = net.LayerNames.Where(n => n.StartsWith("relu", StringComparison.Ordinal)).ToArray();
            contentLayers = [relus[^1]];
            styleLayers = relus;
            stdout.WriteLine($"feature network: a cnn trained {epochs} epoch(s) on {data.Count} images of --data (layers {string.Join(", ", relus)})");
        }
        if (a.String("--content-layers") is { } cl) contentLayers = cl.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (a.String("--style-layers") is { } sl) styleLayers = sl.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (var (opt, layers) in new[] { ("--content-layers", contentLayers), ("--style-layers", styleLayers) })
            foreach (var l in layers)
            {
                try
                {
                    net.IndexOf(l);
                }
                catch (ArgumentException e)
                {
                    throw new UsageException($"{opt}: {e.Message}");
                }
            }

        bool gray = net.InChannels == 1;
        var c = Load(content, "--content", size, gray);
        var s = Load(style, "--style", size, gray);
        var options = new StyleOptions
        {
            ContentLayers = contentLayers, StyleLayers = styleLayers, StyleWeight = styleWeight, Steps = steps, LearningRate = lr,
            Progress = (step, loss) => { if (step % 50 == 0 || step == steps) stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step}/{steps}  loss {loss:G5}")); },
        };
        var styled = StyleTransfer.Stylize(net, c, s, options);
        Imaging.ImageFolder.SavePng(styled.ToArray(), net.InChannels, size, size, outPath);
        stdout.WriteLine($"{content} in the style of {style} → {outPath} ({size}×{size}, {steps} steps)");
        return Program.Ok;
    }

    // nabla style train: an AdaIN decoder over a VGG from --features or a cnn trained on the data, every image a style.
    private static int Train(string[] args, TextWriter stdout)
    {
        var a = new CliArgs(args, TrainOptions);
        if (a.HelpRequested)
        {
            stdout.Write(TrainHelp);
            return Program.Ok;
        }
        string? features = a.String("--features");
        if (features is not null && !File.Exists(features)) throw new UsageException($"--features {features}: no such file.");
        int epochs = a.Int("--epochs", 2, 1, 10_000), batch = a.Int("--batch-size", 16, 2, 1024), seed = a.Int("--seed", 0);
        double lr = a.Double("--lr", 1e-4, 0, 1, exclusiveMin: true), styleWeight = a.Double("--style-weight", 10, 0, 1e9);
        IReadOnlyList<string> config = features is null ? [] : VggConfig(a);
        var given = a.Given.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var data = DataSources.Load(RunOptions.Apply(new RunConfig { Test = "none" }, a), given).Train;
        if (data.SampleShape.Length != 3) throw new UsageException($"--data: a style decoder trains on images (C, H, W); this data is {Shapes.Format(data.SampleShape)}.");
        if (data.Count < batch) throw new UsageException($"--batch-size {batch}: the data has only {data.Count} images.");
        if (features is not null && data.SampleShape[0] != 3) throw new UsageException("--features: a VGG reads colour images; leave out --grayscale.");
        Tensor? styles = null;
        if (a.String("--styles") is { } stylesFolder)
        {
            var (c, h, w) = (data.SampleShape[0], data.SampleShape[1], data.SampleShape[2]);
            if (c is not (1 or 3)) throw new UsageException($"--styles: pictures load as 1 or 3 channels; this data has {c}.");
            try
            {
                var (pixels, count) = Imaging.ImageFolder.LoadFlat(stylesFolder, h, w, grayscale: c == 1);
                styles = Tensor.FromArray(pixels, count, c, h, w);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or NotSupportedException or UnauthorizedAccessException)
            {
                throw new UsageException($"--styles {stylesFolder}: {e.Message.ReplaceLineEndings(" ")}");
            }
        }
        string dir = a.String("--out") ?? Output.NewRunFolder("style-");
        FeatureNetwork encoder;
        string kind;
        IReadOnlyList<string> recipe;
        Sequential? cnn = null;
        if (features is not null)
        {
            encoder = LoadVgg(features, config);
            (kind, recipe) = (encoder.Kind!, encoder.Recipe);
        }
        else
        {
            // The cnn's layers are known before it trains: its convolutions become the encoder once trained (same modules).
            cnn = (Sequential)Models.FromSpec("cnn", data.SampleShape, data.NumClasses, new Generator(seed));
            encoder = FeatureNetwork.FromClassifier(cnn, data.SampleShape[0]);
            (kind, recipe) = ("cnn", ["cnn", string.Join(',', data.SampleShape), data.NumClasses.ToString(CultureInfo.InvariantCulture)]);
        }
        string layer = a.String("--layer") ?? (features is not null ? "relu4_1" : encoder.LayerNames.Last(n => n.StartsWith("relu", StringComparison.Ordinal)));
        try
        {
            encoder.IndexOf(layer);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--layer: {e.Message}");
        }
        Output.PrepareRunFolder(dir, a.Flag("--overwrite"));
        if (cnn is not null)
            new Training.Trainer(new Training.TrainerOptions { BatchSize = 128, Seed = seed })
                .Fit(cnn, new CrossEntropyLoss(), new Adam(cnn.Parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.999), data, null, a.Int("--classifier-epochs", 2, 1, 1000));
        var styler = new AdaInStyler(encoder, layer, new Generator(seed + 1));
        var losses = styler.Train(data, epochs, batch, lr, styleWeight, seed: seed, styles: styles);
        for (int e = 0; e < losses.Length; e++) stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {e + 1}/{epochs}  loss {losses[e]:G5}"));
        styler.Save(dir, kind, recipe, styles);
        // A preview: the first 8 images, each restyled with the next one's style (or with the style pictures in turn).
        int n = Math.Min(8, data.Count);
        var content = data.Rows([.. Enumerable.Range(0, n)]);
        var style = styles is null
            ? data.Rows([.. Enumerable.Range(0, n).Select(i => (i + 1) % n)])
            : styles.IndexSelect(0, new IntTensor([.. Enumerable.Range(0, n).Select(i => i % styles.Shape[0])], n));
        Tensor restyled;
        using (Autograd.GradMode.NoGrad()) restyled = styler.Stylize(content, style).Clamp(0f, 1f);
        var images = new List<Tensor>();
        foreach (var t in new[] { content, style, restyled })
            for (int i = 0; i < n; i++) images.Add(t.Select(0, i));
        var grid = Data.Transforms.Augmentation.Grid(images, n, out int gh, out int gw);
        Imaging.ImageFolder.SavePng(grid, 3, gh, gw, Path.Combine(dir, "preview.png"));
        stdout.WriteLine($"wrote {dir}: config.json, encoder.safetensors, decoder.safetensors, {(styles is null ? "" : $"styles.safetensors ({styles.Shape[0]} style pictures), ")}preview.png (rows: content, style, restyled); use it as --augment style:{dir}:0.5");
        return Program.Ok;
    }

    private static string TrainHelp => """
        nabla style train — train an AdaIN decoder (Huang and Belongie) for fast style transfer and the style: augmentation

        Usage:
          nabla style train [--data embedded|fashion-mnist|DIR] [--features vgg19.safetensors] [--styles DIR] [--epochs 2] [--out DIR]

        The encoder is a VGG from --features or, by default, a cnn trained here on --data. Each image is restyled with
        a picture drawn from --styles (resized to the data's size; kept in DIR, and style:DIR:P draws from them) or,
        without it, with the styles of the same batch in another order, so every training image serves as a style.
        """ + "\n" + Opt.Render([("Options", TrainOptions)]) + "\n";

    // --arch: a torchvision VGG name or its layer list (channels and M), checked before anything is written.
    private static IReadOnlyList<string> VggConfig(CliArgs a)
    {
        string arch = a.String("--arch", "vgg19");
        try
        {
            IReadOnlyList<string> config = arch.Contains(',', StringComparison.Ordinal) ? arch.Split(',', StringSplitOptions.TrimEntries) : FeatureNetwork.VggConfig(arch);
            FeatureNetwork.Vgg(config, new Generator(0));
            return config;
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--arch: {e.Message}");
        }
    }

    private static FeatureNetwork LoadVgg(string features, IReadOnlyList<string> config)
    {
        try
        {
            return FeatureNetwork.LoadVgg(features, config);
        }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or Serialization.SafeTensorsFormatException or InvalidOperationException)
        {
            throw new UsageException($"--features {features}: not these VGG features in torchvision's names ({e.Message.ReplaceLineEndings(" ")}).");
        }
    }

    private static Tensor Load(string path, string option, int size, bool gray)
    {
        try
        {
            var pixels = Imaging.ImageFolder.Decode(path, size, size, gray);
            return Tensor.FromArray(pixels, 1, gray ? 1 : 3, size, size);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IOException or NotSupportedException)
        {
            throw new UsageException($"{option} {path}: cannot read the picture ({e.Message.ReplaceLineEndings(" ")}).");
        }
    }
}
