using System.Text.Json;

namespace Nabla.Tests;

/// <summary>
/// <c>nabla train</c> on a CSV with --test none --shuffle false --validation none --schedule none --init ends on the
/// weights of a PyTorch run of the same batches, for every optimizer with its hyperparameters given on the command
/// line; <c>nabla split --shuffle false</c> prints scikit-learn's unshuffled index sets. Fixture:
/// tests/fixtures/make_cli_fixtures.py (PyTorch 1.13, scikit-learn 1.2).
/// </summary>
public class CliPyTorchTests
{
    static readonly JsonElement Fixture = Fixtures.Load("cli_train.json");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Fixture.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    static string[] Common() => Fixture.GetProperty("common_cli").EnumerateArray()
        .Select(e => e.GetString()!)
        .Select(a => a is "cli_train.csv" or "cli_init.safetensors" ? Path.Combine(Fixtures.Dir, a) : a)
        .ToArray();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Train_ends_on_the_weights_of_the_same_pytorch_run(string name)
    {
        var c = Fixture.GetProperty("cases").EnumerateArray().Single(x => x.GetProperty("name").GetString() == name);
        var dir = Directory.CreateTempSubdirectory("nabla-torch-");
        try
        {
            string[] args = [.. Common(), .. c.GetProperty("cli").EnumerateArray().Select(e => e.GetString()!), "--out", dir.FullName];
            var (code, _, err) = CliRunner.Run(args);
            Assert.True(code == 0, err);
            var weights = Serialization.SafeTensors.Read(Path.Combine(dir.FullName, "model.safetensors"));
            foreach (var t in c.GetProperty("final").EnumerateObject())
            {
                var expected = t.Value.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
                var actual = weights[t.Name].Float!.ToArray();
                Assert.Equal(t.Value.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()), weights[t.Name].Float!.Shape.ToArray());
                // Per tensor, relative to its largest value: float32 rounding is absolute within a tensor (see the fixture script).
                double scale = expected.Max(Math.Abs), worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
                Assert.True(worst <= 1e-5 * scale, $"{name} {t.Name}: max |Δ| {worst:E2} > 1e-5 × {scale:E2}");
            }
            // The loss did go down: the comparison is of a run that trained, not of the initial weights.
            var history = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.FullName, "metrics.json"))).RootElement.GetProperty("history");
            Assert.True(history[3].GetProperty("loss").GetDouble() < history[0].GetProperty("loss").GetDouble());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("kfold:5", "kfold")]
    [InlineData("stratified-kfold:5", "stratified_kfold")]
    public void Split_without_shuffling_prints_scikit_learns_index_sets(string scheme, string key)
    {
        var (code, stdout, err) = CliRunner.Run("split", "--scheme", scheme, "--shuffle", "false", "--test", "none",
            "--data", Path.Combine(Fixtures.Dir, "cli_train.csv"), "--label", "y", "--json");
        Assert.True(code == 0, err);
        var got = JsonDocument.Parse(stdout).RootElement;
        Assert.False(got.TryGetProperty("rows", out _));   // --test none: the indices are the file's rows
        var expected = Fixture.GetProperty(key).GetProperty("folds").EnumerateArray().ToArray();
        var splits = got.GetProperty("splits").EnumerateArray().ToArray();
        Assert.Equal(expected.Length, splits.Length);
        for (int i = 0; i < splits.Length; i++)
            foreach (var part in new[] { "train", "validation" })
                Assert.Equal(expected[i].GetProperty(part).EnumerateArray().Select(v => v.GetInt32()),
                    splits[i].GetProperty(part).EnumerateArray().Select(v => v.GetInt32()));
    }

    [Fact]
    public void Split_with_a_carved_test_set_maps_its_indices_to_the_files_rows()
    {
        var (code, stdout, err) = CliRunner.Run("split", "--scheme", "kfold:3", "--data", Path.Combine(Fixtures.Dir, "cli_train.csv"), "--label", "y", "--json");
        Assert.True(code == 0, err);
        var got = JsonDocument.Parse(stdout).RootElement;
        var rows = got.GetProperty("rows").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        Assert.Equal(48, rows.Length);                       // 60 rows, 20% held out for test
        Assert.Equal(rows.Order(), rows);
        Assert.Equal(48, got.GetProperty("samples").GetInt32());
    }
}
