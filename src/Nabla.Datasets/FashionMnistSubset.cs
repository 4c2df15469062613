using Nabla.Data;

namespace Nabla.Datasets;

/// <summary>
/// The stratified Fashion-MNIST subset embedded in this assembly (Zalando, MIT licence; data/fashion-mnist-subset/
/// README.md says how it was drawn): 10,000 training images (1,000 per class) from the official train split and
/// 2,000 test images (200 per class) from the official test split, classes interleaved. Needs no files or network;
/// the whole dataset is <see cref="FashionMnist.LoadFull"/>.
/// </summary>
public static class FashionMnistSubset
{
    /// <summary>Images in each class of the training subset.</summary>
    public const int TrainPerClass = 1000;

    /// <summary>Images in each class of the test subset.</summary>
    public const int TestPerClass = 200;

    private const string ResourcePrefix = "Nabla.Datasets.FashionMnistSubset.";

    /// <summary>Reads the subset.</summary>
    /// <returns>Train and test datasets, features (N, 1, 28, 28) in [0, 1], with <see cref="FashionMnist.ClassNames"/>.</returns>
    public static (TensorDataset Train, TensorDataset Test) Load() => (LoadResource("train"), LoadResource("t10k"));

    private static TensorDataset LoadResource(string split)
    {
        string images = $"{ResourcePrefix}{split}-images-idx3-ubyte.gz", labels = $"{ResourcePrefix}{split}-labels-idx1-ubyte.gz";
        using var imageStream = OpenResource(images);
        using var labelStream = OpenResource(labels);
        return Idx.Load(imageStream, labelStream, FashionMnist.ClassNames, "embedded " + images, "embedded " + labels);
    }

    private static Stream OpenResource(string name) =>
        typeof(FashionMnistSubset).Assembly.GetManifestResourceStream(name)
        ?? throw new InvalidOperationException($"FashionMnistSubset: the embedded resource {name} is missing from {typeof(FashionMnistSubset).Assembly.GetName().Name}; it is built from data/fashion-mnist-subset/.");
}
