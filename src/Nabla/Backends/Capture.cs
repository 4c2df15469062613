namespace Nabla.Backends;

/// <summary>
/// One kernel with its plan made (row plans, offsets, the thread split) and its buffers bound: <see cref="Run"/> only
/// computes. An eager call plans and runs it at once; a capture keeps it and runs it again at every replay, so a
/// launch's <see cref="Run"/> must create nothing and read everything that changes between steps (input values,
/// scalar slots, a generator) when it runs. This is the unit a CUDA backend would put into a CUDA graph.
/// </summary>
internal abstract class Launch
{
    /// <summary>Computes over the bound buffers.</summary>
    public abstract void Run();

    /// <summary>Replaces every buffer the launch binds by <paramref name="map"/>'s answer (enumerates them when it returns its argument).</summary>
    public abstract void Remap(Func<float[], float[]> map);
}

/// <summary>
/// Scalars a launch reads when it runs rather than when it is planned (a learning rate a schedule changes, a step
/// count, bias corrections): <see cref="Prepare"/> refreshes them from their owner, and the launch calls it first.
/// </summary>
public abstract class ScalarSlot
{
    /// <summary>Brings the values up to date for this run (may advance a counter, as a step count).</summary>
    public abstract void Prepare();
}

/// <summary>
/// What a capture records on the thread that runs the step: the launches in order, the buffers it owns (every
/// allocation made while capturing, kept out of the caching allocator for the capture's life), the storages its
/// launches read and write (kept alive so their pooled buffers are never handed to anyone else), and why it cannot
/// be replayed, when it cannot.
/// </summary>
internal sealed class CaptureSession
{
    [ThreadStatic] private static CaptureSession? t_current;

    /// <summary>The capture recording on this thread, or null (eager execution).</summary>
    public static CaptureSession? Current => t_current;

    public readonly List<Launch> Launches = [];
    public readonly List<(CpuStorage Storage, float[] Buffer)> Owned = [];
    public readonly HashSet<object> Pinned = new(ReferenceEqualityComparer.Instance);

    /// <summary>The first reason the recorded launches do not stand for the step, or null.</summary>
    public string? Failure { get; private set; }

    // Owners of state the launches are bound to (an optimizer's buffers) with their version at capture: loading new
    // state rebinds it and bumps the version, which makes the capture stale.
    private readonly List<(IRebindable Owner, int Version)> _watched = [];

    public void Watch(IRebindable owner)
    {
        foreach (var (o, _) in _watched) if (ReferenceEquals(o, owner)) return;
        _watched.Add((owner, owner.BindingVersion));
    }

    /// <summary>Whether every watched owner still has the state it had when captured.</summary>
    public bool Unchanged()
    {
        foreach (var (o, v) in _watched) if (o.BindingVersion != v) return false;
        return true;
    }

    public static CaptureSession Begin()
    {
        if (t_current is not null) throw new InvalidOperationException("A capture is already recording on this thread; captures do not nest.");
        return t_current = new CaptureSession();
    }

    public void End()
    {
        if (ReferenceEquals(t_current, this)) t_current = null;
    }

    public void Record(Launch launch)
    {
        if (Failure is null) Launches.Add(launch);
    }

    public void Pin(object storage) => Pinned.Add(storage);

    /// <summary>Tensors whose gradient the step assigned, in first-assignment order.</summary>
    public readonly List<Tensor> GradTensors = [];
    private readonly HashSet<Tensor> _gradSeen = new(ReferenceEqualityComparer.Instance);

    public void GradAssigned(Tensor t)
    {
        if (_gradSeen.Add(t)) GradTensors.Add(t);
    }

    /// <summary>Marks the capture unusable; the step itself goes on eagerly.</summary>
    public void Fail(string reason) => Failure ??= reason;

    // Buffers the capture keeps after Compact whose storages are gone: only its launches see them.
    private readonly List<float[]> _private = [];

    /// <summary>Bytes of the buffers the capture owns.</summary>
    public long OwnedBytes => 4L * (Owned.Sum(o => (long)o.Buffer.Length) + _private.Sum(b => (long)b.Length));

    /// <summary>
    /// Lets buffers whose lifetimes in the launch list do not overlap share memory, as a CUDA graph's private pool
    /// does: a buffer no tensor holds after the step (found by the GC) lives from its first launch to its last, and one
    /// that starts after another of its length ends takes that one's array. Buffers a tensor still holds (the loss, the
    /// output, the gradients) keep their own. The launches are rebound; the arrays freed go back to the caching allocator.
    /// </summary>
    public void Compact()
    {
        var weak = new List<(WeakReference Storage, float[] Buffer)>(Owned.Count);
        foreach (var (storage, buffer) in Owned)
        {
            weak.Add((new WeakReference(storage), buffer));
            Pinned.Remove(storage);
        }
        Owned.Clear();
        // One full blocking collection per capture: the step's storages are often promoted by collections during the
        // step, so a gen-1 one misses them (CaptureArenaTests); no finalizer is involved, so one pass finds them all.
        GC.Collect();
        var candidates = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
        foreach (var (w, buffer) in weak)
        {
            if (w.Target is CpuStorage alive)
            {
                Owned.Add((alive, buffer));
                Pinned.Add(alive);
            }
            else candidates.Add(buffer);
        }

        var first = new Dictionary<float[], int>(ReferenceEqualityComparer.Instance);
        var last = new Dictionary<float[], int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < Launches.Count; i++)
        {
            int at = i;
            Launches[i].Remap(a =>
            {
                if (a is not null && candidates.Contains(a))
                {
                    first.TryAdd(a, at);
                    last[a] = at;
                }
                return a!;   // an absent optional buffer is a null array, passed through
            });
        }
        var starts = new List<float[]>[Launches.Count];
        var ends = new List<float[]>[Launches.Count];
        foreach (var (a, i) in first) (starts[i] ??= []).Add(a);
        foreach (var (a, i) in last) (ends[i] ??= []).Add(a);
        var free = new Dictionary<int, Stack<float[]>>();
        var map = new Dictionary<float[], float[]>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < Launches.Count; i++)
        {
            if (starts[i] is { } s)
                foreach (var a in s)
                    map[a] = free.TryGetValue(a.Length, out var stack) && stack.Count > 0 ? stack.Pop() : a;
            if (ends[i] is { } e)
                foreach (var a in e)
                {
                    if (!free.TryGetValue(a.Length, out var stack)) free[a.Length] = stack = new Stack<float[]>();
                    stack.Push(map[a]);
                }
        }
        foreach (var launch in Launches) launch.Remap(a => a is not null && map.TryGetValue(a, out var p) ? p : a!);
        var physical = new HashSet<float[]>(map.Values, ReferenceEqualityComparer.Instance);
        foreach (var a in candidates)
        {
            if (physical.Contains(a)) _private.Add(a);
            else BufferPool<float>.Return(a);
        }
    }

    /// <summary>Gives the owned buffers back to the caching allocator once their storages are unreachable.</summary>
    public void Release()
    {
        foreach (var (storage, buffer) in Owned) BufferPool<float>.Lend(storage, buffer);
        Owned.Clear();
        foreach (var buffer in _private) BufferPool<float>.Return(buffer);
        _private.Clear();
        Launches.Clear();
        Pinned.Clear();
    }
}

/// <summary>
/// The scalars of one fused optimizer update (<see cref="IBackend.OptimizerStep"/>), refreshed by
/// <see cref="ScalarSlot.Prepare"/> when the launch runs: the optimizer's step count, learning rate and bias
/// corrections as the composed path computes them. Each rule reads the fields it needs.
/// </summary>
public abstract class OptimizerScalars : ScalarSlot
{
    /// <summary>−η (SGD, RMSProp), −η/(1 + (t − 1)·decay) (Adagrad) or −η/(1 − β₁ᵗ) (Adam).</summary>
    public float NegStep;
    /// <summary>The L2 coefficient λ added to the gradient (0: none).</summary>
    public float WeightDecay;
    /// <summary>θ's decay factor 1 − ηλ (AdamW; 1 otherwise).</summary>
    public float Decay = 1;
    /// <summary>ε.</summary>
    public float Eps;
    /// <summary>SGD's μ and τ; RMSProp's μ and α.</summary>
    public float Momentum, Dampening, Alpha;
    /// <summary>Adam's β₁, 1 − β₁, β₂, 1 − β₂ and √(1 − β₂ᵗ).</summary>
    public float Beta1, OneMinusBeta1, Beta2, OneMinusBeta2, Bc2Sqrt;
    /// <summary>Nesterov momentum, gradient ascent, and SGD's first step (the momentum buffer takes d).</summary>
    public bool Nesterov, Maximize, FirstStep;
}

/// <summary>An owner of state a capture binds (an optimizer): its version changes when that state is replaced.</summary>
internal interface IRebindable
{
    int BindingVersion { get; }
}
