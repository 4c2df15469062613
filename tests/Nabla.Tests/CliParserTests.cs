using Nabla.Cli;

namespace Nabla.Tests;

/// <summary>
/// The command line on System.CommandLine: every command's --help from its option table, response files, shell
/// completion, and the parse errors (one line, exit 2, "did you mean") the hand-written parser gave.
/// </summary>
public class CliParserTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    public static TheoryData<string[]> EveryCommand()
    {
        var data = new TheoryData<string[]>();
        foreach (var e in CommandTree.Commands)
        {
            data.Add([e.Name]);
            foreach (var s in e.Sub ?? []) data.Add([e.Name, s.Name]);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(EveryCommand))]
    public void Every_command_has_help_listing_each_option_with_its_help_default_and_the_exit_codes(string[] command)
    {
        var r = Run([.. command, "--help"]);
        Assert.Equal(0, r.Code);
        Assert.Equal("", r.Err);
        Assert.EndsWith("\n", r.Out);
        Assert.Contains("Exit codes: 0 done", r.Out);
        var entry = CommandTree.Commands.Single(c => c.Name == command[0]);
        if (command.Length > 1) entry = entry.Sub!.Single(s => s.Name == command[1]);
        foreach (var o in entry.Options)
        {
            Assert.Contains(o.Name, r.Out);
            Assert.Contains(o.Help, r.Out);
            if (o.Default is not null) Assert.Contains($"(default: {o.Default})", r.Out);
        }
        // -h is the same help.
        Assert.Equal(r.Out, Run([.. command, "-h"]).Out);
    }

    [Fact]
    public void Root_help_lists_every_command_from_the_table()
    {
        var r = Run("--help");
        Assert.Equal(0, r.Code);
        foreach (var e in CommandTree.Commands) Assert.Contains($"nabla {e.Usage}", r.Out);
        Assert.Contains("Exit codes:", r.Out);
        Assert.Contains("@FILE", r.Out);
    }

    public static TheoryData<string[], string> ParseErrors() => new()
    {
        { ["train", "--lrr", "0.1"], "unknown option '--lrr'; did you mean --lr?" },
        { ["train", "--lrr=0.1"], "unknown option '--lrr=0.1'; did you mean --lr?" },
        { ["bench", "--sizee", "3", "gemm"], "unknown option '--sizee'; did you mean --size?" },
        { ["train", "--lr", "0.1", "--lr", "0.2"], "--lr is given twice; give each option once." },
        { ["train", "--normalize", "--normalize"], "--normalize is given twice" },
        { ["train", "--lr"], "--lr needs a value (X)." },
        { ["train", "--lr", "--epochs", "3"], "--lr needs a value (X)." },
        { ["train", "--out", "-h"], "--out needs a value (DIR)." },
        { ["train", "--out", "--weird"], "--out needs a value (DIR)." },
        { ["export", "--softmax=yes"], "--softmax takes no value." },
        { ["train", "stray"], "unexpected argument 'stray'" },
        { ["bench", "gemm", "extra"], "unexpected argument 'extra'" },
        { ["train", "@/nonexistent/args.rsp"], "Error reading response file '/nonexistent/args.rsp'" },
        { ["completion", "fish"], "unknown shell 'fish'; expected bash, zsh or pwsh." },
        { ["completion"], "completion needs a shell" },
    };

    [Theory]
    [MemberData(nameof(ParseErrors))]
    public void Parse_errors_are_one_line_exit_2(string[] args, string expected)
    {
        var r = Run(args);
        Assert.Equal(2, r.Code);
        Assert.Equal("", r.Out);
        Assert.Contains(expected, r.Err);
        Assert.Single(r.Err.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain("internal error", r.Err);
    }

    [Fact]
    public void Values_keep_their_forms_negative_numbers_and_equals()
    {
        // A negative number is a value (range-checked by its option), never an option; --name=value splits once.
        Assert.Contains("--lr: -1 is out of range", Run("train", "--lr", "-1").Err);
        Assert.Contains("--lr: -0.5 is out of range", Run("train", "--lr=-0.5").Err);
        var r = Run("summary", "--model=mlp:8", "--json");
        Assert.Equal(0, r.Code);
        Assert.Equal(r.Out, Run("summary", "--model", "mlp:8", "--json").Out);
    }

    [Fact]
    public void A_response_file_gives_the_same_run_as_its_arguments()
    {
        string file = Path.Combine(Path.GetTempPath(), $"nabla-{Guid.NewGuid():N}.rsp");
        try
        {
            File.WriteAllText(file, "# the model\n--model mlp:16,8\n--activation tanh --norm layer\n");
            var inline = Run("summary", "--model", "mlp:16,8", "--activation", "tanh", "--norm", "layer", "--json");
            var fromFile = Run("summary", $"@{file}", "--json");
            Assert.Equal(0, inline.Code);
            Assert.Equal(inline.Out, fromFile.Out);
            Assert.Contains("\"parameters\"", fromFile.Out);
            // The file's options are counted with the command line's: given twice is still an error.
            var twice = Run("summary", $"@{file}", "--model", "mlp:4");
            Assert.Equal(2, twice.Code);
            Assert.Contains("--model is given twice", twice.Err);
        }
        finally
        {
            File.Delete(file);
        }
    }

    static string[] Suggest(string line)
    {
        var o = new StringWriter();
        Assert.Equal(0, Program.Run([$"[suggest:{line.Length}]", line], o, new StringWriter()));
        return o.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public void Completion_offers_commands_options_choices_and_words()
    {
        var commands = Suggest("nabla ");
        foreach (var e in CommandTree.Commands) Assert.Contains(e.Name, commands);
        Assert.Equal(["train"], Suggest("nabla tr"));
        Assert.Equal(["--optimizer"], Suggest("nabla train --optim"));
        Assert.Equal(["adagrad", "adam", "adamw"], Suggest("nabla train --optimizer ad"));
        Assert.Contains("tanh", Suggest("/usr/local/bin/nabla train --activation "));
        Assert.Contains("classic", Suggest("nabla validate --dropout-mode "));
        Assert.Contains("resnet", Suggest("nabla bench "));
        Assert.Contains("degradation", Suggest("nabla lab "));
        Assert.Contains("sample", Suggest("nabla gan "));
        Assert.Contains("--per-class", Suggest("nabla gan sample --"));
        Assert.Contains("--tensorboard", Suggest("nabla train --"));
        // The program's own name may be missing (dotnet-suggest passes it, other callers may not).
        Assert.Equal(Suggest("nabla train --optim"), Suggest("train --optim"));
        // Every option of every command is offered.
        foreach (var e in CommandTree.Commands.Where(c => c.Options.Count > 0))
        {
            var offered = Suggest($"nabla {e.Name} --");
            foreach (var o in e.Options) Assert.Contains(o.Name, offered);
        }
    }

    [Theory]
    [InlineData("bash", "complete -o default -F _nabla_complete nabla")]
    [InlineData("zsh", "compdef _nabla_complete nabla")]
    [InlineData("pwsh", "Register-ArgumentCompleter -Native -CommandName nabla")]
    public void Completion_scripts_call_the_suggest_directive(string shell, string hook)
    {
        var r = Run("completion", shell);
        Assert.Equal(0, r.Code);
        Assert.Contains(hook, r.Out);
        Assert.Contains("[suggest:", r.Out);
    }

    [Fact]
    public void The_bash_script_completes_in_a_real_bash()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/bin/bash")) return;
        string dir = Path.Combine(Path.GetTempPath(), $"nabla-bash-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            // A nabla on PATH that runs this build's CLI, as the installed tool would.
            string cli = typeof(Program).Assembly.Location;
            string shim = Path.Combine(dir, "nabla");
            File.WriteAllText(shim, $"#!/bin/sh\nexec dotnet '{cli}' \"$@\"\n");
            File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.WriteAllText(Path.Combine(dir, "script.sh"), Run("completion", "bash").Out + """
                COMP_LINE="nabla train --optimizer ad"; COMP_POINT=${#COMP_LINE}
                COMP_WORDS=(nabla train --optimizer ad); COMP_CWORD=3
                _nabla_complete
                echo "${COMPREPLY[@]}"
                """);
            var psi = new System.Diagnostics.ProcessStartInfo("/bin/bash", [Path.Combine(dir, "script.sh")]) { RedirectStandardOutput = true };
            psi.Environment["PATH"] = dir + ":" + Environment.GetEnvironmentVariable("PATH");
            using var p = System.Diagnostics.Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.Equal("adagrad adam adamw", output.Trim());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
