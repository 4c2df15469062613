namespace Nabla.Validation;

/// <summary>
/// The bootstrap for small datasets: each split trains on N samples drawn with replacement and validates on the
/// out-of-bag samples (those never drawn, about 36.8% of them). Not a scikit-learn splitter; it follows
/// <c>sklearn.utils.resample</c> for the draw. A draw that leaves no sample out is drawn again.
/// </summary>
public sealed class Bootstrap : Splitter
{
    /// <summary>Creates the splitter (default 50 bootstrap samples).</summary>
    public Bootstrap(int nBootstraps = 50, int seed = 0)
    {
        if (nBootstraps < 1) throw new ArgumentOutOfRangeException(nameof(nBootstraps), nBootstraps, "Bootstrap: the number of bootstrap samples must be at least 1.");
        NBootstraps = nBootstraps;
        Seed = seed;
    }

    /// <summary>Number of bootstrap samples (splits).</summary>
    public int NBootstraps { get; }
    /// <summary>Seed.</summary>
    public int Seed { get; }

    /// <inheritdoc/>
    public override string Name => $"Bootstrap({NBootstraps}×)";

    /// <inheritdoc/>
    public override long SplitCount(int count, IReadOnlyList<int>? labels = null, IReadOnlyList<int>? groups = null) => NBootstraps;

    /// <inheritdoc/>
    protected override void Validate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups)
    {
        if (count < 2) throw new ArgumentException($"Bootstrap needs at least 2 samples to leave any out of bag, got n_samples={count}.");
    }

    /// <inheritdoc/>
    protected override IEnumerable<Split> Generate(int count, IReadOnlyList<int>? labels, IReadOnlyList<int>? groups)
    {
        var g = new Generator(Seed);
        for (int b = 0; b < NBootstraps; b++)
        {
            int[] train, oob;
            do
            {
                train = new int[count];
                for (int i = 0; i < count; i++) train[i] = g.NextInt(count);
                oob = Complement(count, train);
            }
            while (oob.Length == 0);
            yield return new Split(train, oob);
        }
    }
}
