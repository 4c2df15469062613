using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Nabla.Kernels;

/// <summary>A piece of work split into numbered parts; <see cref="Execute"/> runs one part.</summary>
internal interface IParallelWork
{
    /// <summary>Runs part <paramref name="part"/> (0-based) of the work.</summary>
    void Execute(int part);
}

/// <summary>
/// Dedicated background worker threads for fork-join kernels (GEMM). A call runs part 0 on the caller
/// and parts 1..n-1 on workers that spin for a bounded time after each job before blocking on an event
/// (waking a blocked thread costs milliseconds under a hypervisor; a spinning one answers in about a
/// microsecond). A part that no worker has claimed by the time the caller finishes part 0 is run by the
/// caller itself, so a descheduled or sleeping worker (another process on the core, or a worker that has
/// gone to sleep) costs at most the serial time of its part, never a wake-up latency.
/// No allocation per call in steady state: the work is an object the caller reuses.
/// One call at a time owns the workers; a concurrent or nested call runs all its parts on its own
/// thread, which gives the same results because each part's result does not depend on who runs it.
/// </summary>
internal static class WorkerPool
{
    /// <summary>How long an idle worker spins before it blocks (about 1 ms).</summary>
    private static readonly long SpinTicks = Math.Max(1, Stopwatch.Frequency / 1000);

    private static readonly object GrowLock = new();
    private static Worker[] _workers = [];
    private static int _busy;

    /// <summary>
    /// Runs <paramref name="work"/>.Execute(0..parts-1): part 0 on the calling thread, the others on
    /// worker threads, and returns when all are done. An exception thrown by any part is rethrown here
    /// (the first one by part number) after every part has finished.
    /// </summary>
    public static void Run(int parts, IParallelWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (parts <= 1)
        {
            if (parts == 1) work.Execute(0);
            return;
        }

        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            // Pool in use (another thread, or a nested call from inside a part): run serially, with the same
            // contract as the parallel path — every part runs, then the first exception by part number is rethrown.
            Exception? serialError = null;
            for (int p = 0; p < parts; p++)
            {
                try
                {
                    work.Execute(p);
                }
                catch (Exception e)
                {
                    serialError ??= e;
                }
            }
            if (serialError is not null) ExceptionDispatchInfo.Capture(serialError).Throw();
            return;
        }

        try
        {
            Worker[] workers = EnsureWorkers(parts - 1);
            for (int p = 1; p < parts; p++) workers[p - 1].Post(work, p);

            Exception? callerError = null;
            try
            {
                work.Execute(0);
            }
            catch (Exception e)
            {
                callerError = e;
            }

            // Run the parts no worker has started yet here, then wait for the ones that were started.
            Exception? firstError = callerError;
            for (int p = 1; p < parts; p++)
            {
                if (!workers[p - 1].TryClaim()) continue;
                try
                {
                    work.Execute(p);
                }
                catch (Exception e)
                {
                    workers[p - 1].SetError(e);
                }
            }
            for (int p = 1; p < parts; p++)
            {
                Exception? e = workers[p - 1].WaitDone();
                firstError ??= e;
            }

            if (firstError is not null)
                ExceptionDispatchInfo.Capture(firstError).Throw();
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private static Worker[] EnsureWorkers(int count)
    {
        Worker[] current = _workers;
        if (current.Length >= count) return current;
        lock (GrowLock)
        {
            current = _workers;
            if (current.Length >= count) return current;
            var grown = new Worker[count];
            Array.Copy(current, grown, current.Length);
            for (int i = current.Length; i < count; i++) grown[i] = new Worker(i + 1);
            _workers = grown;
            return grown;
        }
    }

    private sealed class Worker
    {
        private readonly ManualResetEventSlim _wake = new(false, 1);
        private IParallelWork? _work;
        private int _part;
        private Exception? _error;
        private int _posted;     // generation of the last posted job
        private int _ticket;     // generation of the posted job while nobody has claimed it, else 0
        private int _completed;  // generation of the last job the worker finished (or skipped)
        private bool _claimedByCaller;
        private int _sleeping;   // 1 while the worker may be blocked on _wake

        public Worker(int index)
        {
            var thread = new Thread(Loop, 256 * 1024)
            {
                IsBackground = true,
                Name = "Nabla worker " + index,
            };
            thread.Start();
        }

        public void Post(IParallelWork work, int part)
        {
            _work = work;
            _part = part;
            _error = null;
            _claimedByCaller = false;
            int generation = _posted + 1;
            if (generation == 0) generation = 1; // 0 means "claimed" in _ticket
            Volatile.Write(ref _ticket, generation);
            Interlocked.Exchange(ref _posted, generation); // full fence: publishes the fields above
            if (Volatile.Read(ref _sleeping) != 0) _wake.Set();
        }

        /// <summary>Caller side: takes the posted part if the worker has not started it.</summary>
        public bool TryClaim()
        {
            int generation = _posted;
            _claimedByCaller = Interlocked.CompareExchange(ref _ticket, 0, generation) == generation;
            return _claimedByCaller;
        }

        public void SetError(Exception e) => _error = e;

        public Exception? WaitDone()
        {
            int target = _posted;
            if (!_claimedByCaller && Volatile.Read(ref _completed) != target)
            {
                var spinner = new SpinWait();
                while (Volatile.Read(ref _completed) != target)
                    spinner.SpinOnce(sleep1Threshold: -1);
            }
            Exception? e = _error;
            _error = null;
            _work = null;
            return e;
        }

        private void Loop()
        {
            int seen = 0;
            while (true)
            {
                long start = Stopwatch.GetTimestamp();
                while (Volatile.Read(ref _posted) == seen)
                {
                    if (Stopwatch.GetTimestamp() - start < SpinTicks)
                    {
                        Thread.SpinWait(20);
                        continue;
                    }
                    _wake.Reset();
                    Interlocked.Exchange(ref _sleeping, 1); // full fence before re-reading _posted
                    if (Volatile.Read(ref _posted) == seen) _wake.Wait();
                    Volatile.Write(ref _sleeping, 0);
                    start = Stopwatch.GetTimestamp();
                }

                seen = Volatile.Read(ref _posted);
                // The fields of job 'seen' stay put until the caller has seen it completed, unless the
                // caller claimed it first (then the claim fails here and the job is skipped).
                if (Interlocked.CompareExchange(ref _ticket, 0, seen) == seen)
                {
                    try
                    {
                        _work!.Execute(_part);
                    }
                    catch (Exception e)
                    {
                        _error = e;
                    }
                }
                Volatile.Write(ref _completed, seen);
            }
        }
    }
}
