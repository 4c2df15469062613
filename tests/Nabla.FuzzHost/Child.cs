using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Nabla.FuzzHost;

/// <summary>
/// Runs a target in a child process (this executable), so that a crash of native code — the image decoder — becomes a
/// finding instead of the end of the caller. The child writes each case's index to a file in its work folder before
/// running it, so after a crash the parent knows the case (and for images, whose input file is named after the case
/// and deleted only when the call returns, copies the input that crashed it). The run then goes on in a new child from
/// the next case, up to <see cref="MaxRestarts"/> times; the crashed child's own counts are lost, its cases counted.
/// </summary>
internal static class Child
{
    public const int MaxRestarts = 20;

    /// <summary>The command that starts this program: the running dotnet host with the dll, else the apphost beside it.</summary>
    public static (string File, string[] Prefix) Command(string dll)
    {
        string? self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase)) return (self, [dll]);
        string apphost = Path.ChangeExtension(dll, OperatingSystem.IsWindows() ? ".exe" : null);
        if (File.Exists(apphost)) return (apphost, []);
        return ("dotnet", [dll]);
    }

    /// <param name="dll">Nabla.FuzzHost.dll.</param>
    /// <param name="target">The target the child runs.</param>
    /// <param name="cases">Cases 0 … cases−1 of <paramref name="seed"/>.</param>
    /// <param name="seed">The run's seed.</param>
    /// <param name="timeout">How long one child may run before it is killed (a hang the child's own watchdog missed).</param>
    /// <param name="findingsDir">Where findings' inputs go, or null.</param>
    /// <param name="budgetMs">The per-case time budget.</param>
    /// <param name="environment">Variables for the child (the canary's misbehaviour).</param>
    public static Report Run(string dll, string target, long cases, int seed, TimeSpan timeout, string? findingsDir = null, int budgetMs = 2000,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        string work = Directory.CreateTempSubdirectory("nabla-fuzz-child-").FullName;
        var total = new Report(target, seed);
        try
        {
            long first = 0;
            for (int start = 0; start <= MaxRestarts && first < cases; start++)
            {
                var (file, prefix) = Command(dll);
                var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var a in prefix) psi.ArgumentList.Add(a);
                foreach (var a in new[] { target, "--cases", $"{cases}", "--seed", $"{seed}", "--from", $"{first}", "--work", work, "--budget-ms", $"{budgetMs}", "--all-findings" })
                    psi.ArgumentList.Add(a);
                if (findingsDir is not null) { psi.ArgumentList.Add("--out"); psi.ArgumentList.Add(findingsDir); }
                foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
                using var p = Process.Start(psi)!;
                var stdout = p.StandardOutput.ReadToEndAsync();
                var stderr = p.StandardError.ReadToEndAsync();
                bool exited = p.WaitForExit(timeout);
                if (!exited) p.Kill(entireProcessTree: true);
                p.WaitForExit();
                string? json = stdout.Result.Split('\n').LastOrDefault(l => l.TrimStart().StartsWith('{'));
                if (exited && json is not null && p.ExitCode is 0 or 1)
                {
                    total.Add(Report.FromJson(JsonDocument.Parse(json).RootElement));
                    return total;
                }
                string current = Path.Combine(work, "current");
                long crashed = File.Exists(current) && long.TryParse(File.ReadAllText(current), CultureInfo.InvariantCulture, out long c) ? c : -1;
                string what = exited ? $"the child exited with code {p.ExitCode}{Signal(p.ExitCode)}" : $"the child ran past {timeout.TotalSeconds:0} s and was killed";
                string tail = string.Join(" | ", stderr.Result.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).Take(2));
                total.Findings.Add(new Finding(crashed, exited ? "crash" : "hang", $"{what}; stderr: {tail}", $"(replay: {target} --seed {seed} --case {crashed})"));
                string input = Path.Combine(work, $"case-{crashed}.img");
                if (findingsDir is not null && File.Exists(input))
                {
                    Directory.CreateDirectory(findingsDir);
                    File.Copy(input, Path.Combine(findingsDir, $"{target}-s{seed}-c{crashed}.bin"), overwrite: true);
                }
                foreach (var f in Directory.GetFiles(work)) File.Delete(f);
                if (crashed < first) break;   // it died before its first case: nothing to go on from
                total.Cases += crashed - first + 1;
                first = crashed + 1;
            }
            total.Stopped = first < cases;
            return total;
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static string Signal(int code) => code > 128 && code < 160 ? $" (signal {code - 128})" : "";
}
