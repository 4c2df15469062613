using System.Text;
using Nabla.Validation;

namespace Nabla.Cli;

/// <summary>The <c>--scheme</c> strings of validate, search and split: the library's splitter registry (<see cref="Splitters"/>).</summary>
internal static class Schemes
{
    /// <summary>
    /// The splitter a --scheme names (<see cref="Splitters.Parse"/>); its refusals are usage errors. With
    /// <paramref name="shuffle"/> false, kfold and stratified-kfold are unshuffled (scikit-learn's defaults exactly) and
    /// holdout is train_test_split(shuffle=False); schemes random by nature refuse it.
    /// </summary>
    public static Splitter Parse(string scheme, int seed, bool shuffle = true)
    {
        try
        {
            return Splitters.Parse(scheme, shuffle, seed);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            // The library's message starts with the scheme, or (an unknown name) quotes it.
            throw new UsageException(Splitters.Find(scheme) is null ? $"--scheme: {e.Message}" : $"--scheme {e.Message}");
        }
    }

    /// <summary>The SCHEME section of the help texts: every registered scheme, its default argument and what it does.</summary>
    public static string Help
    {
        get
        {
            int width = Splitters.Registry.Max(s => s.Form.Length) + 2;
            var sb = new StringBuilder("\n\nSCHEME: NAME or NAME:ARGUMENT, e.g. kfold:5 or repeated-kfold:5x3\n");
            foreach (var s in Splitters.Registry)
            {
                string help = s.Default.Length == 0 ? s.Help : $"{s.Help}; default {s.Default}";
                if (s.Factory(s.Default, true, 0).NeedsGroups) help += "; needs --groups COL in a CSV";
                sb.Append("  ").Append(s.Form.PadRight(width)).Append(help).Append('\n');
            }
            string takes = string.Join(", ", Splitters.Registry.Where(s => s.HonoursShuffle).Select(s => s.Name));
            string refuse = string.Join(", ", Splitters.Registry.Where(s => !s.HonoursShuffle).Select(s => s.Name));
            return sb.Append(Wrap($"--shuffle false: {takes} take it (kfold and stratified-kfold are then scikit-learn's defaults, " +
                $"holdout holds out the last part in order as train_test_split(shuffle=False)); {refuse} are random by nature and refuse it.")).ToString();
        }
    }

    private static string Wrap(string text, int width = 116)
    {
        var sb = new StringBuilder();
        int line = 0;
        foreach (var word in text.Split(' '))
        {
            if (line > 0 && line + 1 + word.Length > width)
            {
                sb.Append('\n');
                line = 0;
            }
            else if (line > 0)
            {
                sb.Append(' ');
                line++;
            }
            sb.Append(word);
            line += word.Length;
        }
        return sb.Append('\n').ToString();
    }
}
