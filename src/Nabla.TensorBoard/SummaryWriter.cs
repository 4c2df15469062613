using System.Buffers.Binary;
using Google.Protobuf;
using Tensorboard;

namespace Nabla.TensorBoard;

/// <summary>
/// Writes a TensorBoard event file, as <c>torch.utils.tensorboard.SummaryWriter</c>: scalars, histograms and PNG
/// images per step into <c>LOGDIR/events.out.tfevents.TIME.HOST.PID.N</c>. Each record is TFRecord-framed: the
/// length (uint64 LE), its masked CRC32C, the serialised <c>Event</c>, the data's masked CRC32C
/// (mask(c) = ((c ≫ 15) | (c ≪ 17)) + 0xa282ead8). The first event names the file version "brain.Event:2".
/// </summary>
public sealed class SummaryWriter : IDisposable
{
    private static int s_files;
    private readonly FileStream _file;
    private bool _disposed;

    /// <summary>Creates <paramref name="logDir"/> if needed and opens a new event file in it.</summary>
    /// <exception cref="IOException">the folder or file cannot be created.</exception>
    public SummaryWriter(string logDir)
    {
        ArgumentNullException.ThrowIfNull(logDir);
        LogDir = logDir;
        Directory.CreateDirectory(logDir);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string host = Environment.MachineName;
        FilePath = Path.Combine(logDir, $"events.out.tfevents.{now:D10}.{host}.{Environment.ProcessId}.{Interlocked.Increment(ref s_files)}");
        _file = new FileStream(FilePath, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        Write(new Event { WallTime = WallTime(), FileVersion = "brain.Event:2" });
    }

    /// <summary>The run folder TensorBoard is pointed at (or one of its subfolders).</summary>
    public string LogDir { get; }

    /// <summary>The event file being written.</summary>
    public string FilePath { get; }

    private static double WallTime() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    /// <summary>One scalar (a loss, an accuracy, the learning rate) at <paramref name="step"/>.</summary>
    public void AddScalar(string tag, double value, long step)
    {
        ArgumentNullException.ThrowIfNull(tag);
        var summary = new Summary();
        summary.Value.Add(new Summary.Types.Value { Tag = tag, SimpleValue = (float)value });
        WriteSummary(summary, step);
    }

    /// <summary>
    /// A histogram of <paramref name="values"/> at <paramref name="step"/>: <paramref name="bins"/> equal-width buckets
    /// between the minimum and the maximum (numpy's histogram, as PyTorch's add_histogram with an int), with the count,
    /// sum and sum of squares TensorBoard shows. Non-finite values are left out; with none left, nothing is written.
    /// </summary>
    public void AddHistogram(string tag, ReadOnlySpan<float> values, long step, int bins = 30)
    {
        ArgumentNullException.ThrowIfNull(tag);
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        var histogram = Histogram(values, bins);
        if (histogram.Num == 0) return;   // TensorBoard cannot read a histogram without buckets (all values non-finite)
        var summary = new Summary();
        summary.Value.Add(new Summary.Types.Value { Tag = tag, Histo = histogram });
        WriteSummary(summary, step);
    }

    internal static HistogramProto Histogram(ReadOnlySpan<float> values, int bins)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0, squares = 0;
        long n = 0;
        foreach (float v in values)
        {
            if (!float.IsFinite(v)) continue;
            n++;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            sum += v;
            squares += (double)v * v;
        }
        var h = new HistogramProto { Num = n, Sum = sum, SumSquares = squares, Min = n == 0 ? 0 : min, Max = n == 0 ? 0 : max };
        if (n == 0) return h;
        // numpy: a range of zero width becomes [v − 0.5, v + 0.5].
        double lo = min, hi = max;
        if (lo == hi)
        {
            lo -= 0.5;
            hi += 0.5;
        }
        var counts = new double[bins];
        double width = (hi - lo) / bins;
        foreach (float v in values)
        {
            if (!float.IsFinite(v)) continue;
            int b = (int)((v - lo) / width);
            counts[Math.Clamp(b, 0, bins - 1)]++;   // the last bucket includes its right edge
        }
        for (int b = 0; b < bins; b++)
        {
            h.BucketLimit.Add(b == bins - 1 ? hi : lo + width * (b + 1));
            h.Bucket.Add(counts[b]);
        }
        return h;
    }

    /// <summary>A PNG image (its size read from its header) at <paramref name="step"/>.</summary>
    /// <exception cref="ArgumentException">the bytes are not a PNG file.</exception>
    public void AddImage(string tag, byte[] png, long step)
    {
        ArgumentNullException.ThrowIfNull(tag);
        ArgumentNullException.ThrowIfNull(png);
        ReadOnlySpan<byte> signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        if (png.Length < 24 || !png.AsSpan(0, 8).SequenceEqual(signature) || !png.AsSpan(12, 4).SequenceEqual("IHDR"u8))
            throw new ArgumentException($"SummaryWriter.AddImage({tag}): not a PNG file.", nameof(png));
        int width = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), height = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20));
        byte colourType = png.Length > 25 ? png[25] : (byte)2;
        int channels = colourType switch { 0 => 1, 4 => 2, 2 => 3, 6 => 4, _ => 3 };
        var summary = new Summary();
        summary.Value.Add(new Summary.Types.Value
        {
            Tag = tag,
            Image = new Summary.Types.Image { Height = height, Width = width, Colorspace = channels, EncodedImageString = ByteString.CopyFrom(png) },
        });
        WriteSummary(summary, step);
    }

    private void WriteSummary(Summary summary, long step) => Write(new Event { WallTime = WallTime(), Step = step, Summary = summary });

    private void Write(Event e)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var data = e.ToByteArray();
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Masked(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Masked(data));
        lock (_file)
        {
            _file.Write(header);
            _file.Write(data);
            _file.Write(footer);
        }
    }

    /// <summary>Pushes what was written to the file, so a running TensorBoard sees it.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_file) _file.Flush();
    }

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _file.Dispose();
    }
}

/// <summary>CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of TFRecord framing; check value of "123456789" = 0xE3069283.</summary>
public static class Crc32C
{
    private static readonly uint[] Table = Build();

    private static uint[] Build()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            t[i] = c;
        }
        return t;
    }

    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (byte b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return ~c;
    }

    /// <summary>TFRecord's masked CRC: ((c ≫ 15) | (c ≪ 17)) + 0xa282ead8.</summary>
    public static uint Masked(ReadOnlySpan<byte> data)
    {
        uint c = Compute(data);
        return unchecked(((c >> 15) | (c << 17)) + 0xa282ead8u);
    }
}
