using System.Globalization;
using System.Text;
using System.Text.Json;
using Nabla.Data;
using Nabla.Training;

namespace Nabla.Cli;

/// <summary><c>nabla predict</c>: a saved model's predictions for every row of some data, as CSV or JSON.</summary>
internal static class PredictCommand
{
    private static readonly Opt Out = new() { Name = "--out", Value = "FILE", Help = "write the predictions to FILE instead of stdout", Default = "stdout" };
    private static readonly Opt Json = new() { Name = "--json", Help = "the predictions as JSON instead of CSV" };
    private static readonly Opt Overwrite = new() { Name = "--overwrite", Help = "replace an existing --out FILE" };

    internal static readonly Opt[] Options =
    [
        SavedModel.ModelPath, RunOptions.Arch, .. RunOptions.ModelShapeOptions, .. RunOptions.DataOptions, RunOptions.Seed, RunOptions.Threads, Out, Json, Overwrite,
    ];

    public static string Help => """
        nabla predict — a saved model's predictions for every row of the data

        Usage:
          nabla predict --model DIR --data SOURCE [--label COLUMN] [--out FILE] [--json]

        Every row (or image) of the data is predicted; --test FRACTION|FILE|default predicts a test part instead. A CSV
        may lack the label column (new data to predict); its feature columns are matched to the run's by name, and the
        run's input normalisation is applied. A folder of images without class folders is predicted image by image
        (file-name order; the CSV's first column is then file). Classification prints one line per row: row (1 = the first row predicted:
        with every row, the first data row), class, and each class's probability (p_CLASS); regression prints row and
        prediction. --json writes the same as one JSON object.
        """ + Opt.Render([
            ("Model", [SavedModel.ModelPath, RunOptions.Arch, .. RunOptions.ModelShapeOptions]),
            ("Data", [.. RunOptions.DataOptions, RunOptions.Seed]),
            ("Output", [Out, Json, Overwrite, RunOptions.Threads]),
        ]) + "\n";

    public static int Run(string[] args, TextWriter stdout)
    {
        var a = new CliArgs(args, Options);
        if (a.HelpRequested)
        {
            stdout.Write(Help);
            return Program.Ok;
        }
        var (config, weights, runFolder) = SavedModel.Resolve(a);
        if (!a.Has("--test")) config = config with { Test = "none" };
        string? outFile = a.String("--out");
        if (outFile is not null)
        {
            if (File.Exists(outFile) && !a.Flag("--overwrite")) throw new UsageException($"--out: '{outFile}' exists; add --overwrite to replace it.");
            if (Path.GetFullPath(outFile) == Path.GetFullPath(config.Data)) throw new UsageException($"--out: '{outFile}' is the data being predicted.");
        }
        var given = a.Given.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var data = DataSources.Load(config, given, runFolder ? config.Classes : null, runFolder ? config.Features : null,
            everyRow: config.Test == "none", labelsOptional: true);
        var rows = data.Test!;
        TrainCommand.CheckMemory(config with { BatchSize = 256 }, rows, Math.Max(1, config.Ensemble));
        var net = TrainCommand.BuildModel(config, rows);
        TrainCommand.LoadWeights(net, weights, "--model");
        // The library's predictor: the run's normalisation as training applied it, evaluation mode, batch by batch.
        Predictor predictor;
        try
        {
            predictor = Predictor.FromModel(TrainCommand.CardOf(config, rows), net);
        }
        catch (FormatException e)
        {
            throw new UsageException($"--model: the saved normalisation or shapes do not fit the data: {e.Message}.");
        }
        var outputs = predictor.Predict(rows);
        bool classify = rows.Task == TaskKind.Classification;
        float[] values = (classify ? outputs.Softmax(-1) : outputs).ToArray();
        int[] best = classify ? outputs.ArgMax(-1).Data : [];
        int width = outputs.Shape[1];
        string text = a.Flag("--json") ? AsJson(weights, data.Description, rows, values, best, width, classify, data.Files) : AsCsv(rows, values, best, width, classify, data.Files);
        if (outFile is null)
        {
            stdout.Write(text);
            return Program.Ok;
        }
        Output.WriteFile(outFile, Encoding.UTF8.GetBytes(text), "--out");   // only now: a refused input leaves nothing behind
        return Program.Ok;
    }

    private static string F(float v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Quote(string s) => s.IndexOfAny([',', '"', '\n', '\r']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";

    // Rows are numbered (1 = the first predicted); a folder of images without class folders names each file instead.
    private static string AsCsv(TensorDataset rows, float[] values, int[] best, int width, bool classify, string[]? files)
    {
        var sb = new StringBuilder();
        if (classify)
        {
            sb.Append(files is null ? "row,class" : "file,class");
            foreach (var c in rows.ClassNames) sb.Append(",p_").Append(Quote(c));
        }
        else sb.Append(width == 1 ? "row,prediction" : "row," + string.Join(',', Enumerable.Range(0, width).Select(j => $"prediction_{j}")));
        sb.Append('\n');
        for (int i = 0; i < rows.Count; i++)
        {
            sb.Append(files is null ? (i + 1).ToString(CultureInfo.InvariantCulture) : Quote(files[i]));
            if (classify) sb.Append(',').Append(Quote(rows.ClassNames[best[i]]));
            for (int j = 0; j < width; j++) sb.Append(',').Append(F(values[i * width + j]));
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static string AsJson(string model, string description, TensorDataset rows, float[] values, int[] best, int width, bool classify, string[]? files) =>
        Reports.Compact(w =>
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            w.WriteString("data", description);
            w.WriteNumber("count", rows.Count);
            if (classify)
            {
                w.WriteStartArray("classes");
                foreach (var c in rows.ClassNames) w.WriteStringValue(c);
                w.WriteEndArray();
            }
            w.WriteStartArray("predictions");
            for (int i = 0; i < rows.Count; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("row", i + 1);
                if (files is not null) w.WriteString("file", files[i]);
                if (classify)
                {
                    w.WriteString("class", rows.ClassNames[best[i]]);
                    w.WriteStartObject("probabilities");
                    for (int j = 0; j < width; j++)
                    {
                        w.WritePropertyName(rows.ClassNames[j]);
                        Reports.WriteNumberValue(w, values[i * width + j]);
                    }
                    w.WriteEndObject();
                }
                else if (width == 1)
                {
                    w.WritePropertyName("prediction");
                    Reports.WriteNumberValue(w, values[i]);
                }
                else
                {
                    w.WriteStartArray("prediction");
                    for (int j = 0; j < width; j++) Reports.WriteNumberValue(w, values[i * width + j]);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }) + "\n";
}
