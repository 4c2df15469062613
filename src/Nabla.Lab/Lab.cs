using System.Diagnostics;
using Nabla.Data;

namespace Nabla.Lab;

/// <summary>How big a lab runs.</summary>
public enum LabScale
{
    /// <summary>Seconds per lab: the wiring test in CI (tiny subsets, one or two epochs).</summary>
    Tiny,
    /// <summary>The default: each lab within ~3 minutes on two cores.</summary>
    Quick,
    /// <summary>The full setting: larger subsets and budgets (times in docs/LAB.md).</summary>
    Full,
}

/// <summary>What every lab is given: the data, the number of seeds, the scale, and the optional trained models.</summary>
public sealed record LabSettings
{
    /// <summary>Training data (the labs take stratified subsets of it).</summary>
    public required TensorDataset Train { get; init; }
    /// <summary>The untouched test data.</summary>
    public required TensorDataset Test { get; init; }
    /// <summary>A line naming the data, for the report.</summary>
    public string DataDescription { get; init; } = "";
    /// <summary>Seeds per condition (default 3): initialisation, batch order and random layers all follow the seed.</summary>
    public int Seeds { get; init; } = 3;
    /// <summary>The scale.</summary>
    public LabScale Scale { get; init; } = LabScale.Quick;
    /// <summary>A GAN trained by <c>nabla gan train</c> for the augmentation lab, or null.</summary>
    public string? GanDirectory { get; init; }
    /// <summary>A style decoder trained by <c>nabla style train</c> for the augmentation lab, or null.</summary>
    public string? StyleDirectory { get; init; }
    /// <summary>A folder for TensorBoard event files (one run folder per lab, arm and seed), or null for none.</summary>
    public string? TensorBoard { get; init; }

    /// <summary>The TensorBoard run folder of one arm and seed of a lab (TENSORBOARD/LAB/ARM-seedN), or null without <see cref="TensorBoard"/>.</summary>
    public string? BoardFor(string lab, string arm, int seed) =>
        TensorBoard is null ? null
        : Path.Combine(TensorBoard, lab, new string([.. arm.Select(c => char.IsLetterOrDigit(c) || c is '-' or '.' ? c : '_')]) + $"-seed{seed}");

    /// <summary>Picks the value for the scale.</summary>
    public T Pick<T>(T tiny, T quick, T full) => Scale switch { LabScale.Tiny => tiny, LabScale.Full => full, _ => quick };
}

/// <summary>
/// A lab's raw numbers: per metric and condition one value per seed, and per curve and condition one series per seed.
/// <see cref="Lab.Judge"/> decides from these alone, so a test can feed it numbers where the claim holds and where it
/// is reversed.
/// </summary>
public sealed class Measurements
{
    /// <summary>metric → condition → values (one per seed).</summary>
    public Dictionary<string, Dictionary<string, List<double>>> Values { get; } = [];
    /// <summary>curve → condition → series (one per seed).</summary>
    public Dictionary<string, Dictionary<string, List<double[]>>> Curves { get; } = [];
    /// <summary>Free-form notes for the report (what was skipped and why).</summary>
    public List<string> Notes { get; } = [];

    /// <summary>Adds one seed's value.</summary>
    public void Add(string metric, string condition, double value)
    {
        if (!Values.TryGetValue(metric, out var byCondition)) Values[metric] = byCondition = [];
        if (!byCondition.TryGetValue(condition, out var list)) byCondition[condition] = list = [];
        list.Add(value);
    }

    /// <summary>Adds one seed's series.</summary>
    public void AddCurve(string curve, string condition, double[] series)
    {
        if (!Curves.TryGetValue(curve, out var byCondition)) Curves[curve] = byCondition = [];
        if (!byCondition.TryGetValue(condition, out var list)) byCondition[condition] = list = [];
        list.Add(series);
    }

    /// <summary>The values of a metric under a condition (empty when missing).</summary>
    public double[] Get(string metric, string condition) =>
        Values.TryGetValue(metric, out var b) && b.TryGetValue(condition, out var l) ? [.. l] : [];

    /// <summary>The conditions measured for a metric, in the order first added.</summary>
    public IReadOnlyList<string> Conditions(string metric) => Values.TryGetValue(metric, out var b) ? [.. b.Keys] : [];

    /// <summary>The mean series of a curve under a condition over its seeds (to the shortest seed's length).</summary>
    public double[] MeanCurve(string curve, string condition)
    {
        if (!Curves.TryGetValue(curve, out var b) || !b.TryGetValue(condition, out var l) || l.Count == 0) return [];
        int n = l.Min(s => s.Length);
        return [.. Enumerable.Range(0, n).Select(i => l.Average(s => s[i]))];
    }
}

/// <summary>A table of the report.</summary>
public sealed record LabTable(string Title, string[] Header, List<string[]> Rows);

/// <summary>One line of a figure.</summary>
public sealed record LabSeries(string Name, double[] X, double[] Y, bool Dashed = false);

/// <summary>A figure of the report: lines over a shared x axis (or points when <see cref="Points"/>).</summary>
public sealed record LabFigure(string FileName, string Title, string XLabel, string YLabel, List<LabSeries> Series)
{
    /// <summary>A logarithmic y axis.</summary>
    public bool LogY { get; init; }
    /// <summary>Markers only (per-condition points with their seeds), no lines.</summary>
    public bool Points { get; init; }
    /// <summary>Category names for the x positions 0, 1, … (a points figure), or null.</summary>
    public string[]? Categories { get; init; }
}

/// <summary>A lab's outcome: its verdict, the comparisons behind it, tables, figures and the raw numbers.</summary>
public sealed class LabResult
{
    /// <summary>The lab's name (<c>nabla lab NAME</c>).</summary>
    public required string Name { get; init; }
    /// <summary>A title.</summary>
    public required string Title { get; init; }
    /// <summary>The lecture lines it tests.</summary>
    public required string SeedLines { get; init; }
    /// <summary>The claim in words.</summary>
    public required string Claim { get; init; }
    /// <summary>The published effect it echoes.</summary>
    public required string Published { get; init; }
    /// <summary>The budget actually run (data, epochs, grids, seeds).</summary>
    public required string Budget { get; init; }
    /// <summary>The comparisons, deciding ones first.</summary>
    public List<Comparison> Comparisons { get; } = [];
    /// <summary>Tables.</summary>
    public List<LabTable> Tables { get; } = [];
    /// <summary>Figures (written by <see cref="LabReport"/>).</summary>
    public List<LabFigure> Figures { get; } = [];
    /// <summary>Notes: what was skipped and why.</summary>
    public List<string> Notes { get; } = [];
    /// <summary>The raw numbers.</summary>
    public Measurements Measurements { get; init; } = new();
    /// <summary>Wall-clock seconds of the measurement.</summary>
    public double Seconds { get; set; }

    /// <summary>
    /// The lab's verdict from its deciding comparisons: supported when all are supported, contradicted when any is
    /// contradicted, otherwise not shown (and not shown when there is none).
    /// </summary>
    public Verdict Verdict
    {
        get
        {
            var deciding = Comparisons.Where(c => c.Deciding).Select(c => c.Verdict).ToArray();
            if (deciding.Length == 0) return Verdict.NotShown;
            if (deciding.Contains(Verdict.Contradicted)) return Verdict.Contradicted;
            return deciding.All(v => v == Verdict.Supported) ? Verdict.Supported : Verdict.NotShown;
        }
    }
}

/// <summary>
/// One of the lecture's claims as an experiment: <see cref="Measure"/> trains what it compares alike over the seeds,
/// <see cref="Judge"/> turns the numbers into comparisons, tables, figures and a verdict (and nothing else: no verdict is
/// written in advance).
/// </summary>
public abstract class Lab
{
    /// <summary>The name on the command line.</summary>
    public abstract string Name { get; }
    /// <summary>A title.</summary>
    public abstract string Title { get; }
    /// <summary>The lecture lines it tests (lecture-training-neural-networks.ru.md).</summary>
    public abstract string SeedLines { get; }
    /// <summary>The claim in words.</summary>
    public abstract string Claim { get; }
    /// <summary>The published effect it echoes (scale and direction, not numbers to match).</summary>
    public abstract string Published { get; }
    /// <summary>Whether it trains convolutional nets, so needs image data (C, H, W).</summary>
    public virtual bool NeedsImages => false;

    /// <summary>Why this lab cannot run on these settings (e.g. too few samples of a class for its schemes), or null.</summary>
    public virtual string? Refusal(LabSettings settings) => null;

    /// <summary>The budget at these settings, in words.</summary>
    public abstract string Budget(LabSettings settings);

    /// <summary>Trains and measures.</summary>
    public abstract Measurements Measure(LabSettings settings, TextWriter log);

    /// <summary>Decides from the numbers alone.</summary>
    public abstract LabResult Judge(Measurements m, LabSettings settings);

    /// <summary>Measures, then judges.</summary>
    public LabResult Run(LabSettings settings, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        log.WriteLine($"lab {Name}: {Budget(settings)}");
        var clock = Stopwatch.StartNew();
        var m = Measure(settings, log);
        var result = Judge(m, settings);
        result.Seconds = clock.Elapsed.TotalSeconds;
        log.WriteLine($"lab {Name}: {Comparison.Words(result.Verdict)} ({result.Seconds:F0} s)");
        return result;
    }

    /// <summary>A result with this lab's header and the measurements' notes.</summary>
    protected LabResult NewResult(Measurements m, LabSettings settings)
    {
        var r = new LabResult { Name = Name, Title = Title, SeedLines = SeedLines, Claim = Claim, Published = Published, Budget = Budget(settings), Measurements = m };
        r.Notes.AddRange(m.Notes);
        return r;
    }

    /// <summary>A comparison of one metric between two conditions of <paramref name="m"/>.</summary>
    protected static Comparison Compare(Measurements m, string claim, string metric, string a, string b, Expect expect, double margin = 0, bool deciding = true) =>
        new() { Claim = claim, Metric = metric, A = a, B = b, ValuesA = m.Get(metric, a), ValuesB = m.Get(metric, b), Expect = expect, Margin = margin, Deciding = deciding };

    /// <summary>A table of metrics (columns) by condition (rows): mean ± sd over the seeds.</summary>
    protected static LabTable Table(Measurements m, string title, IReadOnlyList<string> conditions, params string[] metrics)
    {
        var rows = conditions.Select(c => (string[])[c, .. metrics.Select(k => MeanSd(m.Get(k, c)))]).ToList();
        return new LabTable(title, ["condition", .. metrics], rows);
    }

    /// <summary>mean ± sd of a list, "—" when empty.</summary>
    protected static string MeanSd(double[] v) => v.Length == 0 ? "—" : v.Length == 1 ? Comparison.F(v[0]) : $"{Comparison.F(v.Average())} ± {Comparison.F(Comparison.Std(v))}";

    /// <summary>A figure of the mean curves of <paramref name="curve"/> for <paramref name="conditions"/> against 1, 2, ….</summary>
    protected static LabFigure CurveFigure(Measurements m, string file, string title, string curve, IEnumerable<string> conditions, string xLabel, string yLabel, bool logY = false)
    {
        var series = new List<LabSeries>();
        foreach (var c in conditions)
        {
            var y = m.MeanCurve(curve, c);
            if (y.Length > 0) series.Add(new LabSeries(c, [.. Enumerable.Range(1, y.Length).Select(i => (double)i)], y));
        }
        return new LabFigure(file, title, xLabel, yLabel, series) { LogY = logY };
    }

    /// <summary>A figure of each seed's value of a metric per condition (points), so the spread is visible.</summary>
    protected static LabFigure PointsFigure(Measurements m, string file, string title, string metric, IReadOnlyList<string> conditions, string yLabel)
    {
        var series = new List<LabSeries>();
        for (int i = 0; i < conditions.Count; i++)
        {
            var v = m.Get(metric, conditions[i]);
            series.Add(new LabSeries(conditions[i], [.. v.Select(_ => (double)i)], v));
        }
        return new LabFigure(file, title, "", yLabel, series) { Points = true, Categories = [.. conditions] };
    }
}
