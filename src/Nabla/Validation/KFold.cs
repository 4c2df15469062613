namespace Nabla.Validation;

/// <summary>
/// K-fold cross-validation as scikit-learn's KFold: indices 0..N−1 (shuffled once when asked), cut into k contiguous
/// folds of ⌊N/k⌋ samples, the first N mod k folds one larger; each fold validates once. Default k = 10 (the
/// lecture's; scikit-learn's is 5).
/// </summary>
public sealed class KFold : Splitter
{
    /// <summary>k folds, optionally shuffled from a seed.</summary>
    public KFold(int nSplits = 10, bool shuffle = false, int seed = 0)
    {
        if (nSplits < 2)
            throw new ArgumentOutOfRangeException(nameof(nSplits), nSplits,
                $"k-fold cross-validation requires at least one train/test split by setting n_splits=2 or more, got n_splits={nSplits}.");
        NSplits = nSplits;
        Shuffle = shuffle;
        Seed = seed;
    }

    /// <summary>k.</summary>
    public int NSplits { get; }
    /// <summary>Whether the order is shuffled before cutting.</summary>
    public bool Shuffle { get; }
    /// <summary>Seed of the shuffle.</summary>
    public int Seed { get; }

    /// <inheritdoc/>
    public override string Name => $"KFold(k={NSplits}{(Shuffle ? ", shuffled" : "")})";

    /// <inheritdoc/>
    public override long SplitCount(int count, IReadOnlyList<int>? labels = null, IReadOnlyList<int>? groups = null) => NSplits;

    /// <inheritdoc/>
    protected override void Validate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups)
    {
        if (NSplits > count)
            throw new ArgumentException($"Cannot have number of splits n_splits={NSplits} greater than the number of samples: n_samples={count}.");
    }

    /// <inheritdoc/>
    protected override IEnumerable<Split> Generate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups) =>
        Folds(count, NSplits, Shuffle ? new Generator(Seed).Permutation(count) : null);

    internal static IEnumerable<Split> Folds(int count, int k, int[]? order)
    {
        var indices = order ?? Enumerable.Range(0, count).ToArray();
        int current = 0;
        for (int f = 0; f < k; f++)
        {
            int size = count / k + (f < count % k ? 1 : 0);
            var test = indices.AsSpan(current, size).ToArray();
            current += size;
            Array.Sort(test);
            yield return new Split(Complement(count, test), test);
        }
    }
}

/// <summary>K-fold repeated with a fresh shuffle each time (scikit-learn's RepeatedKFold; defaults k = 10, 10 repeats).</summary>
public sealed class RepeatedKFold : Splitter
{
    /// <summary>k folds × repeats, shuffles drawn from one seeded generator.</summary>
    public RepeatedKFold(int nSplits = 10, int nRepeats = 10, int seed = 0)
    {
        _ = new KFold(nSplits);
        if (nRepeats < 1) throw new ArgumentOutOfRangeException(nameof(nRepeats), nRepeats, "Number of repetitions must be greater than 0.");
        NSplits = nSplits;
        NRepeats = nRepeats;
        Seed = seed;
    }

    /// <summary>k.</summary>
    public int NSplits { get; }
    /// <summary>Repetitions.</summary>
    public int NRepeats { get; }
    /// <summary>Seed.</summary>
    public int Seed { get; }

    /// <inheritdoc/>
    public override string Name => $"RepeatedKFold(k={NSplits}, repeats={NRepeats})";

    /// <inheritdoc/>
    public override long SplitCount(int count, IReadOnlyList<int>? labels = null, IReadOnlyList<int>? groups = null) => (long)NSplits * NRepeats;

    /// <inheritdoc/>
    protected override void Validate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups) =>
        new KFold(NSplits).Split(count).GetEnumerator().MoveNext();

    /// <inheritdoc/>
    protected override IEnumerable<Split> Generate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups)
    {
        var g = new Generator(Seed);
        for (int r = 0; r < NRepeats; r++)
            foreach (var s in KFold.Folds(count, NSplits, g.Permutation(count))) yield return s;
    }
}
