namespace Nabla;

/// <summary>
/// A seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64). Every random thing in Nabla
/// takes one explicitly: the same seed gives the same numbers on every machine and thread count.
/// Not thread-safe: give each thread its own.
/// </summary>
public sealed class Generator
{
    private ulong _s0, _s1, _s2, _s3;
    private double _spareNormal;
    private bool _hasSpare;

    /// <summary>The seed this generator started from.</summary>
    public ulong Seed { get; }

    /// <summary>A generator from a 64-bit seed.</summary>
    public Generator(ulong seed)
    {
        Seed = seed;
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    /// <summary>A generator from an int seed (negative seeds are allowed and distinct).</summary>
    public Generator(int seed) : this(unchecked((ulong)(long)seed)) { }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>
    /// The full internal state (for checkpoints): restoring it with <see cref="SetState"/> continues the exact
    /// same sequence.
    /// </summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3, _hasSpare ? 1UL : 0UL, (ulong)BitConverter.DoubleToInt64Bits(_spareNormal)];

    /// <summary>Restores a state from <see cref="GetState"/>.</summary>
    /// <exception cref="ArgumentException">the state has the wrong length or is all zero.</exception>
    public void SetState(ulong[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Length != 6 || (state[0] | state[1] | state[2] | state[3]) == 0)
            throw new ArgumentException("Generator.SetState: expected the 6 values from GetState.", nameof(state));
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
        _hasSpare = state[4] != 0;
        _spareNormal = BitConverter.Int64BitsToDouble((long)state[5]);
    }

    /// <summary>A generator for one stream of a seeded process, e.g. the shuffle of one epoch: decorrelated from its neighbours.</summary>
    public static Generator ForStream(int seed, int stream) => new(unchecked((ulong)(uint)seed << 32 | (uint)stream) ^ 0xD1B54A32D192ED03UL);

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 24 random bits (every float32 step equally likely).</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n), unbiased (Lemire's method).</summary>
    /// <exception cref="ArgumentOutOfRangeException">n ≤ 0.</exception>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "NextInt: n must be positive.");
        ulong range = (ulong)n;
        UInt128 m = (UInt128)NextUInt64() * range;
        ulong low = (ulong)m;
        if (low < range)
        {
            ulong threshold = (0UL - range) % range;
            while (low < threshold)
            {
                m = (UInt128)NextUInt64() * range;
                low = (ulong)m;
            }
        }
        return (int)(m >> 64);
    }

    /// <summary>Standard normal N(0, 1) by the Box–Muller transform (pairs are cached).</summary>
    public double NextNormal()
    {
        if (_hasSpare) { _hasSpare = false; return _spareNormal; }
        double u1;
        do u1 = NextDouble(); while (u1 <= double.Epsilon);
        double u2 = NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        _spareNormal = r * Math.Sin(2 * Math.PI * u2);
        _hasSpare = true;
        return r * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>A uniformly random permutation of 0..n−1 (Fisher–Yates).</summary>
    public int[] Permutation(int n)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "Permutation: n must be non-negative.");
        var p = new int[n];
        Permutation(p);
        return p;
    }

    /// <summary>The permutation <see cref="Permutation(int)"/> draws, written into <paramref name="p"/> (n = its length).</summary>
    internal void Permutation(Span<int> p)
    {
        for (int i = 0; i < p.Length; i++) p[i] = i;
        for (int i = p.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
    }
}
