using Nabla.Data;
using SkiaSharp;

namespace Nabla.Imaging;

/// <summary>
/// Images on disk (torchvision's ImageFolder): one sub-folder per class, named by the class, holding PNG or JPEG
/// files; classes are the sub-folder names sorted ordinally. Every image is decoded with SkiaSharp, resized to the
/// target size (bilinear) and becomes (C, H, W) floats in [0, 1] — C = 1 for grayscale, 3 for colour (RGB).
/// Files are untrusted: anything wrong with their content is an <see cref="InvalidDataException"/> with a one-line
/// message naming the file or folder, and no image over <see cref="MaxPixels"/> is decoded.
/// </summary>
public static class ImageFolder
{
    /// <summary>
    /// The largest image accepted, in pixels (width × height as its header states): 64 megapixels, 256 MB decoded.
    /// Larger images are refused before any pixel is decoded, so a forged header cannot cause a huge allocation.
    /// </summary>
    public const long MaxPixels = 64_000_000;

    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    /// <summary>
    /// The images directly in <paramref name="folder"/> (no classes: e.g. a folder of style pictures), files sorted
    /// ordinally, each decoded and resized to (C, <paramref name="height"/>, <paramref name="width"/>), as one
    /// (N, C, H, W) array of values in [0, 1].
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">the folder is missing.</exception>
    /// <exception cref="InvalidDataException">it holds no image, or one that cannot be decoded (the message names it).</exception>
    public static (float[] Pixels, int Count) LoadFlat(string folder, int height, int width, bool grayscale = false)
    {
        ArgumentNullException.ThrowIfNull(folder);
        CheckSize(height, width);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"ImageFolder: '{folder}' is not a folder.");
        var files = Files(folder);
        if (files.Length == 0) throw new InvalidDataException($"ImageFolder: '{folder}' has no PNG or JPEG images (nor BMP, GIF, WebP).");
        int size = (grayscale ? 1 : 3) * height * width;
        if ((long)files.Length * size > Array.MaxLength)
            throw new InvalidDataException($"ImageFolder: '{folder}' has {files.Length} images; at {height}×{width} they are more values than one tensor holds.");
        var pixels = new float[files.Length * size];
        for (int i = 0; i < files.Length; i++) DecodeInto(files[i], height, width, grayscale, pixels.AsSpan(i * size, size));
        return (pixels, files.Length);
    }

    /// <summary>The image files directly in <paramref name="folder"/> (PNG, JPEG, BMP, GIF, WebP), sorted ordinally: <see cref="LoadFlat"/>'s order.</summary>
    /// <exception cref="DirectoryNotFoundException">the folder is missing.</exception>
    public static string[] Files(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"ImageFolder: '{folder}' is not a folder.");
        return [.. Directory.GetFiles(folder).Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal)];
    }

    /// <summary>The class names of an image folder: its sub-folder names, sorted ordinally.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="root"/> is null.</exception>
    /// <exception cref="DirectoryNotFoundException">the folder is missing.</exception>
    /// <exception cref="InvalidDataException">the folder has no sub-folders.</exception>
    public static IReadOnlyList<string> ClassNames(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        return ClassFolders(root);
    }

    /// <summary>
    /// Loads every image under <paramref name="root"/> as a dataset of (N, C, H, W) features and class labels.
    /// Without <paramref name="classes"/>, the classes are the sub-folder names sorted ordinally (see
    /// <see cref="ClassNames"/>). With it — the classes of a model or of the training folder — label i means
    /// <c>classes[i]</c>, folders are matched to it by name (ordinal), the dataset's ClassNames is exactly that list, and
    /// a class may have no folder here. Every folder is listed and checked before the first image is decoded.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="root"/> is null.</exception>
    /// <exception cref="ArgumentException">a size is below 1 or over <see cref="MaxPixels"/>, or <paramref name="classes"/>
    /// is empty, holds a null, empty or repeated name.</exception>
    /// <exception cref="DirectoryNotFoundException"><paramref name="root"/> is missing.</exception>
    /// <exception cref="InvalidDataException">no class sub-folders; a class folder with no images; a folder not in
    /// <paramref name="classes"/>; more images than one tensor holds; or an image that <see cref="Decode"/> refuses.
    /// The one-line message names the file or folder.</exception>
    public static TensorDataset Load(string root, int height, int width, bool grayscale = false, IReadOnlyList<string>? classes = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        CheckSize(height, width);
        var names = classes is null ? null : CheckClasses(classes);
        var folders = ClassFolders(root);
        names ??= folders;
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++) index[names[i]] = i;
        foreach (var folder in folders)
            if (!index.ContainsKey(folder))
                throw new InvalidDataException($"ImageFolder: folder '{folder}' in '{root}' is not one of the known classes ({Listed(names)}).");

        // Samples go in class order, files sorted ordinally within a class (as torchvision's ImageFolder).
        var present = folders.ToHashSet(StringComparer.Ordinal);
        var samples = new List<(string File, int Label)>();
        for (int c = 0; c < names.Length; c++)
        {
            if (!present.Contains(names[c])) continue;
            var files = Directory.GetFiles(Path.Combine(root, names[c]))
                .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToArray();
            if (files.Length == 0)
                throw new InvalidDataException($"ImageFolder: class folder '{names[c]}' in '{root}' has no PNG or JPEG images (nor BMP, GIF, WebP).");
            foreach (var file in files) samples.Add((file, c));
        }

        int channels = grayscale ? 1 : 3, size = channels * height * width;
        if ((long)samples.Count * size > Array.MaxLength)
            throw new InvalidDataException($"ImageFolder: '{root}' has {samples.Count} images; at ({channels}, {height}, {width}) each they are more values than one tensor holds ({Array.MaxLength}).");
        // One buffer filled in place: a growing list would need up to three copies of the dataset at once.
        var pixels = new float[samples.Count * size];
        var labels = new int[samples.Count];
        for (int i = 0; i < samples.Count; i++)
        {
            DecodeInto(samples[i].File, height, width, grayscale, pixels.AsSpan(i * size, size));
            labels[i] = samples[i].Label;
        }
        return new TensorDataset(Tensor.FromArray(pixels, samples.Count, channels, height, width), IntTensor.FromArray(labels), names.Length, names);
    }

    /// <summary>
    /// One image file (PNG, JPEG, BMP, GIF or WebP) as (C, H, W) floats in [0, 1], resized to height × width with
    /// bilinear sampling; C = 1 (luma 0.299 R + 0.587 G + 0.114 B) for grayscale, else 3 (RGB). The header is read
    /// first: an image over <see cref="MaxPixels"/> is refused before decoding. A JPEG larger than the target is decoded
    /// at the smallest of 1/8, 1/4, 1/2 of its size that still covers the target, then resized; memory beyond the result
    /// is at most the decoded image (4 bytes a pixel) and the resized one.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">a size is below 1, or height × width is over <see cref="MaxPixels"/>.</exception>
    /// <exception cref="FileNotFoundException">the file is missing (other I/O failures keep their own exception).</exception>
    /// <exception cref="InvalidDataException">the file is empty, not an image SkiaSharp can decode, truncated or corrupt,
    /// 0 pixels wide or high, or over <see cref="MaxPixels"/>; the one-line message names the file.</exception>
    public static float[] Decode(string path, int height, int width, bool grayscale = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        CheckSize(height, width);
        var result = new float[(grayscale ? 1 : 3) * height * width];
        DecodeInto(path, height, width, grayscale, result);
        return result;
    }

    private static void DecodeInto(string path, int height, int width, bool grayscale, Span<float> result)
    {
        // The size comes from the file system (through links) before opening: a FIFO or device reports 0 and is never
        // opened, as opening a FIFO would wait for a writer.
        var entry = new FileInfo(path);
        if (entry.LinkTarget is not null && entry.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target) entry = target;
        if (entry.Length == 0) throw new InvalidDataException($"ImageFolder: '{path}' is empty (0 bytes).");
        // Skia reads the file itself (SKFileStream): through a managed stream, a forged offset (a BMP's pixels 4 GB on)
        // asks SKManagedStream for more than 2 GB, and its exception inside the native callback ends the process.
        // Opening it here first keeps the documented exceptions (FileNotFoundException, UnauthorizedAccessException …).
        using (File.OpenRead(path)) { }
        var file = new SKFileStream(path);
        if (!file.IsValid)
        {
            file.Dispose();
            throw new IOException($"ImageFolder: '{path}' cannot be opened.");
        }
        using var codec = SKCodec.Create(file, out var opened);   // owns the stream, or has deleted it when null
        if (codec is null)
            throw new InvalidDataException(opened == SKCodecResult.Unimplemented
                ? $"ImageFolder: '{path}' is not an image SkiaSharp can decode (PNG, JPEG, BMP, GIF, WebP)."
                : $"ImageFolder: '{path}' is truncated or corrupt (its header cannot be read: {opened}).");
        var full = codec.Info;
        if (full.Width < 1 || full.Height < 1)
            throw new InvalidDataException($"ImageFolder: '{path}' claims to be {full.Width}×{full.Height} pixels; an image needs at least 1×1.");
        if ((long)full.Width * full.Height > MaxPixels)
            throw new InvalidDataException($"ImageFolder: '{path}' is {full.Width}×{full.Height} = {(long)full.Width * full.Height} pixels, over the limit of {MaxPixels} (ImageFolder.MaxPixels).");

        var scaled = DecodedSize(codec, height, width);
        // As SKBitmap.Decode did (so images give the same pixels as before): the codec's own colour type, premultiplied
        // alpha, no colour space; a colour type over 4 bytes a pixel (no codec today reports one) goes to 8 bits.
        var info = new SKImageInfo(scaled.Width, scaled.Height,
            full.BytesPerPixel > 4 ? SKImageInfo.PlatformColorType : full.ColorType,
            full.AlphaType == SKAlphaType.Unpremul ? SKAlphaType.Premul : full.AlphaType);
        using var decoded = new SKBitmap(info);
        var status = codec.GetPixels(info, decoded.GetPixels());
        if (status is SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput)
            throw new InvalidDataException($"ImageFolder: '{path}' is truncated or corrupt ({status}).");
        if (status != SKCodecResult.Success)
            throw new InvalidDataException($"ImageFolder: '{path}' could not be decoded ({status}).");
        using var resized = decoded.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKFilterMode.Linear))
            ?? throw new InvalidDataException($"ImageFolder: '{path}' could not be resized to {width}×{height}.");

        var rgba = resized.GetPixelSpan();
        int stride = resized.RowBytes, plane = height * width;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int p = y * stride + 4 * x, at = y * width + x;
                byte r = rgba[p], g = rgba[p + 1], b = rgba[p + 2];
                if (grayscale) result[at] = (0.299f * r + 0.587f * g + 0.114f * b) / 255f;
                else
                {
                    result[at] = r / 255f;
                    result[plane + at] = g / 255f;
                    result[2 * plane + at] = b / 255f;
                }
            }
    }

    /// <summary>The smallest size the decoder produces natively that still covers height × width (JPEG: 1/8, 1/4, 1/2).</summary>
    private static SKSizeI DecodedSize(SKCodec codec, int height, int width)
    {
        foreach (float scale in (ReadOnlySpan<float>)[0.125f, 0.25f, 0.5f])
        {
            var size = codec.GetScaledDimensions(scale);
            if (size.Width >= width && size.Height >= height) return size;
        }
        return codec.Info.Size;
    }

    /// <summary>The sub-folder names of <paramref name="root"/>, sorted ordinally; at least one.</summary>
    private static string[] ClassFolders(string root)
    {
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException(File.Exists(root)
                ? $"ImageFolder: '{root}' is a file, not a folder of class folders."
                : $"ImageFolder: '{root}' does not exist.");
        var folders = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        if (folders.Length == 0) throw new InvalidDataException($"ImageFolder: '{root}' has no class sub-folders (expected one folder per class).");
        return folders;
    }

    private static void CheckSize(int height, int width)
    {
        if (height < 1) throw new ArgumentOutOfRangeException(nameof(height), $"ImageFolder: the target height must be at least 1 (got {height}).");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), $"ImageFolder: the target width must be at least 1 (got {width}).");
        if ((long)height * width > MaxPixels)
            throw new ArgumentOutOfRangeException(nameof(height), $"ImageFolder: a target of {width}×{height} is over {MaxPixels} pixels (ImageFolder.MaxPixels).");
    }

    private static string[] CheckClasses(IReadOnlyList<string> classes)
    {
        if (classes.Count == 0) throw new ArgumentException("ImageFolder: the class list is empty.", nameof(classes));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < classes.Count; i++)
        {
            if (string.IsNullOrEmpty(classes[i])) throw new ArgumentException($"ImageFolder: class {i} has no name.", nameof(classes));
            if (!seen.Add(classes[i])) throw new ArgumentException($"ImageFolder: class '{classes[i]}' appears twice in the class list.", nameof(classes));
        }
        return [.. classes];
    }

    /// <summary>The names for a message; a long list is cut short so the message stays one readable line.</summary>
    private static string Listed(string[] names) =>
        names.Length <= 20 ? string.Join(", ", names) : string.Join(", ", names.Take(20)) + $", … ({names.Length} in all)";

    /// <summary>Writes (3, H, W) or (1, H, W) floats in [0, 1] as a PNG (for previews).</summary>
    public static void SavePng(float[] image, int channels, int height, int width, string path)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(path);
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "SavePng: channels must be 1 or 3.");
        if (height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(height), $"SavePng: the size must be positive, got {width}×{height}.");
        if (image.LongLength != (long)channels * height * width)
            throw new ArgumentException($"SavePng: {image.Length} values for a ({channels}, {height}, {width}) image.", nameof(image));
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
        // All or nothing, and never over a device or a folder (renaming over /dev/full would replace the device node).
        Nabla.IO.AtomicFile.Write(path, data.AsSpan());
    }
}
