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
        s.Step++;
        if (Fused(p, grad, expAvg, expAvgSq, maxSq, lr, beta1, beta2, wd, g["eps"], maximize, s.Step)) return;
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

    /// <summary>Force the composed tensor-op path (the reference the fused kernel is tested against).</summary>
    internal static bool UseFusedKernel = true;

    // The same update in one pass over contiguous CPU tensors (Kernels.OptimizerKernels.Adam, bit-identical), every
    // variant: L2 or decoupled decay, AMSGrad, maximize. Allocates nothing.
    private bool Fused(Tensor p, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor? maxSq, double lr, double beta1, double beta2,
        double wd, double eps, bool maximize, long step)
    {
        if (!UseFusedKernel || !CpuSpan(p, p, out var ps) || !CpuSpan(grad, p, out var gs) || !CpuSpan(expAvg, p, out var ms)
            || !CpuSpan(expAvgSq, p, out var vs)) return false;
        Span<float> xs = default;
        if (maxSq is not null && !CpuSpan(maxSq, p, out xs)) return false;
        // The kernel reads l2 = 0 as "no L2 term"; a decay that only rounds to 0f keeps the composed fma(p, 0, g).
        if (wd != 0 && !_decoupled && (float)wd == 0) return false;
        double bc1 = 1 - Math.Pow(beta1, step), bc2Sqrt = Math.Sqrt(1 - Math.Pow(beta2, step));
        Kernels.OptimizerKernels.Adam(ps, gs, ms, vs, xs,
            l2: wd != 0 && !_decoupled ? (float)wd : 0f, decay: wd != 0 && _decoupled ? (float)(1 - lr * wd) : 1f,
            (float)beta1, (float)(1 - beta1), (float)beta2, (float)(1 - beta2), (float)bc2Sqrt, (float)eps, -(float)(lr / bc1), maximize);
        GC.KeepAlive(grad);
        return true;
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
