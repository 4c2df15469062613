namespace Nabla.Distributed;

/// <summary>
/// The processes of one job and the collectives between them (MPI's communicator; torch.distributed's process group):
/// every rank calls each collective in the same order with the same sizes. <see cref="Communicator.Single"/> is the
/// one-process default; <see cref="Communicator.FromEnvironment"/> gives the MPI one under <c>mpirun</c>.
/// </summary>
/// <remarks>
/// Sums are <b>bit-identical on every rank</b>: <see cref="AllReduceSum(Span{float})"/> reduces to rank 0 and
/// broadcasts the result (MPI_Reduce then MPI_Bcast), so replicas that apply the same update stay equal to the bit
/// without relying on the MPI library's allreduce algorithm giving every rank the same rounding.
/// A collective that does not complete within <see cref="Timeout"/> ends the process (the MPI implementation's watchdog
/// prints the rank, the collective and <see cref="Progress"/>, then exits with code 1: a rank died or hangs); a failed MPI
/// call throws <see cref="CommunicatorException"/>.
/// </remarks>
public interface ICommunicator : IDisposable
{
    /// <summary>This process's rank, 0 … <see cref="Size"/> − 1.</summary>
    int Rank { get; }

    /// <summary>The number of processes.</summary>
    int Size { get; }

    /// <summary>Processes of this job on this machine (threads per rank default to the cores divided by it).</summary>
    int LocalSize { get; }

    /// <summary>"single process" or the MPI library's name and version.</summary>
    string Description { get; }

    /// <summary>How long a collective may wait for the other ranks before it throws.</summary>
    TimeSpan Timeout { get; set; }

    /// <summary>Returns when every rank has called it.</summary>
    void Barrier();

    /// <summary>Replaces <paramref name="data"/> on every rank by rank <paramref name="root"/>'s values.</summary>
    void Broadcast(Span<float> data, int root = 0);

    /// <summary>Replaces <paramref name="data"/> on every rank by rank <paramref name="root"/>'s bytes.</summary>
    void Broadcast(Span<byte> data, int root = 0);

    /// <summary>In place: every rank's <paramref name="data"/> becomes the elementwise sum over ranks (the same bits everywhere).</summary>
    void AllReduceSum(Span<float> data);

    /// <summary>In place: the elementwise sum over ranks in double precision (the same bits everywhere).</summary>
    void AllReduceSum(Span<double> data);

    /// <summary>Every rank's bytes (of any length), in rank order, on <paramref name="root"/>; null on the other ranks.</summary>
    byte[][]? Gather(ReadOnlySpan<byte> data, int root = 0);

    /// <summary>
    /// Splits the ranks into groups by <paramref name="color"/> (MPI_Comm_split): each group is a communicator of its
    /// own, ranked by <paramref name="key"/> then by rank here. Every rank must call it.
    /// </summary>
    ICommunicator Split(int color, int key);

    /// <summary>Ends every rank of the job with exit code <paramref name="code"/> (MPI_Abort); call it after printing why.</summary>
    void Abort(int code);
}

/// <summary>A collective failed or timed out: another rank died, hangs, or the launch is inconsistent.</summary>
public sealed class CommunicatorException(string message) : Exception(message);

/// <summary>Where communicators come from.</summary>
public static class Communicator
{
    /// <summary>The one-process communicator: rank 0 of 1, every collective a no-op or a copy.</summary>
    public static ICommunicator Single { get; } = new SingleProcessCommunicator();

    /// <summary>
    /// Whether this process was started by an MPI launcher: Open MPI's <c>OMPI_COMM_WORLD_SIZE</c>, or MPICH/Intel
    /// MPI's <c>PMI_SIZE</c> (refused by <see cref="FromEnvironment"/>).
    /// </summary>
    public static bool UnderMpiLauncher =>
        Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null || Environment.GetEnvironmentVariable("PMI_SIZE") is not null;

    /// <summary>
    /// <see cref="Single"/>, or under <c>mpirun</c> the world communicator of Open MPI's <c>libmpi.so.40</c> (loaded only
    /// then: nothing MPI is needed otherwise). MPICH's ABI (integer handles) is not supported and is refused by name.
    /// </summary>
    /// <exception cref="CommunicatorException">started by mpirun but libmpi cannot be loaded or initialised, or the launcher is MPICH's.</exception>
    public static ICommunicator FromEnvironment()
    {
        if (Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null) return MpiCommunicator.World();
        if (Environment.GetEnvironmentVariable("PMI_SIZE") is not null)
            throw new CommunicatorException("started by an MPICH-style launcher (PMI_SIZE is set): Nabla supports Open MPI's ABI only " +
                "(MPICH and Intel MPI use integer handles); run it with Open MPI's mpirun (Debian: apt-get install openmpi-bin).");
        return Single;
    }

    /// <summary>Whether the process is ending through <see cref="ExitNow"/> (MPI is then not finalised).</summary>
    public static bool Exiting { get; private set; }

    /// <summary>
    /// Ends the process at once with <paramref name="code"/>, from any thread: flushes stderr and calls <c>_exit</c>,
    /// skipping MPI_Finalize (collective: it would wait for the rank that died or hangs) and other exit handlers.
    /// </summary>
    public static void ExitNow(int code)
    {
        Exiting = true;
        Console.Error.Flush();
        Console.Out.Flush();
        if (OperatingSystem.IsWindows()) Environment.Exit(code);
        Exit(code);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "_exit")]
    private static extern void Exit(int code);

    /// <summary>
    /// Rows <c>[Start, Start + Count)</c> of a batch of <paramref name="count"/> that rank <paramref name="rank"/> of
    /// <paramref name="size"/> takes: contiguous shards, the first <c>count % size</c> ranks one row more.
    /// </summary>
    public static (int Start, int Count) Shard(int count, int rank, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "Shard: size must be at least 1.");
        if ((uint)rank >= (uint)size) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"Shard: rank must be in 0..{size - 1}.");
        int q = count / size, r = count % size;
        return (rank * q + Math.Min(rank, r), q + (rank < r ? 1 : 0));
    }
}

internal sealed class SingleProcessCommunicator : ICommunicator
{
    public int Rank => 0;
    public int Size => 1;
    public int LocalSize => 1;
    public string Description => "single process";
    public TimeSpan Timeout { get; set; } = System.Threading.Timeout.InfiniteTimeSpan;
    public void Barrier() { }
    public void Broadcast(Span<float> data, int root = 0) => CheckRoot(root);
    public void Broadcast(Span<byte> data, int root = 0) => CheckRoot(root);
    public void AllReduceSum(Span<float> data) { }
    public void AllReduceSum(Span<double> data) { }
    public byte[][]? Gather(ReadOnlySpan<byte> data, int root = 0)
    {
        CheckRoot(root);
        return [data.ToArray()];
    }
    public ICommunicator Split(int color, int key) => this;
    public void Abort(int code) => Environment.Exit(code);
    public void Dispose() { }

    private static void CheckRoot(int root)
    {
        if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), root, "root must be 0 in a single process.");
    }
}

/// <summary>
/// Where this process's training is, for the message of a rank that ends a job (a collective timed out, mpirun stopped
/// it): the trainer sets the epoch and step as it goes, the caller the last checkpoint written.
/// </summary>
public static class Progress
{
    /// <summary>The epoch running (0-based), or −1 before training.</summary>
    public static int Epoch { get; set; } = -1;

    /// <summary>The step within the epoch (0-based).</summary>
    public static int Step { get; set; }

    /// <summary>Where checkpoints are written (the run's, as the user knows it), or null.</summary>
    public static string? Checkpoint { get; set; }

    /// <summary>The epoch (0-based) of the last checkpoint written, or −1 (the trainer sets it).</summary>
    public static int CheckpointEpoch { get; set; } = -1;

    /// <summary>", at epoch E, step S; the last checkpoint is PATH (epoch C)" (empty before training).</summary>
    public static string Describe() =>
        Epoch < 0 ? "" : $", at epoch {Epoch + 1}, step {Step + 1}; " +
            (Checkpoint is null || CheckpointEpoch < 0 ? "no checkpoint was written yet" : $"the last checkpoint is {Checkpoint} (epoch {CheckpointEpoch + 1})");
}
