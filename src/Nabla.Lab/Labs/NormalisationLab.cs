using Nabla.Autograd;
using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Lab.Labs;

/// <summary>
/// Lab 7: batch normalisation — faster training and higher usable learning rates; BN before or after the activation;
/// BN against layer/group/instance/switch normalisation as the batch shrinks; running (EMA) against batch statistics at
/// test time; and the internal-covariate-shift hypothesis itself (per-layer activation statistics over training).
/// </summary>
public sealed class NormalisationLab : Lab
{
    /// <inheritdoc/>
    public override string Name => "normalisation";
    /// <inheritdoc/>
    public override string Title => "Batch normalisation and its relatives";
    /// <inheritdoc/>
    public override bool NeedsImages => true;
    /// <inheritdoc/>
    public override string SeedLines => "292–370";
    /// <inheritdoc/>
    public override string Claim => "batch normalisation lets a net train in fewer steps and at higher learning rates";
    /// <inheritdoc/>
    public override string Published =>
        "Ioffe and Szegedy (2015): BN reached Inception's accuracy in 14× fewer steps and trained at a 5× (30×) learning rate. Wu and He (2018): BN's ImageNet error rises from 23.6% at 32 images per GPU to 34.7% at 2, GroupNorm stays at 24.1%. Santurkar et al. (2018): BN's benefit does not come from reducing internal covariate shift.";

    private static readonly double[] Rates = [0.03, 0.3, 1.0, 3.0];
    private static int Images(LabSettings s) => s.Pick(200, 4000, 10000);
    private static int Epochs(LabSettings s) => s.Pick(1, 3, 6);
    private static int CnnImages(LabSettings s) => s.Pick(64, 600, 2000);
    private const double Target = 0.8;

    private static string Key(double lr) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"final loss at lr {lr}");

    /// <inheritdoc/>
    public override string Budget(LabSettings s) =>
        $"mlp:256,256,256 (ReLU) with and without BatchNorm, SGD without momentum, batch 64, {Epochs(s)} epochs on {Images(s)} images, learning rates {string.Join(", ", Rates.Select(r => r.ToString(System.Globalization.CultureInfo.InvariantCulture)))}; " +
        $"a rate 'trains' when the final training loss is below 1.0; steps to a smoothed training loss of {Target} at lr 0.3; the cnn with batch/group:4/layer/instance/switch " +
        $"normalisation at batch 32 and 2 (Adam 1e-3, 2 epochs on {CnnImages(s)} images); {s.Seeds} seeds; deciding metrics: steps to the target loss and the highest learning rate that trains";

    /// <inheritdoc/>
    public override Measurements Measure(LabSettings s, TextWriter log)
    {
        var m = new Measurements();
        for (int seed = 0; seed < s.Seeds; seed++)
        {
            var train = LabTraining.Subset(s.Train, Images(s), 1000 + seed);
            foreach (var (name, options) in new[] { ("none", ModelOptions.None), ("BatchNorm", new ModelOptions(Norm: "batch")), ("BatchNorm after ReLU", new ModelOptions(Norm: "batch", NormAfter: true)) })
            {
                double highest = double.NaN;
                foreach (double lr in Rates)
                {
                    if (name == "BatchNorm after ReLU" && lr != 0.3) continue;
                    var model = Models.FromSpec("mlp:256,256,256", train.SampleShape, train.NumClasses, new Generator(seed), options: options);
                    var trace = new LossTrace();
                    var stats = lr == 0.3 ? new LayerStatistics(every: 10) : null;
                    var h = LabTraining.Fit(model, new SGD(model.Parameters(), lr, momentum: 0), train, null, Epochs(s), 64, seed, stats is null ? [trace] : [trace, stats],
                        board: s.BoardFor(Name, $"{name} lr {lr}", seed));
                    double loss = h.Diverged ? double.PositiveInfinity : LabTraining.Loss(model, train);
                    if (double.IsFinite(loss) && loss < 1.0) highest = double.IsNaN(highest) ? lr : Math.Max(highest, lr);
                    m.Add(Key(lr), name, double.IsFinite(loss) ? loss : double.NaN);
                    if (lr == 0.3)
                    {
                        m.Add("steps to target loss", name, StepsTo(trace.Losses, Target));
                        m.Add("test accuracy", name, LabTraining.Accuracy(model, s.Test));
                        m.AddCurve("loss", name, [.. trace.Losses]);
                        if (stats is not null) CovariateShift(m, name, stats);
                        if (name == "BatchNorm") m.Add("test accuracy, batch statistics of 8", name, BatchStatisticsAccuracy(model, s.Test, 8));
                    }
                }
                if (name != "BatchNorm after ReLU") m.Add("log10 highest learning rate that trains", name, double.IsNaN(highest) ? Math.Log10(Rates[0]) - 1 : Math.Log10(highest));
                log.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"  seed {seed} {name}: highest lr that trains {highest}"));
            }
            // Small batches: BatchNorm against the normalisations that do not use the batch.
            var small = LabTraining.Subset(s.Train, CnnImages(s), 2000 + seed);
            foreach (var norm in new[] { "batch", "group:4", "layer", "instance", "switch" })
                foreach (int batch in new[] { 32, 2 })
                {
                    var model = Models.FromSpec("cnn", small.SampleShape, small.NumClasses, new Generator(seed), options: new ModelOptions(Norm: norm));
                    LabTraining.Fit(model, new Adam(model.Parameters(), 1e-3, beta1: 0.9, beta2: 0.999), small, null, 2, batch, seed,
                        board: s.BoardFor(Name, $"{norm} batch {batch}", seed));
                    m.Add($"cnn test accuracy, batch {batch}", norm, LabTraining.Accuracy(model, s.Test));
                }
            foreach (var norm in new[] { "batch", "group:4", "layer", "instance", "switch" })
                m.Add("accuracy lost from batch 32 to 2", norm, m.Get("cnn test accuracy, batch 32", norm)[^1] - m.Get("cnn test accuracy, batch 2", norm)[^1]);
        }
        return m;
    }

    // The first step whose loss, averaged over the last 10 steps, is below the target (all steps + 1 when never).
    private static double StepsTo(List<double> losses, double target)
    {
        double window = 0;
        for (int i = 0; i < losses.Count; i++)
        {
            window += losses[i] - (i >= 10 ? losses[i - 10] : 0);
            if (i >= 9 && window / 10 < target) return i + 1;
        }
        return losses.Count + 1;
    }

    // Internal covariate shift as the lecture means it: how much the distribution of each hidden layer's input (the
    // previous activation's output) moves during training — the standard deviation over time of its mean and deviation.
    private static void CovariateShift(Measurements m, string name, LayerStatistics stats)
    {
        var acts = Enumerable.Range(0, stats.Layers.Count).Where(i => stats.Layers[i].Contains("(ReLU)", StringComparison.Ordinal)).ToArray();
        if (acts.Length == 0 || stats.Samples.Count < 2) return;
        double drift = acts.Average(i => Std(stats.Samples.Select(x => x.Mean[i])) + Std(stats.Samples.Select(x => x.Std[i])));
        m.Add("activation drift", name, drift);
        int last = acts[^1];
        m.AddCurve("last hidden activation mean", name, [.. stats.Samples.Select(x => x.Mean[last])]);
    }

    private static double Std(IEnumerable<double> values)
    {
        var v = values.ToArray();
        double mean = v.Average();
        return Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / Math.Max(1, v.Length - 1));
    }

    // Test accuracy when BatchNorm normalises each test batch of `batch` images by its own statistics (training mode,
    // no gradient; the running statistics are saved and put back).
    private static double BatchStatisticsAccuracy(Module model, TensorDataset test, int batch)
    {
        var saved = model.StateDict();
        Dictionary<string, Tensor?> copy;
        using (GradMode.NoGrad()) copy = saved.ToDictionary(kv => kv.Key, kv => kv.Value.Float?.Clone());
        int right = 0;
        model.Train();
        using (GradMode.NoGrad())
            for (int start = 0; start + batch <= test.Count; start += batch)
            {
                var idx = Enumerable.Range(start, batch).ToArray();
                right += LabTraining.Correct(model.Forward(test.Rows(idx)).ToArray(), test, start);
            }
        model.Eval();
        using (GradMode.NoGrad())
            foreach (var (key, value) in copy)
                if (value is not null) saved[key].Float!.CopyFrom(value);
        return (double)right / (test.Count / batch * batch);
    }

    /// <inheritdoc/>
    public override LabResult Judge(Measurements m, LabSettings s)
    {
        var r = NewResult(m, s);
        r.Comparisons.Add(Compare(m, $"with BatchNorm the training loss reaches {Target} in fewer steps", "steps to target loss", "BatchNorm", "none", Expect.Lower));
        r.Comparisons.Add(Compare(m, "with BatchNorm a higher learning rate still trains", "log10 highest learning rate that trains", "BatchNorm", "none", Expect.Higher));
        r.Comparisons.Add(Compare(m, "BatchNorm after the activation does as well as before it", "test accuracy", "BatchNorm after ReLU", "BatchNorm", Expect.Same, margin: 0.01, deciding: false));
        r.Comparisons.Add(Compare(m, "BatchNorm loses more accuracy than GroupNorm when the batch shrinks from 32 to 2", "accuracy lost from batch 32 to 2", "batch", "group:4", Expect.Higher, deciding: false));
        r.Comparisons.Add(Compare(m, "batch statistics of small test batches are worse than the running (EMA) statistics", "test accuracy", "BatchNorm", "BatchNorm", Expect.Higher, deciding: false)
            with { B = "BatchNorm, batch statistics of 8", ValuesB = m.Get("test accuracy, batch statistics of 8", "BatchNorm"), A = "BatchNorm, running statistics" });
        r.Comparisons.Add(Compare(m, "the covariate-shift hypothesis: with BatchNorm the hidden activations' statistics move less during training", "activation drift", "BatchNorm", "none", Expect.Lower, deciding: false));
        string[] mlp = ["none", "BatchNorm", "BatchNorm after ReLU"];
        r.Tables.Add(Table(m, "MLP, SGD: final training loss by learning rate, and the highest rate that trains", mlp,
            [.. Rates.Select(lr => Key(lr)), "log10 highest learning rate that trains", "steps to target loss", "test accuracy", "activation drift"]));
        string[] norms = ["batch", "group:4", "layer", "instance", "switch"];
        r.Tables.Add(Table(m, "cnn: test accuracy at batch 32 and 2", norms, "cnn test accuracy, batch 32", "cnn test accuracy, batch 2", "accuracy lost from batch 32 to 2"));
        r.Figures.Add(CurveFigure(m, "normalisation-loss.png", "Training loss per step at lr 0.3", "loss", mlp, "step", "loss"));
        r.Figures.Add(CurveFigure(m, "normalisation-shift.png", "Mean of the last hidden layer's activations during training (every 10 steps)", "last hidden activation mean", mlp, "sample", "mean activation"));
        r.Figures.Add(PointsFigure(m, "normalisation-small-batch.png", "Accuracy lost from batch 32 to batch 2, per seed", "accuracy lost from batch 32 to 2", norms, "accuracy at 32 − at 2"));
        return r;
    }
}
