using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Nabla.Serialization;

namespace Nabla.FuzzHost.Targets;

/// <summary>
/// <see cref="SafeTensors.Read(ReadOnlySpan{byte})"/> → <see cref="SafeTensorsFormatException"/>. Mutations edit the JSON
/// header as a list of (key, raw JSON) pairs (so keys can repeat), entry by entry — dtype, shape, data_offsets, names,
/// metadata, unknown fields, re-laid-out data — and re-fix the 8-byte length so the parser gets past its first check.
/// Framing: the length prefix, UTF-8 and JSON syntax; body: everything the entries are checked for, and acceptance.
/// One case in eight goes through <see cref="SafeTensors.Read(string)"/> instead, whose reader streams the file in chunks.
/// </summary>
internal sealed class SafeTensorsTarget : Target, IDisposable
{
    /// <summary>Marks a case read from a file rather than from memory.</summary>
    internal sealed record FromFile
    {
        public override string ToString() => "read from a file";
    }

    private readonly string _dir = Directory.CreateTempSubdirectory("nabla-fuzz-st-").FullName;
    private static readonly string[] DTypes = ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "F32", "F64", "I64"];
    private static readonly string[] OtherDTypes = ["U32", "U64", "F8_E4M3", "F8_E5M2", "F4", "f32", "", "F32 ", "float32", "I128"];
    private readonly List<byte[]> _seeds = [];

    public SafeTensorsTarget()
    {
        var g = new Generator(7);
        _seeds.Add(SafeTensors.ToBytes(Models.FromSpec("mlp:8", 6, 3, g).StateDict()));
        var cnn = Models.FromSpec("cnn:2,2", [1, 8, 8], 3, g, options: new ModelOptions(Norm: "batch")).StateDict();
        cnn.Metadata["format"] = "pt";
        _seeds.Add(SafeTensors.ToBytes(cnn));
        var rng = new Random(1);
        _seeds.Add(Build([.. DTypes.Select((d, i) => (Name: $"t.{d.ToLowerInvariant()}", DType: d, Shape: (int[])(i % 3 == 0 ? [2, 3] : i % 3 == 1 ? [] : [3])))], rng,
            "{\"format\":\"pt\",\"note\":\"every dtype\"}"));
        _seeds.Add(Build([("empty", "F32", [0, 4]), ("scalar", "I64", []), ("z", "BOOL", [2, 0, 5])], rng, null));
        _seeds.Add(Encode([], [], 0));
        _seeds.Add(Encode([(SafeTensors.MetadataKey, "{\"a\":\"b\"}")], [], 6));
    }

    public override string Name => "safetensors";
    public override int SeedCount => _seeds.Count;
    public override FuzzCase Seed(int i) => new(_seeds[i], "seed");
    public override bool IsDocumented(Exception e) => e is SafeTensorsFormatException;

    public override Stage Classify(Exception e)
    {
        string m = e.Message;
        return m.Contains("needed for the header length", StringComparison.Ordinal) || m.Contains(": header length ", StringComparison.Ordinal)
            || m.Contains("not valid UTF-8", StringComparison.Ordinal) || m.Contains("not valid JSON", StringComparison.Ordinal)
            || m.Contains("must be a JSON object", StringComparison.Ordinal) || m.Contains("unreadable JSON string", StringComparison.Ordinal)
            || m.Contains("content after its JSON object", StringComparison.Ordinal)
            ? Stage.Framing : Stage.Body;
    }

    public override void Execute(FuzzCase c, long index)
    {
        if (c.Settings is not FromFile)
        {
            SafeTensors.Read(c.Data);
            return;
        }
        string path = Path.Combine(_dir, "t.safetensors");
        File.WriteAllBytes(path, c.Data);
        SafeTensors.Read(path);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public override FuzzCase Mutate(Random r)
    {
        var seed = Mut.Pick(r, _seeds);
        object? settings = Mut.Chance(r, 0.125) ? new FromFile() : null;
        if (Mut.Chance(r, 0.08)) return new FuzzCase(Mut.Havoc(r, seed, Mut.Pick(r, _seeds), 8), "havoc", settings);
        var (pairs, data) = Decode(seed);
        var done = new List<string>();
        int steps = 1 + r.Next(3);
        for (int s = 0; s < steps; s++) done.Add(Step(r, pairs, ref data));
        int pad = Mut.Chance(r, 0.1) ? r.Next(1, 9) : 0;
        var bytes = Encode(pairs, data, pad);
        if (Mut.Chance(r, 0.08))
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes, Mut.Chance(r, 0.5) ? Mut.InterestingValue(r) : BinaryPrimitives.ReadInt64LittleEndian(bytes) + r.Next(-9, 10));
            done.Add("length");
        }
        if (Mut.Chance(r, 0.08)) { bytes = Mut.Havoc(r, bytes, Mut.Pick(r, _seeds), 2); done.Add("havoc"); }
        return new FuzzCase(bytes, string.Join(",", done), settings);
    }

    private static string Step(Random r, List<(string Key, string Raw)> pairs, ref byte[] data)
    {
        var tensors = pairs.Select((p, i) => (p, i)).Where(x => x.p.Key != SafeTensors.MetadataKey && Entry(x.p.Raw) is not null).Select(x => x.i).ToList();
        int pick = tensors.Count > 0 ? Mut.Pick(r, tensors) : -1;
        JsonObject? entry = pick >= 0 ? Entry(pairs[pick].Raw) : null;
        switch (r.Next(15))
        {
            case 0 when entry is not null:
                entry["dtype"] = Mut.Chance(r, 0.7) ? Mut.Pick(r, DTypes) : Mut.Chance(r, 0.8) ? Mut.Pick(r, OtherDTypes) : Value(r);
                pairs[pick] = (pairs[pick].Key, entry.ToJsonString());
                return "dtype";
            case 1 when entry is not null:
                entry["shape"] = Mut.Chance(r, 0.85) ? Sizes(r, entry["shape"] as JsonArray) : Value(r);
                pairs[pick] = (pairs[pick].Key, entry.ToJsonString());
                return "shape";
            case 2 when entry is not null:
                entry["data_offsets"] = Mut.Chance(r, 0.85) ? Sizes(r, entry["data_offsets"] as JsonArray) : Value(r);
                pairs[pick] = (pairs[pick].Key, entry.ToJsonString());
                return "offsets";
            case 3 or 4 when entry is not null:
                // A new dtype and shape for one tensor, with every tensor laid out again: consistent, so it reaches the decoder.
                entry["dtype"] = Mut.Pick(r, DTypes);
                var shape = new JsonArray();
                int rank = r.Next(4);
                for (int d = 0; d < rank; d++) shape.Add(Mut.Chance(r, 0.1) ? 0 : r.Next(1, 6));
                entry["shape"] = shape;
                pairs[pick] = (pairs[pick].Key, entry.ToJsonString());
                data = Relayout(r, pairs);
                return "retype";
            case 5 when pick >= 0:
                pairs.RemoveAt(pick);
                if (Mut.Chance(r, 0.5)) data = Relayout(r, pairs);
                return "remove";
            case 6 when pairs.Count > 1:
            {
                int a = r.Next(pairs.Count), b = r.Next(pairs.Count);
                (pairs[a], pairs[b]) = (pairs[b], pairs[a]);
                return "reorder";
            }
            case 7 when pairs.Count > 0:
            {
                var p = Mut.Pick(r, pairs);
                pairs.Insert(r.Next(pairs.Count + 1), Mut.Chance(r, 0.5) ? p : (Mut.Chance(r, 0.5) ? SafeTensors.MetadataKey : p.Key, Mut.Pick(r, pairs).Raw));
                return "duplicate";
            }
            case 8 when pick >= 0:
                pairs[pick] = (Mut.Pick(r, ["", " ", "a\"b", "\u00e9\u4e2d", "\ud83d\ude00", new string('n', 5000), "x\ny", SafeTensors.MetadataKey, "\0"]), pairs[pick].Raw);
                return "name";
            case 9:
            {
                string meta = r.Next(6) switch
                {
                    0 => "null", 1 => "[\"a\"]", 2 => "{\"a\":1}", 3 => "{\"a\":\"1\",\"a\":\"2\"}", 4 => "{\"a\":{\"b\":\"c\"}}",
                    _ => "{\"k\":\"" + new string('v', r.Next(1, 3000)) + "\"}",
                };
                int at = pairs.FindIndex(p => p.Key == SafeTensors.MetadataKey);
                if (at >= 0) pairs[at] = (SafeTensors.MetadataKey, meta);
                else pairs.Insert(r.Next(pairs.Count + 1), (SafeTensors.MetadataKey, meta));
                return "metadata";
            }
            case 10 when entry is not null:
                entry[Mut.Pick(r, ["extra", "dtype2", "offsets"])] = Mut.Chance(r, 0.5) ? Value(r) : Nested(r.Next(1, 80));
                pairs[pick] = (pairs[pick].Key, entry.ToJsonString());
                return "unknown-field";
            case 11 when pick >= 0:
                pairs[pick] = (pairs[pick].Key, Mut.Chance(r, 0.5) ? ValueText(r) : Nested(r.Next(1, 80)).ToJsonString());
                return "entry-not-object";
            case 12 when pick >= 0:
            {
                // Raw text edits inside one value: the JSON may break, but only that value.
                string raw = Mut.TextHavoc(r, pairs[pick].Raw, "{}[]\":,0123456789-e.\\ ");
                pairs[pick] = (pairs[pick].Key, raw);
                return "raw";
            }
            case 13:
                data = r.Next(3) switch
                {
                    0 => data[..r.Next(data.Length + 1)],
                    1 => [.. data, .. Mut.Random(r, r.Next(1, 9))],
                    _ => data.Length == 0 ? data : Flip(r, data),
                };
                return "data";
            default:
                if (entry is null) return "none";
                entry.Remove(Mut.Pick(r, ["dtype", "shape", "data_offsets"]));
                pairs[pick] = (pairs[pick].Key, entry.ToJsonString());
                return "missing-field";
        }
    }

    /// <summary>A few values changed in place: the length stays, so only the decoded values differ.</summary>
    private static byte[] Flip(Random r, byte[] data)
    {
        var d = (byte[])data.Clone();
        for (int k = 1 + r.Next(4); k > 0; k--) d[r.Next(d.Length)] = (byte)r.Next(256);
        return d;
    }

    private static JsonObject? Entry(string raw)
    {
        try { return JsonNode.Parse(raw) as JsonObject; }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or ArgumentException) { return null; }
    }

    private static JsonNode Sizes(Random r, JsonArray? old)
    {
        var list = old?.Select(n => (JsonNode?)n?.DeepClone()).ToList() ?? [];
        switch (r.Next(5))
        {
            case 0: list.Add(JsonValue.Create(r.Next(0, 9))); break;
            case 1 when list.Count > 0: list.RemoveAt(r.Next(list.Count)); break;
            case 2 when list.Count > 0: list[r.Next(list.Count)] = JsonNode.Parse(Mut.Pick(r, ["-1", "1.5", "1e3", "18446744073709551615", "18446744073709551616", "4294967296", "2147483648", "9223372036854775807", "\"2\"", "null", "true"])); break;
            case 3 when list.Count > 0:   // off by a little: the classic length bug
            {
                int i = r.Next(list.Count);
                ulong v = list[i] is JsonValue x && x.TryGetValue(out ulong u) ? u : 0;
                list[i] = JsonValue.Create(Mut.Chance(r, 0.5) ? v + (ulong)r.Next(1, 5) : v - (ulong)Math.Min((long)v, r.Next(1, 5)));
                break;
            }
            default: if (list.Count > 0) list[r.Next(list.Count)] = JsonValue.Create((ulong)Mut.InterestingValue(r)); break;
        }
        return new JsonArray([.. list]);
    }

    private static string ValueText(Random r) => Mut.Pick(r, ["1", "-1", "\"F32\"", "[]", "{}", "null", "true", "[1,2]", "\"\"", "1e400", "[[1]]", "{\"dtype\":\"F32\"}"]);

    private static JsonNode? Value(Random r) => JsonNode.Parse(ValueText(r));

    private static JsonNode Nested(int depth)
    {
        JsonNode n = JsonValue.Create(1);
        for (int i = 0; i < depth; i++) n = i % 2 == 0 ? new JsonArray(n) : new JsonObject { ["k"] = n };
        return n;
    }

    private static int SizeOf(string dtype) => dtype switch
    {
        "BOOL" or "U8" or "I8" => 1,
        "I16" or "U16" or "F16" or "BF16" => 2,
        "I32" or "F32" => 4,
        _ => 8,
    };

    /// <summary>Data offsets for every well-formed entry, in header order, contiguous; fresh values of the right size.</summary>
    private static byte[] Relayout(Random r, List<(string Key, string Raw)> pairs)
    {
        var data = new List<byte>();
        for (int i = 0; i < pairs.Count; i++)
        {
            if (pairs[i].Key == SafeTensors.MetadataKey || Entry(pairs[i].Raw) is not { } e) continue;
            string dtype = e["dtype"] is JsonValue v && v.TryGetValue(out string? d) ? d : "F32";
            long numel = 1;
            if (e["shape"] is JsonArray shape)
                foreach (var n in shape) numel *= n is JsonValue x && x.TryGetValue(out int k) && k is >= 0 and < 64 ? k : 1;
            int begin = data.Count;
            data.AddRange(Values(r, dtype, (int)numel));
            e["data_offsets"] = new JsonArray(begin, data.Count);
            pairs[i] = (pairs[i].Key, e.ToJsonString());
        }
        return [.. data];
    }

    private static byte[] Values(Random r, string dtype, int numel)
    {
        var b = Mut.Random(r, numel * (DTypes.Contains(dtype) ? SizeOf(dtype) : 4));
        if (dtype == "I64" && Mut.Chance(r, 0.8))   // mostly in int32's range, so the file is accepted
            for (int i = 0; i < numel; i++) BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8 * i), r.Next(int.MinValue, int.MaxValue));
        if (dtype == "BOOL" && Mut.Chance(r, 0.8))
            for (int i = 0; i < numel; i++) b[i] = (byte)(b[i] & 1);
        return b;
    }

    private static byte[] Build((string Name, string DType, int[] Shape)[] tensors, Random r, string? metadata)
    {
        var pairs = new List<(string, string)>();
        if (metadata is not null) pairs.Add((SafeTensors.MetadataKey, metadata));
        foreach (var (name, dtype, shape) in tensors)
            pairs.Add((name, new JsonObject { ["dtype"] = dtype, ["shape"] = new JsonArray([.. shape.Select(d => (JsonNode)d)]), ["data_offsets"] = new JsonArray(0, 0) }.ToJsonString()));
        var data = Relayout(r, pairs);
        return Encode(pairs, data, 0);
    }

    private static (List<(string Key, string Raw)>, byte[]) Decode(byte[] file)
    {
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        var obj = (JsonObject)JsonNode.Parse(file.AsSpan(8, n))!;
        return ([.. obj.Select(kv => (kv.Key, kv.Value?.ToJsonString() ?? "null"))], file[(8 + n)..]);
    }

    private static byte[] Encode(List<(string Key, string Raw)> pairs, byte[] data, int pad)
    {
        var sb = new StringBuilder("{");
        for (int i = 0; i < pairs.Count; i++)
            sb.Append(i > 0 ? "," : "").Append(JsonValue.Create(pairs[i].Key).ToJsonString()).Append(':').Append(pairs[i].Raw);
        sb.Append('}').Append(' ', pad);
        byte[] header = Encoding.UTF8.GetBytes(sb.ToString());
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }
}
