using System.Text.Json;

namespace Nabla.Tests;

/// <summary>Reading the committed PyTorch fixtures.</summary>
public static class Fixtures
{
    /// <summary>tests/fixtures/, found by walking up to the repository root.</summary>
    public static string Dir
    {
        get
        {
            var copied = Path.Combine(AppContext.BaseDirectory, "fixtures");
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Nabla.slnx"))) dir = dir.Parent;
            return dir is null ? copied : Path.Combine(dir.FullName, "tests", "fixtures");
        }
    }

    public static JsonElement Load(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, file)));
        return doc.RootElement.Clone();
    }

    public static Tensor Tensor(JsonElement e) =>
        Nabla.Tensor.FromArray(e.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray(),
            e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray());

    public static IntTensor Ints(JsonElement e) =>
        new(e.GetProperty("data").EnumerateArray().Select(v => v.GetInt32()).ToArray(),
            e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray());

    /// <summary>Asserts agreement to 1e-5 relative (plus a tiny absolute floor for values that underflow in float32).</summary>
    public static void Close(string what, JsonElement expected, Tensor actual, double atol = 1e-6)
    {
        var shape = expected.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        Assert.Equal(shape, actual.Shape.ToArray());
        var e = expected.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var a = actual.ToArray();
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(a[i] - e[i]) <= 1e-5 * Math.Abs(e[i]) + atol, $"{what}[{i}] = {a[i]:G9}, PyTorch {e[i]:G9}");
    }
}
