using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Nabla.Serialization;

namespace Nabla.Tests;

public class SafeTensorsTests
{
    // ---- helpers -------------------------------------------------------------------------------------------

    /// <summary>A file from a header text (unpadded) and a data buffer.</summary>
    static byte[] File_(string header, params byte[][] data) => Raw(Encoding.UTF8.GetBytes(header), data);

    static byte[] Raw(byte[] header, params byte[][] data)
    {
        var all = data.SelectMany(d => d).ToArray();
        var bytes = new byte[8 + header.Length + all.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        all.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    static byte[] LengthThen(ulong n, int restLength)
    {
        var bytes = new byte[8 + restLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, n);
        bytes.AsSpan(8).Fill((byte)' ');
        return bytes;
    }

    static byte[] F32(params float[] v) { var b = new byte[4 * v.Length]; for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(4 * i), v[i]); return b; }
    static byte[] F64(params double[] v) { var b = new byte[8 * v.Length]; for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(b.AsSpan(8 * i), v[i]); return b; }
    static byte[] U16(params ushort[] v) { var b = new byte[2 * v.Length]; for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2 * i), v[i]); return b; }
    static byte[] I32(params int[] v) { var b = new byte[4 * v.Length]; for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4 * i), v[i]); return b; }
    static byte[] I64(params long[] v) { var b = new byte[8 * v.Length]; for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(8 * i), v[i]); return b; }

    static string Entry(string name, string dtype, string shape, long begin, long end) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Nabla.slnx"))) return dir.FullName;
        throw new InvalidOperationException("Nabla.slnx not found above " + AppContext.BaseDirectory);
    }

    static string Fixture(string name) => Path.Combine(RepoRoot(), "tests", "fixtures", name);

    sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("nabla-st-").FullName;
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    static StateDict Sample()
    {
        var s = new StateDict();
        s.Add("layer.weight", Tensor.FromArray([1f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e-45f, float.MaxValue, -3.25f, 0.1f, 7f, 8f, 9f], 3, 4));
        s.Add("layer.bias", Tensor.FromArray([0.5f, -0.5f, 1.5f], 3));
        s.Add("scale", Tensor.Scalar(2.75f));
        s.Add("empty", Tensor.Zeros(0, 5));
        s.Add("empty3", Tensor.Zeros(2, 0, 3));
        s.Add("bn.num_batches_tracked", new IntTensor([42]));
        s.Add("idx", new IntTensor([-1, 0, int.MaxValue, int.MinValue, -123456, 7], 2, 3));
        s.Add("no_ints", new IntTensor([], 0));
        s.Metadata["format"] = "pt";
        s.Metadata["note"] = "ünïcode ✓ \"quoted\"";
        return s;
    }

    static void AssertSame(StateDict expected, StateDict actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, e) in expected)
        {
            var a = actual[name];
            Assert.Equal(e.IsInt, a.IsInt);
            Assert.Equal(e.Shape, a.Shape);
            if (e.IsInt) Assert.Equal(e.Int!.Data, a.Int!.Data);
            else Assert.Equal(e.Float!.ToArray().Select(BitConverter.SingleToInt32Bits), a.Float!.ToArray().Select(BitConverter.SingleToInt32Bits));
        }
        Assert.Equal(expected.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal), actual.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal));
    }

    // ---- round trip and writer layout ----------------------------------------------------------------------

    [Fact]
    public void Round_trip_is_bit_exact_through_bytes_and_files()
    {
        var s = Sample();
        var bytes = SafeTensors.ToBytes(s);
        AssertSame(s, SafeTensors.Read(bytes));
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "model.safetensors");
        SafeTensors.Write(path, s);
        Assert.Equal(bytes, File.ReadAllBytes(path));
        AssertSame(s, SafeTensors.Read(path));
        Assert.Empty(SafeTensors.Read(path)["scale"].Shape);
    }

    [Fact]
    public void Tensors_larger_than_the_read_chunk_round_trip_through_a_file()
    {
        var ints = Enumerable.Range(0, 300_001).Select(i => i * 7919 - 1_000_000).ToArray();
        var s = new StateDict { { "w", Tensor.Randn([600, 1001], 3) }, { "steps", new IntTensor(ints, 300_001) } };
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "big.safetensors");
        SafeTensors.Write(path, s);
        AssertSame(s, SafeTensors.Read(path));

        // An out-of-range I64 far into the data is reported with its flat index.
        var bytes = File.ReadAllBytes(path);
        int dataStart = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(dataStart + 8 * 250_000), 1L << 40);
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Read(path));
        Assert.Contains("\"steps\": I64 value 1099511627776 at flat index 250000", ex.Message);
        Assert.Equal("steps", ex.TensorName);
    }

    [Fact]
    public void Empty_state_dict_round_trips()
    {
        var bytes = SafeTensors.ToBytes(new StateDict());
        Assert.Equal("{}      ", Encoding.UTF8.GetString(bytes, 8, bytes.Length - 8));
        Assert.Empty(SafeTensors.Read(bytes));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Written_header_follows_the_reference_writer_rules(bool withMetadata)
    {
        var s = Sample();
        if (!withMetadata) s.Metadata.Clear();
        var bytes = SafeTensors.ToBytes(s);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, n % 8);
        var headerText = Encoding.UTF8.GetString(bytes, 8, (int)n);
        var json = headerText.TrimEnd(' ');
        Assert.Equal('}', json[^1]);
        Assert.InRange(headerText.Length - json.Length, 0, 7);

        using var doc = JsonDocument.Parse(json);
        var props = doc.RootElement.EnumerateObject().ToList();
        if (withMetadata)
        {
            Assert.Equal("__metadata__", props[0].Name);
            Assert.Equal("pt", props[0].Value.GetProperty("format").GetString());
            props.RemoveAt(0);
        }
        Assert.DoesNotContain(props, p => p.Name == "__metadata__");

        // I64 (alignment 8) before F32 (alignment 4), each by ordinal name; offsets contiguous from 0.
        string[] expected = [.. s.Where(kv => kv.Value.IsInt).Select(kv => kv.Key).Order(StringComparer.Ordinal),
                             .. s.Where(kv => !kv.Value.IsInt).Select(kv => kv.Key).Order(StringComparer.Ordinal)];
        Assert.Equal(expected, props.Select(p => p.Name));
        long offset = 0;
        foreach (var p in props)
        {
            var v = s[p.Name];
            Assert.Equal(v.IsInt ? "I64" : "F32", p.Value.GetProperty("dtype").GetString());
            Assert.Equal(v.Shape, p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
            var off = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            Assert.Equal(offset, off[0]);
            Assert.Equal(v.Shape.Aggregate(1L, (a, d) => a * d) * (v.IsInt ? 8 : 4), off[1] - off[0]);
            offset = off[1];
        }
        Assert.Equal(bytes.Length, 8 + (long)n + offset);
    }

    [Fact]
    public void Writer_rejects_reserved_and_empty_names()
    {
        var s = new StateDict { { "__metadata__", Tensor.Scalar(1f) } };
        Assert.Throws<ArgumentException>(() => SafeTensors.ToBytes(s));
        Assert.Throws<ArgumentException>(() => SafeTensors.ToBytes(new StateDict { { "", Tensor.Scalar(1f) } }));
        Assert.Throws<ArgumentException>(() => SafeTensors.ToBytes(new StateDict { { "x", default } }));
    }

    [Fact]
    public void Write_replaces_an_existing_file_and_leaves_no_temp_files()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "m.safetensors");
        File.WriteAllText(path, "old contents that are not safetensors");
        SafeTensors.Write(path, Sample());
        AssertSame(Sample(), SafeTensors.Read(path));
        var small = new StateDict { { "a", Tensor.FromArray([1f, 2f], 2) } };
        SafeTensors.Write(path, small);
        AssertSame(small, SafeTensors.Read(path));

        // A rejected state dict leaves the old file untouched.
        var before = File.ReadAllBytes(path);
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(path, new StateDict { { "__metadata__", Tensor.Scalar(1f) } }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(new[] { path }, Directory.GetFileSystemEntries(dir.Path));
    }

    // ---- dtypes read from hand-built files -----------------------------------------------------------------

    [Fact]
    public void Reads_F16_BF16_F64_as_float32()
    {
        var file = File_("{" + string.Join(",",
                Entry("d", "F64", "[3]", 0, 24),
                Entry("h", "F16", "[2,2]", 24, 32),
                Entry("b", "BF16", "[3]", 32, 38)) + "}",
            F64(1.5, -1e-3, 1e300),
            U16(0x3C00, 0xC000, 0x7C00, 0x0001),
            U16(0x3F80, 0xC040, 0x4049));
        var s = SafeTensors.Read(file);
        Assert.Equal(["d", "h", "b"], s.Keys);
        Assert.Equal(new[] { 1.5f, (float)-1e-3, float.PositiveInfinity }, s["d"].Float!.ToArray());
        Assert.Equal(new[] { 2, 2 }, s["h"].Shape);
        Assert.Equal(new[] { 1f, -2f, float.PositiveInfinity, (float)Math.Pow(2, -24) }, s["h"].Float!.ToArray());
        Assert.Equal(new[] { 1f, -3f, 3.140625f }, s["b"].Float!.ToArray());
    }

    [Fact]
    public void Reads_integer_dtypes_as_IntTensor()
    {
        var file = File_("{" + string.Join(",",
                Entry("i64", "I64", "[3]", 0, 24),
                Entry("i32", "I32", "[2]", 24, 32),
                Entry("i16", "I16", "[1]", 32, 34),
                Entry("u16", "U16", "[1]", 34, 36),
                Entry("i8", "I8", "[2]", 36, 38),
                Entry("u8", "U8", "[1]", 38, 39),
                Entry("bool", "BOOL", "[3]", 39, 42)) + "}",
            I64(-1, int.MaxValue, int.MinValue), I32(-5, int.MaxValue), U16(0x8000), U16(65535), [0xFF, 0x7F], [255], [0, 1, 2]);
        var s = SafeTensors.Read(file);
        Assert.All(s.Values, v => Assert.True(v.IsInt));
        Assert.Equal(new[] { -1, int.MaxValue, int.MinValue }, s["i64"].Int!.Data);
        Assert.Equal(new[] { -5, int.MaxValue }, s["i32"].Int!.Data);
        Assert.Equal(new[] { -32768 }, s["i16"].Int!.Data);
        Assert.Equal(new[] { 65535 }, s["u16"].Int!.Data);
        Assert.Equal(new[] { -1, 127 }, s["i8"].Int!.Data);
        Assert.Equal(new[] { 255 }, s["u8"].Int!.Data);
        Assert.Equal(new[] { 0, 1, 1 }, s["bool"].Int!.Data);
    }

    [Fact]
    public void Reader_accepts_zero_rank_empty_tensors_null_metadata_and_unknown_entry_fields()
    {
        var file = File_("{\"__metadata__\":null," + Entry("e", "F32", "[0,7]", 0, 0) + "," + Entry("z", "I32", "[]", 0, 4)
                         + ",\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8],\"extra\":[1,{\"k\":2}]}}   ",
            I32(9), F32(0.25f));
        var s = SafeTensors.Read(file);
        Assert.Equal(new[] { 0, 7 }, s["e"].Shape);
        Assert.Empty(s["z"].Shape);
        Assert.Equal(new[] { 9 }, s["z"].Int!.Data);
        Assert.Equal(new[] { 0.25f }, s["x"].Float!.ToArray());
        Assert.Empty(s.Metadata);
    }

    // ---- hostile input -------------------------------------------------------------------------------------

    static readonly string A8 = Entry("a", "F32", "[2]", 0, 8);

    static readonly Dictionary<string, (Func<byte[]> Make, string Expect)> Hostile = new()
    {
        ["empty file"] = (() => [], "at least 8"),
        ["file shorter than 8 bytes"] = (() => [8, 0, 0, 0, 0], "at least 8"),
        ["header length past the end"] = (() => LengthThen(1000, 10), "runs past the end"),
        ["header length exactly 100 MB but file short"] = (() => LengthThen(100_000_000, 16), "runs past the end"),
        ["header length over 100 MB"] = (() => LengthThen(200_000_000, 16), "100000000-byte limit"),
        ["header length near 2^64 (8 + N overflows)"] = (() => LengthThen(ulong.MaxValue - 3, 16), "limit"),
        ["zero-length header"] = (() => LengthThen(0, 0), "not valid JSON"),
        ["truncated data"] = (() => File_("{" + A8 + "}", F32(1f)), "truncated"),
        ["trailing bytes after the last tensor"] = (() => File_("{" + A8 + "}", F32(1f, 2f, 3f)), "4 trailing bytes"),
        ["overlapping offsets"] = (() => File_("{" + A8 + "," + Entry("b", "F32", "[2]", 4, 12) + "}", F32(1, 2, 3)), "overlap tensor \"a\""),
        ["gapped offsets"] = (() => File_("{" + A8 + "," + Entry("b", "F32", "[2]", 12, 20) + "}", F32(1, 2, 3, 4, 5)), "gap of 4 bytes"),
        ["offsets not starting at 0"] = (() => File_("{" + Entry("a", "F32", "[2]", 4, 12) + "}", F32(1, 2, 3)), "start at offset 0"),
        ["end before begin"] = (() => File_("{" + A8 + "," + Entry("b", "F32", "[1]", 8, 4) + "}", F32(1, 2)), "[8, 4]: end is before begin"),
        ["byte count disagrees with shape"] = (() => File_("{" + Entry("a", "F32", "[3]", 0, 8) + "}", F32(1, 2)), "needs 12"),
        ["numel overflow"] = (() => File_("{" + Entry("big", "F32", "[2147483647,2147483647,8]", 0, 4) + "}", F32(1)), "overflows"),
        ["byte size overflow"] = (() => File_("{" + Entry("big", "F64", "[4294967296,4294967295]", 0, 4) + "}", F32(1)), "overflows"),
        ["end offset 2^64 - 1"] = (() => File_("{" + Entry("a", "F32", "[1]", 0, 4) + ",\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[4,18446744073709551615]}}", F32(1)), "needs 1"),
        ["begin offset 2^64 - 1"] = (() => File_("{" + Entry("a", "F32", "[1]", 0, 4) + ",\"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[18446744073709551615,18446744073709551615]}}", F32(1)), "leave a gap"),
        ["offset beyond 2^64"] = (() => File_("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,18446744073709551616]}}"), "not an integer"),
        ["dimension too large for Nabla"] = (() => File_("{" + Entry("a", "F32", "[0,4294967296]", 0, 0) + "}"), "larger than a Nabla tensor"),
        ["unknown dtype"] = (() => File_("{" + Entry("a", "F17", "[2]", 0, 8) + "}", F32(1, 2)), "unknown dtype \"F17\""),
        ["unsupported dtype"] = (() => File_("{" + Entry("a", "U32", "[2]", 0, 8) + "}", F32(1, 2)), "U32 is not supported"),
        ["invalid JSON"] = (() => File_("{\"a\": {\"dtype\": ", F32(1, 2)), "not valid JSON"),
        ["JSON with trailing content"] = (() => File_("{} {}"), "not valid JSON"),
        ["header that is a JSON array"] = (() => File_("[]"), "must be a JSON object, but it is an array"),
        ["header that is a string"] = (() => File_("\"x\""), "must be a JSON object"),
        ["duplicate names"] = (() => File_("{" + A8 + "," + A8 + "}", F32(1, 2)), "tensor \"a\": the name appears more than once"),
        ["duplicate names via escapes"] = (() => File_("{" + A8 + ",\"\\u0061\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}", F32(1, 2)), "tensor \"a\": the name appears more than once"),
        ["duplicate metadata"] = (() => File_("{\"__metadata__\":{},\"__metadata__\":{}}"), "\"__metadata__\" appears more than once"),
        ["duplicate field in an entry"] = (() => File_("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}"), "\"dtype\" appears more than once"),
        ["non-UTF-8 header"] = (() => Raw([.. "{\"a"u8, 0xFF, .. "\":{}}"u8]), "UTF-8"),
        ["lone surrogate escape"] = (() => File_("{\"\\ud800\":{}}"), "JSON"),
        ["I64 out of int32 range"] = (() => File_("{" + Entry("steps", "I64", "[2]", 0, 16) + "}", I64(1, 3_000_000_000)), "\"steps\": I64 value 3000000000"),
        ["entry not an object"] = (() => File_("{\"a\":5}"), "\"a\": the entry must be an object"),
        ["missing dtype"] = (() => File_("{\"a\":{\"shape\":[0],\"data_offsets\":[0,0]}}"), "no \"dtype\""),
        ["missing shape"] = (() => File_("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,0]}}"), "no \"shape\""),
        ["missing data_offsets"] = (() => File_("{\"a\":{\"dtype\":\"F32\",\"shape\":[0]}}"), "no \"data_offsets\""),
        ["dtype not a string"] = (() => File_("{\"a\":{\"dtype\":4,\"shape\":[0],\"data_offsets\":[0,0]}}"), "\"dtype\" must be a string"),
        ["shape not an array"] = (() => File_("{\"a\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,0]}}"), "\"shape\" must be an array"),
        ["negative shape size"] = (() => File_("{" + Entry("a", "F32", "[-2]", 0, 8) + "}", F32(1, 2)), "negative"),
        ["non-integer shape size"] = (() => File_("{" + Entry("a", "F32", "[1.5]", 0, 8) + "}", F32(1, 2)), "not an integer"),
        ["shape size as a string"] = (() => File_("{" + Entry("a", "F32", "[\"2\"]", 0, 8) + "}", F32(1, 2)), "element 0 is a string"),
        ["three data_offsets"] = (() => File_("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0,0]}}"), "exactly 2"),
        ["empty tensor name"] = (() => File_("{" + Entry("", "F32", "[0]", 0, 0) + "}"), "empty name"),
        ["metadata not an object"] = (() => File_("{\"__metadata__\":[\"a\"]}"), "\"__metadata__\" must be an object"),
        ["metadata not flat"] = (() => File_("{\"__metadata__\":{\"a\":{\"b\":\"c\"}}}"), "value of \"a\" must be a string"),
        ["metadata value a number"] = (() => File_("{\"__metadata__\":{\"epoch\":3}}"), "must be a string"),
        ["duplicate metadata key"] = (() => File_("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}"), "\"k\" more than once"),
        ["deeply nested JSON"] = (() => File_("{\"a\":{\"dtype\":\"F32\",\"x\":" + new string('[', 5000) + new string(']', 5000) + "}}"), "not valid JSON"),
    };

    public static TheoryData<string> HostileCases() => [.. Hostile.Keys];

    [Theory]
    [MemberData(nameof(HostileCases))]
    public void Hostile_input_is_rejected_with_a_format_exception(string name)
    {
        var (make, expect) = Hostile[name];
        var bytes = make();
        var fromBytes = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Read(bytes));
        Assert.Contains(expect, fromBytes.Message, StringComparison.Ordinal);

        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "x.safetensors");
        File.WriteAllBytes(path, bytes);
        var fromFile = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Read(path));
        Assert.Equal(fromBytes.Message, fromFile.Message);
    }

    [Fact]
    public void Oversized_header_length_is_rejected_without_allocating_it()
    {
        var bytes = LengthThen(100_000_001, 64);
        SafeTensors.Read(File_("{}")); // JIT the reader before measuring
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Read(bytes));
        Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Read(LengthThen(99_999_992, 64)));
        // A huge declared tensor in a small file is rejected before its buffer exists, too.
        Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Read(File_("{" + Entry("a", "F32", "[400000000]", 0, 1_600_000_000) + "}", F32(1))));
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 1 << 20);
    }

    [Fact]
    public void Fuzzed_files_either_read_or_raise_the_format_exception()
    {
        var s = new StateDict
        {
            { "enc.weight", Tensor.Randn([4, 3], 1) },
            { "enc.bias", Tensor.Randn([4], 2) },
            { "scalar", Tensor.Scalar(-1.5f) },
            { "counts", new IntTensor([1, -2, 3, 40000, -5, 6], 3, 2) },
            { "empty", Tensor.Zeros(0, 2) },
        };
        s.Metadata["format"] = "pt";
        var valid = SafeTensors.ToBytes(s);
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(valid);
        var rng = new Random(20240611);
        const string jsonish = "{}[]\":,-.0123456789eE _aF4I6 ";
        int ok = 0, rejected = 0;
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "fuzz.safetensors");
        var clock = Stopwatch.StartNew();
        for (int iter = 0; iter < 3000; iter++)
        {
            var bytes = new List<byte>(valid);
            int mutations = 1 + rng.Next(3);
            for (int m = 0; m < mutations && bytes.Count > 0; m++)
            {
                int at = rng.Next(bytes.Count), headerTop = Math.Min(headerEnd, bytes.Count);
                switch (rng.Next(7))
                {
                    case 0: bytes[at] ^= (byte)(1 << rng.Next(8)); break;
                    case 1: bytes[at] = (byte)rng.Next(256); break;
                    case 2: bytes[rng.Next(Math.Min(8, bytes.Count))] = (byte)rng.Next(256); break;
                    case 3:
                        if (headerTop > 8) bytes[8 + rng.Next(headerTop - 8)] = (byte)jsonish[rng.Next(jsonish.Length)];
                        break;
                    case 4:
                        // Swap a digit in the header for another, to reach the size and offset checks.
                        var digits = Enumerable.Range(8, Math.Max(0, headerTop - 8)).Where(i => bytes[i] is >= (byte)'0' and <= (byte)'9').ToList();
                        if (digits.Count > 0) bytes[digits[rng.Next(digits.Count)]] = (byte)('0' + rng.Next(10));
                        break;
                    case 5: bytes.RemoveRange(at, bytes.Count - at); break;
                    default: bytes.InsertRange(at, Enumerable.Range(0, 1 + rng.Next(8)).Select(_ => (byte)rng.Next(256))); break;
                }
            }
            var data = bytes.ToArray();
            try
            {
                SafeTensors.Read(data);
                ok++;
            }
            catch (SafeTensorsFormatException) { rejected++; }
            catch (Exception ex)
            {
                Assert.Fail($"iteration {iter}: {ex.GetType().Name}: {ex.Message}\nbytes: {Convert.ToHexString(data)}");
            }
            if (iter % 10 == 0)
            {
                File.WriteAllBytes(path, data);
                try { SafeTensors.Read(path); }
                catch (SafeTensorsFormatException) { }
                catch (Exception ex) { Assert.Fail($"iteration {iter} (file): {ex.GetType().Name}: {ex.Message}"); }
            }
        }
        Assert.True(ok > 0 && rejected > 0, $"ok {ok}, rejected {rejected}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"fuzzing took {clock.Elapsed}");
    }

    // ---- interop -------------------------------------------------------------------------------------------

    [Fact]
    public void Reads_the_PyTorch_MLP_fixture_and_reproduces_its_output()
    {
        var s = SafeTensors.Read(Fixture("torch_mlp.safetensors"));
        Assert.Equal("pt", s.Metadata["format"]);
        var shapes = new Dictionary<string, int[]>
        {
            ["0.weight"] = [8, 6], ["0.bias"] = [8], ["2.weight"] = [5, 8], ["2.bias"] = [5], ["4.weight"] = [3, 5], ["4.bias"] = [3],
        };
        Assert.Equal(shapes.Keys.Order(StringComparer.Ordinal), s.Keys.Order(StringComparer.Ordinal));
        foreach (var (k, shape) in shapes)
        {
            Assert.False(s[k].IsInt);
            Assert.Equal(shape, s[k].Shape);
        }

        // Linear(6,8) → ReLU → Linear(8,5) → Tanh → Linear(5,3), in plain arrays, against torch's output.
        using var io = JsonDocument.Parse(File.ReadAllText(Fixture("torch_mlp_io.json")));
        float[] Data(JsonElement e) => e.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var x = Data(io.RootElement.GetProperty("input"));
        var expected = Data(io.RootElement.GetProperty("output"));
        int batch = x.Length / 6;
        double[] Linear(double[] input, string layer, int inF, int outF, Func<double, double> act)
        {
            var w = s[layer + ".weight"].Float!.ToArray();
            var b = s[layer + ".bias"].Float!.ToArray();
            var y = new double[batch * outF];
            for (int n = 0; n < batch; n++)
                for (int o = 0; o < outF; o++)
                {
                    double acc = b[o];
                    for (int i = 0; i < inF; i++) acc += w[o * inF + i] * input[n * inF + i];
                    y[n * outF + o] = act(acc);
                }
            return y;
        }
        var h1 = Linear(Array.ConvertAll(x, v => (double)v), "0", 6, 8, v => Math.Max(0, v));
        var h2 = Linear(h1, "2", 8, 5, Math.Tanh);
        var output = Linear(h2, "4", 5, 3, v => v);
        for (int i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i], output[i], 1e-5);
    }
}
