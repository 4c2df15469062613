namespace Nabla.Optim;

/// <summary>
/// Adagrad, exactly torch.optim.Adagrad:
/// <code>
/// g ← g + λθ;  η_t = η / (1 + (t − 1)·lr_decay);  S ← S + g²;  θ ← θ − η_t·g/(√S + ε)
/// </code>
/// Defaults as PyTorch: lr η = 1e-2, lr_decay 0, λ = 0, initial accumulator S₀ = 0, ε = 1e-10.
/// </summary>
public sealed class Adagrad : Optimizer
{
    /// <summary>One group with these hyperparameters.</summary>
    public Adagrad(IEnumerable<Tensor> parameters, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0,
        double initialAccumulatorValue = 0, double eps = 1e-10, bool maximize = false)
        : this(Single(parameters), lr, lrDecay, weightDecay, initialAccumulatorValue, eps, maximize) { }

    /// <summary>Several groups; the arguments are the defaults for what a group does not set.</summary>
    public Adagrad(IEnumerable<ParamGroup> groups, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0,
        double initialAccumulatorValue = 0, double eps = 1e-10, bool maximize = false)
        : base(groups, new Dictionary<string, double>
        {
            ["lr"] = lr, ["lr_decay"] = lrDecay, ["weight_decay"] = weightDecay,
            ["initial_accumulator_value"] = initialAccumulatorValue, ["eps"] = eps, ["maximize"] = maximize ? 1 : 0,
        })
    { }

    /// <inheritdoc/>
    protected override void Validate(ParamGroup g)
    {
        NonNegative(g, "lr", "learning rate");
        NonNegative(g, "lr_decay", "lr_decay value");
        NonNegative(g, "weight_decay", "weight_decay value");
        NonNegative(g, "initial_accumulator_value", "initial_accumulator_value value");
        NonNegative(g, "eps", "epsilon value");
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup g, Tensor p, Tensor grad, ParamState s)
    {
        var sum = Buffer(s, "sum", p, (float)g["initial_accumulator_value"]);
        if (UseFusedKernel && Fusable(p, p) && Fusable(grad, p) && Fusable(sum, p))
        {
            var slot = s.Slot as Slot ?? (Slot)(s.Slot = new Slot(g, s));
            p.Backend.OptimizerStep(Backends.OptimizerRule.Adagrad, p, grad, sum, null, null, slot);
            return;
        }
        Uncapturable("Adagrad's composed path bakes its learning rate into the step");
        s.Step++;
        float wd = (float)g["weight_decay"];
        double clr = g["lr"] / (1 + (s.Step - 1) * g["lr_decay"]);
        if (g.Flag("maximize")) grad = -grad;
        if (wd != 0) grad = grad.Clone().AddInPlace(p, wd);
        sum.AddcmulInPlace(grad, grad, 1f);
        var std = sum.Sqrt() + (float)g["eps"];
        p.AddcdivInPlace(grad, std, -(float)clr);
    }

    /// <summary>False forces the composed reference path on the calling thread (<see cref="ComposedPath{T}"/>).</summary>
    internal static bool UseFusedKernel { get => !ComposedPath<Adagrad>.On; set => ComposedPath<Adagrad>.On = !value; }

    // The step's scalars, read from the group when the launch runs: the decayed rate clr = η/(1 + (t − 1)·decay).
    private sealed class Slot(ParamGroup g, ParamState s) : Backends.OptimizerScalars
    {
        public override void Prepare()
        {
            s.Step++;
            WeightDecay = (float)g["weight_decay"];
            Eps = (float)g["eps"];
            Maximize = g.Flag("maximize");
            NegStep = -(float)(g["lr"] / (1 + (s.Step - 1) * g["lr_decay"]));
        }
    }
}
