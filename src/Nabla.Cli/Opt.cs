using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Nabla.Cli;

/// <summary>What an option is about: where it is listed in help and whether <c>search --grid</c> may vary it.</summary>
internal enum OptGroup
{
    /// <summary>Which data and how it is split: resources, never grid axes.</summary>
    Data,
    /// <summary>The model's layout: grid axes.</summary>
    Model,
    /// <summary>How it is trained: grid axes.</summary>
    Training,
    /// <summary>Where results go and how the process runs (files, threads, output format): never grid axes.</summary>
    Run,
    /// <summary>A command's own options (a scheme, a count): never grid axes.</summary>
    Command,
}

/// <summary>
/// One command-line option, declared once: its name, value, help and group; for the settings of a run, how its text
/// sets a <see cref="RunConfig"/> (validating it: the same code reads the command line, config.json and --grid
/// values) and how config.json records it. The parser (<see cref="CliArgs"/>) and the help text come from these.
/// </summary>
internal sealed class Opt
{
    /// <summary>"--lr".</summary>
    public required string Name { get; init; }
    /// <summary>The value's placeholder in help ("X", "N", "FILE"); null for a flag.</summary>
    public string? Value { get; init; }
    public bool IsFlag => Value is null;
    public required string Help { get; init; }
    public OptGroup Group { get; init; } = OptGroup.Command;
    /// <summary>Its key in config.json, or null when a run does not record it.</summary>
    public string? Json { get; init; }
    /// <summary>Parses and validates the text (a UsageException names the option), returning the changed settings.</summary>
    public Func<RunConfig, string, RunConfig>? Set { get; init; }
    /// <summary>Writes the resolved setting into config.json (nothing where it does not apply).</summary>
    public Action<Utf8JsonWriter, RunConfig>? Write { get; init; }
    /// <summary>The text form of a config.json value (default: a string's text, a number's digits, a bool's true/false).</summary>
    public Func<JsonElement, string>? FromJson { get; init; }
    /// <summary>The default as shown in help, or null.</summary>
    public string? Default { get; init; }
    /// <summary>The values shell completion offers (a closed set's members), or null.</summary>
    public string[]? Choices { get; init; }

    /// <summary>Whether <c>search --grid</c> may vary it: what shapes the model or the training, never a file or resource.</summary>
    public bool Axis => Group is OptGroup.Model or OptGroup.Training && Name != "--init";

    /// <summary>The grid axis name: the option without its dashes.</summary>
    public string AxisName => Name[2..];

    /// <summary>A config.json value as the text the command line would give.</summary>
    public string TextOf(JsonElement e)
    {
        if (FromJson is not null) return FromJson(e);
        return e.ValueKind switch
        {
            JsonValueKind.String => e.GetString()!,
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            JsonValueKind.Number => e.GetRawText(),
            _ => throw new UsageException($"{Json}: expected a string, number or true/false, got {e.ValueKind.ToString().ToLowerInvariant()}."),
        };
    }

    /// <summary>Help text for a list of options, grouped as given.</summary>
    public static string Render(IEnumerable<(string Heading, IEnumerable<Opt> Options)> sections)
    {
        var sb = new StringBuilder();
        foreach (var (heading, options) in sections)
        {
            var list = options.ToList();
            if (list.Count == 0) continue;
            sb.Append('\n').Append(heading).Append(":\n");
            foreach (var o in list)
            {
                string left = o.IsFlag ? o.Name : $"{o.Name} {o.Value}";
                string help = o.Default is null ? o.Help : $"{o.Help} (default: {o.Default})";
                sb.Append("  ").Append(left.PadRight(28));
                if (left.Length > 28) sb.Append('\n').Append(new string(' ', 30));
                sb.Append(help).Append('\n');
            }
        }
        return sb.Append('\n').Append(Footer).ToString();
    }

    /// <summary>The end of every command's help: response files, completion and the exit codes.</summary>
    public const string Footer = """
        Options may also come from a file: nabla COMMAND @FILE (one or more arguments per line; a line starting with # is a comment).
        Tab completion: nabla completion bash|zsh|pwsh.
        Exit codes: 0 done, 1 the environment failed (disk, permissions), 2 a mistake in the input (nothing written),
        70 a bug in nabla (please report it), 130 interrupted (resumable).

        """;

    public static string Format(double v) => v.ToString("G", CultureInfo.InvariantCulture);
}
