using System.Globalization;
using Nabla.Data;

namespace Nabla.Validation;

/// <summary>One hyperparameter configuration and how it scored.</summary>
/// <param name="Parameters">The configuration, by name.</param>
/// <param name="Mean">Mean score over the splits (higher is better; losses are negated).</param>
/// <param name="Std">Population standard deviation of the scores (scikit-learn's std_test_score).</param>
/// <param name="Rank">1 = best; ties share the lowest rank (scipy rankdata 'min').</param>
/// <param name="Result">The full cross-validation.</param>
public sealed record Candidate(IReadOnlyDictionary<string, string> Parameters, double Mean, double Std, int Rank, CrossValidationResult Result);

/// <summary>The ranked candidates of a search.</summary>
public sealed class SearchResult
{
    internal SearchResult(string scoring, IReadOnlyList<Candidate> candidates)
    {
        Scoring = scoring;
        Candidates = candidates;
        // The first candidate with the best rank, as GridSearchCV's best_index_.
        Best = candidates.Count == 0 ? null : candidates.OrderBy(c => c.Rank).First();
    }

    /// <summary>The metric ranked ("accuracy", or "neg_loss" …).</summary>
    public string Scoring { get; }
    /// <summary>Candidates in the order they were tried.</summary>
    public IReadOnlyList<Candidate> Candidates { get; }
    /// <summary>The winner (first on ties).</summary>
    public Candidate? Best { get; }
}

/// <summary>
/// Hyperparameter search scored by cross-validation, ranked as scikit-learn's GridSearchCV: the unweighted mean of
/// the split scores, their population std, and rank = rankdata(−mean, 'min') (NaN scores rank last); the best is the
/// first candidate of rank 1. The score is a validation metric where higher is better ("accuracy", "f1", "r2"), or
/// "loss"/"mse"/"mae" negated (scikit-learn's neg_* convention).
/// </summary>
public static class ModelSelection
{
    /// <summary>
    /// All combinations of a grid, in scikit-learn's ParameterGrid order: names sorted, the last name varying fastest.
    /// </summary>
    public static IReadOnlyList<IReadOnlyDictionary<string, string>> Grid(IReadOnlyDictionary<string, IReadOnlyList<string>> grid)
    {
        ArgumentNullException.ThrowIfNull(grid);
        var keys = grid.Keys.Order(StringComparer.Ordinal).ToArray();
        foreach (var k in keys)
            if (grid[k].Count == 0) throw new ArgumentException($"Parameter grid for parameter '{k}' need to be a non-empty sequence, got: []", nameof(grid));
        var result = new List<IReadOnlyDictionary<string, string>> { new Dictionary<string, string>() };
        foreach (var k in keys)
            result = result.SelectMany(partial => grid[k].Select(v => (IReadOnlyDictionary<string, string>)new Dictionary<string, string>(partial) { [k] = v })).ToList();
        return result;
    }

    /// <summary>
    /// <paramref name="count"/> random configurations of a grid, without repeats (scikit-learn's ParameterSampler on
    /// lists), seeded; when the grid has fewer combinations, all of them.
    /// </summary>
    public static IReadOnlyList<IReadOnlyDictionary<string, string>> Sample(IReadOnlyDictionary<string, IReadOnlyList<string>> grid, int count, int seed)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "Sample: the number of candidates must be at least 1.");
        var all = Grid(grid);
        if (count >= all.Count) return all;
        var perm = new Generator(seed).Permutation(all.Count);
        return perm.Take(count).Select(i => all[i]).ToArray();
    }

    /// <summary>Cross-validates every candidate and ranks them.</summary>
    /// <param name="candidates">Configurations to try (from <see cref="Grid"/> or <see cref="Sample"/>).</param>
    /// <param name="data">Training data (keep the test set out).</param>
    /// <param name="validator">The scheme and parallelism.</param>
    /// <param name="factory">Builds a fresh setup for a configuration and split index.</param>
    /// <param name="scoring">The metric to rank by.</param>
    /// <param name="groups">Group ids for grouped schemes.</param>
    /// <param name="onCandidate">Called after each candidate.</param>
    public static SearchResult Search(IReadOnlyList<IReadOnlyDictionary<string, string>> candidates, TensorDataset data, CrossValidator validator,
        Func<IReadOnlyDictionary<string, string>, int, TrainingSetup> factory, string scoring = "accuracy", IReadOnlyList<int>? groups = null,
        Action<int, CrossValidationResult>? onCandidate = null)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return Search(candidates, data, validator, (p, i, _) => factory(p, i), scoring, groups, onCandidate);
    }

    /// <summary>As the other overload, with the factory also given the samples each split trains on.</summary>
    public static SearchResult Search(IReadOnlyList<IReadOnlyDictionary<string, string>> candidates, TensorDataset data, CrossValidator validator,
        Func<IReadOnlyDictionary<string, string>, int, TensorDataset, TrainingSetup> factory, string scoring = "accuracy", IReadOnlyList<int>? groups = null,
        Action<int, CrossValidationResult>? onCandidate = null)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(factory);
        bool negate = scoring is "loss" or "mse" or "mae";
        var runs = new List<(IReadOnlyDictionary<string, string> p, double mean, double std, CrossValidationResult r)>();
        for (int c = 0; c < candidates.Count; c++)
        {
            var p = candidates[c];
            var result = validator.Run(data, (i, train) => factory(p, i, train), groups);
            if (!result.Summaries.TryGetValue(scoring, out var summary))
                throw new ArgumentException($"Search: scoring '{scoring}' is not one of the validation metrics ({string.Join(", ", result.Summaries.Keys)}).", nameof(scoring));
            var scores = result.Folds.Select(f => negate ? -f.Metrics[scoring] : f.Metrics[scoring]).ToArray();
            double mean = scores.Average();
            double std = Math.Sqrt(scores.Sum(s => (s - mean) * (s - mean)) / scores.Length);
            runs.Add((p, mean, std, result));
            onCandidate?.Invoke(c, result);
        }
        var ranks = RankMin(runs.Select(r => r.mean).ToArray());
        return new SearchResult(negate ? "neg_" + scoring : scoring,
            runs.Select((r, i) => new Candidate(r.p, r.mean, r.std, ranks[i], r.r)).ToArray());
    }

    /// <summary>scipy's rankdata(−x, method='min'): 1 for the largest, ties share the lowest rank; NaN ranks after every number.</summary>
    public static int[] RankMin(double[] scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var ranks = new int[scores.Length];
        for (int i = 0; i < scores.Length; i++)
        {
            if (double.IsNaN(scores[i]))
            {
                ranks[i] = scores.Count(s => !double.IsNaN(s)) + 1;
                continue;
            }
            ranks[i] = 1 + scores.Count(s => !double.IsNaN(s) && s > scores[i]);
        }
        return ranks;
    }

    /// <summary>
    /// Parses a grid such as <c>lr=1e-3,3e-4;model=mlp:128|mlp:256,128;augment=none|"hflip,crop:2"</c>: parameters
    /// split by ';', values by '|' when one is present outside quotes, else by ','. A value in double quotes may hold
    /// ',', '|' and ';' (the quotes are removed).
    /// </summary>
    /// <exception cref="FormatException">an entry lacks '=' or a value, a quote is not closed, or a name repeats.</exception>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> ParseGrid(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var grid = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var raw in SplitUnquoted(text, ';'))
        {
            string part = raw.Trim();
            if (part.Length == 0) continue;
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || part[..eq].Contains('"', StringComparison.Ordinal)) throw new FormatException($"grid entry '{part}' is not NAME=VALUES.");
            string name = part[..eq].Trim(), values = part[(eq + 1)..];
            var pieces = SplitUnquoted(values, '|');
            if (pieces.Count == 1) pieces = SplitUnquoted(values, ',');
            var list = pieces.Select(Unquote).ToArray();
            if (list.Length == 0 || list.Any(v => v.Length == 0)) throw new FormatException($"grid entry '{part}' has an empty value.");
            if (grid.ContainsKey(name)) throw new FormatException($"grid names '{name}' twice.");
            grid[name] = list;
        }
        if (grid.Count == 0) throw new FormatException("the grid is empty; expected e.g. \"lr=1e-3,3e-4;model=mlp:128|mlp:256,128\".");
        return grid;
    }

    // Splits at every separator outside double quotes; the quotes stay for Unquote.
    private static List<string> SplitUnquoted(string text, char separator)
    {
        var parts = new List<string>();
        bool quoted = false;
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '"') quoted = !quoted;
            else if (text[i] == separator && !quoted)
            {
                parts.Add(text[start..i]);
                start = i + 1;
            }
        }
        if (quoted) throw new FormatException($"grid '{text}' has a quote that is not closed.");
        parts.Add(text[start..]);
        return parts;
    }

    private static string Unquote(string value)
    {
        string v = value.Trim();
        if (v.Length >= 2 && v[0] == '"' && v[^1] == '"' && v.IndexOf('"', 1) == v.Length - 1) return v[1..^1].Trim();
        if (v.Contains('"', StringComparison.Ordinal)) throw new FormatException($"grid value '{v}': quote a whole value, e.g. \"hflip,crop:2\".");
        return v;
    }

    /// <summary>A configuration as <c>lr=0.001, model=mlp:128</c>.</summary>
    public static string Describe(IReadOnlyDictionary<string, string> p) =>
        string.Join(", ", p.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));

    internal static string Format(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
}
