using System.Globalization;
using Nabla.Data;

namespace Nabla.Cli;

/// <summary>What kind of source <c>--data</c> names.</summary>
internal enum SourceKind { Embedded, FashionMnist, Idx, Csv, Images }

/// <summary>
/// The data a command works on: the training part, the test part (null with --test none) and where they came from.
/// <see cref="TrainRows"/> maps the training part's samples to the source's rows (CSV row numbers from 0, image
/// files in load order) when a test set was carved out of it.
/// </summary>
internal sealed record LoadedData(TensorDataset Train, TensorDataset? Test, string Description, SourceKind Kind, string[]? Features, int[]? TrainRows)
{
    /// <summary>Each row's file, for a folder of images without class folders (predict), or null.</summary>
    public string[]? Files { get; init; }
}

/// <summary>Where <c>--data</c> points: the embedded subset, the full Fashion-MNIST, a folder of IDX files, an image folder or a CSV.</summary>
internal static class DataSources
{
    /// <summary>The default test fraction for sources without a test set of their own.</summary>
    public const double DefaultTestFraction = 0.2;

    public static SourceKind KindOf(string data)
    {
        if (data == "embedded") return SourceKind.Embedded;
        if (data == "fashion-mnist") return SourceKind.FashionMnist;
        if (data.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
        {
            if (Directory.Exists(data)) throw new UsageException($"--data {data}: is a folder, not a CSV file.");
            return SourceKind.Csv;   // whether it exists is checked after the options that go with it
        }
        if (Directory.Exists(data))
            return Directory.EnumerateFiles(data).Any(f => Path.GetFileName(f).Contains("idx", StringComparison.Ordinal)) ? SourceKind.Idx : SourceKind.Images;
        if (File.Exists(data))
            throw new UsageException($"--data: '{data}' is a file but not a .csv; expected 'embedded', 'fashion-mnist', a folder of IDX files or images, or a .csv file.");
        throw new UsageException($"--data: '{data}' does not exist; expected 'embedded', 'fashion-mnist', a folder of IDX files or images, or a .csv file.");
    }

    /// <summary>
    /// Refuses options that the source would ignore or cannot honour. <paramref name="given"/> holds the options named
    /// on the command line (null: check only what a config file can state).
    /// </summary>
    public static void CheckOptions(RunConfig c, SourceKind kind, IReadOnlySet<string>? given)
    {
        bool Given(string o) => given?.Contains(o) ?? false;
        string what = kind switch
        {
            SourceKind.Embedded => "the embedded Fashion-MNIST subset",
            SourceKind.FashionMnist => "Fashion-MNIST",
            SourceKind.Idx => $"the IDX files in {c.Data}",
            SourceKind.Images => $"the image folder {c.Data}",
            _ => c.Data,
        };
        if (kind == SourceKind.Csv && c.Label is null)
            throw new UsageException($"--data {c.Data}: a CSV needs --label COLUMN to name the target column.");
        if (kind == SourceKind.Csv && !File.Exists(c.Data))
            throw new UsageException($"--data: file '{c.Data}' does not exist.");
        if (kind != SourceKind.Csv && c.Label is not null)
            throw new UsageException($"--label applies to CSV data; {what} has its own labels.");
        if (kind != SourceKind.Images && (Given("--image-size") || Given("--grayscale") || c.Grayscale))
            throw new UsageException($"{(Given("--image-size") ? "--image-size" : "--grayscale")} applies to an image folder; {what} is decoded already.");
        if (kind != SourceKind.Csv && c.Task == "regression")
            throw new UsageException($"--task regression needs numeric targets in a CSV; {what} has class labels.");
        if (c.Test is not ("default" or "none") && !IsFraction(c.Test))
        {
            if (kind == SourceKind.Csv && !File.Exists(c.Test))
                throw new UsageException($"--test: '{c.Test}' is not a fraction, none or an existing CSV file.");
            if (kind == SourceKind.Images && !Directory.Exists(c.Test))
                throw new UsageException($"--test: '{c.Test}' is not a fraction, none or an existing image folder.");
            if (kind is not (SourceKind.Csv or SourceKind.Images))
                throw new UsageException($"--test FILE applies to CSV data and image folders; for {what} give a fraction or none.");
        }
    }

    public static bool IsFraction(string test) =>
        double.TryParse(test, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    /// <summary>
    /// Loads the data a run's settings name, checked against the options given. For evaluation of a trained model,
    /// <paramref name="classes"/> and <paramref name="features"/> (the model's) make classes and CSV columns match by name.
    /// </summary>
    /// <param name="c">The settings naming the data.</param>
    /// <param name="given">The options named on the command line, for the checks of what the source would ignore.</param>
    /// <param name="classes">A trained model's classes: the data's are matched to them by name.</param>
    /// <param name="features">A trained model's CSV feature columns: matched by name.</param>
    /// <param name="everyRow">Score every row: the training part and the source's own test set together, nothing carved (evaluate --test none).</param>
    public static LoadedData Load(RunConfig c, IReadOnlySet<string>? given, string[]? classes = null, string[]? features = null, bool everyRow = false,
        bool labelsOptional = false)
    {
        var kind = KindOf(c.Data);
        CheckOptions(c, kind, given);
        var task = c.Task == "regression" ? TaskKind.Regression : TaskKind.Classification;
        try
        {
            TensorDataset all;
            TensorDataset? ownTest = null;
            string description;
            string[]? featureNames = null;
            switch (kind)
            {
                case SourceKind.Embedded:
                    (all, ownTest) = Nabla.Datasets.FashionMnistSubset.Load();
                    description = "embedded Fashion-MNIST subset";
                    break;
                case SourceKind.FashionMnist:
                    (all, ownTest) = FashionMnist.LoadFull();
                    description = $"Fashion-MNIST ({FashionMnist.DefaultDirectory})";
                    break;
                case SourceKind.Idx:
                    var (tr, te) = FashionMnist.LoadFull(c.Data);
                    (all, ownTest) = (Renamed(tr), Renamed(te));
                    description = $"IDX files in {c.Data}";
                    break;
                case SourceKind.Csv:
                    featureNames = features ?? [.. CsvTable.FeatureColumns(c.Data, c.Label!)];
                    all = CsvTable.Load(c.Data, c.Label!, task, new CsvLayout(featureNames, classes) { LabelsOptional = labelsOptional });
                    description = $"{Path.GetFileName(c.Data)} ({all.Count} rows)";
                    break;
                case SourceKind.Images when labelsOptional && classes is not null && Directory.Exists(c.Data)
                    && !Directory.EnumerateDirectories(c.Data).Any() && Imaging.ImageFolder.Files(c.Data).Length > 0:
                {
                    // New pictures to predict, with no class folders: every image in the folder, in file-name order.
                    var files = Imaging.ImageFolder.Files(c.Data);
                    var (pixels, count) = Imaging.ImageFolder.LoadFlat(c.Data, c.ImageSize, c.ImageSize, c.Grayscale);
                    var images = new TensorDataset(Tensor.FromArray(pixels, count, c.Grayscale ? 1 : 3, c.ImageSize, c.ImageSize),
                        new IntTensor(new int[count], count), classes.Length, classes);
                    string what = $"{count} images in {c.Data} ({c.ImageSize}×{c.ImageSize}, no class folders)";
                    return new LoadedData(images, images, what, kind, null, null) { Files = [.. files.Select(Path.GetFileName).Select(f => f!)] };
                }
                default:
                    string trainDir = Path.Combine(c.Data, "train"), testDir = Path.Combine(c.Data, "test");
                    if (Directory.Exists(trainDir) && Directory.Exists(testDir))
                    {
                        all = Imaging.ImageFolder.Load(trainDir, c.ImageSize, c.ImageSize, c.Grayscale, classes);
                        if (c.Test == "default" || everyRow) ownTest = Imaging.ImageFolder.Load(testDir, c.ImageSize, c.ImageSize, c.Grayscale, all.ClassNames);
                    }
                    else all = Imaging.ImageFolder.Load(c.Data, c.ImageSize, c.ImageSize, c.Grayscale, classes);
                    description = $"images in {c.Data} ({c.ImageSize}×{c.ImageSize})";
                    break;
            }
            if (classes is not null && kind is not (SourceKind.Csv or SourceKind.Images) && all.Task == TaskKind.Classification)
                CheckClasses(all.ClassNames, classes, c.Data);

            if (everyRow)
            {
                var every = ownTest is null ? all : TensorDataset.Concat(all, ownTest);
                return new LoadedData(every, every, description + ", every row", kind, featureNames, null);
            }
            TensorDataset train = all;
            TensorDataset? test;
            int[]? rows = null;
            if (c.Test == "none") test = null;
            else if (c.Test == "default" && ownTest is not null) test = ownTest;
            else if (c.Test == "default" || IsFraction(c.Test))
            {
                double fraction = c.Test == "default" ? DefaultTestFraction : double.Parse(c.Test, CultureInfo.InvariantCulture);
                var (trainIdx, testIdx) = HoldoutIndices(all, fraction, c.Seed, "--test");
                (train, test, rows) = (all.Subset(trainIdx), all.Subset(testIdx), trainIdx);
                description += string.Create(CultureInfo.InvariantCulture, $", {fraction * 100:0.#}% held out for test");
            }
            else
            {
                test = kind == SourceKind.Csv
                    ? CsvTable.Load(c.Test, c.Label!, task, new CsvLayout(featureNames!, task == TaskKind.Classification ? all.ClassNames : null))
                    : Imaging.ImageFolder.Load(c.Test, c.ImageSize, c.ImageSize, c.Grayscale, all.ClassNames);
                description += $", test set {c.Test}";
            }
            if (task == TaskKind.Classification && classes is null)
            {
                int present = train.Labels!.Data.Distinct().Count();
                if (present < 2)
                    throw new UsageException($"--data {c.Data}: the training data has {(present == 0 ? "no samples" : $"one class only ('{train.ClassNames[train.Labels.Data[0]]}')")}; " +
                        "classification needs at least two classes.");
            }
            return new LoadedData(train, test, description, kind, featureNames, rows);
        }
        catch (FileNotFoundException e) { throw new UsageException(e.Message); }
        catch (DirectoryNotFoundException e) { throw new UsageException(e.Message); }
        catch (IdxFormatException e) { throw new UsageException(e.Message); }
        catch (CsvFormatException e) { throw new UsageException(e.Message); }
        catch (InvalidDataException e) { throw new UsageException(e.Message); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--data {c.Data}: cannot be read ({e.Message}).");
        }
    }

    private static void CheckClasses(IReadOnlyList<string> have, string[] expected, string data)
    {
        if (!have.SequenceEqual(expected, StringComparer.Ordinal))
            throw new UsageException($"--data {data}: its classes ({string.Join(", ", have.Take(12))}) are not the model's ({string.Join(", ", expected.Take(12))}).");
    }

    /// <summary>A CSV with a group column: the training part and its group ids; whole groups are held out for test.</summary>
    public static (TensorDataset Train, int[] Groups, string Description) LoadGrouped(RunConfig c, string groupColumn, IReadOnlySet<string>? given)
    {
        var kind = KindOf(c.Data);
        if (kind != SourceKind.Csv || c.Label is null) throw new UsageException("--groups COL needs CSV data (--data FILE.csv --label COL).");
        CheckOptions(c, kind, given);
        if (c.Test is not ("default" or "none") && !IsFraction(c.Test))
            throw new UsageException("--test FILE cannot be combined with --groups; give a fraction of the groups or none.");
        var task = c.Task == "regression" ? TaskKind.Regression : TaskKind.Classification;
        try
        {
            var (all, groups) = CsvTable.LoadWithGroups(c.Data, c.Label, groupColumn, task);
            if (c.Test == "none") return (all, groups, $"{Path.GetFileName(c.Data)} ({all.Count} rows, no test set)");
            double fraction = c.Test == "default" ? DefaultTestFraction : double.Parse(c.Test, CultureInfo.InvariantCulture);
            // Hold out about that share of the samples as whole groups, so no group is in both training and test.
            var order = Generator.ForStream(c.Seed, 1_000_003).Permutation(groups.Max() + 1);
            var test = new HashSet<int>();
            int held = 0;
            foreach (int g in order)
            {
                if (held >= all.Count * fraction) break;
                test.Add(g);
                held += groups.Count(x => x == g);
            }
            var train = Enumerable.Range(0, all.Count).Where(i => !test.Contains(groups[i])).ToArray();
            if (train.Length == 0) throw new UsageException($"--groups {groupColumn}: too few groups to keep some for training.");
            return (all.Subset(train), train.Select(i => groups[i]).ToArray(), $"{Path.GetFileName(c.Data)} ({all.Count} rows, {test.Count} of {groups.Max() + 1} groups held out for test)");
        }
        catch (CsvFormatException e) { throw new UsageException(e.Message); }
        catch (InvalidDataException e) { throw new UsageException(e.Message); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--data {c.Data}: cannot be read ({e.Message}).");
        }
    }

    // IDX files from an arbitrary folder are not necessarily clothing: name the classes by number.
    private static TensorDataset Renamed(TensorDataset d) =>
        d.WithClassNames(Enumerable.Range(0, d.NumClasses).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray());

    /// <summary>
    /// A seeded random split with <paramref name="fraction"/> of the samples in the second part; for
    /// classification each class is split in the same proportion (stratified).
    /// </summary>
    public static (TensorDataset Train, TensorDataset Held) Holdout(TensorDataset data, double fraction, int seed, string option = "--validation")
    {
        var (train, held) = HoldoutIndices(data, fraction, seed, option);
        return (data.Subset(train), data.Subset(held));
    }

    /// <summary>The indices of <see cref="Holdout"/>'s two parts, each ascending.</summary>
    public static (int[] Train, int[] Held) HoldoutIndices(TensorDataset data, double fraction, int seed, string option)
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
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{option}: a {fraction * 100:0.#}% split of {data.Count} samples leaves one part empty."));
        train.Sort();
        held.Sort();
        return ([.. train], [.. held]);
    }
}
