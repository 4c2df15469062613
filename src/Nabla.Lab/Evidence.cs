using System.Globalization;

namespace Nabla.Lab;

/// <summary>What the numbers say about a claim.</summary>
public enum Verdict
{
    /// <summary>The difference goes the claimed way by more than two standard errors (or, for a claim of no effect, lies within the margin).</summary>
    Supported,
    /// <summary>The difference is within the noise (or, for a claim of no effect, may lie outside the margin but not clearly).</summary>
    NotShown,
    /// <summary>The difference goes the other way by more than two standard errors (or clearly exceeds the margin).</summary>
    Contradicted,
}

/// <summary>The direction a claim expects for the difference mean(A) − mean(B).</summary>
public enum Expect
{
    /// <summary>A is higher than B.</summary>
    Higher,
    /// <summary>A is lower than B.</summary>
    Lower,
    /// <summary>No effect: |A − B| within the comparison's margin.</summary>
    Same,
    /// <summary>A is no higher than B by more than the margin (a one-sided claim of no harm, e.g. "the deeper net ends no worse").</summary>
    NoHigher,
}

/// <summary>
/// One comparison of a metric between two conditions trained alike over several seeds, and its verdict by the one rule
/// every lab uses: with d = mean(A) − mean(B) and Welch's standard error SE = √(s²_A/n_A + s²_B/n_B) (sample variances),
/// a directional claim is <b>supported</b> when d goes the claimed way by more than 2·SE, <b>contradicted</b> when it
/// goes the other way by more than 2·SE, otherwise <b>not shown</b>. A claim of no effect (<see cref="Expect.Same"/>)
/// is supported when |d| ≤ margin, contradicted when |d| − 2·SE > margin; <see cref="Expect.NoHigher"/> is supported
/// when d ≤ margin, contradicted when d − 2·SE > margin. With fewer than two values on a side the noise cannot be
/// estimated and the verdict is not shown.
/// </summary>
public sealed record Comparison
{
    /// <summary>The claim in words, e.g. "deep sigmoid nets train slower than ReLU nets".</summary>
    public required string Claim { get; init; }
    /// <summary>The deciding metric, e.g. "training loss after 3 epochs".</summary>
    public required string Metric { get; init; }
    /// <summary>Condition A.</summary>
    public required string A { get; init; }
    /// <summary>Condition B.</summary>
    public required string B { get; init; }
    /// <summary>A's value per seed.</summary>
    public required double[] ValuesA { get; init; }
    /// <summary>B's value per seed.</summary>
    public required double[] ValuesB { get; init; }
    /// <summary>The claimed direction of mean(A) − mean(B).</summary>
    public required Expect Expect { get; init; }
    /// <summary>The margin of a claim of no effect (same units as the metric).</summary>
    public double Margin { get; init; }
    /// <summary>Whether this comparison decides the lab's verdict (others are reported beside it).</summary>
    public bool Deciding { get; init; } = true;

    /// <summary>mean(A).</summary>
    public double MeanA => Mean(ValuesA);
    /// <summary>mean(B).</summary>
    public double MeanB => Mean(ValuesB);
    /// <summary>d = mean(A) − mean(B).</summary>
    public double Difference => MeanA - MeanB;
    /// <summary>Welch's standard error of d.</summary>
    public double StandardError => Math.Sqrt(Variance(ValuesA) / ValuesA.Length + Variance(ValuesB) / ValuesB.Length);

    /// <summary>The verdict by the rule above.</summary>
    public Verdict Verdict
    {
        get
        {
            if (ValuesA.Length < 2 || ValuesB.Length < 2 || ValuesA.Concat(ValuesB).Any(v => !double.IsFinite(v))) return Verdict.NotShown;
            double d = Difference, se = StandardError;
            return Expect switch
            {
                Expect.Higher => d > 2 * se ? Verdict.Supported : -d > 2 * se ? Verdict.Contradicted : Verdict.NotShown,
                Expect.Lower => -d > 2 * se ? Verdict.Supported : d > 2 * se ? Verdict.Contradicted : Verdict.NotShown,
                Expect.Same => Math.Abs(d) <= Margin ? Verdict.Supported : Math.Abs(d) - 2 * se > Margin ? Verdict.Contradicted : Verdict.NotShown,
                _ => d <= Margin ? Verdict.Supported : d - 2 * se > Margin ? Verdict.Contradicted : Verdict.NotShown,
            };
        }
    }

    /// <summary>One sentence with the numbers that decide it.</summary>
    public string Sentence
    {
        get
        {
            string expect = Expect switch
            {
                Expect.Higher => $"{A} above {B}",
                Expect.Lower => $"{A} below {B}",
                Expect.Same => $"{A} within {F(Margin)} of {B}",
                _ => $"{A} no more than {F(Margin)} above {B}",
            };
            string why = ValuesA.Length < 2 || ValuesB.Length < 2 ? "one seed gives no estimate of the noise" : $"d = {F(Difference)}, 2·SE = {F(2 * StandardError)}";
            return string.Create(CultureInfo.InvariantCulture,
                $"{Claim} — {Metric}: {A} {F(MeanA)} ± {F(Std(ValuesA))}, {B} {F(MeanB)} ± {F(Std(ValuesB))} (n = {ValuesA.Length}, {ValuesB.Length}); claimed {expect}; {why} → {Words(Verdict)}.");
        }
    }

    /// <summary>The verdict in the report's words.</summary>
    public static string Words(Verdict v) => v switch
    {
        Verdict.Supported => "supported",
        Verdict.Contradicted => "contradicted",
        _ => "not shown in this run",
    };

    internal static string F(double v) => double.IsNaN(v) ? "NaN" : Math.Abs(v) >= 100 ? v.ToString("F1", CultureInfo.InvariantCulture)
        : Math.Abs(v) >= 0.01 || v == 0 ? v.ToString("F4", CultureInfo.InvariantCulture) : v.ToString("G3", CultureInfo.InvariantCulture);

    internal static double Mean(double[] v) => v.Length == 0 ? double.NaN : v.Average();

    internal static double Variance(double[] v)
    {
        if (v.Length < 2) return 0;
        double m = v.Average();
        return v.Sum(x => (x - m) * (x - m)) / (v.Length - 1);
    }

    internal static double Std(double[] v) => Math.Sqrt(Variance(v));
}
