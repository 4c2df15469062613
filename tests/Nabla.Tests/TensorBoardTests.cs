using System.Buffers.Binary;
using Nabla.TensorBoard;

namespace Nabla.Tests;

/// <summary>TensorBoard event files: the TFRecord framing with masked CRC32C, the records, and nabla train --tensorboard.</summary>
public class TensorBoardTests
{
    [Fact]
    public void Crc32c_has_its_check_value_and_the_tfrecord_mask()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(0u, Crc32C.Compute([]));
        uint c = 0xE3069283u;
        Assert.Equal(unchecked(((c >> 15) | (c << 17)) + 0xa282ead8u), Crc32C.Masked("123456789"u8));
        // RFC 3720 B.4: 32 bytes of zeros.
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
    }

    // Every record of an event file, checking both CRCs of each.
    internal static List<Tensorboard.Event> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var events = new List<Tensorboard.Event>();
        int at = 0;
        while (at < bytes.Length)
        {
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
            Assert.Equal(Crc32C.Masked(bytes.AsSpan(at, 8)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 8)));
            var data = bytes.AsSpan(at + 12, (int)length);
            Assert.Equal(Crc32C.Masked(data), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 12 + (int)length)));
            events.Add(Tensorboard.Event.Parser.ParseFrom(data.ToArray()));
            at += 12 + (int)length + 4;
        }
        return events;
    }

    [Fact]
    public void The_writer_frames_scalars_histograms_and_images_as_tensorboard_reads_them()
    {
        using var s = new ReliabilityTests.Scratch();
        string path;
        using (var w = new SummaryWriter(s.P("tb")))
        {
            path = w.FilePath;
            Assert.StartsWith("events.out.tfevents.", Path.GetFileName(path));
            w.AddScalar("loss", 0.25, 3);
            w.AddHistogram("w", [1f, 2f, 2f, 3f, float.NaN, 4f], 3, bins: 3);
            byte[] png = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R', 0, 0, 0, 7, 0, 0, 0, 5, 8, 6, 0, 0, 0];
            w.AddImage("img", png, 4);
            Assert.Throws<ArgumentException>(() => w.AddImage("bad", [1, 2, 3], 4));
        }
        var events = Read(path);
        Assert.Equal(4, events.Count);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        var scalar = events[1].Summary.Value.Single();
        Assert.Equal(("loss", 0.25f, 3L), (scalar.Tag, scalar.SimpleValue, events[1].Step));
        var h = events[2].Summary.Value.Single().Histo;
        Assert.Equal((5.0, 1.0, 4.0, 12.0, 34.0), (h.Num, h.Min, h.Max, h.Sum, h.SumSquares));
        // numpy.histogram([1, 2, 2, 3, 4], bins=3): edges 1, 2, 3, 4 → counts 1, 2, 2.
        Assert.Equal([2.0, 3.0, 4.0], h.BucketLimit);
        Assert.Equal([1.0, 2.0, 2.0], h.Bucket);
        var image = events[3].Summary.Value.Single().Image;
        Assert.Equal((7, 5, 4), (image.Width, image.Height, image.Colorspace));
        Assert.True(events.All(e => e.WallTime > 1.7e9));
    }

    [Fact]
    public void Train_with_tensorboard_writes_steps_epochs_histograms_and_images()
    {
        using var s = new ReliabilityTests.Scratch();
        var rng = new Random(2);
        var lines = new List<string> { "a,b,y" };
        for (int i = 0; i < 64; i++)
        {
            double a = rng.NextDouble(), b = rng.NextDouble();
            lines.Add(FormattableString.Invariant($"{a},{b},{(a > b ? 1 : 0)}"));
        }
        string csv = s.Text("t.csv", string.Join("\n", lines));
        var r = CliRunner.Run("train", "--data", csv, "--label", "y", "--model", "mlp:4", "--epochs", "2", "--batch-size", "16",
            "--out", s.P("run"), "--tensorboard", s.P("tb"));
        Assert.True(r.code == 0, r.stderr);
        // The run's own folder under DIR (named as its --out), so runs sharing DIR stay apart.
        var file = Assert.Single(Directory.GetFiles(s.P("tb", "run")));
        var events = Read(file);
        var tags = events.Where(e => e.Summary is not null).SelectMany(e => e.Summary.Value.Select(v => (v.Tag, e.Step))).ToList();
        int steps = tags.Count(t => t.Tag == "batch/loss");
        Assert.True(steps >= 4, $"{steps} step losses");
        Assert.Contains(("epoch/loss", 2L), tags);
        Assert.Contains(("epoch/val_loss", 1L), tags);
        Assert.Contains(("epoch/lr", 1L), tags);
        Assert.Contains(("weights/0.weight", 2L), tags);
        Assert.Contains(("gradients/0.weight", 2L), tags);
        Assert.Contains(tags, t => t.Tag == "test/accuracy");
        Assert.Contains(tags, t => t.Tag == "curves");
        Assert.Contains(tags, t => t.Tag == "confusion");

        // A file as --tensorboard: one line, exit 2, no run folder written.
        string file2 = s.Text("not-a-folder", "x");
        r = CliRunner.Run("train", "--data", csv, "--label", "y", "--model", "mlp:4", "--epochs", "1", "--out", s.P("run2"), "--tensorboard", file2);
        Assert.Equal(2, r.code);
        Assert.Contains("--tensorboard", r.stderr);
        Assert.False(Directory.Exists(s.P("run2")));
    }

    [Fact]
    public void Validate_and_search_with_tensorboard_write_one_run_folder_per_split()
    {
        using var s = new ReliabilityTests.Scratch();
        var rng = new Random(3);
        var lines = new List<string> { "a,b,y" };
        for (int i = 0; i < 45; i++)
        {
            double a = rng.NextDouble(), b = rng.NextDouble();
            lines.Add(FormattableString.Invariant($"{a},{b},{(a > b ? 1 : 0)}"));
        }
        string csv = s.Text("t.csv", string.Join("\n", lines));
        var r = CliRunner.Run("validate", "--data", csv, "--label", "y", "--model", "mlp:4", "--epochs", "2", "--scheme", "kfold:3",
            "--out", s.P("cv"), "--tensorboard", s.P("tb"));
        Assert.True(r.code == 0, r.stderr);
        Assert.Equal(["split-0", "split-1", "split-2"], Directory.GetDirectories(s.P("tb", "cv")).Select(Path.GetFileName).Order());
        foreach (var d in Directory.GetDirectories(s.P("tb", "cv")))
        {
            var events = Read(Assert.Single(Directory.GetFiles(d)));
            Assert.Contains(events, e => e.Summary?.Value.Any(v => v.Tag == "epoch/loss") == true && e.Step == 2);
        }
        r = CliRunner.Run("search", "--data", csv, "--label", "y", "--model", "mlp:4", "--epochs", "1", "--scheme", "holdout:0.3",
            "--grid", "lr=0.01|0.1", "--out", s.P("search"), "--tensorboard", s.P("tb2"));
        Assert.True(r.code == 0, r.stderr);
        Assert.True(File.Exists(Assert.Single(Directory.GetFiles(s.P("tb2", "search", "candidate-0", "split-0")))));
        Assert.Single(Directory.GetFiles(s.P("tb2", "search", "candidate-1", "split-0")));
    }

    [Fact]
    public void A_lab_with_tensorboard_writes_one_run_folder_per_arm_and_seed()
    {
        using var s = new ReliabilityTests.Scratch();
        var r = CliRunner.Run("lab", "optimizers", "--tiny", "--seeds", "2", "--out", s.P("lab"), "--tensorboard", s.P("tb"));
        Assert.True(r.code == 0, r.stderr);
        var arms = Directory.GetDirectories(s.P("tb", "lab", "optimizers")).Select(Path.GetFileName).ToList();
        Assert.Contains("SGD_one_sample-seed0", arms);
        Assert.Contains("SGD_one_sample-seed1", arms);
        Assert.Contains("momentum_batch_64-seed1", arms);
        foreach (var d in Directory.GetDirectories(s.P("tb", "lab", "optimizers")))
            Assert.Contains(Read(Assert.Single(Directory.GetFiles(d))), e => e.Summary?.Value.Any(v => v.Tag == "epoch/loss") == true);
    }
}
