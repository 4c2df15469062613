using Nabla.Data.Transforms;
using Nabla.Generative;
using Nabla.Optim;

namespace Nabla.Lab.Labs;

/// <summary>
/// Lab 6: each augmentation family alone and combined on a small training set: test accuracy and the train–test gap
/// against no augmentation. The GAN and style families run when their trained models are given.
/// </summary>
public sealed class AugmentationLab : Lab
{
    /// <inheritdoc/>
    public override string Name => "augmentation";
    /// <inheritdoc/>
    public override string Title => "Image augmentation on a small training set";
    /// <inheritdoc/>
    public override bool NeedsImages => true;
    /// <inheritdoc/>
    public override string SeedLines => "255–285";
    /// <inheritdoc/>
    public override string Claim => "augmenting a small training set narrows the train–test gap and raises test accuracy";
    /// <inheritdoc/>
    public override string Published =>
        "Zhong et al. (2017): random erasing took a ResNet-20 on Fashion-MNIST from 4.39% to 4.02% test error; Simard et al. (2003): affine and elastic distortions are the largest single gain on MNIST; Zhang et al. (2018): mixup lowers CIFAR-10 error by ~1 point.";

    private static int Images(LabSettings s) => s.Pick(100, 1000, 2000);
    private static int Epochs(LabSettings s) => s.Pick(1, 24, 40);

    private static (string Name, string Spec)[] Families(LabSettings s)
    {
        var list = new List<(string, string)>
        {
            ("none", ""),
            ("affine", "affine:10:0.1"),
            ("flip + crop", "hflip,crop:2"),
            ("colour", "brightness:0.3,contrast:0.3"),
            ("noise", "noise:0.1"),
            ("erasing", "erase"),
            ("distortions", "glare:0.3,stripes:0.3"),
            ("mixup", "mixup:0.4"),
            ("combined", "hflip,affine:10:0.1,erase"),
        };
        if (s.GanDirectory is { } gan) list.Add(("GAN samples", $"gan:{gan}:0.25:soft"));
        if (s.StyleDirectory is { } style) list.Add(("style transfer", $"style:{style}:0.5"));
        return [.. list];
    }

    /// <inheritdoc/>
    public override string Budget(LabSettings s) =>
        $"the cnn, Adam 1e-3, batch 64, {Epochs(s)} epochs on {Images(s)} training images; families: {string.Join("; ", Families(s).Skip(1).Select(f => $"{f.Name} ({f.Spec})"))}; " +
        $"{s.Seeds} seeds; deciding metrics: test accuracy and the train–test gap, the combination against none";

    /// <inheritdoc/>
    public override Measurements Measure(LabSettings s, TextWriter log)
    {
        var m = new Measurements();
        var neural = new NeuralAugmentations();
        if (s.GanDirectory is null) m.Notes.Add("GAN samples: not run (give --gan DIR, a folder written by nabla gan train).");
        if (s.StyleDirectory is null) m.Notes.Add("Style transfer: not run (give --style DIR, a folder written by nabla style train).");
        for (int seed = 0; seed < s.Seeds; seed++)
        {
            var train = LabTraining.Subset(s.Train, Images(s), 1000 + seed);
            foreach (var (name, spec) in Families(s))
            {
                var model = Models.FromSpec("cnn", train.SampleShape, train.NumClasses, new Generator(seed));
                var transform = spec.Length == 0 ? null : Augmentation.Parse(spec, neural).AsLoaderTransform(train.NumClasses);
                var h = LabTraining.Fit(model, new Adam(model.Parameters(), 1e-3, beta1: 0.9, beta2: 0.999), train, null, Epochs(s), 64, seed, transform: transform, board: s.BoardFor(Name, name, seed));
                double tr = LabTraining.Accuracy(model, train), te = LabTraining.Accuracy(model, s.Test);
                m.Add("test accuracy", name, te);
                m.Add("train-test gap", name, tr - te);
                log.WriteLine($"  seed {seed} {name}: train {tr:F4} test {te:F4}");
            }
        }
        return m;
    }

    /// <inheritdoc/>
    public override LabResult Judge(Measurements m, LabSettings s)
    {
        var r = NewResult(m, s);
        r.Comparisons.Add(Compare(m, "the combined augmentation raises test accuracy", "test accuracy", "combined", "none", Expect.Higher));
        r.Comparisons.Add(Compare(m, "the combined augmentation narrows the train–test gap", "train-test gap", "combined", "none", Expect.Lower));
        foreach (var name in m.Conditions("test accuracy").Where(n => n is not ("none" or "combined")))
            r.Comparisons.Add(Compare(m, $"{name} alone raises test accuracy", "test accuracy", name, "none", Expect.Higher, deciding: false));
        var names = m.Conditions("test accuracy").ToArray();
        r.Tables.Add(Table(m, "Test accuracy and the train–test gap by family", names, "test accuracy", "train-test gap"));
        r.Figures.Add(PointsFigure(m, "augmentation-test.png", "Test accuracy per seed", "test accuracy", names, "test accuracy"));
        r.Figures.Add(PointsFigure(m, "augmentation-gap.png", "Train–test gap per seed", "train-test gap", names, "train − test accuracy"));
        return r;
    }
}
