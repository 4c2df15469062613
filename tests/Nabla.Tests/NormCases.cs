using System.Text.Json;
using Nabla.Autograd;

namespace Nabla.Tests;

/// <summary>
/// Normalisation layers against PyTorch (tests/fixtures/norm.json): every step's output, input and parameter
/// gradients and running buffers at 1e-5 relative; a finite-difference check per row; BatchNorm's fused kernel
/// against the composed formula; SwitchNorm against its composed reference.
/// </summary>
public class NormCases
{
    static readonly Lazy<JsonElement[]> Cases = new(() => Fixtures.Load("norm.json").GetProperty("cases").EnumerateArray().ToArray());

    public static TheoryData<string> Names()
    {
        var d = new TheoryData<string>();
        foreach (var c in Cases.Value) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    static JsonElement Case(string name) => Cases.Value.Single(c => c.GetProperty("name").GetString() == name);

    static float? Momentum(JsonElement a) =>
        a.TryGetProperty("momentum", out var m) ? (m.ValueKind == JsonValueKind.Null ? null : m.GetSingle()) : 0.1f;
    static float Eps(JsonElement a) => a.TryGetProperty("eps", out var e) ? e.GetSingle() : 1e-5f;
    static bool Flag(JsonElement a, string k, bool d) => a.TryGetProperty(k, out var v) ? v.GetBoolean() : d;
    static int[] Shape(JsonElement a) => a.GetProperty("normalized_shape").ValueKind == JsonValueKind.Array
        ? a.GetProperty("normalized_shape").EnumerateArray().Select(v => v.GetInt32()).ToArray() : [a.GetProperty("normalized_shape").GetInt32()];

    static readonly Dictionary<string, string> ParamKeys = new() { ["weight_orig"] = "parametrizations.weight.original" };

    static Module Build(JsonElement c)
    {
        var a = c.GetProperty("attrs");
        int F(string k) => a.GetProperty(k).GetInt32();
        return c.GetProperty("module").GetString() switch
        {
            "BatchNorm2d" => new BatchNorm2d(F("num_features"), Eps(a), Momentum(a), Flag(a, "affine", true), Flag(a, "track_running_stats", true)),
            "BatchNorm1d" => new BatchNorm1d(F("num_features"), Eps(a), Momentum(a), Flag(a, "affine", true), Flag(a, "track_running_stats", true)),
            "LayerNorm" => new LayerNorm(Shape(a), Eps(a), Flag(a, "elementwise_affine", true)),
            "InstanceNorm2d" => new InstanceNorm2d(F("num_features"), Eps(a), Momentum(a) ?? 0.1f, Flag(a, "affine", false), Flag(a, "track_running_stats", false)),
            "InstanceNorm1d" => new InstanceNorm1d(F("num_features"), Eps(a), Momentum(a) ?? 0.1f, Flag(a, "affine", false), Flag(a, "track_running_stats", false)),
            "GroupNorm" => new GroupNorm(F("num_groups"), F("num_channels"), Eps(a), Flag(a, "affine", true)),
            "WeightStandardizedConv2d" => new WeightStandardization(new Conv2d(F("in_channels"), F("out_channels"), F("kernel_size"), new Generator(0), padding: F("padding"))),
            "SpectralNormLinear" => new SpectralNorm(new Linear(F("in_features"), F("out_features"), new Generator(0)), new Generator(1)),
            var m => throw new NotSupportedException(m),
        };
    }

    static Module Prepared(JsonElement c)
    {
        var m = Build(c);
        var state = m.StateDict();
        if (c.TryGetProperty("params", out var ps))
            foreach (var p in ps.EnumerateObject()) state[ParamKeys.GetValueOrDefault(p.Name, p.Name)] = Fixtures.Tensor(p.Value);
        if (c.TryGetProperty("buffers_before", out var bs))
            foreach (var b in bs.EnumerateObject()) state["parametrizations.weight.0._" + b.Name] = Fixtures.Tensor(b.Value);
        var copy = new StateDict();
        foreach (var (k, v) in state) copy.Add(k, v.Float is { } f ? new StateValue(f.Clone()) : v);
        m.LoadStateDict(copy);
        return m;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Matches_pytorch_step_by_step(string name)
    {
        var c = Case(name);
        var m = Prepared(c);
        var parameters = m.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        int step = 0;
        foreach (var s in c.GetProperty("steps").EnumerateArray())
        {
            m.Train(s.GetProperty("training").GetBoolean());
            m.ZeroGrad();
            var x = Fixtures.Tensor(s.GetProperty("input")).RequiresGrad_();
            var y = m.Forward(x);
            string at = $"{name} step {step}";
            Fixtures.Close($"{at} output", s.GetProperty("output"), y, atol: 5e-6); // conv outputs sum 27 products of O(1)
            y.Backward(Fixtures.Tensor(s.GetProperty("grad_output")));
            Fixtures.Close($"{at} grad_input", s.GetProperty("grad_input"), x.Grad!, atol: 2e-6);
            if (s.TryGetProperty("grad_params", out var gp))
                foreach (var p in gp.EnumerateObject())
                    Fixtures.Close($"{at} grad {p.Name}", p.Value, parameters[ParamKeys.GetValueOrDefault(p.Name, p.Name)].Grad!, atol: 5e-6);
            if (s.TryGetProperty("buffers_after", out var ba))
                foreach (var b in ba.EnumerateObject())
                {
                    if (b.Name == "num_batches_tracked")
                        Assert.Equal(b.Value.GetInt32(), m.StateDict()["num_batches_tracked"].Int!.Data[0]);
                    else if (b.Name == "sigma")
                        Assert.Equal(b.Value.GetDouble(), ((SpectralNorm)m).Sigma().Item(), 4);
                    else if (m is SpectralNorm sn)
                        Fixtures.Close($"{at} {b.Name}", b.Value, b.Name == "u" ? sn.U : sn.V);
                    else
                        Fixtures.Close($"{at} {b.Name}", b.Value, m.StateDict()[b.Name].Float!);
                }
            step++;
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Gradient_matches_finite_differences(string name)
    {
        var c = Case(name);
        var m = Prepared(c);
        var s = c.GetProperty("steps")[0];
        m.Train(s.GetProperty("training").GetBoolean());
        if (m is BatchNormBase or InstanceNormBase or SpectralNorm) m.Eval(); // running buffers must not move while differencing
        var x = Fixtures.Tensor(s.GetProperty("input"));
        var r = GradCheck.Check(xs => m.Forward(xs[0]), [x], atol: 2e-3);
        Assert.True(r.Passed, $"{name}: {r.Message}");
        if (m.Parameters().Any())
        {
            var rp = GradCheck.CheckParameters(() => m.Forward(x), m.Parameters(), atol: 2e-3);
            Assert.True(rp.Passed, $"{name} parameters: {rp.Message}");
        }
    }

    [Fact]
    public void Batch_statistics_gradient_matches_finite_differences()
    {
        var bn = new BatchNorm2d(3);
        using (GradMode.NoGrad()) { bn.Weight!.CopyFrom(Tensor.FromArray([1.5f, 0.5f, -1f])); bn.Bias!.CopyFrom(Tensor.FromArray([0.1f, 0f, 2f])); }
        var x = Tensor.Randn([4, 3, 2, 2], 5);
        // Training mode, running statistics updated each call: the output only depends on the batch, so this is a fair check.
        Assert.True(GradCheck.Check(xs => bn.Forward(xs[0]), [x], atol: 2e-3).Passed);
        var composed = GradCheck.Check(xs =>
        {
            var mean = xs[0].Mean([0, 2, 3], keepDim: true);
            var variance = (xs[0] - mean).Square().Mean([0, 2, 3], keepDim: true);
            return (xs[0] - mean) / (variance + 1e-5f).Sqrt();
        }, [x], atol: 2e-3);
        Assert.True(composed.Passed);
        // The fused kernel equals the composed formula.
        var fused = new BatchNorm2d(3, affine: false).Forward(x).ToArray();
        var mean2 = x.Mean([0, 2, 3], keepDim: true);
        var reference = ((x - mean2) / ((x - mean2).Square().Mean([0, 2, 3], keepDim: true) + 1e-5f).Sqrt()).ToArray();
        for (int i = 0; i < fused.Length; i++) Assert.Equal(reference[i], fused[i], 4);
    }

    [Fact]
    public void SwitchNorm_matches_its_composed_reference_and_gradients()
    {
        var sn = new SwitchNorm(3);
        using (GradMode.NoGrad())
        {
            sn.MeanWeight.CopyFrom(Tensor.FromArray([0.2f, -0.5f, 1f]));
            sn.VarWeight.CopyFrom(Tensor.FromArray([1f, 0.3f, -0.2f]));
        }
        var x = Tensor.Randn([4, 3, 3, 3], 8) * 2f + 1f;
        var y = sn.Forward(x).ToArray();
        // The reference, element by element in double.
        var xv = x.ToArray();
        int n = 4, c = 3, s = 9;
        double[] Softmax(double[] z) { var e = z.Select(Math.Exp).ToArray(); return e.Select(v => v / e.Sum()).ToArray(); }
        var mw = Softmax([0.2, -0.5, 1]);
        var vw = Softmax([1, 0.3, -0.2]);
        var meanIn = new double[n, c];
        var varIn = new double[n, c];
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
            {
                var vals = Enumerable.Range(0, s).Select(k => (double)xv[(i * c + ch) * s + k]).ToArray();
                meanIn[i, ch] = vals.Average();
                varIn[i, ch] = vals.Sum(v => (v - meanIn[i, ch]) * (v - meanIn[i, ch])) / (s - 1);
            }
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
            {
                double meanLn = Enumerable.Range(0, c).Average(k => meanIn[i, k]);
                double varLn = Enumerable.Range(0, c).Average(k => varIn[i, k] + meanIn[i, k] * meanIn[i, k]) - meanLn * meanLn;
                double meanBn = Enumerable.Range(0, n).Average(k => meanIn[k, ch]);
                double varBn = Enumerable.Range(0, n).Average(k => varIn[k, ch] + meanIn[k, ch] * meanIn[k, ch]) - meanBn * meanBn;
                double mean = mw[0] * meanIn[i, ch] + mw[1] * meanLn + mw[2] * meanBn;
                double variance = vw[0] * varIn[i, ch] + vw[1] * varLn + vw[2] * varBn;
                for (int k = 0; k < s; k++)
                {
                    int at = (i * c + ch) * s + k;
                    Assert.Equal((xv[at] - mean) / Math.Sqrt(variance + 1e-5), y[at], 4);
                }
            }
        Assert.Equal(["weight", "bias", "mean_weight", "var_weight", "running_mean", "running_var"], sn.StateDict().Keys.ToArray());
        Assert.True(GradCheck.Check(xs => sn.Forward(xs[0]), [x], atol: 2e-3).Passed);
        Assert.True(GradCheck.CheckParameters(() => sn.Forward(x), sn.Parameters(), atol: 2e-3).Passed);
    }

    [Fact]
    public void Pytorch_trained_batchnorm_model_loads_and_evaluates_identically()
    {
        var io = Fixtures.Load("torch_bn_model_io.json");
        var g = new Generator(0);
        var net = new Sequential(new Conv2d(1, 4, 3, g, padding: 1), new BatchNorm2d(4), new ReLU(), new Flatten(), new Linear(4 * 6 * 6, 3, g));
        net.Load(Path.Combine(Fixtures.Dir, "torch_bn_model.safetensors"));
        Assert.Equal(5, net.StateDict()["1.num_batches_tracked"].Int!.Data[0]);
        net.Eval();
        Fixtures.Close("bn model output", io.GetProperty("output"), net.Forward(Fixtures.Tensor(io.GetProperty("input"))), atol: 2e-6);
    }

    [Fact]
    public void Weight_normalisations_keep_the_layers_keys()
    {
        var g = new Generator(0);
        Assert.Equal(["weight", "bias"], new WeightStandardization(new Linear(4, 3, g)).StateDict().Keys.ToArray());
        Assert.Equal(["weight", "bias", "ws_gamma", "ws_beta"], new WeightStandardization(new Linear(4, 3, g), WeightStandardizationMode.MinMax).StateDict().Keys.ToArray());
        var sn = new SpectralNorm(new Linear(6, 5, g), g);
        Assert.Equal(["bias", "parametrizations.weight.original", "parametrizations.weight.0._u", "parametrizations.weight.0._v"], sn.StateDict().Keys.ToArray());
        // After power iteration σ approaches the largest singular value, so the normalised weight has spectral norm ≈ 1.
        for (int i = 0; i < 30; i++) sn.Forward(Tensor.Zeros(1, 6));
        var top = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfRowMajor(5, 6, sn.Weight.ToArray().Select(v => (double)v).ToArray()).Svd().S[0];
        Assert.Equal(top, sn.Sigma().Item(), 3);
        // Min-max standardisation starts as the identity on the layer's weights.
        var lin = new Linear(4, 3, g);
        var ws = new WeightStandardization(lin, WeightStandardizationMode.MinMax);
        var a = ws.StandardizedWeight().ToArray();
        var b = lin.Weight.ToArray();
        for (int i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i], 5);
    }

    [Fact]
    public void Spectral_filter_keeps_the_leading_singular_values()
    {
        var w = Tensor.Randn([6, 8], 3);
        var r2 = SpectralFilter.Filter(w, rank: 2);
        var svd = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfRowMajor(6, 8, r2.ToArray().Select(v => (double)v).ToArray()).Svd();
        Assert.True(svd.S[2] < 1e-4, $"third singular value {svd.S[2]}");
        var full = SpectralFilter.Filter(w, energy: 1.0).ToArray();
        var orig = w.ToArray();
        for (int i = 0; i < orig.Length; i++) Assert.Equal(orig[i], full[i], 4);
        var net = Models.Mlp(8, [6], 2, new Generator(0));
        Assert.Equal(2, SpectralFilter.Apply(net, rank: 1));
        Assert.Throws<ArgumentException>(() => SpectralFilter.Filter(w));
    }

    [Fact]
    public void Norms_reject_a_non_positive_feature_count()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new InstanceNorm2d(0));
        Assert.Equal("numFeatures", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new InstanceNorm1d(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNorm2d(0));
    }
}
