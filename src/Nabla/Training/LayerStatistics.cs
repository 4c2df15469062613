using Nabla.Autograd;

namespace Nabla.Training;

/// <summary>One sample of <see cref="LayerStatistics"/>: after training step <see cref="Step"/> (1-based), per layer.</summary>
/// <param name="Step">Steps taken so far.</param>
/// <param name="GradientNorm">‖∂L/∂W‖₂ of each layer's weight (NaN for a layer without one, e.g. an activation).</param>
/// <param name="Mean">Mean of each layer's output over the batch (all elements).</param>
/// <param name="Std">Population standard deviation of each layer's output, √mean((y − mean)²).</param>
public sealed record LayerSample(long Step, double[] GradientNorm, double[] Mean, double[] Std);

/// <summary>
/// Records what the lecture's arguments about vanishing gradients and internal covariate shift are about, per layer,
/// every <see cref="Every"/> steps: the gradient norm of each Linear/convolution weight and the mean and standard
/// deviation of the output of each Linear, convolution, normalisation and activation layer. The output statistics are
/// reductions computed by forward hooks inside the step (so a captured step stays captured and replays them) into
/// tensors that are read after the step; the gradient norms are read after the step from the weights' gradients. Passes in
/// eval mode (validation, evaluation) are not recorded.
/// Hooks run where a container calls its layers through <see cref="Module.Call"/> (Sequential, the ResNets, Ensemble);
/// weight-normalisation and DropConnect wrappers are recorded as the layer they wrap.
/// </summary>
public sealed class LayerStatistics : Callback
{
    private readonly List<IDisposable> _hooks = [];
    private readonly List<(string Name, Module Module, Tensor? Weight)> _layers = [];
    private Tensor?[] _means = [], _stds = [];
    private long _step;

    /// <summary>Records every <paramref name="every"/> steps (and after the first).</summary>
    /// <exception cref="ArgumentOutOfRangeException">every below 1.</exception>
    public LayerStatistics(int every = 10)
    {
        if (every < 1) throw new ArgumentOutOfRangeException(nameof(every), every, "LayerStatistics: every must be at least 1.");
        Every = every;
    }

    /// <summary>Steps between samples.</summary>
    public int Every { get; }

    /// <summary>The recorded layers' dotted names (as in the state dict) and kinds, e.g. "0 (Linear)".</summary>
    public IReadOnlyList<string> Layers => [.. _layers.Select(l => $"{l.Name} ({l.Module.GetType().Name})")];

    /// <summary>The samples, in step order.</summary>
    public List<LayerSample> Samples { get; } = [];

    private static readonly HashSet<Type> ActivationTypes =
        [.. Activations.Registry.Where(a => a.Name != "identity").Select(a => a.Create().GetType())];

    /// <summary>Whether <paramref name="m"/> is a layer whose output is recorded.</summary>
    public static bool Records(Module m) =>
        m is Linear or Conv2d or ConvTranspose2d or WeightStandardization or SpectralNorm or DropConnect
            or BatchNorm1d or BatchNorm2d or LayerNorm or GroupNorm or InstanceNormBase or SwitchNorm || ActivationTypes.Contains(m.GetType());

    // The weight whose gradient is recorded: a layer's own matrix or kernel (a wrapper's reparametrised one).
    private static Tensor? WeightOf(Module m) => m is Linear or Conv2d or ConvTranspose2d or WeightStandardization or SpectralNorm or DropConnect
        ? m.NamedParameters().Select(p => p.Parameter).FirstOrDefault(p => p.Rank >= 2)
        : null;

    /// <summary>Hooks the layers of <paramref name="model"/> without a trainer (call <see cref="Sample"/> after each step, <see cref="Detach"/> at the end).</summary>
    public void Attach(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Detach();
        _layers.Clear();
        foreach (var (name, m) in model.NamedModules())
            if (Records(m))
                _layers.Add((name.Length == 0 ? m.GetType().Name : name, m, WeightOf(m)));
        _means = new Tensor?[_layers.Count];
        _stds = new Tensor?[_layers.Count];
        for (int i = 0; i < _layers.Count; i++)
        {
            int k = i;
            _hooks.Add(_layers[i].Module.RegisterForwardHook((layer, _, y) =>
            {
                // Training steps only: a validation or test pass in eval mode neither pays for the reductions nor overwrites the step's.
                if (!layer.Training) return;
                using var noGrad = GradMode.NoGrad();
                var mean = y.Mean();
                var d = y - mean;
                var std = (d * d).Mean().Sqrt();
                // Into tensors that outlive the step: a replay rewrites them, a new eager step copies into them too.
                (_means[k] ??= Tensor.Zeros([.. mean.Shape])).CopyFrom(mean);
                (_stds[k] ??= Tensor.Zeros([.. std.Shape])).CopyFrom(std);
            }));
        }
        _step = 0;
    }

    /// <summary>Removes the hooks (the layer names and samples stay).</summary>
    public void Detach()
    {
        foreach (var h in _hooks) h.Dispose();
        _hooks.Clear();
    }

    /// <summary>Reads the statistics of the step just taken (host reads: call it after the step, not inside it).</summary>
    public LayerSample Sample(long step)
    {
        int n = _layers.Count;
        var g = new double[n];
        var m = new double[n];
        var s = new double[n];
        for (int i = 0; i < n; i++)
        {
            g[i] = _layers[i].Weight?.Grad is { } grad ? Norm(grad) : double.NaN;
            m[i] = _means[i]?.Item() ?? double.NaN;
            s[i] = _stds[i]?.Item() ?? double.NaN;
        }
        var sample = new LayerSample(step, g, m, s);
        Samples.Add(sample);
        return sample;
    }

    private static double Norm(Tensor t)
    {
        double sum = 0;
        foreach (float v in t.ToArray()) sum += (double)v * v;
        return Math.Sqrt(sum);
    }

    /// <inheritdoc/>
    public override void OnTrainBegin(TrainingContext context) => Attach(context.Model);

    /// <inheritdoc/>
    public override void OnBatchEnd(TrainingContext context, int epoch, int batch, double loss, int samples)
    {
        _step++;
        if (_step == 1 || _step % Every == 0) Sample(_step);
    }

    /// <inheritdoc/>
    public override void OnTrainEnd(TrainingContext context) => Detach();
}
