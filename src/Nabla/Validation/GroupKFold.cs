namespace Nabla.Validation;

/// <summary>
/// K-fold over groups (scikit-learn's GroupKFold): samples of one group never straddle training and validation.
/// Groups are taken largest first (a stable ascending sort by size, reversed, as numpy's argsort does for small
/// arrays) and each goes to the fold with the fewest samples so far (the first such fold on ties).
/// </summary>
public sealed class GroupKFold : Splitter
{
    /// <summary>k group folds (default 10).</summary>
    public GroupKFold(int nSplits = 10)
    {
        _ = new KFold(nSplits);
        NSplits = nSplits;
    }

    /// <summary>k.</summary>
    public int NSplits { get; }

    /// <inheritdoc/>
    public override string Name => $"GroupKFold(k={NSplits})";

    /// <inheritdoc/>
    public override bool NeedsGroups => true;

    /// <inheritdoc/>
    public override long SplitCount(int count, IReadOnlyList<int>? labels = null, IReadOnlyList<int>? groups = null) => NSplits;

    /// <inheritdoc/>
    protected override void Validate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups)
    {
        if (NSplits > count)
            throw new ArgumentException($"Cannot have number of splits n_splits={NSplits} greater than the number of samples: n_samples={count}.");
        int nGroups = groups!.Distinct().Count();
        if (NSplits > nGroups)
            throw new ArgumentException($"Cannot have number of splits n_splits={NSplits} greater than the number of groups: {nGroups}.");
    }

    /// <inheritdoc/>
    protected override IEnumerable<Split> Generate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups)
    {
        var unique = groups!.Distinct().Order().ToArray();
        var index = unique.Select((g, i) => (g, i)).ToDictionary(x => x.g, x => x.i);
        var sizes = new int[unique.Length];
        foreach (int g in groups!) sizes[index[g]]++;
        var order = Enumerable.Range(0, unique.Length).OrderBy(i => sizes[i]).Reverse().ToArray();
        var perFold = new long[NSplits];
        var groupFold = new int[unique.Length];
        foreach (int gi in order)
        {
            int lightest = 0;
            for (int f = 1; f < NSplits; f++) if (perFold[f] < perFold[lightest]) lightest = f;
            perFold[lightest] += sizes[gi];
            groupFold[gi] = lightest;
        }
        for (int f = 0; f < NSplits; f++)
        {
            var test = Enumerable.Range(0, count).Where(i => groupFold[index[groups[i]]] == f).ToArray();
            yield return new Split(Complement(count, test), test);
        }
    }
}
