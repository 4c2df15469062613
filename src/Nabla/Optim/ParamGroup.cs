namespace Nabla.Optim;

/// <summary>
/// Parameters that share hyperparameters (torch's param_groups): an optimizer fills every hyperparameter the
/// group does not set from its defaults, and schedules change <see cref="LearningRate"/> per group. Flags such as
/// <c>nesterov</c> are stored as 0/1.
/// </summary>
public sealed class ParamGroup
{
    private readonly Dictionary<string, double> _options;

    /// <summary>A group with its own hyperparameters (PyTorch's names: "lr", "momentum", "weight_decay", …).</summary>
    public ParamGroup(IEnumerable<Tensor> parameters, IReadOnlyDictionary<string, double>? options = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters.ToArray();
        foreach (var p in Parameters)
        {
            if (p is null) throw new ArgumentException("ParamGroup: a parameter is null.", nameof(parameters));
            if (!p.IsLeaf) throw new ArgumentException($"ParamGroup: can't optimize a non-leaf tensor (shape {Shapes.Format(p.Shape.ToArray())}).", nameof(parameters));
        }
        _options = options is null ? new(StringComparer.Ordinal) : new(options, StringComparer.Ordinal);
    }

    /// <summary>The tensors this group updates.</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>A hyperparameter by PyTorch name.</summary>
    /// <exception cref="KeyNotFoundException">the optimizer has no such hyperparameter.</exception>
    public double this[string name]
    {
        get => _options.TryGetValue(name, out var v) ? v : throw new KeyNotFoundException($"ParamGroup: no hyperparameter '{name}' (have {string.Join(", ", _options.Keys)}).");
        set => _options[name] = value;
    }

    /// <summary>The learning rate ("lr").</summary>
    public double LearningRate
    {
        get => this["lr"];
        set => this["lr"] = value;
    }

    /// <summary>Whether the group sets a hyperparameter.</summary>
    public bool Has(string name) => _options.ContainsKey(name);

    /// <summary>All hyperparameters.</summary>
    public IReadOnlyDictionary<string, double> Options => _options;

    internal bool Flag(string name) => this[name] != 0;

    internal void SetDefault(string name, double value) => _options.TryAdd(name, value);
}
