using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Nabla.Cli;

/// <summary>A user's mistake on the command line or in a file they gave: printed as one line, exit code 2, nothing written.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>A failure of the environment (disk full, unwritable folder, a device as output): one line, exit code 1.</summary>
internal sealed class EnvironmentException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The options of one command, parsed by System.CommandLine against a command built from its table (<see cref="Opt"/>,
/// <see cref="CommandTree.Build"/>): every option must be known and given at most once; <c>--name value</c>,
/// <c>--name=value</c>, <c>--flag</c> and <c>@file</c> response files (one or more arguments per line, # comments).
/// Parse errors are ours, one line each (a UsageException: exit 2), with "did you mean". Values are parsed on
/// request with a message naming the option and the bad value. <c>--help</c>/<c>-h</c> in an option position asks for help.
/// </summary>
internal sealed class CliArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly List<Opt> _given = [];

    public CliArgs(IReadOnlyList<string> args, IReadOnlyList<Opt> options, int positionals = 0)
    {
        var byName = options.ToDictionary(o => o.Name, StringComparer.Ordinal);
        var command = CommandTree.Build("nabla", "", options, positionals);
        var result = command.Parse(args);
        // Errors in command-line order; an error wins over --help, so "--out -h" says --out lacks its value.
        foreach (var token in result.Tokens)
        {
            if (token.Type == TokenType.Option && byName.TryGetValue(token.Value, out var opt))
                Take(result, command.Options.First(o => o.Name == opt.Name), opt);
            else if (token.Type == TokenType.Argument && (IsOptionToken(token.Value) || result.UnmatchedTokens.Contains(token.Value)))
                throw Unexpected(token.Value, args, byName);
        }
        var free = new List<string>();
        if (command.Arguments.Count > 0 && result.GetResult(command.Arguments[0]) is { } words)
            foreach (var w in words.Tokens.Select(t => t.Value))
            {
                // An unknown "--name" is an argument to the parser; to us it is a mistyped option.
                if (IsOptionToken(w)) throw Unexpected(w, args, byName);
                free.Add(w);
            }
        if (result.UnmatchedTokens.Count > 0) throw Unexpected(result.UnmatchedTokens[0], args, byName);
        if (result.Errors.Count > 0) throw new UsageException(Clip(result.Errors[0].Message, 240).TrimEnd('.') + " (see --help).");
        HelpRequested = result.GetResult(command.Options.OfType<HelpOption>().Single()) is not null;
        Positionals = free;
    }

    private void Take(ParseResult result, Option option, Opt opt)
    {
        var r = result.GetResult(option)!;
        if (_values.ContainsKey(opt.Name)) return;
        if (r.IdentifierTokenCount > 1) throw new UsageException($"{opt.Name} is given twice; give each option once.");
        if (opt.IsFlag)
        {
            if (r.Tokens.Count > 0) throw new UsageException($"{opt.Name} takes no value.");
            _values[opt.Name] = "true";
        }
        else
        {
            // An option token is never a value: "--lr --epochs 3" and "--out -h" lack their values.
            if (r.Tokens.Count == 0 || IsOptionToken(r.Tokens[0].Value)) throw new UsageException($"{opt.Name} needs a value ({opt.Value}).");
            _values[opt.Name] = r.Tokens[0].Value;
        }
        _given.Add(opt);
    }

    private static UsageException Unexpected(string token, IReadOnlyList<string> args, Dictionary<string, Opt> byName)
    {
        if (!IsOptionToken(token))
        {
            // A flag's "=value" reaches the parser as a stray argument after the flag.
            var flag = args.FirstOrDefault(a => a.EndsWith("=" + token, StringComparison.Ordinal) && byName.TryGetValue(a[..a.IndexOf('=', StringComparison.Ordinal)], out var f) && f.IsFlag);
            if (flag is not null) return new UsageException($"{flag[..flag.IndexOf('=', StringComparison.Ordinal)]} takes no value.");
            return new UsageException($"unexpected argument '{Clip(token)}' (options start with --; see --help).");
        }
        int eq = token.IndexOf('=', StringComparison.Ordinal);
        string name = eq > 2 ? token[..eq] : token;
        var close = byName.Keys.Order(StringComparer.Ordinal)
            .FirstOrDefault(k => k.StartsWith(name, StringComparison.Ordinal) || name.StartsWith(k, StringComparison.Ordinal));
        return new UsageException($"unknown option '{Clip(token)}'{(close is null ? "" : $"; did you mean {close}?")} (see --help).");
    }

    // "--name" and the short help; "-1" or "-0.5" are values (a negative number is a value to range-check).
    private static bool IsOptionToken(string a) => a.StartsWith("--", StringComparison.Ordinal) || a is "-h";

    /// <summary>Whether --help or -h was given.</summary>
    public bool HelpRequested { get; }

    /// <summary>Arguments that are not options (a command's sub-command or workload).</summary>
    public IReadOnlyList<string> Positionals { get; }

    /// <summary>The options given, in command-line order.</summary>
    public IReadOnlyList<Opt> Given => _given;

    public bool Has(string name) => _values.ContainsKey(name);

    public bool Flag(string name) => _values.ContainsKey(name);

    public string? String(string name) => _values.GetValueOrDefault(name);

    public string String(string name, string fallback) => _values.GetValueOrDefault(name) ?? fallback;

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue) =>
        _values.TryGetValue(name, out var v) ? ParseInt(name, v, min, max) : fallback;

    public double Double(string name, double fallback, double min = double.NegativeInfinity, double max = double.PositiveInfinity, bool exclusiveMin = false) =>
        _values.TryGetValue(name, out var v) ? ParseDouble(name, v, min, max, exclusiveMin) : fallback;

    public static int ParseInt(string name, string v, int min = int.MinValue, int max = int.MaxValue)
    {
        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x))
            throw new UsageException($"{name}: '{Clip(v)}' is not a whole number.");
        if (x < min || x > max) throw new UsageException($"{name}: {x} is out of range ({min}..{(max == int.MaxValue ? "∞" : max.ToString(CultureInfo.InvariantCulture))}).");
        return x;
    }

    public static double ParseDouble(string name, string v, double min = double.NegativeInfinity, double max = double.PositiveInfinity, bool exclusiveMin = false)
    {
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || !double.IsFinite(x))
            throw new UsageException($"{name}: '{Clip(v)}' is not a number.");
        if (x < min || x > max || (exclusiveMin && x == min))
            throw new UsageException($"{name}: {Clip(v)} is out of range ({(exclusiveMin ? "(" : "[")}{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]).");
        return x;
    }

    public static bool ParseBool(string name, string v) => v.ToLowerInvariant() switch
    {
        "true" or "yes" or "1" or "on" => true,
        "false" or "no" or "0" or "off" => false,
        _ => throw new UsageException($"{name}: '{Clip(v)}' is not true or false."),
    };

    /// <summary>A user's text shortened for a one-line message.</summary>
    public static string Clip(string s, int max = 80) =>
        (s.Length <= max ? s : s[..max] + "…").ReplaceLineEndings(" ");
}
