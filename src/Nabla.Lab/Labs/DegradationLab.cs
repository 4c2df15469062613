using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Lab.Labs;

/// <summary>
/// Lab 9: the degradation problem — a deeper plain net ends with a higher training error than a shallower one, while a
/// deeper residual net ends no worse than the shallower residual net; every net trained alike over the seeds.
/// </summary>
public sealed class DegradationLab : Lab
{
    /// <inheritdoc/>
    public override string Name => "degradation";
    /// <inheritdoc/>
    public override string Title => "Deep plain nets degrade; residual nets do not";
    /// <inheritdoc/>
    public override bool NeedsImages => true;
    /// <inheritdoc/>
    public override string SeedLines => "392–406";
    /// <inheritdoc/>
    public override string Claim => "past some depth a plain net trains worse (higher training error), and shortcut connections remove the degradation";
    /// <inheritdoc/>
    public override string Published =>
        "He et al. (2016): on CIFAR-10 plain nets get worse as they deepen (plain-56 above plain-20 in training and test error) while ResNet-20 … ResNet-56 improve (8.75% … 6.97% test error).";

    private static int[] Depths(LabSettings s) => s.Pick(new[] { 8, 14 }, [8, 20], [20, 44]);
    private static int Images(LabSettings s) => s.Pick(64, 1000, 2000);
    private static int Epochs(LabSettings s) => s.Pick(1, 6, 8);

    /// <inheritdoc/>
    public override string Budget(LabSettings s) =>
        $"plain and residual nets of depth {string.Join(" and ", Depths(s))} (He et al.'s 6n + 2 CIFAR nets, BatchNorm), SGD lr 0.05, momentum 0.9, weight decay 1e-4, cosine schedule, " +
        $"batch 64, {Epochs(s)} epochs on {Images(s)} training images; {s.Seeds} seeds; deciding metrics: final training error — the deeper plain net above the shallower, " +
        $"the deeper residual net no more than 0.01 above the shallower; and mlp:64,64 against the same net with {IdentityLayers} extra hidden layers initialised to the identity " +
        "(no shortcuts; Adam 1e-3): the deeper no more than 0.01 above in test accuracy";

    /// <inheritdoc/>
    public override Measurements Measure(LabSettings s, TextWriter log)
    {
        var m = new Measurements();
        var depths = Depths(s);
        for (int seed = 0; seed < s.Seeds; seed++)
        {
            var train = LabTraining.Subset(s.Train, Images(s), 1000 + seed);
            foreach (int depth in depths)
                foreach (bool residual in new[] { false, true })
                {
                    string name = $"{(residual ? "resnet" : "plain")}-{depth}";
                    var model = new ResNet(depth, train.SampleShape[0], train.NumClasses, new Generator(seed), residual);
                    var opt = new SGD(model.Parameters(), 0.05, momentum: 0.9, weightDecay: 1e-4);
                    int steps = Epochs(s) * ((train.Count + 63) / 64);
                    var options = new TrainerOptions { BatchSize = 64, Seed = seed, Scheduler = new CosineAnnealingWarmupLR(opt, 0, Math.Max(1, steps), warmupStartFactor: 1) };
                    var h = LabTraining.Fit(model, opt, train, null, Epochs(s), 64, seed, board: s.BoardFor(Name, name, seed), options: options);
                    double trainError = 1 - LabTraining.Accuracy(model, train), testError = 1 - LabTraining.Accuracy(model, s.Test);
                    m.Add("training error", name, trainError);
                    m.Add("test error", name, testError);
                    m.AddCurve("training error", name, [.. h.Series("accuracy").Select(a => 1 - a)]);
                    log.WriteLine($"  seed {seed} {name}: training error {trainError:F4}, test error {testError:F4}");
                }
            // The lecture's identity-layer argument: the same MLP with extra hidden layers that start as the identity (no
            // shortcuts) computes the same function at first; trained alike, it gains nothing.
            foreach (bool extra in new[] { false, true })
            {
                var net = IdentityStack(train, seed, extra ? IdentityLayers : 0);
                LabTraining.Fit(net, new Adam(net.Parameters(), 1e-3, beta1: 0.9, beta2: 0.999), train, null, Epochs(s), 64, seed,
                    board: s.BoardFor(Name, extra ? "identity layers" : "no identity layers", seed));
                string name = extra ? Deeper : Shallow;
                double test = LabTraining.Accuracy(net, s.Test);
                m.Add("identity layers: test accuracy", name, test);
                m.Add("identity layers: training error", name, 1 - LabTraining.Accuracy(net, train));
                log.WriteLine($"  seed {seed} {name}: test accuracy {test:F4}");
            }
        }
        return m;
    }

    private const int IdentityLayers = 4;
    private const string Shallow = "mlp:64,64";
    private static readonly string Deeper = $"mlp:64,64 + {IdentityLayers} identity layers";

    // mlp:64,64 from the seed and, before its classifier, `extra` Linear(64, 64) + ReLU layers with W = I, b = 0: the
    // previous ReLU's output is non-negative, so each extra pair passes it through unchanged.
    internal static Sequential IdentityStack(Data.TensorDataset train, int seed, int extra)
    {
        var source = (Sequential)Models.FromSpec(Shallow, train.SampleShape, train.NumClasses, new Generator(seed));
        var net = new Sequential { FlattenInput = true };
        var eye = new float[64 * 64];
        for (int i = 0; i < 64; i++) eye[i * 64 + i] = 1;
        for (int k = 0; k < source.Count; k++)
        {
            if (k == source.Count - 1)
                for (int j = 0; j < extra; j++)
                {
                    var layer = new Linear(64, 64, new Generator(0));
                    using (Autograd.GradMode.NoGrad())
                    {
                        layer.Weight.CopyFrom(Tensor.FromArray(eye, 64, 64));
                        layer.Bias!.FillInPlace(0f);
                    }
                    net.Add(layer);
                    net.Add(new ReLU());
                }
            net.Add(source[k]);
        }
        return net;
    }

    /// <inheritdoc/>
    public override LabResult Judge(Measurements m, LabSettings s)
    {
        var r = NewResult(m, s);
        var names = m.Conditions("training error");
        var depths = names.Select(n => int.Parse(n[(n.IndexOf('-') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).Distinct().Order().ToArray();
        if (depths.Length < 2) return r;
        int lo = depths[0], hi = depths[^1];
        r.Comparisons.Add(Compare(m, $"plain-{hi} trains worse than plain-{lo}", "training error", $"plain-{hi}", $"plain-{lo}", Expect.Higher));
        r.Comparisons.Add(Compare(m, $"resnet-{hi} trains no worse than resnet-{lo}", "training error", $"resnet-{hi}", $"resnet-{lo}", Expect.NoHigher, margin: 0.01));
        r.Comparisons.Add(Compare(m, $"extra layers that start as the identity, without shortcuts, give no gain", "identity layers: test accuracy", Deeper, Shallow, Expect.NoHigher, margin: 0.01));
        r.Comparisons.Add(Compare(m, $"at depth {hi} the residual net trains better than the plain net", "training error", $"resnet-{hi}", $"plain-{hi}", Expect.Lower, deciding: false));
        r.Comparisons.Add(Compare(m, $"plain-{hi} tests worse than plain-{lo}", "test error", $"plain-{hi}", $"plain-{lo}", Expect.Higher, deciding: false));
        r.Tables.Add(Table(m, "Final errors", names, "training error", "test error"));
        r.Tables.Add(Table(m, "The identity-layer argument (Adam 1e-3, the same epochs and images)", [Shallow, Deeper], "identity layers: test accuracy", "identity layers: training error"));
        r.Figures.Add(CurveFigure(m, "degradation-training-error.png", "Training error per epoch (running, during the epoch)", "training error", names, "epoch", "training error"));
        return r;
    }
}
