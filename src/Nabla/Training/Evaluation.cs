namespace Nabla.Training;

/// <summary>
/// Loss and metrics of a model on a dataset. Classification: accuracy, top5_accuracy (when there are more than
/// 5 classes), macro precision/recall/F1, and the confusion matrix; regression: mse, mae, r2.
/// </summary>
public sealed class Evaluation
{
    /// <summary>Mean loss over the samples.</summary>
    public double Loss { get; init; }

    /// <summary>Metrics by name (accuracy, precision, recall, f1, top5_accuracy; or mse, mae, r2).</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>Counts[true, predicted] for classification, else null.</summary>
    public int[,]? Confusion { get; init; }

    /// <summary>Number of samples.</summary>
    public int Count { get; init; }
}
