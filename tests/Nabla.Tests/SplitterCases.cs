using System.Text.Json;
using Nabla.Validation;

namespace Nabla.Tests;

/// <summary>
/// Splitters against scikit-learn (tests/fixtures/splits.json: exact index sets of the unshuffled schemes and the
/// exact refusal messages) and, for the shuffled ones, by their properties.
/// </summary>
public class SplitterCases
{
    static readonly Lazy<JsonElement> Root = new(() => Fixtures.Load("splits.json"));

    static int[]? Ints(JsonElement c, string key) => c.TryGetProperty(key, out var v) ? v.EnumerateArray().Select(x => x.GetInt32()).ToArray() : null;

    static int P(JsonElement c, string key, int fallback) => c.GetProperty("params").TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : fallback;

    static SplitSize? Size(JsonElement c, string key) =>
        c.GetProperty("params").TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number
            ? (v.TryGetInt32(out int i) && !v.GetRawText().Contains('.') ? (SplitSize)i : (SplitSize)v.GetDouble())
            : null;

    static Splitter Build(JsonElement c) => c.GetProperty("splitter").GetString() switch
    {
        "KFold" => new KFold(P(c, "n_splits", 5)),
        "StratifiedKFold" => new StratifiedKFold(P(c, "n_splits", 5)),
        "LeaveOneOut" => new LeaveOneOut(),
        "LeavePOut" => new LeavePOut(P(c, "p", 1)),
        "GroupKFold" => new GroupKFold(P(c, "n_splits", 5)),
        "ShuffleSplit" => new ShuffleSplit(P(c, "n_splits", 10), Size(c, "test_size"), Size(c, "train_size")),
        "StratifiedShuffleSplit" => new StratifiedShuffleSplit(P(c, "n_splits", 10), Size(c, "test_size"), Size(c, "train_size")),
        var s => throw new NotSupportedException(s),
    };

    public static TheoryData<string> Names(string section)
    {
        var d = new TheoryData<string>();
        foreach (var c in Root.Value.GetProperty(section).EnumerateArray()) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    public static TheoryData<string> CaseNames() => Names("cases");
    public static TheoryData<string> ErrorNames() => Names("errors");

    static JsonElement Get(string section, string name) =>
        Root.Value.GetProperty(section).EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Index_sets_match_scikit_learn(string name)
    {
        var c = Get("cases", name);
        var splits = Build(c).Split(c.GetProperty("n").GetInt32(), Ints(c, "y"), Ints(c, "groups")).ToArray();
        var expected = c.GetProperty("splits").EnumerateArray().ToArray();
        Assert.Equal(expected.Length, splits.Length);
        for (int i = 0; i < splits.Length; i++)
        {
            Assert.Equal(Ints(expected[i], "train"), splits[i].Train);
            Assert.Equal(Ints(expected[i], "test"), splits[i].Validation);
        }
    }

    [Theory]
    [MemberData(nameof(ErrorNames))]
    public void Refusals_use_scikit_learns_words(string name)
    {
        var c = Get("errors", name);
        var ex = Assert.ThrowsAny<ArgumentException>(() =>
        {
            var s = Build(c);
            s.Split(c.GetProperty("n").GetInt32(), Ints(c, "y"), Ints(c, "groups")).ToArray();
        });
        Assert.Equal(c.GetProperty("message").GetString(), ex.Message.Split(" (Parameter")[0]);
    }

    /// <summary>
    /// The same cases through the registry: each scikit-learn class is found by <see cref="SplitterInfo.Sklearn"/> and
    /// its one parameter (n_splits or p) becomes the scheme's argument, unshuffled, as <c>--scheme kfold:3 --shuffle false</c>.
    /// </summary>
    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Index_sets_match_scikit_learn_through_the_registry(string name)
    {
        var c = Get("cases", name);
        var info = Splitters.Registry.Single(s => s.Sklearn == c.GetProperty("splitter").GetString());
        string argument = "";
        foreach (var p in c.GetProperty("params").EnumerateObject())
        {
            if (p.Name is "n_splits" or "p") argument = ":" + p.Value.GetInt32();
            else Assert.True(p.Name == "shuffle" && p.Value.ValueKind == JsonValueKind.False, $"{name}: no scheme argument for {p.Name}");
        }
        var splits = Splitters.Parse(info.Name + argument, shuffle: false).Split(c.GetProperty("n").GetInt32(), Ints(c, "y"), Ints(c, "groups")).ToArray();
        var expected = c.GetProperty("splits").EnumerateArray().ToArray();
        Assert.Equal(expected.Length, splits.Length);
        for (int i = 0; i < splits.Length; i++)
        {
            Assert.Equal(Ints(expected[i], "train"), splits[i].Train);
            Assert.Equal(Ints(expected[i], "test"), splits[i].Validation);
        }
    }

    [Fact]
    public void Ranking_matches_grid_search_cv()
    {
        foreach (var c in Root.Value.GetProperty("ranking").EnumerateArray())
        {
            var means = c.GetProperty("mean_test_score").EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? double.NaN : v.GetDouble()).ToArray();
            Assert.Equal(Ints(c, "rank_test_score"), ModelSelection.RankMin(means));
        }
    }
}

public class SplitterProperties
{
    static int[] Labels(params (int label, int count)[] parts) =>
        new Generator(5).Permutation(parts.Sum(p => p.count)).Select(i => parts.SelectMany(p => Enumerable.Repeat(p.label, p.count)).ElementAt(i)).ToArray();

    public static TheoryData<string> Shuffled() => new(["kfold", "stratified", "repeated", "repeated-stratified", "shuffle", "stratified-shuffle", "holdout", "holdout-stratified", "bootstrap"]);

    static Splitter Make(string name, int seed) => name switch
    {
        "kfold" => new KFold(4, shuffle: true, seed: seed),
        "stratified" => new StratifiedKFold(4, shuffle: true, seed: seed),
        "repeated" => new RepeatedKFold(3, 2, seed),
        "repeated-stratified" => new RepeatedStratifiedKFold(3, 2, seed),
        "shuffle" => new ShuffleSplit(5, 0.25, seed: seed),
        "stratified-shuffle" => new StratifiedShuffleSplit(5, 0.25, seed: seed),
        "holdout" => new Holdout(seed: seed),
        "holdout-stratified" => new Holdout(stratify: true, seed: seed),
        _ => new Bootstrap(5, seed),
    };

    [Theory]
    [MemberData(nameof(Shuffled))]
    public void Shuffled_splits_are_disjoint_sized_stratified_and_seeded(string name)
    {
        var y = Labels((0, 20), (1, 12), (2, 8));
        int n = y.Length;
        var splits = Make(name, 1).Split(n, y).ToArray();
        Assert.Equal(Make(name, 1).SplitCount(n, y), splits.Length);
        foreach (var s in splits)
        {
            Assert.NotEmpty(s.Validation);
            Assert.Empty(s.Train.Intersect(s.Validation));
            if (name != "bootstrap") Assert.Equal(s.Train.Length, s.Train.Distinct().Count());
            if (name == "bootstrap")
            {
                Assert.Equal(n, s.Train.Length);
                Assert.Equal(Enumerable.Range(0, n).Except(s.Train).Order(), s.Validation);
            }
            if (name is "shuffle" or "stratified-shuffle") Assert.Equal(10, s.Validation.Length); // ⌈0.25·40⌉
            if (name.StartsWith("holdout", StringComparison.Ordinal)) Assert.Equal(12, s.Validation.Length); // ⌈0.3·40⌉
            if (name.Contains("strat"))
                foreach (var (label, count) in new[] { (0, 20), (1, 12), (2, 8) })
                {
                    double expected = (double)count * s.Validation.Length / n;
                    Assert.InRange(s.Validation.Count(i => y[i] == label), Math.Floor(expected) - 1, Math.Ceiling(expected) + 1);
                }
        }
        if (name is "kfold" or "stratified")
            Assert.Equal(Enumerable.Range(0, n), splits.SelectMany(s => s.Validation).Order());
        Assert.Equal(splits.Select(s => s.Validation), Make(name, 1).Split(n, y).Select(s => s.Validation));
        Assert.NotEqual(splits.Select(s => s.Validation), Make(name, 2).Split(n, y).Select(s => s.Validation));
    }

    [Fact]
    public void Defaults_follow_the_lecture()
    {
        Assert.Equal(10, new KFold().NSplits);
        Assert.Equal(10, new StratifiedKFold().NSplits);
        Assert.Equal(12, new Holdout().Split(40).Single().Validation.Length); // 30%
        Assert.Equal(20, new Holdout(0.5).Split(40).Single().Validation.Length);
        Assert.Equal([0, 1, 2, 3, 4, 5, 6], new Holdout(shuffle: false).Split(10).Single().Train);
    }

    [Fact]
    public void Leave_p_out_refuses_to_enumerate_too_many_splits()
    {
        var ex = Assert.Throws<ArgumentException>(() => new LeavePOut(3).Split(200).First());
        Assert.Contains("1,313,400 splits", ex.Message);
        Assert.Equal(1_313_400, new LeavePOut(3).SplitCount(200));
        Assert.Equal(3, new LeavePOut(3, maxSplits: 2_000_000).Split(200).Take(3).Count());
        Assert.Throws<ArgumentException>(() => new Bootstrap().Split(1).First());
        Assert.Throws<ArgumentException>(() => new StratifiedKFold(3).Split(5).First());
    }
}

/// <summary>
/// Every scheme of the splitter registry (<see cref="Splitters"/>): a new scheme is covered here by its registry row.
/// </summary>
public class SplitterRegistry
{
    public static TheoryData<string> Names() => new([.. Splitters.Names]);

    [Theory]
    [MemberData(nameof(Names))]
    public void Every_scheme_parses_its_default_and_example_forms_and_splits_a_small_dataset(string name)
    {
        var info = Splitters.Find(name)!;
        const int n = 20;
        var y = Enumerable.Range(0, n).Select(i => i % 2).ToArray();
        var groups = Enumerable.Range(0, n).Select(i => i / 2).ToArray();   // 10 groups of 2
        // The bare name takes the registry's default argument.
        string bare = Splitters.Parse(info.Name, seed: 3).Name;
        if (info.Argument.Length > 0) Assert.Equal(bare, Splitters.Parse($"{info.Name}:{info.Default}", seed: 3).Name);
        else Assert.Equal("", info.Default);
        foreach (string scheme in new[] { info.Name, info.Example, info.Example.ToUpperInvariant() })
            foreach (bool shuffle in info.HonoursShuffle ? new[] { true, false } : [true])
            {
                var splitter = Splitters.Parse(scheme, shuffle, seed: 3);
                var splits = splitter.Split(n, y, groups).ToArray();
                string what = $"{scheme}, shuffle {shuffle}";
                Assert.True(splits.Length > 0, what);
                Assert.Equal(splitter.SplitCount(n, y, groups), splits.Length);
                foreach (var s in splits)
                {
                    Assert.True(s.Train.Length > 0 && s.Validation.Length > 0, what);
                    Assert.All(s.Train.Concat(s.Validation), i => Assert.InRange(i, 0, n - 1));
                    Assert.Empty(s.Train.Intersect(s.Validation));
                    Assert.Equal(s.Validation.Length, s.Validation.Distinct().Count());
                    if (splitter.NeedsGroups) Assert.Empty(s.Train.Select(i => groups[i]).Intersect(s.Validation.Select(i => groups[i])));
                }
                // Seeded: the same scheme and seed give the same splits.
                Assert.Equal(splits.Select(s => s.Validation), Splitters.Parse(scheme, shuffle, seed: 3).Split(n, y, groups).Select(s => s.Validation));
            }
        if (!info.HonoursShuffle)
            Assert.Contains("random by nature", Assert.Throws<ArgumentException>(() => Splitters.Parse(info.Name, shuffle: false)).Message);
    }

    [Fact]
    public void Names_are_unique_lower_case_and_found_in_any_case()
    {
        Assert.Equal(Splitters.Names.Count, Splitters.Names.Distinct().Count());
        foreach (var info in Splitters.Registry)
        {
            Assert.Equal(info.Name.ToLowerInvariant(), info.Name);
            Assert.DoesNotContain(':', info.Name);
            Assert.Same(info, Splitters.Find(info.Name.ToUpperInvariant()));
            Assert.Same(info, Splitters.Find(info.Example));
            Assert.Equal(info.Argument.Length == 0, info.Default.Length == 0);
        }
        Assert.Null(Splitters.Find("tenfold"));
    }

    [Fact]
    public void Refusals_name_the_scheme_as_the_cli_shows_them()
    {
        Assert.Equal("holdout:0.3, holdout-stratified:0.3, kfold:10, stratified-kfold:10, repeated-kfold:5x3, repeated-stratified-kfold:5x3, " +
            "shuffle:20x0.3, stratified-shuffle:20x0.3, bootstrap:50, lpo:2, loo, group-kfold:5", Splitters.Examples);
        Assert.Equal($"'tenfold' is not one of {Splitters.Examples}.", Assert.Throws<ArgumentException>(() => Splitters.Parse("tenfold")).Message);
        Assert.Equal("KFOLD:1: '1' must be a whole number ≥ 2.", Assert.Throws<FormatException>(() => Splitters.Parse("KFOLD:1")).Message);
        Assert.Equal("holdout:abc: 'abc' is not a number.", Assert.Throws<FormatException>(() => Splitters.Parse("holdout:abc")).Message);
        Assert.Equal("shuffle:5x2: 2 is out of range ((0, 1]).", Assert.Throws<FormatException>(() => Splitters.Parse("shuffle:5x2")).Message);
        Assert.Equal("repeated-kfold:5: expected AxB, e.g. 5x3.", Assert.Throws<FormatException>(() => Splitters.Parse("repeated-kfold:5")).Message);
        var refused = Assert.Throws<ArgumentException>(() => Splitters.Parse("repeated-kfold:1x3"));
        Assert.StartsWith("repeated-kfold:1x3: k-fold cross-validation requires at least one train/test split", refused.Message);
        Assert.IsType<ArgumentOutOfRangeException>(refused.InnerException);
        Assert.Equal("bootstrap:3: the scheme is random by nature and has no unshuffled form; drop --shuffle false " +
            "(holdout, kfold, stratified-kfold, lpo, loo and group-kfold take it).",
            Assert.Throws<ArgumentException>(() => Splitters.Parse("bootstrap:3", shuffle: false)).Message);
        Assert.EndsWith("…: '" + new string('9', 80) + "…' must be a whole number ≥ 2.",
            Assert.Throws<FormatException>(() => Splitters.Parse("kfold:" + new string('9', 100))).Message);
    }
}
