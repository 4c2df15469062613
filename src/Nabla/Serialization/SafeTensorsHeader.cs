using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Nabla.Serialization;

public static partial class SafeTensors
{
    /// <summary>One header entry; sizes stay 64-bit until checked against the file.</summary>
    private sealed class Entry(string name, int index, DType type, ulong[] shape, ulong begin, ulong end)
    {
        public string Name { get; } = name;
        public int Index { get; } = index;
        public DType Type { get; } = type;
        public ulong[] Shape { get; } = shape;
        public ulong Begin { get; } = begin;
        public ulong End { get; } = end;
        public int Numel { get; set; }
        public int[] IntShape { get; set; } = [];
        public long ByteCount => (long)(End - Begin);
    }

    private sealed record Header(List<Entry> Entries, List<Entry> ByOffset, Dictionary<string, string>? Metadata);

    private static Header ParseAndValidate(ReadOnlySpan<byte> header, ulong headerLength, ulong fileLength)
    {
        if (!Utf8.IsValid(header))
            throw Fail("the header is not valid UTF-8.");
        var (entries, metadata) = ParseHeader(header);

        var byOffset = new List<Entry>(entries);
        byOffset.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin)
            : a.End != b.End ? a.End.CompareTo(b.End) : a.Index.CompareTo(b.Index));
        ulong position = 0;
        Entry? previous = null;
        foreach (var e in byOffset)
        {
            string range = $"data_offsets [{e.Begin}, {e.End}]";
            if (e.End < e.Begin)
                throw Fail($"{range}: end is before begin.", e.Name);
            if (e.Begin != position)
                throw Fail(previous is null
                    ? $"{range}: the data must start at offset 0, but the first tensor begins at {e.Begin}."
                    : e.Begin > position
                        ? $"{range} leave a gap of {e.Begin - position} bytes after tensor \"{previous.Name}\", which ends at {position}."
                        : $"{range} overlap tensor \"{previous.Name}\", which ends at {position}.", e.Name);
            ulong numel = 1;
            foreach (ulong d in e.Shape)
                if (!TryMultiply(numel, d, out numel))
                    throw Fail($"the element count of shape {FormatShape(e.Shape)} overflows 64 bits.", e.Name);
            if (!TryMultiply(numel, (ulong)SizeOf(e.Type), out ulong bytes))
                throw Fail($"the byte size of {e.Type} shape {FormatShape(e.Shape)} overflows 64 bits.", e.Name);
            if (e.End - e.Begin != bytes)
                throw Fail($"{range} span {e.End - e.Begin} bytes, but {DTypeName(e.Type)} shape {FormatShape(e.Shape)} needs {bytes}.", e.Name);
            if (numel > (ulong)Array.MaxLength || e.Shape.Any(d => d > int.MaxValue))
                throw Fail($"shape {FormatShape(e.Shape)} is larger than a Nabla tensor holds (at most {Array.MaxLength} elements, {int.MaxValue} per dimension).", e.Name);
            e.Numel = (int)numel;
            e.IntShape = Array.ConvertAll(e.Shape, d => (int)d);
            position = e.End;
            previous = e;
        }
        ulong available = fileLength - 8 - headerLength;
        if (position > available)
            throw Fail($"the tensors need {position} data bytes but only {available} follow the header (file length {fileLength}, header {headerLength}); the file is truncated.");
        if (position < available)
            throw Fail($"{available - position} trailing bytes after the last tensor (data ends at {position}, but {available} bytes follow the header).");
        return new Header(entries, byOffset, metadata);
    }

    private static bool TryMultiply(ulong a, ulong b, out ulong product)
    {
        product = unchecked(a * b);
        return a == 0 || product / a == b;
    }

    private static string FormatShape(ulong[] shape) => "[" + string.Join(", ", shape) + "]";

    private static string DTypeName(DType t) => t == DType.Bool ? "BOOL" : t.ToString();

    private static (List<Entry>, Dictionary<string, string>?) ParseHeader(ReadOnlySpan<byte> header)
    {
        var entries = new List<Entry>();
        Dictionary<string, string>? metadata = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
                throw Fail($"the header must be a JSON object, but it is {Describe(reader.TokenType)}.");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                if (!seen.Add(name))
                    throw name == MetadataKey
                        ? Fail($"\"{MetadataKey}\" appears more than once in the header.")
                        : Fail("the name appears more than once in the header.", name);
                reader.Read();
                if (name == MetadataKey) metadata = ReadMetadata(ref reader);
                else
                {
                    if (name.Length == 0) throw Fail("a tensor has an empty name.");
                    entries.Add(ReadEntry(ref reader, name, entries.Count));
                }
            }
            if (reader.Read())
                throw Fail("the header has content after its JSON object.");
        }
        catch (JsonException ex)
        {
            throw Fail($"the header is not valid JSON: {ex.Message}", null, ex);
        }
        catch (InvalidOperationException ex)
        {
            throw Fail($"the header holds an unreadable JSON string: {ex.Message}", null, ex);
        }
        return (entries, metadata);
    }

    private static string Describe(JsonTokenType t) => t switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => t.ToString(),
    };

    private static Dictionary<string, string>? ReadMetadata(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Fail($"\"{MetadataKey}\" must be an object mapping strings to strings, but it is {Describe(reader.TokenType)}.");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
                throw Fail($"\"{MetadataKey}\" value of \"{key}\" must be a string, but it is {Describe(reader.TokenType)}.");
            if (!map.TryAdd(key, reader.GetString()!))
                throw Fail($"\"{MetadataKey}\" has the key \"{key}\" more than once.");
        }
        return map;
    }

    private static Entry ReadEntry(ref Utf8JsonReader reader, string name, int index)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw Fail($"the entry must be an object with dtype, shape and data_offsets, but it is {Describe(reader.TokenType)}.", name);
        string? dtype = null;
        ulong[]? shape = null, offsets = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            reader.Read();
            switch (key)
            {
                case "dtype":
                    if (dtype is not null) throw Fail("\"dtype\" appears more than once.", name);
                    if (reader.TokenType != JsonTokenType.String)
                        throw Fail($"\"dtype\" must be a string, but it is {Describe(reader.TokenType)}.", name);
                    dtype = reader.GetString()!;
                    break;
                case "shape":
                    if (shape is not null) throw Fail("\"shape\" appears more than once.", name);
                    shape = ReadSizes(ref reader, name, key);
                    break;
                case "data_offsets":
                    if (offsets is not null) throw Fail("\"data_offsets\" appears more than once.", name);
                    offsets = ReadSizes(ref reader, name, key);
                    if (offsets.Length != 2)
                        throw Fail($"\"data_offsets\" must hold exactly 2 integers [begin, end], but it holds {offsets.Length}.", name);
                    break;
                default:
                    // The reference reader ignores fields it does not know.
                    reader.Skip();
                    break;
            }
        }
        if (dtype is null) throw Fail("the entry has no \"dtype\".", name);
        if (shape is null) throw Fail("the entry has no \"shape\".", name);
        if (offsets is null) throw Fail("the entry has no \"data_offsets\".", name);
        if (!TryParseDType(dtype, out var type))
            throw Fail(UnsupportedDTypes.Contains(dtype)
                ? $"dtype {dtype} is not supported by Nabla (it reads BOOL, U8, I8, I16, U16, I32, I64, F16, BF16, F32, F64)."
                : $"unknown dtype \"{dtype}\".", name);
        return new Entry(name, index, type, shape, offsets[0], offsets[1]);
    }

    private static ulong[] ReadSizes(ref Utf8JsonReader reader, string name, string key)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw Fail($"\"{key}\" must be an array of non-negative integers, but it is {Describe(reader.TokenType)}.", name);
        var sizes = new List<ulong>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number)
                throw Fail($"\"{key}\" must hold non-negative integers, but element {sizes.Count} is {Describe(reader.TokenType)}.", name);
            if (!reader.TryGetUInt64(out ulong v))
            {
                string text = Encoding.UTF8.GetString(reader.ValueSpan);
                throw Fail(text.StartsWith('-')
                    ? $"\"{key}\" element {sizes.Count} is negative ({text})."
                    : $"\"{key}\" element {sizes.Count} ({text}) is not an integer in [0, {ulong.MaxValue}].", name);
            }
            sizes.Add(v);
        }
        return sizes.ToArray();
    }
}
