using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Nabla.Serialization;

public static partial class SafeTensors
{
    private sealed record PlannedEntry(string Name, StateValue Value, long Begin, long End);

    private sealed record WritePlanData(byte[] Header, List<PlannedEntry> Entries, long DataLength)
    {
        public long TotalLength => 8 + Header.Length + DataLength;
    }

    /// <summary>
    /// Lays out the file as the reference writer does: I64 entries (alignment 8) before F32 (alignment 4), each
    /// group by ordinal name; contiguous offsets from 0; <c>__metadata__</c> first; header space-padded to 8 bytes.
    /// </summary>
    private static WritePlanData Plan(StateDict state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var items = new List<(string Name, StateValue Value)>(state.Count);
        foreach (var (name, value) in state)
        {
            if (string.IsNullOrEmpty(name))
                throw new ArgumentException("SafeTensors: tensor names must be non-empty.", nameof(state));
            if (name == MetadataKey)
                throw new ArgumentException($"SafeTensors: \"{MetadataKey}\" is reserved and cannot name a tensor.", nameof(state));
            if (value.Float is null && value.Int is null)
                throw new ArgumentException($"SafeTensors: entry \"{name}\" holds no tensor.", nameof(state));
            items.Add((name, value));
        }
        items.Sort((a, b) => a.Value.IsInt != b.Value.IsInt ? (a.Value.IsInt ? -1 : 1) : string.CompareOrdinal(a.Name, b.Name));

        var entries = new List<PlannedEntry>(items.Count);
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (state.Metadata.Count > 0)
            {
                json.WriteStartObject(MetadataKey);
                foreach (var key in state.Metadata.Keys.Order(StringComparer.Ordinal))
                    json.WriteString(key, state.Metadata[key] ?? throw new ArgumentException($"SafeTensors: metadata \"{key}\" is null.", nameof(state)));
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, value) in items)
            {
                var shape = value.Shape;
                long bytes = (long)Shapes.Numel(shape.ToArray()) * (value.IsInt ? 8 : 4);
                json.WriteStartObject(name);
                json.WriteString("dtype", value.IsInt ? "I64" : "F32");
                json.WriteStartArray("shape");
                foreach (int d in shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                entries.Add(new PlannedEntry(name, value, offset, offset + bytes));
                offset += bytes;
            }
            json.WriteEndObject();
        }
        int padded = (buffer.WrittenCount + 7) / 8 * 8;
        if (padded > MaxHeaderLength)
            throw new ArgumentException($"SafeTensors: the header would be {padded} bytes, over the {MaxHeaderLength}-byte limit readers enforce.", nameof(state));
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return new WritePlanData(header, entries, entries.Count == 0 ? 0 : entries[^1].End);
    }

    private static void WritePlan(Stream stream, WritePlanData plan)
    {
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)plan.Header.Length);
        stream.Write(prefix);
        stream.Write(plan.Header);
        byte[] chunk = new byte[1 << 16];
        foreach (var e in plan.Entries)
        {
            if (e.Value.Int is { } ints) WriteI64(stream, ints.Data, chunk);
            else WriteF32(stream, e.Value.Float!.ToArray(), chunk);
        }
    }

    private static void WriteF32(Stream stream, float[] values, byte[] chunk)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
            return;
        }
        for (int start = 0; start < values.Length; start += chunk.Length / 4)
        {
            int n = Math.Min(chunk.Length / 4, values.Length - start);
            for (int i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(chunk.AsSpan(4 * i, 4), values[start + i]);
            stream.Write(chunk, 0, 4 * n);
        }
    }

    private static void WriteI64(Stream stream, int[] values, byte[] chunk)
    {
        for (int start = 0; start < values.Length; start += chunk.Length / 8)
        {
            int n = Math.Min(chunk.Length / 8, values.Length - start);
            for (int i = 0; i < n; i++) BinaryPrimitives.WriteInt64LittleEndian(chunk.AsSpan(8 * i, 8), values[start + i]);
            stream.Write(chunk, 0, 8 * n);
        }
    }
}
