namespace Nabla.Kernels;

/// <summary>
/// Splits a loop over independent items (planes, samples, channels) into <see cref="Threads.Count"/> contiguous
/// ranges run on <see cref="WorkerPool"/>. Each item's result is computed by one thread in the same order whatever
/// the split, so the bits do not depend on the thread count. Small loops run inline: waking a worker costs more
/// than a few microseconds of work.
/// </summary>
internal static class ParallelFor
{
    /// <summary>Below about this many element operations a loop stays on the calling thread.</summary>
    public const long MinWork = 32 * 1024;

    /// <summary>Runs <paramref name="body"/>(start, end) over ranges covering [0, <paramref name="count"/>).</summary>
    /// <param name="count">Number of items.</param>
    /// <param name="workPerItem">Rough element operations per item, to decide whether threads pay off.</param>
    /// <param name="body">Processes items [start, end); must not touch another range's outputs.</param>
    public static void Run(int count, long workPerItem, Action<int, int> body)
    {
        int parts = Math.Min(Threads.Count, count);
        if (parts <= 1 || count * workPerItem < MinWork)
        {
            if (count > 0) body(0, count);
            return;
        }
        WorkerPool.Run(parts, new Ranges(count, parts, body));
    }

    private sealed class Ranges(int count, int parts, Action<int, int> body) : IParallelWork
    {
        public void Execute(int part)
        {
            int start = (int)((long)count * part / parts), end = (int)((long)count * (part + 1) / parts);
            if (end > start) body(start, end);
        }
    }
}
