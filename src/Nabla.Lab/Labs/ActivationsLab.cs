using Nabla.Autograd;
using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Lab.Labs;

/// <summary>
/// Lab 1: sigmoid saturates and deep sigmoid nets learn slowly; ReLU does not. MLPs of growing depth with each
/// activation, trained alike by plain SGD (an adaptive optimizer would rescale the small gradients away); the per-layer
/// gradient norms at initialisation show the vanishing gradient.
/// </summary>
public sealed class ActivationsLab : Lab
{
    /// <summary>The activations compared.</summary>
    public static readonly string[] ActivationNames = ["sigmoid", "tanh", "relu", "gelu"];

    /// <inheritdoc/>
    public override string Name => "activations";
    /// <inheritdoc/>
    public override string Title => "Sigmoid against ReLU in deep nets: the vanishing gradient";
    /// <inheritdoc/>
    public override string SeedLines => "10–38";
    /// <inheritdoc/>
    public override string Claim => "the sigmoid saturates, so a deep sigmoid net learns slowly or not at all while a ReLU net of the same depth learns";
    /// <inheritdoc/>
    public override string Published =>
        "Glorot and Bengio (2010): with sigmoid units the gradients shrink layer by layer towards the input and deep sigmoid nets stall; ReLU nets (Glorot, Bordes and Bengio 2011) train deep without pre-training.";

    private static int[] Depths(LabSettings s) => s.Pick(new[] { 1, 4 }, [1, 4, 8], [1, 4, 8, 12]);
    private static int Images(LabSettings s) => s.Pick(200, 4000, 10000);
    private static int Epochs(LabSettings s) => s.Pick(1, 5, 10);

    /// <inheritdoc/>
    public override string Budget(LabSettings s) =>
        $"MLPs of {string.Join(", ", Depths(s))} hidden layers of 64 units, {string.Join(", ", ActivationNames)}, each initialised as recommended for its activation " +
        "(Glorot uniform with gain 1 for sigmoid and 5/3 for tanh, He normal for ReLU and GELU; biases 0); SGD lr 0.1 without momentum, batch 64, " +
        $"{Epochs(s)} epochs on {Images(s)} training images; {s.Seeds} seeds; deciding metric: the mean training loss of the last epoch at the greatest depth";

    /// <inheritdoc/>
    public override Measurements Measure(LabSettings s, TextWriter log)
    {
        var m = new Measurements();
        var depths = Depths(s);
        int deepest = depths[^1];
        for (int seed = 0; seed < s.Seeds; seed++)
        {
            var train = LabTraining.Subset(s.Train, Images(s), 1000 + seed);
            foreach (int depth in depths)
                foreach (var act in ActivationNames)
                {
                    string spec = "mlp:" + string.Join(',', Enumerable.Repeat(64, depth));
                    var model = Models.FromSpec(spec, train.SampleShape, train.NumClasses, new Generator(seed), activation: act);
                    Initialise(model, act, new Generator(100 + seed));
                    var stats = new LayerStatistics(every: 20);
                    var h = LabTraining.Fit(model, new SGD(model.Parameters(), 0.1, momentum: 0), train, null, Epochs(s), 64, seed, [stats], board: s.BoardFor(Name, $"{act} depth {depth}", seed));
                    double loss = LabTraining.FinalLoss(h);
                    m.Add($"loss@{depth}", act, loss);
                    if (h.Diverged) m.Notes.Add($"seed {seed}, {depth} layers, {act}: the run diverged ({h.StopReason}); its loss is NaN.");
                    if (depth == deepest && stats.Samples.Count > 0)
                    {
                        m.AddCurve("loss", act, h.Series("loss"));
                        // Gradient norms of the Linear weights at the first step, input layer first.
                        var linear = Enumerable.Range(0, stats.Layers.Count).Where(i => stats.Layers[i].Contains("(Linear)", StringComparison.Ordinal)).ToArray();
                        var first = stats.Samples[0].GradientNorm;
                        m.AddCurve("grad_at_init", act, [.. linear.Select(i => first[i])]);
                        m.Add("log10 first/last gradient at init", act, Math.Log10(first[linear[0]] / first[linear[^1]]));
                        m.AddCurve("first_layer_grad", act, [.. stats.Samples.Select(x => x.GradientNorm[linear[0]])]);
                    }
                    log.WriteLine($"  seed {seed} depth {depth} {act}: loss {loss:F4}");
                }
        }
        return m;
    }

    // Each net starts as recommended for its activation (Glorot and Bengio for the saturating ones, He for the
    // rectifiers): the comparison is then of the activations, not of PyTorch's default initialisation, which shrinks
    // a deep ReLU net's signal too.
    private static void Initialise(Module model, string activation, Generator g)
    {
        foreach (var (_, m) in model.NamedModules())
        {
            if (m is not Linear linear) continue;
            if (activation is "sigmoid" or "tanh") Init.XavierUniform(linear.Weight, g, Init.CalculateGain(activation));
            else Init.KaimingNormal(linear.Weight, g, nonlinearity: "relu");
            if (linear.Bias is { } b) Init.Zeros(b);
        }
    }

    /// <inheritdoc/>
    public override LabResult Judge(Measurements m, LabSettings s)
    {
        var r = NewResult(m, s);
        var depths = m.Values.Keys.Where(k => k.StartsWith("loss@", StringComparison.Ordinal)).Select(k => int.Parse(k[5..], System.Globalization.CultureInfo.InvariantCulture)).Order().ToArray();
        if (depths.Length == 0) return r;
        int deepest = depths[^1];
        r.Comparisons.Add(Compare(m, $"a {deepest}-hidden-layer sigmoid net trains slower than the ReLU net of the same depth", $"loss@{deepest}", "sigmoid", "relu", Expect.Higher));
        r.Comparisons.Add(Compare(m, "at initialisation the sigmoid net's gradient vanishes towards the input more than the ReLU net's",
            "log10 first/last gradient at init", "sigmoid", "relu", Expect.Lower));
        if (depths.Length > 1)
            r.Comparisons.Add(Compare(m, $"the sigmoid net's final loss grows with depth ({depths[0]} → {deepest} hidden layers)", $"loss@{deepest}", "sigmoid", "sigmoid", Expect.Higher, deciding: false)
                with { B = $"sigmoid, {depths[0]} layer(s)", ValuesB = m.Get($"loss@{depths[0]}", "sigmoid"), A = $"sigmoid, {deepest} layers" });
        r.Comparisons.Add(Compare(m, $"tanh also trains slower than ReLU at {deepest} hidden layers", $"loss@{deepest}", "tanh", "relu", Expect.Higher, deciding: false));
        var conditions = ActivationNames.Where(a => m.Get($"loss@{deepest}", a).Length > 0).ToArray();
        r.Tables.Add(Table(m, "Training loss after the last epoch, by depth (hidden layers)", conditions, [.. depths.Select(d => $"loss@{d}"), "log10 first/last gradient at init"]));
        r.Figures.Add(CurveFigure(m, "activations-loss.png", $"Training loss per epoch, {deepest} hidden layers", "loss", conditions, "epoch", "training loss"));
        var g = CurveFigure(m, "activations-gradients.png", $"Gradient norm of each layer's weight at initialisation, {deepest} hidden layers", "grad_at_init", conditions, "layer (1 = input)", "‖∂L/∂W‖", logY: true);
        r.Figures.Add(g);
        r.Figures.Add(CurveFigure(m, "activations-first-layer.png", "Gradient norm of the first layer during training (every 20 steps)", "first_layer_grad", conditions, "sample", "‖∂L/∂W₁‖", logY: true));
        return r;
    }
}
