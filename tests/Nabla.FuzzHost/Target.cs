namespace Nabla.FuzzHost;

/// <summary>Where a target's parser stopped: it accepted the input, or refused it (with its documented exception) at the framing check or in the body.</summary>
internal enum Stage { Accepted, Framing, Body }

/// <summary>One input: the bytes that reproduce it (and a second file's, for IDX labels), the mutations that made it, and the call's settings.</summary>
internal sealed class FuzzCase(byte[] data, string mutation, object? settings = null, byte[]? extra = null)
{
    public byte[] Data { get; } = data;
    public byte[]? Extra { get; } = extra;
    public string Mutation { get; } = mutation;
    public object? Settings { get; } = settings;
    public long Size => Data.LongLength + (Extra?.LongLength ?? 0);
}

/// <summary>Anything outside the contract: another exception, a multi-line message, a slow case, a hang, a huge allocation, a crash.</summary>
internal sealed record Finding(long Case, string Kind, string Detail, string Mutation);

/// <summary>
/// One parser under test: a corpus of valid inputs built in code, a structure-aware mutator, the call, the exception the
/// parser documents for bad input, and where a refusal happened (framing or body), judged from the message.
/// </summary>
internal abstract class Target
{
    public abstract string Name { get; }

    /// <summary>The valid inputs; the first cases of every run are these, unmutated, and each must be accepted.</summary>
    public abstract int SeedCount { get; }
    public abstract FuzzCase Seed(int i);

    /// <summary>A mutated case, drawn only from <paramref name="rng"/> (so (seed, index) reproduces it).</summary>
    public abstract FuzzCase Mutate(Random rng);

    /// <summary>Runs the parser on the case; returns normally for an accepted input.</summary>
    public abstract void Execute(FuzzCase c, long index);

    /// <summary>Whether <paramref name="e"/> is the parser's documented rejection.</summary>
    public abstract bool IsDocumented(Exception e);

    /// <summary>Framing or Body for a documented rejection.</summary>
    public abstract Stage Classify(Exception e);

    /// <summary>Extra per-case checks that a parser's exceptions do not cover (e.g. native memory); null when fine.</summary>
    public virtual string? AfterCase(FuzzCase c) => null;

    /// <summary>The largest rise of native (resident) memory over one case, where the target measures it.</summary>
    public virtual long NativePeak => 0;

    /// <summary>Writes the case's input next to <paramref name="stem"/> so that it can be replayed by hand.</summary>
    public virtual void Save(FuzzCase c, string stem)
    {
        File.WriteAllBytes(stem + ".bin", c.Data);
        if (c.Extra is not null) File.WriteAllBytes(stem + ".extra.bin", c.Extra);
        File.WriteAllText(stem + ".txt", $"mutation: {c.Mutation}\nsettings: {c.Settings}\n");
    }
}
