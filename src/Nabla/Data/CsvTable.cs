using System.Globalization;
using CsvHelper;
using HelperFormatException = CsvHelper.CsvFormatException;

namespace Nabla.Data;

/// <summary>
/// Reads a CSV table with a header row into a <see cref="TensorDataset"/>: one column holds the label, every other
/// column is a numeric feature (invariant culture: '.' decimals). Features become (N, F) in column order.
/// For classification the distinct label strings (trimmed) are sorted — numerically when they are all integers,
/// ordinally otherwise — and label i is the i-th of them, which is also its class name; for regression the label
/// must be numeric and becomes targets (N, 1). Any problem raises a <see cref="CsvFormatException"/> naming the
/// source, the row (1 = the first data row after the header), the column and the value.
/// </summary>
public static class CsvTable
{
    private static readonly CsvReaderOptions Options = new()
    {
        Separator = ',',
        HasHeader = true,
        MalformedData = CsvMalformedDataHandling.Throw,
        FieldCountMismatch = CsvFieldCountHandling.Allow,   // checked here, with a message naming the row
        MaxRecordSize = 1 << 24,
    };

    /// <summary>Reads a CSV file; errors name it by <paramref name="path"/>.</summary>
    /// <param name="path">The file: a header row, then one sample per row.</param>
    /// <param name="labelColumn">The header name of the label (classification) or target (regression) column.</param>
    /// <param name="task">Classification (labels are strings, mapped to sorted class indices) or regression (numeric targets).</param>
    /// <exception cref="CsvFormatException">the file is empty, has no data rows, lacks the label column, has a ragged or non-numeric cell.</exception>
    /// <exception cref="FileNotFoundException">the file does not exist.</exception>
    public static TensorDataset Load(string path, string labelColumn, TaskKind task)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(labelColumn);
        using var reader = CsvReader.FromFile(path, Options);
        return Load(reader, path, labelColumn, task);
    }

    /// <summary>
    /// Reads a CSV file laid out as another table a model was trained on: its feature columns are matched to
    /// <see cref="CsvLayout.Features"/> by name (in any order; a missing or extra column is an error), and for
    /// classification its labels to <see cref="CsvLayout.Classes"/> by name (a label outside them is an error), so
    /// the result feeds that model. Class i of the result is <c>Classes[i]</c>, even where no row has it.
    /// </summary>
    /// <exception cref="CsvFormatException">as <see cref="Load(string, string, TaskKind)"/>, or the columns or labels do not fit the layout.</exception>
    public static TensorDataset Load(string path, string labelColumn, TaskKind task, CsvLayout? layout)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(labelColumn);
        using var reader = CsvReader.FromFile(path, Options);
        return Load(reader, path, labelColumn, task, layout: layout);
    }

    /// <summary>The feature columns of a CSV file, in file order: every header name but <paramref name="labelColumn"/> (and <paramref name="groupColumn"/>).</summary>
    /// <exception cref="CsvFormatException">the file is empty or lacks the label column.</exception>
    public static IReadOnlyList<string> FeatureColumns(string path, string labelColumn, string? groupColumn = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(labelColumn);
        using var reader = CsvReader.FromFile(path, Options);
        try
        {
            reader.ReadHeader();
        }
        catch (HelperFormatException e)
        {
            throw new CsvFormatException($"{path}: header: {e.Message}", e);
        }
        string[] headers = [.. reader.Headers];
        if (headers.Length == 0 || headers.All(string.IsNullOrWhiteSpace))
            throw new CsvFormatException($"{path}: the file is empty; expected a header row naming the columns.");
        if (!headers.Contains(labelColumn))
            throw new CsvFormatException($"{path}: no column named '{labelColumn}'; the columns are: {Names(headers)}.");
        return [.. headers.Where(h => h != labelColumn && h != groupColumn)];
    }

    /// <summary>
    /// Reads a CSV file whose <paramref name="groupColumn"/> names the group of each row (a patient, a session …):
    /// that column is not a feature; its values become group ids numbered by first appearance, for grouped
    /// validation schemes.
    /// </summary>
    /// <exception cref="CsvFormatException">as <see cref="Load(string, string, TaskKind)"/>, or the group column is missing.</exception>
    public static (TensorDataset Data, int[] Groups) LoadWithGroups(string path, string labelColumn, string groupColumn, TaskKind task)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(labelColumn);
        ArgumentNullException.ThrowIfNull(groupColumn);
        if (groupColumn == labelColumn) throw new CsvFormatException($"{path}: the group column and the label column are both '{labelColumn}'.");
        using var reader = CsvReader.FromFile(path, Options);
        var groups = new List<string>();
        var data = Load(reader, path, labelColumn, task, groupColumn, groups);
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        return (data, groups.Select(g => ids.TryGetValue(g, out int id) ? id : ids[g] = ids.Count).ToArray());
    }

    /// <summary>Reads CSV text from a reader (left open); <paramref name="sourceName"/> names it in errors.</summary>
    /// <exception cref="CsvFormatException">the text is empty, has no data rows, lacks the label column, has a ragged or non-numeric cell.</exception>
    public static TensorDataset Load(TextReader text, string labelColumn, TaskKind task, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(labelColumn);
        using var reader = CsvReader.Create(text, Options, leaveOpen: true);
        return Load(reader, sourceName ?? "<csv>", labelColumn, task);
    }

    private static TensorDataset Load(CsvReader reader, string source, string labelColumn, TaskKind task,
        string? groupColumn = null, List<string>? groupValues = null, CsvLayout? layout = null)
    {
        if (task is not (TaskKind.Classification or TaskKind.Regression))
            throw new ArgumentOutOfRangeException(nameof(task), task, "CsvTable: unknown task.");
        try
        {
            reader.ReadHeader();
            string[] headers = [.. reader.Headers];
            if (headers.Length == 0 || headers.All(string.IsNullOrWhiteSpace))
                throw new CsvFormatException($"{source}: the file is empty; expected a header row naming the columns.");

            int label = -1;
            for (int c = 0; c < headers.Length; c++)
                if (headers[c] == labelColumn)
                {
                    if (label >= 0)
                        throw new CsvFormatException($"{source}: the label column '{labelColumn}' appears twice in the header (columns {label + 1} and {c + 1}).");
                    label = c;
                }
            bool unlabelled = label < 0 && layout is { LabelsOptional: true } && (task == TaskKind.Regression || layout.Classes is not null);
            if (label < 0 && !unlabelled)
                throw new CsvFormatException($"{source}: no column named '{labelColumn}'; the columns are: {Names(headers)}.");
            int group = groupColumn is null ? -1 : Array.IndexOf(headers, groupColumn);
            if (groupColumn is not null && group < 0)
                throw new CsvFormatException($"{source}: no group column named '{groupColumn}'; the columns are: {Names(headers)}.");
            int width = headers.Length - (unlabelled ? 0 : 1) - (group >= 0 ? 1 : 0);
            if (width == 0)
                throw new CsvFormatException($"{source}: the only column is the label column '{labelColumn}'; expected at least one numeric feature column.");
            // slot[c]: where column c's value goes within a row of features (file order without a layout).
            var slot = new int[headers.Length];
            for (int c = 0, k = 0; c < headers.Length; c++) slot[c] = c == label || c == group ? -1 : k++;
            if (layout is not null)
            {
                for (int c = 0; c < headers.Length; c++)
                {
                    if (c == label || c == group) continue;
                    int at = IndexOf(layout.Features, headers[c]);
                    if (at < 0)
                        throw new CsvFormatException($"{source}: column '{headers[c]}' is not one of the model's feature columns ({Names(layout.Features)}).");
                    if (Array.IndexOf(headers, headers[c]) != c)
                        throw new CsvFormatException($"{source}: column '{headers[c]}' appears twice in the header.");
                    slot[c] = at;
                }
                var missing = layout.Features.Where(f => Array.IndexOf(headers, f) < 0).ToArray();
                if (missing.Length > 0)
                    throw new CsvFormatException($"{source}: no column named {Names(missing)}, which the model takes as features.");
                width = layout.Features.Count;
            }

            var features = new List<float>();
            var labels = new List<string>();
            var targets = new List<float>();
            long row = 0;
            while (reader.Read())
            {
                row++;
                if (reader.FieldCount != headers.Length)
                    throw new CsvFormatException($"{source}: row {row} has {reader.FieldCount} field(s); expected {headers.Length}, one per header column.");
                if ((long)features.Count + width > Array.MaxLength)
                    throw new CsvFormatException($"{source}: row {row}: the table holds more than {Array.MaxLength} feature values.");
                int rowStart = features.Count;
                if (layout is not null) features.AddRange(new float[width]);
                for (int c = 0; c < headers.Length; c++)
                {
                    if (c == group)
                        groupValues!.Add(reader.GetString(c).Trim());
                    else if (c != label)
                    {
                        float v = ParseNumber(reader, c, source, row, headers[c]);
                        if (layout is null) features.Add(v);
                        else features[rowStart + slot[c]] = v;
                    }
                    else if (task == TaskKind.Regression)
                        targets.Add(ParseNumber(reader, c, source, row, headers[c]));
                    else
                    {
                        string value = reader.GetString(c).Trim();
                        if (value.Length == 0)
                            throw new CsvFormatException($"{source}: row {row}, column '{headers[c]}': the label is empty.");
                        labels.Add(value);
                    }
                }
            }
            if (row == 0)
                throw new CsvFormatException($"{source}: the file has a header but no data rows.");

            var x = Tensor.FromArray(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(features), (int)row, width);
            if (unlabelled)
                return task == TaskKind.Regression
                    ? new TensorDataset(x, Tensor.Zeros([(int)row, 1]))
                    : new TensorDataset(x, new IntTensor(new int[row], (int)row), layout!.Classes!.Count, [.. layout.Classes]);
            if (task == TaskKind.Regression)
                return new TensorDataset(x, Tensor.FromArray(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(targets), (int)row, 1));

            if (layout?.Classes is { } known)
            {
                var at = new Dictionary<string, int>(StringComparer.Ordinal);
                for (int i = 0; i < known.Count; i++) at.TryAdd(known[i], i);
                var mapped = new int[labels.Count];
                for (int i = 0; i < mapped.Length; i++)
                    mapped[i] = at.TryGetValue(labels[i], out int k) ? k
                        : throw new CsvFormatException($"{source}: row {i + 1}, column '{labelColumn}': class '{labels[i]}' is not one the model knows ({Names(known)}).");
                return new TensorDataset(x, new IntTensor(mapped, mapped.Length), known.Count, [.. known]);
            }
            string[] classes = SortLabels(labels.Distinct(StringComparer.Ordinal));
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < classes.Length; i++) index[classes[i]] = i;
            var y = new int[labels.Count];
            for (int i = 0; i < y.Length; i++) y[i] = index[labels[i]];
            return new TensorDataset(x, new IntTensor(y, y.Length), classes.Length, classes);
        }
        catch (HelperFormatException e)
        {
            string where = e.RecordNumber > 1 ? $"row {e.RecordNumber - 1}: " : e.RecordNumber == 1 ? "header: " : "";
            throw new CsvFormatException($"{source}: {where}{e.Message}", e);
        }
    }

    private static int IndexOf(IReadOnlyList<string> list, string name)
    {
        for (int i = 0; i < list.Count; i++)
            if (list[i] == name) return i;
        return -1;
    }

    // A short list of names for a message: a wide table must not make a megabyte-long line.
    private static string Names(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(12).Select(n => $"'{n}'")) + (names.Count > 12 ? $", … ({names.Count} in all)" : "");

    private static float ParseNumber(CsvReader reader, int column, string source, long row, string name)
    {
        if (float.TryParse(reader.GetSpan(column), NumberStyles.Float, CultureInfo.InvariantCulture, out float v) && float.IsFinite(v))
            return v;
        string text = reader.GetString(column);
        string problem = string.IsNullOrWhiteSpace(text) ? "is empty; expected a number"
            : float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? "is not a finite number"
            : "is not a number";
        throw new CsvFormatException($"{source}: row {row}, column '{name}': '{text}' {problem}.");
    }

    private static string[] SortLabels(IEnumerable<string> distinct)
    {
        string[] names = [.. distinct];
        var numbers = new long[names.Length];
        bool integers = true;
        for (int i = 0; i < names.Length && integers; i++)
            integers = long.TryParse(names[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out numbers[i]);
        if (integers)
        {
            var order = Enumerable.Range(0, names.Length)
                .OrderBy(i => numbers[i]).ThenBy(i => names[i], StringComparer.Ordinal).ToArray();
            return [.. order.Select(i => names[i])];
        }
        Array.Sort(names, StringComparer.Ordinal);
        return names;
    }
}

/// <summary>The feature columns (by name, in the model's order) and class names a table must match (see <see cref="CsvTable.Load(string, string, TaskKind, CsvLayout?)"/>).</summary>
/// <param name="Features">The feature column names, in the order the model takes them.</param>
/// <param name="Classes">The class names, index = label; null for regression or to keep the table's own classes.</param>
public sealed record CsvLayout(IReadOnlyList<string> Features, IReadOnlyList<string>? Classes = null)
{
    /// <summary>
    /// Whether the label column may be absent (data to predict): every row then gets label 0 (the first of
    /// <see cref="Classes"/>, which must be given for classification) or target 0, and the rows are only features.
    /// </summary>
    public bool LabelsOptional { get; init; }
}

/// <summary>
/// A CSV table cannot be turned into a dataset: the message names the source and, where one is involved, the row
/// (1 = the first data row after the header), the column and the offending value.
/// </summary>
public sealed class CsvFormatException : Exception
{
    /// <summary>A format error with a generic message.</summary>
    public CsvFormatException() : base("CSV: malformed table.") { }

    /// <summary>A format error with a message.</summary>
    public CsvFormatException(string message) : base(message) { }

    /// <summary>A format error with a message and the exception that revealed it.</summary>
    public CsvFormatException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>
/// Z-score standardisation per feature: (x − mean) / std, with the mean and the population standard deviation of
/// each feature over the samples (dim 0) of the data it was fitted on; a feature with std 0 gets std 1. Fit it
/// on the training part only and transform every part with it. The results do not track gradients.
/// </summary>
public sealed class Standardizer
{
    private float[]? _mean, _std;
    private int[] _shape = [];

    /// <summary>Whether <see cref="Fit"/> (or <see cref="FromStatistics"/>) has set the statistics.</summary>
    public bool IsFitted => _mean is not null;

    /// <summary>The mean of each feature, shaped like one sample, e.g. (F).</summary>
    /// <exception cref="InvalidOperationException">not fitted.</exception>
    public Tensor Mean => Tensor.FromArray(_mean ?? throw NotFitted(), _shape);

    /// <summary>The standard deviation used for each feature (1 where the data's was 0), shaped like one sample.</summary>
    /// <exception cref="InvalidOperationException">not fitted.</exception>
    public Tensor Std => Tensor.FromArray(_std ?? throw NotFitted(), _shape);

    /// <summary>A standardizer with given statistics (e.g. saved with a model), both shaped like one sample.</summary>
    /// <exception cref="ArgumentException">the shapes differ, or a std is not positive and finite.</exception>
    public static Standardizer FromStatistics(Tensor mean, Tensor std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (!mean.Shape.SequenceEqual(std.Shape))
            throw new ArgumentException($"Standardizer: mean {Shapes.Format(mean.Shape.ToArray())} and std {Shapes.Format(std.Shape.ToArray())} must have the same shape.", nameof(std));
        float[] s = std.ToArray();
        foreach (float v in s)
            if (!(v > 0) || !float.IsFinite(v))
                throw new ArgumentException($"Standardizer: every std must be positive and finite; found {v.ToString(CultureInfo.InvariantCulture)}.", nameof(std));
        return new Standardizer { _mean = mean.ToArray(), _std = s, _shape = mean.Shape.ToArray() };
    }

    /// <summary>Computes each feature's mean and population std over dim 0 of (N, …) features; returns this.</summary>
    /// <exception cref="ArgumentException">features is not at least 2-D or has no samples.</exception>
    public Standardizer Fit(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Rank < 2 || features.Shape[0] == 0)
            throw new ArgumentException($"Standardizer.Fit: features must be (N, …) with N ≥ 1; got {Shapes.Format(features.Shape.ToArray())}.", nameof(features));
        int n = features.Shape[0];
        float[] x = features.ToArray();
        int width = x.Length / n;
        var sum = new double[width];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < width; j++) sum[j] += x[i * width + j];
        var mean = new double[width];
        for (int j = 0; j < width; j++) mean[j] = sum[j] / n;
        var squares = new double[width];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < width; j++)
            {
                double d = x[i * width + j] - mean[j];
                squares[j] += d * d;
            }
        _mean = new float[width];
        _std = new float[width];
        for (int j = 0; j < width; j++)
        {
            _mean[j] = (float)mean[j];
            float s = (float)Math.Sqrt(squares[j] / n);
            _std[j] = s > 0 && float.IsFinite(s) ? s : 1f;
        }
        _shape = features.Shape.Skip(1).ToArray();
        return this;
    }

    /// <summary>(x − mean) / std per feature, for (N, …) features shaped like the fitted ones after dim 0.</summary>
    /// <exception cref="InvalidOperationException">not fitted.</exception>
    /// <exception cref="ArgumentException">the sample shape differs from the fitted one.</exception>
    public Tensor Transform(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        float[] mean = _mean ?? throw NotFitted(), std = _std!;
        if (features.Rank != _shape.Length + 1 || !features.Shape.Skip(1).SequenceEqual(_shape))
            throw new ArgumentException($"Standardizer.Transform: features {Shapes.Format(features.Shape.ToArray())} must be (N, {string.Join(", ", _shape)}) like the fitted data.", nameof(features));
        float[] x = features.ToArray();
        int width = mean.Length;
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int j = i % width;
            y[i] = (float)(((double)x[i] - mean[j]) / std[j]);
        }
        return Tensor.FromArray(y, features.Shape.ToArray());
    }

    /// <summary><see cref="Fit"/> then <see cref="Transform"/> on the same features.</summary>
    public Tensor FitTransform(Tensor features) => Fit(features).Transform(features);

    private static InvalidOperationException NotFitted() =>
        new("Standardizer: call Fit on the training features first.");
}
