using System.Reflection;

namespace Nabla.Cli;

/// <summary>The <c>nabla</c> command. For now it prints its version and help; training arrives with issue 5.</summary>
public static class Program
{
    /// <summary>Entry point; returns the process exit code (0 success, 2 usage error).</summary>
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Runs the command with the given streams (tests call this directly).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
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
        stderr.WriteLine($"nabla: unknown command or option '{args[0]}'. Run 'nabla --help' for usage.");
        return 2;
    }

    /// <summary>The informational version of the Nabla library.</summary>
    public static string Version =>
        (typeof(Tensor).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0")
        .Split('+')[0];

    private static string Help => $"""
        nabla {Version} — train and judge neural networks in pure .NET

        Usage:
          nabla --help       show this help
          nabla --version    show the version

        Coming next: train, evaluate, cross-validate, augment preview, benchmark.
        Library: add the Nabla package and 'using Nabla;' — see README.md.

        """;
}
