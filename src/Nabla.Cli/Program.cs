using System.Reflection;

namespace Nabla.Cli;

/// <summary>The <c>nabla</c> command: train and evaluate models from the terminal.</summary>
public static class Program
{
    /// <summary>Success.</summary>
    public const int Ok = 0;
    /// <summary>The environment failed: a disk full, an unwritable folder, a device as output, an output folder gone.</summary>
    public const int EnvironmentFailure = 1;
    /// <summary>A user's mistake: a bad option, file or combination; nothing was written.</summary>
    public const int UsageError = 2;
    /// <summary>An exception nobody anticipated: a bug, printed as one line (sysexits' EX_SOFTWARE).</summary>
    public const int InternalError = 70;
    /// <summary>Interrupted (Ctrl+C); the run can be resumed.</summary>
    public const int Interrupted = 130;

    /// <summary>Messages longer than this are cut: a hostile file must not produce a megabyte-long line.</summary>
    public const int MaxMessage = 600;

    /// <summary>Entry point; returns the process exit code (0 success, 1 environment failure, 2 usage error, 70 a bug, 130 interrupted).</summary>
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected);

    /// <summary>Runs the command with the given streams (tests call this directly; never interactive).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, stdout, stderr, interactive: false);

    private static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool interactive)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            stdout.Write(Help);
            return Ok;
        }
        if (args[0] is "--version" or "-V" or "version")
        {
            stdout.WriteLine($"nabla {Version} (kernels: {Kernels})");
            return Ok;
        }
        if (args[0].StartsWith("[suggest", StringComparison.Ordinal)) return CommandTree.Suggest(args, stdout);
        string command = args[0];
        var rest = args[1..];
        try
        {
            return command switch
            {
                "train" => TrainCommand.Run(rest, stdout, stderr, interactive),
                "evaluate" => EvaluateCommand.Run(rest, stdout, stderr),
                "export" => ExportCommand.Run(rest, stdout),
                "predict" => PredictCommand.Run(rest, stdout),
                "validate" => ValidateCommand.Validate(rest, stdout, stderr, interactive),
                "search" => ValidateCommand.Search(rest, stdout, stderr, interactive),
                "split" => ValidateCommand.Split(rest, stdout, stderr),
                "summary" => SummaryCommand.Run(rest, stdout),
                "augment" => AugmentCommand.Run(rest, stdout),
                "bench" => BenchCommand.Run(rest, stdout),
                "lab" => LabCommand.Run(rest, stdout, stderr),
                "gan" => GanCommand.Run(rest, stdout, stderr, interactive),
                "style" => StyleCommand.Run(rest, stdout),
                "completion" => CommandTree.Completion(rest, stdout),
                _ => Fail(stderr, UsageError, $"nabla: unknown command or option '{CliArgs.Clip(command)}'. Run 'nabla --help' for usage."),
            };
        }
        catch (Exception thrown)
        {
            // Parallel splits wrap what went wrong in an AggregateException: judge the first thing that did.
            var e = Unwrap(thrown);
            return e switch
            {
                UsageException => Fail(stderr, UsageError, $"nabla {command}: {e.Message}"),
                EnvironmentException or IOException or UnauthorizedAccessException => Fail(stderr, EnvironmentFailure, $"nabla {command}: {e.Message}"),
                OutOfMemoryException => Fail(stderr, EnvironmentFailure, $"nabla {command}: out of memory ({e.Message}); try a smaller model or batch."),
                _ => Fail(stderr, InternalError, $"nabla {command}: internal error (a bug): {e.GetType().Name}: {e.Message}"),
            };
        }
    }

    private static Exception Unwrap(Exception e) =>
        e is AggregateException { InnerExceptions.Count: > 0 } a ? Unwrap(a.InnerExceptions[0]) : e;

    /// <summary>Prints one line (newlines folded, length capped) and returns the code.</summary>
    internal static int Fail(TextWriter stderr, int code, string message)
    {
        string line = message.ReplaceLineEndings(" ");
        if (line.Length > MaxMessage) line = line[..MaxMessage] + $"… ({line.Length - MaxMessage} more characters)";
        stderr.WriteLine(line);
        return code;
    }

    /// <summary>The kernels' vector path and how it was chosen: at run time (JIT), or fixed by a NativeAOT build.</summary>
    internal static string Kernels
    {
        get
        {
            string path = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "AVX-512"
                : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "AVX2"
                : System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? "128-bit SIMD" : "scalar";
            // IsDynamicCodeCompiled, not IsDynamicCodeSupported: PublishAot turns the latter off under the JIT too.
            if (System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeCompiled) return $"{path}, chosen at run time";
            // NativeAOT fixed the instruction set when it compiled (x86-64-v3 for the linux-x64 tool).
            bool cpuHasAvx512 = OperatingSystem.IsLinux() && CpuFlag("avx512f");
            return $"{path}, fixed by the NativeAOT build" +
                (cpuHasAvx512 && path != "AVX-512" ? "; this CPU has AVX-512, which the framework-dependent tool (dotnet tool install Nabla.Cli.any) uses: 1.4–1.8× faster here, docs/PERFORMANCE.md" : "");
        }
    }

    private static bool CpuFlag(string flag)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("flags", StringComparison.Ordinal))
                    return line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(flag);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return false;
    }

    /// <summary>The informational version of the Nabla library.</summary>
    public static string Version =>
        (typeof(Tensor).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0")
        .Split('+')[0];

    private static string Help => $"""
        nabla {Version} — train and judge neural networks in pure .NET

        Usage:
        {CommandTree.UsageLines()}

        Run 'nabla COMMAND --help' for the options of a command.
        Options may also come from a file: nabla COMMAND @FILE (one or more arguments per line, # starts a comment).
        Tab completion: nabla completion bash|zsh|pwsh.
        Exit codes: 0 done, 1 the environment failed (disk, permissions), 2 a mistake in the input (nothing written),
        70 a bug in nabla (please report it), 130 interrupted (resumable).
        Library: add the Nabla package and 'using Nabla;' — see README.md.

        """;
}
