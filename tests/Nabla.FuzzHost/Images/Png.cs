using System.Buffers.Binary;
using System.Text;

namespace Nabla.FuzzHost.Images;

/// <summary>
/// PNG as a list of chunks: written back with each length and CRC-32 recomputed, so that a mutated IHDR, IDAT or
/// ancillary chunk reaches the decoder instead of failing its CRC check.
/// </summary>
internal static class Png
{
    public static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];

    public sealed record Chunk(string Type, byte[] Data);

    /// <summary>Width × height at and around <see cref="Nabla.Imaging.ImageFolder.MaxPixels"/> and the formats' own limits.</summary>
    public static readonly (int W, int H)[] Big = [(8000, 8000), (8001, 8000), (1, 64_000_000), (64_000_000, 1), (65535, 65535), (1_000_000, 1), (16384, 3906)];

    /// <summary>(depth, colour type) pairs the format allows.</summary>
    private static readonly (int Depth, int Type)[] Formats =
        [(1, 0), (2, 0), (4, 0), (8, 0), (16, 0), (8, 2), (16, 2), (1, 3), (2, 3), (4, 3), (8, 3), (8, 4), (16, 4), (8, 6), (16, 6)];

    public static List<Chunk>? Parse(byte[] file)
    {
        if (file.Length < 8 || !file.AsSpan(0, 8).SequenceEqual(Signature)) return null;
        var chunks = new List<Chunk>();
        for (int at = 8; at + 12 <= file.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(at));
            if (length < 0 || at + 12 + length > file.Length) return null;
            chunks.Add(new Chunk(Encoding.ASCII.GetString(file, at + 4, 4), file.AsSpan(at + 8, length).ToArray()));
            at += 12 + length;
        }
        return chunks;
    }

    public static byte[] Write(IEnumerable<Chunk> chunks)
    {
        var o = new List<byte>(Signature);
        foreach (var c in chunks)
        {
            var head = new byte[8];
            BinaryPrimitives.WriteInt32BigEndian(head, c.Data.Length);
            Encoding.ASCII.GetBytes(c.Type.PadRight(4)[..4]).CopyTo(head, 4);
            o.AddRange(head);
            o.AddRange(c.Data);
            var crc = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.Of(head.AsSpan(4), c.Data));
            o.AddRange(crc);
        }
        return [.. o];
    }

    private static int Channels(int type) => type switch { 0 or 3 => 1, 2 => 3, 4 => 2, 6 => 4, _ => 1 };

    /// <summary>Filtered scanlines (a filter byte per row, mostly a valid one) of random pixels for the format.</summary>
    private static byte[] Raw(Random r, int w, int h, int depth, int type, int paletteSize)
    {
        int row = (w * Channels(type) * depth + 7) / 8;
        var raw = Mut.Random(r, h * (row + 1));
        for (int y = 0; y < h; y++)
        {
            raw[y * (row + 1)] = (byte)(Mut.Chance(r, 0.97) ? r.Next(5) : r.Next(256));
            if (type == 3 && depth == 8 && Mut.Chance(r, 0.9))   // palette indices mostly inside the palette
                for (int x = 0; x < row; x++) raw[y * (row + 1) + 1 + x] %= (byte)Math.Max(1, paletteSize);
        }
        return raw;
    }

    private static byte[] Ihdr(int w, int h, int depth, int type, int interlace = 0)
    {
        var d = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(d, w);
        BinaryPrimitives.WriteInt32BigEndian(d.AsSpan(4), h);
        d[8] = (byte)depth;
        d[9] = (byte)type;
        d[12] = (byte)interlace;
        return d;
    }

    /// <summary>A whole, valid PNG of a random format (palettes and tRNS included), as a seed or a consistent rewrite.</summary>
    public static byte[] Make(Random r, int w, int h, int depth, int type)
    {
        var chunks = new List<Chunk> { new("IHDR", Ihdr(w, h, depth, type)) };
        int palette = type == 3 ? r.Next(1, Math.Min(256, 1 << depth) + 1) : 0;
        if (type == 3) chunks.Add(new("PLTE", Mut.Random(r, 3 * palette)));
        if (type is 0 or 2 or 3 && Mut.Chance(r, 0.3)) chunks.Add(new("tRNS", Mut.Random(r, type == 0 ? 2 : type == 2 ? 6 : r.Next(1, palette + 1))));
        chunks.Add(new("IDAT", Mut.Zlib(Raw(r, w, h, depth, type, palette))));
        chunks.Add(new("IEND", []));
        return Write(chunks);
    }

    public static byte[] Mutate(Random r, byte[] seed, List<string> done)
    {
        var chunks = Parse(seed);
        if (chunks is null || chunks.Count == 0 || chunks[0].Type != "IHDR" || chunks[0].Data.Length != 13) return Mut.Havoc(r, seed);
        var ihdr = chunks[0].Data;
        int w = BinaryPrimitives.ReadInt32BigEndian(ihdr), h = BinaryPrimitives.ReadInt32BigEndian(ihdr.AsSpan(4)), depth = ihdr[8], type = ihdr[9];
        int idat = chunks.FindIndex(c => c.Type == "IDAT");
        switch (r.Next(10))
        {
            case 0:
            {
                int field = r.Next(5);
                if (Mut.Chance(r, 0.1))
                {
                    // Sizes at the decoder's limit: the whole image is allocated before the (short) data runs out.
                    var (bw, bh) = Mut.Pick(r, Big);
                    BinaryPrimitives.WriteInt32BigEndian(ihdr, bw);
                    BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), bh);
                    done.Add("ihdr-big");
                    break;
                }
                if (field < 2)
                    BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4 * field), Mut.Chance(r, 0.7) ? r.Next(0, 70) : (int)Mut.InterestingValue(r));
                else ihdr[8 + Mut.Pick(r, [0, 1, 4, 2, 3])] = (byte)Mut.Pick(r, [0, 1, 2, 3, 4, 6, 7, 8, 16, r.Next(256)]);
                done.Add("ihdr");
                break;
            }
            case 1:
            {
                var (d, t) = Mut.Pick(r, Formats);
                done.Add($"format-{d}-{t}");
                var remade = Parse(Make(r, r.Next(1, 40), r.Next(1, 40), d, t))!;
                if (Mut.Chance(r, 0.2)) remade[0].Data[12] = 1;   // Adam7 over data laid out without it
                return Write(remade);
            }
            case 2 when idat >= 0:
            {
                // Inflate, damage the scanlines (filter bytes, values, length), deflate: the decoder's body sees it.
                var raw = Mut.Unzlib([.. chunks.Where(c => c.Type == "IDAT").SelectMany(c => c.Data)]) ?? [];
                raw = Mut.Chance(r, 0.5) && raw.Length > 0 ? Mut.Havoc(r, raw, null, 3) : raw;
                int row = (Math.Clamp(w, 0, 1 << 16) * Channels(type) * depth + 7) / 8 + 1;
                if (Mut.Chance(r, 0.4) && raw.Length > 0) raw[row * r.Next(Math.Max(1, raw.Length / Math.Max(1, row))) % raw.Length] = (byte)r.Next(5, 256);
                chunks.RemoveAll(c => c.Type == "IDAT");
                chunks.Insert(Math.Min(idat, chunks.Count), new("IDAT", Mut.Zlib(raw)));
                done.Add("scanlines");
                break;
            }
            case 3 when idat >= 0:
                chunks[idat] = new("IDAT", Mut.Havoc(r, chunks[idat].Data, null, 2));
                done.Add("deflate");
                break;
            case 4:
            {
                string kind = Mut.Pick(r, ["PLTE", "tRNS", "gAMA", "cHRM", "sRGB", "sBIT", "bKGD", "pHYs", "tEXt", "zTXt", "iTXt", "acTL", "fcTL", "abCd", "ABCD", "IEND", "IHDR", "IDAT"]);
                int size = kind switch { "gAMA" or "sRGB" => Mut.Chance(r, 0.8) ? (kind == "gAMA" ? 4 : 1) : r.Next(0, 9), "cHRM" => 32, "acTL" => 8, "fcTL" => 26, _ => r.Next(0, 800) };
                chunks.Insert(1 + r.Next(chunks.Count), new(kind, Mut.Random(r, size)));
                done.Add("chunk+" + kind);
                break;
            }
            case 5 when chunks.Count > 1:
            {
                int a = r.Next(chunks.Count), b = r.Next(chunks.Count);
                switch (r.Next(3))
                {
                    case 0: chunks.RemoveAt(a); break;
                    case 1: chunks.Insert(b, chunks[a]); break;
                    default: (chunks[a], chunks[b]) = (chunks[b], chunks[a]); break;
                }
                done.Add("chunk-order");
                break;
            }
            case 6 when idat >= 0:
            {
                var z = chunks[idat].Data;
                chunks.RemoveAt(idat);
                int parts = r.Next(2, 6);
                for (int p = parts - 1; p >= 0; p--)
                    chunks.Insert(idat, new("IDAT", z[(z.Length * p / parts)..(z.Length * (p + 1) / parts)]));
                done.Add("idat-split");
                break;
            }
            case 7:
            {
                var profile = Icc.Make(r);
                chunks.Insert(1, new("iCCP", [.. "icc"u8, 0, 0, .. (Mut.Chance(r, 0.9) ? Mut.Zlib(profile) : profile)]));
                done.Add("iccp");
                break;
            }
            case 8:
                chunks.Insert(1 + r.Next(chunks.Count - 1), new("eXIf", Tiff.Make(r)));
                done.Add("exif");
                break;
            default:
            {
                var b = Mut.Havoc(r, Write(chunks), null, 2);
                done.Add("havoc");
                return Mut.Chance(r, 0.5) ? b : b[..Math.Max(0, b.Length - r.Next(1, 20))];
            }
        }
        return Write(chunks);
    }
}

/// <summary>The CRC-32 of PNG, gzip and zlib (reflected, polynomial 0xEDB88320).</summary>
internal static class Crc32
{
    private static readonly uint[] Table = [.. Enumerable.Range(0, 256).Select(i =>
    {
        uint c = (uint)i;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    })];

    public static uint Of(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b = default)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte x in a) crc = Table[(crc ^ x) & 0xFF] ^ (crc >> 8);
        foreach (byte x in b) crc = Table[(crc ^ x) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }
}

/// <summary>ICC profiles (which Skia parses from PNG, JPEG and WebP): a header and tag table, with XYZ, curv and para tags, fields at the edges.</summary>
internal static class Icc
{
    public static byte[] Make(Random r)
    {
        var tags = new List<(string Sig, byte[] Data)>();
        foreach (string s in new[] { "rXYZ", "gXYZ", "bXYZ", "wtpt" })
            if (Mut.Chance(r, 0.9)) tags.Add((s, [.. "XYZ "u8, 0, 0, 0, 0, .. Mut.Random(r, 12)]));
        foreach (string s in new[] { "rTRC", "gTRC", "bTRC", "kTRC" })
            if (Mut.Chance(r, 0.8)) tags.Add((s, Curve(r)));
        if (Mut.Chance(r, 0.2)) tags.Add((Mut.Pick(r, ["A2B0", "B2A0", "chad"]), [.. Encoding.ASCII.GetBytes(Mut.Pick(r, ["mAB ", "mBA ", "mft2", "sf32"])), 0, 0, 0, 0, .. Mut.Random(r, r.Next(0, 200))]));
        int table = 128 + 4 + 12 * tags.Count;
        var o = new byte[table + tags.Sum(t => t.Data.Length + 3 & ~3)];
        "appl"u8.CopyTo(o.AsSpan(4));
        BinaryPrimitives.WriteUInt32BigEndian(o.AsSpan(8), Mut.Pick(r, [0x04300000u, 0x02100000u, 0x05000000u]));
        Encoding.ASCII.GetBytes(Mut.Pick(r, ["mntr", "scnr", "link", "abst"])).CopyTo(o, 12);
        Encoding.ASCII.GetBytes(Mut.Pick(r, ["RGB ", "RGB ", "GRAY", "CMYK", "Lab "])).CopyTo(o, 16);
        Encoding.ASCII.GetBytes(Mut.Pick(r, ["XYZ ", "XYZ ", "Lab "])).CopyTo(o, 20);
        "acsp"u8.CopyTo(o.AsSpan(36));
        BinaryPrimitives.WriteInt32BigEndian(o.AsSpan(128), Mut.Chance(r, 0.9) ? tags.Count : (int)Mut.InterestingValue(r));
        int at = table;
        for (int i = 0; i < tags.Count; i++)
        {
            var e = o.AsSpan(132 + 12 * i);
            Encoding.ASCII.GetBytes(tags[i].Sig).CopyTo(e);
            BinaryPrimitives.WriteInt32BigEndian(e[4..], Mut.Chance(r, 0.93) ? at : (int)Mut.InterestingValue(r));
            BinaryPrimitives.WriteInt32BigEndian(e[8..], Mut.Chance(r, 0.93) ? tags[i].Data.Length : (int)Mut.InterestingValue(r));
            tags[i].Data.CopyTo(o, at);
            at += tags[i].Data.Length + 3 & ~3;
        }
        BinaryPrimitives.WriteInt32BigEndian(o, Mut.Chance(r, 0.9) ? o.Length : (int)Mut.InterestingValue(r));
        return Mut.Chance(r, 0.15) ? Mut.Havoc(r, o, null, 2) : o;
    }

    private static byte[] Curve(Random r)
    {
        if (Mut.Chance(r, 0.5))
        {
            int n = Mut.Pick(r, [0, 1, 2, 16, 256, 4096]);
            var c = new byte[12 + 2 * n];
            "curv"u8.CopyTo(c);
            BinaryPrimitives.WriteInt32BigEndian(c.AsSpan(8), Mut.Chance(r, 0.9) ? n : (int)Mut.InterestingValue(r));
            for (int i = 0; i < n; i++) BinaryPrimitives.WriteUInt16BigEndian(c.AsSpan(12 + 2 * i), (ushort)(Mut.Chance(r, 0.8) ? i * 65535 / Math.Max(1, n - 1) : r.Next(65536)));
            return c;
        }
        int type = Mut.Chance(r, 0.9) ? r.Next(5) : r.Next(65536);
        int count = type switch { 0 => 1, 1 => 3, 2 => 4, 3 => 5, 4 => 7, _ => r.Next(8) };
        var p = new byte[12 + 4 * count];
        "para"u8.CopyTo(p);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(8), (ushort)type);
        for (int i = 0; i < count; i++) BinaryPrimitives.WriteInt32BigEndian(p.AsSpan(12 + 4 * i), Mut.Chance(r, 0.7) ? r.Next(0, 0x40000) : (int)Mut.InterestingValue(r));
        return p;
    }
}

/// <summary>A TIFF structure as EXIF holds it (PNG eXIf, JPEG APP1, WebP EXIF): an orientation entry, counts and offsets at the edges, IFD chains that loop.</summary>
internal static class Tiff
{
    public static byte[] Make(Random r)
    {
        bool little = Mut.Chance(r, 0.5);
        var o = new byte[8 + 2 + 12 * 4 + 4 + 32];
        void U16(int at, int v) { if (little) BinaryPrimitives.WriteUInt16LittleEndian(o.AsSpan(at), (ushort)v); else BinaryPrimitives.WriteUInt16BigEndian(o.AsSpan(at), (ushort)v); }
        void U32(int at, long v) { if (little) BinaryPrimitives.WriteUInt32LittleEndian(o.AsSpan(at), (uint)v); else BinaryPrimitives.WriteUInt32BigEndian(o.AsSpan(at), (uint)v); }
        o[0] = o[1] = (byte)(little ? 'I' : 'M');
        U16(2, 42);
        U32(4, Mut.Chance(r, 0.9) ? 8 : Mut.InterestingValue(r));
        int n = Mut.Chance(r, 0.9) ? r.Next(1, 5) : (int)(ushort)Mut.InterestingValue(r);
        U16(8, n);
        for (int i = 0; i < 4; i++)
        {
            int e = 10 + 12 * i;
            U16(e, i == 0 ? 0x0112 : Mut.Pick(r, [0x0112, 0x8769, 0xA002, 0xA003, 0x0100, r.Next(65536)]));
            U16(e + 2, Mut.Chance(r, 0.8) ? 3 : r.Next(0, 14));
            U32(e + 4, Mut.Chance(r, 0.8) ? 1 : Mut.InterestingValue(r));
            U32(e + 8, Mut.Chance(r, 0.7) ? (little ? r.Next(0, 10) : r.Next(0, 10) << 16) : Mut.InterestingValue(r));
        }
        U32(10 + 48, Mut.Pick(r, [0L, 0L, 8L, Mut.InterestingValue(r)]));   // next IFD: none, itself, anywhere
        return Mut.Chance(r, 0.1) ? Mut.Havoc(r, o, null, 2) : o;
    }
}
