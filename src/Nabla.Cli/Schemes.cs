using System.Globalization;
using Nabla.Validation;

namespace Nabla.Cli;

/// <summary>The <c>--scheme</c> strings of validate, search and split.</summary>
internal static class Schemes
{
    public const string Forms = "holdout:0.3, holdout-stratified:0.3, kfold:10, stratified-kfold:10, repeated-kfold:5x3, " +
        "repeated-stratified-kfold:5x3, shuffle:20x0.3, stratified-shuffle:20x0.3, bootstrap:50, lpo:2, loo, group-kfold:5";

    /// <summary>
    /// The splitter a --scheme names. With <paramref name="shuffle"/> false, kfold and stratified-kfold are unshuffled
    /// (scikit-learn's defaults exactly) and holdout is train_test_split(shuffle=False); schemes random by nature refuse it.
    /// </summary>
    public static Splitter Parse(string scheme, int seed, bool shuffle = true)
    {
        var parts = scheme.ToLowerInvariant().Split(':', 2);
        string name = parts[0], arg = parts.Length > 1 ? parts[1] : "";
        int Int(string s, int min)
        {
            if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min)
                throw new UsageException($"--scheme {CliArgs.Clip(scheme)}: '{CliArgs.Clip(s)}' must be a whole number ≥ {min}.");
            return v;
        }
        double Fraction(string s) => CliArgs.ParseDouble($"--scheme {CliArgs.Clip(scheme)}", s, 0, 1, exclusiveMin: true);
        (int, int) Times(string s, int fallbackA, int fallbackB)
        {
            if (s.Length == 0) return (fallbackA, fallbackB);
            var xy = s.Split('x');
            if (xy.Length != 2) throw new UsageException($"--scheme {CliArgs.Clip(scheme)}: expected AxB, e.g. 5x3.");
            return (Int(xy[0], 1), Int(xy[1], 1));
        }
        if (!shuffle && name is "holdout-stratified" or "repeated-kfold" or "repeated-stratified-kfold" or "shuffle" or "stratified-shuffle" or "bootstrap")
            throw new UsageException($"--scheme {CliArgs.Clip(scheme)}: the scheme is random by nature and has no unshuffled form; drop --shuffle false " +
                "(kfold, stratified-kfold, holdout, lpo, loo and group-kfold take it).");
        try
        {
            switch (name)
            {
                case "holdout": return new Holdout(arg.Length == 0 ? 0.3 : Fraction(arg), shuffle: shuffle, seed: seed);
                case "holdout-stratified": return new Holdout(arg.Length == 0 ? 0.3 : Fraction(arg), stratify: true, seed: seed);
                case "kfold": return new KFold(arg.Length == 0 ? 10 : Int(arg, 2), shuffle: shuffle, seed: seed);
                case "stratified-kfold": return new StratifiedKFold(arg.Length == 0 ? 10 : Int(arg, 2), shuffle: shuffle, seed: seed);
                case "repeated-kfold": { var (k, r) = Times(arg, 10, 10); return new RepeatedKFold(k, r, seed); }
                case "repeated-stratified-kfold": { var (k, r) = Times(arg, 10, 10); return new RepeatedStratifiedKFold(k, r, seed); }
                case "shuffle" or "stratified-shuffle":
                {
                    int n = 10;
                    double test = 0.1;
                    if (arg.Length > 0)
                    {
                        var xy = arg.Split('x');
                        n = Int(xy[0], 1);
                        if (xy.Length > 1) test = Fraction(xy[1]);
                    }
                    return name == "shuffle" ? new ShuffleSplit(n, test, seed: seed) : new StratifiedShuffleSplit(n, test, seed: seed);
                }
                case "bootstrap": return new Bootstrap(arg.Length == 0 ? 50 : Int(arg, 1), seed);
                case "lpo": return new LeavePOut(arg.Length == 0 ? 2 : Int(arg, 1));
                case "loo": return new LeaveOneOut();
                case "group-kfold": return new GroupKFold(arg.Length == 0 ? 10 : Int(arg, 2));
                default: throw new UsageException($"--scheme: '{CliArgs.Clip(scheme)}' is not one of {Forms}.");
            }
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--scheme {CliArgs.Clip(scheme)}: {e.Message}");
        }
    }
}
