using System.Buffers.Binary;
using System.IO.Compression;
using Nabla.Data;

namespace Nabla.Tests;

public class DataLoadingTests
{
    // ---- helpers -------------------------------------------------------------------------------------------

    /// <summary>An IDX file: 00 00 type rank, big-endian sizes, payload.</summary>
    static byte[] Idx_(byte type, int[] dims, byte[] payload, int rank = -1)
    {
        var bytes = new byte[4 + 4 * dims.Length + payload.Length];
        bytes[2] = type;
        bytes[3] = (byte)(rank < 0 ? dims.Length : rank);
        for (int d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), dims[d]);
        payload.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    static byte[] Images(int n, int rows, int cols, Func<int, byte>? pixel = null) =>
        Idx_(0x08, [n, rows, cols], Enumerable.Range(0, n * rows * cols).Select(i => pixel?.Invoke(i) ?? (byte)(i * 37 % 256)).ToArray());

    static byte[] Labels(params byte[] labels) => Idx_(0x08, [labels.Length], labels);

    static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    /// <summary>A forward-only view of bytes: the reader cannot ask for the length.</summary>
    sealed class ForwardOnly(byte[] data) : Stream
    {
        readonly MemoryStream _inner = new(data, writable: false);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 7)); // short reads too
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "nabla-data-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    static int[] CountPerClass(TensorDataset d) =>
        Enumerable.Range(0, d.NumClasses).Select(c => d.Labels!.Data.Count(y => y == c)).ToArray();

    // ---- IDX: round trips -----------------------------------------------------------------------------------

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IdxImagesRoundTrip(bool gzip)
    {
        byte[] raw = Images(3, 2, 4, i => i switch { 0 => 0, 1 => 255, 2 => 128, _ => (byte)(i * 11) });
        var x = Idx.ReadImages(gzip ? Gzip(raw) : raw);
        Assert.Equal([3, 1, 2, 4], x.Shape);
        float[] v = x.ToArray();
        for (int i = 0; i < v.Length; i++) Assert.Equal(raw[16 + i] / 255f, v[i]);
        Assert.Equal(0f, v[0]);
        Assert.Equal(1f, v[1]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IdxLabelsRoundTrip(bool gzip)
    {
        byte[] raw = Labels(3, 0, 9, 255, 1);
        var y = Idx.ReadLabels(gzip ? Gzip(raw) : raw);
        Assert.Equal([5], y.Shape);
        Assert.Equal([3, 0, 9, 255, 1], y.Data);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IdxReadsForwardOnlyStreamsWithShortReads(bool gzip)
    {
        byte[] raw = Images(5, 3, 3);
        var x = Idx.ReadImages(new ForwardOnly(gzip ? Gzip(raw) : raw));
        Assert.Equal([5, 1, 3, 3], x.Shape);
        Assert.Equal(raw.Skip(16).Select(b => b / 255f).ToArray(), x.ToArray());
    }

    [Fact]
    public void IdxLoadFromFilesRawAndGzip()
    {
        string dir = TempDir();
        try
        {
            string images = Path.Combine(dir, "img.gz"), labels = Path.Combine(dir, "lab");
            File.WriteAllBytes(images, Gzip(Images(4, 2, 2)));
            File.WriteAllBytes(labels, Labels(1, 0, 2, 1));
            var d = Idx.Load(images, labels, ["a", "b", "c"]);
            Assert.Equal(4, d.Count);
            Assert.Equal([1, 2, 2], d.SampleShape);
            Assert.Equal(3, d.NumClasses);
            Assert.Equal(["a", "b", "c"], d.ClassNames);
            Assert.Equal([1, 0, 2, 1], d.Labels!.Data);

            var noNames = Idx.Load(images, labels);
            Assert.Equal(3, noNames.NumClasses);

            var e = Assert.Throws<IdxFormatException>(() => Idx.ReadLabels(images));   // an images file read as labels
            Assert.Contains(images, e.Message);
            Assert.Contains("expected 1 dimension", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Gzipped_images_are_inflated_once_into_the_cache_and_mapped_from_it_afterwards()
    {
        string dir = TempDir();
        try
        {
            string images = Path.Combine(dir, "train-images-idx3-ubyte.gz"), labels = Path.Combine(dir, "train-labels-idx1-ubyte.gz");
            string cache = Path.Combine(dir, "cache");
            var raw = Images(6, 3, 2);
            File.WriteAllBytes(images, Gzip(raw));
            File.WriteAllBytes(labels, Gzip(Labels(1, 0, 2, 1, 0, 2)));
            var first = Idx.Load(images, labels, ["a", "b", "c"], cache, 0);
            string cached = Idx.CachePath(images, cache);
            Assert.StartsWith(Path.Combine(cache, "idx", "train-images-idx3-ubyte-"), cached);
            Assert.Equal(raw, File.ReadAllBytes(cached));   // the inflated file, header included
            Assert.Equal(Labels(1, 0, 2, 1, 0, 2), File.ReadAllBytes(Idx.CachePath(labels, cache)));   // its labels beside it
            Assert.Empty(Directory.GetFiles(Path.Combine(cache, "idx"), "*.tmp"));

            // The next load reads the cached copy, not the gzip file: a changed pixel there shows up.
            var tampered = (byte[])raw.Clone();
            tampered[16] = 255;
            Replace(cached, tampered);
            var second = Idx.Load(images, labels, ["a", "b", "c"], cache, 0);
            Assert.True(second.HoldsPixels);
            Assert.Equal(1f, second.Rows([0]).ToArray()[0]);
            Assert.Equal(first.Rows([5, 2]).ToArray(), second.Rows([5, 2]).ToArray());
            Assert.Equal(first.Labels!.Data, second.Labels!.Data);
            Assert.Equal(first.Subset([4, 1]).Features.ToArray(), second.Subset([4, 1]).Features.ToArray());

            // A malformed cached copy (here cut short) is ignored and replaced.
            Replace(cached, raw[..^1]);
            var third = Idx.Load(images, labels, null, cache, 0);
            Assert.Equal(first.Features.ToArray(), third.Features.ToArray());
            Assert.Equal(raw, File.ReadAllBytes(cached));

            // A changed source gets a new cache file (the key holds its length and modification time).
            var raw2 = Images(6, 3, 2, i => (byte)(255 - i));
            File.WriteAllBytes(images, Gzip(raw2));
            File.SetLastWriteTimeUtc(images, DateTime.UtcNow.AddMinutes(1));
            Assert.NotEqual(cached, Idx.CachePath(images, cache));
            var fourth = Idx.Load(images, labels, null, cache, 0);
            Assert.Equal(Idx.ReadImages(raw2).ToArray(), fourth.Features.ToArray());
        }
        finally { Directory.Delete(dir, true); }

        // A mapped file is replaced, never rewritten in place (as the cache itself does).
        static void Replace(string path, byte[] bytes)
        {
            File.WriteAllBytes(path + ".new", bytes);
            File.Move(path + ".new", path, overwrite: true);
        }
    }

    [Fact]
    public async Task A_pipe_streams_through_without_the_cache()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/mkfifo")) return;   // FIFOs: Linux only here
        string dir = TempDir();
        try
        {
            string fifo = Path.Combine(dir, "images.gz"), labels = Path.Combine(dir, "lab"), cache = Path.Combine(dir, "cache");
            File.WriteAllBytes(labels, Labels(1, 0, 2, 1));
            var raw = Images(4, 2, 2);
            using (var mk = System.Diagnostics.Process.Start("/usr/bin/mkfifo", fifo)) mk.WaitForExit();
            var writer = Task.Run(() => File.WriteAllBytes(fifo, Gzip(raw)));
            var d = Idx.Load(fifo, labels, null, cache, 0);
            await writer;
            Assert.Equal(Idx.ReadImages(raw).ToArray(), d.Features.ToArray());
            Assert.False(Directory.Exists(cache));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void The_cache_skips_raw_and_small_files_and_an_unusable_folder()
    {
        string dir = TempDir();
        try
        {
            string gz = Path.Combine(dir, "img.gz"), plain = Path.Combine(dir, "img"), labels = Path.Combine(dir, "lab");
            var raw = Images(4, 2, 2);
            File.WriteAllBytes(gz, Gzip(raw));
            File.WriteAllBytes(plain, raw);
            File.WriteAllBytes(labels, Gzip(Labels(1, 0, 2, 1)));   // cached only beside cached images
            string cache = Path.Combine(dir, "cache");
            Idx.Load(plain, labels, null, cache, 0);                 // raw: nothing to save
            Idx.Load(gz, labels, null, cache, raw.Length);           // payload below the threshold
            Assert.False(Directory.Exists(cache));

            string blocked = Path.Combine(dir, "not-a-folder");
            File.WriteAllText(blocked, "x");                          // the cache folder cannot be created
            var d = Idx.Load(gz, labels, null, blocked, 0);
            Assert.Equal(Idx.ReadImages(raw).ToArray(), d.Features.ToArray());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Vectorised_pixel_scaling_gives_the_bits_of_x_over_255()
    {
        // Every byte value, at every offset of a vector, with tails of every length.
        var src = Enumerable.Range(0, 3 * 256 + 71).Select(i => (byte)(i * 101 % 256)).ToArray();
        var expected = src.Select(b => b / 255f).ToArray();
        for (int len = src.Length - 70; len <= src.Length; len += 7)
        {
            var dst = new float[len];
            TensorDataset.ScalePixels(src.AsSpan(0, len), dst);
            Assert.Equal(expected[..len].Select(BitConverter.SingleToInt32Bits), dst.Select(BitConverter.SingleToInt32Bits));
        }
        Assert.Throws<ArgumentException>(() => TensorDataset.ScalePixels(src, new float[3]));
    }

    [Fact]
    public void Pixels_can_be_any_read_only_memory()
    {
        var bytes = new byte[] { 9, 0, 255, 51, 102, 9 };
        var d = TensorDataset.FromPixels(bytes.AsMemory(1, 4), [2, 1, 1, 2], new IntTensor([1, 0], 2));
        Assert.True(d.HoldsPixels);
        Assert.Equal([0f, 1f, 0.2f, 0.4f], d.Features.ToArray());
        Assert.Throws<ArgumentException>(() => TensorDataset.FromPixels(bytes.AsMemory(0, 5), [2, 1, 1, 2], new IntTensor([1, 0], 2)));
    }

    [Fact]
    public void Pixel_datasets_scale_bytes_as_the_float_path_and_stay_bytes_through_subsets()
    {
        var raw = Images(5, 3, 2);
        var d = Idx.Load(new MemoryStream(Gzip(raw)), new MemoryStream(Labels(1, 0, 2, 1, 0)), ["a", "b", "c"], "imgs", "labs");
        Assert.True(d.HoldsPixels);
        var floats = Idx.ReadImages(raw);   // the float reader: x/255
        Assert.Equal(5, d.Count);
        Assert.Equal([1, 3, 2], d.SampleShape);
        // Rows gathers and scales only the asked samples, in the asked order.
        var rows = d.Rows([4, 0, 4]);
        Assert.Equal([3, 1, 3, 2], rows.Shape.ToArray());
        var f = floats.ToArray();
        Assert.Equal(f.Skip(24).Take(6).Concat(f.Take(6)).Concat(f.Skip(24).Take(6)).ToArray(), rows.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Rows([5]));
        // Subset keeps bytes; Features builds the whole float tensor once and equals the float reader.
        var sub = d.Subset([3, 1]);
        Assert.True(sub.HoldsPixels);
        Assert.Equal([1, 0], sub.Labels!.Data);
        Assert.Equal(f.Skip(18).Take(6).Concat(f.Skip(6).Take(6)).ToArray(), sub.Features.ToArray());
        Assert.Equal(f, d.Features.ToArray());
        Assert.Same(d.Features, d.Features);
        var renamed = d.WithClassNames(["x", "y", "z"]);
        Assert.True(renamed.HoldsPixels);
        Assert.Equal(["x", "y", "z"], renamed.ClassNames);
        Assert.Throws<ArgumentException>(() => d.WithClassNames(["x"]));
        Assert.Throws<InvalidOperationException>(() => new TensorDataset(Tensor.Zeros(2, 3), Tensor.Zeros(2)).WithClassNames([]));
        Assert.Throws<ArgumentException>(() => TensorDataset.FromPixels(new byte[7], [2, 1, 2, 2], new IntTensor([0, 1], 2)));
    }

    [Fact]
    public void A_loader_over_pixels_gives_the_same_batches_as_over_floats()
    {
        var raw = Images(37, 4, 4);
        var labels = Labels(Enumerable.Range(0, 37).Select(i => (byte)(i % 3)).ToArray());
        var pixels = Idx.Load(new MemoryStream(raw), new MemoryStream(labels));
        var floats = new TensorDataset(Idx.ReadImages(raw), Idx.ReadLabels(labels));
        var a = new DataLoader(pixels, 8, seed: 3).Epoch(1).ToList();
        var b = new DataLoader(floats, 8, seed: 3).Epoch(1).ToList();
        Assert.Equal(b.Count, a.Count);
        for (int i = 0; i < a.Count; i++)
        {
            Assert.Equal(b[i].Features.ToArray(), a[i].Features.ToArray());
            Assert.Equal(b[i].Labels!.Data, a[i].Labels!.Data);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_loader_reusing_its_buffers_gives_the_same_batches(bool background)
    {
        var raw = Images(37, 4, 4);
        var labels = Labels(Enumerable.Range(0, 37).Select(i => (byte)(i % 3)).ToArray());
        var pixels = Idx.Load(new MemoryStream(raw), new MemoryStream(labels));
        var fresh = new DataLoader(pixels, 4, seed: 3, background: background);
        var reusing = new DataLoader(pixels, 4, seed: 3, background: background) { ReuseBuffers = true };
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var expected = fresh.Epoch(epoch).Select(b => (b.Features.ToArray(), b.Labels!.ToArray(), b.Indices)).ToList();
            var seen = new List<Batch>();
            int i = 0;
            foreach (var batch in reusing.Epoch(epoch))
            {
                // Read each batch before asking for the next, as the loop it is meant for does.
                Assert.Equal(expected[i].Item1, batch.Features.ToArray());
                Assert.Equal(expected[i].Item2, batch.Labels!.Data);
                Assert.Equal(expected[i].Indices, batch.Indices);
                seen.Add(batch);
                i++;
            }
            Assert.Equal(expected.Count, i);
            // ReusedBatches consecutive batches never share buffers; the one after them reuses the first's.
            for (int k = 0; k + DataLoader.ReusedBatches < seen.Count - 1; k++)
            {
                for (int j = 1; j < DataLoader.ReusedBatches; j++) Assert.NotSame(seen[k].Features, seen[k + j].Features);
                Assert.Same(seen[k].Features, seen[k + DataLoader.ReusedBatches].Features);
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_background_worker_hands_over_every_batch_in_order_and_its_failures(bool reuse)
    {
        var data = new TensorDataset(Tensor.Arange(50).Reshape(50, 1), IntTensor.FromArray(Enumerable.Range(0, 50).Select(i => i % 2).ToArray()));
        var expected = new DataLoader(data, 4, seed: 1, background: false).Epoch(2).Select(b => b.Indices).ToList();
        var got = new DataLoader(data, 4, seed: 1) { ReuseBuffers = reuse }.Epoch(2).Select(b => b.Indices.ToArray()).ToList();
        Assert.Equal(expected, got);

        // A transform that fails on the fifth batch: the four before it arrive, then the failure, named.
        int made = 0;
        var failing = new DataLoader(data, 4, seed: 1) { Transform = (b, g) => ++made == 5 ? throw new FormatException("bad batch") : b };
        var seen = new List<Batch>();
        var e = Assert.Throws<InvalidOperationException>(() => { foreach (var b in failing.Epoch(0)) seen.Add(b); });
        Assert.Equal(4, seen.Count);
        Assert.IsType<FormatException>(e.InnerException);
        Assert.Contains("batch 4 of epoch 0", e.Message);

        // Leaving early, or cancelling, ends the epoch without waiting for the rest.
        Assert.Single(new DataLoader(data, 4, seed: 1).Epoch(0).Take(1));
        using var cts = new CancellationTokenSource();
        int count = 0;
        foreach (var _ in new DataLoader(data, 4, seed: 1).Epoch(0, cts.Token))
            if (++count == 3) cts.Cancel();
        Assert.Equal(3, count);
    }

    [Fact]
    public void IdxLoadRejectsCountMismatch()
    {
        var e = Assert.Throws<IdxFormatException>(() =>
            Idx.Load(new MemoryStream(Images(4, 2, 2)), new MemoryStream(Labels(1, 0, 2)), null, "imgs", "labs"));
        Assert.Contains("imgs holds 4 images", e.Message);
        Assert.Contains("labs holds 3 labels", e.Message);
    }

    [Fact]
    public void IdxLoadRejectsLabelsBeyondClassNames()
    {
        var e = Assert.Throws<IdxFormatException>(() =>
            Idx.Load(new MemoryStream(Images(3, 2, 2)), new MemoryStream(Labels(1, 0, 7)), ["a", "b"], "imgs", "labs"));
        Assert.Contains("label 7 at index 2", e.Message);
        Assert.Contains("labs", e.Message);
    }

    // ---- IDX: hostile input ---------------------------------------------------------------------------------

    public static TheoryData<string, bool, byte[]> HostileIdx()
    {
        byte[] goodImages = Images(2, 2, 2), goodLabels = Labels(1, 2, 3);
        byte[] gz = Gzip(goodImages);
        var corrupt = (byte[])gz.Clone();
        for (int i = 12; i < corrupt.Length - 8; i++) corrupt[i] ^= 0x5a;
        return new TheoryData<string, bool, byte[]>
        {
            // name, images (else labels), bytes
            { "empty", true, [] },
            { "one byte", true, [0] },
            { "magic only partly there", false, [0, 0, 8] },
            { "bad magic", true, [0x01, 0x00, 0x08, 0x03, .. goodImages[4..]] },
            { "bad magic, gzip-like first byte", true, [0x1f, 0x00, 0x08, 0x03, .. goodImages[4..]] },
            { "float32 type", true, Idx_(0x0D, [2, 2, 2], new byte[32]) },
            { "int32 type", false, Idx_(0x0C, [3], new byte[12]) },
            { "images with 1 dim", true, goodLabels },
            { "labels with 3 dims", false, goodImages },
            { "images with 4 dims", true, Idx_(0x08, [1, 1, 2, 2], new byte[4]) },
            { "rank byte 0", false, Idx_(0x08, [], [1, 2, 3], rank: 0) },
            { "header cut short", true, goodImages[..10] },
            { "zero images", true, Idx_(0x08, [0, 28, 28], []) },
            { "zero rows", true, Idx_(0x08, [2, 0, 28], []) },
            { "negative cols", true, Idx_(0x08, [2, 2, -2], new byte[8]) },
            { "negative labels count", false, Idx_(0x08, [int.MinValue], []) },
            { "size product overflows int", true, Idx_(0x08, [65536, 65536, 65536], new byte[16]) },
            { "size product over 2^31", true, Idx_(0x08, [int.MaxValue, 2, 1], new byte[16]) },
            { "payload too short", true, goodImages[..^1] },
            { "payload empty", false, goodLabels[..8] },
            { "trailing byte", true, [.. goodImages, 0] },
            { "trailing bytes labels", false, [.. goodLabels, 1, 2, 3] },
            { "gzip truncated in half", true, gz[..(gz.Length / 2)] },
            { "gzip trailer cut", true, gz[..^4] },
            { "gzip trailer gone", true, gz[..^8] },
            { "gzip then garbage", true, [.. gz, 1, 2, 3] },
            { "gzip then zeros", true, [.. gz, .. new byte[64]] },
            { "gzip wrong crc", true, [.. gz[..^8], (byte)(gz[^8] ^ 1), .. gz[^7..]] },
            { "gzip header only", true, gz[..10] },
            { "gzip magic only", true, gz[..2] },
            { "gzip corrupted", true, corrupt },
            { "gzip payload too short", true, Gzip(goodImages[..^1]) },
            { "gzip trailing bytes", true, Gzip([.. goodImages, 9]) },
            { "gzip bad magic", true, Gzip([0x01, 0x00, 0x08, 0x03, .. goodImages[4..]]) },
            { "gzip wrong type", false, Gzip(Idx_(0x09, [3], [1, 2, 3])) },
            { "gzip huge dims", true, Gzip(Idx_(0x08, [2000, 1000, 1000], new byte[100])) },
        };
    }

    [Theory]
    [MemberData(nameof(HostileIdx))]
    public void IdxRejectsHostileInput(string name, bool images, byte[] bytes)
    {
        _ = name;
        foreach (Func<Stream> open in new Func<Stream>[] { () => new MemoryStream(bytes), () => new ForwardOnly(bytes) })
        {
            var e = Assert.Throws<IdxFormatException>(() =>
            {
                if (images) Idx.ReadImages(open(), "hostile.idx");
                else Idx.ReadLabels(open(), "hostile.idx");
            });
            Assert.Contains("hostile.idx", e.Message);
        }
    }

    [Fact]
    public void IdxHostileMessagesSayWhatWasExpectedAndFound()
    {
        string M(byte[] b, bool images = true) =>
            Assert.Throws<IdxFormatException>(() => { if (images) Idx.ReadImages(b, "f"); else Idx.ReadLabels(b, "f"); }).Message;

        Assert.Contains("found 01 00 08 03", M([0x01, 0x00, 0x08, 0x03, 0, 0, 0, 1]));
        Assert.Contains("0x0D (float32)", M(Idx_(0x0D, [1, 1, 1], new byte[4])));
        Assert.Contains("expected 3 dimension(s)", M(Labels(1, 2)));
        Assert.Contains("is -2", M(Idx_(0x08, [2, 2, -2], [])));
        Assert.Contains("more than", M(Idx_(0x08, [65536, 65536, 65536], [])));
        string shortMsg = M(Images(2, 2, 2)[..^3]);
        Assert.Contains("2×2×2 = 8 bytes", shortMsg);
        Assert.Contains("5", shortMsg);
        Assert.Contains("truncated", M(Gzip(Images(2, 2, 2)[..^3])));
        Assert.Contains("after the payload", M([.. Labels(1, 2), 7], images: false));
    }

    [Theory]
    [InlineData("raw")]
    [InlineData("forward-only")]
    [InlineData("gzip")]
    public void IdxHugeDeclaredSizeOverTinyInputAllocatesLittle(string how)
    {
        byte[] raw = Idx_(0x08, [2000, 1000, 1000], new byte[1000]);   // declares 2e9 bytes, holds 1000
        byte[] data = how == "gzip" ? Gzip(raw) : raw;
        Stream stream = how == "forward-only" ? new ForwardOnly(data) : new MemoryStream(data);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<IdxFormatException>(() => Idx.ReadImages(stream, "huge"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("2000×1000×1000", e.Message);
        Assert.True(allocated < 4 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void IdxForgedSizeOverAnIncompressibleGzipAllocatesAFewTimesItsSize()
    {
        // Found by the fuzz harness: the first buffer was 1032× the gzip's size (deflate's limit), so 256 KB of data
        // claiming 2 GB reserved 264 MB before the data ran out; now at most 64× (real files inflate 2-5×).
        var noise = new byte[256 << 10];
        new Random(1).NextBytes(noise);
        byte[] data = Gzip(Idx_(0x08, [2000, 1000, 1000], noise));
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Contains("truncated", Assert.Throws<IdxFormatException>(() => Idx.ReadImages(new MemoryStream(data), "forged")).Message);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 64L * data.Length + (4 << 20), $"allocated {allocated} bytes for a {data.Length}-byte file");
        // A real file still reads whole, in one buffer of its exact size.
        var images = Images(40, 28, 28);
        Assert.Equal(Idx.ReadImages(images).ToArray(), Idx.ReadImages(new MemoryStream(Gzip(images)), "real").ToArray());
    }

    // ---- Fashion-MNIST --------------------------------------------------------------------------------------

    // The subset lives in the Nabla.Datasets package: the core library carries no data (issue 24).
    [Fact]
    public void The_core_library_embeds_no_data()
    {
        Assert.Empty(typeof(Tensor).Assembly.GetManifestResourceNames());
        Assert.Equal(4, typeof(Nabla.Datasets.FashionMnistSubset).Assembly.GetManifestResourceNames().Length);
    }

    [Fact]
    public void FashionMnistEmbeddedSubsetIsStratified()
    {
        var (train, test) = Nabla.Datasets.FashionMnistSubset.Load();
        foreach (var (d, perClass) in new[] { (train, Nabla.Datasets.FashionMnistSubset.TrainPerClass), (test, Nabla.Datasets.FashionMnistSubset.TestPerClass) })
        {
            Assert.Equal(TaskKind.Classification, d.Task);
            Assert.Equal(10, d.NumClasses);
            Assert.Equal(FashionMnist.ClassNames, d.ClassNames);
            Assert.Equal(10 * perClass, d.Count);
            Assert.Equal([d.Count, 1, 28, 28], d.Features.Shape);
            Assert.All(CountPerClass(d), n => Assert.Equal(perClass, n));
            float[] px = d.Features.ToArray();
            Assert.Equal(0f, px.Min());
            Assert.Equal(1f, px.Max());
            Assert.True(d.Labels!.Data.Take(30).Distinct().Count() >= 5, "classes should be interleaved");
        }
        Assert.Equal(10_000, train.Count);
        Assert.Equal(2_000, test.Count);
        Assert.Equal(["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"], FashionMnist.ClassNames);
    }

    [Fact]
    public void FashionMnistLoadFullOnMissingDirectorySaysHowToInstall()
    {
        string dir = Path.Combine(Path.GetTempPath(), "nabla-no-such-dir-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.LoadFull(dir));
        Assert.Equal($"Fashion-MNIST was not found in {dir}; install it with: sudo apt-get install dataset-fashion-mnist (or pass a directory with the IDX files)", e.Message);
        Assert.Equal("/usr/share/datasets/fashion-mnist", FashionMnist.DefaultDirectory);
    }

    [Fact]
    public void FashionMnistLoadFullFindsGzippedAndRawFiles()
    {
        string dir = TempDir();
        try
        {
            byte[] labels = [.. Enumerable.Range(0, 10).Select(i => (byte)i)];
            File.WriteAllBytes(Path.Combine(dir, "train-images-idx3-ubyte.gz"), Gzip(Images(10, 28, 28)));
            File.WriteAllBytes(Path.Combine(dir, "train-labels-idx1-ubyte.gz"), Gzip(Labels(labels)));
            File.WriteAllBytes(Path.Combine(dir, "t10k-images-idx3-ubyte"), Images(10, 28, 28));
            var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.LoadFull(dir));
            Assert.Contains("t10k-labels-idx1-ubyte", e.Message);
            Assert.Contains("sudo apt-get install dataset-fashion-mnist", e.Message);

            File.WriteAllBytes(Path.Combine(dir, "t10k-labels.idx1-ubyte"), Labels(labels));
            var (train, test) = FashionMnist.LoadFull(dir);
            Assert.Equal(10, train.Count);
            Assert.Equal(10, test.Count);
            Assert.Equal(FashionMnist.ClassNames, test.ClassNames);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void FashionMnistFullDatasetWhenInstalled()
    {
        if (!Directory.Exists(FashionMnist.DefaultDirectory)) return;   // sudo apt-get install dataset-fashion-mnist
        var (train, test) = FashionMnist.LoadFull();
        Assert.Equal(60_000, train.Count);
        Assert.Equal(10_000, test.Count);
        Assert.Equal([60_000, 1, 28, 28], train.Features.Shape);
        Assert.All(CountPerClass(train), n => Assert.Equal(6000, n));
        Assert.All(CountPerClass(test), n => Assert.Equal(1000, n));
    }

    // ---- CSV ------------------------------------------------------------------------------------------------

    static TensorDataset Csv(string text, string label, TaskKind task = TaskKind.Classification) =>
        CsvTable.Load(new StringReader(text), label, task, "data.csv");

    static string CsvError(string text, string label, TaskKind task = TaskKind.Classification) =>
        Assert.Throws<CsvFormatException>(() => Csv(text, label, task)).Message;

    [Fact]
    public void CsvClassificationMapsSortedStringLabels()
    {
        var d = Csv("x1,species,x2\n1,virginica,2\n3.5,setosa,-4e-1\n5, versicolor ,6\n7,setosa,8\n\"9\",\"a, b\",10\n", "species");
        Assert.Equal(TaskKind.Classification, d.Task);
        Assert.Equal(["a, b", "setosa", "versicolor", "virginica"], d.ClassNames);
        Assert.Equal(4, d.NumClasses);
        Assert.Equal([3, 1, 2, 1, 0], d.Labels!.Data);
        Assert.Equal([5, 2], d.Features.Shape);
        Assert.Equal([1f, 2f, 3.5f, -0.4f, 5f, 6f, 7f, 8f, 9f, 10f], d.Features.ToArray());
    }

    [Fact]
    public void CsvIntegerLabelsSortNumerically()
    {
        var d = Csv("a,y\n0,10\n1,2\n2,1\n3,-1\n4,2\n", "y");
        Assert.Equal(["-1", "1", "2", "10"], d.ClassNames);
        Assert.Equal([3, 2, 1, 0, 2], d.Labels!.Data);
    }

    [Fact]
    public void CsvRegression()
    {
        var d = Csv("price,rooms,area\r\n100.5,3,70\r\n200,4,95.25\r\n", "price", TaskKind.Regression);
        Assert.Equal(TaskKind.Regression, d.Task);
        Assert.Equal([2, 2], d.Features.Shape);
        Assert.Equal([3f, 70f, 4f, 95.25f], d.Features.ToArray());
        Assert.Equal([2, 1], d.Targets!.Shape);
        Assert.Equal([100.5f, 200f], d.Targets.ToArray());
        Assert.Empty(d.ClassNames);
    }

    [Fact]
    public void CsvFromFileNamesThePath()
    {
        string dir = TempDir();
        try
        {
            string path = Path.Combine(dir, "t.csv");
            File.WriteAllText(path, "a,b,label\n1,2,x\n3,4,y\n");
            var d = CsvTable.Load(path, "label", TaskKind.Classification);
            Assert.Equal(2, d.Count);
            Assert.Equal(["x", "y"], d.ClassNames);
            File.WriteAllText(path, "a,b,label\n1,2,x\n3,oops,y\n");
            var e = Assert.Throws<CsvFormatException>(() => CsvTable.Load(path, "label", TaskKind.Classification));
            Assert.Equal($"{path}: row 2, column 'b': 'oops' is not a number.", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void CsvMissingLabelColumnListsColumns()
    {
        string m = CsvError("age,height,kind\n1,2,a\n", "label");
        Assert.Contains("no column named 'label'", m);
        Assert.Contains("'age', 'height', 'kind'", m);
    }

    [Fact]
    public void CsvNonNumericCellNamesRowAndColumn()
    {
        string rows = string.Concat(Enumerable.Range(0, 16).Select(i => $"{i},1,a\n"));
        Assert.Equal("data.csv: row 17, column 'age': 'abc' is not a number.", CsvError("age,h,y\n" + rows + "abc,1,b\n", "y"));
        Assert.Equal("data.csv: row 1, column 'h': '' is empty; expected a number.", CsvError("age,h,y\n1,,b\n", "y"));
        Assert.Contains("'NaN' is not a finite number", CsvError("age,h,y\n1,NaN,b\n", "y"));
        Assert.Contains("row 2, column 'y': 'cheap' is not a number", CsvError("age,h,y\n1,2,3\n1,2,cheap\n", "y", TaskKind.Regression));
        Assert.Contains("row 1, column 'y': the label is empty", CsvError("age,h,y\n1,2,\n", "y"));
    }

    [Fact]
    public void CsvStructuralErrors()
    {
        Assert.Contains("empty", CsvError("", "y"));
        Assert.Contains("empty", CsvError("\n\n", "y"));
        Assert.Contains("no data rows", CsvError("a,b,y\n", "y"));
        Assert.Contains("no data rows", CsvError("a,b,y", "y"));
        Assert.Contains("row 2 has 2 field(s); expected 3", CsvError("a,b,y\n1,2,x\n1,2\n", "y"));
        Assert.Contains("row 1 has 4 field(s)", CsvError("a,b,y\n1,2,x,9\n", "y"));
        Assert.Contains("only column", CsvError("y\na\nb\n", "y"));
        Assert.Contains("appears twice", CsvError("y,a,y\n1,2,3\n", "y"));
        Assert.StartsWith("data.csv: ", CsvError("a,b,y\n1,\"2,x\n", "y"));   // unterminated quote
    }

    // ---- Standardizer ---------------------------------------------------------------------------------------

    [Fact]
    public void StandardizerFitsOnOneSetAndTransformsAnother()
    {
        var train = Tensor.FromArray([1f, 10f, 5f, 2f, 20f, 5f, 3f, 30f, 5f, 6f, 40f, 5f], 4, 3);
        var s = new Standardizer();
        Assert.False(s.IsFitted);
        Assert.Throws<InvalidOperationException>(() => s.Transform(train));
        var z = s.FitTransform(train);
        Assert.True(s.IsFitted);
        Assert.Equal([4, 3], z.Shape);
        Assert.Equal([3f, 25f, 5f], s.Mean.ToArray());
        Assert.Equal(1f, s.Std.ToArray()[2]);                                 // constant column: std 0 → 1
        Assert.Equal((float)Math.Sqrt(3.5), s.Std.ToArray()[0], 6);           // population std
        float[] zv = z.ToArray();
        for (int j = 0; j < 3; j++)
        {
            var col = Enumerable.Range(0, 4).Select(i => (double)zv[i * 3 + j]).ToArray();
            double mean = col.Average(), std = Math.Sqrt(col.Select(v => (v - mean) * (v - mean)).Average());
            Assert.Equal(0, mean, 6);
            Assert.Equal(j == 2 ? 0 : 1, std, 5);
        }
        Assert.All(zv.Where((_, i) => i % 3 == 2), v => Assert.Equal(0f, v));

        var other = s.Transform(Tensor.FromArray([3f, 25f, 7f, 3f + (float)Math.Sqrt(3.5), 5f, 5f], 2, 3));
        float[] expected = [0f, 0f, 2f, 1f, -20f / s.Std.ToArray()[1], 0f], got = other.ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], got[i], 5);
        Assert.Throws<ArgumentException>(() => s.Transform(Tensor.Zeros(2, 4)));

        var restored = Standardizer.FromStatistics(s.Mean, s.Std);
        Assert.Equal(z.ToArray(), restored.Transform(train).ToArray());
        Assert.Throws<ArgumentException>(() => Standardizer.FromStatistics(s.Mean, Tensor.Zeros(3)));
        Assert.Throws<ArgumentException>(() => new Standardizer().Fit(Tensor.Zeros(0, 3)));
    }
}
