using System.CommandLine;
using System.CommandLine.Completions;
using System.CommandLine.Help;
using System.Globalization;
using System.Text;

namespace Nabla.Cli;

/// <summary>
/// The commands and their options as System.CommandLine symbols, built from the option tables (<see cref="Opt"/>):
/// one command per table for parsing (<see cref="CliArgs"/>) and the whole tree for shell completion
/// (<c>nabla [suggest:N] "LINE"</c>, the dotnet-suggest protocol; <c>nabla completion bash|zsh|pwsh</c> prints a
/// script that calls it). Nothing here decides what a value means: the tables and the commands do.
/// </summary>
internal static class CommandTree
{
    /// <summary>One command of <c>nabla</c>: its name, one line of usage, its options and the words it takes first.</summary>
    internal sealed record Entry(string Name, string Usage, string Summary, IReadOnlyList<Opt> Options, IReadOnlyList<string>? Words = null, IReadOnlyList<Entry>? Sub = null);

    /// <summary>Every command, in the order <c>nabla --help</c> lists them.</summary>
    internal static IReadOnlyList<Entry> Commands { get; } =
    [
        new("train", "train [options]", "train a model (defaults: MLP on the embedded Fashion-MNIST subset)", TrainCommand.Options),
        new("evaluate", "evaluate [options]", "score a saved model on a dataset's test part", EvaluateCommand.Options),
        new("export", "export [options]", "write a saved model as ONNX (ONNX Runtime, ML.NET, Windows ML)", ExportCommand.Options),
        new("predict", "predict [options]", "a saved model's predictions for every row of some data (CSV or JSON)", PredictCommand.Options),
        new("validate", "validate [options]", "cross-validate a configuration (k-fold, holdout, bootstrap, LOO …)", ValidateCommand.ValidateOptions),
        new("search", "search [options]", "choose hyperparameters by cross-validation (grid or random)", ValidateCommand.SearchOptions),
        new("split", "split [options]", "show the splits a validation scheme makes", ValidateCommand.SplitOptions),
        new("summary", "summary [options]", "a model's layers, parameters, FLOPs and memory, without training", SummaryCommand.Options),
        new("lab", "lab CLAIM|all", "the lecture's claims measured over seeds and judged (activations, optimizers, …, degradation)",
            LabCommand.LabOptions, [.. Nabla.Lab.LabRegistry.Names, "all"],
            [new("degradation", "", "the degradation lab, or one configurable run of it (--depths …)",
                [.. LabCommand.LabOptions, .. LabCommand.Options.Where(o => !LabCommand.LabOptions.Any(l => l.Name == o.Name))])]),
        new("bench", "bench WORKLOAD", "measure gemm, mlp, cnn, cnn-bn or resnet on this machine", BenchCommand.Options, ["gemm", "mlp", "cnn", "cnn-bn", "resnet"]),
        new("augment", "augment [options]", "preview an augmentation as a PNG grid", AugmentCommand.Options),
        new("gan", "gan train|sample", "a class-conditional GAN: train it on images, draw sample grids", [], null,
            [new("train", "", "train the GAN", GanCommand.TrainOptions), new("sample", "", "draw a grid of samples", GanCommand.SampleOptions)]),
        new("style", "style [options]", "restyle a picture with another's style (Gatys et al.; 'style train' for AdaIN)", StyleCommand.Options, null,
            [new("train", "", "train an AdaIN decoder", StyleCommand.TrainOptions)]),
        new("completion", "completion bash|zsh|pwsh", "print a shell script that completes nabla's commands and options", [], ["bash", "zsh", "pwsh"]),
    ];

    /// <summary>
    /// A command parsing exactly the given options: each a single-valued option (flags take no value), <c>--help</c>/<c>-h</c>,
    /// and up to <paramref name="positionals"/> leading words (offered from <paramref name="words"/> in completion).
    /// Response files (<c>@FILE</c>) are System.CommandLine's default.
    /// </summary>
    public static Command Build(string name, string description, IReadOnlyList<Opt> options, int positionals, IReadOnlyList<string>? words = null)
    {
        var command = new Command(name, description);
        foreach (var o in options)
        {
            Option option = o.IsFlag
                ? new Option<bool>(o.Name) { Arity = ArgumentArity.Zero }
                : new Option<string>(o.Name) { HelpName = o.Value, Arity = ArgumentArity.ExactlyOne, AllowMultipleArgumentsPerToken = false };
            option.Description = o.Default is null ? o.Help : $"{o.Help} (default: {o.Default})";
            if (o.Choices is { } choices) option.CompletionSources.Add(choices);
            command.Add(option);
        }
        command.Add(new HelpOption("--help", "-h"));
        if (positionals > 0)
        {
            // Read back as tokens (CliArgs); a one-word argument is a string to the parser, several a string[].
            Argument argument = positionals == 1
                ? new Argument<string>("word") { Arity = ArgumentArity.ZeroOrOne }
                : new Argument<string[]>("words") { Arity = new ArgumentArity(0, positionals) };
            if (words is not null) argument.CompletionSources.Add([.. words]);
            command.Add(argument);
        }
        return command;
    }

    /// <summary>The whole <c>nabla</c> tree, for completion.</summary>
    public static RootCommand Root()
    {
        var root = new RootCommand("nabla: train and judge neural networks in pure .NET");
        root.Options.Clear(); // its own --help (with -?, /h) and --version: nabla's are below
        root.Add(new HelpOption("--help", "-h"));
        foreach (var e in Commands) root.Add(ToCommand(e));
        root.Add(new Option<bool>("--version", "-V") { Arity = ArgumentArity.Zero, Description = "the version and the kernels' instruction set" });
        return root;
    }

    private static Command ToCommand(Entry e)
    {
        var c = Build(e.Name, e.Summary, e.Options, e.Words is null ? 0 : 1, e.Words);
        foreach (var s in e.Sub ?? []) c.Add(ToCommand(s));
        return c;
    }

    /// <summary>
    /// Completions for <c>nabla [suggest:POSITION] "LINE"</c> (dotnet-suggest's protocol): LINE is the command line
    /// typed so far, with or without the program's name first; prints one candidate per line.
    /// </summary>
    public static int Suggest(string[] args, TextWriter stdout)
    {
        string directive = args[0];
        string line = args.Length > 1 ? args[1] : "";
        int position = line.Length;
        if (directive.StartsWith("[suggest:", StringComparison.Ordinal) && directive.EndsWith(']')
            && int.TryParse(directive.AsSpan(9, directive.Length - 10), NumberStyles.None, CultureInfo.InvariantCulture, out int p))
            position = Math.Min(p, line.Length);
        // Drop the program's own name (nabla, a path to it, or dotnet's Nabla.Cli) and keep the cursor where it was.
        string trimmed = line.TrimStart();
        position -= line.Length - trimmed.Length;
        int space = trimmed.IndexOf(' ', StringComparison.Ordinal);
        string first = space < 0 ? trimmed : trimmed[..space];
        if (first.Length > 0 && !Commands.Any(c => c.Name == first) && !first.StartsWith('-'))
        {
            string rest = space < 0 ? "" : trimmed[(space + 1)..];
            position -= trimmed.Length - rest.Length;
            trimmed = rest;
        }
        position = Math.Clamp(position, 0, trimmed.Length);
        var result = Root().Parse(trimmed);
        foreach (var label in result.GetCompletions(position).Select(i => i.Label).Where(l => l != "-h").Distinct(StringComparer.Ordinal))
            stdout.WriteLine(label);
        return Program.Ok;
    }

    /// <summary>The shell script for <c>nabla completion SHELL</c>: it asks <c>nabla [suggest:N]</c> for candidates.</summary>
    public static string Script(string shell) => shell switch
    {
        "bash" => """
            # nabla completion for bash: add to ~/.bashrc:  source <(nabla completion bash)
            _nabla_complete() {
                local IFS=$'\n'
                COMPREPLY=( $(compgen -W "$(nabla "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}") )
            }
            complete -o default -F _nabla_complete nabla

            """,
        "zsh" => """
            # nabla completion for zsh: add to ~/.zshrc:  source <(nabla completion zsh)
            _nabla_complete() {
                local -a candidates
                candidates=("${(@f)$(nabla "[suggest:${#BUFFER[1,CURSOR]}]" "$BUFFER" 2>/dev/null)}")
                compadd -a candidates
                _files
            }
            compdef _nabla_complete nabla

            """,
        "pwsh" => """
            # nabla completion for PowerShell: add to $PROFILE:  nabla completion pwsh | Out-String | Invoke-Expression
            Register-ArgumentCompleter -Native -CommandName nabla -ScriptBlock {
                param($wordToComplete, $commandAst, $cursorPosition)
                nabla "[suggest:$cursorPosition]" "$commandAst" | ForEach-Object {
                    [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
                }
            }

            """,
        _ => throw new UsageException($"unknown shell '{CliArgs.Clip(shell)}'; expected bash, zsh or pwsh."),
    };

    /// <summary><c>nabla completion bash|zsh|pwsh</c>.</summary>
    public static int Completion(string[] args, TextWriter stdout)
    {
        var a = new CliArgs(args, [], positionals: 1);
        if (a.HelpRequested || a.Positionals.Count == 0)
        {
            if (!a.HelpRequested) throw new UsageException("completion needs a shell: bash, zsh or pwsh (see --help).");
            stdout.Write(CompletionHelp);
            return Program.Ok;
        }
        stdout.Write(Script(a.Positionals[0]));
        return Program.Ok;
    }

    private const string CompletionHelp = """
        nabla completion — tab completion of commands, options and their values

        Usage:
          nabla completion bash|zsh|pwsh

        bash:  source <(nabla completion bash)              (in ~/.bashrc)
        zsh:   source <(nabla completion zsh)               (in ~/.zshrc, after compinit)
        pwsh:  nabla completion pwsh | Out-String | Invoke-Expression   (in $PROFILE)
        The scripts call nabla "[suggest:N]" "LINE", the protocol of dotnet-suggest, which works too.

        Exit codes: 0 done, 2 a mistake in the input.

        """;

    /// <summary>The usage lines of <c>nabla --help</c>.</summary>
    public static string UsageLines()
    {
        var sb = new StringBuilder();
        foreach (var e in Commands)
        {
            string left = "nabla " + e.Usage;
            sb.Append("  ").Append(left.PadRight(31)).Append(' ').Append(e.Summary).Append('\n');
        }
        return sb.Append("  nabla --help | --version").ToString();
    }
}
