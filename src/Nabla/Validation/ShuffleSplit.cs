using System.Globalization;

namespace Nabla.Validation;

/// <summary>
/// A split size as scikit-learn takes it: a fraction in (0, 1) of the samples, or an absolute count.
/// <c>0.3</c> converts to a fraction and <c>50</c> to a count.
/// </summary>
public readonly record struct SplitSize(double Value, bool IsFraction)
{
    /// <summary>A fraction of the samples.</summary>
    public static implicit operator SplitSize(double fraction) => new(fraction, true);
    /// <summary>A number of samples.</summary>
    public static implicit operator SplitSize(int count) => new(count, false);

    /// <inheritdoc/>
    public override string ToString() => IsFraction ? PythonFloat(Value) : ((int)Value).ToString(CultureInfo.InvariantCulture);

    // Messages quote sizes as Python prints them (1.0 keeps its ".0"), so they read exactly as scikit-learn's.
    internal static string PythonFloat(double v)
    {
        string s = v.ToString(CultureInfo.InvariantCulture);
        return double.IsFinite(v) && !s.Contains('.') && !s.Contains('E') ? s + ".0" : s;
    }
}

/// <summary>Size rules shared by the shuffle-based splitters (scikit-learn's <c>_validate_shuffle_split</c>).</summary>
internal static class ShuffleSizes
{
    public static (int Train, int Test) Resolve(int n, SplitSize? test, SplitSize? train, double defaultTest)
    {
        if (test is null && train is null) test = defaultTest;
        void Check(SplitSize? s, string name)
        {
            if (s is not { } v) return;
            if ((!v.IsFraction && (v.Value >= n || v.Value <= 0)) || (v.IsFraction && (v.Value <= 0 || v.Value >= 1)))
                throw new ArgumentException($"{name}={v} should be either positive and smaller than the number of samples {n} or a float in the (0, 1) range");
        }
        Check(test, "test_size");
        Check(train, "train_size");
        if (test is { IsFraction: true } tf && train is { IsFraction: true } trf && tf.Value + trf.Value > 1)
            throw new ArgumentException($"The sum of test_size and train_size = {SplitSize.PythonFloat(tf.Value + trf.Value)}, should be in the (0, 1) range. Reduce test_size and/or train_size.");
        double nTest = test is { } t ? (t.IsFraction ? Math.Ceiling(t.Value * n) : t.Value) : 0;
        double nTrain = train is { } r ? (r.IsFraction ? Math.Floor(r.Value * n) : r.Value) : 0;
        if (train is null) nTrain = n - nTest;
        else if (test is null) nTest = n - nTrain;
        if (nTrain + nTest > n)
            throw new ArgumentException($"The sum of train_size and test_size = {(int)(nTrain + nTest)}, should be smaller than the number of samples {n}. Reduce test_size and/or train_size.");
        if ((int)nTrain == 0)
            throw new ArgumentException($"With n_samples={n}, test_size={test?.ToString() ?? "None"} and train_size={train?.ToString() ?? "None"}, the resulting train set will be empty. Adjust any of the aforementioned parameters.");
        return ((int)nTrain, (int)nTest);
    }

    /// <summary>scikit-learn's <c>_approximate_mode</c>: integer counts proportional to <paramref name="counts"/> summing to n, ties drawn at random.</summary>
    public static int[] ApproximateMode(int[] counts, int n, Generator g)
    {
        double total = counts.Sum();
        var continuous = counts.Select(c => c / total * n).ToArray();
        var floored = continuous.Select(Math.Floor).ToArray();
        int needToAdd = (int)(n - floored.Sum());
        if (needToAdd > 0)
        {
            var remainder = continuous.Select((c, i) => c - floored[i]).ToArray();
            foreach (double value in remainder.Distinct().OrderDescending())
            {
                var inds = Enumerable.Range(0, remainder.Length).Where(i => remainder[i] == value).ToArray();
                int addNow = Math.Min(inds.Length, needToAdd);
                var perm = g.Permutation(inds.Length);
                for (int k = 0; k < addNow; k++) floored[inds[perm[k]]] += 1;
                needToAdd -= addNow;
                if (needToAdd == 0) break;
            }
        }
        return floored.Select(f => (int)f).ToArray();
    }
}

/// <summary>
/// Repeated random subsampling (scikit-learn's ShuffleSplit): each split permutes the samples and takes the first
/// n_test for validation and the next n_train for training (in permutation order). n_test = ⌈test·N⌉,
/// n_train = ⌊train·N⌋ or the rest. Defaults: 10 splits, test 0.1.
/// </summary>
public sealed class ShuffleSplit : Splitter
{
    /// <summary>Creates the splitter; sizes are fractions or counts (see <see cref="SplitSize"/>).</summary>
    public ShuffleSplit(int nSplits = 10, SplitSize? testSize = null, SplitSize? trainSize = null, int seed = 0)
    {
        if (nSplits < 1) throw new ArgumentOutOfRangeException(nameof(nSplits), nSplits, "ShuffleSplit: n_splits must be at least 1.");
        NSplits = nSplits;
        TestSize = testSize;
        TrainSize = trainSize;
        Seed = seed;
    }

    /// <summary>Number of splits.</summary>
    public int NSplits { get; }
    /// <summary>Validation size, or null.</summary>
    public SplitSize? TestSize { get; }
    /// <summary>Training size, or null for the rest.</summary>
    public SplitSize? TrainSize { get; }
    /// <summary>Seed.</summary>
    public int Seed { get; }

    /// <inheritdoc/>
    public override string Name => $"ShuffleSplit({NSplits}×, test={TestSize?.ToString() ?? "0.1"})";

    /// <inheritdoc/>
    public override long SplitCount(int count, IReadOnlyList<int>? labels = null, IReadOnlyList<int>? groups = null) => NSplits;

    /// <inheritdoc/>
    protected override void Validate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups) =>
        ShuffleSizes.Resolve(count, TestSize, TrainSize, 0.1);

    /// <inheritdoc/>
    protected override IEnumerable<Split> Generate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups)
    {
        var (nTrain, nTest) = ShuffleSizes.Resolve(count, TestSize, TrainSize, 0.1);
        var g = new Generator(Seed);
        for (int s = 0; s < NSplits; s++)
        {
            var perm = g.Permutation(count);
            yield return new Split(perm.AsSpan(nTest, nTrain).ToArray(), perm.AsSpan(0, nTest).ToArray());
        }
    }
}

/// <summary>
/// Stratified repeated random subsampling (scikit-learn's StratifiedShuffleSplit): per split, each class
/// contributes counts proportional to its size (<c>_approximate_mode</c>) to training and then to validation,
/// drawn from a permutation of that class; each list is then permuted. Needs ≥ 2 members per class and at least
/// as many train and test samples as classes. Defaults: 10 splits, test 0.1.
/// </summary>
public sealed class StratifiedShuffleSplit : Splitter
{
    /// <summary>Creates the splitter; sizes are fractions or counts.</summary>
    public StratifiedShuffleSplit(int nSplits = 10, SplitSize? testSize = null, SplitSize? trainSize = null, int seed = 0)
    {
        if (nSplits < 1) throw new ArgumentOutOfRangeException(nameof(nSplits), nSplits, "StratifiedShuffleSplit: n_splits must be at least 1.");
        NSplits = nSplits;
        TestSize = testSize;
        TrainSize = trainSize;
        Seed = seed;
    }

    /// <summary>Number of splits.</summary>
    public int NSplits { get; }
    /// <summary>Validation size, or null.</summary>
    public SplitSize? TestSize { get; }
    /// <summary>Training size, or null for the rest.</summary>
    public SplitSize? TrainSize { get; }
    /// <summary>Seed.</summary>
    public int Seed { get; }

    /// <inheritdoc/>
    public override string Name => $"StratifiedShuffleSplit({NSplits}×, test={TestSize?.ToString() ?? "0.1"})";

    /// <inheritdoc/>
    public override bool NeedsLabels => true;

    /// <inheritdoc/>
    public override long SplitCount(int count, IReadOnlyList<int>? labels = null, IReadOnlyList<int>? groups = null) => NSplits;

    /// <inheritdoc/>
    protected override void Validate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups) =>
        Check(count, labels!, TestSize, TrainSize);

    internal static (int Train, int Test, int[][] ClassIndices) Check(int count, IReadOnlyList<int> labels, SplitSize? test, SplitSize? train)
    {
        var (nTrain, nTest) = ShuffleSizes.Resolve(count, test, train, 0.1);
        // Classes in sorted order (np.unique), each with its sample indices ascending.
        var classIndices = Enumerable.Range(0, count).GroupBy(i => labels[i]).OrderBy(g => g.Key).Select(g => g.ToArray()).ToArray();
        if (classIndices.Min(c => c.Length) < 2)
            throw new ArgumentException("The least populated class in y has only 1 member, which is too few. The minimum number of groups for any class cannot be less than 2.");
        if (nTrain < classIndices.Length)
            throw new ArgumentException($"The train_size = {nTrain} should be greater or equal to the number of classes = {classIndices.Length}");
        if (nTest < classIndices.Length)
            throw new ArgumentException($"The test_size = {nTest} should be greater or equal to the number of classes = {classIndices.Length}");
        return (nTrain, nTest, classIndices);
    }

    /// <inheritdoc/>
    protected override IEnumerable<Split> Generate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups)
    {
        var (nTrain, nTest, classIndices) = Check(count, labels!, TestSize, TrainSize);
        var g = new Generator(Seed);
        for (int s = 0; s < NSplits; s++) yield return Draw(classIndices, nTrain, nTest, g);
    }

    internal static Split Draw(int[][] classIndices, int nTrain, int nTest, Generator g)
    {
        var counts = classIndices.Select(c => c.Length).ToArray();
        var nI = ShuffleSizes.ApproximateMode(counts, nTrain, g);
        var tI = ShuffleSizes.ApproximateMode(counts.Select((c, i) => c - nI[i]).ToArray(), nTest, g);
        var train = new List<int>();
        var test = new List<int>();
        for (int c = 0; c < classIndices.Length; c++)
        {
            var perm = g.Permutation(counts[c]);
            for (int k = 0; k < nI[c]; k++) train.Add(classIndices[c][perm[k]]);
            for (int k = nI[c]; k < nI[c] + tI[c]; k++) test.Add(classIndices[c][perm[k]]);
        }
        var tp = g.Permutation(train.Count);
        var vp = g.Permutation(test.Count);
        return new Split(tp.Select(i => train[i]).ToArray(), vp.Select(i => test[i]).ToArray());
    }
}

/// <summary>
/// The holdout method (scikit-learn's train_test_split): one split with a validation fraction (default 0.3, the
/// lecture's; scikit-learn's is 0.25), shuffled by default, optionally stratified by class. Unshuffled, the first
/// n_train samples train and the next n_test validate.
/// </summary>
public sealed class Holdout : Splitter
{
    /// <summary>Creates the splitter.</summary>
    public Holdout(SplitSize? validationSize = null, bool shuffle = true, bool stratify = false, int seed = 0, SplitSize? trainSize = null)
    {
        if (stratify && !shuffle)
            throw new ArgumentException("Stratified train/test split is not implemented for shuffle=False", nameof(stratify));
        ValidationSize = validationSize;
        TrainSize = trainSize;
        Shuffle = shuffle;
        Stratify = stratify;
        Seed = seed;
    }

    /// <summary>Validation size (default 0.3).</summary>
    public SplitSize? ValidationSize { get; }
    /// <summary>Training size, or null for the rest.</summary>
    public SplitSize? TrainSize { get; }
    /// <summary>Whether the samples are shuffled first.</summary>
    public bool Shuffle { get; }
    /// <summary>Whether each class is split in the same proportion.</summary>
    public bool Stratify { get; }
    /// <summary>Seed.</summary>
    public int Seed { get; }

    /// <inheritdoc/>
    public override string Name => $"Holdout(validation={ValidationSize?.ToString() ?? "0.3"}{(Stratify ? ", stratified" : "")})";

    /// <inheritdoc/>
    public override bool NeedsLabels => Stratify;

    /// <inheritdoc/>
    public override long SplitCount(int count, IReadOnlyList<int>? labels = null, IReadOnlyList<int>? groups = null) => 1;

    /// <inheritdoc/>
    protected override void Validate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups)
    {
        if (count == 0) throw new ArgumentException("With n_samples=0, the holdout method has nothing to split.");
        if (Stratify) StratifiedShuffleSplit.Check(count, labels!, ValidationSize ?? 0.3, TrainSize);
        else ShuffleSizes.Resolve(count, ValidationSize, TrainSize, 0.3);
    }

    /// <inheritdoc/>
    protected override IEnumerable<Split> Generate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups)
    {
        var (nTrain, nTest) = ShuffleSizes.Resolve(count, ValidationSize, TrainSize, 0.3);
        if (!Shuffle)
        {
            yield return new Split(Enumerable.Range(0, nTrain).ToArray(), Enumerable.Range(nTrain, nTest).ToArray());
            yield break;
        }
        var g = new Generator(Seed);
        if (Stratify)
        {
            // train_test_split passes the resolved counts on to StratifiedShuffleSplit.
            var (_, _, classIndices) = StratifiedShuffleSplit.Check(count, labels!, nTest, nTrain);
            yield return StratifiedShuffleSplit.Draw(classIndices, nTrain, nTest, g);
            yield break;
        }
        var perm = g.Permutation(count);
        yield return new Split(perm.AsSpan(nTest, nTrain).ToArray(), perm.AsSpan(0, nTest).ToArray());
    }
}
