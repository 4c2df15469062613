using System.Globalization;

namespace Nabla.Validation;

/// <summary>
/// One validation scheme known by name: what a scheme string such as <c>kfold:5</c> names (the CLI's <c>--scheme</c>),
/// the form of its argument and the argument it takes when none is given, a one-line help, whether it takes
/// shuffle = false, and the splitter it makes.
/// </summary>
/// <param name="Name">The name before the ':' (lower case).</param>
/// <param name="Argument">The argument's form after the ':' (e.g. <c>K</c>, <c>KxR</c>, <c>N[xF]</c>); empty when it takes none.</param>
/// <param name="Default">The argument used when none is given; empty when it takes none.</param>
/// <param name="Help">One line for help texts.</param>
/// <param name="HonoursShuffle">Whether it takes shuffle = false (it then has an unshuffled form, or was never random);
/// false for schemes random by nature, which refuse it.</param>
/// <param name="Factory">Makes the splitter from (argument, never empty where the scheme takes one; shuffle; seed). It
/// throws <see cref="FormatException"/> for an argument it cannot read and <see cref="ArgumentException"/> for values
/// the splitter refuses; <see cref="Splitters.Parse"/> puts the scheme in front of either message.</param>
/// <param name="Sklearn">The scikit-learn class the splitter follows (fixtures are found by it), or null.</param>
/// <param name="ExampleArgument">The argument shown in examples when it is not the default.</param>
public sealed record SplitterInfo(string Name, string Argument, string Default, string Help, bool HonoursShuffle,
    Func<string, bool, int, Splitter> Factory, string? Sklearn = null, string? ExampleArgument = null)
{
    /// <summary>The scheme's form for help, e.g. <c>kfold[:K]</c> or <c>loo</c>.</summary>
    public string Form => Argument.Length == 0 ? Name : $"{Name}[:{Argument}]";

    /// <summary>An example scheme string, e.g. <c>repeated-kfold:5x3</c> or <c>loo</c>.</summary>
    public string Example => Argument.Length == 0 ? Name : $"{Name}:{ExampleArgument ?? Default}";
}

/// <summary>
/// The splitter registry: every validation scheme the library knows by name. The CLI's <c>--scheme</c> names and help
/// and the test tables enumerate it, so adding a scheme is its <see cref="Splitter"/> and one row here.
/// </summary>
public static class Splitters
{
    /// <summary>Every scheme, in the order help lists them.</summary>
    public static IReadOnlyList<SplitterInfo> Registry { get; } =
    [
        new("holdout", "F", "0.3", "one split, a fraction F of the samples validates", true,
            (a, shuffle, seed) => new Holdout(Fraction(a), shuffle: shuffle, seed: seed)),
        new("holdout-stratified", "F", "0.3", "one split, a fraction F of each class validates", false,
            (a, _, seed) => new Holdout(Fraction(a), stratify: true, seed: seed)),
        new("kfold", "K", "10", "K folds, each validates once", true,
            (a, shuffle, seed) => new KFold(Int(a, 2), shuffle: shuffle, seed: seed), "KFold"),
        new("stratified-kfold", "K", "10", "K folds with each class in proportion", true,
            (a, shuffle, seed) => new StratifiedKFold(Int(a, 2), shuffle: shuffle, seed: seed), "StratifiedKFold"),
        new("repeated-kfold", "KxR", "10x10", "K-fold R times, reshuffled each time", false,
            (a, _, seed) => { var (k, r) = Times(a); return new RepeatedKFold(k, r, seed); }, "RepeatedKFold", "5x3"),
        new("repeated-stratified-kfold", "KxR", "10x10", "stratified K-fold R times, reshuffled each time", false,
            (a, _, seed) => { var (k, r) = Times(a); return new RepeatedStratifiedKFold(k, r, seed); }, "RepeatedStratifiedKFold", "5x3"),
        new("shuffle", "N[xF]", "10x0.1", "N random splits, a fraction F validates", false,
            (a, _, seed) => { var (n, f) = Draws(a); return new ShuffleSplit(n, f, seed: seed); }, "ShuffleSplit", "20x0.3"),
        new("stratified-shuffle", "N[xF]", "10x0.1", "N random splits, a fraction F of each class validates", false,
            (a, _, seed) => { var (n, f) = Draws(a); return new StratifiedShuffleSplit(n, f, seed: seed); }, "StratifiedShuffleSplit", "20x0.3"),
        new("bootstrap", "N", "50", "N draws of all samples with replacement, the out-of-bag ones validate", false,
            (a, _, seed) => new Bootstrap(Int(a, 1), seed)),
        new("lpo", "P", "2", "leave P out: every set of P samples validates once", true,
            (a, _, _) => new LeavePOut(Int(a, 1)), "LeavePOut"),
        new("loo", "", "", "leave one out: every sample validates once", true,
            (_, _, _) => new LeaveOneOut(), "LeaveOneOut"),
        new("group-kfold", "K", "10", "K folds, each group's samples held out together", true,
            (a, _, _) => new GroupKFold(Int(a, 2)), "GroupKFold", "5"),
    ];

    /// <summary>The registry's names, in order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Registry.Select(s => s.Name)];

    /// <summary>Every scheme's example, comma-separated, for messages.</summary>
    public static string Examples { get; } = string.Join(", ", Registry.Select(s => s.Example));

    /// <summary>The entry for a name, or for the name of a whole scheme string (<c>kfold:5</c> finds kfold), in any case; or null.</summary>
    public static SplitterInfo? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var key = name.Split(':', 2)[0].ToLowerInvariant();
        return Registry.FirstOrDefault(s => s.Name == key);
    }

    /// <summary>
    /// The splitter a scheme string names: NAME or NAME:ARGUMENT (any case), the registry's default argument when none
    /// is given. With <paramref name="shuffle"/> false, kfold and stratified-kfold are unshuffled (scikit-learn's
    /// defaults exactly) and holdout is train_test_split(shuffle=False); schemes random by nature refuse it.
    /// </summary>
    /// <exception cref="FormatException">an argument that cannot be read (not a number, out of range, not AxB); the
    /// message starts with the scheme, e.g. "kfold:1: '1' must be a whole number ≥ 2.".</exception>
    /// <exception cref="ArgumentException">an unknown name (the message quotes it and lists <see cref="Examples"/>);
    /// shuffle = false for a scheme random by nature, or a value the splitter refuses (the message starts with the scheme).</exception>
    public static Splitter Parse(string scheme, bool shuffle = true, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(scheme);
        var parts = scheme.ToLowerInvariant().Split(':', 2);
        string arg = parts.Length > 1 ? parts[1] : "";
        var info = Find(parts[0]) ?? throw new ArgumentException($"'{Clip(scheme)}' is not one of {Examples}.");
        if (!shuffle && !info.HonoursShuffle)
            throw new ArgumentException($"{Clip(scheme)}: the scheme is random by nature and has no unshuffled form; drop --shuffle false " +
                $"({And(Registry.Where(s => s.HonoursShuffle).Select(s => s.Name))} take it).");
        try
        {
            return info.Factory(arg.Length == 0 ? info.Default : arg, shuffle, seed);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{Clip(scheme)}: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{Clip(scheme)}: {e.Message}", e);
        }
    }

    private static string And(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count < 2 ? string.Concat(list) : $"{string.Join(", ", list.Take(list.Count - 1))} and {list[^1]}";
    }

    // User text echoed in a one-line message, shortened.
    private static string Clip(string s, int max = 80) => (s.Length <= max ? s : s[..max] + "…").ReplaceLineEndings(" ");

    private static int Int(string s, int min)
    {
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min)
            throw new FormatException($"'{Clip(s)}' must be a whole number ≥ {min}.");
        return v;
    }

    // A fraction in (0, 1].
    private static double Fraction(string s)
    {
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || !double.IsFinite(x))
            throw new FormatException($"'{Clip(s)}' is not a number.");
        if (x <= 0 || x > 1) throw new FormatException($"{Clip(s)} is out of range ((0, 1]).");
        return x;
    }

    // KxR: folds and repeats.
    private static (int, int) Times(string s)
    {
        var xy = s.Split('x');
        if (xy.Length != 2) throw new FormatException("expected AxB, e.g. 5x3.");
        return (Int(xy[0], 1), Int(xy[1], 1));
    }

    // N[xF]: draws and the validation fraction (0.1 when only N is given).
    private static (int, double) Draws(string s)
    {
        var xy = s.Split('x');
        return (Int(xy[0], 1), xy.Length > 1 ? Fraction(xy[1]) : 0.1);
    }
}
