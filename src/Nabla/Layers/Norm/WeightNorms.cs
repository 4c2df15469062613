using Nabla.Autograd;
using Nabla.Training;

namespace Nabla;

/// <summary>Which weight standardisation <see cref="WeightStandardization"/> applies.</summary>
public enum WeightStandardizationMode
{
    /// <summary>Qiao et al.: Ŵ = (W − mean)/(std + 1e-5) per output channel, unbiased std (the authors' reference code).</summary>
    ZScore,
    /// <summary>The lecture's form: Ŵ = γ(W − min W)/(max W − min W) + β per output channel, γ and β learned.</summary>
    MinMax,
}

/// <summary>Shared access to the layers weight normalisations wrap: their weight, bias and how they apply them.</summary>
internal static class WrappedLayer
{
    public static (Tensor Weight, Tensor? Bias, Func<Tensor, Tensor, Tensor?, Tensor> Apply) Of(Module layer) => layer switch
    {
        Linear l => (l.Weight, l.Bias, (x, w, b) => Functional.Linear(x, w, b)),
        Conv2d c => (c.Weight, c.Bias, (x, w, b) => Functional.Conv2d(x, w, b, c.Stride, c.Padding, c.Dilation, c.Groups)),
        _ => throw new ArgumentException($"Weight normalisation wraps Linear or Conv2d layers, not {layer.GetType().Name}.", nameof(layer)),
    };
}

/// <summary>
/// Weight standardisation around a <see cref="Linear"/> or <see cref="Conv2d"/>: every forward pass uses a
/// standardised copy of the weight, so gradients flow through the standardisation to the raw weight.
/// <c>ZScore</c> is Qiao et al.'s (per output channel, unbiased std, ε = 1e-5 added to the std); <c>MinMax</c> is
/// the lecture's γ(W − min)/(max − min) + β per output channel with learned γ, β initialised to (max − min) and min
/// so that training starts from the layer's own weights. Keys: the layer's weight and bias (and ws_gamma, ws_beta).
/// </summary>
public sealed class WeightStandardization : Module
{
    private readonly Func<Tensor, Tensor, Tensor?, Tensor> _apply;

    /// <summary>Wraps a layer.</summary>
    public WeightStandardization(Module layer, WeightStandardizationMode mode = WeightStandardizationMode.ZScore, float eps = 1e-5f)
    {
        ArgumentNullException.ThrowIfNull(layer);
        var (weight, bias, apply) = WrappedLayer.Of(layer);
        Inner = layer;
        Mode = mode;
        Eps = eps;
        _apply = apply;
        Weight = RegisterParameter("weight", weight);
        if (bias is not null) RegisterParameter("bias", bias);
        Bias = bias;
        if (mode == WeightStandardizationMode.MinMax)
        {
            using var _ = GradMode.NoGrad();
            var (min, max) = MinMax(weight);
            Gamma = RegisterParameter("ws_gamma", (max - min).Clamp(min: eps).Reshape(-1));
            Beta = RegisterParameter("ws_beta", min.Reshape(-1));
        }
    }

    /// <summary>The wrapped layer.</summary>
    public Module Inner { get; }
    /// <summary>Z-score or min-max.</summary>
    public WeightStandardizationMode Mode { get; }
    /// <summary>ε (added to the std, or floor of max − min).</summary>
    public float Eps { get; }
    /// <summary>The raw weight (shared with the wrapped layer).</summary>
    public Tensor Weight { get; }
    /// <summary>The bias, or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>γ of the min-max form (per output channel), or null.</summary>
    public Tensor? Gamma { get; }
    /// <summary>β of the min-max form, or null.</summary>
    public Tensor? Beta { get; }

    private static (Tensor Min, Tensor Max) MinMax(Tensor w)
    {
        var flat = w.Reshape(w.Shape[0], -1);
        return (flat.Min(1, keepDim: true), flat.Max(1, keepDim: true));
    }

    /// <summary>The standardised weight used in the forward pass.</summary>
    public Tensor StandardizedWeight()
    {
        var flat = Weight.Reshape(Weight.Shape[0], -1);
        Tensor s;
        if (Mode == WeightStandardizationMode.ZScore)
        {
            int k = flat.Shape[1];
            var centered = flat - flat.Mean(1, keepDim: true);
            var std = (centered.Square().Sum(1, keepDim: true) / (float)Math.Max(1, k - 1)).Sqrt();
            s = centered / (std + Eps);
        }
        else
        {
            var (min, max) = MinMax(Weight);
            s = (flat - min) / (max - min).Clamp(min: Eps) * Gamma!.Unsqueeze(1) + Beta!.Unsqueeze(1);
        }
        return s.Reshape([.. Weight.Shape]);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => _apply(input, StandardizedWeight(), Bias);

    /// <inheritdoc/>
    protected override string ExtraRepr => $"{Inner}, mode={Mode}";
}

/// <summary>
/// Spectral normalisation (Miyato et al.) exactly as torch.nn.utils.parametrizations.spectral_norm: the weight
/// matrix W (out, −1) is divided by σ = uᵀWv, where u and v come from power iteration — at construction 15
/// iterations from random vectors, then in every training forward <c>nPowerIterations</c> updates
/// u ← normalize(Wv), v ← normalize(Wᵀu) (no gradient through them), none in evaluation. Keys as PyTorch's:
/// parametrizations.weight.original, parametrizations.weight.0._u, parametrizations.weight.0._v, bias.
/// </summary>
public sealed class SpectralNorm : Module
{
    private sealed class State : Module
    {
        public Tensor U { get; }
        public Tensor V { get; }

        public State(int rows, int cols, Generator g)
        {
            U = RegisterBuffer("_u", Normalize(Tensor.Randn([rows], g), 1e-12f));
            V = RegisterBuffer("_v", Normalize(Tensor.Randn([cols], g), 1e-12f));
        }

        public override Tensor Forward(Tensor input) => input;
    }

    private sealed class ParametrizedWeight : Module
    {
        public ParametrizedWeight(Tensor original, State state)
        {
            RegisterParameter("original", original);
            RegisterModule("0", state);
        }

        public override Tensor Forward(Tensor input) => input;
    }

    private sealed class Parametrizations : Module
    {
        public Parametrizations(ParametrizedWeight weight) => RegisterModule("weight", weight);

        public override Tensor Forward(Tensor input) => input;
    }

    private readonly Func<Tensor, Tensor, Tensor?, Tensor> _apply;
    private readonly State _state;

    /// <summary>Wraps a <see cref="Linear"/> or <see cref="Conv2d"/>.</summary>
    public SpectralNorm(Module layer, Generator generator, int nPowerIterations = 1, float eps = 1e-12f)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(generator);
        if (nPowerIterations < 1)
            throw new ArgumentOutOfRangeException(nameof(nPowerIterations), nPowerIterations, $"Expected n_power_iterations to be positive, but got n_power_iterations={nPowerIterations}");
        var (weight, bias, apply) = WrappedLayer.Of(layer);
        Inner = layer;
        Weight = weight;
        Bias = bias;
        NPowerIterations = nPowerIterations;
        Eps = eps;
        _apply = apply;
        _state = new State(weight.Shape[0], weight.Numel / weight.Shape[0], generator);
        RegisterModule("parametrizations", new Parametrizations(new ParametrizedWeight(weight, _state)));
        if (bias is not null) RegisterParameter("bias", bias);
        PowerIteration(15);
    }

    /// <summary>The wrapped layer.</summary>
    public Module Inner { get; }
    /// <summary>The raw weight ("original").</summary>
    public Tensor Weight { get; }
    /// <summary>The bias, or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>Power iterations per training forward.</summary>
    public int NPowerIterations { get; }
    /// <summary>ε of the normalisation.</summary>
    public float Eps { get; }
    /// <summary>The left singular vector estimate u.</summary>
    public Tensor U => _state.U;
    /// <summary>The right singular vector estimate v.</summary>
    public Tensor V => _state.V;

    private static Tensor Normalize(Tensor a, float eps) => a / a.Square().Sum().Sqrt().Clamp(min: eps);

    private void PowerIteration(int iterations)
    {
        using var _ = GradMode.NoGrad();
        var w = Weight.Reshape(Weight.Shape[0], -1);
        for (int i = 0; i < iterations; i++)
        {
            _state.U.CopyFrom(Normalize(w.MatMul(_state.V), Eps));
            _state.V.CopyFrom(Normalize(w.T.MatMul(_state.U), Eps));
        }
    }

    /// <summary>σ = uᵀWv with the current u, v (differentiable in W).</summary>
    public Tensor Sigma() => (U * Weight.Reshape(Weight.Shape[0], -1).MatMul(V)).Sum();

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (Training) PowerIteration(NPowerIterations);
        return _apply(input, Weight / Sigma(), Bias);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr => $"{Inner}, n_power_iterations={NPowerIterations}";
}

/// <summary>
/// The lecture's spectral filtering of weights, like a PCA reconstruction: W (out, −1) = U S Vᵀ by SVD (Math.NET),
/// keep the leading singular values — the first <c>rank</c>, or the fewest whose squares hold an <c>energy</c>
/// fraction of Σ s² — and write back U_r S_r V_rᵀ. Apply it once after training or every k steps
/// (<see cref="SpectralFilterCallback"/>).
/// </summary>
public static class SpectralFilter
{
    /// <summary>The filtered copy of a weight of rank ≥ 2; exactly one of rank and energy.</summary>
    public static Tensor Filter(Tensor weight, int? rank = null, double? energy = null)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank < 2) throw new ArgumentException($"SpectralFilter: weight {Shapes.Format(weight.Shape.ToArray())} needs at least 2 dims.", nameof(weight));
        if ((rank is null) == (energy is null)) throw new ArgumentException("SpectralFilter: give exactly one of rank and energy.");
        if (rank is < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "SpectralFilter: rank must be at least 1.");
        if (energy is not null && !(energy > 0 && energy <= 1)) throw new ArgumentOutOfRangeException(nameof(energy), energy, "SpectralFilter: energy must be in (0, 1].");
        int rows = weight.Shape[0], cols = weight.Numel / rows;
        var m = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(rows, cols);
        var data = weight.ToArray();
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) m[i, j] = data[i * cols + j];
        var svd = m.Svd(computeVectors: true);
        var s = svd.S.ToArray();
        int keep = rank ?? KeepForEnergy(s, energy!.Value);
        keep = Math.Min(keep, s.Length);
        var result = new float[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
            {
                double v = 0;
                for (int k = 0; k < keep; k++) v += svd.U[i, k] * s[k] * svd.VT[k, j];
                result[i * cols + j] = (float)v;
            }
        return Tensor.FromArray(result, [.. weight.Shape]);
    }

    private static int KeepForEnergy(double[] s, double fraction)
    {
        double total = s.Sum(v => v * v), acc = 0;
        for (int k = 0; k < s.Length; k++)
        {
            acc += s[k] * s[k];
            if (acc >= fraction * total - 1e-12 * total) return k + 1;
        }
        return s.Length;
    }

    /// <summary>Filters every weight of rank ≥ 2 of a model in place (biases untouched); returns how many were filtered.</summary>
    public static int Apply(Module model, int? rank = null, double? energy = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        int count = 0;
        using var _ = GradMode.NoGrad();
        foreach (var p in model.Parameters().Where(p => p.Rank >= 2))
        {
            p.CopyFrom(Filter(p, rank, energy));
            count++;
        }
        return count;
    }
}
