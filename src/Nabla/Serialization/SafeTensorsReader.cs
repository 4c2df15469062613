using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Nabla.Serialization;

public static partial class SafeTensors
{
    private static SafeTensorsFormatException Fail(string message, string? tensor = null, Exception? inner = null) =>
        new(tensor is null ? $"safetensors: {message}" : $"safetensors: tensor \"{tensor}\": {message}", tensor, inner);

    private static StateDict ReadBytes(ReadOnlySpan<byte> bytes)
    {
        ulong headerLength = ReadHeaderLength(bytes, bytes.Length);
        var header = ParseAndValidate(bytes.Slice(8, (int)headerLength), headerLength, (ulong)bytes.Length);
        var data = bytes[(8 + (int)headerLength)..];
        var values = new StateValue[header.Entries.Count];
        foreach (var e in header.Entries)
            values[e.Index] = Decode(e, data.Slice((int)e.Begin, (int)e.ByteCount));
        return Assemble(header, values);
    }

    private static StateDict ReadFile(Stream stream)
    {
        long length = stream.Length;
        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(stream, prefix[..(int)Math.Min(8, length)]);
        ulong headerLength = ReadHeaderLength(prefix, length);
        var headerBytes = new byte[headerLength];
        ReadExactly(stream, headerBytes);
        var header = ParseAndValidate(headerBytes, headerLength, (ulong)length);

        // Entries are contiguous in offset order, so the data is read front to back in bounded chunks.
        var values = new StateValue[header.Entries.Count];
        var chunk = new byte[Math.Min(1 << 20, Math.Max(8, length - 8 - (long)headerLength))];
        foreach (var e in header.ByOffset)
        {
            var dst = IsFloat(e.Type) ? (Array)new float[e.Numel] : new int[e.Numel];
            int size = SizeOf(e.Type);
            long done = 0;
            while (done < e.ByteCount)
            {
                int take = (int)Math.Min(e.ByteCount - done, chunk.Length / 8 * 8);
                ReadExactly(stream, chunk.AsSpan(0, take));
                int first = (int)(done / size), count = take / size;
                if (dst is float[] f) DecodeFloats(e.Type, chunk.AsSpan(0, take), f.AsSpan(first, count));
                else DecodeInts(e, chunk.AsSpan(0, take), ((int[])dst).AsSpan(first, count), first);
                done += take;
            }
            values[e.Index] = dst is float[] floats ? Tensor.FromArray(floats, e.IntShape) : new IntTensor((int[])dst, e.IntShape);
        }
        return Assemble(header, values);
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer)
    {
        try { stream.ReadExactly(buffer); }
        catch (EndOfStreamException ex) { throw Fail("the file ended early (was it truncated while being read?).", null, ex); }
    }

    private static ulong ReadHeaderLength(ReadOnlySpan<byte> prefix, long fileLength)
    {
        if (fileLength < 8)
            throw Fail($"the file is {fileLength} bytes; at least 8 are needed for the header length.");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > MaxHeaderLength)
            throw Fail($"header length {n} exceeds the {MaxHeaderLength}-byte limit.");
        if (n > (ulong)(fileLength - 8))
            throw Fail($"header length {n} runs past the end of the file ({fileLength} bytes, {fileLength - 8} after the length prefix).");
        return n;
    }

    private static StateDict Assemble(Header header, StateValue[] values)
    {
        var state = new StateDict();
        foreach (var e in header.Entries) state.Add(e.Name, values[e.Index]);
        if (header.Metadata is not null)
            foreach (var (k, v) in header.Metadata) state.Metadata[k] = v;
        return state;
    }

    private static StateValue Decode(Entry e, ReadOnlySpan<byte> src)
    {
        if (IsFloat(e.Type))
        {
            var f = new float[e.Numel];
            DecodeFloats(e.Type, src, f);
            return Tensor.FromArray(f, e.IntShape);
        }
        var d = new int[e.Numel];
        DecodeInts(e, src, d, 0);
        return new IntTensor(d, e.IntShape);
    }

    private static void DecodeFloats(DType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (type)
        {
            case DType.F32 when BitConverter.IsLittleEndian:
                MemoryMarshal.Cast<byte, float>(src).CopyTo(dst);
                break;
            case DType.F32:
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(src.Slice(4 * i, 4));
                break;
            case DType.F16:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(src.Slice(2 * i, 2));
                break;
            case DType.BF16:
                for (int i = 0; i < dst.Length; i++)
                    dst[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src.Slice(2 * i, 2)) << 16);
                break;
            case DType.F64:
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(src.Slice(8 * i, 8));
                break;
            default:
                throw new InvalidOperationException($"SafeTensors: {type} is not a float dtype.");
        }
    }

    /// <summary>Decodes integers; <paramref name="first"/> is the index of dst[0] within the tensor, for messages.</summary>
    private static void DecodeInts(Entry e, ReadOnlySpan<byte> src, Span<int> dst, int first)
    {
        switch (e.Type)
        {
            case DType.I64:
                for (int i = 0; i < dst.Length; i++)
                {
                    long v = BinaryPrimitives.ReadInt64LittleEndian(src.Slice(8 * i, 8));
                    if (v is < int.MinValue or > int.MaxValue)
                        throw Fail($"I64 value {v} at flat index {(long)first + i} does not fit in int32.", e.Name);
                    dst[i] = (int)v;
                }
                break;
            case DType.I32 when BitConverter.IsLittleEndian:
                MemoryMarshal.Cast<byte, int>(src).CopyTo(dst);
                break;
            case DType.I32:
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt32LittleEndian(src.Slice(4 * i, 4));
                break;
            case DType.I16:
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt16LittleEndian(src.Slice(2 * i, 2));
                break;
            case DType.U16:
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadUInt16LittleEndian(src.Slice(2 * i, 2));
                break;
            case DType.I8:
                for (int i = 0; i < dst.Length; i++) dst[i] = (sbyte)src[i];
                break;
            case DType.U8:
                for (int i = 0; i < dst.Length; i++) dst[i] = src[i];
                break;
            case DType.Bool:
                for (int i = 0; i < dst.Length; i++) dst[i] = src[i] != 0 ? 1 : 0;
                break;
            default:
                throw new InvalidOperationException($"SafeTensors: {e.Type} is not an integer dtype.");
        }
    }
}
