using System.Globalization;
using Nabla.Data;
using Nabla.Training;

namespace Nabla.Cli;

/// <summary><c>nabla evaluate</c>: a saved model on a dataset's test part.</summary>
internal static class EvaluateCommand
{
    private static readonly HashSet<string> ValueOptions = ["--model", "--arch", "--activation", "--data", "--label", "--task", "--seed", "--threads"];
    private static readonly HashSet<string> FlagOptions = ["--json"];

    public const string Help = """
        nabla evaluate — score a saved model on the test part of a dataset

        Usage:
          nabla evaluate --model DIR|FILE.safetensors [--arch mlp:256,128] [--activation relu]
                         [--data embedded|fashion-mnist|DIR|FILE.csv] [--label COL] [--task classification|regression]
                         [--seed N] [--threads N] [--json]

        A DIR written by 'nabla train' needs nothing else: its config.json gives the layout, the data and the
        normalisation. A bare .safetensors file (from Nabla or PyTorch, same key names) needs --arch.
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var a = new CliArgs(args, ValueOptions, FlagOptions);
        string model = a.String("--model") ?? throw new UsageException("--model DIR|FILE.safetensors is required.");
        RunConfig config;
        string weights;
        if (Directory.Exists(model))
        {
            string cfg = Path.Combine(model, "config.json");
            weights = Path.Combine(model, "model.safetensors");
            if (!File.Exists(cfg) || !File.Exists(weights)) throw new UsageException($"--model: {model} has no config.json and model.safetensors from 'nabla train'.");
            config = RunConfig.Load(cfg);
        }
        else if (File.Exists(model))
        {
            weights = model;
            config = new RunConfig();
        }
        else throw new UsageException($"--model: '{model}' does not exist.");
        config = config with
        {
            Model = a.String("--arch") ?? config.Model,
            Activation = a.String("--activation") ?? config.Activation,
            Data = a.String("--data") ?? config.Data,
            Label = a.String("--label") ?? config.Label,
            Task = a.String("--task") ?? config.Task,
            Seed = a.Int("--seed", config.Seed),
        };
        Threads.Count = a.Int("--threads", Environment.ProcessorCount, 1, 1024);
        var task = config.Task == "regression" ? TaskKind.Regression : TaskKind.Classification;
        var (_, test, description) = DataSources.Load(config.Data, config.Label, task, config.Seed, config.ImageSize, config.Grayscale);
        if (config.NormMean is not null) test = TrainCommand.Normalize(test, config);
        var net = TrainCommand.BuildModel(config, test);
        TrainCommand.LoadWeights(net, weights);
        Loss loss = task == TaskKind.Classification ? new CrossEntropyLoss() : new MSELoss();
        var ev = new Trainer().Evaluate(net, loss, test);
        bool json = a.Flag("--json");
        if (json)
        {
            using var buffer = new MemoryStream();
            using (var w = new System.Text.Json.Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("model", weights);
                w.WriteString("data", description);
                w.WriteNumber("count", ev.Count);
                Reports.WriteNumber(w, "loss", ev.Loss);
                foreach (var (k, v) in ev.Metrics) Reports.WriteNumber(w, k, v);
                w.WriteEndObject();
            }
            stdout.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            return 0;
        }
        stdout.WriteLine($"{weights} on {description} ({ev.Count} samples)");
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{"loss",-14}{ev.Loss,10:F4}"));
        foreach (var (k, v) in ev.Metrics) stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{k,-14}{v,10:F4}"));
        return 0;
    }
}
