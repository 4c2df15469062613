using System.Globalization;

namespace Nabla.Cli;

/// <summary>A user's mistake on the command line or in a file they gave: printed as one line, exit code 2, nothing written.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>A failure of the environment (disk full, unwritable folder, a device as output): one line, exit code 1.</summary>
internal sealed class EnvironmentException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The options of one command, parsed against its table (<see cref="Opt"/>): every option must be known and given
/// at most once; <c>--name value</c>, <c>--name=value</c> and <c>--flag</c>. Values are parsed on request with a
/// message naming the option and the bad value. <c>--help</c>/<c>-h</c> in an option position asks for help.
/// </summary>
internal sealed class CliArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly List<Opt> _given = [];

    public CliArgs(IReadOnlyList<string> args, IReadOnlyList<Opt> options, int positionals = 0)
    {
        var byName = options.ToDictionary(o => o.Name, StringComparer.Ordinal);
        var free = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a is "--help" or "-h")
            {
                HelpRequested = true;
                continue;
            }
            string? inline = null;
            int eq = a.IndexOf('=', StringComparison.Ordinal);
            if (a.StartsWith("--", StringComparison.Ordinal) && eq > 2) (a, inline) = (a[..eq], a[(eq + 1)..]);
            if (!IsOptionToken(a))
            {
                if (free.Count >= positionals)
                    throw new UsageException($"unexpected argument '{Clip(a)}' (options start with --; see --help).");
                free.Add(a);
                continue;
            }
            if (!byName.TryGetValue(a, out var opt))
            {
                var close = byName.Keys.Order(StringComparer.Ordinal)
                    .FirstOrDefault(k => k.StartsWith(a, StringComparison.Ordinal) || a.StartsWith(k, StringComparison.Ordinal));
                throw new UsageException($"unknown option '{Clip(args[i])}'{(close is null ? "" : $"; did you mean {close}?")} (see --help).");
            }
            if (_values.ContainsKey(a))
                throw new UsageException($"{a} is given twice; give each option once.");
            if (opt.IsFlag)
            {
                if (inline is not null) throw new UsageException($"{a} takes no value.");
                _values[a] = "true";
            }
            else
            {
                // An option token is never a value: "--lr --epochs 3" and "--out -h" lack their values.
                string? v = inline ?? (i + 1 < args.Count && !IsOptionToken(args[i + 1]) ? args[++i] : null);
                if (v is null) throw new UsageException($"{a} needs a value ({opt.Value}).");
                _values[a] = v;
            }
            _given.Add(opt);
        }
        Positionals = free;
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
