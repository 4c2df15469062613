using Nabla.Autograd;
using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Lab.Labs;

/// <summary>
/// Lab 5: against co-adaptation — none, dropout (inverted and the lecture's classic scaling), DropConnect, input
/// noise and an ensemble on a deliberately overfitting setup (a wide MLP on few images); and dropout as an "ensemble in
/// time": Monte-Carlo averaging of dropout passes against the weight scaling used at test time.
/// </summary>
public sealed class CoAdaptationLab : Lab
{
    /// <inheritdoc/>
    public override string Name => "co-adaptation";
    /// <inheritdoc/>
    public override string Title => "Dropout, DropConnect, noise and ensembles against co-adaptation";
    /// <inheritdoc/>
    public override string SeedLines => "205–248";
    /// <inheritdoc/>
    public override string Claim => "dropout keeps units from co-adapting: on an overfitting setup it narrows the train–test gap and raises test accuracy";
    /// <inheritdoc/>
    public override string Published =>
        "Srivastava et al. (2014): dropout took MNIST error from 1.60% to 1.35% (logistic units) and 1.25% (ReLU); Monte-Carlo averaging matched weight scaling at about 50 samples. Wan et al. (2013): DropConnect 0.21% against dropout 0.27% on MNIST (with augmentation and ensembles).";

    private static int Images(LabSettings s) => s.Pick(200, 1000, 2000);
    private static int Epochs(LabSettings s) => s.Pick(2, 40, 80);
    private static int Passes(LabSettings s) => s.Pick(5, 50, 100);

    /// <inheritdoc/>
    public override string Budget(LabSettings s) =>
        $"mlp:512,512 (ReLU), Adam 1e-3, batch 64, {Epochs(s)} epochs on {Images(s)} training images (it overfits); dropout p = 0.5 on the hidden layers " +
        $"(inverted, and the lecture's classic form scaled at test time), DropConnect p = 0.5, Gaussian input noise σ = 0.3, an ensemble of 3 nets averaging probabilities; " +
        $"Monte-Carlo dropout with {Passes(s)} passes; {s.Seeds} seeds; deciding metrics: train–test gap and test accuracy, dropout against none";

    private static readonly (string Name, ModelOptions Options)[] Conditions =
    [
        ("none", ModelOptions.None),
        ("dropout", new ModelOptions(Dropout: 0.5f)),
        ("dropout, classic scaling", new ModelOptions(Dropout: 0.5f, Mode: DropoutMode.Classic)),
        ("DropConnect", new ModelOptions(DropConnect: 0.5f)),
        ("input noise", new ModelOptions(Noise: 0.3f)),
    ];

    /// <inheritdoc/>
    public override Measurements Measure(LabSettings s, TextWriter log)
    {
        var m = new Measurements();
        for (int seed = 0; seed < s.Seeds; seed++)
        {
            var train = LabTraining.Subset(s.Train, Images(s), 1000 + seed);
            Module Trained(ModelOptions o, int init)
            {
                var model = Models.FromSpec("mlp:512,512", train.SampleShape, train.NumClasses, new Generator(init), options: o);
                LabTraining.Fit(model, new Adam(model.Parameters(), 1e-3, beta1: 0.9, beta2: 0.999), train, null, Epochs(s), 64, seed,
                    board: s.BoardFor(Name, $"dropout {o.Dropout} dropconnect {o.DropConnect} noise {o.Noise} init {init}", seed));
                return model;
            }
            foreach (var (name, options) in Conditions)
            {
                var model = Trained(options, seed);
                double tr = LabTraining.Accuracy(model, train), te = LabTraining.Accuracy(model, s.Test);
                m.Add("test accuracy", name, te);
                m.Add("train-test gap", name, tr - te);
                log.WriteLine($"  seed {seed} {name}: train {tr:F4} test {te:F4}");
                if (name == "dropout")
                {
                    m.Add("test accuracy", "dropout, Monte-Carlo", MonteCarlo(model, s.Test, Passes(s)));
                    m.Add("test accuracy", "dropout, weight scaling", te);
                }
            }
            // An ensemble of three nets of the plain kind, averaging their probabilities.
            var ensemble = new Ensemble(Enumerable.Range(0, 3).Select(j => Trained(ModelOptions.None, 100 * seed + j + 7)), EnsembleMode.Probabilities);
            double ensTest = LabTraining.Accuracy(ensemble, s.Test), ensTrain = LabTraining.Accuracy(ensemble, train);
            m.Add("test accuracy", "ensemble of 3", ensTest);
            m.Add("train-test gap", "ensemble of 3", ensTrain - ensTest);
        }
        m.Notes.Add("Skip connections, the lecture's last remedy here, are measured where they matter, in the degradation lab (plain against residual nets).");
        return m;
    }

    private static double Accuracy(float[] probabilities, TensorDataset data) => (double)LabTraining.Correct(probabilities, data) / data.Count;

    // The dropout net in training mode (masks drawn per pass), probabilities averaged over the passes.
    private static double MonteCarlo(Module model, TensorDataset data, int passes)
    {
        var sum = new float[data.Count * data.NumClasses];
        model.Train();
        try
        {
            using var _ = GradMode.NoGrad();
            var x = data.Features;
            for (int t = 0; t < passes; t++)
            {
                var p = model.Forward(x).Softmax(1).ToArray();
                for (int i = 0; i < sum.Length; i++) sum[i] += p[i] / passes;
            }
        }
        finally
        {
            model.Eval();
        }
        return Accuracy(sum, data);
    }

    /// <inheritdoc/>
    public override LabResult Judge(Measurements m, LabSettings s)
    {
        var r = NewResult(m, s);
        r.Comparisons.Add(Compare(m, "dropout narrows the train–test gap", "train-test gap", "dropout", "none", Expect.Lower));
        r.Comparisons.Add(Compare(m, "dropout raises test accuracy", "test accuracy", "dropout", "none", Expect.Higher));
        r.Comparisons.Add(Compare(m, "the classic scaling gives inverted dropout's test accuracy", "test accuracy", "dropout, classic scaling", "dropout", Expect.Same, margin: 0.01, deciding: false));
        r.Comparisons.Add(Compare(m, "DropConnect raises test accuracy", "test accuracy", "DropConnect", "none", Expect.Higher, deciding: false));
        r.Comparisons.Add(Compare(m, "input noise raises test accuracy", "test accuracy", "input noise", "none", Expect.Higher, deciding: false));
        r.Comparisons.Add(Compare(m, "an ensemble of three raises test accuracy", "test accuracy", "ensemble of 3", "none", Expect.Higher, deciding: false));
        r.Comparisons.Add(Compare(m, "Monte-Carlo averaging of dropout passes matches weight scaling", "test accuracy", "dropout, Monte-Carlo", "dropout, weight scaling", Expect.Same, margin: 0.01, deciding: false));
        string[] names = [.. Conditions.Select(c => c.Name), "ensemble of 3"];
        r.Tables.Add(Table(m, "Test accuracy and the train–test gap", names, "test accuracy", "train-test gap"));
        r.Tables.Add(Table(m, "Dropout at test time", ["dropout, weight scaling", "dropout, Monte-Carlo"], "test accuracy"));
        r.Figures.Add(PointsFigure(m, "co-adaptation-gap.png", "Train–test gap per seed", "train-test gap", names, "train accuracy − test accuracy"));
        r.Figures.Add(PointsFigure(m, "co-adaptation-test.png", "Test accuracy per seed", "test accuracy", names, "test accuracy"));
        return r;
    }
}
