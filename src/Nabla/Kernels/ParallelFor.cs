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

    // Below this many elements a streaming kernel (a load or two and a store or add per element) runs on the calling
    // thread: measured on 2 cores, a second thread costs more than it saves up to ~128K elements (its half of the
    // operands sits in the other core's cache) and saves ~12% at 256K. Compute-heavy kernels keep MinWork.
    public const long StreamingMinWork = 192 * 1024;

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

    /// <summary>A loop body over items [start, end) that reads everything it needs from <paramref name="state"/>.</summary>
    public delegate void RangeBody<TState>(in TState state, int start, int end);

    /// <summary>
    /// <see cref="Run(int, long, Action{int, int})"/> without allocating: a <c>static</c> lambda (cached by the
    /// compiler) takes its arguments from <paramref name="state"/>, and the work object is the calling thread's own,
    /// reused — what a training step that must allocate nothing (a replayed <see cref="Nabla.StepGraph"/>) calls.
    /// </summary>
    public static void Run<TState>(int count, long workPerItem, in TState state, RangeBody<TState> body)
    {
        int parts = Math.Min(Threads.Count, count);
        if (parts <= 1 || count * workPerItem < MinWork)
        {
            if (count > 0) body(in state, 0, count);
            return;
        }
        // A nested call on the same thread (from inside a part) gets its own object.
        var work = StateRanges<TState>.Cached is { Busy: false } cached ? cached : new StateRanges<TState>();
        StateRanges<TState>.Cached = work;
        work.Busy = true;
        work.Count = count;
        work.Parts = parts;
        work.State = state;
        work.Body = body;
        try
        {
            WorkerPool.Run(parts, work);
        }
        finally
        {
            work.State = default!;
            work.Body = null;
            work.Busy = false;
        }
    }

    private sealed class StateRanges<TState> : IParallelWork
    {
        [ThreadStatic] public static StateRanges<TState>? Cached;
        public bool Busy;
        public int Count, Parts;
        public TState State = default!;
        public RangeBody<TState>? Body;

        public void Execute(int part)
        {
            int start = (int)((long)Count * part / Parts), end = (int)((long)Count * (part + 1) / Parts);
            if (end > start) Body!(in State, start, end);
        }
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
