using System.Globalization;
using Nabla.Data;
using Nabla.Training;

namespace Nabla.Cli;

/// <summary><c>nabla evaluate</c>: a saved model on a dataset's test part.</summary>
internal static class EvaluateCommand
{
    private static readonly Opt ModelPath = SavedModel.ModelPath;

    internal static readonly Opt[] Options =
    [
        ModelPath, RunOptions.Arch, .. RunOptions.ModelShapeOptions, .. RunOptions.DataOptions, RunOptions.Seed, RunOptions.Threads, RunOptions.Json,
    ];

    public static string Help => """
        nabla evaluate — score a saved model on the test part of a dataset

        Usage:
          nabla evaluate --model DIR [data options] [--json]
          nabla evaluate --model FILE.safetensors --arch SPEC [model options] [data options] [--json]

        A DIR written by 'nabla train' needs nothing else: its config.json gives the layout, the data, the classes and
        the normalisation, and its classes and CSV columns are matched to the data by name. A bare .safetensors file
        (from Nabla or PyTorch, same key names) needs --arch and the model options that shaped it (--norm batch …),
        as 'nabla train' takes them. --test none scores every row of the data.
        """ + Opt.Render([
            ("Model", [ModelPath, RunOptions.Arch, .. RunOptions.ModelShapeOptions]),
            ("Data", [.. RunOptions.DataOptions, RunOptions.Seed]),
            ("Output", [RunOptions.Threads, RunOptions.Json]),
        ]) + "\n";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new CliArgs(args, Options);
        if (a.HelpRequested)
        {
            stdout.Write(Help);
            return Program.Ok;
        }
        var (config, weights, runFolder) = SavedModel.Resolve(a);
        var given = a.Given.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        // Scored as it is, so a one-class test set is fine here; --test none scores every row, carving nothing.
        var data = DataSources.Load(config, given, runFolder ? config.Classes : null, runFolder ? config.Features : null, everyRow: config.Test == "none");
        var test = data.Test!;
        string description = data.Description;
        if (config.NormMean is not null) test = TrainCommand.Normalize(test, config);
        TrainCommand.CheckMemory(config with { BatchSize = 256 }, test, Math.Max(1, config.Ensemble));
        var net = TrainCommand.BuildModel(config, test);
        TrainCommand.LoadWeights(net, weights, "--model");
        Loss loss = test.Task == TaskKind.Classification ? new CrossEntropyLoss() : new MSELoss();
        var ev = new Trainer().Evaluate(net, loss, test);
        if (a.Flag("--json"))
        {
            stdout.WriteLine(Reports.Compact(w =>
            {
                w.WriteStartObject();
                w.WriteString("model", weights);
                w.WriteString("data", description);
                w.WriteNumber("count", ev.Count);
                Reports.WriteScores(w, ev);
                w.WriteEndObject();
            }));
            return Program.Ok;
        }
        stdout.WriteLine($"{weights} on {description} ({ev.Count} samples)");
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"loss",-14}{ev.Loss,10:F4}"));
        foreach (var (k, v) in ev.Metrics) stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{k,-14}{v,10:F4}"));
        return Program.Ok;
    }
}
