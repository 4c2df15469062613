namespace Nabla;

/// <summary>
/// One entry of a <see cref="StateDict"/>: float32 values (parameters, running statistics) or integers (counters
/// such as BatchNorm's <c>num_batches_tracked</c>, stored as I64 in safetensors files). Exactly one is set.
/// </summary>
public readonly struct StateValue
{
    /// <summary>The float values, or null when this is an integer entry.</summary>
    public Tensor? Float { get; }

    /// <summary>The integer values, or null when this is a float entry.</summary>
    public IntTensor? Int { get; }

    /// <summary>A float entry.</summary>
    public StateValue(Tensor value) { Float = value ?? throw new ArgumentNullException(nameof(value)); Int = null; }

    /// <summary>An integer entry.</summary>
    public StateValue(IntTensor value) { Int = value ?? throw new ArgumentNullException(nameof(value)); Float = null; }

    /// <summary>The entry's shape.</summary>
    public IReadOnlyList<int> Shape => Float?.Shape ?? Int?.Shape ?? throw new InvalidOperationException("StateValue: empty entry.");

    /// <summary>True for integer entries.</summary>
    public bool IsInt => Int is not null;

    /// <summary>Wraps a float tensor.</summary>
    public static implicit operator StateValue(Tensor value) => new(value);

    /// <summary>Wraps an integer tensor.</summary>
    public static implicit operator StateValue(IntTensor value) => new(value);

    /// <inheritdoc/>
    public override string ToString() => $"{(IsInt ? "int" : "float")}{Shapes.Format(Shape.ToArray())}";
}

/// <summary>
/// Named tensors in a fixed order, as PyTorch's <c>state_dict()</c>: a module's parameters and persistent
/// buffers under dotted names (<c>features.0.weight</c>), or an optimizer's state. Saved and loaded as
/// safetensors; <see cref="Metadata"/> travels in the file's <c>__metadata__</c>.
/// </summary>
public sealed class StateDict : OrderedDictionary<string, StateValue>
{
    /// <summary>Free-form string metadata (safetensors <c>__metadata__</c>).</summary>
    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

    /// <summary>An empty state dict.</summary>
    public StateDict() : base(StringComparer.Ordinal) { }
}
