namespace Nabla.Serialization;

/// <summary>
/// Reads and writes the safetensors format (huggingface/safetensors, dtype set of release 0.4): an 8-byte
/// little-endian header length, a UTF-8 JSON header naming each tensor's dtype, shape and byte range, then the
/// packed little-endian data. Reading validates the whole header against the actual length before allocating
/// any tensor, so hostile input fails with <see cref="SafeTensorsFormatException"/> rather than exhausting memory.
/// </summary>
/// <remarks>
/// Reading converts F32, F16, BF16 and F64 to float32 <see cref="Tensor"/>s, and I64, I32, I16, U16, I8, U8 and
/// BOOL to <see cref="IntTensor"/>s (I64 values must fit in int32; BOOL bytes read as 0 or 1). Writing stores
/// float tensors as F32 and integer tensors as I64, in the reference writer's layout.
/// </remarks>
public static partial class SafeTensors
{
    /// <summary>The largest header accepted, as in the reference implementation (100 MB).</summary>
    public const int MaxHeaderLength = 100_000_000;

    /// <summary>The reserved header key holding string metadata.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>Reads a safetensors file.</summary>
    /// <exception cref="SafeTensorsFormatException">the file is malformed or uses an unsupported dtype.</exception>
    /// <exception cref="IOException">the file cannot be read.</exception>
    public static StateDict Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return ReadFile(stream);
    }

    /// <summary>Reads safetensors data held in memory.</summary>
    /// <exception cref="SafeTensorsFormatException">the data is malformed or uses an unsupported dtype.</exception>
    public static StateDict Read(ReadOnlySpan<byte> bytes) => ReadBytes(bytes);

    /// <summary>
    /// Writes a state dict to <paramref name="path"/> atomically (<see cref="IO.AtomicFile"/>): the data goes to a
    /// temporary file in the same directory, is flushed to disk, then replaces <paramref name="path"/>; a failure
    /// leaves any old file intact, and only a regular file is ever replaced.
    /// </summary>
    /// <exception cref="ArgumentException">a name is empty or reserved, or an entry holds no tensor.</exception>
    /// <exception cref="IOException">the file cannot be written, or the target is not a regular file.</exception>
    public static void Write(string path, StateDict state)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var plan = Plan(state);
        IO.AtomicFile.Write(path, stream => WritePlan(stream, plan));
    }

    /// <summary>Writes a state dict in safetensors format to a stream, from its current position.</summary>
    /// <exception cref="ArgumentException">a name is empty or reserved, or an entry holds no tensor.</exception>
    public static void Write(Stream stream, StateDict state)
    {
        ArgumentNullException.ThrowIfNull(stream);
        WritePlan(stream, Plan(state));
    }

    /// <summary>A state dict in safetensors format, as bytes.</summary>
    /// <exception cref="ArgumentException">a name is empty or reserved, or an entry holds no tensor.</exception>
    /// <exception cref="InvalidOperationException">the result would exceed the largest array; write to a file.</exception>
    public static byte[] ToBytes(StateDict state)
    {
        var plan = Plan(state);
        long total = plan.TotalLength;
        if (total > Array.MaxLength)
            throw new InvalidOperationException($"SafeTensors.ToBytes: the file would be {total} bytes, more than an array holds; use Write(path, state).");
        var bytes = new byte[total];
        using var stream = new MemoryStream(bytes, writable: true);
        WritePlan(stream, plan);
        return bytes;
    }

    /// <summary>Element types of the safetensors 0.4 dtype enum that Nabla reads.</summary>
    private enum DType : byte { Bool, U8, I8, I16, U16, F16, BF16, I32, F32, F64, I64 }

    private static int SizeOf(DType t) => t switch
    {
        DType.Bool or DType.U8 or DType.I8 => 1,
        DType.I16 or DType.U16 or DType.F16 or DType.BF16 => 2,
        DType.I32 or DType.F32 => 4,
        _ => 8,
    };

    private static bool IsFloat(DType t) => t is DType.F16 or DType.BF16 or DType.F32 or DType.F64;

    private static bool TryParseDType(string name, out DType type)
    {
        switch (name)
        {
            case "BOOL": type = DType.Bool; return true;
            case "U8": type = DType.U8; return true;
            case "I8": type = DType.I8; return true;
            case "I16": type = DType.I16; return true;
            case "U16": type = DType.U16; return true;
            case "F16": type = DType.F16; return true;
            case "BF16": type = DType.BF16; return true;
            case "I32": type = DType.I32; return true;
            case "F32": type = DType.F32; return true;
            case "F64": type = DType.F64; return true;
            case "I64": type = DType.I64; return true;
            default: type = default; return false;
        }
    }

    /// <summary>Dtypes the format defines (up to the sub-byte / MX additions) that Nabla has no conversion for.</summary>
    private static readonly HashSet<string> UnsupportedDTypes =
        new(["U32", "U64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2"], StringComparer.Ordinal);
}
