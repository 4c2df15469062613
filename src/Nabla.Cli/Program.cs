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
    public static int Main(string[] args)
    {
        PreferAvx512Binary(args);
        bool mpi = Nabla.Distributed.Communicator.UnderMpiLauncher;
        // mpirun hands its ranks pseudo-terminals: without this .NET would write the terminal's keypad codes into the
        // output (a --json line included) and the live display would draw through mpirun's forwarding.
        if (mpi) Environment.SetEnvironmentVariable("TERM", "dumb");
        try
        {
            Cluster.Join(args);
        }
        catch (Exception e) when (e is Nabla.Distributed.CommunicatorException or EnvironmentException)
        {
            // Every rank meets the same failure here (no MPI, or the ranks' arguments differ): rank 0 says it, all exit.
            if (Cluster.IsRoot) Fail(Console.Error, EnvironmentFailure, $"nabla: {e.Message}");
            return EnvironmentFailure;
        }
        // Under mpirun only rank 0 prints: results and user errors alike. Commands that do not spread their work over
        // ranks (everything but train, validate and search) run on rank 0 alone.
        if (!Cluster.IsRoot && args.Length > 0 && args[0] is not ("train" or "validate" or "search")) return Ok;
        int code = Cluster.IsRoot
            ? Run(args, Console.Out, Console.Error, interactive: !mpi && !Console.IsOutputRedirected)
            : Run(args, TextWriter.Null, TextWriter.Null, interactive: false);
        // A rank that failed ends the others, which would otherwise wait for it in a collective: a mistake only one rank
        // meets (an --out only rank 0 checks, a file missing on one host) as much as a failure in training.
        if (code != Ok) Cluster.AbortIfDistributed(code);
        return code;
    }

    /// <summary>The file name of the AOT tool's AVX-512 binary, beside the x86-64-v3 one that is the command.</summary>
    internal const string Avx512Binary = "nabla-avx512";

    /// <summary>
    /// In the NativeAOT tool (x86-64-v3, AVX2) on a CPU with AVX-512 (F, BW, CD, DQ, VL: x86-64-v4), replaces this
    /// process with the sibling binary compiled for x86-64-v4 (execv: same arguments, streams and process id). AOT
    /// fixes the instruction set at compile time, so this is how the AOT tool runs the AVX-512 kernels. Nothing happens
    /// under the JIT (it chooses at run time), in the AVX-512 binary itself, when the sibling is missing, or with
    /// NABLA_AVX512=0.
    /// </summary>
    private static void PreferAvx512Binary(string[] args)
    {
        // Never from the sibling itself (where .NET may still leave Vector512 off, e.g. on CPUs that throttle it).
        if (System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeCompiled || System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated || IsAvx512Binary) return;
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("NABLA_AVX512") == "0") return;
        string sibling = Path.Combine(AppContext.BaseDirectory, Avx512Binary);
        if (!File.Exists(sibling) || !CpuFlags(["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"])) return;
        var argv = new IntPtr[args.Length + 2];
        try
        {
            argv[0] = System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8(sibling);
            for (int i = 0; i < args.Length; i++) argv[i + 1] = System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8(args[i]);
            Execv(argv[0], argv); // returns only when it failed: this binary carries on with the AVX2 kernels
        }
        finally
        {
            foreach (var p in argv) System.Runtime.InteropServices.Marshal.FreeCoTaskMem(p);
        }
    }

    private static bool IsAvx512Binary => Path.GetFileName(Environment.ProcessPath ?? "") == Avx512Binary;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "execv")]
    private static extern int Execv(IntPtr path, IntPtr[] argv);

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
                EnvironmentException or IOException or UnauthorizedAccessException or Nabla.Distributed.CommunicatorException
                    => Fail(stderr, EnvironmentFailure, $"nabla {command}: {e.Message}"),
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

    /// <summary>The kernels' vector path: AVX-512, AVX2, 128-bit SIMD or scalar.</summary>
    internal static string KernelPath =>
        System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "AVX-512"
        : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "AVX2"
        : System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? "128-bit SIMD" : "scalar";

    /// <summary>The kernels' vector path and how it was chosen: at run time (JIT), or fixed by a NativeAOT build.</summary>
    internal static string Kernels
    {
        get
        {
            string path = KernelPath;
            // IsDynamicCodeCompiled, not IsDynamicCodeSupported: PublishAot turns the latter off under the JIT too.
            if (System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeCompiled) return $"{path}, chosen at run time";
            // NativeAOT fixed the instruction set when it compiled (x86-64-v3 for the linux-x64 tool).
            // The x86-64-v3 binary execs its x86-64-v4 sibling on a CPU with AVX-512 (PreferAvx512Binary); say which runs.
            bool v4 = IsAvx512Binary;
            bool cpuHasAvx512 = OperatingSystem.IsLinux() && CpuFlags(["avx512f"]);
            return $"{path}, fixed by the NativeAOT build ({(v4 ? $"{Avx512Binary}: x86-64-v4, chosen at start for this CPU" : "x86-64-v3")})" +
                (cpuHasAvx512 && !v4 ? $"; this CPU has AVX-512, which {Avx512Binary} (beside this one; NABLA_AVX512=0 turns it off) or the framework-dependent tool (dotnet tool install Nabla.Cli.any) uses: 1.4–1.8× faster here, docs/PERFORMANCE.md" : "");
        }
    }

    // Whether Linux reports every one of the flags (it lists a feature only when the kernel enabled its state).
    private static bool CpuFlags(string[] flags)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("flags", StringComparison.Ordinal))
                {
                    var have = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return flags.All(have.Contains);
                }
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
        Options may also come from a file: nabla COMMAND @FILE (one or more arguments per line; a line starting with # is a comment).
        Tab completion: nabla completion bash|zsh|pwsh.
        Exit codes: 0 done, 1 the environment failed (disk, permissions), 2 a mistake in the input (nothing written),
        70 a bug in nabla (please report it), 130 interrupted (resumable).
        Library: add the Nabla package and 'using Nabla;' — see README.md.

        """;
}
