using MathNet.Numerics.LinearAlgebra;
using Nabla.Autograd;
using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Generative;

/// <summary>Drawing samples from a trained conditional generator.</summary>
public static class GanSampling
{
    /// <summary>
    /// One sample per label: z ~ N(0, I) from <paramref name="rng"/>, G(z, label) in evaluation mode (BatchNorm's running
    /// statistics) without a graph, in batches of <paramref name="batchSize"/>. The generator's mode is restored after.
    /// </summary>
    public static Tensor Sample(ConditionalGenerator generator, IntTensor labels, Generator rng, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(rng);
        if (labels.Rank != 1) throw new ArgumentException($"GanSampling: labels {Shapes.Format([.. labels.Shape])} must be 1-D.", nameof(labels));
        foreach (int l in labels.Data)
            if (l < 0 || l >= generator.Classes) throw new ArgumentException($"GanSampling: label {l} is not a class in [0, {generator.Classes}).", nameof(labels));
        bool training = generator.Training;
        generator.Eval();
        try
        {
            using var _ = GradMode.NoGrad();
            var parts = new List<Tensor>();
            for (int start = 0; start < labels.Numel; start += batchSize)
            {
                int n = Math.Min(batchSize, labels.Numel - start);
                var z = Tensor.Normal([n, generator.LatentDim], 0f, 1f, rng);
                parts.Add(generator.Forward(z, new IntTensor(labels.Data.AsSpan(start, n).ToArray(), n)));
            }
            return parts.Count == 1 ? parts[0] : Tensor.Concat([.. parts], 0);
        }
        finally
        {
            generator.Train(training);
        }
    }

    /// <summary><paramref name="perClass"/> samples of every class, class by class: labels 0,0,…,1,1,… (a grid's rows).</summary>
    public static (Tensor Samples, IntTensor Labels) PerClass(ConditionalGenerator generator, int perClass, Generator rng)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (perClass < 1) throw new ArgumentOutOfRangeException(nameof(perClass), perClass, "GanSampling: at least one sample per class.");
        var labels = new int[generator.Classes * perClass];
        for (int i = 0; i < labels.Length; i++) labels[i] = i / perClass;
        var y = new IntTensor(labels, labels.Length);
        return (Sample(generator, y, rng), y);
    }

    /// <summary>A dataset of generated samples with uniformly drawn classes, mapped by <paramref name="toData"/> (e.g. from (−1, 1) back to [0, 1]).</summary>
    public static TensorDataset Dataset(ConditionalGenerator generator, int count, Generator rng, Func<Tensor, Tensor>? toData = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "GanSampling: at least one sample.");
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = rng.NextInt(generator.Classes);
        var y = new IntTensor(labels, count);
        var x = Sample(generator, y, rng);
        return new TensorDataset(toData is null ? x : toData(x), y, generator.Classes, classNames);
    }
}

/// <summary>
/// How good generated samples are, judged by a classifier trained on the real data (no Inception network here):
/// class fidelity, a Fréchet distance on the classifier's penultimate features, and train-on-synthetic/test-on-real
/// accuracy (Ravuri and Vinyals 2019's Classification Accuracy Score).
/// </summary>
public static class GanEvaluation
{
    /// <summary>
    /// The share of samples that <paramref name="classifier"/> assigns to the class they were generated for, overall and
    /// per class (NaN for a class with no samples).
    /// </summary>
    public static (double Overall, double[] PerClass) ClassFidelity(Module classifier, Tensor samples, IntTensor labels, int classes)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(labels);
        var predicted = Predict(classifier, samples);
        var hit = new int[classes];
        var count = new int[classes];
        for (int i = 0; i < labels.Numel; i++)
        {
            int c = labels.Data[i];
            count[c]++;
            if (predicted[i] == c) hit[c]++;
        }
        return ((double)hit.Sum() / Math.Max(1, labels.Numel), [.. hit.Select((h, c) => count[c] == 0 ? double.NaN : (double)h / count[c])]);
    }

    /// <summary>The classifier's arg-max class for each sample (evaluation mode, no graph, in batches).</summary>
    public static int[] Predict(Module classifier, Tensor samples, int batchSize = 512)
    {
        var logits = Apply(classifier, samples, batchSize, null);
        return logits.ArgMax(1).Data;
    }

    /// <summary>
    /// The activations that feed a <see cref="Sequential"/> classifier's last layer (its penultimate features), in
    /// evaluation mode, (N, d).
    /// </summary>
    public static Tensor Features(Sequential classifier, Tensor samples, int batchSize = 512)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        if (classifier.Count < 2) throw new ArgumentException("GanEvaluation.Features: the classifier needs at least two layers.", nameof(classifier));
        var f = Apply(classifier, samples, batchSize, classifier.Count - 1);
        return f.Reshape(f.shape[0], -1);
    }

    private static Tensor Apply(Module model, Tensor samples, int batchSize, int? layers)
    {
        ArgumentNullException.ThrowIfNull(samples);
        bool training = model.Training;
        model.Eval();
        try
        {
            using var _ = GradMode.NoGrad();
            var parts = new List<Tensor>();
            int n = samples.shape[0];
            for (int start = 0; start < n; start += batchSize)
            {
                var x = samples.Slice(0, start, Math.Min(n, start + batchSize));
                if (layers is int k)
                {
                    var seq = (Sequential)model;
                    for (int i = 0; i < k; i++) x = seq[i].Forward(x);
                    parts.Add(x);
                }
                else parts.Add(model.Forward(x));
            }
            return parts.Count == 1 ? parts[0] : Tensor.Concat([.. parts], 0);
        }
        finally
        {
            model.Train(training);
        }
    }

    /// <summary>
    /// The Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017's FID formula):
    /// ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁^½ Σ₂ Σ₁^½)^½), with sample covariances (n − 1) and the matrix square roots from
    /// symmetric eigendecompositions (negative eigenvalues from rounding clipped at 0). On a domain classifier's
    /// features this is not the Inception FID of the literature; only compare values computed with the same classifier.
    /// </summary>
    public static double FrechetDistance(Tensor real, Tensor generated)
    {
        ArgumentNullException.ThrowIfNull(real);
        ArgumentNullException.ThrowIfNull(generated);
        if (real.Rank != 2 || generated.Rank != 2 || real.shape[1] != generated.shape[1])
            throw new ArgumentException($"FrechetDistance: features {Shapes.Format(real.shape)} and {Shapes.Format(generated.shape)} must be (N, d) with the same d.");
        if (real.shape[0] < 2 || generated.shape[0] < 2) throw new ArgumentException("FrechetDistance: each set needs at least two samples.");
        var (m1, c1) = Moments(real);
        var (m2, c2) = Moments(generated);
        var root1 = SqrtPsd(c1);
        var inner = root1 * c2 * root1;
        double traceRoot = SqrtPsd((inner + inner.Transpose()) * 0.5).Trace();
        return (m1 - m2).DotProduct(m1 - m2) + c1.Trace() + c2.Trace() - 2 * traceRoot;
    }

    private static (Vector<double> Mean, Matrix<double> Covariance) Moments(Tensor features)
    {
        int n = features.shape[0], d = features.shape[1];
        var data = features.Contiguous().ToArray();
        var x = Matrix<double>.Build.Dense(n, d, (i, j) => data[i * d + j]);
        var mean = x.ColumnSums() / n;
        var centred = x - Matrix<double>.Build.Dense(n, d, (_, j) => mean[j]);
        return (mean, centred.TransposeThisAndMultiply(centred) / (n - 1));
    }

    private static Matrix<double> SqrtPsd(Matrix<double> m)
    {
        var evd = m.Evd(Symmetricity.Symmetric);
        var root = Vector<double>.Build.Dense(evd.EigenValues.Count, i => Math.Sqrt(Math.Max(0, evd.EigenValues[i].Real)));
        return evd.EigenVectors * Matrix<double>.Build.DenseOfDiagonalVector(root) * evd.EigenVectors.Transpose();
    }

    /// <summary>
    /// Train-on-synthetic, test-on-real (Ravuri and Vinyals 2019): trains a fresh classifier from <paramref name="model"/>
    /// on <paramref name="synthetic"/> with Adam for <paramref name="epochs"/> epochs and returns its accuracy on
    /// <paramref name="realTest"/>.
    /// </summary>
    public static double TrainOnSyntheticTestOnReal(Func<Module> model, TensorDataset synthetic, TensorDataset realTest, int epochs, int seed = 0, double lr = 1e-3)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(synthetic);
        ArgumentNullException.ThrowIfNull(realTest);
        var classifier = model();
        var loss = new CrossEntropyLoss();
        var trainer = new Trainer(new TrainerOptions { BatchSize = 128, Seed = seed });
        trainer.Fit(classifier, loss, new Adam(classifier.Parameters(), lr: lr, beta1: 0.9, beta2: 0.999), synthetic, null, epochs);
        return trainer.Evaluate(classifier, loss, realTest).Metrics["accuracy"];
    }
}
