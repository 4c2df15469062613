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

    /// <summary>(N, …) inputs.</summary>
    public Tensor Features { get; }

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
    public int Count => Features.Shape[0];

    /// <summary>The shape of one sample, e.g. (1, 28, 28) or (features).</summary>
    public int[] SampleShape => Features.Shape.Skip(1).ToArray();

    /// <summary>Model outputs needed: the class count, or the target width.</summary>
    public int OutputSize => Task == TaskKind.Classification ? NumClasses : Targets!.Shape[1];

    /// <summary>The samples at the given indices (copied), in that order.</summary>
    public TensorDataset Subset(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var idx = new IntTensor(indices.ToArray(), indices.Count);
        var x = Features.Detach().IndexSelect(0, idx);
        return Task == TaskKind.Classification
            ? new TensorDataset(x, new IntTensor(indices.Select(i => Labels!.Data[i]).ToArray(), indices.Count), NumClasses, ClassNames)
            : new TensorDataset(x, Targets!.Detach().IndexSelect(0, idx));
    }

    /// <summary>The same samples with new features (e.g. standardised), keeping targets and class names.</summary>
    public TensorDataset WithFeatures(Tensor features) => Task == TaskKind.Classification
        ? new TensorDataset(features, Labels!, NumClasses, ClassNames)
        : new TensorDataset(features, Targets!);
}
