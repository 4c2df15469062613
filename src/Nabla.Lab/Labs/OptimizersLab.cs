using Nabla.Optim;

namespace Nabla.Lab.Labs;

/// <summary>
/// Lab 2: full-batch gradient descent, stochastic (one sample), mini-batch SGD, momentum, RMSProp and Adam with the
/// lecture's constants, the same MLP and the same number of epochs; loss against steps and against seconds, and the
/// effect of the batch size.
/// </summary>
public sealed class OptimizersLab : Lab
{
    /// <inheritdoc/>
    public override string Name => "optimizers";
    /// <inheritdoc/>
    public override string Title => "Gradient descent and its relatives: momentum and adaptive steps";
    /// <inheritdoc/>
    public override string SeedLines => "84–96, 182–189";
    /// <inheritdoc/>
    public override string Claim => "momentum and the adaptive methods (RMSProp, Adam) reach a lower training loss than plain mini-batch SGD in the same number of steps";
    /// <inheritdoc/>
    public override string Published =>
        "Kingma and Ba (2015): Adam converges faster than SGD with Nesterov momentum, AdaGrad and RMSProp on MNIST MLPs and CIFAR-10 CNNs; Sutskever et al. (2013): momentum 0.9 speeds SGD markedly.";

    private static int Images(LabSettings s) => s.Pick(200, 4000, 10000);
    private static int Epochs(LabSettings s) => s.Pick(1, 4, 10);

    /// <inheritdoc/>
    public override string Budget(LabSettings s) =>
        $"mlp:128 (ReLU) on {Images(s)} training images, {Epochs(s)} epochs each; full-batch GD (lr 0.1), SGD on single samples (lr 0.01, the first epoch only), " +
        "mini-batch SGD (batch 64, lr 0.01), momentum β = 0.9 (lr 0.01), RMSProp (α = 0.9, lr 1e-3), Adam (β1 0.9, β2 0.99, lr 3e-4), the lecture's constants; " +
        $"batch sizes 16/64/256 with momentum; {s.Seeds} seeds; deciding metric: training loss (on the whole training set) after the last epoch";

    private static readonly (string Name, int Batch, Func<IEnumerable<Tensor>, Optimizer> Make)[] Optimizers =
    [
        ("full-batch GD", 0, p => new SGD(p, 0.1, momentum: 0)),
        ("mini-batch SGD", 64, p => new SGD(p, 0.01, momentum: 0)),
        ("momentum", 64, p => new SGD(p, 0.01, momentum: 0.9)),
        ("RMSProp", 64, p => new RMSProp(p, 1e-3, alpha: 0.9)),
        ("Adam", 64, p => new Adam(p, 3e-4, beta1: 0.9, beta2: 0.99)),
    ];

    /// <inheritdoc/>
    public override Measurements Measure(LabSettings s, TextWriter log)
    {
        var m = new Measurements();
        for (int seed = 0; seed < s.Seeds; seed++)
        {
            var train = LabTraining.Subset(s.Train, Images(s), 1000 + seed);
            foreach (var (name, batch, make) in Optimizers)
            {
                var model = Models.FromSpec("mlp:128", train.SampleShape, train.NumClasses, new Generator(seed));
                var trace = new LossTrace();
                int b = batch == 0 ? train.Count : batch;
                LabTraining.Fit(model, make(model.Parameters()), train, null, Epochs(s), b, seed, [trace], board: s.BoardFor(Name, name, seed));
                double loss = LabTraining.Loss(model, train);
                m.Add("training loss", name, loss);
                m.Add("seconds", name, LabTraining.Last(trace.Seconds));
                m.AddCurve("loss per step", name, [.. trace.Losses]);
                m.AddCurve("seconds per step", name, [.. trace.Seconds]);
                log.WriteLine($"  seed {seed} {name}: loss {loss:F4} in {LabTraining.Last(trace.Seconds):F2} s");
            }
            {
                // Stochastic gradient descent on single samples: one epoch is as many steps as samples.
                var model = Models.FromSpec("mlp:128", train.SampleShape, train.NumClasses, new Generator(seed));
                var trace = new LossTrace();
                LabTraining.Fit(model, new SGD(model.Parameters(), 0.01, momentum: 0), train, null, 1, 1, seed, [trace], board: s.BoardFor(Name, "SGD one sample", seed));
                m.Add("training loss after one epoch", "SGD, one sample", LabTraining.Loss(model, train));
                m.Add("seconds for one epoch", "SGD, one sample", LabTraining.Last(trace.Seconds));
            }
            foreach (int batch in new[] { 16, 64, 256 })
            {
                var model = Models.FromSpec("mlp:128", train.SampleShape, train.NumClasses, new Generator(seed));
                var trace = new LossTrace();
                LabTraining.Fit(model, new SGD(model.Parameters(), 0.01, momentum: 0.9), train, null, Epochs(s), batch, seed, [trace], board: s.BoardFor(Name, $"momentum batch {batch}", seed));
                m.Add("training loss", $"momentum, batch {batch}", LabTraining.Loss(model, train));
                m.Add("steps", $"momentum, batch {batch}", trace.Losses.Count);
                m.Add("seconds", $"momentum, batch {batch}", LabTraining.Last(trace.Seconds));
            }
        }
        return m;
    }

    /// <inheritdoc/>
    public override LabResult Judge(Measurements m, LabSettings s)
    {
        var r = NewResult(m, s);
        const string metric = "training loss";
        r.Comparisons.Add(Compare(m, "momentum reaches a lower loss than plain SGD", metric, "momentum", "mini-batch SGD", Expect.Lower));
        r.Comparisons.Add(Compare(m, "RMSProp reaches a lower loss than plain SGD", metric, "RMSProp", "mini-batch SGD", Expect.Lower));
        r.Comparisons.Add(Compare(m, "Adam reaches a lower loss than plain SGD", metric, "Adam", "mini-batch SGD", Expect.Lower));
        r.Comparisons.Add(Compare(m, "mini-batches reach a lower loss than full-batch GD in the same epochs (more steps)", metric, "mini-batch SGD", "full-batch GD", Expect.Lower, deciding: false));
        r.Comparisons.Add(Compare(m, "smaller batches reach a lower loss in the same epochs", metric, "momentum, batch 16", "momentum, batch 256", Expect.Lower, deciding: false));
        var names = Optimizers.Select(o => o.Name).ToArray();
        r.Tables.Add(Table(m, "After the last epoch (training loss on the whole training set; seconds of training)", [.. names, "momentum, batch 16", "momentum, batch 64", "momentum, batch 256"], metric, "seconds", "steps"));
        r.Tables.Add(Table(m, "Stochastic gradient descent on single samples", ["SGD, one sample"], "training loss after one epoch", "seconds for one epoch"));
        r.Figures.Add(CurveFigure(m, "optimizers-steps.png", "Training loss per step (batch mean)", "loss per step", names.Where(n => n != "full-batch GD"), "step", "loss"));
        var bySeconds = new LabFigure("optimizers-seconds.png", "Training loss against seconds", "seconds", "loss", []);
        foreach (var n in names)
        {
            var x = m.MeanCurve("seconds per step", n);
            var y = m.MeanCurve("loss per step", n);
            int k = Math.Min(x.Length, y.Length);
            if (k > 0) bySeconds.Series.Add(new LabSeries(n, x[..k], y[..k]));
        }
        r.Figures.Add(bySeconds);
        return r;
    }
}
