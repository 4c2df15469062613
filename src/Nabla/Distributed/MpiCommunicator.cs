using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Nabla.Distributed;

/// <summary>
/// A communicator over Open MPI (<c>libmpi.so.40</c>, MPI 3.1), bound at run time: the library is loaded only when
/// <see cref="World"/> is first called, and the predefined handles (<c>MPI_COMM_WORLD</c>, <c>MPI_FLOAT</c>,
/// <c>MPI_SUM</c> …) are the addresses of Open MPI's exported objects (<c>ompi_mpi_comm_world</c> …), which is
/// Open MPI's ABI: handles are pointers. MPICH's ABI (integer handles) is not supported.
/// </summary>
/// <remarks>
/// Collectives are MPI's blocking ones under a watchdog: one that has not completed within <see cref="Timeout"/> ends
/// the process with exit code 1 and a message naming the rank, the collective and where training was
/// (<see cref="Progress"/>), instead of a hang. Sums reduce to rank 0 and broadcast: the same bits on every rank.
/// </remarks>
internal sealed unsafe class MpiCommunicator : ICommunicator
{
    private const int MpiSuccess = 0;
    private const int MpiThreadFunneled = 1;
    private static readonly nint InPlace = 1;   // Open MPI's MPI_IN_PLACE is (void*)1

    private static Native? s_native;
    private static MpiCommunicator? s_world;
    private static readonly Lock s_gate = new();

    private readonly Native _mpi;
    private readonly nint _comm;
    private readonly bool _owned;

    public int Rank { get; }
    public int Size { get; }
    public int LocalSize { get; }
    public string Description => _mpi.Version;
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(DefaultTimeoutSeconds());

    private MpiCommunicator(Native mpi, nint comm, bool owned, int localSize)
    {
        _mpi = mpi;
        _comm = comm;
        _owned = owned;
        int rank, size;
        Check(mpi.CommRank(comm, &rank), "MPI_Comm_rank");
        Check(mpi.CommSize(comm, &size), "MPI_Comm_size");
        Rank = rank;
        Size = size;
        LocalSize = localSize;
    }

    // NABLA_MPI_TIMEOUT seconds (default 600: a first step of a deep net on a slow machine, a checkpoint on a slow disk).
    private static double DefaultTimeoutSeconds() =>
        double.TryParse(Environment.GetEnvironmentVariable("NABLA_MPI_TIMEOUT"), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out double s) && s > 0 ? s : 600;

    /// <summary>MPI_COMM_WORLD, initialising MPI on the first call (finalised at process exit).</summary>
    public static MpiCommunicator World()
    {
        lock (s_gate)
        {
            if (s_world is not null) return s_world;
            var mpi = s_native ??= Native.Load();
            int initialized, provided;
            Check(mpi.Initialized(&initialized), "MPI_Initialized");
            if (initialized == 0)
            {
                Check(mpi.InitThread(null, null, MpiThreadFunneled, &provided), "MPI_Init_thread");
                // Collectives come from the training thread while kernel threads run: MPI_THREAD_FUNNELED at least.
                if (provided < MpiThreadFunneled) throw new CommunicatorException($"the MPI library gives thread level {provided}; Nabla needs MPI_THREAD_FUNNELED (1) or more.");
            }
            AppDomain.CurrentDomain.ProcessExit += (_, _) => FinalizeMpi(mpi);
            int local = int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), out int l) && l > 0 ? l : 1;
            return s_world = new MpiCommunicator(mpi, mpi.CommWorld, owned: false, local);
        }
    }

    private static void FinalizeMpi(Native mpi)
    {
        if (Communicator.Exiting) return;   // ending from another thread while a collective may still block the main one
        int finalized;
        if (mpi.Finalized(&finalized) == MpiSuccess && finalized == 0) mpi.Finalize();
    }

    public void Abort(int code)
    {
        _mpi.Abort(_comm, code);
        Environment.Exit(code);
    }

    public void Barrier()
    {
        Arm("barrier");
        Check(_mpi.Barrier(_comm), "MPI_Barrier");
        Disarm();
    }

    public void Broadcast(Span<float> data, int root = 0)
    {
        CheckRoot(root);
        fixed (float* p = data) Bcast(p, data.Length, _mpi.Float, root);
    }

    public void Broadcast(Span<byte> data, int root = 0)
    {
        CheckRoot(root);
        fixed (byte* p = data) Bcast(p, data.Length, _mpi.Byte, root);
    }

    public void AllReduceSum(Span<float> data)
    {
        fixed (float* p = data) ReduceThenBroadcast(p, data.Length, _mpi.Float);
    }

    public void AllReduceSum(Span<double> data)
    {
        fixed (double* p = data) ReduceThenBroadcast(p, data.Length, _mpi.Double);
    }

    public byte[][]? Gather(ReadOnlySpan<byte> data, int root = 0)
    {
        CheckRoot(root);
        int length = data.Length;
        var lengths = new int[Size];
        fixed (int* pl = lengths)
        {
            Arm("gather");
            Check(_mpi.Gather(&length, 1, _mpi.Int, pl, 1, _mpi.Int, root, _comm), "MPI_Gather");
            Disarm();
        }
        var displs = new int[Size];
        long total = 0;
        for (int i = 0; i < Size; i++)
        {
            displs[i] = (int)total;
            total += lengths[i];
        }
        // Only the root knows the total: it tells every rank whether the gather fits, so none waits for one that gave up.
        byte fits = (byte)(Rank != root || total <= int.MaxValue ? 1 : 0);
        Bcast(&fits, 1, _mpi.Byte, root);
        if (fits == 0) throw new CommunicatorException($"gather: the ranks' data are more than one MPI message holds ({Size} ranks).");
        var all = new byte[Rank == root ? total : 0];
        fixed (byte* send = data)
        fixed (byte* recv = all)
        fixed (int* pl = lengths)
        fixed (int* pd = displs)
        {
            Arm("gather");
            Check(_mpi.Gatherv(send, length, _mpi.Byte, recv, pl, pd, _mpi.Byte, root, _comm), "MPI_Gatherv");
            Disarm();
        }
        if (Rank != root) return null;
        var result = new byte[Size][];
        for (int i = 0; i < Size; i++) result[i] = all.AsSpan(displs[i], lengths[i]).ToArray();
        return result;
    }

    public ICommunicator Split(int color, int key)
    {
        nint comm;
        Check(_mpi.CommSplit(_comm, color, key, &comm), "MPI_Comm_split");
        return new MpiCommunicator(_mpi, comm, owned: true, LocalSize) { Timeout = Timeout };
    }

    public void Dispose()
    {
        if (!_owned) return;
        nint comm = _comm;
        _mpi.CommFree(&comm);
    }

    private void Bcast(void* p, int count, nint type, int root)
    {
        Arm("broadcast");
        Check(_mpi.Bcast(p, count, type, root, _comm), "MPI_Bcast");
        Disarm();
    }

    // Reduce to rank 0, then broadcast rank 0's sum: every rank ends with the same bits.
    private void ReduceThenBroadcast(void* p, int count, nint type)
    {
        if (Size == 1 || count == 0) return;
        void* send = Rank == 0 ? (void*)InPlace : p;
        Arm("reduction");
        Check(_mpi.Reduce(send, p, count, type, _mpi.Sum, 0, _comm), "MPI_Reduce");
        Check(_mpi.Bcast(p, count, type, 0, _comm), "MPI_Bcast");
        Disarm();
    }

    // The watchdog: a collective sets a deadline before its blocking call and clears it after; a thread that wakes
    // every second ends the process with our message when a deadline passed (a rank died or hangs). MPI's blocking
    // collectives are used because Open MPI's non-blocking ones progress only when polled (1M floats: ~2 s polled,
    // milliseconds blocking). No allocation: this runs inside every data-parallel step.
    private static long s_deadline;          // Stopwatch timestamp, 0 when no collective is waiting
    private static string s_what = "";
    private static Thread? s_watchdog;

    private void Arm(string what)
    {
        if (Timeout == System.Threading.Timeout.InfiniteTimeSpan) return;
        s_what = what;
        Volatile.Write(ref s_deadline, Stopwatch.GetTimestamp() + (long)(Timeout.TotalSeconds * Stopwatch.Frequency));
        if (s_watchdog is null) StartWatchdog(Rank, Timeout);
    }

    private static void Disarm() => Volatile.Write(ref s_deadline, 0);

    private static void StartWatchdog(int rank, TimeSpan timeout)
    {
        lock (s_gate)
        {
            if (s_watchdog is not null) return;
            s_watchdog = new Thread(() =>
            {
                while (true)
                {
                    Thread.Sleep(1000);
                    long deadline = Volatile.Read(ref s_deadline);
                    if (deadline == 0 || Stopwatch.GetTimestamp() < deadline) continue;
                    Console.Error.WriteLine($"nabla: rank {rank}: a {s_what} got no answer from the other ranks within {timeout.TotalSeconds:0} s " +
                        $"(a rank died, hangs, or was launched with other arguments){Progress.Describe()}; NABLA_MPI_TIMEOUT sets the limit.");
                    Communicator.ExitNow(1);
                }
            }) { IsBackground = true, Name = "nabla-mpi-watchdog" };
            s_watchdog.Start();
        }
    }

    private void CheckRoot(int root)
    {
        if ((uint)root >= (uint)Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"root must be a rank 0..{Size - 1}.");
    }

    private static void Check(int code, string call)
    {
        if (code != MpiSuccess) throw new CommunicatorException($"{call} failed with MPI error {code}.");
    }

    // The entry points and predefined handles of libmpi.so.40.
    private sealed class Native
    {
        public required delegate* unmanaged<int*, int> Initialized;
        public required delegate* unmanaged<int*, byte***, int, int*, int> InitThread;
        public required delegate* unmanaged<int*, int> Finalized;
        public required delegate* unmanaged<int> Finalize;
        public required delegate* unmanaged<nint, int, int> Abort;
        public required delegate* unmanaged<nint, int*, int> CommRank;
        public required delegate* unmanaged<nint, int*, int> CommSize;
        public required delegate* unmanaged<nint, int, int, nint*, int> CommSplit;
        public required delegate* unmanaged<nint*, int> CommFree;
        public required delegate* unmanaged<nint, int> Barrier;
        public required delegate* unmanaged<void*, int, nint, int, nint, int> Bcast;
        public required delegate* unmanaged<void*, void*, int, nint, nint, int, nint, int> Reduce;
        public required delegate* unmanaged<void*, int, nint, void*, int, nint, int, nint, int> Gather;
        public required delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, int, nint, int> Gatherv;
        public required nint CommWorld, Float, Double, Int, Byte, Sum;
        public required string Version;

        public static Native Load()
        {
            const string name = "libmpi.so.40";
            if (!NativeLibrary.TryLoad(name, out nint lib))
                throw new CommunicatorException($"started by mpirun (OMPI_COMM_WORLD_SIZE is set) but Open MPI's {name} cannot be loaded: " +
                    "install it (Debian: apt-get install openmpi-bin) or put its folder on LD_LIBRARY_PATH.");
            nint F(string symbol) => NativeLibrary.TryGetExport(lib, symbol, out nint p) ? p
                : throw new CommunicatorException($"{name} has no {symbol}: not Open MPI 4 or later (MPICH's ABI is not supported).");
            var getVersion = (delegate* unmanaged<byte*, int*, int>)F("MPI_Get_library_version");
            var buffer = stackalloc byte[256];   // MPI_MAX_LIBRARY_VERSION_STRING in Open MPI
            int length = 0;
            string version = getVersion(buffer, &length) == MpiSuccess
                ? Encoding.ASCII.GetString(buffer, Math.Clamp(length, 0, 256)).Split(',', '\n')[0].Trim()
                : "MPI";
            return new Native
            {
                Initialized = (delegate* unmanaged<int*, int>)F("MPI_Initialized"),
                InitThread = (delegate* unmanaged<int*, byte***, int, int*, int>)F("MPI_Init_thread"),
                Finalized = (delegate* unmanaged<int*, int>)F("MPI_Finalized"),
                Finalize = (delegate* unmanaged<int>)F("MPI_Finalize"),
                Abort = (delegate* unmanaged<nint, int, int>)F("MPI_Abort"),
                CommRank = (delegate* unmanaged<nint, int*, int>)F("MPI_Comm_rank"),
                CommSize = (delegate* unmanaged<nint, int*, int>)F("MPI_Comm_size"),
                CommSplit = (delegate* unmanaged<nint, int, int, nint*, int>)F("MPI_Comm_split"),
                CommFree = (delegate* unmanaged<nint*, int>)F("MPI_Comm_free"),
                Barrier = (delegate* unmanaged<nint, int>)F("MPI_Barrier"),
                Bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)F("MPI_Bcast"),
                Reduce = (delegate* unmanaged<void*, void*, int, nint, nint, int, nint, int>)F("MPI_Reduce"),
                Gather = (delegate* unmanaged<void*, int, nint, void*, int, nint, int, nint, int>)F("MPI_Gather"),
                Gatherv = (delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, int, nint, int>)F("MPI_Gatherv"),
                // Open MPI's handles are the addresses of these objects (MPI_COMM_WORLD is &ompi_mpi_comm_world).
                CommWorld = F("ompi_mpi_comm_world"),
                Float = F("ompi_mpi_float"),
                Double = F("ompi_mpi_double"),
                Int = F("ompi_mpi_int"),
                Byte = F("ompi_mpi_byte"),
                Sum = F("ompi_mpi_op_sum"),
                Version = version,
            };
        }
    }
}
