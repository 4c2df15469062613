namespace Nabla.Data;

/// <summary>What the targets of a dataset are.</summary>
public enum TaskKind
{
    /// <summary>Integer class labels; cross-entropy, accuracy.</summary>
    Classification,
    /// <summary>Real-valued targets (N, outputs); MSE, MAE, R².</summary>
    Regression,
}

/// <summary>
/// An in-memory dataset: features (N, …) — images keep (N, C, H, W), tables are (N, features) — and either
/// class labels (N) or regression targets (N, outputs). Every source (IDX, CSV, image folders) loads into one.
/// </summary>
public sealed class TensorDataset
{
    /// <summary>Wraps features and class labels.</summary>
    /// <exception cref="ArgumentException">the counts differ, or a label is outside 0..classes−1.</exception>
    public TensorDataset(Tensor features, IntTensor labels, int? numClasses = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (features.Rank == 0 || labels.Rank != 1 || labels.Numel != features.Shape[0])
            throw new ArgumentException($"TensorDataset: features {Shapes.Format(features.Shape.ToArray())} and labels {Shapes.Format(labels.ShapeArray)} must hold one label per sample (N).");
        int classes = numClasses ?? classNames?.Count ?? (labels.Numel == 0 ? 0 : labels.Data.Max() + 1);
        foreach (int y in labels.Data)
            if ((uint)y >= (uint)classes)
                throw new ArgumentException($"TensorDataset: label {y} is outside 0..{classes - 1}.", nameof(labels));
        if (classNames is not null && classNames.Count != classes)
            throw new ArgumentException($"TensorDataset: {classNames.Count} class names for {classes} classes.", nameof(classNames));
        Features = features;
        Labels = labels;
        NumClasses = classes;
        ClassNames = classNames ?? Enumerable.Range(0, classes).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Task = TaskKind.Classification;
    }

    /// <summary>Wraps features and regression targets (N) or (N, outputs); a 1-D target becomes (N, 1).</summary>
    public TensorDataset(Tensor features, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Rank == 1) targets = targets.Reshape(-1, 1);
        if (features.Rank == 0 || targets.Rank != 2 || targets.Shape[0] != features.Shape[0])
            throw new ArgumentException($"TensorDataset: features {Shapes.Format(features.Shape.ToArray())} and targets {Shapes.Format(targets.Shape.ToArray())} must have the same number of samples.");
        Features = features;
        Targets = targets;
        ClassNames = [];
        Task = TaskKind.Regression;
    }

    /// <summary>
    /// Images kept as 8-bit pixels, as torchvision keeps MNIST's uint8 data: a quarter of the memory of floats, each
    /// pixel scaled to p/255 when a batch is gathered (<see cref="Rows"/>), or all at once on first use of
    /// <see cref="Features"/>.
    /// </summary>
    /// <param name="pixels">N·C·H·W bytes, row-major (sample-major).</param>
    /// <param name="shape">(N, C, H, W) or any (N, …) whose product is the pixel count.</param>
    /// <param name="labels">One class label per sample.</param>
    /// <param name="numClasses">Number of classes (default: the class names' count, else the largest label + 1).</param>
    /// <param name="classNames">Class names, index = label.</param>
    /// <exception cref="ArgumentException">the shape does not match the pixel count, the counts differ, or a label is out of range.</exception>
    public static TensorDataset FromPixels(byte[] pixels, int[] shape, IntTensor labels, int? numClasses = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        return FromPixels(pixels.AsMemory(), shape, labels, numClasses, classNames);
    }

    /// <summary>
    /// As <see cref="FromPixels(byte[], int[], IntTensor, int?, IReadOnlyList{string}?)"/>, over memory that the
    /// dataset reads but never writes (an array, or a memory-mapped file such as <see cref="Idx"/>'s cache); it must
    /// stay unchanged while the dataset is in use.
    /// </summary>
    /// <exception cref="ArgumentException">the shape does not match the pixel count, the counts differ, or a label is out of range.</exception>
    public static TensorDataset FromPixels(ReadOnlyMemory<byte> pixels, int[] shape, IntTensor labels, int? numClasses = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long numel = 1;
        foreach (int d in shape) numel *= d >= 0 ? d : throw new ArgumentException($"TensorDataset.FromPixels: negative size in shape {Shapes.Format(shape)}.", nameof(shape));
        if (shape.Length == 0 || numel != pixels.Length)
            throw new ArgumentException($"TensorDataset.FromPixels: shape {Shapes.Format(shape)} holds {numel} values but {pixels.Length} pixels were given.", nameof(shape));
        return new TensorDataset(pixels, (int[])shape.Clone(), labels, numClasses, classNames);
    }

    private TensorDataset(ReadOnlyMemory<byte> pixels, int[] shape, IntTensor labels, int? numClasses, IReadOnlyList<string>? classNames)
        : this(Tensor.Zeros(shape[0], 0), labels, numClasses, classNames)
    {
        _pixels = pixels;
        _shape = shape;
        _features = null;
    }

    /// <summary>
    /// dst[j] = src[j] / 255 in float: the bytes converted exactly, then divided (IEEE division: the bits of
    /// <c>b / 255f</c>), both vectorised by TensorPrimitives — ~3× faster than a lookup table on the loader's thread,
    /// which shares the cores with the training step.
    /// </summary>
    internal static void ScalePixels(ReadOnlySpan<byte> src, Span<float> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException($"TensorDataset.ScalePixels: {dst.Length} floats for {src.Length} pixels.", nameof(dst));
        var d = dst[..src.Length];
        System.Numerics.Tensors.TensorPrimitives.ConvertTruncating<byte, float>(src, d);
        System.Numerics.Tensors.TensorPrimitives.Divide(d, 255f, d);
    }

    private readonly ReadOnlyMemory<byte> _pixels;   // meaningful when _shape is set (a pixel dataset)
    private readonly int[]? _shape;
    private Tensor? _features;

    /// <summary>(N, …) inputs (for a <see cref="FromPixels(ReadOnlyMemory{byte}, int[], IntTensor, int?, IReadOnlyList{string}?)"/> dataset built from the pixels on first use and kept).</summary>
    public Tensor Features
    {
        get
        {
            if (_features is not null) return _features;
            var all = new int[Count];
            for (int i = 0; i < all.Length; i++) all[i] = i;
            var x = Rows(all);
            return Interlocked.CompareExchange(ref _features, x, null) ?? x;
        }
        private init => _features = value;
    }

    /// <summary>Whether the features are kept as 8-bit pixels (<see cref="FromPixels(ReadOnlyMemory{byte}, int[], IntTensor, int?, IReadOnlyList{string}?)"/>).</summary>
    public bool HoldsPixels => _shape is not null;

    /// <summary>The features of the given samples, in that order, as a new (indices.Length, …) tensor.</summary>
    /// <exception cref="ArgumentOutOfRangeException">an index is outside 0..N−1.</exception>
    public Tensor Rows(ReadOnlySpan<int> indices)
    {
        if (!HoldsPixels) return Features.Detach().IndexSelect(0, new IntTensor(indices.ToArray(), indices.Length));
        var shape = (int[])_shape!.Clone();
        shape[0] = indices.Length;
        var x = Tensor.Uninitialized(Tensor.DefaultBackend, shape);
        RowsInto(indices, x);
        return x;
    }

    // Rows of a pixel dataset scaled to x/255 into a contiguous tensor of their shape (Rows, and the loader's reused buffers).
    internal void RowsInto(ReadOnlySpan<int> indices, Tensor x)
    {
        int row = _pixels.Length / Math.Max(1, Count), n = Count;
        var pixels = _pixels.Span;
        var dst = (x.TryHostMemory(out var values) ? values : throw new ArgumentException("TensorDataset: rows go into a contiguous host tensor.", nameof(x))).Span[..(indices.Length * row)];
        for (int k = 0; k < indices.Length; k++)
        {
            int i = indices[k];
            if ((uint)i >= (uint)n) throw new ArgumentOutOfRangeException(nameof(indices), i, $"TensorDataset.Rows: index {i} is outside 0..{n - 1}.");
            ScalePixels(pixels.Slice(i * row, row), dst.Slice(k * row, row));
        }
    }

    /// <summary>Class labels (N), or null for regression.</summary>
    public IntTensor? Labels { get; }

    /// <summary>Regression targets (N, outputs), or null for classification.</summary>
    public Tensor? Targets { get; }

    /// <summary>Classification or regression.</summary>
    public TaskKind Task { get; }

    /// <summary>Number of classes (0 for regression).</summary>
    public int NumClasses { get; }

    /// <summary>Class names, index = label.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Number of samples.</summary>
    public int Count => _shape?[0] ?? Features.Shape[0];

    /// <summary>The shape of one sample, e.g. (1, 28, 28) or (features).</summary>
    public int[] SampleShape => (_shape ?? Features.Shape.ToArray()).Skip(1).ToArray();

    /// <summary>Model outputs needed: the class count, or the target width.</summary>
    public int OutputSize => Task == TaskKind.Classification ? NumClasses : Targets!.Shape[1];

    /// <summary>The samples at the given indices (copied), in that order.</summary>
    public TensorDataset Subset(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var idx = new IntTensor(indices.ToArray(), indices.Count);
        if (HoldsPixels)
        {
            int row = _pixels.Length / Math.Max(1, Count);
            var source = _pixels.Span;
            var pixels = new byte[(long)indices.Count * row];
            for (int k = 0; k < indices.Count; k++)
            {
                int i = indices[k];
                if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), i, $"TensorDataset.Subset: index {i} is outside 0..{Count - 1}.");
                source.Slice(i * row, row).CopyTo(pixels.AsSpan(k * row, row));
            }
            var shape = (int[])_shape!.Clone();
            shape[0] = indices.Count;
            return new TensorDataset(pixels, shape, new IntTensor(indices.Select(i => Labels!.Data[i]).ToArray(), indices.Count), NumClasses, ClassNames);
        }
        var x = Features.Detach().IndexSelect(0, idx);
        return Task == TaskKind.Classification
            ? new TensorDataset(x, new IntTensor(indices.Select(i => Labels!.Data[i]).ToArray(), indices.Count), NumClasses, ClassNames)
            : new TensorDataset(x, Targets!.Detach().IndexSelect(0, idx));
    }

    /// <summary>The same samples and labels under new class names (as many as <see cref="NumClasses"/>).</summary>
    /// <exception cref="InvalidOperationException">the dataset is a regression dataset.</exception>
    /// <exception cref="ArgumentException">the number of names differs from <see cref="NumClasses"/>.</exception>
    public TensorDataset WithClassNames(IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        if (Task != TaskKind.Classification) throw new InvalidOperationException("TensorDataset.WithClassNames: a regression dataset has no classes.");
        if (classNames.Count != NumClasses)
            throw new ArgumentException($"TensorDataset.WithClassNames: {classNames.Count} names for {NumClasses} classes.", nameof(classNames));
        return HoldsPixels
            ? new TensorDataset(_pixels, _shape!, Labels!, NumClasses, classNames)
            : new TensorDataset(Features, Labels!, NumClasses, classNames);
    }

    /// <summary>The samples of <paramref name="first"/> followed by those of <paramref name="second"/>.</summary>
    /// <exception cref="ArgumentException">the two differ in task, sample shape, classes or target width.</exception>
    public static TensorDataset Concat(TensorDataset first, TensorDataset second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (first.Task != second.Task || !first.SampleShape.SequenceEqual(second.SampleShape) || first.OutputSize != second.OutputSize
            || !first.ClassNames.SequenceEqual(second.ClassNames, StringComparer.Ordinal))
            throw new ArgumentException($"TensorDataset.Concat: samples {Shapes.Format(first.SampleShape)} ({first.Task}, {first.OutputSize} outputs) and " +
                $"{Shapes.Format(second.SampleShape)} ({second.Task}, {second.OutputSize} outputs) with other classes cannot be joined.");
        var x = Tensor.Concat([first.Features.Detach(), second.Features.Detach()], 0);
        return first.Task == TaskKind.Classification
            ? new TensorDataset(x, new IntTensor([.. first.Labels!.Data, .. second.Labels!.Data], first.Count + second.Count), first.NumClasses, first.ClassNames)
            : new TensorDataset(x, Tensor.Concat([first.Targets!.Detach(), second.Targets!.Detach()], 0));
    }

    /// <summary>The same samples with new features (e.g. standardised), keeping targets and class names.</summary>
    public TensorDataset WithFeatures(Tensor features) => Task == TaskKind.Classification
        ? new TensorDataset(features, Labels!, NumClasses, ClassNames)
        : new TensorDataset(features, Targets!);
}
