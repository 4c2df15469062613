namespace Nabla.Optim;

/// <summary>
/// The hyperparameters a run gives an optimizer, every one resolved (see <see cref="OptimizerInfo.Resolve"/>): what an
/// optimizer does not take is null.
/// </summary>
public sealed record OptimizerSettings(double Lr, double? Momentum, double WeightDecay, double[]? Betas, double? Eps, double? Alpha);

/// <summary>
/// One optimizer known by name: its defaults for a run that names only data and model (PyTorch's Adam/AdamW constants
/// and learning rates that train well; the constructors default to the lecture's constants), which hyperparameters it
/// takes, a line for help texts, and the factory.
/// </summary>
public sealed record OptimizerInfo(string Name, string Describe, string Lecture, double Lr, double? Momentum, double[]? Betas, double? Eps,
    double? Alpha, double WeightDecay, Func<IEnumerable<Tensor>, OptimizerSettings, Optimizer> Factory)
{
    /// <summary>Whether --momentum applies.</summary>
    public bool TakesMomentum => Momentum is not null;
    /// <summary>Whether --betas applies.</summary>
    public bool TakesBetas => Betas is not null;
    /// <summary>Whether --eps applies.</summary>
    public bool TakesEps => Eps is not null;
    /// <summary>Whether --alpha applies.</summary>
    public bool TakesAlpha => Alpha is not null;

    /// <summary>The settings with this optimizer's defaults where a value is not given (and null where it takes none).</summary>
    public OptimizerSettings Resolve(double? lr = null, double? momentum = null, double? weightDecay = null, double[]? betas = null, double? eps = null, double? alpha = null) =>
        new(lr ?? Lr, TakesMomentum ? momentum ?? Momentum : null, weightDecay ?? WeightDecay, TakesBetas ? betas ?? Betas : null,
            TakesEps ? eps ?? Eps : null, TakesAlpha ? alpha ?? Alpha : null);

    /// <summary>The optimizer over <paramref name="parameters"/>; a setting left null (or one it does not take) gets this optimizer's default.</summary>
    /// <exception cref="ArgumentException">betas that are not two numbers, or a hyperparameter the optimizer refuses.</exception>
    public Optimizer Create(IEnumerable<Tensor> parameters, OptimizerSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (settings?.Betas is { Length: not 2 } b)
            throw new ArgumentException($"{Name}: betas must be two numbers (β1, β2), got {b.Length}.", nameof(settings));
        var s = settings is null ? Resolve() : Resolve(settings.Lr, settings.Momentum, settings.WeightDecay, settings.Betas, settings.Eps, settings.Alpha);
        return Factory(parameters, s);
    }

    /// <summary>State tensors it keeps per parameter (for memory estimates).</summary>
    public int Slots(double momentum) => Name switch
    {
        "adam" or "adamw" => 2,
        "rmsprop" => momentum > 0 ? 2 : 1,
        "adagrad" => 1,
        _ => momentum > 0 ? 1 : 0,
    };
}

/// <summary>
/// The optimizer registry: every optimizer a run can name. The CLI's <c>--optimizer</c> names, its defaults table and
/// the capture test enumerate it, so adding an optimizer is its file (a fused update through IBackend) and one row here.
/// </summary>
public static class Optimizers
{
    /// <summary>Every optimizer, in the order help lists them.</summary>
    public static IReadOnlyList<OptimizerInfo> Registry { get; } =
    [
        new("sgd", "torch.optim.SGD", "plain (stochastic / mini-batch) gradient descent", 0.1, 0, null, null, null, 0,
            (p, s) => new SGD(p, s.Lr, momentum: s.Momentum ?? 0, weightDecay: s.WeightDecay)),
        new("momentum", "SGD with heavy-ball momentum", "momentum β ≈ 0.9", 0.05, 0.9, null, null, null, 0,
            (p, s) => new SGD(p, s.Lr, momentum: s.Momentum ?? 0, weightDecay: s.WeightDecay)),
        new("nesterov", "SGD with Nesterov momentum", "momentum β ≈ 0.9", 0.05, 0.9, null, null, null, 0,
            (p, s) => new SGD(p, s.Lr, momentum: s.Momentum ?? 0, weightDecay: s.WeightDecay, nesterov: true)),
        new("rmsprop", "torch.optim.RMSprop (α weighs the old average)", "η = 1e-3, β ≈ 0.9 (the same α = 0.9 here)", 1e-3, 0, null, 1e-8, 0.9, 0,
            (p, s) => new RMSProp(p, s.Lr, alpha: s.Alpha ?? 0.9, eps: s.Eps ?? 1e-8, weightDecay: s.WeightDecay, momentum: s.Momentum ?? 0)),
        new("adagrad", "torch.optim.Adagrad", "—", 1e-2, null, null, 1e-10, null, 0,
            (p, s) => new Adagrad(p, s.Lr, weightDecay: s.WeightDecay, eps: s.Eps ?? 1e-10)),
        new("adam", "torch.optim.Adam (PyTorch's constants)", "η = 3e-4, β1 = 0.9, β2 = 0.99", 1e-3, null, [0.9, 0.999], 1e-8, null, 0,
            (p, s) => new Adam(p, s.Lr, beta1: s.Betas![0], beta2: s.Betas[1], eps: s.Eps ?? 1e-8, weightDecay: s.WeightDecay)),
        new("adamw", "torch.optim.AdamW (PyTorch's constants)", "η = 3e-4, β1 = 0.9, β2 = 0.99", 1e-3, null, [0.9, 0.999], 1e-8, null, 1e-2,
            (p, s) => new AdamW(p, s.Lr, beta1: s.Betas![0], beta2: s.Betas[1], eps: s.Eps ?? 1e-8, weightDecay: s.WeightDecay)),
    ];

    /// <summary>The registry's names, in order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Registry.Select(o => o.Name)];

    /// <summary>The entry for a name (any case), or null.</summary>
    public static OptimizerInfo? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var key = name.Trim().ToLowerInvariant();
        return Registry.FirstOrDefault(o => o.Name == key);
    }

    /// <summary>The entry for a name.</summary>
    /// <exception cref="ArgumentException">an unknown name.</exception>
    public static OptimizerInfo Get(string name) =>
        Find(name) ?? throw new ArgumentException($"'{name}' is not one of {string.Join(", ", Names)}.", nameof(name));
}
