namespace Nabla.Optim;

/// <summary>
/// Stochastic gradient descent with heavy-ball or Nesterov momentum, exactly torch.optim.SGD:
/// <code>
/// g ← −g if maximize;  g ← g + λθ
/// if μ ≠ 0:  b ← g (first step) else μb + (1 − τ)g;   g ← g + μb (Nesterov) else b
/// θ ← θ − η·g
/// </code>
/// Defaults: lr η = 1e-3 (PyTorch's), momentum μ = 0.9 (the lecture's; PyTorch 0), dampening τ = 0,
/// weight decay λ = 0, nesterov false, maximize false. Mini-batch, batch and stochastic descent are the same
/// rule with different batch sizes.
/// </summary>
public sealed class SGD : Optimizer
{
    /// <summary>One group with these hyperparameters.</summary>
    public SGD(IEnumerable<Tensor> parameters, double lr = 1e-3, double momentum = 0.9, double dampening = 0,
        double weightDecay = 0, bool nesterov = false, bool maximize = false)
        : this(Single(parameters), lr, momentum, dampening, weightDecay, nesterov, maximize) { }

    /// <summary>Several groups; the arguments are the defaults for what a group does not set.</summary>
    public SGD(IEnumerable<ParamGroup> groups, double lr = 1e-3, double momentum = 0.9, double dampening = 0,
        double weightDecay = 0, bool nesterov = false, bool maximize = false)
        : base(groups, new Dictionary<string, double>
        {
            ["lr"] = lr, ["momentum"] = momentum, ["dampening"] = dampening, ["weight_decay"] = weightDecay,
            ["nesterov"] = nesterov ? 1 : 0, ["maximize"] = maximize ? 1 : 0,
        })
    { }

    /// <inheritdoc/>
    protected override void Validate(ParamGroup g)
    {
        NonNegative(g, "lr", "learning rate");
        NonNegative(g, "momentum", "momentum value");
        NonNegative(g, "weight_decay", "weight_decay value");
        if (g.Flag("nesterov") && (g["momentum"] <= 0 || g["dampening"] != 0))
            throw new ArgumentException("Nesterov momentum requires a momentum and zero dampening");
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup g, Tensor p, Tensor grad, ParamState s)
    {
        float momentum = (float)g["momentum"], dampening = (float)g["dampening"], wd = (float)g["weight_decay"];
        if (Fused(g, p, grad, s, momentum, dampening, wd)) return;
        Uncapturable("SGD's composed path bakes its learning rate into the step");
        var d = g.Flag("maximize") ? -grad : grad;
        if (wd != 0) d = d.Clone().AddInPlace(p, wd);
        if (momentum != 0)
        {
            Tensor buf;
            if (!s.Buffers.TryGetValue("momentum_buffer", out var existing))
                s.Buffers["momentum_buffer"] = buf = d.Clone();
            else
                (buf = existing).MulInPlace(momentum).AddInPlace(d, 1 - dampening);
            d = g.Flag("nesterov") ? d.Clone().AddInPlace(buf, momentum) : buf;
        }
        s.Step++;
        p.AddInPlace(d, -(float)g["lr"]);
    }

    /// <summary>False forces the composed reference path on the calling thread (<see cref="ComposedPath{T}"/>).</summary>
    internal static bool UseFusedKernel { get => !ComposedPath<SGD>.On; set => ComposedPath<SGD>.On = !value; }

    // The same update in one fused launch (bit-identical). The momentum buffer is created on the first step, as in the
    // composed path, and the kernel copies d into it then.
    private static bool Fused(ParamGroup g, Tensor p, Tensor grad, ParamState s, float momentum, float dampening, float wd)
    {
        if (!UseFusedKernel || !Fusable(p, p) || !Fusable(grad, p)) return false;
        Tensor? buf = null;
        bool first = false;
        if (momentum != 0)
        {
            if (s.Buffers.TryGetValue("momentum_buffer", out buf))
            {
                if (!Fusable(buf, p)) return false;
            }
            else
            {
                Uncapturable("the optimizer creates its state in this step (capture after one eager step)");
                s.Buffers["momentum_buffer"] = buf = Tensor.ZerosLike(p);
                first = true;
            }
        }
        var slot = s.Slot as Slot ?? (Slot)(s.Slot = new Slot(g, s));
        slot.FirstPending = first;
        p.Backend.OptimizerStep(Backends.OptimizerRule.Sgd, p, grad, buf, null, null, slot);
        return true;
    }

    // The step's scalars, read from the group when the launch runs (a schedule may change lr or momentum between steps).
    private sealed class Slot(ParamGroup g, ParamState s) : Backends.OptimizerScalars
    {
        public bool FirstPending;

        public override void Prepare()
        {
            s.Step++;
            WeightDecay = (float)g["weight_decay"];
            Momentum = (float)g["momentum"];
            Dampening = (float)g["dampening"];
            Nesterov = g.Flag("nesterov");
            Maximize = g.Flag("maximize");
            FirstStep = FirstPending;
            FirstPending = false;
            NegStep = -(float)g["lr"];
        }
    }
}
