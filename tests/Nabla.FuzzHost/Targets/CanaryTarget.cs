namespace Nabla.FuzzHost.Targets;

/// <summary>
/// A parser that misbehaves on purpose, by case index, so that the harness's own tests see every kind of finding
/// reported: case i with i mod 10 = 1 is refused at the framing, 2 in the body, 3 throws an undocumented exception,
/// 4 refuses with a two-line message, 5 allocates 96 MB; on request one case is slow, one hangs, one ends the process
/// (NABLA_FUZZ_CANARY="slow=6:300,hang=17,crash=18" in a child). Not part of "all".
/// </summary>
internal sealed class CanaryTarget(int slowAt = -1, int slowMs = 0, int hangAt = -1, int hangMs = 0, int crashAt = -1) : Target
{
    internal sealed class Refusal(string message, bool body) : Exception(message)
    {
        public bool Body { get; } = body;
    }

    /// <summary>The canary the environment variable describes (in a child process).</summary>
    public static CanaryTarget FromEnvironment()
    {
        int slowAt = -1, slowMs = 0, hangAt = -1, crashAt = -1;
        foreach (var part in (Environment.GetEnvironmentVariable("NABLA_FUZZ_CANARY") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = part.Split('=');
            var v = kv[1].Split(':');
            switch (kv[0])
            {
                case "slow": slowAt = Int(v[0]); slowMs = Int(v[1]); break;
                case "hang": hangAt = Int(v[0]); break;
                case "crash": crashAt = Int(v[0]); break;
            }
        }
        return new CanaryTarget(slowAt, slowMs, hangAt, int.MaxValue, crashAt);
    }

    private static int Int(string s) => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture);

    public override string Name => "canary";
    public override int SeedCount => 1;
    public override FuzzCase Seed(int i) => new([1], "seed");
    public override FuzzCase Mutate(Random r) => new(Mut.Random(r, 16), "random");
    public override bool IsDocumented(Exception e) => e is Refusal;
    public override Stage Classify(Exception e) => ((Refusal)e).Body ? Stage.Body : Stage.Framing;

    public override void Execute(FuzzCase c, long index)
    {
        if (index == crashAt) Environment.FailFast("canary: the crash asked for");
        if (index == hangAt) Thread.Sleep(hangMs);
        if (index == slowAt) Thread.Sleep(slowMs);
        switch (index % 10)
        {
            case 1: throw new Refusal("canary: refused at the framing", body: false);
            case 2: throw new Refusal("canary: refused in the body", body: true);
            case 3: throw new InvalidCastException("canary: an exception the parser does not document");
            case 4: throw new Refusal("canary: a message\non two lines", body: true);
            case 5: GC.KeepAlive(new byte[96 << 20]); break;
        }
    }
}
