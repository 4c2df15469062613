namespace Nabla.Data.Transforms;

/// <summary>
/// Builds the augmentations that need a trained network from its folder: <c>gan:DIR:R</c>, <c>style:DIR:P</c> (Nabla.Generative's
/// <c>NeuralAugmentations</c> implements it, so this layer does not depend on the generative models).
/// </summary>
public interface INeuralAugmentations
{
    /// <summary>
    /// A batch transform that replaces a fraction <paramref name="ratio"/> of each batch by samples of the conditional GAN
    /// saved in <paramref name="directory"/>, with hard labels or, when <paramref name="softLabels"/>, the softmax of the
    /// domain classifier saved beside it.
    /// </summary>
    BatchTransform GanSamples(string directory, double ratio, bool softLabels = false);

    /// <summary>A batch transform that restyles each image with probability <paramref name="p"/> through the AdaIN styler saved in <paramref name="directory"/>.</summary>
    BatchTransform StyleSamples(string directory, double p);
}

/// <summary>
/// Data augmentation for a <see cref="DataLoader"/>: a per-sample image <see cref="Transform"/> applied to each image
/// of a batch, then an optional <see cref="BatchTransform"/> (MixUp, CutMix). Plug it in with
/// <c>new DataLoader(...) { Transform = augmentation.AsLoaderTransform(classes) }</c> or
/// <c>TrainerOptions.Transform</c>; it runs on the loader's worker with the loader's per-batch generator, so the same
/// seed gives the same batches. Build one in code or from a spec string with <see cref="Parse"/>.
/// </summary>
public sealed partial class Augmentation
{
    /// <summary>Creates an augmentation.</summary>
    /// <param name="perSample">Applied to each image (C, H, W) in turn; null for none.</param>
    /// <param name="perBatch">Applied to the whole batch afterwards; null for none.</param>
    /// <param name="source">Applied first, to the real batch (generated samples replacing some of it); null for none.</param>
    public Augmentation(Transform? perSample = null, BatchTransform? perBatch = null, BatchTransform? source = null)
    {
        PerSample = perSample;
        PerBatch = perBatch;
        Source = source;
    }

    /// <summary>The batch transform applied before the others (gan:DIR:R), or null.</summary>
    public BatchTransform? Source { get; }

    /// <summary>The restyling applied after <see cref="Source"/> and before the per-image transforms (style:DIR:P), or null.</summary>
    public BatchTransform? Style { get; init; }

    /// <summary>The per-sample transform, or null.</summary>
    public Transform? PerSample { get; }
    /// <summary>The batch transform, or null.</summary>
    public BatchTransform? PerBatch { get; }
    /// <summary>The spec this augmentation was parsed from (<see cref="Parse"/>), or null.</summary>
    public string? Spec { get; private init; }
    /// <summary>Whether it does nothing.</summary>
    public bool IsEmpty => PerSample is null && PerBatch is null && Source is null && Style is null;

    /// <summary>
    /// Augments one batch: <see cref="PerSample"/> on images 0, 1, … B−1 in order with the same generator (so the result
    /// is deterministic), then <see cref="PerBatch"/>. Features (B, C, H, W) or (B, H, W) (taken as one channel); the
    /// per-sample transform may change H and W (e.g. a crop) but must give every image the same shape.
    /// </summary>
    /// <param name="batch">The batch.</param>
    /// <param name="g">The batch's generator.</param>
    /// <param name="numClasses">Classes for the one-hot targets of a batch transform.</param>
    /// <exception cref="ArgumentException">features that are not images when a per-sample transform is set, or
    /// images transformed to different shapes.</exception>
    public Batch Apply(Batch batch, Generator g, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(g);
        if (Source is not null) batch = Source.Apply(batch, g, numClasses);
        if (Style is not null) batch = Style.Apply(batch, g, numClasses);
        if (PerSample is not null) batch = batch with { Features = ApplyPerSample(batch.Features, PerSample, g) };
        if (PerBatch is not null) batch = PerBatch.Apply(batch, g, numClasses);
        return batch;
    }

    /// <summary>
    /// <see cref="Apply"/> as a <see cref="DataLoader.Transform"/> (and <c>TrainerOptions.Transform</c>).
    /// </summary>
    /// <param name="numClasses">Classes for the one-hot targets of MixUp/CutMix (the dataset's <c>NumClasses</c>).</param>
    public Func<Batch, Generator, Batch> AsLoaderTransform(int numClasses) => (batch, g) => Apply(batch, g, numClasses);

    private static Tensor ApplyPerSample(Tensor features, Transform transform, Generator g)
    {
        var shape = features.Shape;
        if (shape.Count is not (3 or 4))
            throw new ArgumentException($"Augmentation: image transforms need features (N, C, H, W) or (N, H, W); these are {Shapes.Format([.. shape])}. " +
                "Load images with their shape (e.g. Fashion-MNIST gives (N, 1, 28, 28)) and flatten inside the model.", nameof(features));
        int n = shape[0], c = shape.Count == 4 ? shape[1] : 1, h = shape[^2], w = shape[^1], per = c * h * w;
        // Read the batch in place and write into a pooled tensor: two fresh large arrays per batch made the
        // large-object heap grow by hundreds of MB an epoch on the loader's thread.
        var xt = features.Contiguous();
        ReadOnlyMemory<float> x = xt.TryHostMemory(out var values) ? values : features.ToArray();
        Tensor? result = null;
        float[]? o = null;
        int oc = 0, oh = 0, ow = 0;
        for (int i = 0; i < n; i++)
        {
            var image = transform.Apply(Tensor.FromArray(x.Span.Slice(i * per, per), c, h, w), g);
            if (image.Rank != 3) throw new ArgumentException($"Augmentation: the transform returned shape {Shapes.Format([.. image.Shape])}, not (C, H, W).");
            if (o is null)
            {
                (oc, oh, ow) = (image.Shape[0], image.Shape[1], image.Shape[2]);
                result = Tensor.Uninitialized(Tensor.DefaultBackend, shape.Count == 3 && oc == 1 ? [n, oh, ow] : [n, oc, oh, ow]);
                o = BatchTransform.HostArray(result);
            }
            else if (image.Shape[0] != oc || image.Shape[1] != oh || image.Shape[2] != ow)
                throw new ArgumentException($"Augmentation: image {i} became {Shapes.Format([.. image.Shape])} but image 0 became ({oc}, {oh}, {ow}); every image must end with one shape.");
            image.Backend.ToHost(image, o.AsSpan(i * oc * oh * ow, oc * oh * ow));
        }
        GC.KeepAlive(xt);
        return result ?? features;
    }

    /// <summary>
    /// Tiles images into one RGB picture for a preview (e.g. a PNG of augmented samples): images (C, H, W) or (H, W)
    /// fill a grid row by row, <paramref name="columns"/> per row, each in a cell of the largest H×W, with 2-pixel white
    /// gaps between cells (no outer border). 1-channel (and 2-channel) images are shown gray from their first channel,
    /// 3-or-more-channel ones as RGB from the first three; values are clamped to [0, 1] (NaN shows black), and the
    /// unused space is white (1).
    /// </summary>
    /// <param name="images">The images.</param>
    /// <param name="columns">Cells per row (fewer if there are fewer images).</param>
    /// <param name="height">Height H' of the picture.</param>
    /// <param name="width">Width W' of the picture.</param>
    /// <returns>The picture (3, H', W') row-major, values in [0, 1].</returns>
    /// <exception cref="ArgumentException">no images, or one that is not (C, H, W) or (H, W).</exception>
    /// <exception cref="ArgumentOutOfRangeException">columns below 1.</exception>
    public static float[] Grid(IReadOnlyList<Tensor> images, int columns, out int height, out int width)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("Grid: needs at least one image.", nameof(images));
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "Grid: columns must be at least 1.");
        const int gap = 2;
        int cellH = 0, cellW = 0;
        foreach (var im in images)
        {
            if (im is null || im.Rank is not (2 or 3) || im.Numel == 0)
                throw new ArgumentException($"Grid: every image must be a non-empty (C, H, W) or (H, W); got {(im is null ? "null" : Shapes.Format([.. im.Shape]))}.", nameof(images));
            cellH = Math.Max(cellH, im.Shape[^2]);
            cellW = Math.Max(cellW, im.Shape[^1]);
        }
        int cols = Math.Min(columns, images.Count), rows = (images.Count + cols - 1) / cols;
        height = rows * cellH + (rows - 1) * gap;
        width = cols * cellW + (cols - 1) * gap;
        int plane = height * width;
        var o = new float[3 * plane];
        Array.Fill(o, 1f);
        for (int k = 0; k < images.Count; k++)
        {
            var im = images[k];
            int c = im.Rank == 3 ? im.Shape[0] : 1, h = im.Shape[^2], w = im.Shape[^1], hw = h * w;
            var x = im.ToArray();
            int oy = k / cols * (cellH + gap), ox = k % cols * (cellW + gap);
            for (int ch = 0; ch < 3; ch++)
            {
                int src = (c >= 3 ? ch : 0) * hw;
                for (int r = 0; r < h; r++)
                    for (int q = 0; q < w; q++)
                        o[ch * plane + (oy + r) * width + ox + q] = Pixels.Clamp01(x[src + r * w + q]);
            }
        }
        return o;
    }
}
