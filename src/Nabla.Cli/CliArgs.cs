using System.Globalization;

namespace Nabla.Cli;

/// <summary>Wrong command-line input: printed as one line, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// <c>--name value</c> and <c>--flag</c> options of one command. Every option must be known; values are parsed
/// on request with a message naming the option and the bad value.
/// </summary>
internal sealed class CliArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public CliArgs(IReadOnlyList<string> args, IReadOnlySet<string> valueOptions, IReadOnlySet<string> flagOptions)
    {
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            string? inline = null;
            int eq = a.IndexOf('=', StringComparison.Ordinal);
            if (a.StartsWith("--", StringComparison.Ordinal) && eq > 2) (a, inline) = (a[..eq], a[(eq + 1)..]);
            if (flagOptions.Contains(a))
            {
                if (inline is not null) throw new UsageException($"{a} takes no value.");
                _flags.Add(a);
            }
            else if (valueOptions.Contains(a))
            {
                // A following "--option" is never a value: "--lr --epochs 3" lacks the learning rate.
                string? v = inline ?? (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : null);
                if (v is null) throw new UsageException($"{a} needs a value.");
                _values[a] = v;
            }
            else
            {
                var known = valueOptions.Concat(flagOptions).Order(StringComparer.Ordinal);
                var close = known.FirstOrDefault(k => k.StartsWith(a, StringComparison.Ordinal) || a.StartsWith(k, StringComparison.Ordinal));
                throw new UsageException($"unknown option '{args[i]}'{(close is null ? "" : $"; did you mean {close}?")} (see --help).");
            }
        }
    }

    public bool Has(string name) => _values.ContainsKey(name) || _flags.Contains(name);

    public bool Flag(string name) => _flags.Contains(name);

    public string? String(string name) => _values.GetValueOrDefault(name);

    public string String(string name, string fallback) => _values.GetValueOrDefault(name) ?? fallback;

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        if (!_values.TryGetValue(name, out var v)) return fallback;
        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x))
            throw new UsageException($"{name}: '{v}' is not a whole number.");
        if (x < min || x > max) throw new UsageException($"{name}: {x} is out of range ({min}..{(max == int.MaxValue ? "∞" : max.ToString(CultureInfo.InvariantCulture))}).");
        return x;
    }

    public double Double(string name, double fallback, double min = double.NegativeInfinity, double max = double.PositiveInfinity, bool exclusiveMin = false)
    {
        if (!_values.TryGetValue(name, out var v)) return fallback;
        return ParseDouble(name, v, min, max, exclusiveMin);
    }

    public static double ParseDouble(string name, string v, double min = double.NegativeInfinity, double max = double.PositiveInfinity, bool exclusiveMin = false)
    {
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || !double.IsFinite(x))
            throw new UsageException($"{name}: '{v}' is not a number.");
        if (x < min || x > max || (exclusiveMin && x == min))
            throw new UsageException($"{name}: {v} is out of range ({(exclusiveMin ? "(" : "[")}{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]).");
        return x;
    }

    public bool Bool(string name, bool fallback)
    {
        if (!_values.TryGetValue(name, out var v)) return fallback;
        return v.ToLowerInvariant() switch
        {
            "true" or "yes" or "1" or "on" => true,
            "false" or "no" or "0" or "off" => false,
            _ => throw new UsageException($"{name}: '{v}' is not true or false."),
        };
    }
}
