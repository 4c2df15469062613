using Nabla.Backends;

namespace Nabla;

/// <summary>
/// Captures one step of ordinary eager code — forward, loss, backward, gradient clipping, optimizer update, running
/// statistics — as the backend launches it makes, and replays them (what torch.cuda.CUDAGraph and tinygrad's TinyJit
/// do): a replay runs the same kernels over the same buffers, creates no tensor, node or plan, and allocates nothing.
/// </summary>
/// <remarks>
/// <para>As with a CUDA graph, the step reads <em>static</em> inputs: tensors created before the capture, whose values
/// are copied in before each <see cref="Replay"/> (the buffers a capture allocates are its own and are rewritten every
/// replay). What changes from step to step is read when each launch runs: input values, the learning rate and the other
/// hyperparameters a schedule may change, the optimizer's step count and Adam's bias corrections, and every random draw
/// (dropout masks, noise), taken from the module's generator at replay — so a replayed step gives the eager step's bits.
/// After a replay each tensor whose gradient the step set has that gradient again (a tensor the capture owns).</para>
/// <para>Run one eager step first (an optimizer creates its state on its first step). A step cannot be captured when it
/// reads a value on the host before it ends (<c>Item()</c>, <c>ToArray()</c>), or when an update bakes a scalar into
/// its tensor ops; <see cref="Capture"/> then returns false with <see cref="Failure"/> saying why, and the step it ran
/// eagerly still happened. <see cref="Tensor.Backend"/>'s <c>Finite</c> is the one host read allowed: a replay stops
/// there when the value is not finite. A capture made before an optimizer's state was loaded is stale
/// (<see cref="IsValid"/>). Shapes, train/eval modes and RequiresGrad are the caller's to keep: the trainer
/// (<see cref="Training.Trainer"/>) captures per batch shape and checks the rest before each replay.</para>
/// </remarks>
public sealed class StepGraph : IDisposable
{
    private CaptureSession? _session;
    private Launch[] _launches = [];
    private Tensor[] _gradTensors = [];
    private Tensor?[] _grads = [];

    /// <summary>Whether a capture succeeded and can be replayed.</summary>
    public bool IsCaptured { get; private set; }

    /// <summary>Why the last <see cref="Capture"/> could not be replayed, or null.</summary>
    public string? Failure { get; private set; }

    /// <summary>Replays run so far.</summary>
    public long Replays { get; private set; }

    /// <summary>Bytes of the buffers the capture owns (after lifetimes that do not overlap were made to share memory).</summary>
    public long ArenaBytes => _session?.OwnedBytes ?? 0;

    /// <summary>Launches a replay runs.</summary>
    public int LaunchCount => _launches.Length;

    /// <summary>Whether the last replay stopped at a non-finite guard (the rest of the step was not run).</summary>
    public bool Stopped { get; private set; }

    /// <summary>Whether the capture is still bound to the state it recorded (no optimizer state has been loaded since).</summary>
    public bool IsValid => IsCaptured && _session!.Unchanged();

    /// <summary>
    /// Runs <paramref name="step"/> once, eagerly, while recording its launches; true when the recording can be
    /// replayed, else false with <see cref="Failure"/> set (the eager step ran either way).
    /// </summary>
    /// <exception cref="InvalidOperationException">this graph already holds a capture, or another capture records on this thread.</exception>
    public bool Capture(Action step)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (_session is not null) throw new InvalidOperationException("StepGraph: this graph already holds a capture; dispose it and make a new one.");
        var session = CaptureSession.Begin();
        _session = session;
        try
        {
            step();
        }
        catch
        {
            session.Fail("the step threw");
            throw;
        }
        finally
        {
            session.End();
            if (session.Failure is not null)
            {
                Failure = session.Failure;
                session.Release();
            }
        }
        if (session.Failure is not null) return false;
        foreach (var l in session.Launches)
            if (l is CpuBackend.GuardLaunch { Stopped: true })
            {
                Failure = "the guarded value was not finite while capturing, so the step did not end";
                session.Release();
                return false;
            }
        session.Compact();
        _launches = [.. session.Launches];
        _gradTensors = [.. session.GradTensors];
        _grads = new Tensor?[_gradTensors.Length];
        for (int i = 0; i < _gradTensors.Length; i++) _grads[i] = _gradTensors[i].Grad;
        IsCaptured = true;
        return true;
    }

    /// <summary>Runs the captured launches again (after the caller copied new values into the static inputs).</summary>
    /// <exception cref="InvalidOperationException">nothing is captured, or the capture is stale (<see cref="IsValid"/>).</exception>
    public void Replay()
    {
        if (!IsCaptured) throw new InvalidOperationException($"StepGraph: nothing to replay{(Failure is null ? "" : ": " + Failure)}.");
        if (!_session!.Unchanged())
            throw new InvalidOperationException("StepGraph: an optimizer's state was loaded since the capture, which rebinds its buffers; capture again.");
        Stopped = false;
        var launches = _launches;
        for (int i = 0; i < launches.Length; i++)
        {
            launches[i].Run();
            if (launches[i] is CpuBackend.GuardLaunch { Stopped: true })
            {
                Stopped = true;
                break;
            }
        }
        for (int i = 0; i < _gradTensors.Length; i++) _gradTensors[i].Grad = _grads[i];
        Replays++;
    }

    /// <summary>Drops the capture; its buffers go back to the caching allocator once no tensor sees them.</summary>
    public void Dispose()
    {
        _session?.Release();
        _session = null;
        _launches = [];
        _gradTensors = [];
        _grads = [];
        IsCaptured = false;
    }
}
