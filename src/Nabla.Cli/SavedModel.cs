namespace Nabla.Cli;

/// <summary>
/// The model a command's <c>--model DIR|FILE</c> names (evaluate, export): a finished run folder (config.json and
/// model.safetensors) or a bare .safetensors file with <c>--arch</c> and the model options.
/// </summary>
internal static class SavedModel
{
    /// <summary>--model: a run folder, or a .safetensors file with --arch.</summary>
    public static readonly Opt ModelPath = new()
    {
        Name = "--model", Value = "DIR|FILE", Help = "a run folder written by 'nabla train', or a .safetensors file (from Nabla or PyTorch) with --arch",
    };

    /// <summary>The run's settings (the options given applied over config.json), the weights file, and whether it is a run folder.</summary>
    public static (RunConfig Config, string Weights, bool RunFolder) Resolve(CliArgs a)
    {
        string model = a.String("--model") ?? throw new UsageException("--model DIR|FILE.safetensors is required.");
        RunConfig config;
        string weights;
        bool runFolder = Directory.Exists(model);
        if (runFolder)
        {
            string cfg = Path.Combine(model, "config.json");
            weights = Path.Combine(model, "model.safetensors");
            if (!File.Exists(cfg) || !File.Exists(weights))
                throw new UsageException($"--model: {model} has no {(!File.Exists(cfg) ? "config.json" : "model.safetensors")}; a folder must be a finished 'nabla train' run.");
            if (a.Given.FirstOrDefault(o => o == RunOptions.Arch || RunOptions.ModelShapeOptions.Contains(o)) is { } shape)
                throw new UsageException($"{shape.Name}: {cfg} gives the model's layout; --arch and the model options apply to a bare .safetensors file.");
            config = RunConfig.Parse(TrainCommand.ReadInput(cfg, "--model"), cfg);
            if (a.String("--task") is { } task && task.Trim().ToLowerInvariant() != config.Task)
                throw new UsageException($"--task: the model in {model} was trained for {config.Task}; its outputs cannot be scored as {CliArgs.Clip(task)}.");
        }
        else if (File.Exists(model))
        {
            if (!a.Has("--arch")) throw new UsageException($"--model {model}: a bare .safetensors file needs --arch SPEC (the layout, as train --model takes it).");
            weights = model;
            config = new RunConfig();
        }
        else throw new UsageException($"--model: '{model}' does not exist.");
        // Run folder or not, the options given go through the same declarations as train's.
        config = RunOptions.Apply(config, a).Resolved();
        Threads.Count = config.Threads;
        return (config, weights, runFolder);
    }
}
