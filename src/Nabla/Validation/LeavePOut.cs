namespace Nabla.Validation;

/// <summary>
/// Leave-p-out (scikit-learn's LeavePOut): every set of p samples validates once, in lexicographic order of the
/// index combinations; C(N, p) splits. Refuses to enumerate more than <see cref="MaxSplits"/> and says how many
/// there would be.
/// </summary>
public sealed class LeavePOut : Splitter
{
    /// <summary>Creates the splitter.</summary>
    public LeavePOut(int p, long maxSplits = 100_000)
    {
        if (p < 1) throw new ArgumentOutOfRangeException(nameof(p), p, "LeavePOut: p must be at least 1.");
        P = p;
        MaxSplits = maxSplits;
    }

    /// <summary>Samples left out per split.</summary>
    public int P { get; }
    /// <summary>The most splits this splitter agrees to enumerate.</summary>
    public long MaxSplits { get; }

    /// <inheritdoc/>
    public override string Name => $"LeavePOut(p={P})";

    /// <summary>C(n, p), saturating at long.MaxValue.</summary>
    public static long Combinations(int n, int p)
    {
        if (p < 0 || p > n) return 0;
        p = Math.Min(p, n - p);
        double logApprox = 0;
        long result = 1;
        for (int i = 1; i <= p; i++)
        {
            logApprox += Math.Log(n - p + i) - Math.Log(i);
            if (logApprox > 43) return long.MaxValue;
            result = result * (n - p + i) / i;
        }
        return result;
    }

    /// <inheritdoc/>
    public override long SplitCount(int count, IReadOnlyList<int>? labels = null, IReadOnlyList<int>? groups = null) => Combinations(count, P);

    /// <inheritdoc/>
    protected override void Validate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups)
    {
        if (count <= P) throw new ArgumentException($"p={P} must be strictly less than the number of samples={count}");
        long n = Combinations(count, P);
        if (n > MaxSplits)
            throw new ArgumentException($"LeavePOut(p={P}) on {count} samples would make {(n == long.MaxValue ? "more than 9.2e18" : n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture))} splits, more than the limit of {MaxSplits:N0}; use a smaller p, KFold, or raise maxSplits.");
    }

    /// <inheritdoc/>
    protected override IEnumerable<Split> Generate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups)
    {
        var combo = Enumerable.Range(0, P).ToArray();
        while (true)
        {
            var test = (int[])combo.Clone();
            yield return new Split(Complement(count, test), test);
            int i = P - 1;
            while (i >= 0 && combo[i] == count - P + i) i--;
            if (i < 0) yield break;
            combo[i]++;
            for (int j = i + 1; j < P; j++) combo[j] = combo[j - 1] + 1;
        }
    }
}

/// <summary>Leave-one-out (scikit-learn's LeaveOneOut): N splits, sample i validates in split i.</summary>
public sealed class LeaveOneOut : Splitter
{
    /// <inheritdoc/>
    public override string Name => "LeaveOneOut";

    /// <inheritdoc/>
    public override long SplitCount(int count, IReadOnlyList<int>? labels = null, IReadOnlyList<int>? groups = null) => count;

    /// <inheritdoc/>
    protected override void Validate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups)
    {
        if (count <= 1) throw new ArgumentException($"Cannot perform LeaveOneOut with n_samples={count}.");
    }

    /// <inheritdoc/>
    protected override IEnumerable<Split> Generate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups)
    {
        for (int i = 0; i < count; i++) yield return new Split(Complement(count, [i]), [i]);
    }
}
