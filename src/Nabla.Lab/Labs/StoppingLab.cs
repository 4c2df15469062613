using Nabla.Optim;
using Nabla.Training;
using Nabla.Validation;

namespace Nabla.Lab.Labs;

/// <summary>
/// Lab 3: when to stop — a fixed budget of epochs, until the weights stabilise (the lecture's rule), or early when the
/// validation loss stops improving (with the best weights restored).
/// </summary>
public sealed class StoppingLab : Lab
{
    /// <inheritdoc/>
    public override string Name => "stopping";
    /// <inheritdoc/>
    public override string Title => "Stopping rules: a fixed budget, stable weights, early stopping";
    /// <inheritdoc/>
    public override string SeedLines => "59, 114";
    /// <inheritdoc/>
    public override string Claim => "early stopping on a validation set reaches the fixed budget's test accuracy (within one point) in fewer epochs";
    /// <inheritdoc/>
    public override string Published =>
        "Prechelt (1998), \"Early stopping — but when?\": validation-based stopping criteria trade about 4% worse generalisation for runs several times shorter, or the reverse, against training to convergence.";

    private static int Images(LabSettings s) => s.Pick(300, 4000, 10000);
    private static int MaxEpochs(LabSettings s) => s.Pick(3, 40, 80);

    /// <inheritdoc/>
    public override string Budget(LabSettings s) =>
        $"mlp:256,128 (ReLU), Adam 1e-3, batch 64, on {Images(s)} training images of which a stratified 30% validates (the lecture's holdout); " +
        $"fixed budget {MaxEpochs(s)} epochs; early stopping: val_loss, patience 5, best weights restored; stable weights: relative change below 1e-2 for 2 epochs; " +
        $"{s.Seeds} seeds; deciding metrics: epochs used, and test accuracy within a margin of 0.01";

    /// <inheritdoc/>
    public override Measurements Measure(LabSettings s, TextWriter log)
    {
        var m = new Measurements();
        int budget = MaxEpochs(s);
        for (int seed = 0; seed < s.Seeds; seed++)
        {
            var data = LabTraining.Subset(s.Train, Images(s), 1000 + seed);
            var split = new Holdout(0.3, stratify: true, seed: seed).Split(data).First();
            var (train, validation) = (data.Subset(split.Train), data.Subset(split.Validation));
            foreach (var (name, make) in new (string, Func<Callback?>)[]
            {
                ("fixed budget", () => null),
                ("early stopping", () => new EarlyStopping("val_loss", patience: 5, restoreBestWeights: true)),
                ("stable weights", () => new WeightStabilization(1e-2, patience: 2)),
            })
            {
                var model = Models.FromSpec("mlp:256,128", train.SampleShape, train.NumClasses, new Generator(seed));
                var cb = make();
                var h = LabTraining.Fit(model, new Adam(model.Parameters(), 1e-3, beta1: 0.9, beta2: 0.999), train, validation, budget, 64, seed, cb is null ? null : [cb], board: s.BoardFor(Name, name, seed));
                double test = LabTraining.Accuracy(model, s.Test);
                m.Add("epochs used", name, h.Epochs.Count);
                m.Add("test accuracy", name, test);
                m.Add("train-test gap", name, h.Diverged || h.Epochs.Count == 0 ? double.NaN : h.Epochs[^1]["accuracy"] - test);
                m.AddCurve("val_loss", name, h.Series("val_loss"));
                log.WriteLine($"  seed {seed} {name}: {h.Epochs.Count} epochs, test {test:F4}");
            }
        }
        return m;
    }

    /// <inheritdoc/>
    public override LabResult Judge(Measurements m, LabSettings s)
    {
        var r = NewResult(m, s);
        r.Comparisons.Add(Compare(m, "early stopping uses fewer epochs than the fixed budget", "epochs used", "early stopping", "fixed budget", Expect.Lower));
        r.Comparisons.Add(Compare(m, "early stopping's test accuracy is that of the fixed budget", "test accuracy", "early stopping", "fixed budget", Expect.Same, margin: 0.01));
        r.Comparisons.Add(Compare(m, "waiting for stable weights uses fewer epochs than the fixed budget", "epochs used", "stable weights", "fixed budget", Expect.Lower, deciding: false));
        r.Comparisons.Add(Compare(m, "waiting for stable weights gives the fixed budget's test accuracy", "test accuracy", "stable weights", "fixed budget", Expect.Same, margin: 0.01, deciding: false));
        string[] names = ["fixed budget", "early stopping", "stable weights"];
        r.Tables.Add(Table(m, "Epochs and accuracy", names, "epochs used", "test accuracy", "train-test gap"));
        r.Figures.Add(CurveFigure(m, "stopping-val-loss.png", "Validation loss per epoch (mean over seeds, up to the shortest run)", "val_loss", names, "epoch", "validation loss"));
        return r;
    }
}
