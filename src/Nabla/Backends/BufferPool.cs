using System.Runtime.InteropServices;

namespace Nabla.Backends;

/// <summary>
/// A caching allocator for large managed buffers (what PyTorch's caching allocator is for CUDA memory).
/// Why: a fresh large array lands on the large-object heap, is zeroed, and its pages fault in on first touch
/// (~14 µs per 4 KiB page on a virtual machine), while a training step asks for the same sizes every time.
/// Each buffer is lent to an owner object (a <see cref="CpuStorage"/>, an autograd node); the pool holds only a
/// weak handle to the owner and takes the buffer back after the GC has found the owner unreachable, so memory a
/// tensor can still see is never reused. No one has to dispose anything.
/// </summary>
/// <remarks>
/// On a miss the pool first looks for owners the GC has already collected; if it has lent more than
/// <see cref="CollectAfterBytes"/> since it last asked, it runs a blocking gen-1 collection (cheap: the heap of a
/// training loop is small objects; a full one when fresh buffers were needed since the last) and looks again; only then does it allocate. Buffers are matched by exact
/// length, so a loop of equal shapes reaches a steady state with no allocation at all. At most
/// <see cref="MaxCachedBytes"/> of idle buffers are kept; <see cref="Trim"/> drops them all.
/// </remarks>
internal static class BufferPool<T> where T : unmanaged
{
    /// <summary>Buffers shorter than this are ordinary gen-0 allocations (cheap, never on the large-object heap).</summary>
    public static readonly int MinLength = 16 * 1024 / System.Runtime.CompilerServices.Unsafe.SizeOf<T>();

    private struct Loan
    {
        public GCHandle Owner;
        public T[] Buffer;
    }

    private static readonly object Gate = new();
    private static readonly Dictionary<int, Stack<T[]>> Idle = [];
    private static Loan[] _loans = new Loan[64];
    private static int _loanCount;
    private static long _idleBytes, _lentSinceCollect, _freshSinceCollect;

    /// <summary>Counters since start: buffers allocated fresh on a miss, and collections the pool induced.</summary>
    public static long FreshCount, InducedCollections;

    /// <summary>Idle bytes kept for reuse at most (an eighth of the memory the GC may use, between 256 MiB and 1 GiB).</summary>
    public static long MaxCachedBytes { get; set; } =
        Math.Min(1L << 30, Math.Max(256L << 20, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 8));

    /// <summary>Bytes lent since the last induced collection before a miss may induce another.</summary>
    public static long CollectAfterBytes { get; set; } = 64L << 20;

    /// <summary>Bytes of idle buffers now held.</summary>
    public static long IdleBytes
    {
        get { lock (Gate) return _idleBytes; }
    }

    /// <summary>Buffers now lent (owner possibly already dead but not yet noticed).</summary>
    public static int LoanCount
    {
        get { lock (Gate) return _loanCount; }
    }

    /// <summary>A buffer of exactly <paramref name="length"/> elements, zero-filled when <paramref name="zeroed"/>, else with arbitrary contents.</summary>
    public static T[] Rent(int length, bool zeroed)
    {
        if (length < MinLength) return zeroed ? new T[length] : GC.AllocateUninitializedArray<T>(length);
        T[]? buffer;
        lock (Gate)
        {
            long bytes = (long)length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
            buffer = TakeIdle(length);
            if (buffer is null)
            {
                ReclaimDead();
                buffer = TakeIdle(length);
            }
            if (buffer is null && _lentSinceCollect >= CollectAfterBytes)
            {
                _lentSinceCollect = 0;
                InducedCollections++;
                // A full collection when the last one did not free enough: a storage that lived through two gen-1
                // collections (a long step such as a deep ResNet's, a prefetched batch) sits in gen 2, and its buffer
                // would stay lent, and be replaced by fresh memory, until the GC happens to run a full collection.
                GC.Collect(_freshSinceCollect > 0 ? 2 : 1, GCCollectionMode.Forced, blocking: true);
                _freshSinceCollect = 0;
                ReclaimDead();
                buffer = TakeIdle(length);
            }
            _lentSinceCollect += bytes;
            if (buffer is not null)
            {
                if (zeroed) Array.Clear(buffer);
                return buffer;
            }
        }
        // Fresh memory from the GC is already zero; skip the second pass when the caller overwrites it.
        Interlocked.Increment(ref FreshCount);
        Interlocked.Increment(ref _freshSinceCollect);
        return zeroed ? new T[length] : GC.AllocateUninitializedArray<T>(length);
    }

    /// <summary>
    /// Lends <paramref name="buffer"/> (from <see cref="Rent"/>) to <paramref name="owner"/>: it comes back to the pool
    /// once the owner is unreachable. Short buffers are left to the GC.
    /// </summary>
    public static void Lend(object owner, T[] buffer)
    {
        if (buffer.Length < MinLength) return;
        lock (Gate)
        {
            if (_loanCount == _loans.Length)
            {
                ReclaimDead();
                if (_loanCount > _loans.Length / 2) Array.Resize(ref _loans, _loans.Length * 2);
            }
            _loans[_loanCount++] = new Loan { Owner = GCHandle.Alloc(owner, GCHandleType.Weak), Buffer = buffer };
        }
    }

    /// <summary>Gives back a buffer that was never lent and that no one else holds.</summary>
    public static void Return(T[] buffer)
    {
        if (buffer.Length < MinLength) return;
        lock (Gate) AddIdle(buffer);
    }

    /// <summary>Drops every idle buffer (the GC frees them); lent buffers are unaffected.</summary>
    public static void Trim()
    {
        lock (Gate)
        {
            Idle.Clear();
            _idleBytes = 0;
        }
    }

    private static T[]? TakeIdle(int length)
    {
        if (!Idle.TryGetValue(length, out var stack) || stack.Count == 0) return null;
        var buffer = stack.Pop();
        _idleBytes -= (long)length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        return buffer;
    }

    private static void AddIdle(T[] buffer)
    {
        long bytes = (long)buffer.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        if (_idleBytes + bytes > MaxCachedBytes) return;
        if (!Idle.TryGetValue(buffer.Length, out var stack)) Idle[buffer.Length] = stack = new Stack<T[]>();
        stack.Push(buffer);
        _idleBytes += bytes;
    }

    // Moves the buffers of collected owners to the idle lists, compacting the loan table in place.
    private static void ReclaimDead()
    {
        int kept = 0;
        for (int i = 0; i < _loanCount; i++)
        {
            var loan = _loans[i];
            if (loan.Owner.Target is null)
            {
                loan.Owner.Free();
                AddIdle(loan.Buffer);
            }
            else _loans[kept++] = loan;
        }
        Array.Clear(_loans, kept, _loanCount - kept);
        _loanCount = kept;
    }
}
