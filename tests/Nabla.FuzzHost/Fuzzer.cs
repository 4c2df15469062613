using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Nabla.FuzzHost;

/// <summary>How a run is bounded and judged.</summary>
internal sealed record FuzzOptions
{
    /// <summary>A case slower than this (twice in a row) is a finding.</summary>
    public TimeSpan CaseBudget { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>A case still running after this is a hang: the run stops there.</summary>
    public TimeSpan HangLimit { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Managed bytes a case may allocate: this many times its input size ...</summary>
    public long AllocPerInputByte { get; init; } = 64;
    /// <summary>... plus this much.</summary>
    public long AllocSlack { get; init; } = 64L << 20;
    /// <summary>Where findings' inputs are written, or null.</summary>
    public string? FindingsDir { get; init; }
    /// <summary>The first case: a run covers cases First … N−1 (a child restarted after a crash goes on from there).</summary>
    public long First { get; init; }
    /// <summary>Called with each case's index before it runs (a child records it, so that its parent can name a crash).</summary>
    public Action<long>? Starting { get; init; }
}

/// <summary>Runs a target for N cases from a seed: every case is drawn from (seed, index) alone, so any one replays.</summary>
internal static partial class Fuzzer
{
    public static Report Run(Target target, long cases, int seed, FuzzOptions? options = null)
    {
        var o = options ?? new FuzzOptions();
        var report = new Report(target.Name, seed);
        long current = -1, started = 0;
        var total = Stopwatch.StartNew();
        // The cases run on their own thread so that a hang is reported and the run stopped, instead of blocking the caller.
        var worker = new Thread(() =>
        {
            for (long i = o.First; i < cases; i++)
            {
                Volatile.Write(ref started, Stopwatch.GetTimestamp());
                Volatile.Write(ref current, i);
                o.Starting?.Invoke(i);
                RunOne(target, seed, i, o, report);
            }
            Volatile.Write(ref current, -2);
        }) { IsBackground = true, Name = "fuzz " + target.Name };
        worker.Start();
        while (!worker.Join(100))
        {
            long i = Volatile.Read(ref current);
            if (i >= 0 && Stopwatch.GetElapsedTime(Volatile.Read(ref started)) > o.HangLimit && Volatile.Read(ref current) == i)
            {
                lock (report)
                {
                    report.Stopped = true;
                    report.Findings.Add(new Finding(i, "hang", $"still running after {o.HangLimit.TotalSeconds:0} s; the run stops here", "(replay the case)"));
                }
                break;
            }
        }
        report.Seconds = total.Elapsed.TotalSeconds;
        report.MaxNativeRise = target.NativePeak;
        return report;
    }

    /// <summary>The case's own random seed: SplitMix64 of (seed, index).</summary>
    public static int CaseSeed(int seed, long index)
    {
        ulong z = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL + (ulong)index + 1;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)((z ^ (z >> 31)) & 0x7FFFFFFF);
    }

    public static FuzzCase Case(Target target, int seed, long index) =>
        index < target.SeedCount ? target.Seed((int)index) : target.Mutate(new Random(CaseSeed(seed, index)));

    private static void RunOne(Target target, int seed, long index, FuzzOptions o, Report report)
    {
        FuzzCase c;
        long t0 = Stopwatch.GetTimestamp();
        try
        {
            c = Case(target, seed, index);
            lock (report) report.GenerateSeconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        catch (Exception e)
        {
            // A bug of the harness, not of the parser: reported, and the run goes on.
            lock (report) report.Findings.Add(new Finding(index, "harness", Describe(e), "(generating the case)"));
            return;
        }
        var (error, ms, allocated) = Measure(target, c, index);
        if (ms > o.CaseBudget.TotalMilliseconds)
            (error, ms, allocated) = Measure(target, c, index);   // twice, so that a busy machine is not a finding
        string? native = target.AfterCase(c);

        lock (report)
        {
            report.Cases++;
            report.MaxCaseMs = Math.Max(report.MaxCaseMs, ms);
            report.MaxAllocated = Math.Max(report.MaxAllocated, allocated);
            void Find(string kind, string detail)
            {
                report.Findings.Add(new Finding(index, kind, detail, c.Mutation));
                if (o.FindingsDir is not null)
                {
                    Directory.CreateDirectory(o.FindingsDir);
                    target.Save(c, Path.Combine(o.FindingsDir, $"{target.Name}-s{seed}-c{index}"));
                }
            }
            string first = c.Mutation.Split(',')[0];
            var (n, t, b) = report.ByMutation.GetValueOrDefault(first);
            bool body = error is null || (target.IsDocumented(error) && target.Classify(error) == Stage.Body);
            report.ByMutation[first] = (n + 1, t + ms, b + (body ? 1 : 0));
            if (error is null) report.Accepted++;
            else if (!target.IsDocumented(error))
                Find("exception", Describe(error));
            else
            {
                if (target.Classify(error) == Stage.Framing) report.Framing++;
                else report.BodyRejected++;
                string key = Fold(error.Message);
                if (report.Reasons.Count < 5000 || report.Reasons.ContainsKey(key))
                    report.Reasons[key] = report.Reasons.GetValueOrDefault(key) + 1;
                if (error.Message.AsSpan().IndexOfAny('\n', '\r') >= 0)
                {
                    // A line break the input itself holds (a CSV header cell, a JSON string) is echoed; the CLI folds it.
                    if (HasLineBreak(c)) report.EchoedLineBreaks++;
                    else Find("multi-line message", Describe(error));
                }
            }
            if (index < target.SeedCount && error is not null)
                Find("seed rejected", Describe(error));
            if (ms > o.CaseBudget.TotalMilliseconds)
                Find("slow", $"{ms:0} ms (budget {o.CaseBudget.TotalMilliseconds:0} ms), input {c.Size} bytes");
            long bound = o.AllocPerInputByte * c.Size + o.AllocSlack;
            if (allocated > bound)
                Find("allocation", $"{allocated} bytes allocated for a {c.Size}-byte input (bound {bound})");
            if (native is not null) Find("native memory", native);
        }
    }

    private static (Exception? Error, double Ms, long Allocated) Measure(Target target, FuzzCase c, long index)
    {
        long before = GC.GetAllocatedBytesForCurrentThread(), t0 = Stopwatch.GetTimestamp();
        Exception? error = null;
        try
        {
            target.Execute(c, index);
        }
        catch (Exception e)
        {
            error = e;
        }
        return (error, Stopwatch.GetElapsedTime(t0).TotalMilliseconds, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>Whether the input holds a line break, raw or as a JSON escape (\n, \r, \u000a, \u000d), that a message may echo.</summary>
    private static bool HasLineBreak(FuzzCase c)
    {
        static bool In(ReadOnlySpan<byte> b) => b.IndexOfAny((byte)'\n', (byte)'\r') >= 0 || b.IndexOf("\\n"u8) >= 0 || b.IndexOf("\\r"u8) >= 0
            || Encoding.ASCII.GetString(b).Contains("\\u000a", StringComparison.OrdinalIgnoreCase) || Encoding.ASCII.GetString(b).Contains("\\u000d", StringComparison.OrdinalIgnoreCase);
        return In(c.Data) || (c.Extra is { } e && In(e)) || c.Settings?.ToString()?.AsSpan().IndexOfAny('\n', '\r') >= 0;
    }

    /// <summary>The exception's type, first message line and the first stack frame, to find where it came from.</summary>
    public static string Describe(Exception e)
    {
        string message = e.Message.ReplaceLineEndings(" ");
        if (message.Length > 300) message = message[..300] + "…";
        string frame = e.StackTrace?.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("at ", StringComparison.Ordinal)) ?? "";
        return $"{e.GetType().FullName}: {message} [{frame}]";
    }

    /// <summary>A message with its quoted text and numbers folded, so that refusals of one kind count together.</summary>
    private static string Fold(string message)
    {
        string s = Quoted().Replace(message, "'…'");
        s = Digits().Replace(s, "N").ReplaceLineEndings(" ");
        return s.Length > 110 ? s[..110] : s;
    }

    [GeneratedRegex("'[^']*'|\"[^\"]*\"")]
    private static partial Regex Quoted();

    [GeneratedRegex("[0-9]+")]
    private static partial Regex Digits();
}
