using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;
using Nabla.Validation;

namespace Nabla.Lab.Labs;

/// <summary>
/// Lab 4: how well each validation scheme estimates the accuracy a model trained on a small set reaches on a large
/// untouched test set — its bias (estimate − truth) and its variance (how much the estimate moves between draws of
/// the small set).
/// </summary>
public sealed class ValidationLab : Lab
{
    /// <inheritdoc/>
    public override string Name => "validation";
    /// <inheritdoc/>
    public override string Title => "Holdout, k-fold, repeated k-fold, bootstrap and leave-one-out on a small set";
    /// <inheritdoc/>
    public override string SeedLines => "115–176";
    /// <inheritdoc/>
    public override string Claim => "k-fold cross-validation (k = 10) estimates a model's accuracy with a smaller error than a single 30% holdout";
    /// <inheritdoc/>
    public override string Published =>
        "Kohavi (1995): on real datasets, stratified 10-fold cross-validation has the best bias/variance trade-off; the .632 bootstrap has low variance but large bias on some sets; holdout wastes data and varies most.";

    private static int Images(LabSettings s) => s.Pick(100, 200, 500);
    private static int Draws(LabSettings s) => s.Pick(2, 4 * s.Seeds, 4 * s.Seeds);

    /// <inheritdoc/>
    public override string? Refusal(LabSettings s)
    {
        // Stratified 10-fold needs 10 images of every class in each draw.
        int k = Math.Max(1, s.Train.NumClasses), per = Images(s) / k;
        var counts = new int[k];
        if (s.Train.Labels is { } labels) foreach (int y in labels.Data) counts[y]++;
        int fewest = counts.Min();
        return per < 10 || fewest < Math.Min(per, 10)
            ? $"the validation lab draws {Images(s)} images with 10 of each class for stratified 10-fold; this data has {fewest} of its rarest class and {k} classes."
            : null;
    }

    /// <inheritdoc/>
    public override string Budget(LabSettings s) =>
        $"mlp:64 (ReLU), Adam 1e-3, batch 32, 8 epochs; {Draws(s)} draws of {Images(s)} training images (each a seed); truth: the net trained on all of them, " +
        $"tested on {s.Test.Count} test images; schemes: holdout 30% (stratified), 10-fold, stratified 10-fold, repeated 5-fold × 3, bootstrap × 20, leave-one-out" +
        $"{(s.Scale == LabScale.Tiny ? " (not in the tiny setting)" : "")}; deciding metric: squared error of the estimate, holdout against 10-fold";

    private static readonly (string Name, Func<int, Splitter> Make)[] Schemes =
    [
        ("holdout 30%", seed => new Holdout(0.3, stratify: true, seed: seed)),
        ("10-fold", seed => new KFold(10, shuffle: true, seed: seed)),
        ("stratified 10-fold", seed => new StratifiedKFold(10, shuffle: true, seed: seed)),
        ("repeated 5-fold x3", seed => new RepeatedKFold(5, 3, seed)),
        ("bootstrap x20", seed => new Bootstrap(20, seed)),
        ("leave-one-out", _ => new LeaveOneOut()),
    ];

    private static TrainingSetup Setup(TensorDataset d, int seed)
    {
        var model = Models.FromSpec("mlp:64", d.SampleShape, d.NumClasses, new Generator(seed));
        return new TrainingSetup(model, new CrossEntropyLoss(), new Adam(model.Parameters(), 1e-3, beta1: 0.9, beta2: 0.999), 8,
            new TrainerOptions { BatchSize = 32, Seed = seed, BackgroundLoading = false });
    }

    /// <inheritdoc/>
    public override Measurements Measure(LabSettings s, TextWriter log)
    {
        var m = new Measurements();
        for (int draw = 0; draw < Draws(s); draw++)
        {
            var data = LabTraining.Subset(s.Train, Images(s), 5000 + draw);
            var full = Setup(data, draw);
            new Trainer(full.Options).Fit(full.Model, full.Loss, full.Optimizer, data, null, full.Epochs);
            double truth = LabTraining.Accuracy(full.Model, s.Test);
            m.Add("true accuracy", "truth", truth);
            foreach (var (name, make) in Schemes)
            {
                if (name == "leave-one-out" && s.Scale == LabScale.Tiny) continue;
                var result = new CrossValidator(make(draw)).Run(data, (i, _) => Setup(data, 31 * draw + i));
                double estimate = result.Summaries["accuracy"].Mean;
                m.Add("estimate", name, estimate);
                m.Add("bias", name, estimate - truth);
                m.Add("squared error", name, (estimate - truth) * (estimate - truth));
                m.Add("fits", name, result.Folds.Count);
                log.WriteLine($"  draw {draw} {name}: {estimate:F4} (truth {truth:F4}, {result.Folds.Count} fits)");
            }
        }
        return m;
    }

    /// <inheritdoc/>
    public override LabResult Judge(Measurements m, LabSettings s)
    {
        var r = NewResult(m, s);
        r.Comparisons.Add(Compare(m, "a 30% holdout misses the truth by more than 10-fold cross-validation", "squared error", "holdout 30%", "10-fold", Expect.Higher));
        r.Comparisons.Add(Compare(m, "stratified 10-fold misses by no more than plain 10-fold", "squared error", "stratified 10-fold", "10-fold", Expect.NoHigher, margin: 0.0005, deciding: false));
        r.Comparisons.Add(Compare(m, "10-fold is nearly unbiased (its mean error within 2 points)", "bias", "10-fold", "10-fold", Expect.Same, margin: 0.02, deciding: false)
            with { B = "zero", ValuesB = [.. m.Get("bias", "10-fold").Select(_ => 0.0)] });
        var names = Schemes.Select(x => x.Name).Where(n => m.Get("estimate", n).Length > 0).ToArray();
        var table = Table(m, "Estimates against the truth (mean ± sd over the draws; the sd of the bias is the estimate's spread)", names, "estimate", "bias", "squared error", "fits");
        table.Rows.Add(["truth (net on all images, large test set)", MeanSd(m.Get("true accuracy", "truth")), "", "", ""]);
        r.Tables.Add(table);
        r.Figures.Add(PointsFigure(m, "validation-bias.png", "Estimate − truth per draw", "bias", names, "bias (accuracy)"));
        return r;
    }
}
