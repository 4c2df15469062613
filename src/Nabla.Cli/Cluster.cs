using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Nabla.Data;
using Nabla.Distributed;

namespace Nabla.Cli;

/// <summary>
/// The command under <c>mpirun</c>: the job's communicator (one process otherwise), the start-up checks that every
/// rank was given the same arguments and data, rank 0 as the only one that prints and writes, and our message when a
/// rank is stopped. Threads per rank default to the cores divided by the ranks on this host.
/// </summary>
internal static class Cluster
{
    /// <summary>The job's communicator: <see cref="Communicator.Single"/> unless started by mpirun.</summary>
    public static ICommunicator Current { get; private set; } = Communicator.Single;

    /// <summary>Whether this process prints and writes: rank 0, or the only process.</summary>
    public static bool IsRoot => Current.Rank == 0;

    /// <summary>Threads per process: all cores, or under mpirun the cores divided by the ranks on this host.</summary>
    public static int DefaultThreads => Math.Max(1, Environment.ProcessorCount / Math.Max(1, Current.LocalSize));

    private static PosixSignalRegistration? s_term;
    private static volatile bool s_ending;

    /// <summary>Joins the MPI job when mpirun started this process (a no-op otherwise) and checks the arguments agree.</summary>
    /// <exception cref="CommunicatorException">libmpi cannot be loaded, the launcher is MPICH's, or the ranks' arguments differ.</exception>
    public static void Join(string[] args)
    {
        if (!Communicator.UnderMpiLauncher) return;
        Current = Communicator.FromEnvironment();
        if (Current.Size == 1) return;
        Threads.Count = DefaultThreads;
        // mpirun stops the other ranks (SIGTERM) when one dies: say where training was and what to do.
        s_term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            if (s_ending) return;
            string other = Current.Size == 2 ? $"rank {1 - Current.Rank} ended" : "another rank ended (mpirun's message names it)";
            Console.Error.WriteLine($"nabla: rank {Current.Rank} of {Current.Size} was stopped by mpirun: {other}{Progress.Describe()}." +
                (Progress.CheckpointEpoch >= 0 ? " Continue with the same mpirun command and nabla train --resume DIR." : ""));
            context.Cancel = true;
            Communicator.ExitNow(Program.EnvironmentFailure);
        });
        CheckSame("arguments", SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\0', args))));
        // Ranks decide alike only on the same bits: hosts whose kernels take another instruction set are refused.
        CheckSame("kernels (another instruction set: mixed AVX2 and AVX-512 hosts)", Encoding.UTF8.GetBytes(Program.KernelPath));
    }

    /// <summary>
    /// Every rank's digest to rank 0: when any differs from rank 0's, every rank throws the same message naming the
    /// ranks (exit 1: a launch that cannot work). Nothing happens in one process.
    /// </summary>
    public static void CheckSame(string what, byte[] digest)
    {
        if (Current.Size == 1) return;
        var all = Current.Gather(digest, 0);
        string message = "";
        if (all is not null)
        {
            var differ = Enumerable.Range(1, all.Length - 1).Where(r => !all[r].AsSpan().SequenceEqual(all[0])).ToArray();
            if (differ.Length > 0)
                message = $"rank{(differ.Length > 1 ? "s" : "")} {string.Join(", ", differ)} of {all.Length} {(differ.Length > 1 ? "were" : "was")} given other {what} than rank 0: " +
                    "every rank must run the same command on the same data (the same files on every host).";
        }
        var length = new byte[4];
        BitConverter.TryWriteBytes(length, Encoding.UTF8.GetByteCount(message));
        Current.Broadcast(length.AsSpan(), 0);
        var bytes = IsRoot ? Encoding.UTF8.GetBytes(message) : new byte[BitConverter.ToInt32(length)];
        Current.Broadcast(bytes.AsSpan(), 0);
        if (bytes.Length > 0) throw new EnvironmentException(Encoding.UTF8.GetString(bytes));
    }

    /// <summary>A digest of a dataset's values, labels or targets and shape (for <see cref="CheckSame"/>).</summary>
    public static byte[] Digest(TensorDataset data)
    {
        if (Current.Size == 1) return [];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{data.Count};{string.Join(",", data.SampleShape)};{data.Task}"));
        var idx = new int[Math.Min(data.Count, 1024)];
        for (int start = 0; start < data.Count; start += idx.Length)
        {
            int n = Math.Min(idx.Length, data.Count - start);
            for (int i = 0; i < n; i++) idx[i] = start + i;
            hash.AppendData(MemoryMarshal.AsBytes(data.Rows(idx.AsSpan(0, n)).ToArray().AsSpan()));
        }
        if (data.Labels is not null) hash.AppendData(MemoryMarshal.AsBytes(data.Labels.Data.AsSpan()));
        if (data.Targets is not null) hash.AppendData(MemoryMarshal.AsBytes(data.Targets.ToArray().AsSpan()));
        return hash.GetHashAndReset();
    }

    /// <summary>The folder a command writes: <paramref name="outDir"/> on rank 0; on the other ranks a private one removed at exit.</summary>
    public static string PrivateFolder(string outDir)
    {
        if (IsRoot) return outDir;
        string dir = Path.Combine(Path.GetTempPath(), $"nabla-rank{Current.Rank}-{Environment.ProcessId}");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        };
        return dir;
    }

    /// <summary>Ends every rank (MPI_Abort) after a failure under mpirun, so no rank waits in a collective for one that stopped.</summary>
    public static void AbortIfDistributed(int code)
    {
        if (Current.Size == 1 || code == Program.Ok) return;
        s_ending = true;
        Console.Error.Flush();
        Thread.Sleep(300);   // lets mpirun forward this rank's last line before MPI_Abort stops the job
        Current.Abort(code);
    }
}
