using System.Collections.ObjectModel;

namespace Nabla.Data;

/// <summary>
/// Fashion-MNIST (Zalando, MIT licence): 28×28 greyscale images of 10 clothing classes. <see cref="LoadFull"/> reads
/// the whole dataset (60,000/10,000) from Debian's <c>dataset-fashion-mnist</c> package or any folder of IDX files;
/// the stratified 12,000-image subset that needs no files is <c>Nabla.Datasets.FashionMnistSubset.Load()</c> (the
/// Nabla.Datasets package, so this library carries no data).
/// </summary>
public static class FashionMnist
{
    /// <summary>The folder where Debian's <c>dataset-fashion-mnist</c> package installs the gzipped IDX files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The class names, index = label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = new ReadOnlyCollection<string>(
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]);

    /// <summary>
    /// Reads the full dataset from <paramref name="directory"/> (default <see cref="DefaultDirectory"/>): the files
    /// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each
    /// gzipped (<c>.gz</c>, as Debian installs them) or raw, with '-' or '.' before "idx".
    /// </summary>
    /// <returns>Train (60,000 images) and test (10,000) datasets, features (N, 1, 28, 28) in [0, 1].</returns>
    /// <exception cref="FileNotFoundException">the folder or one of the files is missing; the message says how to install the dataset.</exception>
    /// <exception cref="IdxFormatException">a file is malformed.</exception>
    public static (TensorDataset Train, TensorDataset Test) LoadFull(string? directory = null)
    {
        string dir = directory ?? DefaultDirectory;
        string trainImages = Find(dir, "train-images", "idx3-ubyte");
        string trainLabels = Find(dir, "train-labels", "idx1-ubyte");
        string testImages = Find(dir, "t10k-images", "idx3-ubyte");
        string testLabels = Find(dir, "t10k-labels", "idx1-ubyte");
        // The test files inflate on another core while the training files do (start-up time; errors rethrown as is).
        var test = Task.Run(() => Idx.Load(testImages, testLabels, ClassNames));
        var train = Idx.Load(trainImages, trainLabels, ClassNames);
        return (train, test.GetAwaiter().GetResult());
    }

    private static string Find(string dir, string stem, string suffix)
    {
        string[] candidates = [$"{stem}-{suffix}.gz", $"{stem}-{suffix}", $"{stem}.{suffix}.gz", $"{stem}.{suffix}"];
        if (Directory.Exists(dir))
            foreach (string name in candidates)
            {
                string path = Path.Combine(dir, name);
                if (File.Exists(path)) return path;
            }
        string missing = Directory.Exists(dir) ? $" (no {stem}-{suffix}[.gz] there)" : "";
        throw new FileNotFoundException(
            $"Fashion-MNIST was not found in {dir}{missing}; install it with: sudo apt-get install dataset-fashion-mnist (or pass a directory with the IDX files)",
            Path.Combine(dir, candidates[0]));
    }
}
