namespace Nabla.Optim;

/// <summary>
/// Adam (Kingma &amp; Ba, 2015), exactly torch.optim.Adam:
/// <code>
/// g ← g + λθ (L2, Adam only);  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²
/// v̂max ← max(v̂max, v) (AMSGrad);  θ ← θ − (η/(1 − β₁ᵗ))·m / (√v/√(1 − β₂ᵗ) + ε)
/// </code>
/// Defaults: lr η = 3e-4 and β = (0.9, 0.99) (the lecture's; PyTorch 1e-3 and (0.9, 0.999)), ε = 1e-8, λ = 0,
/// AMSGrad false.
/// </summary>
public class Adam : Optimizer
{
    private readonly bool _decoupled;

    /// <summary>One group with these hyperparameters.</summary>
    public Adam(IEnumerable<Tensor> parameters, double lr = 3e-4, double beta1 = 0.9, double beta2 = 0.99, double eps = 1e-8,
        double weightDecay = 0, bool amsgrad = false, bool maximize = false)
        : this(Single(parameters), lr, beta1, beta2, eps, weightDecay, amsgrad, maximize) { }

    /// <summary>Several groups; the arguments are the defaults for what a group does not set.</summary>
    public Adam(IEnumerable<ParamGroup> groups, double lr = 3e-4, double beta1 = 0.9, double beta2 = 0.99, double eps = 1e-8,
        double weightDecay = 0, bool amsgrad = false, bool maximize = false)
        : this(groups, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize, decoupled: false) { }

    private protected Adam(IEnumerable<ParamGroup> groups, double lr, double beta1, double beta2, double eps,
        double weightDecay, bool amsgrad, bool maximize, bool decoupled)
        : base(groups, new Dictionary<string, double>
        {
            ["lr"] = lr, ["beta1"] = beta1, ["beta2"] = beta2, ["eps"] = eps, ["weight_decay"] = weightDecay,
            ["amsgrad"] = amsgrad ? 1 : 0, ["maximize"] = maximize ? 1 : 0,
        }) => _decoupled = decoupled;

    /// <inheritdoc/>
    protected override void Validate(ParamGroup g)
    {
        NonNegative(g, "lr", "learning rate");
        NonNegative(g, "eps", "epsilon value");
        if (!(g["beta1"] >= 0 && g["beta1"] < 1)) throw new ArgumentOutOfRangeException("beta1", g["beta1"], $"Invalid beta parameter at index 0: {g["beta1"]}");
        if (!(g["beta2"] >= 0 && g["beta2"] < 1)) throw new ArgumentOutOfRangeException("beta2", g["beta2"], $"Invalid beta parameter at index 1: {g["beta2"]}");
        NonNegative(g, "weight_decay", "weight_decay value");
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup g, Tensor p, Tensor grad, ParamState s)
    {
        double lr = g["lr"], beta1 = g["beta1"], beta2 = g["beta2"], wd = g["weight_decay"];
        bool maximize = g.Flag("maximize");
        var expAvg = Buffer(s, "exp_avg", p);
        var expAvgSq = Buffer(s, "exp_avg_sq", p);
        var maxSq = g.Flag("amsgrad") ? Buffer(s, "max_exp_avg_sq", p) : null;
        // The kernel reads l2 = 0 as "no L2 term"; a decay that only rounds to 0f keeps the composed fma(p, 0, g).
        if (UseFusedKernel && Fusable(p, p) && Fusable(grad, p) && Fusable(expAvg, p) && Fusable(expAvgSq, p) && Fusable(maxSq, p)
            && !(wd != 0 && !_decoupled && (float)wd == 0))
        {
            // The step count and the scalars derived from it advance when the launch runs, so a replayed step moves them too.
            var slot = s.Slot as Slot ?? (Slot)(s.Slot = new Slot(g, s, _decoupled));
            p.Backend.OptimizerStep(Backends.OptimizerRule.Adam, p, grad, expAvg, expAvgSq, maxSq, slot);
            return;
        }
        Uncapturable("Adam's composed path bakes its learning rate into the step");
        s.Step++;
        if (maximize) grad = -grad;
        if (wd != 0)
        {
            if (_decoupled) p.MulInPlace((float)(1 - lr * wd));
            else grad = grad.Clone().AddInPlace(p, (float)wd);
        }
        expAvg.MulInPlace((float)beta1).AddInPlace(grad, (float)(1 - beta1));
        expAvgSq.MulInPlace((float)beta2).AddcmulInPlace(grad, grad, (float)(1 - beta2));
        // Bias corrections in double, as PyTorch computes them with Python floats.
        double bc1 = 1 - Math.Pow(beta1, s.Step), bc2Sqrt = Math.Sqrt(1 - Math.Pow(beta2, s.Step));
        Tensor denom;
        if (maxSq is not null)
        {
            maxSq.MaximumInPlace(expAvgSq);
            denom = maxSq.Sqrt() / (float)bc2Sqrt + (float)g["eps"];
        }
        else denom = expAvgSq.Sqrt() / (float)bc2Sqrt + (float)g["eps"];
        p.AddcdivInPlace(expAvg, denom, -(float)(lr / bc1));
    }

    /// <summary>False forces the composed reference path on the calling thread (<see cref="ComposedPath{T}"/>).</summary>
    internal static bool UseFusedKernel { get => !ComposedPath<Adam>.On; set => ComposedPath<Adam>.On = !value; }

    // The fused update's scalars from the group's hyperparameters and the parameter's step, as the composed path
    // computes them (bias corrections in double, as PyTorch's Python floats), refreshed each time the update runs.
    private sealed class Slot(ParamGroup g, ParamState s, bool decoupled) : Backends.OptimizerScalars
    {
        public override void Prepare()
        {
            s.Step++;
            double lr = g["lr"], beta1 = g["beta1"], beta2 = g["beta2"], wd = g["weight_decay"];
            double bc1 = 1 - Math.Pow(beta1, s.Step), bc2Sqrt = Math.Sqrt(1 - Math.Pow(beta2, s.Step));
            WeightDecay = wd != 0 && !decoupled ? (float)wd : 0f;
            Decay = wd != 0 && decoupled ? (float)(1 - lr * wd) : 1f;
            Beta1 = (float)beta1;
            OneMinusBeta1 = (float)(1 - beta1);
            Beta2 = (float)beta2;
            OneMinusBeta2 = (float)(1 - beta2);
            Bc2Sqrt = (float)bc2Sqrt;
            Eps = (float)g["eps"];
            NegStep = -(float)(lr / bc1);
            Maximize = g.Flag("maximize");
        }
    }
}

/// <summary>
/// AdamW (Loshchilov &amp; Hutter, 2019), exactly torch.optim.AdamW: the weight decay is decoupled,
/// θ ← θ·(1 − ηλ) before the Adam step, which then has no L2 term. Defaults: lr 3e-4, β = (0.9, 0.99) (the
/// lecture's; PyTorch 1e-3 and (0.9, 0.999)), ε = 1e-8, weight decay λ = 1e-2 (PyTorch's), AMSGrad false.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>One group with these hyperparameters.</summary>
    public AdamW(IEnumerable<Tensor> parameters, double lr = 3e-4, double beta1 = 0.9, double beta2 = 0.99, double eps = 1e-8,
        double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false)
        : this(Single(parameters), lr, beta1, beta2, eps, weightDecay, amsgrad, maximize) { }

    /// <summary>Several groups; the arguments are the defaults for what a group does not set.</summary>
    public AdamW(IEnumerable<ParamGroup> groups, double lr = 3e-4, double beta1 = 0.9, double beta2 = 0.99, double eps = 1e-8,
        double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false)
        : base(groups, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize, decoupled: true) { }
}
