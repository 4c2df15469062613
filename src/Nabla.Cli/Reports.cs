using System.Globalization;
using System.Text;
using System.Text.Json;
using Nabla.Data;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli;

/// <summary>What a training run produced, as written to metrics.json.</summary>
internal sealed record RunReport(RunConfig Config, string Data, int TrainCount, int ValidationCount, TensorDataset? Test,
    History History, Evaluation? TestEval, double Seconds, int? BestEpoch, LayerStatistics? LayerStatistics = null)
{
    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("nabla", Program.Version);
        w.WriteString("command", "train");
        w.WritePropertyName("config");
        Config.Write(w);
        w.WriteStartObject("dataset");
        w.WriteString("source", Data);
        w.WriteNumber("train", TrainCount);
        w.WriteNumber("validation", ValidationCount);
        w.WriteNumber("test", Test?.Count ?? 0);
        if (Config.Classes is { } classes)
        {
            w.WriteStartArray("classes");
            foreach (var c in classes) w.WriteStringValue(c);
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteStartArray("history");
        foreach (var e in History.Epochs)
        {
            w.WriteStartObject();
            w.WriteNumber("epoch", e.Epoch + 1);
            foreach (var (k, v) in e.Logs) Reports.WriteNumber(w, k, v);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("epochs_run", History.Epochs.Count);
        if (BestEpoch is not null) w.WriteNumber("best_epoch", BestEpoch.Value + 1);
        if (History.StopReason is not null) w.WriteString("stop_reason", History.StopReason);
        if (History.Epochs.Count > 0)
        {
            w.WriteStartObject("final");
            foreach (var (k, v) in History.Epochs[^1].Logs) Reports.WriteNumber(w, k, v);
            w.WriteEndObject();
        }
        if (TestEval is not null)
        {
            w.WriteStartObject("test");
            Reports.WriteScores(w, TestEval);
            w.WriteEndObject();
        }
        if (TestEval?.Confusion is { } cm)
        {
            w.WriteStartArray("confusion");
            for (int i = 0; i < cm.GetLength(0); i++)
            {
                w.WriteStartArray();
                for (int j = 0; j < cm.GetLength(1); j++) w.WriteNumberValue(cm[i, j]);
                w.WriteEndArray();
            }
            w.WriteEndArray();
        }
        w.WriteNumber("seconds", Math.Round(Seconds, 3));
        double samples = History.Epochs.Sum(e => e["samples_per_second"] * e["seconds"]);
        double trainSeconds = History.Epochs.Sum(e => e["seconds"]);
        if (trainSeconds > 0) w.WriteNumber("samples_per_second", Math.Round(samples / trainSeconds, 1));
        w.WriteBoolean("captured_step", History.CapturedStep);
        // Data-parallel ranks (mpirun), and the seconds their gradient reductions took.
        w.WriteNumber("ranks", History.Ranks);
        if (History.Ranks > 1) w.WriteNumber("reduce_seconds", Math.Round(History.ReduceSeconds, 3));
        if (History.CaptureNote is { } note) w.WriteString("capture_note", note);
        else w.WriteNull("capture_note");
        if (LayerStatistics is { } stats) WriteLayerStatistics(w, stats);
        w.WriteEndObject();
    }

    // Per layer: gradient norm of its weight (null for a layer without one) and its output's mean and deviation, every N steps.
    private static void WriteLayerStatistics(Utf8JsonWriter w, LayerStatistics stats)
    {
        w.WriteStartObject("layer_statistics");
        w.WriteNumber("every", stats.Every);
        w.WriteStartArray("layers");
        foreach (var l in stats.Layers) w.WriteStringValue(l);
        w.WriteEndArray();
        w.WriteStartArray("samples");
        foreach (var s in stats.Samples)
        {
            w.WriteStartObject();
            w.WriteNumber("step", s.Step);
            foreach (var (key, values) in new[] { ("gradient_norm", s.GradientNorm), ("mean", s.Mean), ("std", s.Std) })
            {
                w.WriteStartArray(key);
                foreach (var v in values)
                    if (double.IsFinite(v)) w.WriteNumberValue(v);
                    else w.WriteNullValue();
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}

/// <summary>metrics.json, config.json and the final console table.</summary>
internal static class Reports
{
    public static void WriteNumber(Utf8JsonWriter w, string key, double v)
    {
        if (double.IsFinite(v)) w.WriteNumber(key, v);
        else w.WriteNull(key);
    }

    /// <summary>An evaluation's loss and metrics as properties of the object being written.</summary>
    public static void WriteScores(Utf8JsonWriter w, Evaluation e)
    {
        WriteNumber(w, "loss", e.Loss);
        foreach (var (k, v) in e.Metrics) WriteNumber(w, k, v);
    }

    public static void WriteNumberValue(Utf8JsonWriter w, double v)
    {
        if (double.IsFinite(v)) w.WriteNumberValue(v);
        else w.WriteNullValue();
    }

    // A float in its own shortest form (a prediction); null where JSON has no number (NaN, ±∞).
    public static void WriteNumberValue(Utf8JsonWriter w, float v)
    {
        if (float.IsFinite(v)) w.WriteNumberValue(v);
        else w.WriteNullValue();
    }

    /// <summary>Indented JSON as UTF-8 bytes.</summary>
    public static byte[] JsonBytes(Action<Utf8JsonWriter> write, bool indented = true)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
            write(w);
        return buffer.ToArray();
    }

    /// <summary>The same document on one line, for --json (written by a non-indented writer: values are never touched).</summary>
    public static string Compact(Action<Utf8JsonWriter> write) => Encoding.UTF8.GetString(JsonBytes(write, indented: false));

    /// <summary>Writes indented JSON atomically (<see cref="IO.AtomicFile"/>).</summary>
    public static void WriteJson(string path, Action<Utf8JsonWriter> write) => IO.AtomicFile.Write(path, JsonBytes(write));

    /// <summary>Writes JSON bytes atomically.</summary>
    public static void WriteJson(string path, byte[] bytes) => IO.AtomicFile.Write(path, bytes);

    /// <summary>Train / validation / test metrics side by side.</summary>
    public static void PrintSummary(TextWriter log, bool rich, History history, Evaluation? test, bool classification, double seconds)
    {
        var last = history.Epochs.Count > 0 ? history.Epochs[^1] : null;
        string[] keys = classification ? ["loss", "accuracy", "precision", "recall", "f1", "top5_accuracy"] : ["loss", "mse", "mae", "r2"];
        string Cell(double v) => double.IsNaN(v) ? "" : v.ToString("F4", CultureInfo.InvariantCulture);
        double Train(string k) => last is null ? double.NaN : last[k];
        double Val(string k) => last is null ? double.NaN : last["val_" + k];
        double Test(string k) => test is null ? double.NaN : k == "loss" ? test.Loss : test.Metrics.TryGetValue(k, out var v) ? v : double.NaN;
        if (rich)
        {
            var table = new Table().AddColumns("metric", "train (last epoch)", "validation", "test");
            foreach (var k in keys) table.AddRow(k, Cell(Train(k)), Cell(Val(k)), Cell(Test(k)));
            AnsiConsole.Write(table);
        }
        else
        {
            var sb = new StringBuilder();
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{"metric",-14}{"train",12}{"validation",12}{"test",12}"));
            foreach (var k in keys) sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{k,-14}{Cell(Train(k)),12}{Cell(Val(k)),12}{Cell(Test(k)),12}"));
            log.Write(sb.ToString());
        }
        string headline = test is null ? "no test set" : classification ? $"test accuracy {Test("accuracy"):F4}" : $"test R² {Test("r2"):F4}";
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{headline} after {history.Epochs.Count} epochs in {seconds:F1} s"));
    }
}
