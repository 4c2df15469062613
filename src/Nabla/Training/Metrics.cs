namespace Nabla.Training;

/// <summary>
/// Classification and regression metrics, as scikit-learn defines them (macro averages give 0 to a class
/// with no predictions or no samples, sklearn's zero_division=0; R² averages the outputs uniformly).
/// </summary>
public static class Metrics
{
    /// <summary>Fraction of predictions equal to the labels.</summary>
    public static double Accuracy(IntTensor predicted, IntTensor labels)
    {
        SameCount(predicted, labels);
        if (labels.Numel == 0) return double.NaN;
        int correct = 0;
        for (int i = 0; i < labels.Numel; i++) if (predicted.Data[i] == labels.Data[i]) correct++;
        return (double)correct / labels.Numel;
    }

    /// <summary>Fraction of samples whose label is among the k largest scores (ties broken by lower index).</summary>
    public static double TopK(Tensor scores, IntTensor labels, int k)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(labels);
        if (scores.Rank != 2 || scores.Shape[0] != labels.Numel)
            throw new ArgumentException($"TopK: scores {Shapes.Format(scores.Shape.ToArray())} must be (N, C) for {labels.Numel} labels.");
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "TopK: k must be at least 1.");
        int n = labels.Numel, c = scores.Shape[1];
        var s = scores.ToArray();
        int hits = 0;
        for (int i = 0; i < n; i++)
        {
            float mine = s[i * c + labels.Data[i]];
            int better = 0;
            for (int j = 0; j < c; j++)
            {
                float v = s[i * c + j];
                if (v > mine || (v == mine && j < labels.Data[i])) better++;
            }
            if (better < k) hits++;
        }
        return n == 0 ? double.NaN : (double)hits / n;
    }

    /// <summary>Counts[true, predicted] over <paramref name="classes"/> classes.</summary>
    public static int[,] ConfusionMatrix(IntTensor predicted, IntTensor labels, int classes)
    {
        SameCount(predicted, labels);
        var m = new int[classes, classes];
        for (int i = 0; i < labels.Numel; i++)
        {
            int t = labels.Data[i], p = predicted.Data[i];
            if ((uint)t >= (uint)classes || (uint)p >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(labels), $"ConfusionMatrix: class {Math.Max(t, p)} is outside 0..{classes - 1}.");
            m[t, p]++;
        }
        return m;
    }

    /// <summary>Macro-averaged precision, recall and F1 from a confusion matrix (unweighted mean over classes).</summary>
    public static (double Precision, double Recall, double F1) MacroPrecisionRecallF1(int[,] confusion)
    {
        ArgumentNullException.ThrowIfNull(confusion);
        int c = confusion.GetLength(0);
        double p = 0, r = 0, f = 0;
        for (int k = 0; k < c; k++)
        {
            double tp = confusion[k, k], predicted = 0, actual = 0;
            for (int j = 0; j < c; j++) { predicted += confusion[j, k]; actual += confusion[k, j]; }
            double pk = predicted == 0 ? 0 : tp / predicted, rk = actual == 0 ? 0 : tp / actual;
            p += pk;
            r += rk;
            f += pk + rk == 0 ? 0 : 2 * pk * rk / (pk + rk);
        }
        return c == 0 ? (double.NaN, double.NaN, double.NaN) : (p / c, r / c, f / c);
    }

    /// <summary>Mean squared error over all elements.</summary>
    public static double Mse(Tensor predicted, Tensor targets) => Pairs(predicted, targets).Average(d => (d.p - d.t) * (d.p - d.t));

    /// <summary>Mean absolute error over all elements.</summary>
    public static double Mae(Tensor predicted, Tensor targets) => Pairs(predicted, targets).Average(d => Math.Abs(d.p - d.t));

    /// <summary>
    /// Coefficient of determination R² = 1 − SS_res/SS_tot per output column, averaged (sklearn's default);
    /// a constant column scores 1 when predicted exactly, else 0.
    /// </summary>
    public static double R2(Tensor predicted, Tensor targets)
    {
        var pairs = Pairs(predicted, targets);
        int outputs = targets.Rank == 1 ? 1 : targets.Shape[^1];
        int n = pairs.Length / outputs;
        double total = 0;
        for (int o = 0; o < outputs; o++)
        {
            double mean = 0;
            for (int i = 0; i < n; i++) mean += pairs[i * outputs + o].t;
            mean /= n;
            double ssRes = 0, ssTot = 0;
            for (int i = 0; i < n; i++)
            {
                var (p, t) = pairs[i * outputs + o];
                ssRes += (t - p) * (t - p);
                ssTot += (t - mean) * (t - mean);
            }
            total += ssTot == 0 ? (ssRes == 0 ? 1 : 0) : 1 - ssRes / ssTot;
        }
        return total / outputs;
    }

    private static (double p, double t)[] Pairs(Tensor predicted, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(targets);
        if (!predicted.Shape.SequenceEqual(targets.Shape))
            throw new ArgumentException($"Metrics: predictions {Shapes.Format(predicted.Shape.ToArray())} and targets {Shapes.Format(targets.Shape.ToArray())} differ in shape.");
        var p = predicted.ToArray();
        var t = targets.ToArray();
        return p.Zip(t, (a, b) => ((double)a, (double)b)).ToArray();
    }

    private static void SameCount(IntTensor predicted, IntTensor labels)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(labels);
        if (predicted.Numel != labels.Numel)
            throw new ArgumentException($"Metrics: {predicted.Numel} predictions for {labels.Numel} labels.");
    }
}
