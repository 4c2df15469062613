using System.Text;
using System.Text.Json;

namespace Nabla.FuzzHost;

/// <summary>What a run saw. Body share = (accepted + refused in the body) / cases: the part that got past the framing check.</summary>
internal sealed class Report(string target, int seed)
{
    public string Target { get; } = target;
    public int Seed { get; } = seed;
    public long Cases, Accepted, Framing, BodyRejected, EchoedLineBreaks;
    public double Seconds, MaxCaseMs, GenerateSeconds;
    public long MaxAllocated, MaxNativeRise;
    public bool Stopped;
    public List<Finding> Findings { get; } = [];
    public Dictionary<string, long> Reasons { get; } = new(StringComparer.Ordinal);
    /// <summary>Cases, time and body share per mutation, for tuning the mutators.</summary>
    public Dictionary<string, (long Cases, double Ms, long Body)> ByMutation { get; } = new(StringComparer.Ordinal);

    public double Share(long n) => Cases == 0 ? 0 : (double)n / Cases;
    public double BodyShare => Share(Accepted + BodyRejected);

    public string ToJson(int maxFindings = 20)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("target", Target);
            w.WriteNumber("seed", Seed);
            w.WriteNumber("cases", Cases);
            w.WriteNumber("accepted", Math.Round(Share(Accepted), 4));
            w.WriteNumber("framing", Math.Round(Share(Framing), 4));
            w.WriteNumber("body_rejected", Math.Round(Share(BodyRejected), 4));
            w.WriteNumber("body_share", Math.Round(BodyShare, 4));
            w.WriteNumber("n_accepted", Accepted);
            w.WriteNumber("n_framing", Framing);
            w.WriteNumber("n_body_rejected", BodyRejected);
            w.WriteNumber("findings", Findings.Count);
            w.WriteNumber("seconds", Math.Round(Seconds, 2));
            w.WriteNumber("cases_per_second", Seconds > 0 ? Math.Round(Cases / Seconds) : 0);
            w.WriteNumber("max_case_ms", Math.Round(MaxCaseMs, 1));
            w.WriteNumber("max_alloc_mb", Math.Round(MaxAllocated / 1048576.0, 1));
            if (MaxNativeRise > 0) w.WriteNumber("max_native_rise_mb", Math.Round(MaxNativeRise / 1048576.0, 1));
            w.WriteNumber("echoed_line_breaks", EchoedLineBreaks);
            if (Stopped) w.WriteBoolean("stopped", true);
            w.WriteStartArray("finding_list");
            foreach (var f in Findings.Take(maxFindings))
            {
                w.WriteStartObject();
                w.WriteNumber("case", f.Case);
                w.WriteString("kind", f.Kind);
                w.WriteString("detail", f.Detail);
                w.WriteString("mutation", f.Mutation);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>A report read back from <see cref="ToJson"/> (a child process's), for <see cref="Add"/>.</summary>
    public static Report FromJson(JsonElement e)
    {
        var r = new Report(e.GetProperty("target").GetString()!, e.GetProperty("seed").GetInt32())
        {
            Cases = e.GetProperty("cases").GetInt64(),
            Accepted = e.GetProperty("n_accepted").GetInt64(),
            Framing = e.GetProperty("n_framing").GetInt64(),
            BodyRejected = e.GetProperty("n_body_rejected").GetInt64(),
            EchoedLineBreaks = e.GetProperty("echoed_line_breaks").GetInt64(),
            Seconds = e.GetProperty("seconds").GetDouble(),
            MaxCaseMs = e.GetProperty("max_case_ms").GetDouble(),
            MaxAllocated = (long)(e.GetProperty("max_alloc_mb").GetDouble() * 1048576),
            MaxNativeRise = e.TryGetProperty("max_native_rise_mb", out var n) ? (long)(n.GetDouble() * 1048576) : 0,
            Stopped = e.TryGetProperty("stopped", out var s) && s.GetBoolean(),
        };
        foreach (var f in e.GetProperty("finding_list").EnumerateArray())
            r.Findings.Add(new Finding(f.GetProperty("case").GetInt64(), f.GetProperty("kind").GetString()!, f.GetProperty("detail").GetString()!, f.GetProperty("mutation").GetString()!));
        return r;
    }

    /// <summary>Adds another part of the same run (the cases after a crash).</summary>
    public void Add(Report o)
    {
        Cases += o.Cases;
        Accepted += o.Accepted;
        Framing += o.Framing;
        BodyRejected += o.BodyRejected;
        EchoedLineBreaks += o.EchoedLineBreaks;
        Seconds += o.Seconds;
        MaxCaseMs = Math.Max(MaxCaseMs, o.MaxCaseMs);
        MaxAllocated = Math.Max(MaxAllocated, o.MaxAllocated);
        MaxNativeRise = Math.Max(MaxNativeRise, o.MaxNativeRise);
        Stopped |= o.Stopped;
        Findings.AddRange(o.Findings);
    }

    /// <summary>The most frequent refusal messages (digits and quoted text folded), for tuning the mutators.</summary>
    public IEnumerable<string> TopReasons(int n) =>
        new[] { $"generating the cases took {GenerateSeconds:0.00} s of {Seconds:0.00} s" }.Concat(Reasons.OrderByDescending(kv => kv.Value).Take(n).Select(kv => $"{kv.Value,8}  {kv.Key}")
            .Concat(ByMutation.OrderByDescending(kv => kv.Value.Ms).Take(n)
                .Select(kv => $"mutation {kv.Key}: {kv.Value.Cases} cases, {kv.Value.Ms / kv.Value.Cases:0.000} ms each, body {(double)kv.Value.Body / kv.Value.Cases:P0}")));
}
