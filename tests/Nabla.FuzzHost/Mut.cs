using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Nabla.FuzzHost;

/// <summary>Generic mutations (AFL's havoc: bit flips, interesting integers, insert, delete, splice, truncate) and small helpers.</summary>
internal static class Mut
{
    /// <summary>Values that sit at the edges of length and offset checks.</summary>
    public static readonly long[] Interesting =
    [
        0, 1, -1, 2, 3, 7, 8, 15, 16, 31, 32, 63, 64, 100, 127, 128, 255, 256, 1000, 1024, 4095, 4096, 32767, 32768, 65535, 65536,
        100_000_000, int.MaxValue, (long)int.MaxValue + 1, int.MinValue, uint.MaxValue, 1L << 32, (1L << 32) + 8, long.MaxValue, long.MinValue,
        0x7FFFFFC7, 0x7FFFFFC8, 64_000_000, 8000,
    ];

    /// <summary>The same values as JSON/CSV number text, plus forms that are numbers only to some parsers.</summary>
    public static readonly string[] NumberTexts =
    [
        "0", "1", "-1", "2", "3", "0.5", "-0", "-0.0", "1e-3", "0.1", "0.9", "0.99", "0.9999", "1.5", "10", "100", "1e6", "1e9", "1e18", "1e308", "-1e308",
        "1e309", "1e400", "-1e400", "1e-320", "5e-324", "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296",
        "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616", "1.0", "3.4028235e38", "3.5e38",
        "0.0000000000000000000000000000000000000000000001", "123456789012345678901234567890", "255", "999", "9999", "99999", "999999", "1000001", "16777217", "1073741823", "1073741825", "1E2", ".5", "5.", "+1", "0x10", "1_000",
        "NaN", "Infinity", "-Infinity", "nan", "inf", "1e", "-", "", " ", "1,5", "1.5.2", "٣", "∞",
    ];

    public static T Pick<T>(Random r, IReadOnlyList<T> items) => items[r.Next(items.Count)];

    public static bool Chance(Random r, double p) => r.NextDouble() < p;

    public static long InterestingValue(Random r) => Chance(r, 0.8) ? Pick(r, Interesting) : r.NextInt64(long.MinValue, long.MaxValue);

    /// <summary>1 to <paramref name="maxRounds"/> havoc steps on a copy of <paramref name="data"/>; <paramref name="other"/> feeds splices.</summary>
    public static byte[] Havoc(Random r, byte[] data, byte[]? other = null, int maxRounds = 4)
    {
        var b = new List<byte>(data);
        int rounds = 1 + r.Next(maxRounds);
        for (int k = 0; k < rounds; k++)
        {
            int n = b.Count;
            switch (r.Next(n == 0 ? 2 : 11))
            {
                case 0:   // insert random bytes
                    b.InsertRange(r.Next(n + 1), Random(r, 1 + r.Next(Chance(r, 0.9) ? 8 : 200)));
                    break;
                case 1:   // append a copy of some other input
                    var src = other ?? data;
                    if (src.Length > 0) { int at = r.Next(src.Length); b.AddRange(src.AsSpan(at, 1 + r.Next(src.Length - at)).ToArray()); }
                    break;
                case 2: { int at = r.Next(n); b[at] ^= (byte)(1 << r.Next(8)); break; }
                case 3: b[r.Next(n)] = (byte)r.Next(256); break;
                case 4:   // an interesting integer, 1, 2, 4 or 8 bytes, either byte order
                {
                    int width = 1 << r.Next(4);
                    if (n < width) break;
                    int at = r.Next(n - width + 1);
                    var span = new byte[8];
                    if (Chance(r, 0.5)) BinaryPrimitives.WriteInt64LittleEndian(span, InterestingValue(r));
                    else { BinaryPrimitives.WriteInt64BigEndian(span, InterestingValue(r)); span = span[(8 - width)..]; }
                    for (int i = 0; i < width; i++) b[at + i] = span[i];
                    break;
                }
                case 5: { int at = r.Next(n); b.RemoveRange(at, Math.Min(n - at, 1 + r.Next(Chance(r, 0.8) ? 4 : 64))); break; }
                case 6: { int at = r.Next(n); b.RemoveRange(at, n - at); break; }   // truncate (possibly to nothing)
                case 7:   // duplicate a block
                {
                    int at = r.Next(n), len = Math.Min(n - at, 1 + r.Next(32));
                    b.InsertRange(r.Next(n + 1), b.GetRange(at, len));
                    break;
                }
                case 8: { int at = r.Next(n); b[at] = (byte)(b[at] + r.Next(-16, 17)); break; }
                case 9:   // splice: our head, another input's tail
                {
                    var o = other ?? data;
                    if (o.Length == 0) break;
                    int cut = r.Next(n), from = r.Next(o.Length);
                    b.RemoveRange(cut, n - cut);
                    b.AddRange(o.AsSpan(from).ToArray());
                    break;
                }
                default:  // overwrite a block with one byte value
                {
                    int at = r.Next(n), len = Math.Min(n - at, 1 + r.Next(16));
                    byte v = (byte)Pick(r, [0, 0xFF, 0x7F, 0x80, r.Next(256)]);
                    for (int i = 0; i < len; i++) b[at + i] = v;
                    break;
                }
            }
        }
        return [.. b];
    }

    /// <summary>Character-level havoc on text: insert, delete or replace characters, favouring the ones that structure it.</summary>
    public static string TextHavoc(Random r, string s, string structural, int maxRounds = 3)
    {
        var sb = new StringBuilder(s);
        int rounds = 1 + r.Next(maxRounds);
        for (int k = 0; k < rounds; k++)
        {
            char c = Chance(r, 0.7) ? structural[r.Next(structural.Length)] : (char)r.Next(Chance(r, 0.9) ? 128 : 0xFFFF);
            int n = sb.Length;
            switch (n == 0 ? 0 : r.Next(4))
            {
                case 0: sb.Insert(r.Next(n + 1), c); break;
                case 1: sb.Remove(r.Next(n), 1); break;
                case 2: sb[r.Next(n)] = c; break;
                default: { int at = r.Next(n); sb.Remove(at, Math.Min(n - at, 1 + r.Next(8))); break; }
            }
        }
        return sb.ToString();
    }

    public static byte[] Random(Random r, int n)
    {
        var b = new byte[n];
        r.NextBytes(b);
        return b;
    }

    public static string Number(Random r) => Chance(r, 0.7) ? Pick(r, NumberTexts)
        : Chance(r, 0.5) ? r.Next(-5, 300).ToString(CultureInfo.InvariantCulture)
        : (r.NextDouble() * Math.Pow(10, r.Next(-5, 6)) * (Chance(r, 0.2) ? -1 : 1)).ToString("R", CultureInfo.InvariantCulture);

    public static byte[] Gzip(ReadOnlySpan<byte> data)
    {
        using var ms = new MemoryStream();
        using (var z = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) z.Write(data);
        return ms.ToArray();
    }

    /// <summary>
    /// A gzip member whose deflate data is stored blocks (RFC 1951 BTYPE 00): valid gzip at the cost of a copy and a
    /// CRC, where compressing costs a deflater's setup per case.
    /// </summary>
    public static byte[] GzipStored(ReadOnlySpan<byte> data)
    {
        var o = new List<byte>(data.Length + 32) { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255 };
        int at = 0;
        do
        {
            int n = Math.Min(65535, data.Length - at);
            o.Add((byte)(at + n == data.Length ? 1 : 0));
            o.AddRange([(byte)n, (byte)(n >> 8), (byte)~n, (byte)(~n >> 8)]);
            o.AddRange(data.Slice(at, n));
            at += n;
        }
        while (at < data.Length);
        var tail = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(tail, Images.Crc32.Of(data));
        BinaryPrimitives.WriteInt32LittleEndian(tail.AsSpan(4), data.Length);
        o.AddRange(tail);
        return [.. o];
    }

    public static byte[] Zlib(ReadOnlySpan<byte> data)
    {
        using var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Fastest, leaveOpen: true)) z.Write(data);
        return ms.ToArray();
    }

    /// <summary>Inflates zlib data, or null when it is not whole.</summary>
    public static byte[]? Unzlib(byte[] data)
    {
        try
        {
            using var z = new ZLibStream(new MemoryStream(data), CompressionMode.Decompress);
            using var o = new MemoryStream();
            z.CopyTo(o);
            return o.ToArray();
        }
        catch (InvalidDataException) { return null; }
    }
}
