using Nabla.Data;

namespace Nabla.Validation;

/// <summary>One split: the sample indices to train on and those to validate on (both ascending unless the splitter says otherwise).</summary>
/// <param name="Train">Training indices (a bootstrap sample may repeat them).</param>
/// <param name="Validation">Validation indices.</param>
public sealed record Split(int[] Train, int[] Validation);

/// <summary>
/// A validation scheme: yields (train, validation) index pairs for N samples, optionally using class labels
/// (stratified schemes) or group ids (grouped schemes). Seeded schemes give the same splits for the same seed.
/// Where scikit-learn has the scheme, sizes, order and stratification follow it exactly.
/// </summary>
public abstract class Splitter
{
    /// <summary>A short description, e.g. <c>KFold(k=10)</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Whether <see cref="Split(int, IReadOnlyList{int}?, IReadOnlyList{int}?)"/> needs labels.</summary>
    public virtual bool NeedsLabels => false;

    /// <summary>Whether it needs group ids.</summary>
    public virtual bool NeedsGroups => false;

    /// <summary>The splits of <paramref name="count"/> samples.</summary>
    /// <exception cref="ArgumentException">the data cannot be split this way; the message says why, in scikit-learn's words.</exception>
    public IEnumerable<Split> Split(int count, IReadOnlyList<int>? labels = null, IReadOnlyList<int>? groups = null)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, $"{Name}: the number of samples must be non-negative.");
        if (labels is not null && labels.Count != count)
            throw new ArgumentException($"{Name}: {labels.Count} labels for {count} samples.", nameof(labels));
        if (groups is not null && groups.Count != count)
            throw new ArgumentException($"{Name}: {groups.Count} group ids for {count} samples.", nameof(groups));
        if (NeedsLabels && labels is null) throw new ArgumentException($"{Name} needs class labels (a classification dataset).", nameof(labels));
        if (NeedsGroups && groups is null) throw new ArgumentException($"{Name} needs a group id per sample.", nameof(groups));
        Validate(count, labels, groups);
        return Generate(count, labels, groups);
    }

    /// <summary>The splits of a dataset (its labels are used when the scheme needs them).</summary>
    public IEnumerable<Split> Split(TensorDataset data, IReadOnlyList<int>? groups = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Split(data.Count, data.Labels?.Data, groups);
    }

    /// <summary>How many splits <see cref="Split(int, IReadOnlyList{int}?, IReadOnlyList{int}?)"/> yields.</summary>
    public abstract long SplitCount(int count, IReadOnlyList<int>? labels = null, IReadOnlyList<int>? groups = null);

    /// <summary>Raises the scheme's refusals before any split is produced.</summary>
    protected virtual void Validate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups) { }

    /// <summary>Produces the splits (arguments already validated).</summary>
    protected abstract IEnumerable<Split> Generate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups);

    /// <summary>All indices not in <paramref name="held"/>, ascending.</summary>
    protected static int[] Complement(int count, IEnumerable<int> held)
    {
        var mask = new bool[count];
        foreach (int i in held) mask[i] = true;
        var rest = new List<int>(count);
        for (int i = 0; i < count; i++) if (!mask[i]) rest.Add(i);
        return rest.ToArray();
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
