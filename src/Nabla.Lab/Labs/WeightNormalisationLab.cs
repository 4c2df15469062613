using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Lab.Labs;

/// <summary>
/// Lab 8: normalising the weights rather than the data — weight standardisation (z-score and the lecture's min-max),
/// spectral normalisation, and spectral (SVD) filtering of the weights — on training, test accuracy and the weights'
/// largest singular values.
/// </summary>
public sealed class WeightNormalisationLab : Lab
{
    /// <inheritdoc/>
    public override string Name => "weight-normalisation";
    /// <inheritdoc/>
    public override string Title => "Weight standardisation, spectral normalisation and spectral filtering";
    /// <inheritdoc/>
    public override string SeedLines => "378–386";
    /// <inheritdoc/>
    public override string Claim => "normalising the weights keeps them in check: spectral normalisation bounds each layer's largest singular value, and none of the weight normalisations costs accuracy";
    /// <inheritdoc/>
    public override string Published =>
        "Miyato et al. (2018): spectral normalisation holds each layer's σ_max at 1 (a Lipschitz bound) and stabilises GAN discriminators; Qiao et al. (2019): weight standardisation with GroupNorm matches or beats BatchNorm at micro-batches.";

    private static int Images(LabSettings s) => s.Pick(200, 4000, 10000);
    private static int Epochs(LabSettings s) => s.Pick(1, 6, 12);

    private static readonly (string Name, ModelOptions Options, bool Filter)[] Conditions =
    [
        ("none", ModelOptions.None, false),
        ("weight standardisation", new ModelOptions(WeightNorm: "ws"), false),
        ("min-max standardisation", new ModelOptions(WeightNorm: "ws-minmax"), false),
        ("spectral normalisation", new ModelOptions(WeightNorm: "spectral"), false),
        ("spectral filtering", ModelOptions.None, true),
    ];

    /// <inheritdoc/>
    public override string Budget(LabSettings s) =>
        $"mlp:256,128 (ReLU), Adam 1e-3, batch 64, {Epochs(s)} epochs on {Images(s)} training images; spectral filtering keeps the singular values holding 90% of each weight's energy every 50 steps; " +
        $"σ_max by SVD of each hidden Linear layer's weight after training (the effective weight for the normalised ones; the classifier layer is not normalised by these options); {s.Seeds} seeds; deciding metrics: the largest σ_max (spectral normalisation against none) and test accuracy within 0.01 of none for each";

    /// <inheritdoc/>
    public override Measurements Measure(LabSettings s, TextWriter log)
    {
        var m = new Measurements();
        for (int seed = 0; seed < s.Seeds; seed++)
        {
            var train = LabTraining.Subset(s.Train, Images(s), 1000 + seed);
            foreach (var (name, options, filter) in Conditions)
            {
                var model = Models.FromSpec("mlp:256,128", train.SampleShape, train.NumClasses, new Generator(seed), options: options);
                Callback[]? cb = filter ? [new SpectralFilterCallback(50, energy: 0.9)] : null;
                var h = LabTraining.Fit(model, new Adam(model.Parameters(), 1e-3, beta1: 0.9, beta2: 0.999), train, null, Epochs(s), 64, seed, cb, board: s.BoardFor(Name, name, seed));
                double test = LabTraining.Accuracy(model, s.Test);
                double sigma = EffectiveWeights(model).Max(LargestSingularValue);
                m.Add("test accuracy", name, test);
                m.Add("training loss", name, LabTraining.FinalLoss(h));
                m.Add("largest singular value", name, sigma);
                m.AddCurve("loss", name, h.Series("loss"));
                log.WriteLine($"  seed {seed} {name}: test {test:F4}, σ_max {sigma:F3}");
            }
        }
        return m;
    }

    // The weights the hidden layers multiply by (the options normalise the hidden layers, not the classifier): each
    // hidden Linear layer of the net (or the wrapper that normalises its weight) run on the identity, minus its bias —
    // the reparametrised weight, not the raw parameter.
    private static IEnumerable<float[,]> EffectiveWeights(Module model)
    {
        var net = (Sequential)model;
        // A fully connected layer, plain or wrapped: its (out, in) weight is its one matrix parameter.
        static Tensor? MatrixOf(Module layer) => layer.NamedParameters().Select(p => p.Parameter).FirstOrDefault(p => p.Rank == 2);
        int last = Enumerable.Range(0, net.Count).Last(k => MatrixOf(net[k]) is not null);
        for (int k = 0; k < last; k++)
        {
            var layer = net[k];
            if (MatrixOf(layer) is not { } weight) continue;
            int inF = weight.Shape[1], outF = weight.Shape[0];
            var eye = new float[inF * inF];
            for (int i = 0; i < inF; i++) eye[i * inF + i] = 1;
            float[] y, b;
            bool training = layer.Training;
            layer.Eval();
            using (Autograd.GradMode.NoGrad())
            {
                y = layer.Forward(Tensor.FromArray(eye, inF, inF)).ToArray();
                b = layer.Forward(Tensor.Zeros([1, inF])).ToArray();
            }
            layer.Train(training);
            var w = new float[outF, inF];
            for (int i = 0; i < inF; i++)
                for (int o = 0; o < outF; o++) w[o, i] = y[i * outF + o] - b[o];
            yield return w;
        }
    }

    private static double LargestSingularValue(float[,] w)
    {
        var matrix = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(w.GetLength(0), w.GetLength(1), (i, j) => w[i, j]);
        return matrix.Svd(computeVectors: false).S[0];
    }

    /// <inheritdoc/>
    public override LabResult Judge(Measurements m, LabSettings s)
    {
        var r = NewResult(m, s);
        r.Comparisons.Add(Compare(m, "spectral normalisation bounds the hidden layers' largest singular value", "largest singular value", "spectral normalisation", "none", Expect.Lower));
        foreach (var (name, _, _) in Conditions.Skip(1))
            r.Comparisons.Add(Compare(m, $"{name} costs no test accuracy", "test accuracy", name, "none", Expect.NoHigher, margin: 0.01) with
            {
                // "No lower" written as "none − name ≤ margin".
                A = "none", B = name, ValuesA = m.Get("test accuracy", "none"), ValuesB = m.Get("test accuracy", name),
            });
        r.Comparisons.Add(Compare(m, "spectral filtering lowers the largest singular value", "largest singular value", "spectral filtering", "none", Expect.Lower, deciding: false));
        string[] names = [.. Conditions.Select(c => c.Name)];
        r.Tables.Add(Table(m, "After training", names, "test accuracy", "training loss", "largest singular value"));
        r.Figures.Add(PointsFigure(m, "weight-normalisation-sigma.png", "Largest singular value of the layers' weights, per seed", "largest singular value", names, "σ_max"));
        r.Figures.Add(CurveFigure(m, "weight-normalisation-loss.png", "Training loss per epoch", "loss", names, "epoch", "loss"));
        return r;
    }
}
