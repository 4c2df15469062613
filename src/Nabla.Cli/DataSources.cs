using Nabla.Data;

namespace Nabla.Cli;

/// <summary>Where <c>--data</c> points: the embedded subset, the full Fashion-MNIST, a folder of IDX files, or a CSV.</summary>
internal static class DataSources
{
    /// <summary>The training and test parts of a data source.</summary>
    public static (TensorDataset Train, TensorDataset Test, string Description) Load(string data, string? label, TaskKind task, int seed,
        int imageSize = 32, bool grayscale = false)
    {
        try
        {
            if (data == "embedded")
            {
                var (tr, te) = FashionMnist.LoadEmbedded();
                return (tr, te, "embedded Fashion-MNIST subset");
            }
            if (data == "fashion-mnist")
            {
                var (tr, te) = FashionMnist.LoadFull();
                return (tr, te, $"Fashion-MNIST ({FashionMnist.DefaultDirectory})");
            }
            if (data.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
            {
                if (label is null) throw new UsageException($"--data {data}: a CSV needs --label COLUMN to name the target column.");
                if (!File.Exists(data)) throw new UsageException($"--data: file '{data}' does not exist.");
                var all = CsvTable.Load(data, label, task);
                // A CSV has no test split of its own: 20% (stratified for classification) is set aside, seeded.
                var (train, test) = Holdout(all, 0.2, seed);
                return (train, test, $"{Path.GetFileName(data)} ({all.Count} rows, 20% held out for test)");
            }
            if (Directory.Exists(data))
            {
                if (Directory.GetFiles(data).Any(f => Path.GetFileName(f).Contains("idx", StringComparison.Ordinal)))
                {
                    var (tr, te) = FashionMnist.LoadFull(data);
                    return (Renamed(tr), Renamed(te), $"IDX files in {data}");
                }
                // An image folder: train/ and test/ sub-folders when present, else 20% of each class held out for test.
                string trainDir = Path.Combine(data, "train"), testDir = Path.Combine(data, "test");
                if (Directory.Exists(trainDir) && Directory.Exists(testDir))
                    return (Imaging.ImageFolder.Load(trainDir, imageSize, imageSize, grayscale), Imaging.ImageFolder.Load(testDir, imageSize, imageSize, grayscale),
                        $"images in {data} ({imageSize}×{imageSize})");
                var all = Imaging.ImageFolder.Load(data, imageSize, imageSize, grayscale);
                var (train, test) = Holdout(all, 0.2, seed);
                return (train, test, $"images in {data} ({all.Count}, {imageSize}×{imageSize}, 20% held out for test)");
            }
            throw new UsageException($"--data: '{data}' is not 'embedded', 'fashion-mnist', a folder of IDX files or a .csv file.");
        }
        catch (FileNotFoundException e) { throw new UsageException(e.Message); }
        catch (IdxFormatException e) { throw new UsageException(e.Message); }
        catch (CsvFormatException e) { throw new UsageException(e.Message); }
    }

    /// <summary>A CSV with a group column: the training part and its group ids; whole groups are held out for test.</summary>
    public static (TensorDataset Train, int[] Groups, string Description) LoadGrouped(string data, string label, string groupColumn, TaskKind task, int seed)
    {
        if (!File.Exists(data)) throw new UsageException($"--data: file '{data}' does not exist.");
        try
        {
            var (all, groups) = CsvTable.LoadWithGroups(data, label, groupColumn, task);
            // Hold out about 20% of the samples as whole groups, so no group is in both training and test.
            var order = Generator.ForStream(seed, 1_000_003).Permutation(groups.Max() + 1);
            var test = new HashSet<int>();
            int held = 0;
            foreach (int g in order)
            {
                if (held >= all.Count * 0.2) break;
                test.Add(g);
                held += groups.Count(x => x == g);
            }
            var train = Enumerable.Range(0, all.Count).Where(i => !test.Contains(groups[i])).ToArray();
            if (train.Length == 0) throw new UsageException($"--groups {groupColumn}: too few groups to keep some for training.");
            return (all.Subset(train), train.Select(i => groups[i]).ToArray(), $"{Path.GetFileName(data)} ({all.Count} rows, {test.Count} of {groups.Max() + 1} groups held out for test)");
        }
        catch (CsvFormatException e) { throw new UsageException(e.Message); }
        catch (InvalidDataException e) { throw new UsageException(e.Message); }
    }

    // IDX files from an arbitrary folder are not necessarily clothing: name the classes by number.
    private static TensorDataset Renamed(TensorDataset d) =>
        d.WithClassNames(Enumerable.Range(0, d.NumClasses).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());

    /// <summary>
    /// A seeded random split with <paramref name="fraction"/> of the samples in the second part; for
    /// classification each class is split in the same proportion (stratified).
    /// </summary>
    public static (TensorDataset Train, TensorDataset Held) Holdout(TensorDataset data, double fraction, int seed)
    {
        var g = Generator.ForStream(seed, 1_000_003);
        var train = new List<int>();
        var held = new List<int>();
        IEnumerable<int[]> groups = data.Task == TaskKind.Classification
            ? Enumerable.Range(0, data.Count).GroupBy(i => data.Labels!.Data[i]).OrderBy(grp => grp.Key).Select(grp => grp.ToArray())
            : [Enumerable.Range(0, data.Count).ToArray()];
        foreach (var members in groups)
        {
            var perm = g.Permutation(members.Length);
            int nHeld = (int)Math.Round(members.Length * fraction, MidpointRounding.AwayFromZero);
            for (int k = 0; k < perm.Length; k++) (k < nHeld ? held : train).Add(members[perm[k]]);
        }
        if (train.Count == 0 || held.Count == 0)
            throw new UsageException($"a {fraction:P0} split of {data.Count} samples leaves one part empty.");
        train.Sort();
        held.Sort();
        return (data.Subset(train), data.Subset(held));
    }
}
