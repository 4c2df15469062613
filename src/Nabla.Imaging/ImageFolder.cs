using Nabla.Data;
using SkiaSharp;

namespace Nabla.Imaging;

/// <summary>
/// Images on disk (torchvision's ImageFolder): one sub-folder per class, named by the class, holding PNG or JPEG
/// files; classes are the sub-folder names sorted ordinally. Every image is decoded with SkiaSharp, resized to the
/// target size (bilinear) and becomes (C, H, W) floats in [0, 1] — C = 1 for grayscale, 3 for colour (RGB).
/// </summary>
public static class ImageFolder
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    /// <summary>Loads every image under <paramref name="root"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">the folder is missing.</exception>
    /// <exception cref="InvalidDataException">no class folders or images, or an image cannot be decoded (the message names it).</exception>
    public static TensorDataset Load(string root, int height, int width, bool grayscale = false)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(height), "ImageFolder: the target size must be positive.");
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"ImageFolder: '{root}' does not exist.");
        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0) throw new InvalidDataException($"ImageFolder: '{root}' has no class sub-folders (expected one folder per class).");
        int channels = grayscale ? 1 : 3;
        var pixels = new List<float>();
        var labels = new List<int>();
        for (int c = 0; c < classes.Length; c++)
        {
            var files = Directory.GetFiles(Path.Combine(root, classes[c]))
                .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal);
            foreach (var file in files)
            {
                pixels.AddRange(Decode(file, height, width, grayscale));
                labels.Add(c);
            }
        }
        if (labels.Count == 0) throw new InvalidDataException($"ImageFolder: no PNG or JPEG images under '{root}'.");
        return new TensorDataset(Tensor.FromArray(pixels.ToArray(), labels.Count, channels, height, width), IntTensor.FromArray(labels.ToArray()), classes.Length, classes);
    }

    /// <summary>One image file as (C, H, W) floats in [0, 1], resized to height × width.</summary>
    /// <exception cref="InvalidDataException">the file is not a decodable image.</exception>
    public static float[] Decode(string path, int height, int width, bool grayscale = false)
    {
        using var original = SKBitmap.Decode(path) ?? throw new InvalidDataException($"ImageFolder: '{path}' is not a PNG or JPEG image SkiaSharp can decode.");
        using var resized = original.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKFilterMode.Linear))
            ?? throw new InvalidDataException($"ImageFolder: '{path}' could not be resized to {width}×{height}.");
        int channels = grayscale ? 1 : 3;
        var result = new float[channels * height * width];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var p = resized.GetPixel(x, y);
                int at = y * width + x;
                if (grayscale) result[at] = (0.299f * p.Red + 0.587f * p.Green + 0.114f * p.Blue) / 255f;
                else
                {
                    result[at] = p.Red / 255f;
                    result[height * width + at] = p.Green / 255f;
                    result[2 * height * width + at] = p.Blue / 255f;
                }
            }
        return result;
    }

    /// <summary>Writes (3, H, W) or (1, H, W) floats in [0, 1] as a PNG (for previews).</summary>
    public static void SavePng(float[] image, int channels, int height, int width, string path)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        byte B(float v) => (byte)Math.Clamp((int)MathF.Round(v * 255f), 0, 255);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int at = y * width + x;
                byte r = B(image[at]), g = channels == 3 ? B(image[height * width + at]) : r, b = channels == 3 ? B(image[2 * height * width + at]) : r;
                bitmap.SetPixel(x, y, new SKColor(r, g, b));
            }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        string tmp = path + ".tmp";
        using (var f = File.Create(tmp)) data.SaveTo(f);
        File.Move(tmp, path, overwrite: true);
    }
}
