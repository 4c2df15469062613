using System.Buffers.Binary;
using Nabla.Data;

namespace Nabla.FuzzHost.Targets;

/// <summary>
/// <see cref="Idx.Load(Stream, Stream, IReadOnlyList{string}?, string?, string?)"/> on an images and a labels file, raw or
/// gzipped, seekable or not → <see cref="IdxFormatException"/>. Mutations edit the magic, data type, rank, sizes (often
/// consistent but wrong: sizes with the same product, a new count with a payload to match), the payload's length, the
/// labels against a class list, and the gzip layer (trailer, members, flags), before generic havoc now and then.
/// Framing: the magic, type, rank, header length and the gzip layer; body: sizes, payload, counts, labels, acceptance.
/// </summary>
internal sealed class IdxTarget : Target
{
    /// <summary>The call's settings: how many class names are given (null: none) and whether the streams can seek.</summary>
    internal sealed record Settings(int? Classes, bool Seekable)
    {
        public override string ToString() => $"classes={Classes?.ToString() ?? "null"} seekable={Seekable}";
    }

    /// <summary>One IDX file as its parts; <see cref="Bytes"/> writes it back (gzipped when <see cref="Gzip"/>).</summary>
    private sealed class IdxFile(byte[] magic, int[] dims, byte[] payload, bool gzip)
    {
        public byte[] Magic = magic;
        public int[] Dims = dims;
        public byte[] Payload = payload;
        public bool Gzip = gzip;
        /// <summary>Gzip with stored blocks rather than compressed ones (cheaper; both are read by the same inflater).</summary>
        public bool Stored;
        public IdxFile Clone() => new([.. Magic], [.. Dims], [.. Payload], Gzip) { Stored = Stored };
        public byte[] Bytes()
        {
            var raw = new byte[4 + 4 * Dims.Length + Payload.Length];
            Magic.CopyTo(raw, 0);
            for (int d = 0; d < Dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(raw.AsSpan(4 + 4 * d), Dims[d]);
            Payload.CopyTo(raw, 4 + 4 * Dims.Length);
            if (!Gzip) return raw;
            byte[] Wrap() => Stored ? Mut.GzipStored(raw) : Mut.Gzip(raw);
            // The megabytes of zeros of the "big" mutation are wrapped once per header, not once per case.
            if (Payload.Length < 1 << 20 || Payload.AsSpan().ContainsAnyExcept((byte)0)) return Wrap();
            string key = Convert.ToHexString(raw.AsSpan(0, 4 + 4 * Dims.Length)) + "|" + Payload.Length + "|" + Stored;
            lock (Zeros) return Zeros.TryGetValue(key, out var z) ? z : Zeros[key] = Wrap();
        }

        private static readonly Dictionary<string, byte[]> Zeros = new(StringComparer.Ordinal);
    }

    private readonly List<(IdxFile Images, IdxFile Labels, int? Classes)> _seeds = [];

    public IdxTarget()
    {
        var r = new Random(3);
        foreach (var (n, h, w, gzImages, gzLabels, classes) in new (int, int, int, bool, bool, int?)[]
                 { (3, 4, 5, false, false, null), (1, 1, 1, false, false, 1), (6, 2, 3, true, true, 10), (2, 3, 3, false, true, null), (5, 7, 2, true, false, 4) })
            _seeds.Add((Images(r, n, h, w, gzImages), Labels(r, n, classes ?? 10, gzLabels), classes));
    }

    private static IdxFile Images(Random r, int n, int h, int w, bool gzip) => new([0, 0, 8, 3], [n, h, w], Mut.Random(r, n * h * w), gzip);

    private static IdxFile Labels(Random r, int n, int classes, bool gzip) =>
        new([0, 0, 8, 1], [n], [.. Enumerable.Range(0, n).Select(_ => (byte)r.Next(classes))], gzip);

    public override string Name => "idx";
    public override int SeedCount => _seeds.Count;

    public override FuzzCase Seed(int i)
    {
        var (images, labels, classes) = _seeds[i];
        return new FuzzCase(images.Bytes(), "seed", new Settings(classes, true), labels.Bytes());
    }

    public override bool IsDocumented(Exception e) => e is IdxFormatException;

    public override Stage Classify(Exception e)
    {
        string m = e.Message;
        return m.Contains("expected the IDX magic", StringComparison.Ordinal) || m.Contains("expected 0x08 (unsigned byte)", StringComparison.Ordinal)
            || m.Contains(" dimension(s) for ", StringComparison.Ordinal) || m.Contains("expected at least the 4-byte IDX magic", StringComparison.Ordinal)
            || m.Contains("ends inside the header", StringComparison.Ordinal) || m.Contains("cannot be read as gzip", StringComparison.Ordinal)
            || m.Contains("gzip stream is truncated", StringComparison.Ordinal)
            ? Stage.Framing : Stage.Body;
    }

    public override void Execute(FuzzCase c, long index)
    {
        var s = (Settings)c.Settings!;
        var names = s.Classes is { } k ? Enumerable.Range(0, k).Select(i => $"class{i}").ToArray() : null;
        using Stream images = s.Seekable ? new MemoryStream(c.Data, false) : new Forward(c.Data);
        using Stream labels = s.Seekable ? new MemoryStream(c.Extra!, false) : new Forward(c.Extra!);
        Idx.Load(images, labels, names, "images", "labels");
    }

    public override FuzzCase Mutate(Random r)
    {
        var seed = Mut.Pick(r, _seeds);
        IdxFile images = seed.Images.Clone(), labels = seed.Labels.Clone();
        images.Stored = Mut.Chance(r, 0.7);
        labels.Stored = Mut.Chance(r, 0.7);
        int? classes = seed.Classes;
        bool seekable = !Mut.Chance(r, 0.2);
        var done = new List<string>();
        int steps = 1 + r.Next(3);
        for (int s = 0; s < steps; s++)
        {
            var f = Mut.Chance(r, 0.7) ? images : labels;
            // The framing mutations (magic, type, rank, swapped files, gzip) are drawn less often than the body's.
            int kind = Mut.Chance(r, 0.25) ? Mut.Pick(r, [0, 1, 2, 8, 9]) : Mut.Pick(r, [3, 4, 5, 5, 6, 7, 10]);
            switch (kind)
            {
                case 0:
                    f.Magic[r.Next(2)] = (byte)r.Next(1, 256);
                    done.Add("magic");
                    break;
                case 1:
                    f.Magic[2] = (byte)Mut.Pick(r, [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, r.Next(256)]);
                    done.Add("type");
                    break;
                case 2:
                {
                    int rank = Mut.Pick(r, [0, 1, 2, 3, 4, 255]);
                    f.Magic[3] = (byte)rank;
                    if (Mut.Chance(r, 0.8) && rank < 8) f.Dims = [.. Enumerable.Range(0, rank).Select(d => d < f.Dims.Length ? f.Dims[d] : r.Next(1, 4))];
                    done.Add("rank");
                    break;
                }
                case 3 when f.Dims.Length > 0:
                    f.Dims[r.Next(f.Dims.Length)] = (int)Mut.InterestingValue(r);
                    done.Add("dim");
                    break;
                case 4 when f.Dims.Length == 3:
                    // The same number of values in other sizes: consistent, so it is read (and is a different dataset).
                    f.Dims = Mut.Chance(r, 0.5) ? [f.Dims[0], f.Dims[2], f.Dims[1]] : [f.Dims[0], 1, f.Dims[1] * f.Dims[2]];
                    done.Add("reshape");
                    break;
                case 5:
                {
                    // A new count with a payload to match, in one file or both.
                    int n = Mut.Chance(r, 0.1) ? 0 : r.Next(1, 9);
                    foreach (var g in Mut.Chance(r, 0.6) ? new[] { images, labels } : [f])
                        if (g.Dims.Length > 0)
                        {
                            g.Dims[0] = n;
                            long per = 1;
                            foreach (int d in g.Dims.Skip(1)) per *= Math.Clamp(d, 0, 64);
                            g.Payload = g == labels ? [.. Enumerable.Range(0, n).Select(_ => (byte)r.Next(classes ?? 10))] : Mut.Random(r, (int)(n * per));
                        }
                    done.Add("count");
                    break;
                }
                case 6:
                    f.Payload = Mut.Chance(r, 0.5) ? f.Payload[..r.Next(f.Payload.Length + 1)] : [.. f.Payload, .. Mut.Random(r, r.Next(1, 5))];
                    done.Add("payload-length");
                    break;
                case 7:
                    if (labels.Payload.Length > 0) labels.Payload[r.Next(labels.Payload.Length)] = (byte)Mut.Pick(r, [255, 10, 12, r.Next(256)]);
                    classes = Mut.Chance(r, 0.3) ? null : r.Next(1, 13);
                    done.Add("labels");
                    break;
                case 8:
                    (images, labels) = (labels, images);
                    done.Add("swap");
                    break;
                case 9:
                    f.Gzip = !f.Gzip;
                    done.Add("gzip");
                    break;
                default:
                    // A large declared size over little data: the read must not allocate the declared size.
                    if (f.Dims.Length > 0) f.Dims[0] = Mut.Pick(r, [1 << 20, 1 << 24, int.MaxValue / 64, 3_000_000]);
                    if (Mut.Chance(r, 0.3) && f.Dims.Length == 3)
                    {
                        f.Dims = [200, 100, 100];
                        f.Payload = new byte[Mut.Chance(r, 0.5) ? 2_000_000 : 1_999_999];
                        f.Gzip = true;
                    }
                    done.Add("big");
                    break;
            }
        }
        byte[] imageBytes = images.Bytes(), labelBytes = labels.Bytes();
        if (Mut.Chance(r, 0.25))
        {
            bool onImages = Mut.Chance(r, 0.7);
            ref byte[] target = ref onImages ? ref imageBytes : ref labelBytes;
            target = (onImages ? images : labels).Gzip && Mut.Chance(r, 0.7) ? GzipLayer(r, target, done) : Mut.Havoc(r, target, Mut.Chance(r, 0.5) ? labelBytes : imageBytes);
            if (!done.Contains("gzip-layer")) done.Add("havoc");
        }
        return new FuzzCase(imageBytes, string.Join(",", done), new Settings(classes, seekable), labelBytes);
    }

    /// <summary>Damage to the gzip wrapper itself: the trailer, the flags, a second member, bytes after the end.</summary>
    private static byte[] GzipLayer(Random r, byte[] gz, List<string> done)
    {
        done.Add("gzip-layer");
        var b = (byte[])gz.Clone();
        switch (r.Next(7))
        {
            case 0: b[^(1 + r.Next(8))] ^= (byte)(1 << r.Next(8)); return b;          // CRC-32 or size
            case 1: return b[..^Mut.Pick(r, [1, 4, 8, 9])];                            // trailer cut
            case 2: return [.. b, .. Mut.Gzip(Mut.Random(r, r.Next(0, 5)))];           // a second member
            case 3: return [.. b, .. Mut.Random(r, r.Next(1, 9))];                     // garbage after the member
            case 4: b[3] = (byte)r.Next(256); return b;                                // FLG: FEXTRA, FNAME, FCOMMENT, FHCRC, reserved
            case 5: b[2] = (byte)r.Next(256); return b;                                // CM
            default: if (b.Length > 18) b[10 + r.Next(b.Length - 18)] ^= (byte)(1 << r.Next(8)); return b;   // the deflate data
        }
    }

    /// <summary>A read-only stream that cannot seek (a pipe).</summary>
    private sealed class Forward(byte[] data) : Stream
    {
        private int _pos;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            int n = Math.Min(buffer.Length, Math.Min(data.Length - _pos, 1 + _pos % 4093));   // short reads, as a pipe gives
            data.AsSpan(_pos, n).CopyTo(buffer);
            _pos += n;
            return n;
        }
    }
}
