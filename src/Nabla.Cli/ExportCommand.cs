using Nabla.Onnx;

namespace Nabla.Cli;

/// <summary><c>nabla export</c>: a saved model as an ONNX file for ONNX Runtime, ML.NET or Windows ML.</summary>
internal static class ExportCommand
{
    private static readonly Opt Onnx = new() { Name = "--onnx", Value = "FILE", Help = "the ONNX file to write", Default = "DIR/model.onnx" };
    private static readonly Opt Softmax = new() { Name = "--softmax", Help = "end the graph in a softmax: class probabilities instead of logits" };
    private static readonly Opt Overwrite = new() { Name = "--overwrite", Help = "replace an existing FILE" };

    internal static readonly Opt[] Options =
    [
        SavedModel.ModelPath, Onnx, Softmax, Overwrite, RunOptions.Arch, .. RunOptions.ModelShapeOptions, .. RunOptions.DataOptions, RunOptions.Seed, RunOptions.Threads,
    ];

    public static string Help => $"""
        nabla export — write a saved model as ONNX (opset {OnnxExport.Opset}) for serving

        Usage:
          nabla export --model DIR [--onnx FILE] [--softmax]
          nabla export --model FILE.safetensors --arch SPEC [model options] [data options] --onnx FILE

        The graph takes a float tensor "input" (N, …a sample's shape) with any batch size N and gives "output"
        (logits, or probabilities with --softmax). A run that normalised its inputs carries the same normalisation in
        the graph, so the input is the data as nabla reads it. The model is exported in evaluation form: BatchNorm with
        its running statistics, dropout and noise as the identity. The data options only give the sample's shape (the
        run's own data by default; a run folder's model.json makes them unnecessary). A layer ONNX cannot express is refused by name (exit 2, nothing written).
        """ + Opt.Render([
            ("Model", [SavedModel.ModelPath, RunOptions.Arch, .. RunOptions.ModelShapeOptions]),
            ("Output", [Onnx, Softmax, Overwrite]),
            ("Data", [.. RunOptions.DataOptions, RunOptions.Seed]),
            ("Run", [RunOptions.Threads]),
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
        string output = a.String("--onnx") ?? (runFolder ? Path.Combine(a.String("--model")!, "model.onnx")
            : throw new UsageException("--onnx FILE is required with a bare .safetensors file."));
        if (File.Exists(output) && !a.Flag("--overwrite")) throw new UsageException($"--onnx: '{output}' exists; add --overwrite to replace it.");

        // A run's model.json gives the layout and shapes; without one (an older run, a bare file) the data give the
        // sample's shape and the output count, as evaluate builds the model.
        string card = Path.Combine(a.String("--model")!, Training.ModelCard.FileName);
        Module net;
        int[] sampleShape;
        int outputs;
        string description;
        if (runFolder && File.Exists(card))
        {
            Training.ModelCard c;
            try
            {
                c = Training.ModelCard.Load(card);
                net = c.BuildModel();
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                throw new UsageException($"--model: {e.Message}");
            }
            (sampleShape, outputs, description) = (c.SampleShape, c.Outputs, config.Data);
        }
        else
        {
            var given = a.Given.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
            var data = DataSources.Load(config, given, runFolder ? config.Classes : null, runFolder ? config.Features : null, everyRow: true);
            net = TrainCommand.BuildModel(config, data.Test!);
            (sampleShape, outputs, description) = (data.Test!.SampleShape, data.Test!.OutputSize, data.Description);
        }
        TrainCommand.LoadWeights(net, weights, "--model");
        int[] shape = [1, .. sampleShape];
        var options = new OnnxExportOptions(InputMean: config.NormMean, InputStd: config.NormStd, Softmax: a.Flag("--softmax"),
            DocString: $"nabla {Program.Version}: {config.Model} trained on {description}");
        byte[] bytes;
        try
        {
            bytes = OnnxExport.ToBytes(net, shape, options);
        }
        catch (OnnxExportException e)
        {
            throw new UsageException(e.Message);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--model: {e.Message}");
        }
        Output.WriteFile(output, bytes, "--onnx");   // only now: a refused model leaves nothing behind
        stdout.WriteLine($"{output}: {config.Model}, input (N, {string.Join(", ", sampleShape)}), output (N, {outputs})" +
            $"{(a.Flag("--softmax") ? " probabilities" : " logits")}, opset {OnnxExport.Opset}, {bytes.Length / 1024.0:F0} KiB");
        return Program.Ok;
    }
}
