namespace Nabla.Validation;

/// <summary>
/// Stratified k-fold as scikit-learn's StratifiedKFold: classes are numbered by first appearance; the sorted class
/// sequence is dealt round-robin into k folds to fix each fold's per-class counts, and each class's samples (in
/// their original order) get their fold numbers in order (or shuffled). Default k = 10.
/// </summary>
public sealed class StratifiedKFold : Splitter
{
    /// <summary>k stratified folds, optionally shuffled from a seed.</summary>
    public StratifiedKFold(int nSplits = 10, bool shuffle = false, int seed = 0)
    {
        _ = new KFold(nSplits);
        NSplits = nSplits;
        Shuffle = shuffle;
        Seed = seed;
    }

    /// <summary>k.</summary>
    public int NSplits { get; }
    /// <summary>Whether fold numbers are shuffled within each class.</summary>
    public bool Shuffle { get; }
    /// <summary>Seed.</summary>
    public int Seed { get; }

    /// <inheritdoc/>
    public override string Name => $"StratifiedKFold(k={NSplits}{(Shuffle ? ", shuffled" : "")})";

    /// <inheritdoc/>
    public override bool NeedsLabels => true;

    /// <inheritdoc/>
    public override long SplitCount(int count, IReadOnlyList<int>? labels = null, IReadOnlyList<int>? groups = null) => NSplits;

    /// <inheritdoc/>
    protected override void Validate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups)
    {
        if (NSplits > count)
            throw new ArgumentException($"Cannot have number of splits n_splits={NSplits} greater than the number of samples: n_samples={count}.");
        var counts = EncodeByAppearance(labels!, out _);
        if (counts.All(c => NSplits > c))
            throw new ArgumentException($"n_splits={NSplits} cannot be greater than the number of members in each class.");
    }

    /// <summary>Class ids by order of first appearance (scikit-learn's encoding), and the count of each.</summary>
    internal static int[] EncodeByAppearance(IReadOnlyList<int> labels, out int[] encoded)
    {
        var map = new Dictionary<int, int>();
        encoded = new int[labels.Count];
        var counts = new List<int>();
        for (int i = 0; i < labels.Count; i++)
        {
            if (!map.TryGetValue(labels[i], out int c))
            {
                map[labels[i]] = c = map.Count;
                counts.Add(0);
            }
            encoded[i] = c;
            counts[c]++;
        }
        return counts.ToArray();
    }

    /// <inheritdoc/>
    protected override IEnumerable<Split> Generate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups) =>
        Folds(count, labels!, NSplits, Shuffle ? new Generator(Seed) : null);

    internal static IEnumerable<Split> Folds(int count, IReadOnlyList<int> labels, int k, Generator? shuffle)
    {
        var counts = EncodeByAppearance(labels, out var encoded);
        int classes = counts.Length;
        // allocation[f, c] = how many of class c fold f gets: the sorted classes dealt round-robin.
        var sorted = encoded.Order().ToArray();
        var allocation = new int[k, classes];
        for (int i = 0; i < sorted.Length; i++) allocation[i % k, sorted[i]]++;
        var testFold = new int[count];
        for (int c = 0; c < classes; c++)
        {
            var foldsForClass = new List<int>();
            for (int f = 0; f < k; f++) foldsForClass.AddRange(Enumerable.Repeat(f, allocation[f, c]));
            if (shuffle is not null)
            {
                var perm = shuffle.Permutation(foldsForClass.Count);
                foldsForClass = perm.Select(p => foldsForClass[p]).ToList();
            }
            int next = 0;
            for (int i = 0; i < count; i++) if (encoded[i] == c) testFold[i] = foldsForClass[next++];
        }
        for (int f = 0; f < k; f++)
        {
            var test = Enumerable.Range(0, count).Where(i => testFold[i] == f).ToArray();
            yield return new Split(Complement(count, test), test);
        }
    }
}

/// <summary>Stratified k-fold repeated with fresh shuffles (scikit-learn's RepeatedStratifiedKFold; defaults 10 × 10).</summary>
public sealed class RepeatedStratifiedKFold : Splitter
{
    /// <summary>k stratified folds × repeats from one seeded generator.</summary>
    public RepeatedStratifiedKFold(int nSplits = 10, int nRepeats = 10, int seed = 0)
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
    public override string Name => $"RepeatedStratifiedKFold(k={NSplits}, repeats={NRepeats})";

    /// <inheritdoc/>
    public override bool NeedsLabels => true;

    /// <inheritdoc/>
    public override long SplitCount(int count, IReadOnlyList<int>? labels = null, IReadOnlyList<int>? groups = null) => (long)NSplits * NRepeats;

    /// <inheritdoc/>
    protected override void Validate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups) =>
        new StratifiedKFold(NSplits).Split(count, labels).GetEnumerator().MoveNext();

    /// <inheritdoc/>
    protected override IEnumerable<Split> Generate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups)
    {
        var g = new Generator(Seed);
        for (int r = 0; r < NRepeats; r++)
            foreach (var s in StratifiedKFold.Folds(count, labels!, NSplits, g)) yield return s;
    }
}
