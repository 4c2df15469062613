namespace Nabla.Autograd;

/// <summary>
/// Whether ops record the graph. On by default; thread-local like PyTorch's grad mode, so a data-loading thread
/// never affects training.
/// </summary>
public static class GradMode
{
    [ThreadStatic] private static bool _disabled;

    /// <summary>True when ops record the autograd graph on this thread.</summary>
    public static bool IsEnabled => !_disabled;

    /// <summary>
    /// A scope in which no graph is recorded (torch.no_grad()): <c>using (GradMode.NoGrad()) { … }</c>.
    /// Disposing restores the previous mode.
    /// </summary>
    public static NoGradScope NoGrad()
    {
        var scope = new NoGradScope(_disabled);
        _disabled = true;
        return scope;
    }

    internal static void Restore(bool disabled) => _disabled = disabled;

    /// <summary>Should an op with these inputs record a node?</summary>
    internal static bool ShouldRecord(Tensor a) => !_disabled && a.RequiresGrad;

    internal static bool ShouldRecord(Tensor a, Tensor b) => !_disabled && (a.RequiresGrad || b.RequiresGrad);

    internal static bool ShouldRecord(Tensor[] inputs)
    {
        if (_disabled) return false;
        foreach (var t in inputs) if (t.RequiresGrad) return true;
        return false;
    }
}

/// <summary>Restores the previous grad mode when disposed. Created by <see cref="GradMode.NoGrad"/>.</summary>
public readonly struct NoGradScope : IDisposable
{
    private readonly bool _previousDisabled;

    internal NoGradScope(bool previousDisabled) => _previousDisabled = previousDisabled;

    /// <summary>Restores the grad mode that was in force when the scope began.</summary>
    public void Dispose() => GradMode.Restore(_previousDisabled);
}
