namespace Nabla.Optim;

/// <summary>
/// RMSProp, exactly torch.optim.RMSprop:
/// <code>
/// g ← g + λθ;  v ← αv + (1 − α)g²
/// centered: ḡ ← αḡ + (1 − α)g, d ← √(v − ḡ²) + ε   else d ← √v + ε
/// momentum: b ← μb + g/d, θ ← θ − η·b   else θ ← θ − η·g/d
/// </code>
/// Defaults: lr η = 1e-3 and α = 0.9 (the lecture's numbers; PyTorch's are 1e-2 and 0.99), ε = 1e-8, λ = 0, μ = 0,
/// centered false. α is PyTorch's smoothing constant: the weight of the OLD average, as in the standard form (Hinton's
/// lecture 6e). The lecture writes EG = β·g² + (1 − β)·EG with β ≈ 0.9, which read literally weighs the new term by
/// 0.9 (α = 0.1); we follow the standard form with its 0.9 on the old average (DESIGN.md, rulings on the lecture).
/// </summary>
public sealed class RMSProp : Optimizer
{
    /// <summary>One group with these hyperparameters.</summary>
    public RMSProp(IEnumerable<Tensor> parameters, double lr = 1e-3, double alpha = 0.9, double eps = 1e-8,
        double weightDecay = 0, double momentum = 0, bool centered = false, bool maximize = false)
        : this(Single(parameters), lr, alpha, eps, weightDecay, momentum, centered, maximize) { }

    /// <summary>Several groups; the arguments are the defaults for what a group does not set.</summary>
    public RMSProp(IEnumerable<ParamGroup> groups, double lr = 1e-3, double alpha = 0.9, double eps = 1e-8,
        double weightDecay = 0, double momentum = 0, bool centered = false, bool maximize = false)
        : base(groups, new Dictionary<string, double>
        {
            ["lr"] = lr, ["alpha"] = alpha, ["eps"] = eps, ["weight_decay"] = weightDecay, ["momentum"] = momentum,
            ["centered"] = centered ? 1 : 0, ["maximize"] = maximize ? 1 : 0,
        })
    { }

    /// <inheritdoc/>
    protected override void Validate(ParamGroup g)
    {
        NonNegative(g, "lr", "learning rate");
        NonNegative(g, "eps", "epsilon value");
        NonNegative(g, "momentum", "momentum value");
        NonNegative(g, "weight_decay", "weight_decay value");
        NonNegative(g, "alpha", "alpha value");
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup g, Tensor p, Tensor grad, ParamState s)
    {
        float alpha = (float)g["alpha"], eps = (float)g["eps"], wd = (float)g["weight_decay"], momentum = (float)g["momentum"];
        s.Step++;
        var squareAvg = Buffer(s, "square_avg", p);
        var momentumBuffer = momentum > 0 ? Buffer(s, "momentum_buffer", p) : null;
        var gradAvgBuffer = g.Flag("centered") ? Buffer(s, "grad_avg", p) : null;
        if (Fused(p, grad, squareAvg, gradAvgBuffer, momentumBuffer, alpha, eps, wd, momentum, g.Flag("maximize"), -(float)g["lr"])) return;
        if (g.Flag("maximize")) grad = -grad;
        if (wd != 0) grad = grad.Clone().AddInPlace(p, wd);
        squareAvg.MulInPlace(alpha).AddcmulInPlace(grad, grad, 1 - alpha);
        Tensor avg;
        if (g.Flag("centered"))
        {
            var gradAvg = s.Buffers["grad_avg"];
            gradAvg.MulInPlace(alpha).AddInPlace(grad, 1 - alpha);
            avg = squareAvg.Clone().AddcmulInPlace(gradAvg, gradAvg, -1f).Sqrt();
        }
        else avg = squareAvg.Sqrt();
        avg = avg + eps;
        if (momentum > 0)
        {
            var buf = s.Buffers["momentum_buffer"];
            buf.MulInPlace(momentum).AddcdivInPlace(grad, avg);
            p.AddInPlace(buf, -(float)g["lr"]);
        }
        else p.AddcdivInPlace(grad, avg, -(float)g["lr"]);
    }

    /// <summary>Force the composed tensor-op path (the reference the fused kernel is tested against).</summary>
    internal static bool UseFusedKernel = true;

    // The same update in one pass over contiguous CPU tensors (Kernels.OptimizerKernels.RmsProp, bit-identical).
    private static bool Fused(Tensor p, Tensor grad, Tensor squareAvg, Tensor? gradAvg, Tensor? momentumBuffer,
        float alpha, float eps, float wd, float momentum, bool maximize, float negLr)
    {
        if (!UseFusedKernel || !CpuSpan(p, p, out var ps) || !CpuSpan(grad, p, out var gs) || !CpuSpan(squareAvg, p, out var ss)) return false;
        Span<float> avg = default, bs = default;
        if (gradAvg is not null && !CpuSpan(gradAvg, p, out avg)) return false;
        if (momentumBuffer is not null && !CpuSpan(momentumBuffer, p, out bs)) return false;
        Kernels.OptimizerKernels.RmsProp(ps, gs, ss, avg, bs, alpha, eps, wd, momentum, maximize, negLr);
        GC.KeepAlive(grad);
        return true;
    }
}
