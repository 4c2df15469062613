using Nabla.Autograd;
using Nabla.Data;
using Nabla.Data.Transforms;
using Nabla.Generative;
using Xunit;

namespace Nabla.Tests;

/// <summary>
/// The gan: and style: batch transforms: their captured forward passes give the eager result, replays happen, soft
/// labels are the labeller's softmax, and a folder of style pictures is what style: draws from.
/// </summary>
public class NeuralAugmentationTests
{
    private static DcganGenerator SmallGenerator() => new(8, 3, [3, 12, 12], new Generator(1), width: 4);

    private static Batch RealBatch(int n, int seed) =>
        new(Tensor.Rand([n, 3, 12, 12], seed), IntTensor.FromArray([.. Enumerable.Range(0, n).Select(i => i % 3)]), null, [.. Enumerable.Range(0, n)]);

    // What GanSamples draws, computed eagerly with the same generator draws: positions, classes, z, G(z, classes).
    private static (int[] Positions, int[] Classes, float[] Images, Generator After) Eager(DcganGenerator gen, int n, double ratio, Generator g)
    {
        int k = (int)Math.Floor(ratio * n + 0.5);
        var positions = g.Permutation(n).AsSpan(0, k).ToArray();
        var classes = new int[k];
        for (int i = 0; i < k; i++) classes[i] = g.NextInt(3);
        using var _ = GradMode.NoGrad();
        var z = Tensor.Normal([k, gen.LatentDim], 0f, 1f, g);
        var images = ((gen.Forward(z, new IntTensor(classes, k)) + 1f) * 0.5f).ToArray();
        return (positions, classes, images, g);
    }

    [Fact]
    public void GAN_samples_are_captured_per_batch_size_and_give_the_eager_generators_bits()
    {
        var gen = SmallGenerator();
        gen.Eval();
        var transform = new GanSamples(gen, 0.5);
        foreach (var (n, seed) in new[] { (8, 1), (8, 2), (5, 3), (8, 4), (5, 5) })
        {
            var batch = RealBatch(n, seed);
            var g = new Generator(100 + seed);
            var got = transform.Apply(batch, g, 3);
            var (positions, classes, images, after) = Eager(gen, n, 0.5, new Generator(100 + seed));
            var x = got.Features.ToArray();
            var real = batch.Features.ToArray();
            int per = 3 * 12 * 12;
            for (int i = 0; i < n; i++)
            {
                int at = Array.IndexOf(positions, i);
                var expected = at >= 0 ? images.AsSpan(at * per, per) : real.AsSpan(i * per, per);
                Assert.True(expected.SequenceEqual(x.AsSpan(i * per, per)), $"n {n} seed {seed} row {i}");
                Assert.Equal(at >= 0 ? classes[at] : batch.Labels!.Data[i], got.Labels!.Data[i]);
            }
            Assert.Equal(after.NextUInt64(), g.NextUInt64());   // the batch generator continues after the same draws
        }
        Assert.Equal(3, transform.Replays);   // the first batch of each size captures, the rest replay
        // Past the captures it keeps (4 shapes), a new size runs eagerly and still gives the eager bits.
        foreach (int n in new[] { 2, 11, 13, 15, 17 })
        {
            var batch = RealBatch(n, n);
            var got = transform.Apply(batch, new Generator(n), 3).Features.ToArray();
            var (positions, _, images, _) = Eager(gen, n, 0.5, new Generator(n));
            int per = 3 * 12 * 12;
            for (int i = 0; i < positions.Length; i++)
                Assert.True(images.AsSpan(i * per, per).SequenceEqual(got.AsSpan(positions[i] * per, per)), $"n {n} sample {i}");
        }
    }

    [Fact]
    public void Weights_loaded_after_the_capture_are_what_a_replay_uses()
    {
        var gen = SmallGenerator();
        var transform = new GanSamples(gen, 0.5);
        transform.Apply(RealBatch(8, 1), new Generator(1), 3);   // captured with the first weights
        gen.LoadStateDict(new DcganGenerator(8, 3, [3, 12, 12], new Generator(77), width: 4).StateDict());
        var got = transform.Apply(RealBatch(8, 2), new Generator(2), 3).Features.ToArray();
        Assert.Equal(1, transform.Replays);
        var (positions, _, images, _) = Eager(gen, 8, 0.5, new Generator(2));
        int per = 3 * 12 * 12;
        for (int i = 0; i < positions.Length; i++)
            Assert.True(images.AsSpan(i * per, per).SequenceEqual(got.AsSpan(positions[i] * per, per)), $"sample {i}");
    }

    [Fact]
    public void Soft_GAN_labels_are_one_hot_for_real_images_and_the_labellers_softmax_for_generated_ones()
    {
        var gen = SmallGenerator();
        var labeller = (Sequential)Models.FromSpec("cnn", [3, 12, 12], 3, new Generator(9));
        var transform = new GanSamples(gen, 0.5, labeller);
        for (int round = 0; round < 2; round++)
        {
            var batch = RealBatch(8, round);
            var got = transform.Apply(batch, new Generator(7 + round), 3);
            Assert.Null(got.Labels);
            var t = got.Targets!.ToArray();
            Assert.Equal([8, 3], got.Targets.Shape);
            var (positions, _, images, _) = Eager(gen, 8, 0.5, new Generator(7 + round));
            float[] p;
            using (GradMode.NoGrad()) p = labeller.Forward(Tensor.FromArray(images, 4, 3, 12, 12)).Softmax(1).ToArray();
            for (int i = 0; i < 8; i++)
            {
                int at = Array.IndexOf(positions, i);
                for (int c = 0; c < 3; c++)
                    Assert.Equal(at >= 0 ? p[at * 3 + c] : (batch.Labels!.Data[i] == c ? 1f : 0f), t[i * 3 + c]);
            }
        }
        Assert.Equal(1, transform.Replays);
    }

    [Fact]
    public void The_soft_gan_item_reads_the_classifier_saved_beside_the_generator()
    {
        var dir = Directory.CreateTempSubdirectory("nabla-gan-soft");
        try
        {
            GanModel.Save(SmallGenerator(), dir.FullName);
            var neural = new NeuralAugmentations();
            Assert.Contains("classifier.safetensors", Assert.Throws<FormatException>(() => Augmentation.Parse($"gan:{dir.FullName}:0.5:soft", neural)).Message);
            Serialization.SafeTensors.Write(Path.Combine(dir.FullName, "classifier.safetensors"),
                Models.FromSpec("cnn", [3, 12, 12], 3, new Generator(9)).StateDict());
            var soft = (GanSamples)Augmentation.Parse($"gan:{dir.FullName}:0.25:soft", neural).Source!;
            Assert.NotNull(soft.Labeller);
            Assert.Equal(0.25, soft.Ratio);
            var hard = (GanSamples)Augmentation.Parse($"gan:{dir.FullName}:hard", neural).Source!;
            Assert.Null(hard.Labeller);
            Assert.Equal(0.5, hard.Ratio);
            var batch = soft.Apply(RealBatch(8, 1), new Generator(3), 3);
            Assert.All(Enumerable.Range(0, 8), i => Assert.Equal(1f, batch.Targets!.ToArray().AsSpan(i * 3, 3).ToArray().Sum(), 5));
            // Soft targets flow on through mixup like any soft targets.
            var mixed = Augmentation.Parse($"gan:{dir.FullName}:0.5:soft,mixup", neural).Apply(RealBatch(8, 2), new Generator(4), 3);
            Assert.Equal([8, 3], mixed.Targets!.Shape);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Style_samples_are_captured_in_padded_blocks_and_match_the_eager_styler()
    {
        var encoder = FeatureNetwork.Vgg(["4", "M", "8"], new Generator(2), 3, imageNetNormalisation: false);
        var styler = new AdaInStyler(encoder, "relu2_1", new Generator(3));
        styler.Eval();
        var transform = new StyleSamples(styler, 0.5);
        for (int seed = 0; seed < 4; seed++)
        {
            var batch = RealBatch(20, seed);
            var g = new Generator(50 + seed);
            var got = transform.Apply(batch, g, 3).Features.ToArray();
            // The same draws, restyled eagerly without padding.
            var r = new Generator(50 + seed);
            var chosen = new List<int>();
            var styles = new List<int>();
            for (int i = 0; i < 20; i++)
            {
                bool on = r.NextDouble() < 0.5;
                int other = r.NextInt(20);
                if (on) { chosen.Add(i); styles.Add(other); }
            }
            Assert.Equal(r.NextUInt64(), g.NextUInt64());
            float[] expected;
            using (GradMode.NoGrad())
                expected = styler.Stylize(batch.Features.IndexSelect(0, IntTensor.FromArray([.. chosen])), batch.Features.IndexSelect(0, IntTensor.FromArray([.. styles])))
                    .Clamp(0f, 1f).ToArray();
            var real = batch.Features.ToArray();
            int per = 3 * 12 * 12;
            for (int i = 0; i < 20; i++)
            {
                int at = chosen.IndexOf(i);
                for (int j = 0; j < per; j++)
                    Assert.Equal(at >= 0 ? expected[at * per + j] : real[i * per + j], got[i * per + j], 5e-6f);
            }
        }
        Assert.True(transform.Replays >= 2, $"replays {transform.Replays}");   // 4 batches of ~10 restyled images: padded to 16 each time
        // Another image size through the same transform is captured apart, not packed into the first size's buffers.
        var small = new Batch(Tensor.Rand([20, 3, 8, 8], 9), IntTensor.FromArray([.. Enumerable.Range(0, 20).Select(i => i % 3)]), null, [.. Enumerable.Range(0, 20)]);
        var s8 = transform.Apply(small, new Generator(3), 3).Features;
        Assert.Equal([20, 3, 8, 8], s8.Shape);
        var r8 = new Generator(3);
        var (c8, st8) = (new List<int>(), new List<int>());
        for (int i = 0; i < 20; i++)
        {
            bool on = r8.NextDouble() < 0.5;
            int other = r8.NextInt(20);
            if (on) { c8.Add(i); st8.Add(other); }
        }
        float[] e8;
        using (GradMode.NoGrad())
            e8 = styler.Stylize(small.Features.IndexSelect(0, IntTensor.FromArray([.. c8])), small.Features.IndexSelect(0, IntTensor.FromArray([.. st8]))).Clamp(0f, 1f).ToArray();
        var g8 = s8.ToArray();
        for (int i = 0; i < c8.Count; i++)
            for (int j = 0; j < 192; j++) Assert.Equal(e8[i * 192 + j], g8[c8[i] * 192 + j], 5e-6f);
    }

    [Fact]
    public void Style_samples_draw_their_styles_from_the_saved_style_pictures()
    {
        var encoder = FeatureNetwork.Vgg(["4", "M", "8"], new Generator(2), 3, imageNetNormalisation: false);
        var styler = new AdaInStyler(encoder, "relu2_1", new Generator(3));
        var pictures = Tensor.Rand([5, 3, 10, 10], 11);
        var data = new TensorDataset(Tensor.Rand([32, 3, 12, 12], 4), new IntTensor(new int[32], 32), 1);
        var losses = styler.Train(data, 2, batchSize: 8, lr: 1e-3, seed: 1, styles: pictures);
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        var dir = Directory.CreateTempSubdirectory("nabla-style-bank");
        try
        {
            styler.Save(dir.FullName, encoder.Kind!, encoder.Recipe, pictures);
            Assert.Equal(pictures.ToArray(), AdaInStyler.LoadStyles(dir.FullName)!.ToArray());
            var aug = (StyleSamples)Augmentation.Parse($"style:{dir.FullName}:1", new NeuralAugmentations()).Style!;
            Assert.Equal([5, 3, 10, 10], aug.Styles!.Shape);
            var batch = RealBatch(6, 2);
            var got = aug.Apply(batch, new Generator(8), 3).Features.ToArray();
            // With P = 1 every image is restyled by the picture its draw names.
            var r = new Generator(8);
            var pick = new int[6];
            for (int i = 0; i < 6; i++) { r.NextDouble(); pick[i] = r.NextInt(5); }
            float[] expected;
            using (GradMode.NoGrad()) expected = styler.Stylize(batch.Features, pictures.IndexSelect(0, IntTensor.FromArray(pick))).Clamp(0f, 1f).ToArray();
            for (int j = 0; j < expected.Length; j++) Assert.Equal(expected[j], got[j], 5e-6f);
            // Saving without pictures removes a stale set.
            styler.Save(dir.FullName, encoder.Kind!, encoder.Recipe);
            Assert.Null(AdaInStyler.LoadStyles(dir.FullName));
            Assert.Throws<ArgumentException>(() => new StyleSamples(styler, 0.5, Tensor.Rand([2, 1, 10, 10], 1)));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

/// <summary>Alone in the process: tests running in parallel share the buffer pool, and a pooled output they take would be a fresh allocation here.</summary>
[Collection(nameof(AloneInTheProcess))]
public class NeuralAugmentationAllocationTests
{
    [Fact]
    public void A_replayed_GAN_or_style_batch_allocates_only_its_bookkeeping()
    {
        var gen = new DcganGenerator(64, 10, [1, 28, 28], new Generator(1));
        var encoder = FeatureNetwork.Vgg(["8", "M", "16"], new Generator(2), 1, imageNetNormalisation: false);
        var styler = new AdaInStyler(encoder, "relu2_1", new Generator(3));
        var labels = IntTensor.FromArray([.. Enumerable.Range(0, 128).Select(i => i % 10)]);
        var batch = new Batch(Tensor.Rand([128, 1, 28, 28], 4), labels, null, [.. Enumerable.Range(0, 128)]);
        foreach (BatchTransform t in new BatchTransform[] { new GanSamples(gen, 0.5), new StyleSamples(styler, 1.0) })
        {
            long eager = 0, replayed = long.MaxValue;
            for (int i = 0; i < 10; i++)
            {
                GC.Collect();   // the last batch's output is unreachable: the buffer pool takes it back on its next miss, as a training loop's collections let it
                long before = GC.GetAllocatedBytesForCurrentThread();
                t.Apply(batch, new Generator(10 + i), 10);
                long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
                if (i == 0) eager = bytes;
                else if (i >= 2) replayed = Math.Min(replayed, bytes);
            }
            // The networks' forward passes replay without a tensor, node or plan; what is left is the batch's indices,
            // labels and closures (a few KiB), not the ~100 KiB of graph objects an eager pass builds.
            Assert.True(replayed < 12 * 1024, $"{t.GetType().Name}: {replayed} bytes per replayed batch (the first, captured: {eager})");
            Assert.True(replayed * 8 < eager, $"{t.GetType().Name}: {replayed} bytes replayed against {eager} captured");
        }
    }
}
