using System.Globalization;
using Nabla.FuzzHost.Targets;

namespace Nabla.FuzzHost;

/// <summary>
/// The fuzz harness's command line. A long campaign:
/// <c>dotnet run --project tests/Nabla.FuzzHost -c Release -- all --cases 200000 --seed 1 --out fuzz-findings</c>
/// runs every managed parser in this process and the image decoder in a child (<see cref="Child"/>), printing one JSON
/// line per target; the exit code is 0 without findings, 1 with, 2 for a usage error. <c>TARGET --case I</c> replays one
/// case (deterministic from the seed) and says what happened.
/// </summary>
internal static class Program
{
    public static readonly string[] Managed = ["safetensors", "idx", "csv", "config", "augment"];

    private const string Usage =
        "usage: Nabla.FuzzHost TARGET [options]\n" +
        "  TARGET           safetensors | idx | csv | config | augment | images | all (images in a child process)\n" +
        "  --cases N        cases per target (default 5000)\n" +
        "  --image-cases N  image cases under 'all' (default cases / 10)\n" +
        "  --seed S         the run's seed (default 1); case I of seed S is always the same input\n" +
        "  --case I         replay case I only: its mutation and outcome\n" +
        "  --save DIR       with --case: write the case's input to DIR\n" +
        "  --out DIR        write every finding's input to DIR\n" +
        "  --budget-ms MS   a case slower than this (twice) is a finding (default 2000)\n" +
        "  --verbose        the most frequent refusals per target, on stderr\n" +
        "  --from I, --work DIR, --all-findings   used by 'all' for its images child";

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help") { Console.Error.WriteLine(Usage); return args.Length == 0 ? 2 : 0; }
        string target = args[0];
        var opt = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 1; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) return Fail($"unexpected '{args[i]}'");
            bool flag = args[i] is "--verbose" or "--all-findings";
            if (!flag && i + 1 >= args.Length) return Fail($"{args[i]} needs a value");
            opt[args[i]] = flag ? "true" : args[++i];
        }
        long Long(string k, long d) => opt.TryGetValue(k, out var v) ? long.Parse(v, CultureInfo.InvariantCulture) : d;
        long cases = Long("--cases", 5000);
        int seed = (int)Long("--seed", 1);
        string? work = opt.GetValueOrDefault("--work");
        if (work is not null) Directory.CreateDirectory(work);
        var options = new FuzzOptions
        {
            CaseBudget = TimeSpan.FromMilliseconds(Long("--budget-ms", 2000)),
            FindingsDir = opt.GetValueOrDefault("--out"),
            First = Long("--from", 0),
            // In a child, the case about to run is on disk, so that the parent can name the one that crashed it.
            Starting = work is null ? null : i => File.WriteAllText(Path.Combine(work, "current"), i.ToString(CultureInfo.InvariantCulture)),
        };
        bool verbose = opt.ContainsKey("--verbose");

        if (opt.TryGetValue("--case", out var replay))
            return Replay(target, seed, long.Parse(replay, CultureInfo.InvariantCulture), opt.GetValueOrDefault("--save"), work);
        if (target == "all")
        {
            int findings = 0;
            foreach (var name in Managed)
                findings += Print(RunOne(name, cases, seed, options, null), verbose, int.MaxValue);
            string dll = typeof(Program).Assembly.Location;
            long images = Long("--image-cases", Math.Max(1, cases / 10));
            var child = Child.Run(dll, "images", images, seed, TimeSpan.FromSeconds(60 + images * 0.05), options.FindingsDir, (int)options.CaseBudget.TotalMilliseconds);
            findings += Print(child, false, int.MaxValue);
            return findings > 0 ? 1 : 0;
        }
        if (target is not ("images" or "canary") && !Managed.Contains(target)) return Fail($"unknown target '{target}'");
        var report = RunOne(target, cases, seed, options, work);
        return Print(report, verbose, opt.ContainsKey("--all-findings") ? int.MaxValue : 20) > 0 ? 1 : 0;
    }

    public static Target Create(string name, string? work = null) => name switch
    {
        "safetensors" => new SafeTensorsTarget(),
        "idx" => new IdxTarget(),
        "csv" => new CsvTarget(),
        "config" => new ConfigTarget(),
        "augment" => new AugmentTarget(),
        "images" => new ImageTarget(work),
        "canary" => CanaryTarget.FromEnvironment(),
        _ => throw new ArgumentException($"unknown target '{name}'", nameof(name)),
    };

    private static Report RunOne(string name, long cases, int seed, FuzzOptions options, string? work)
    {
        var target = Create(name, work);
        try
        {
            return Fuzzer.Run(target, cases, seed, options);
        }
        finally
        {
            (target as IDisposable)?.Dispose();
        }
    }

    private static int Print(Report r, bool verbose, int maxFindings)
    {
        Console.Out.WriteLine(r.ToJson(maxFindings));
        if (verbose)
            foreach (var line in r.TopReasons(25)) Console.Error.WriteLine($"{r.Target}: {line}");
        return r.Findings.Count;
    }

    private static int Replay(string name, int seed, long index, string? saveDir, string? work)
    {
        if (name is not ("images" or "canary") && !Managed.Contains(name)) return Fail($"unknown target '{name}'");
        var target = Create(name, work);
        try
        {
            var c = Fuzzer.Case(target, seed, index);
            Console.Out.WriteLine($"{name} seed {seed} case {index}: {c.Size} bytes, mutation {c.Mutation}, settings {c.Settings}");
            if (saveDir is not null)
            {
                Directory.CreateDirectory(saveDir);
                target.Save(c, Path.Combine(saveDir, $"{name}-s{seed}-c{index}"));
            }
            try
            {
                target.Execute(c, index);
                Console.Out.WriteLine("accepted");
                return 0;
            }
            catch (Exception e) when (target.IsDocumented(e))
            {
                Console.Out.WriteLine($"refused at the {target.Classify(e).ToString().ToLowerInvariant()}: {e.GetType().Name}: {e.Message}");
                return 0;
            }
            catch (Exception e)
            {
                Console.Out.WriteLine($"FINDING: {e}");
                return 1;
            }
        }
        finally
        {
            (target as IDisposable)?.Dispose();
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"Nabla.FuzzHost: {message}\n{Usage}");
        return 2;
    }
}
