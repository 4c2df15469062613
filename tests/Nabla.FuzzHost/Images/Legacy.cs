using System.Buffers.Binary;

namespace Nabla.FuzzHost.Images;

/// <summary>
/// BMP written by hand (Skia decodes BMP but does not encode it): 1-, 4-, 8-, 16-, 24- and 32-bit, palettes, top-down
/// rows, BITFIELDS masks and RLE4/RLE8 streams; mutations patch the header fields or remake the file in another layout.
/// </summary>
internal static class Bmp
{
    private static readonly (int Bpp, int Compression)[] Layouts = [(1, 0), (4, 0), (8, 0), (16, 0), (24, 0), (32, 0), (16, 3), (32, 3), (8, 1), (4, 2)];

    public static byte[] Make(Random r, int w, int h, int bpp, int compression, bool topDown)
    {
        int colors = bpp <= 8 ? 1 << bpp : 0, masks = compression == 3 ? 12 : 0;
        byte[] pixels = compression is 1 or 2 ? Rle(r, w, h, compression == 2) : Mut.Random(r, ((w * bpp + 31) / 32) * 4 * h);
        int offset = 14 + 40 + masks + 4 * colors;
        var o = new byte[offset + pixels.Length];
        o[0] = (byte)'B';
        o[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(o.AsSpan(2), o.Length);
        BinaryPrimitives.WriteInt32LittleEndian(o.AsSpan(10), offset);
        BinaryPrimitives.WriteInt32LittleEndian(o.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(o.AsSpan(18), w);
        BinaryPrimitives.WriteInt32LittleEndian(o.AsSpan(22), topDown ? -h : h);
        BinaryPrimitives.WriteInt16LittleEndian(o.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(o.AsSpan(28), (short)bpp);
        BinaryPrimitives.WriteInt32LittleEndian(o.AsSpan(30), compression);
        BinaryPrimitives.WriteInt32LittleEndian(o.AsSpan(34), pixels.Length);
        if (masks > 0)
        {
            uint[] m = bpp == 16 ? [0xF800, 0x07E0, 0x001F] : [0x00FF0000, 0x0000FF00, 0x000000FF];
            for (int i = 0; i < 3; i++) BinaryPrimitives.WriteUInt32LittleEndian(o.AsSpan(54 + 4 * i), m[i]);
        }
        r.NextBytes(o.AsSpan(54 + masks, 4 * colors));
        pixels.CopyTo(o, offset);
        return o;
    }

    /// <summary>A run-length stream: runs, absolute runs (padded to words), deltas, end-of-line and end-of-bitmap escapes.</summary>
    private static byte[] Rle(Random r, int w, int h, bool four)
    {
        var o = new List<byte>();
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w;)
            {
                int n = Math.Min(w - x, r.Next(1, 8));
                if (Mut.Chance(r, 0.7)) { o.Add((byte)n); o.Add((byte)r.Next(256)); }
                else if (n >= 3)
                {
                    int bytes = four ? (n + 1) / 2 : n;
                    o.Add(0); o.Add((byte)n);
                    o.AddRange(Mut.Random(r, bytes));
                    if ((bytes & 1) != 0) o.Add(0);
                }
                else { o.Add((byte)n); o.Add(0); }
                x += n;
            }
            if (Mut.Chance(r, 0.05)) { o.Add(0); o.Add(2); o.Add((byte)r.Next(4)); o.Add((byte)r.Next(2)); }
            o.Add(0); o.Add(0);
        }
        o.Add(0); o.Add(1);
        return [.. o];
    }

    public static byte[] Mutate(Random r, byte[] seed, List<string> done)
    {
        if (seed.Length < 54) return Mut.Havoc(r, seed);
        var b = (byte[])seed.Clone();
        switch (r.Next(4))
        {
            case 0 when Mut.Chance(r, 0.04):   // rare: each allocates and fills a 256 MB bitmap
            {
                var (w, h) = Mut.Pick(r, Png.Big);
                BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(18), w);
                BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(22), Mut.Chance(r, 0.5) ? h : -h);
                done.Add("bmp-big");
                return b;
            }
            case 0:
            {
                var (at, width) = Mut.Pick(r, [(2, 4), (10, 4), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2), (30, 4), (34, 4), (46, 4), (50, 4)]);
                long v = at == 28 ? Mut.Pick(r, [0, 1, 2, 4, 8, 16, 24, 32, 64, 3]) : at is 18 or 22 && Mut.Chance(r, 0.6) ? r.Next(-70, 70) : at == 14 ? Mut.Pick(r, [12, 16, 40, 52, 56, 64, 108, 124, 0, 1000]) : Mut.InterestingValue(r);
                if (width == 2) BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(at), (short)v); else BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(at), (int)v);
                done.Add("bmp-field");
                return b;
            }
            case 1:
            {
                var (bpp, compression) = Mut.Pick(r, Layouts);
                done.Add($"bmp-{bpp}-{compression}");
                return Make(r, r.Next(1, 40), r.Next(1, 40), bpp, compression, Mut.Chance(r, 0.3));
            }
            case 2:
                done.Add("bmp-pixels");
                return Mut.Chance(r, 0.5) ? b[..r.Next(54, b.Length + 1)] : [.. b[..54], .. Mut.Havoc(r, b[54..], null, 3)];
            default:
                done.Add("havoc");
                return Mut.Havoc(r, b, null, 3);
        }
    }
}

/// <summary>
/// GIF written by hand from parameters (screen, colour tables, frames with positions, interlacing, transparency, LZW
/// code size), LZW-encoded with a clear code often enough that the code width never grows; mutations change the
/// parameters (a frame outside the screen, a code size that does not match the data, broken sub-blocks) and re-encode.
/// </summary>
internal static class Gif
{
    private sealed record Frame(int Left, int Top, int W, int H, int LocalBits, bool Interlace, int CodeSize, int WrittenCodeSize, int Transparent, int Data);

    private sealed record Picture(int W, int H, int GlobalBits, List<Frame> Frames, bool Loop, bool Trailer);

    public static byte[] Make(Random r, int w, int h, int bits, int frames) =>
        Write(r, new Picture(w, h, bits, [.. Enumerable.Range(0, frames).Select(_ => new Frame(0, 0, w, h, -1, false, Math.Max(2, bits + 1), Math.Max(2, bits + 1), -1, 0))], frames > 1, true));

    private static byte[] Write(Random r, Picture p)
    {
        var o = new List<byte>("GIF89a"u8.ToArray());
        void U16(int v) { o.Add((byte)v); o.Add((byte)(v >> 8)); }
        U16(p.W);
        U16(p.H);
        o.Add((byte)(p.GlobalBits >= 0 ? 0xF0 | p.GlobalBits : 0x70));
        o.Add(0);
        o.Add(0);
        if (p.GlobalBits >= 0) o.AddRange(Mut.Random(r, 3 << (p.GlobalBits + 1)));
        if (p.Loop) o.AddRange([0x21, 0xFF, 11, .. "NETSCAPE2.0"u8, 3, 1, 0, 0, 0]);
        foreach (var f in p.Frames)
        {
            if (f.Transparent >= 0) o.AddRange([0x21, 0xF9, 4, 1, 10, 0, (byte)f.Transparent, 0]);
            o.Add(0x2C);
            U16(f.Left); U16(f.Top); U16(f.W); U16(f.H);
            o.Add((byte)((f.LocalBits >= 0 ? 0x80 | f.LocalBits : 0) | (f.Interlace ? 0x40 : 0)));
            if (f.LocalBits >= 0) o.AddRange(Mut.Random(r, 3 << (f.LocalBits + 1)));
            o.Add((byte)f.WrittenCodeSize);
            int n = Math.Clamp(f.W, 0, 4096) * Math.Clamp(f.H, 0, 4096);
            byte[] data = f.Data switch
            {
                0 => Lzw(f.CodeSize, [.. Enumerable.Range(0, Math.Min(n, 1 << 16)).Select(_ => (byte)r.Next(1 << f.CodeSize))]),
                1 => Mut.Random(r, r.Next(1, 300)),
                _ => Lzw(f.CodeSize, Mut.Random(r, Math.Min(n, 1 << 16) / 2)),
            };
            for (int at = 0; at < data.Length; at += 255)
            {
                int len = Math.Min(255, data.Length - at);
                o.Add((byte)(f.Data == 3 ? r.Next(256) : len));
                o.AddRange(data.AsSpan(at, len).ToArray());
            }
            o.Add(0);
        }
        if (p.Trailer) o.Add(0x3B);
        return [.. o];
    }

    /// <summary>LZW with the code width fixed at CodeSize+1: a clear code before the table would need a wider code.</summary>
    private static byte[] Lzw(int codeSize, byte[] pixels)
    {
        int clear = 1 << codeSize, width = codeSize + 1, perClear = Math.Max(1, (1 << width) - clear - 2);
        var o = new List<byte>();
        int acc = 0, bits = 0;
        void Code(int c)
        {
            acc |= c << bits;
            for (bits += width; bits >= 8; bits -= 8) { o.Add((byte)acc); acc >>= 8; }
        }
        Code(clear);
        int since = 0;
        foreach (byte px in pixels)
        {
            if (since == perClear) { Code(clear); since = 0; }
            Code(px & (clear - 1));
            since++;
        }
        Code(clear + 1);
        if (bits > 0) o.Add((byte)acc);
        return [.. o];
    }

    public static byte[] Mutate(Random r, byte[] seed, List<string> done)
    {
        int w = r.Next(1, 40), h = r.Next(1, 40), bits = r.Next(0, 8);
        var frames = new List<Frame>();
        for (int k = Mut.Chance(r, 0.8) ? 1 : r.Next(0, 4); k > 0; k--)
        {
            int code = Math.Max(2, bits + 1);
            var f = new Frame(0, 0, w, h, Mut.Chance(r, 0.8) ? -1 : r.Next(8), Mut.Chance(r, 0.2), code, code, Mut.Chance(r, 0.7) ? -1 : r.Next(256), 0);
            switch (r.Next(6))
            {
                case 0: f = f with { Left = r.Next(0, 60), Top = r.Next(0, 60) }; done.Add("gif-position"); break;
                case 1: f = f with { W = Mut.Chance(r, 0.5) ? 0 : r.Next(1, 70), H = Mut.Chance(r, 0.5) ? r.Next(1, 70) : (int)(ushort)Mut.InterestingValue(r) }; done.Add("gif-frame-size"); break;
                case 2: f = f with { WrittenCodeSize = Mut.Pick(r, [0, 1, 2, 8, 11, 12, 13, 255]) }; done.Add("gif-code-size"); break;
                case 3: f = f with { Data = r.Next(1, 4) }; done.Add("gif-data"); break;
                default: f = f with { CodeSize = Math.Min(8, f.CodeSize + r.Next(0, 3)), WrittenCodeSize = Math.Min(8, f.CodeSize + r.Next(0, 3)) }; done.Add("gif-codes"); break;
            }
            frames.Add(f);
        }
        if (Mut.Chance(r, 0.03)) { (w, h) = (65535, Mut.Pick(r, [976, 977, 65535])); done.Add("gif-big"); }
        var p = new Picture(Mut.Chance(r, 0.8) ? w : (int)(ushort)Mut.InterestingValue(r), Mut.Chance(r, 0.8) ? h : r.Next(0, 70),
            Mut.Chance(r, 0.85) ? bits : -1, frames, Mut.Chance(r, 0.2), Mut.Chance(r, 0.9));
        var b = Write(r, p);
        if (Mut.Chance(r, 0.2)) { done.Add("havoc"); b = Mut.Havoc(r, b, seed, 2); }
        return b;
    }
}
