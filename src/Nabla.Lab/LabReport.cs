using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Nabla.IO;
using ScottPlot;

namespace Nabla.Lab;

/// <summary>
/// Writes labs' results into a folder: one PNG per figure (ScottPlot), report.md, report.html (the same with the figures
/// inline) and report.json (every number: each comparison with its values, each metric per condition and seed, each
/// mean curve).
/// </summary>
public static class LabReport
{
    /// <summary>Writes the report of <paramref name="results"/> into <paramref name="directory"/> (created if missing); returns the files written.</summary>
    public static IReadOnlyList<string> Write(IReadOnlyList<LabResult> results, string directory, string header)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        var files = new List<string>();
        foreach (var r in results)
            foreach (var f in r.Figures)
            {
                string path = Path.Combine(directory, f.FileName);
                AtomicFile.Write(path, Render(f));
                files.Add(path);
            }
        string md = Markdown(results, header);
        AtomicFile.Write(Path.Combine(directory, "report.md"), Encoding.UTF8.GetBytes(md));
        AtomicFile.Write(Path.Combine(directory, "report.html"), Encoding.UTF8.GetBytes(Html(results, header, directory)));
        AtomicFile.Write(Path.Combine(directory, "report.json"), Json(results, header));
        files.AddRange(new[] { "report.md", "report.html", "report.json" }.Select(n => Path.Combine(directory, n)));
        return files;
    }

    /// <summary>The report as Markdown (figures as links to their PNGs).</summary>
    public static string Markdown(IReadOnlyList<LabResult> results, string header)
    {
        var s = new StringBuilder();
        s.AppendLine("# The lecture as a lab").AppendLine().AppendLine(header).AppendLine();
        s.AppendLine("| lab | claim | verdict | seconds |").AppendLine("| --- | --- | --- | ---: |");
        foreach (var r in results)
            s.AppendLine(CultureInfo.InvariantCulture, $"| {r.Name} | {r.Claim} | **{Comparison.Words(r.Verdict)}** | {r.Seconds:F0} |");
        foreach (var r in results)
        {
            s.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"## {r.Name}: {r.Title}").AppendLine();
            s.AppendLine(CultureInfo.InvariantCulture, $"Lecture lines {r.SeedLines}. **Claim:** {r.Claim}").AppendLine();
            s.AppendLine(CultureInfo.InvariantCulture, $"**Published:** {r.Published}").AppendLine();
            s.AppendLine(CultureInfo.InvariantCulture, $"**Budget:** {r.Budget}").AppendLine();
            s.AppendLine(CultureInfo.InvariantCulture, $"**Verdict: {Comparison.Words(r.Verdict)}.**").AppendLine();
            foreach (var c in r.Comparisons) s.AppendLine(CultureInfo.InvariantCulture, $"- {(c.Deciding ? "" : "(beside the verdict) ")}{c.Sentence}");
            foreach (var t in r.Tables)
            {
                s.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"{t.Title}:").AppendLine();
                s.AppendLine("| " + string.Join(" | ", t.Header) + " |").AppendLine("|" + string.Concat(t.Header.Select((_, i) => i == 0 ? " --- |" : " ---: |")));
                foreach (var row in t.Rows) s.AppendLine("| " + string.Join(" | ", row) + " |");
            }
            if (r.Figures.Count > 0) s.AppendLine();
            foreach (var f in r.Figures) s.AppendLine(CultureInfo.InvariantCulture, $"![{f.Title}]({f.FileName})");
            foreach (var n in r.Notes) s.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Note: {n}");
        }
        return s.ToString();
    }

    private static string Html(IReadOnlyList<LabResult> results, string header, string directory)
    {
        var s = new StringBuilder();
        s.AppendLine("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Nabla lab report</title><style>")
            .AppendLine("body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.45}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}.supported{color:#1a7f37}.contradicted{color:#cf222e}.not{color:#9a6700}img{max-width:100%}")
            .AppendLine("</style></head><body><h1>The lecture as a lab</h1>");
        s.AppendLine(CultureInfo.InvariantCulture, $"<p>{E(header)}</p><table><tr><th>lab</th><th>claim</th><th>verdict</th><th>seconds</th></tr>");
        foreach (var r in results)
            s.AppendLine(CultureInfo.InvariantCulture, $"<tr><td><a href=\"#{r.Name}\">{E(r.Name)}</a></td><td style=\"text-align:left\">{E(r.Claim)}</td><td class=\"{Css(r.Verdict)}\"><b>{Comparison.Words(r.Verdict)}</b></td><td>{r.Seconds:F0}</td></tr>");
        s.AppendLine("</table>");
        foreach (var r in results)
        {
            s.AppendLine(CultureInfo.InvariantCulture, $"<h2 id=\"{r.Name}\">{E(r.Name)}: {E(r.Title)}</h2>");
            s.AppendLine(CultureInfo.InvariantCulture, $"<p>Lecture lines {E(r.SeedLines)}. <b>Claim:</b> {E(r.Claim)}</p><p><b>Published:</b> {E(r.Published)}</p><p><b>Budget:</b> {E(r.Budget)}</p>");
            s.AppendLine(CultureInfo.InvariantCulture, $"<p class=\"{Css(r.Verdict)}\"><b>Verdict: {Comparison.Words(r.Verdict)}.</b></p><ul>");
            foreach (var c in r.Comparisons) s.AppendLine(CultureInfo.InvariantCulture, $"<li>{(c.Deciding ? "" : "(beside the verdict) ")}{E(c.Sentence)}</li>");
            s.AppendLine("</ul>");
            foreach (var t in r.Tables)
            {
                s.AppendLine(CultureInfo.InvariantCulture, $"<p>{E(t.Title)}:</p><table><tr>{string.Concat(t.Header.Select(h => $"<th>{E(h)}</th>"))}</tr>");
                foreach (var row in t.Rows) s.AppendLine($"<tr>{string.Concat(row.Select(v => $"<td>{E(v)}</td>"))}</tr>");
                s.AppendLine("</table>");
            }
            foreach (var f in r.Figures)
            {
                string path = Path.Combine(directory, f.FileName);
                if (File.Exists(path)) s.AppendLine(CultureInfo.InvariantCulture, $"<p><img alt=\"{E(f.Title)}\" src=\"data:image/png;base64,{Convert.ToBase64String(File.ReadAllBytes(path))}\"></p>");
            }
            foreach (var n in r.Notes) s.AppendLine(CultureInfo.InvariantCulture, $"<p><i>Note:</i> {E(n)}</p>");
        }
        s.AppendLine("</body></html>");
        return s.ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string Css(Verdict v) => v switch { Verdict.Supported => "supported", Verdict.Contradicted => "contradicted", _ => "not" };

    private static byte[] Json(IReadOnlyList<LabResult> results, string header)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("header", header);
            w.WriteStartArray("labs");
            foreach (var r in results)
            {
                w.WriteStartObject();
                w.WriteString("name", r.Name);
                w.WriteString("title", r.Title);
                w.WriteString("seed_lines", r.SeedLines);
                w.WriteString("claim", r.Claim);
                w.WriteString("budget", r.Budget);
                w.WriteString("verdict", Comparison.Words(r.Verdict));
                w.WriteNumber("seconds", Math.Round(r.Seconds, 2));
                w.WriteStartArray("comparisons");
                foreach (var c in r.Comparisons)
                {
                    w.WriteStartObject();
                    w.WriteString("claim", c.Claim);
                    w.WriteString("metric", c.Metric);
                    w.WriteString("a", c.A);
                    w.WriteString("b", c.B);
                    w.WriteString("expect", c.Expect.ToString().ToLowerInvariant());
                    w.WriteNumber("margin", c.Margin);
                    w.WriteBoolean("deciding", c.Deciding);
                    Numbers(w, "values_a", c.ValuesA);
                    Numbers(w, "values_b", c.ValuesB);
                    Number(w, "difference", c.Difference);
                    Number(w, "standard_error", c.StandardError);
                    w.WriteString("verdict", Comparison.Words(c.Verdict));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartObject("values");
                foreach (var (metric, byCondition) in r.Measurements.Values)
                {
                    w.WriteStartObject(metric);
                    foreach (var (condition, values) in byCondition) Numbers(w, condition, [.. values]);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                w.WriteStartObject("mean_curves");
                foreach (var (curve, byCondition) in r.Measurements.Curves)
                {
                    w.WriteStartObject(curve);
                    foreach (var condition in byCondition.Keys) Numbers(w, condition, r.Measurements.MeanCurve(curve, condition));
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                w.WriteStartArray("notes");
                foreach (var n in r.Notes) w.WriteStringValue(n);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    // JSON has no NaN: a missing or undefined number is null.
    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v)) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }

    private static void Numbers(Utf8JsonWriter w, string name, double[] values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
            if (double.IsFinite(v)) w.WriteNumberValue(v);
            else w.WriteNullValue();
        w.WriteEndArray();
    }

    /// <summary>The PNG of a figure.</summary>
    public static byte[] Render(LabFigure figure)
    {
        ArgumentNullException.ThrowIfNull(figure);
        using var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < figure.Series.Count; i++)
        {
            var s = figure.Series[i];
            if (s.Y.Length == 0) continue;
            var y = figure.LogY ? s.Y.Select(v => v > 0 ? Math.Log10(v) : double.NaN).ToArray() : s.Y;
            var sc = plot.Add.Scatter(s.X, y);
            sc.Color = palette.GetColor(i);
            sc.LegendText = s.Name;
            if (s.Dashed) sc.LinePattern = LinePattern.Dashed;
            if (figure.Points)
            {
                sc.LineWidth = 0;
                sc.MarkerSize = 9;
            }
            else sc.MarkerSize = s.X.Length > 60 ? 0 : 5;
        }
        plot.Title(figure.Title);
        plot.XLabel(figure.XLabel);
        plot.YLabel(figure.LogY ? $"log10 {figure.YLabel}" : figure.YLabel);
        if (figure.Categories is { } cats)
        {
            plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, cats.Length).Select(i => (double)i)], cats);
            plot.Axes.SetLimitsX(-0.5, cats.Length - 0.5);
        }
        else plot.ShowLegend(Alignment.UpperRight);
        if (Imaging.Fonts.SansSerif is { } font) plot.Font.Set(font);
        using var image = plot.GetImage(1000, 480);
        return image.GetImageBytes(ImageFormat.Png, 100);
    }
}
