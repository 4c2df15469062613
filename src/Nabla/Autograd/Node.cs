namespace Nabla.Autograd;

/// <summary>
/// One recorded op in the autograd graph: it keeps its inputs (and whatever else its backward needs) and, given
/// ∂L/∂output, returns ∂L/∂input for each input that requires grad. Backward runs in no-grad mode, so it may
/// use ordinary tensor ops.
/// </summary>
public abstract class Node
{
    private Tensor[] _inputs;
    private bool _released;

    /// <summary>Records the op's inputs, in the order <see cref="Backward"/> returns gradients.</summary>
    protected Node(params Tensor[] inputs) => _inputs = inputs;

    /// <summary>The op's name as messages show it, e.g. <c>MatMul</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The inputs the op was called with.</summary>
    protected internal IReadOnlyList<Tensor> Inputs =>
        _released ? throw new InvalidOperationException(FreedMessage) : _inputs;

    internal Tensor[] InputArray => _inputs;

    internal bool Released => _released;

    internal string FreedMessage =>
        $"Backward through {Name} a second time: the graph was freed after the first Backward(). Pass retainGraph: true to the first call to keep it.";

    /// <summary>Whether input <paramref name="i"/> wants a gradient.</summary>
    protected bool NeedsGrad(int i) => _inputs[i].RequiresGrad;

    /// <summary>
    /// Given ∂L/∂output (the output's shape), writes ∂L/∂input_i into <paramref name="inputGrads"/>[i] for every
    /// input with <see cref="NeedsGrad"/>; others may be left null. Each gradient has its input's shape.
    /// </summary>
    protected internal abstract void Backward(Tensor gradOutput, Tensor?[] inputGrads);

    /// <summary>
    /// True when every gradient <see cref="Backward"/> writes is a new tensor (or a view of one) that no other tensor,
    /// node or input shares: the engine then keeps it as a leaf's first <c>Grad</c> instead of copying it, as PyTorch
    /// steals a gradient nothing else refers to. False (copy) unless a node overrides it.
    /// </summary>
    protected internal virtual bool GradientsAreFresh => false;

    /// <summary>Drops references to saved tensors so their memory can be reclaimed.</summary>
    protected virtual void ReleaseSaved() { }

    internal void Release()
    {
        _released = true;
        ReleaseSaved();
        _inputs = [];
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
