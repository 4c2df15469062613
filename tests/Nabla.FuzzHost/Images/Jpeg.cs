using System.Buffers.Binary;
using System.Text;

namespace Nabla.FuzzHost.Images;

/// <summary>
/// JPEG as its marker segments and the entropy-coded scan: SOF sizes, precision, components and sampling, the process
/// (baseline, progressive, lossless, arithmetic), DQT, DHT, SOS, DRI and restart markers, APP segments carrying EXIF and
/// ICC, the scan itself; each segment's length is written back, so the decoder reads past the markers.
/// </summary>
internal static class Jpeg
{
    private sealed record Segment(byte Marker, byte[] Data);

    private static (List<Segment> Head, byte[] Scan)? Parse(byte[] f)
    {
        if (f.Length < 4 || f[0] != 0xFF || f[1] != 0xD8) return null;
        var head = new List<Segment>();
        int at = 2;
        while (at + 4 <= f.Length && f[at] == 0xFF)
        {
            byte m = f[at + 1];
            int len = BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(at + 2));
            if (len < 2 || at + 2 + len > f.Length) return null;
            head.Add(new Segment(m, f.AsSpan(at + 4, len - 2).ToArray()));
            at += 2 + len;
            if (m == 0xDA)
            {
                int end = f.AsSpan(at).LastIndexOf([(byte)0xFF, (byte)0xD9]);
                return (head, f.AsSpan(at, end < 0 ? f.Length - at : end).ToArray());
            }
        }
        return null;
    }

    private static byte[] Write(List<Segment> head, byte[] scan, bool eoi)
    {
        var o = new List<byte> { 0xFF, 0xD8 };
        foreach (var s in head)
        {
            o.Add(0xFF);
            o.Add(s.Marker);
            int len = Math.Min(s.Data.Length + 2, 0xFFFF);
            o.Add((byte)(len >> 8));
            o.Add((byte)len);
            o.AddRange(s.Data.AsSpan(0, len - 2).ToArray());
        }
        o.AddRange(scan);
        if (eoi) { o.Add(0xFF); o.Add(0xD9); }
        return [.. o];
    }

    private static bool IsSof(byte m) => m is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC);

    public static byte[] Mutate(Random r, byte[] seed, List<string> done)
    {
        var parsed = Parse(seed);
        if (parsed is null) return Mut.Havoc(r, seed);
        var (head, scan) = parsed.Value;
        bool eoi = true;
        int sof = head.FindIndex(s => IsSof(s.Marker));
        int Find(byte marker) => head.FindIndex(s => s.Marker == marker);
        switch (r.Next(10))
        {
            case 0 or 1 when sof >= 0 && head[sof].Data.Length >= 6:
            {
                var d = head[sof].Data;
                switch (r.Next(6))
                {
                    case 5: BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(1), 65535); BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(3), (ushort)Mut.Pick(r, [976, 977, 1000, 65535])); break;
                    case 0: BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(1), (ushort)(Mut.Chance(r, 0.7) ? r.Next(0, 80) : Mut.InterestingValue(r))); break;
                    case 1: BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(3), (ushort)(Mut.Chance(r, 0.7) ? r.Next(0, 80) : Mut.InterestingValue(r))); break;
                    case 2: d[0] = (byte)Mut.Pick(r, [8, 12, 16, 0, 255]); break;
                    case 3: d[5] = (byte)Mut.Pick(r, [0, 1, 2, 3, 4, 255]); break;
                    default: if (d.Length >= 9) d[6 + 3 * r.Next((d.Length - 6) / 3) + r.Next(1, 3)] = (byte)(Mut.Chance(r, 0.7) ? (r.Next(1, 5) << 4) | r.Next(1, 5) : r.Next(256)); break;
                }
                done.Add("sof");
                break;
            }
            case 2 when sof >= 0:
                head[sof] = head[sof] with { Marker = Mut.Pick(r, new byte[] { 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCF }) };
                done.Add("process");
                break;
            case 3:
            {
                int at = Mut.Chance(r, 0.5) ? Find(0xDB) : Mut.Chance(r, 0.5) ? Find(0xC4) : Find(0xDA);
                if (at < 0 || head[at].Data.Length == 0) break;
                var d = head[at].Data;
                for (int k = 1 + r.Next(3); k > 0; k--) d[Mut.Chance(r, 0.3) ? 0 : r.Next(d.Length)] = (byte)r.Next(256);
                if (Mut.Chance(r, 0.2)) head[at] = head[at] with { Data = d[..r.Next(d.Length)] };
                done.Add(head[at].Marker switch { 0xDB => "dqt", 0xC4 => "dht", _ => "sos" });
                break;
            }
            case 4:
            {
                // Restart intervals, and restart markers dropped into the scan where they may or may not be expected.
                head.Insert(Math.Max(0, head.Count - 1), new Segment(0xDD, [(byte)r.Next(3), (byte)r.Next(256)]));
                var s = new List<byte>(scan);
                for (int k = r.Next(0, 4); k > 0 && s.Count > 0; k--) s.InsertRange(r.Next(s.Count), [0xFF, (byte)(0xD0 + r.Next(8))]);
                scan = [.. s];
                done.Add("restart");
                break;
            }
            case 5:
                scan = Mut.Chance(r, 0.6) ? Mut.Havoc(r, scan, null, 3) : scan[..r.Next(scan.Length + 1)];
                done.Add("scan");
                break;
            case 6 when head.Count > 1:
            {
                int a = r.Next(head.Count - 1), b = r.Next(head.Count - 1);
                switch (r.Next(3))
                {
                    case 0: head.RemoveAt(a); break;
                    case 1: head.Insert(b, head[a]); break;
                    default: (head[a], head[b]) = (head[b], head[a]); break;
                }
                done.Add("segments");
                break;
            }
            case 7:
            {
                var (marker, data) = r.Next(3) switch
                {
                    0 => ((byte)0xE1, (byte[])[.. "Exif\0\0"u8, .. Tiff.Make(r)]),
                    1 => ((byte)0xE2, [.. "ICC_PROFILE\0"u8, (byte)(Mut.Chance(r, 0.9) ? 1 : r.Next(256)), (byte)(Mut.Chance(r, 0.9) ? 1 : r.Next(256)), .. Icc.Make(r)]),
                    _ => ((byte)0xEE, [.. "Adobe"u8, 0, 100, 0, 0, 0, 0, (byte)r.Next(4)]),
                };
                head.Insert(0, new Segment(marker, data));
                done.Add("app");
                break;
            }
            case 8:
                eoi = false;
                if (Mut.Chance(r, 0.5)) scan = [.. scan, 0xFF, 0xD8, .. Mut.Random(r, r.Next(0, 16))];
                done.Add("eoi");
                break;
            default:
            {
                var b = Mut.Havoc(r, Write(head, scan, eoi), null, 2);
                done.Add("havoc");
                return b;
            }
        }
        return Write(head, scan, eoi);
    }
}

/// <summary>WebP as RIFF chunks (VP8, VP8L, VP8X with ICCP, EXIF, ALPH, ANIM): chunk and RIFF sizes written back after a mutation.</summary>
internal static class Webp
{
    private sealed record Chunk(string Type, byte[] Data);

    private static List<Chunk>? Parse(byte[] f)
    {
        if (f.Length < 12 || Encoding.ASCII.GetString(f, 0, 4) != "RIFF" || Encoding.ASCII.GetString(f, 8, 4) != "WEBP") return null;
        var chunks = new List<Chunk>();
        for (int at = 12; at + 8 <= f.Length;)
        {
            int size = BinaryPrimitives.ReadInt32LittleEndian(f.AsSpan(at + 4));
            if (size < 0 || at + 8 + size > f.Length) return null;
            chunks.Add(new Chunk(Encoding.ASCII.GetString(f, at, 4), f.AsSpan(at + 8, size).ToArray()));
            at += 8 + size + (size & 1);
        }
        return chunks;
    }

    private static byte[] Write(List<Chunk> chunks)
    {
        var o = new List<byte>();
        o.AddRange("RIFF"u8.ToArray());
        o.AddRange(new byte[4]);
        o.AddRange("WEBP"u8.ToArray());
        foreach (var c in chunks)
        {
            o.AddRange(Encoding.ASCII.GetBytes(c.Type.PadRight(4)[..4]));
            var size = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(size, c.Data.Length);
            o.AddRange(size);
            o.AddRange(c.Data);
            if ((c.Data.Length & 1) != 0) o.Add(0);
        }
        var b = o.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), b.Length - 8);
        return b;
    }

    public static byte[] Mutate(Random r, byte[] seed, List<string> done)
    {
        var chunks = Parse(seed);
        if (chunks is null || chunks.Count == 0) return Mut.Havoc(r, seed);
        int image = chunks.FindIndex(c => c.Type is "VP8 " or "VP8L");
        switch (r.Next(5))
        {
            case 0 when image >= 0:
            {
                // The frame's own width and height fields: 14 bits each, at bytes 6-9 of VP8, in the bit-packed header of VP8L.
                var d = chunks[image].Data;
                if (chunks[image].Type == "VP8 " && d.Length >= 10)
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(6), (ushort)(Mut.Chance(r, 0.7) ? r.Next(0, 80) : r.Next(65536)));
                    BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(8), (ushort)(Mut.Chance(r, 0.7) ? r.Next(0, 80) : r.Next(65536)));
                }
                else if (d.Length >= 5)
                    BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(1), (uint)(Mut.Chance(r, 0.7) ? (r.Next(0, 80) | r.Next(0, 80) << 14) : r.Next()) | (BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(1)) & 0xF0000000u));
                done.Add("frame-size");
                break;
            }
            case 1 when image >= 0:
                chunks[image] = chunks[image] with { Data = Mut.Havoc(r, chunks[image].Data, null, 3) };
                done.Add("bitstream");
                break;
            case 2:
            {
                // The extended format: canvas size, flags, and the chunks they announce.
                var x = new byte[10];
                x[0] = (byte)(Mut.Chance(r, 0.7) ? 0x20 | 0x08 | 0x10 : r.Next(256));
                int w = Mut.Chance(r, 0.7) ? r.Next(0, 64) : r.Next(1 << 24), h = Mut.Chance(r, 0.7) ? r.Next(0, 64) : r.Next(1 << 24);
                x[4] = (byte)w; x[5] = (byte)(w >> 8); x[6] = (byte)(w >> 16);
                x[7] = (byte)h; x[8] = (byte)(h >> 8); x[9] = (byte)(h >> 16);
                chunks.RemoveAll(c => c.Type == "VP8X");
                chunks.Insert(0, new Chunk("VP8X", x));
                string extra = Mut.Pick(r, ["ICCP", "EXIF", "ALPH", "ANIM", "ANMF", "XMP "]);
                byte[] data = extra switch { "ICCP" => Icc.Make(r), "EXIF" => Tiff.Make(r), _ => Mut.Random(r, r.Next(0, 64)) };
                chunks.Insert(extra == "ALPH" ? Math.Max(1, chunks.Count - 1) : 1, new Chunk(extra, data));
                done.Add("vp8x-" + extra.Trim());
                break;
            }
            case 3 when chunks.Count > 1:
                chunks.RemoveAt(r.Next(chunks.Count));
                done.Add("chunk-");
                break;
            default:
            {
                var b = Write(chunks);
                done.Add("havoc");
                return Mut.Chance(r, 0.5) ? Mut.Havoc(r, b, null, 2) : b[..r.Next(b.Length)];
            }
        }
        return Write(chunks);
    }
}
