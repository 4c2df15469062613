using Nabla.FuzzHost;
using Nabla.FuzzHost.Targets;

namespace Nabla.Tests;

/// <summary>
/// The fuzz harness (tests/Nabla.FuzzHost) on a fixed budget from a fixed seed, a few seconds in all: every parser a user
/// can point Nabla at gives a result or its one documented exception with a one-line message — never another exception,
/// a crash, a case over 2 s or an allocation over 64 × the input + 64 MB — and enough of the mutated cases get past the
/// framing check (the floors sit below the shares measured at this seed, so a mutator that decays to garbage fails).
/// A long campaign: dotnet run --project tests/Nabla.FuzzHost -c Release -- all --cases 200000 --seed 1.
/// </summary>
public class FuzzTests
{
    const int Seed = 1;

    // Cases per target and the least body share (accepted + refused past the framing); measured at seed 1 in brackets.
    public static TheoryData<string, int, double> ManagedTargets() => new()
    {
        { "safetensors", 5000, 0.70 },   // [0.78]
        { "idx", 3000, 0.55 },           // [0.63]
        { "csv", 4000, 0.55 },           // [0.63]
        { "config", 5000, 0.60 },        // [0.67]
        { "augment", 5000, 0.58 },       // [0.65]
    };

    [Theory]
    [MemberData(nameof(ManagedTargets))]
    public void A_managed_parser_holds_its_contract_on_every_case(string name, int cases, double floor)
    {
        var target = Program.Create(name);
        try
        {
            var r = Fuzzer.Run(target, cases, Seed);
            AssertClean(r, cases, floor);
        }
        finally
        {
            (target as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public void The_image_decoder_holds_its_contract_in_a_child_process()
    {
        // SkiaSharp is native: a crash there would end this process, so the harness's executable decodes in a child.
        var r = Child.Run(HostDll(), "images", 400, Seed, TimeSpan.FromSeconds(180));
        AssertClean(r, 400, 0.65);   // [0.78]
    }

    static void AssertClean(Report r, int cases, double floor)
    {
        Assert.True(r.Findings.Count == 0, $"{r.Findings.Count} finding(s); replay one with: dotnet run --project tests/Nabla.FuzzHost -c Release -- {r.Target} --seed {r.Seed} --case N\n{r.ToJson()}");
        Assert.Equal(cases, r.Cases);
        Assert.True(r.BodyShare >= floor, $"{r.Target}: only {r.BodyShare:P1} of the cases got past the framing check (floor {floor:P0}): {r.ToJson()}");
        // Each outcome is reached: valid files are accepted, and the framing check itself is exercised.
        Assert.True(r.Share(r.Accepted) >= 0.05 && r.Framing > 0 && r.BodyRejected > 0, r.ToJson());
    }

    public static TheoryData<string> AllTargets() => [.. Program.Managed, "images"];

    [Theory]
    [MemberData(nameof(AllTargets))]
    public void A_case_comes_from_the_seed_and_its_index_alone(string name)
    {
        var (a, b) = (Program.Create(name), Program.Create(name));
        try
        {
            int differ = 0;
            for (long i = 0; i < 300; i++)
            {
                FuzzCase x = Fuzzer.Case(a, Seed, i), y = Fuzzer.Case(b, Seed, i), other = Fuzzer.Case(a, Seed + 1, i);
                Assert.Equal(x.Data, y.Data);
                Assert.Equal(x.Extra, y.Extra);
                Assert.Equal(x.Mutation, y.Mutation);
                Assert.Equal(x.Settings?.ToString(), y.Settings?.ToString());
                if (!x.Data.AsSpan().SequenceEqual(other.Data)) differ++;
            }
            Assert.True(differ > 200, $"{name}: another seed gave the same input in {300 - differ} of 300 cases");
        }
        finally
        {
            (a as IDisposable)?.Dispose();
            (b as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public void The_harness_reports_every_kind_of_finding()
    {
        // The canary misbehaves by case index (CanaryTarget): each kind of finding must be reported at its case.
        var options = new FuzzOptions { CaseBudget = TimeSpan.FromMilliseconds(100), HangLimit = TimeSpan.FromSeconds(1) };
        var r = Fuzzer.Run(new CanaryTarget(slowAt: 6, slowMs: 250, hangAt: 17, hangMs: 3000), 20, Seed, options);
        var kinds = r.Findings.Select(f => (f.Case, f.Kind)).ToHashSet();
        Assert.Contains((3L, "exception"), kinds);
        Assert.Contains((4L, "multi-line message"), kinds);
        Assert.Contains((5L, "allocation"), kinds);
        Assert.Contains((6L, "slow"), kinds);
        Assert.Contains((13L, "exception"), kinds);
        Assert.Contains((17L, "hang"), kinds);
        Assert.True(r.Stopped);
        Assert.Equal(17, r.Cases);   // cases 0 … 16 ran; the run stopped at the hang
        Assert.Contains("InvalidCastException", r.Findings.First(f => f.Case == 3).Detail);
        Assert.True(r.Accepted > 0 && r.Framing > 0 && r.BodyRejected > 0);
    }

    [Fact]
    public void A_crash_in_the_child_is_a_finding_and_the_run_goes_on_after_it()
    {
        var r = Child.Run(HostDll(), "canary", 30, Seed, TimeSpan.FromSeconds(120), environment: new Dictionary<string, string> { ["NABLA_FUZZ_CANARY"] = "crash=18" });
        var crash = Assert.Single(r.Findings, f => f.Kind == "crash");
        Assert.Equal(18, crash.Case);
        Assert.Contains("exited with code", crash.Detail);
        Assert.Contains(r.Findings, f => f.Case == 23 && f.Kind == "exception");   // reported by the next child
        Assert.Equal(30, r.Cases);
        Assert.False(r.Stopped);
    }

    /// <summary>Nabla.FuzzHost.dll: copied beside this assembly by the project reference, else in its own bin folder.</summary>
    static string HostDll()
    {
        string here = Path.Combine(AppContext.BaseDirectory, "Nabla.FuzzHost.dll");
        if (File.Exists(here) && File.Exists(Path.ChangeExtension(here, ".runtimeconfig.json"))) return here;
        string config = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string built = Path.Combine(dir.FullName, "tests", "Nabla.FuzzHost", "bin", config, "net10.0", "Nabla.FuzzHost.dll");
            if (File.Exists(Path.Combine(dir.FullName, "Nabla.slnx")) && File.Exists(built)) return built;
        }
        throw new FileNotFoundException("Nabla.FuzzHost.dll not found: build Nabla.slnx (or tests/Nabla.FuzzHost) first.");
    }
}
