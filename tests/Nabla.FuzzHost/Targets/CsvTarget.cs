using System.Globalization;
using System.Text;
using Nabla.Data;

namespace Nabla.FuzzHost.Targets;

/// <summary>
/// <see cref="CsvTable.Load(TextReader, string, TaskKind, string?)"/> for both tasks, and the layout overload on a file
/// (<see cref="CsvTable.Load(string, string, TaskKind, CsvLayout?)"/>) → <see cref="CsvFormatException"/>. Mutations work
/// on the table as header and rows of cells — ragged rows, quotes, huge numbers, NaN and infinities, a BOM, other
/// separators and line ends, the label column missing, repeated or alone, rows removed or repeated — and write it back
/// with RFC 4180 quoting, before character havoc now and then. Framing: the header row (empty, unreadable, no or two
/// label columns, only the label, columns that do not fit the layout); body: the rows, and acceptance.
/// </summary>
internal sealed class CsvTarget : Target, IDisposable
{
    /// <summary>The call: the label column, the task, and for the file overload the layout (null features: the reader overload).</summary>
    internal sealed record Settings(string Text, string Label, TaskKind Task, string[]? Features, string[]? Classes)
    {
        public override string ToString() =>
            $"label={Label} task={Task} layout={(Features is null ? "none (TextReader)" : $"features [{string.Join("|", Features)}] classes [{(Classes is null ? "null" : string.Join("|", Classes))}] (file)")}";
    }

    private sealed class Table(List<string> header, List<List<string>> rows, string label, TaskKind task)
    {
        public List<string> Header = header;
        public List<List<string>> Rows = rows;
        public string Label = label;
        public TaskKind Task = task;
        public string Sep = ",", Newline = "\n";
        public bool Bom, TrailingNewline = true, QuoteAll;
        public Table Clone() => new([.. Header], [.. Rows.Select(r => new List<string>(r))], Label, Task)
            { Sep = Sep, Newline = Newline, Bom = Bom, TrailingNewline = TrailingNewline, QuoteAll = QuoteAll };

        public string Write()
        {
            var sb = new StringBuilder(Bom ? "\uFEFF" : "");
            void Line(List<string> cells)
            {
                for (int i = 0; i < cells.Count; i++)
                {
                    string c = cells[i];
                    bool quote = QuoteAll || c.Contains(Sep, StringComparison.Ordinal) || c.AsSpan().IndexOfAny('"', '\n', '\r') >= 0;
                    sb.Append(i > 0 ? Sep : "").Append(quote ? "\"" + c.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : c);
                }
            }
            Line(Header);
            foreach (var row in Rows) { sb.Append(Newline); Line(row); }
            if (TrailingNewline) sb.Append(Newline);
            return sb.ToString();
        }
    }

    private static readonly string[] Cells =
    [
        "", " ", "  7 ", "\t3", "\"", "a,b", "x\ny", "cat", "dog", "-", "e5", "$1", "1e999999999999", new string('9', 400), "0." + new string('0', 300) + "1",
        "\0", "\uFEFF1", "1\u00A0", "١٢", "true", "null",
    ];

    private readonly List<Table> _seeds = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("nabla-fuzz-csv-").FullName;

    public CsvTarget()
    {
        var r = new Random(5);
        string F() => (r.NextDouble() * 20 - 10).ToString("0.###", CultureInfo.InvariantCulture);
        _seeds.Add(Make(["f1", "f2", "f3", "label"], 6, i => [F(), F(), F(), Mut.Pick(r, ["cat", "dog", "bird"])], "label", TaskKind.Classification));
        _seeds.Add(Make(["y", "a", "b"], 5, i => [Mut.Pick(r, ["0", "1", "2", "10"]), F(), F()], "y", TaskKind.Classification));
        _seeds.Add(Make(["x1", "x2", "target"], 7, i => [F(), "1e-3", (r.NextDouble() * 1e3).ToString("E3", CultureInfo.InvariantCulture)], "target", TaskKind.Regression));
        var quoted = Make(["a b", "c,d", "kind"], 3, i => [F(), F(), i == 0 ? "x \"y\"" : "z"], "kind", TaskKind.Classification);
        quoted.Newline = "\r\n";
        quoted.QuoteAll = true;
        _seeds.Add(quoted);
        _seeds.Add(Make(["v", "c"], 1, i => ["0.5", "only"], "c", TaskKind.Classification));
        var wide = Make([.. Enumerable.Range(0, 12).Select(k => $"p{k}"), "out"], 3, i => [.. Enumerable.Range(0, 12).Select(_ => F()), F()], "out", TaskKind.Regression);
        wide.Bom = true;
        wide.TrailingNewline = false;
        _seeds.Add(wide);
    }

    private static Table Make(string[] header, int n, Func<int, string[]> row, string label, TaskKind task) =>
        new([.. header], [.. Enumerable.Range(0, n).Select(i => row(i).ToList())], label, task);

    public override string Name => "csv";
    public override int SeedCount => _seeds.Count * 2;

    public override FuzzCase Seed(int i)
    {
        // Each seed through the reader, then through the file with its own layout.
        var t = _seeds[i % _seeds.Count];
        return Case(t, "seed", i >= _seeds.Count ? Layout(t, null) : (null, null));
    }

    private static (string[]?, string[]?) Layout(Table t, Random? r)
    {
        var features = t.Header.Where(h => h != t.Label).ToList();
        int at = t.Header.IndexOf(t.Label);
        var classes = t.Task == TaskKind.Classification && at >= 0
            ? t.Rows.Where(row => row.Count > at).Select(row => row[at].Trim()).Distinct().Order(StringComparer.Ordinal).ToList() : null;
        if (r is not null)
        {
            if (Mut.Chance(r, 0.5)) features = [.. features.OrderBy(_ => r.Next())];
            if (Mut.Chance(r, 0.1) && features.Count > 0) features.RemoveAt(r.Next(features.Count));
            if (Mut.Chance(r, 0.1)) features.Insert(r.Next(features.Count + 1), "extra");
            if (classes is not null && Mut.Chance(r, 0.2) && classes.Count > 0) classes.RemoveAt(r.Next(classes.Count));
            if (Mut.Chance(r, 0.2)) classes = null;
        }
        return ([.. features], classes is null ? null : [.. classes]);
    }

    private static FuzzCase Case(Table t, string mutation, (string[]? Features, string[]? Classes) layout, string? text = null)
    {
        text ??= t.Write();
        return new FuzzCase(Encoding.UTF8.GetBytes(text), mutation, new Settings(text, t.Label, t.Task, layout.Features, layout.Classes));
    }

    public override bool IsDocumented(Exception e) => e is CsvFormatException;

    public override Stage Classify(Exception e)
    {
        string m = e.Message;
        return m.Contains("the file is empty", StringComparison.Ordinal) || m.Contains(": header: ", StringComparison.Ordinal)
            || m.Contains(": no column named", StringComparison.Ordinal) || m.Contains("appears twice in the header", StringComparison.Ordinal)
            || m.Contains("the only column is the label column", StringComparison.Ordinal)
            || m.Contains("is not one of the model's feature columns", StringComparison.Ordinal)
            || m.Contains("which the model takes as features", StringComparison.Ordinal)
            ? Stage.Framing : Stage.Body;
    }

    public override void Execute(FuzzCase c, long index)
    {
        var s = (Settings)c.Settings!;
        if (s.Features is null)
        {
            using var reader = new StringReader(s.Text);
            CsvTable.Load(reader, s.Label, s.Task, "fuzz.csv");
            return;
        }
        string path = Path.Combine(_dir, "t.csv");
        File.WriteAllBytes(path, c.Data);   // the text as UTF-8 (a lone surrogate written as U+FFFD, as any editor would)
        CsvTable.Load(path, s.Label, s.Task, new CsvLayout(s.Features, s.Classes));
    }

    public override FuzzCase Mutate(Random r)
    {
        var t = Mut.Pick(r, _seeds).Clone();
        var done = new List<string>();
        int steps = 1 + r.Next(3);
        for (int s = 0; s < steps; s++) done.Add(Step(r, t));
        if (Mut.Chance(r, 0.1)) { t.Task = t.Task == TaskKind.Regression ? TaskKind.Classification : TaskKind.Regression; done.Add("task"); }
        var layout = Mut.Chance(r, 0.12) ? Layout(t, r) : (null, null);
        string? text = null;
        if (Mut.Chance(r, 0.15)) { text = Mut.TextHavoc(r, t.Write(), ",\"\n\r ;\t0123456789.-eE", 4); done.Add("text"); }
        return Case(t, string.Join(",", done), layout, text);
    }

    private static string Step(Random r, Table t)
    {
        var rows = t.Rows;
        int label = t.Header.IndexOf(t.Label);
        List<string>? row = rows.Count > 0 ? Mut.Pick(r, rows) : null;
        switch (r.Next(14))
        {
            case 0 or 1 when row is { Count: > 0 }:
                row[r.Next(row.Count)] = Mut.Chance(r, 0.6) ? Mut.Pick(r, Mut.NumberTexts) : Mut.Pick(r, Cells);
                return "cell";
            case 2 when row is not null:
                if (Mut.Chance(r, 0.5) && row.Count > 0) row.RemoveAt(r.Next(row.Count));
                else row.Insert(r.Next(row.Count + 1), "1");
                return "ragged";
            case 3:
                if (Mut.Chance(r, 0.5)) t.Header.Add("extra");
                else if (t.Header.Count > 0)
                {
                    int c = r.Next(t.Header.Count);
                    t.Header.RemoveAt(c);
                    if (Mut.Chance(r, 0.7)) foreach (var x in rows) if (x.Count > c) x.RemoveAt(c);
                }
                return "column";
            case 4 when label >= 0:
                switch (r.Next(4))
                {
                    case 0: t.Header[label] = t.Label + (Mut.Chance(r, 0.5) ? " " : "X"); break;
                    case 1: t.Header[(label + 1) % t.Header.Count] = t.Label; break;
                    case 2:   // only the label column left
                        t.Header = [t.Label];
                        foreach (var x in rows) { var keep = x.Count > label ? x[label] : ""; x.Clear(); x.Add(keep); }
                        break;
                    default: t.Label = Mut.Pick(r, ["", " ", "LABEL", t.Header[r.Next(t.Header.Count)]]); break;
                }
                return "label-column";
            case 5:
                if (Mut.Chance(r, 0.4)) rows.Clear();
                else if (rows.Count > 0) rows.RemoveAt(r.Next(rows.Count));
                return "rows-";
            case 6 when row is not null:
                for (int k = Mut.Chance(r, 0.9) ? 1 : 300; k > 0; k--) rows.Insert(r.Next(rows.Count + 1), [.. row]);
                return "rows+";
            case 7 when row is not null && label >= 0 && label < row.Count:
                row[label] = Mut.Pick(r, ["", " ", "\t", "\"\"", "NaN", "1e40", "-0", "00", "0", "+0", "9223372036854775808"]);
                return "label-value";
            case 8 when t.Header.Count > 1:
                t.Header[r.Next(t.Header.Count)] = t.Header[r.Next(t.Header.Count)];
                return "header-duplicate";
            case 9:
                rows.Insert(r.Next(rows.Count + 1), [Mut.Pick(r, ["", "   ", "\t"])]);
                return "blank-line";
            case 10:
                t.Newline = Mut.Pick(r, ["\n", "\r\n", "\r", "\n\n", "\r\r\n"]);
                t.TrailingNewline = Mut.Chance(r, 0.5);
                return "newline";
            case 11:
                t.Sep = Mut.Pick(r, [";", "\t", " ", ", ", "|"]);
                return "separator";
            case 12:
                t.Bom = !t.Bom;
                t.QuoteAll = Mut.Chance(r, 0.3);
                return "bom-quotes";
            default:
                if (Mut.Chance(r, 0.9) || row is null)
                {
                    var h = t.Header;
                    if (h.Count > 0) h[r.Next(h.Count)] = Mut.Pick(r, ["", " a ", "a\"b", "x\ny", "é", new string('h', 300), "\0"]);
                    return "header-name";
                }
                // A wide table: thousands of columns, consistent.
                int extra = 3000;
                for (int k = 0; k < extra; k++) t.Header.Add($"w{k}");
                foreach (var x in rows) x.AddRange(Enumerable.Repeat("0.25", extra));
                return "wide";
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
