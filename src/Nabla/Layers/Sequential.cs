namespace Nabla;

/// <summary>
/// Modules applied in order (torch.nn.Sequential); children are named "0", "1", "2" … so state-dict keys match
/// PyTorch's (<c>0.weight</c>, <c>2.bias</c>).
/// </summary>
public sealed class Sequential : Module
{
    private readonly List<Module> _modules = [];

    /// <summary>An empty chain; <see cref="Add"/> appends.</summary>
    public Sequential() { }

    /// <summary>A chain of modules named by position.</summary>
    public Sequential(params Module[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules) Add(m);
    }

    /// <summary>A chain of named modules (PyTorch's OrderedDict form).</summary>
    public Sequential(params (string Name, Module Module)[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var (name, m) in modules) _modules.Add(RegisterModule(name, m));
    }

    /// <summary>Appends a module named by its position; returns this.</summary>
    public Sequential Add(Module module)
    {
        _modules.Add(RegisterModule(_modules.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module));
        return this;
    }

    /// <summary>Number of modules.</summary>
    public int Count => _modules.Count;

    /// <summary>The module at a position.</summary>
    public Module this[int index] => _modules[index];

    /// <summary>
    /// Flatten (N, …) inputs to (N, features) before the first module (PyTorch: <c>model(x.flatten(1))</c>), so an
    /// MLP takes images as they come and keeps the key names of a plain Sequential. Default false.
    /// </summary>
    public bool FlattenInput { get; init; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var x = FlattenInput && input.Rank > 2 ? input.Flatten(1) : input;
        for (int i = 0; i < _modules.Count; i++)
        {
            // A hooked layer runs on its own, so its hook sees its own output.
            bool hooked = _modules[i].HasForwardHooks || i + 1 < _modules.Count && _modules[i + 1].HasForwardHooks;
            if (FuseLinearRelu && !hooked && _modules[i] is Linear linear && i + 1 < _modules.Count && _modules[i + 1] is ReLU)
            {
                // One node, the ReLU in place on the Linear's output: no second tensor, pass or node (same bits).
                x = Functional.LinearRelu(x, linear.Weight, linear.Bias);
                i++;
                continue;
            }
            if (FuseNormRelu && !hooked && _modules[i] is BatchNormBase bn && i + 1 < _modules.Count && _modules[i + 1] is ReLU
                && !(ReorderReluMaxPool && i + 2 < _modules.Count && _modules[i + 2] is MaxPool2d && !_modules[i + 2].HasForwardHooks))
            {
                // (Before a max-pooling the ReLU moves after the pool instead, on a quarter of the values: cheaper.)
                // One node, the ReLU applied to each normalised plane while it is in cache (same bits).
                x = bn.ForwardRelu(x);
                i++;
                continue;
            }
            if (ReorderReluMaxPool && !hooked && _modules[i] is ReLU relu && i + 1 < _modules.Count && _modules[i + 1] is MaxPool2d pool)
            {
                // max(relu(a), relu(b)) = relu(max(a, b)) exactly, so pooling first gives the same values and
                // gradients with a quarter of the ReLU work (a 2×2 pool); see the test of the same name.
                x = relu.Forward(pool.Forward(x));
                i++;
                continue;
            }
            x = _modules[i].Call(x);
        }
        return x;
    }

    /// <summary>Run a Linear followed by a ReLU as one fused node (same bits); tests turn it off to compare.</summary>
    internal static bool FuseLinearRelu = true;

    /// <summary>Run a BatchNorm followed by a ReLU as one fused node (same bits); tests turn it off to compare.</summary>
    internal static bool FuseNormRelu = true;

    /// <summary>Run a residual addition followed by a ReLU as one fused node (same bits); tests turn it off to compare.</summary>
    internal static bool FuseAddRelu = true;

    /// <summary>Apply a ReLU followed by a MaxPool2d as pool-then-ReLU (same bits); tests turn it off to compare.</summary>
    internal static bool ReorderReluMaxPool = true;
}
