using Nabla.FuzzHost.Images;
using Nabla.Imaging;
using SkiaSharp;

namespace Nabla.FuzzHost.Targets;

/// <summary>
/// <see cref="ImageFolder.Decode"/> → <see cref="InvalidDataException"/> (<see cref="FileNotFoundException"/> for a
/// missing file) on PNG, JPEG, WebP (encoded by SkiaSharp), BMP and GIF (written by hand), each mutated by its own
/// structure (Images/). SkiaSharp is native code: run this target in a child process (Program does), so that a crash
/// is reported with the case that caused it — its input file is left in the work folder — instead of ending the caller.
/// Framing: an empty or missing file, an unknown format, a header the codec cannot read; body: the size limits,
/// a truncated or corrupt image found while decoding, and acceptance. Besides managed allocation, the peak of the
/// process's resident memory during a case is held to the documented bound: one decoded image of at most
/// <see cref="ImageFolder.MaxPixels"/> (4 bytes a pixel) plus the slack.
/// </summary>
internal sealed class ImageTarget : Target, IDisposable
{
    /// <summary>The call: target size and colour, or a path that does not exist.</summary>
    internal sealed record Settings(int Height, int Width, bool Grayscale, bool Missing)
    {
        public override string ToString() => Missing ? "a missing file" : $"{Height}×{Width} {(Grayscale ? "gray" : "rgb")}";
    }

    private readonly List<byte[]> _seeds = [];
    private readonly string _dir;
    private readonly bool _ownDir;
    private long _nativeDelta;

    /// <summary>The largest rise of resident memory over one case (Linux, where the peak can be reset; else 0).</summary>
    public long MaxNativeDelta { get; private set; }

    public ImageTarget(string? workDir = null)
    {
        _ownDir = workDir is null;
        _dir = workDir ?? Directory.CreateTempSubdirectory("nabla-fuzz-img-").FullName;
        Directory.CreateDirectory(_dir);
        var r = new Random(11);
        _seeds.Add(Encode(Picture(r, 7, 5, SKColorType.Rgba8888, SKAlphaType.Unpremul), SKEncodedImageFormat.Png, 100));
        _seeds.Add(Encode(Picture(r, 16, 16, SKColorType.Gray8, SKAlphaType.Opaque), SKEncodedImageFormat.Png, 100));
        _seeds.Add(Encode(Picture(r, 1, 1, SKColorType.Rgba8888, SKAlphaType.Premul), SKEncodedImageFormat.Png, 100));
        _seeds.Add(Encode(Picture(r, 16, 16, SKColorType.Rgba8888, SKAlphaType.Opaque), SKEncodedImageFormat.Jpeg, 90));
        _seeds.Add(Encode(Picture(r, 33, 17, SKColorType.Rgba8888, SKAlphaType.Opaque), SKEncodedImageFormat.Jpeg, 20));
        _seeds.Add(Encode(Picture(r, 12, 9, SKColorType.Gray8, SKAlphaType.Opaque), SKEncodedImageFormat.Jpeg, 75));
        _seeds.Add(Encode(Picture(r, 33, 17, SKColorType.Rgba8888, SKAlphaType.Opaque), SKEncodedImageFormat.Webp, 75));
        using (var lossless = Picture(r, 10, 6, SKColorType.Rgba8888, SKAlphaType.Unpremul))
        using (var pixmap = lossless.PeekPixels()!)
        using (var data = pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100))!)
            _seeds.Add(data.ToArray());
        _seeds.Add(Png.Make(r, 6, 4, 8, 3));
        _seeds.Add(Png.Make(r, 3, 3, 16, 2));
        _seeds.Add(Png.Make(r, 9, 2, 1, 0));
        _seeds.Add(Png.Make(r, 5, 5, 8, 4));
        _seeds.Add(Bmp.Make(r, 5, 3, 24, 0, false));
        _seeds.Add(Bmp.Make(r, 4, 4, 8, 0, true));
        _seeds.Add(Bmp.Make(r, 3, 3, 32, 3, false));
        _seeds.Add(Bmp.Make(r, 6, 5, 8, 1, false));
        _seeds.Add(Bmp.Make(r, 9, 2, 1, 0, false));
        _seeds.Add(Gif.Make(r, 5, 4, 1, 1));
        _seeds.Add(Gif.Make(r, 16, 8, 7, 2));
    }

    private static SKBitmap Picture(Random r, int w, int h, SKColorType type, SKAlphaType alpha)
    {
        var b = new SKBitmap(new SKImageInfo(w, h, type, alpha));
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                b.SetPixel(x, y, new SKColor((byte)(x * 255 / w), (byte)(y * 255 / h), (byte)r.Next(256), alpha == SKAlphaType.Opaque ? (byte)255 : (byte)r.Next(256)));
        return b;
    }

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality)
    {
        using (bitmap)
        using (var data = bitmap.Encode(format, quality))
            return data.ToArray();
    }

    public override string Name => "images";
    public override int SeedCount => _seeds.Count;
    public override FuzzCase Seed(int i) => new(_seeds[i], "seed", new Settings(8 + i % 5, 6 + i % 7, i % 3 == 0, false));
    public override bool IsDocumented(Exception e) => e is InvalidDataException or FileNotFoundException;

    public override Stage Classify(Exception e) =>
        e is FileNotFoundException || e.Message.Contains("is not an image SkiaSharp can decode", StringComparison.Ordinal)
        || e.Message.Contains("is empty (0 bytes)", StringComparison.Ordinal) || e.Message.Contains("its header cannot be read", StringComparison.Ordinal)
            ? Stage.Framing : Stage.Body;

    public override void Execute(FuzzCase c, long index)
    {
        var s = (Settings)c.Settings!;
        // The input file is named after the case and deleted only when the call returns: a crash leaves it behind.
        string path = Path.Combine(_dir, $"case-{index}.img");
        if (s.Missing)
        {
            ImageFolder.Decode(path + ".missing", s.Height, s.Width, s.Grayscale);
            return;
        }
        File.WriteAllBytes(path, c.Data);
        long before = NativeMemory.ResetPeak();
        try
        {
            ImageFolder.Decode(path, s.Height, s.Width, s.Grayscale);
        }
        finally
        {
            _nativeDelta = before < 0 ? 0 : Math.Max(0, NativeMemory.Peak() - before);
            MaxNativeDelta = Math.Max(MaxNativeDelta, _nativeDelta);
            File.Delete(path);
        }
    }

    public override string? AfterCase(FuzzCase c)
    {
        long bound = 4 * ImageFolder.MaxPixels + (64L << 20) + 64 * c.Size;
        return _nativeDelta > bound ? $"resident memory rose {_nativeDelta >> 20} MB during a {c.Size}-byte image (bound {bound >> 20} MB)" : null;
    }

    public override long NativePeak => MaxNativeDelta;

    public override FuzzCase Mutate(Random r)
    {
        var s = new Settings(Mut.Chance(r, 0.9) ? r.Next(1, 41) : Mut.Pick(r, [1, 64, 100, 300]), Mut.Chance(r, 0.9) ? r.Next(1, 41) : Mut.Pick(r, [1, 64, 100]),
            Mut.Chance(r, 0.4), Mut.Chance(r, 0.005));
        var seed = Mut.Pick(r, _seeds);
        var done = new List<string>();
        byte[] data;
        if (Mut.Chance(r, 0.06))
        {
            data = Mut.Havoc(r, seed, Mut.Pick(r, _seeds), 6);
            done.Add("havoc");
        }
        else if (Mut.Chance(r, 0.03))
        {
            data = seed[..r.Next(seed.Length)];
            done.Add("truncate");
        }
        else
            data = seed switch
            {
                [0x89, (byte)'P', ..] => Png.Mutate(r, seed, done),
                [0xFF, 0xD8, ..] => Jpeg.Mutate(r, seed, done),
                [(byte)'R', (byte)'I', (byte)'F', (byte)'F', ..] => Webp.Mutate(r, seed, done),
                [(byte)'B', (byte)'M', ..] => Bmp.Mutate(r, seed, done),
                _ => Gif.Mutate(r, seed, done),
            };
        if (data.Length > 0 && done.Count > 0 && done[^1] != "havoc" && Mut.Chance(r, 0.08))
        {
            data = data[..r.Next(1, data.Length + 1)];   // cut short after a structural change: the incomplete-input paths
            done.Add("cut");
        }
        return new FuzzCase(data, string.Join(",", done), s);
    }

    public void Dispose()
    {
        if (!_ownDir) return;
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>The process's resident memory on Linux: the peak (VmHWM) can be reset to the current size through /proc/self/clear_refs.</summary>
internal static class NativeMemory
{
    private static bool _unsupported = !OperatingSystem.IsLinux();

    /// <summary>Resets the peak to the current resident size and returns that size, or −1 where this is not possible.</summary>
    public static long ResetPeak()
    {
        if (_unsupported) return -1;
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return Read("VmRSS:");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _unsupported = true;
            return -1;
        }
    }

    public static long Peak() => Read("VmHWM:");

    private static long Read(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line.AsSpan(key.Length).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1024;
        return -1;
    }
}
