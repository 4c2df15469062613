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
        var squareAvg = Buffer(s, "square_avg", p);
        var momentumBuffer = momentum > 0 ? Buffer(s, "momentum_buffer", p) : null;
        var gradAvgBuffer = g.Flag("centered") ? Buffer(s, "grad_avg", p) : null;
        if (UseFusedKernel && Fusable(p, p) && Fusable(grad, p) && Fusable(squareAvg, p) && Fusable(gradAvgBuffer, p) && Fusable(momentumBuffer, p))
        {
            var slot = s.Slot as Slot ?? (Slot)(s.Slot = new Slot(g, s));
            p.Backend.OptimizerStep(Backends.OptimizerRule.RmsProp, p, grad, squareAvg, gradAvgBuffer, momentumBuffer, slot);
            return;
        }
        Uncapturable("RMSProp's composed path bakes its learning rate into the step");
        s.Step++;
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

    /// <summary>False forces the composed reference path on the calling thread (<see cref="ComposedPath{T}"/>).</summary>
    internal static bool UseFusedKernel { get => !ComposedPath<RMSProp>.On; set => ComposedPath<RMSProp>.On = !value; }

    // The step's scalars, read from the group when the launch runs.
    private sealed class Slot(ParamGroup g, ParamState s) : Backends.OptimizerScalars
    {
        public override void Prepare()
        {
            s.Step++;
            Alpha = (float)g["alpha"];
            Eps = (float)g["eps"];
            WeightDecay = (float)g["weight_decay"];
            Momentum = (float)g["momentum"];
            Maximize = g.Flag("maximize");
            NegStep = -(float)g["lr"];
        }
    }
}
