namespace Nabla;

/// <summary>How an <see cref="Ensemble"/> combines its members.</summary>
public enum EnsembleMode
{
    /// <summary>Average the class probabilities softmax(zᵢ); output ln(mean), so argmax and cross-entropy work as on logits.</summary>
    Probabilities,
    /// <summary>Average the raw outputs (logits, or regression predictions).</summary>
    Mean,
}

/// <summary>
/// Several models evaluated as one (against co-adaptation and variance: the fold models of a cross-validation, or
/// several seeds). Members are children "0", "1", … so the state dict holds every member's weights.
/// </summary>
public sealed class Ensemble : Module
{
    private readonly Module[] _members;

    /// <summary>An ensemble of at least one model.</summary>
    public Ensemble(IEnumerable<Module> members, EnsembleMode mode = EnsembleMode.Probabilities)
    {
        ArgumentNullException.ThrowIfNull(members);
        _members = members.ToArray();
        if (_members.Length == 0) throw new ArgumentException("Ensemble: needs at least one model.", nameof(members));
        for (int i = 0; i < _members.Length; i++) RegisterModule(i.ToString(System.Globalization.CultureInfo.InvariantCulture), _members[i]);
        Mode = mode;
    }

    /// <summary>How outputs are combined.</summary>
    public EnsembleMode Mode { get; }

    /// <summary>The members.</summary>
    public IReadOnlyList<Module> Members => _members;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        Tensor? sum = null;
        foreach (var m in _members)
        {
            var y = m.Call(input);
            if (Mode == EnsembleMode.Probabilities) y = y.Softmax(-1);
            sum = sum is null ? y : sum + y;
        }
        var mean = sum! * (1f / _members.Length);
        // ln of the averaged probabilities, floored so a unanimous zero stays finite.
        return Mode == EnsembleMode.Probabilities ? mean.Clamp(min: 1e-30f).Log() : mean;
    }

    /// <inheritdoc/>
    protected override string ExtraRepr => $"members={_members.Length}, mode={Mode}";
}
