using System.Globalization;
using System.Text;

namespace Nabla.Cli;

/// <summary><c>nabla summary</c>: a model's layers, parameters, FLOPs and training memory, computed without building it.</summary>
internal static class SummaryCommand
{
    internal static readonly Opt[] Options =
    [
        RunOptions.Model, .. RunOptions.ModelShapeOptions, .. RunOptions.DataOptions, RunOptions.Optimizer, RunOptions.BatchSize, RunOptions.Json,
    ];

    public static string Help => """
        nabla summary — what a model is, before training it

        Usage:
          nabla summary --model SPEC [model options] [--data SOURCE …] [--optimizer NAME] [--batch-size N] [--json]

        Prints each layer (its state-dict name, kind, output shape per sample, parameters and forward FLOPs per sample, a
        multiply-add counting 2), the totals, and the memory training needs: parameters × 4 bytes × (2 + the optimizer's
        state slots) plus two batches of activations — the estimate 'nabla train' refuses a model by when it exceeds half
        of the memory available. The data (default: the embedded subset) gives the input shape and the classes; nothing
        is built or allocated, so even an absurd spec answers at once.
        """ + Opt.Render([("Options", Options)]) + "\n";

    public static int Run(string[] args, TextWriter stdout)
    {
        var a = new CliArgs(args, Options);
        if (a.HelpRequested)
        {
            stdout.Write(Help);
            return Program.Ok;
        }
        if (!a.Has("--model")) throw new UsageException("--model SPEC is required, e.g. --model resnet:20.");
        var given = a.Given.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var config = RunOptions.Apply(new RunConfig { Test = "none" }, a).Resolved();
        var data = DataSources.Load(config, given).Train;
        TrainCommand.CheckWithData(config, data);
        ModelSummary s;
        try
        {
            s = Models.Summarize(config.Model, data.SampleShape, data.OutputSize, config.Activation, TrainCommand.ModelOptionsOf(config));
        }
        catch (FormatException e)
        {
            throw new UsageException($"--model {config.Model}: {e.Message}");
        }
        int slots = config.OptimizerDefaults.Slots(config.Momentum ?? 0);
        long bytes = s.TrainingBytes(config.BatchSize, slots);
        long limit = TrainCommand.MemoryLimit();
        if (a.Flag("--json"))
        {
            stdout.WriteLine(Reports.Compact(w =>
            {
                w.WriteStartObject();
                w.WriteString("model", config.Model);
                w.WriteStartArray("input");
                foreach (int d in data.SampleShape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteNumber("outputs", data.OutputSize);
                w.WriteStartArray("layers");
                foreach (var l in s.Layers)
                {
                    w.WriteStartObject();
                    w.WriteString("name", l.Name);
                    w.WriteString("kind", l.Kind);
                    w.WriteStartArray("output");
                    foreach (var d in l.OutputShape) w.WriteNumberValue(d);
                    w.WriteEndArray();
                    w.WriteNumber("parameters", l.Parameters);
                    w.WriteNumber("flops", l.Flops);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteNumber("parameters", s.Parameters);
                w.WriteNumber("flops_per_sample", s.FlopsPerSample);
                w.WriteNumber("activations_per_sample", s.ActivationsPerSample);
                w.WriteString("optimizer", config.Optimizer);
                w.WriteNumber("batch_size", config.BatchSize);
                w.WriteNumber("training_bytes", bytes);
                w.WriteNumber("limit_bytes", limit);
                w.WriteBoolean("fits", bytes <= limit);
                w.WriteEndObject();
            }));
            return Program.Ok;
        }
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{config.Model} ({config.Activation}) for samples {Shapes.Format(data.SampleShape)} → {data.OutputSize} outputs\n");
        int nameWidth = Math.Max(6, s.Layers.Count == 0 ? 0 : s.Layers.Max(l => l.Name.Length)) + 2;
        int kindWidth = Math.Max(6, s.Layers.Count == 0 ? 0 : s.Layers.Max(l => l.Kind.Length)) + 2;
        sb.Append("layer".PadRight(nameWidth)).Append("kind".PadRight(kindWidth)).Append("output".PadRight(18))
            .Append("parameters".PadLeft(16)).Append("FLOPs".PadLeft(18)).Append('\n');
        foreach (var l in s.Layers)
            sb.Append(l.Name.PadRight(nameWidth)).Append(l.Kind.PadRight(kindWidth))
                .Append(("(" + string.Join(", ", l.OutputShape) + ")").PadRight(18))
                .Append(l.Parameters.ToString("N0", CultureInfo.InvariantCulture).PadLeft(16))
                .Append(l.Flops.ToString("N0", CultureInfo.InvariantCulture).PadLeft(18)).Append('\n');
        sb.Append(CultureInfo.InvariantCulture, $"parameters {s.Parameters:N0}; {s.FlopsPerSample / 1e6:F2} MFLOPs per sample forward; {s.ActivationsPerSample:N0} activations per sample\n");
        sb.Append(CultureInfo.InvariantCulture,
            $"training with {config.Optimizer}, batch {config.BatchSize}: about {TrainCommand.Bytes(bytes)}; {(bytes <= limit ? "fits in" : "exceeds")} the limit of {TrainCommand.Bytes(limit)} (half the memory available)\n");
        stdout.Write(sb.ToString());
        return Program.Ok;
    }
}
