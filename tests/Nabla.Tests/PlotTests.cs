using System.Buffers.Binary;
using Nabla.Cli;
using Nabla.Training;
using SkiaSharp;

namespace Nabla.Tests;

/// <summary>
/// The PNG report plots of the CLI. Set NABLA_TEST_PLOT_DIR to a folder to keep the images for a look.
/// Text needs a font under /usr/share/fonts on Linux (Debian: fonts-dejavu-core).
/// </summary>
public sealed class PlotTests : IDisposable
{
    static readonly string[] FashionMnist =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    readonly string dir;
    readonly bool keep;

    public PlotTests()
    {
        string? kept = Environment.GetEnvironmentVariable("NABLA_TEST_PLOT_DIR");
        keep = !string.IsNullOrEmpty(kept);
        dir = keep ? kept! : Path.Combine(Path.GetTempPath(), "nabla-plots-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
    }

    public void Dispose()
    {
        if (!keep && Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
    }

    static History MakeHistory(int epochs, bool validation, bool classification)
    {
        var history = new History();
        string metric = classification ? "accuracy" : "mae";
        for (int i = 0; i < epochs; i++)
        {
            var logs = new Dictionary<string, double>
            {
                ["loss"] = 1.2 / (i + 1),
                [metric] = classification ? 0.6 + 0.1 * i : 0.8 / (i + 1),
                ["lr"] = 0.01,
                ["seconds"] = 1.5,
            };
            if (validation)
            {
                logs["val_loss"] = 1.3 / (i + 1) + 0.05;
                logs["val_" + metric] = classification ? 0.55 + 0.09 * i : 0.9 / (i + 1);
            }
            history.Epochs.Add(new EpochLog(i, logs));
        }
        return history;
    }

    static int[,] FashionConfusion()
    {
        var rng = new Random(7);
        var m = new int[10, 10];
        for (int r = 0; r < 10; r++)
            for (int c = 0; c < 10; c++)
                m[r, c] = r == c ? 800 + rng.Next(180) : rng.Next(r == 6 || c == 6 ? 120 : 30);
        m[0, 9] = 0;
        return m;
    }

    /// <summary>Checks the PNG signature and the IHDR chunk, and returns the image's width and height.</summary>
    static (int width, int height) AssertPng(string path, int minBytes)
    {
        Assert.True(File.Exists(path), $"{path} was not written");
        byte[] bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length >= minBytes, $"{path} has only {bytes.Length} bytes");
        byte[] signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        Assert.Equal(signature, bytes[..8]);
        Assert.Equal(13, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(8, 4)));
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        int width = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16, 4));
        int height = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20, 4));
        Assert.Equal("IEND", System.Text.Encoding.ASCII.GetString(bytes, bytes.Length - 8, 4));
        return (width, height);
    }

    /// <summary>Counts the dark pixels (text, lines) in a band of rows: a blank band has none.</summary>
    static int DarkPixels(string path, int top, int bottom)
    {
        using var bitmap = SKBitmap.Decode(path);
        Assert.NotNull(bitmap);
        int dark = 0;
        for (int y = top; y < Math.Min(bottom, bitmap.Height); y++)
            for (int x = 0; x < bitmap.Width; x++)
            {
                SKColor p = bitmap.GetPixel(x, y);
                if (p.Red + p.Green + p.Blue < 300)
                    dark++;
            }
        return dark;
    }

    void AssertNoTempFiles() =>
        Assert.DoesNotContain(Directory.GetFiles(dir), f => f.EndsWith(".tmp", StringComparison.Ordinal));

    [Fact]
    public void A_font_is_available_for_text()
    {
        Assert.True(Plots.TextFont is not null,
            "SkiaSharp finds no font, so plots would have no text: install one under /usr/share/fonts (Debian: apt-get install fonts-dejavu-core).");
    }

    [Fact]
    public void Curves_with_validation_make_a_two_panel_png()
    {
        string path = Path.Combine(dir, "curves-val.png");
        Plots.SaveCurves(MakeHistory(3, validation: true, classification: true), path, classification: true);
        var (width, height) = AssertPng(path, 10_000);
        Assert.Equal(1000, width);
        Assert.Equal(450, height);
        // Titles "Loss" and "Accuracy" sit in the top band of each half.
        Assert.True(DarkPixels(path, 0, 20) > 30, "no title text");
        AssertNoTempFiles();
    }

    [Fact]
    public void Curves_without_validation_and_for_regression()
    {
        string path = Path.Combine(dir, "curves-train-only.png");
        Plots.SaveCurves(MakeHistory(3, validation: false, classification: false), path, classification: false);
        var (width, height) = AssertPng(path, 10_000);
        Assert.Equal((1000, 450), (width, height));
    }

    [Fact]
    public void Curves_of_a_single_epoch()
    {
        string path = Path.Combine(dir, "curves-one-epoch.png");
        Plots.SaveCurves(MakeHistory(1, validation: true, classification: true), path, classification: true);
        var (width, height) = AssertPng(path, 10_000);
        Assert.Equal((1000, 450), (width, height));
    }

    [Fact]
    public void Curves_of_an_empty_history_still_render()
    {
        string path = Path.Combine(dir, "curves-empty.png");
        Plots.SaveCurves(new History(), path, classification: true);
        AssertPng(path, 2_000);
    }

    [Fact]
    public void Saving_again_overwrites_atomically_and_creates_missing_folders()
    {
        string path = Path.Combine(dir, "sub", "folder", "curves.png");
        Plots.SaveCurves(MakeHistory(2, validation: true, classification: true), path, classification: true);
        long first = new FileInfo(path).Length;
        Plots.SaveCurves(MakeHistory(5, validation: true, classification: true), path, classification: true);
        AssertPng(path, 10_000);
        Assert.NotEqual(0, first);
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void Confusion_matrix_of_fashion_mnist()
    {
        string path = Path.Combine(dir, "confusion.png");
        Plots.SaveConfusion(FashionConfusion(), FashionMnist, path);
        var (width, height) = AssertPng(path, 20_000);
        Assert.InRange(width, 600, 2000);
        Assert.InRange(height, 600, 2000);
        Assert.True(DarkPixels(path, 0, 30) > 100, "no title text");
        AssertNoTempFiles();
    }

    [Fact]
    public void Confusion_matrix_of_two_classes_and_of_all_zeros()
    {
        string two = Path.Combine(dir, "confusion-2.png");
        Plots.SaveConfusion(new[,] { { 5, 1 }, { 2, 7 } }, ["0", "1"], two);
        AssertPng(two, 2_000);
        string zeros = Path.Combine(dir, "confusion-zeros.png");
        Plots.SaveConfusion(new int[3, 3], ["a", "b", "c"], zeros);
        AssertPng(zeros, 2_000);
    }

    [Fact]
    public void Confusion_matrix_rejects_bad_shapes()
    {
        string path = Path.Combine(dir, "bad.png");
        Assert.Throws<ArgumentException>(() => Plots.SaveConfusion(new int[2, 3], ["a", "b"], path));
        Assert.Throws<ArgumentException>(() => Plots.SaveConfusion(new int[2, 2], ["a", "b", "c"], path));
        Assert.False(File.Exists(path));
    }
}
