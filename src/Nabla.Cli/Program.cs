using System.Reflection;

namespace Nabla.Cli;

/// <summary>The <c>nabla</c> command: train and evaluate models from the terminal.</summary>
public static class Program
{
    /// <summary>Entry point; returns the process exit code (0 success, 1 failure, 2 usage error, 130 interrupted).</summary>
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected);

    /// <summary>Runs the command with the given streams (tests call this directly; never interactive).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, stdout, stderr, interactive: false);

    private static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool interactive)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            stdout.Write(Help);
            return 0;
        }
        if (args[0] is "--version" or "-V" or "version")
        {
            stdout.WriteLine($"nabla {Version}");
            return 0;
        }
        string command = args[0];
        var rest = args[1..];
        try
        {
            switch (command)
            {
                case "train":
                    if (rest.Contains("--help") || rest.Contains("-h")) { stdout.Write(TrainCommand.Help); return 0; }
                    return TrainCommand.Run(rest, stdout, stderr, interactive);
                case "evaluate":
                    if (rest.Contains("--help") || rest.Contains("-h")) { stdout.Write(EvaluateCommand.Help); return 0; }
                    return EvaluateCommand.Run(rest, stdout, stderr);
                case "validate":
                    if (rest.Contains("--help") || rest.Contains("-h")) { stdout.Write(ValidateCommand.ValidateHelp); return 0; }
                    return ValidateCommand.Validate(rest, stdout, stderr, interactive);
                case "search":
                    if (rest.Contains("--help") || rest.Contains("-h")) { stdout.Write(ValidateCommand.SearchHelp); return 0; }
                    return ValidateCommand.Search(rest, stdout, stderr, interactive);
                case "split":
                    if (rest.Contains("--help") || rest.Contains("-h")) { stdout.Write(ValidateCommand.SplitHelp); return 0; }
                    return ValidateCommand.Split(rest, stdout, stderr);
                case "augment":
                    if (rest.Contains("--help") || rest.Contains("-h")) { stdout.Write(AugmentCommand.Help); return 0; }
                    return AugmentCommand.Run(rest, stdout);
                case "bench":
                    if (rest.Contains("--help") || rest.Contains("-h")) { stdout.Write(BenchCommand.Help); return 0; }
                    return BenchCommand.Run(rest, stdout);
                case "lab":
                    if (rest.Contains("--help") || rest.Contains("-h")) { stdout.Write(LabCommand.Help); return 0; }
                    return LabCommand.Run(rest, stdout, stderr);
                default:
                    stderr.WriteLine($"nabla: unknown command or option '{command}'. Run 'nabla --help' for usage.");
                    return 2;
            }
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"nabla {command}: {e.Message}");
            return 2;
        }
    }

    /// <summary>The informational version of the Nabla library.</summary>
    public static string Version =>
        (typeof(Tensor).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0")
        .Split('+')[0];

    private static string Help => $"""
        nabla {Version} — train and judge neural networks in pure .NET

        Usage:
          nabla train [options]      train a model (defaults: MLP on the embedded Fashion-MNIST subset)
          nabla evaluate [options]   score a saved model on a dataset's test part
          nabla validate [options]   cross-validate a configuration (k-fold, holdout, bootstrap, LOO …)
          nabla search [options]     choose hyperparameters by cross-validation (grid or random)
          nabla split [options]      show the splits a validation scheme makes
          nabla lab degradation      plain vs residual nets of growing depth (the degradation problem)
          nabla bench WORKLOAD       measure gemm, mlp, cnn or cnn-bn on this machine
          nabla augment [options]    preview an augmentation as a PNG grid
          nabla --help | --version

        Run 'nabla COMMAND --help' for the options of a command.
        Library: add the Nabla package and 'using Nabla;' — see README.md.

        """;
}
