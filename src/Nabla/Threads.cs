namespace Nabla;

/// <summary>
/// The number of CPU threads Nabla's kernels use (GEMM, and later the other heavy kernels).
/// Defaults to <see cref="Environment.ProcessorCount"/>; set it once at start-up.
/// The same seed and the same thread count give the same bits.
/// </summary>
public static class Threads
{
    private static int _count = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Threads used by parallel kernels, at least 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">value is below 1.</exception>
    public static int Count
    {
        get => _count;
        set
        {
            if (value < 1)
                throw new ArgumentOutOfRangeException(nameof(value), value, "Threads.Count must be at least 1.");
            _count = value;
        }
    }
}
