namespace Nabla;

/// <summary>Flattens dims start_dim..end_dim (torch.nn.Flatten; defaults 1 and −1: (N, …) → (N, features)).</summary>
public sealed class Flatten(int startDim = 1, int endDim = -1) : Module
{
    /// <summary>First flattened dim.</summary>
    public int StartDim { get; } = startDim;

    /// <summary>Last flattened dim.</summary>
    public int EndDim { get; } = endDim;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Flatten(StartDim, EndDim);

    /// <inheritdoc/>
    protected override string ExtraRepr => $"start_dim={StartDim}, end_dim={EndDim}";
}

/// <summary>Returns its input unchanged (torch.nn.Identity); a placeholder in model layouts.</summary>
public sealed class Identity : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input;
}
