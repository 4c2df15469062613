using Nabla.Data;
using Nabla.Data.Transforms;
using NoiseTransform = Nabla.Data.Transforms.GaussianNoise;

namespace Nabla.Tests;

public class AugmentationTests
{
    static Tensor Image(int c, int h, int w, int seed) => Tensor.Rand([c, h, w], seed);

    static Tensor Constant(int c, int h, int w, float v) => Tensor.FromArray(Enumerable.Repeat(v, c * h * w).ToArray(), c, h, w);

    // a[c, r, q] in a (C, H, W) array.
    static float At(float[] a, int h, int w, int c, int r, int q) => a[(c * h + r) * w + q];

    [Fact]
    public void A_quarter_turn_is_a_transpose_and_a_flip()
    {
        const int c = 3, n = 7;
        var image = Image(c, n, n, 1);
        var x = image.ToArray();
        // RandomAffine's positive angle turns clockwise (torchvision F.affine): out[r, q] = in[n−1−q, r] = hflip(transpose).
        var cw = new RandomAffine((90.0, 90.0)).Apply(image, new Generator(0)).ToArray();
        // RandomRotation's positive angle turns counter-clockwise (torchvision F.rotate): out[r, q] = in[q, n−1−r] = vflip(transpose).
        var ccw = new RandomRotation((90.0, 90.0)).Apply(image, new Generator(0)).ToArray();
        for (int ch = 0; ch < c; ch++)
            for (int r = 0; r < n; r++)
                for (int q = 0; q < n; q++)
                {
                    Assert.Equal(At(x, n, n, ch, n - 1 - q, r), At(cw, n, n, ch, r, q));
                    Assert.Equal(At(x, n, n, ch, q, n - 1 - r), At(ccw, n, n, ch, r, q));
                }
        // Four quarter turns are the identity; a zero-range affine too.
        var t = image;
        for (int i = 0; i < 4; i++) t = new RandomRotation((90.0, 90.0)).Apply(t, new Generator(i));
        Assert.Equal(x, t.ToArray());
        Assert.Equal(x, new RandomAffine(0).Apply(image, new Generator(3)).ToArray());
    }

    [Fact]
    public void Flips_mirror_and_two_flips_are_the_identity()
    {
        var image = Image(2, 5, 6, 2);
        var x = image.ToArray();
        var h = new HorizontalFlip(1).Apply(image, new Generator(0));
        Assert.Equal(At(x, 5, 6, 1, 2, 0), At(h.ToArray(), 5, 6, 1, 2, 5));
        Assert.Equal(x, new HorizontalFlip(1).Apply(h, new Generator(0)).ToArray());
        var v = new VerticalFlip(1).Apply(image, new Generator(0));
        Assert.Equal(At(x, 5, 6, 0, 0, 3), At(v.ToArray(), 5, 6, 0, 4, 3));
        Assert.Equal(x, new VerticalFlip(1).Apply(v, new Generator(0)).ToArray());
        Assert.Same(image, new HorizontalFlip(0).Apply(image, new Generator(0)));
    }

    [Fact]
    public void Random_crops_have_the_requested_size_and_cut_a_shifted_window()
    {
        // Values 1 … N, padding 0: every kept pixel sits at one offset from its source.
        var values = Enumerable.Range(1, 3 * 8 * 10).Select(i => (float)i).ToArray();
        var image = Tensor.FromArray(values, 3, 8, 10);
        for (int seed = 0; seed < 50; seed++)
        {
            var crop = new RandomCrop(6, padding: 2).Apply(image, new Generator(seed));
            Assert.Equal([3, 6, 6], crop.Shape);
            var own = new RandomCrop(null, padding: 3).Apply(image, new Generator(seed));
            Assert.Equal([3, 8, 10], own.Shape);
            var o = own.ToArray();
            int? dy = null, dx = null;
            for (int c = 0; c < 3; c++)
                for (int r = 0; r < 8; r++)
                    for (int q = 0; q < 10; q++)
                    {
                        float v = At(o, 8, 10, c, r, q);
                        if (v == 0) continue;
                        int src = (int)v - 1, sr = src / 10 % 8, sq = src % 10;
                        Assert.Equal(c, src / 80);
                        dy ??= sr - r;
                        dx ??= sq - q;
                        Assert.Equal(dy.Value, sr - r);
                        Assert.Equal(dx.Value, sq - q);
                    }
            Assert.InRange(dy!.Value, -3, 3);
            Assert.InRange(dx!.Value, -3, 3);

            Assert.Equal([3, 16, 16], new RandomResizedCrop(16).Apply(image, new Generator(seed)).Shape);
            Assert.Equal([3, 8, 10], new RandomResizedCrop().Apply(image, new Generator(seed)).Shape);
            var (top, left, hh, ww) = RandomResizedCrop.GetParams(20, 30, (0.08, 1), (0.75, 4.0 / 3), new Generator(seed));
            Assert.True(top >= 0 && left >= 0 && hh > 0 && ww > 0 && top + hh <= 20 && left + ww <= 30);
        }
        Assert.Equal(values, new RandomCrop().Apply(image, new Generator(0)).ToArray());
        var grey = new RandomResizedCrop(5, (0.3, 0.6)).Apply(Constant(1, 9, 9, 0.5f), new Generator(4)).ToArray();
        Assert.All(grey, v => Assert.Equal(0.5f, v, 1e-6f));
        Assert.Throws<ArgumentException>(() => new RandomCrop(12).Apply(image, new Generator(0)));
    }

    [Fact]
    public void Erased_rectangles_lie_inside_with_the_requested_area_and_aspect()
    {
        const int h = 40, w = 50;
        var ones = Constant(2, h, w, 1);
        (double, double) scale = (0.05, 0.2), ratio = (0.5, 2.0);
        int erased = 0;
        for (int seed = 0; seed < 200; seed++)
        {
            foreach (bool square in new[] { false, true })
            {
                Transform t = square ? new Cutout(1, scale) : new RandomErasing(1, scale, ratio);
                var o = t.Apply(ones, new Generator(seed)).ToArray();
                var zeros = Enumerable.Range(0, h * w).Where(i => o[i] == 0).ToArray();
                if (zeros.Length == 0) continue;
                erased++;
                int top = zeros.Min(i => i / w), bottom = zeros.Max(i => i / w), left = zeros.Min(i => i % w), right = zeros.Max(i => i % w);
                int eh = bottom - top + 1, ew = right - left + 1;
                Assert.Equal(eh * ew, zeros.Length);                      // a full rectangle …
                Assert.True(eh < h && ew < w);                              // … strictly inside, as torchvision requires
                for (int i = 0; i < h * w; i++) Assert.Equal(o[i], o[h * w + i]);   // every channel alike
                // h = round(√(a·r)), w = round(√(a/r)) with a/(H·W) in scale and r in ratio: the unrounded sides bound them.
                double area = h * w;
                Assert.True((eh - 0.5) * (ew - 0.5) <= scale.Item2 * area && (eh + 0.5) * (ew + 0.5) >= scale.Item1 * area, $"{eh}×{ew}");
                var (r0, r1) = square ? (1.0, 1.0) : ratio;
                Assert.True((eh - 0.5) / (ew + 0.5) <= r1 && (eh + 0.5) / (ew - 0.5) >= r0, $"{eh}×{ew}");
                if (square) Assert.Equal(eh, ew);
            }
        }
        Assert.True(erased > 390, $"{erased}");
        Assert.Null(RandomErasing.GetParams(4, 4, (0.99, 1), (1, 1), new Generator(0)));
    }

    static Batch TwoConstants() =>
        new(Tensor.Stack([Constant(1, 8, 12, 0), Constant(1, 8, 12, 1)]), IntTensor.FromArray([0, 1]), null, [0, 1]);

    [Fact]
    public void CutMix_lambda_is_the_kept_area_and_targets_sum_to_one()
    {
        int mixed = 0;
        for (int seed = 0; seed < 200; seed++)
        {
            var batch = new CutMix(1).Apply(TwoConstants(), new Generator(seed), 2);
            Assert.Null(batch.Labels);
            Assert.Equal([2, 2], batch.Targets!.Shape);
            var x = batch.Features.ToArray();
            var t = batch.Targets.ToArray();
            for (int i = 0; i < 2; i++)
            {
                double own = x.Skip(i * 96).Take(96).Count(v => v == i) / 96.0;
                Assert.Equal((float)own, t[i * 2 + i], 1e-6f);
                Assert.Equal(1f, t[i * 2] + t[i * 2 + 1], 1e-6f);
                if (own < 1) mixed++;
            }
        }
        Assert.True(mixed > 100, $"{mixed}");
    }

    [Fact]
    public void MixUp_interpolates_exactly_and_targets_sum_to_one()
    {
        const int n = 6;
        var features = Tensor.Rand([n, 3, 4, 4], 3);
        var batch = new Batch(features, IntTensor.FromArray(Enumerable.Range(0, n).ToArray()), null, Enumerable.Range(0, n).ToArray());
        var x = features.ToArray();
        int[] perm = [3, 0, 1, 2, 5, 4];
        var mixed = MixUp.Mix(batch, 0.3, perm, 8);
        var o = mixed.Features.ToArray();
        var t = mixed.Targets!.ToArray();
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < 48; j++) Assert.Equal((float)(0.3 * x[i * 48 + j] + 0.7 * x[perm[i] * 48 + j]), o[i * 48 + j]);
            Assert.Equal((float)0.3, t[i * 8 + i]);
            Assert.Equal((float)0.7, t[i * 8 + perm[i]]);
            Assert.Equal(1f, t.Skip(i * 8).Take(8).Sum(), 1e-6f);
        }
        // Soft targets coming in are mixed in their turn.
        var again = MixUp.Mix(mixed, 0.5, [1, 0, 3, 2, 5, 4], 8).Targets!.ToArray();
        Assert.Equal((float)(0.5 * t[0] + 0.5 * t[8]), again[0]);

        for (int seed = 0; seed < 50; seed++)
        {
            var r = new MixUp(0.4).Apply(batch, new Generator(seed), n);
            var ro = r.Features.ToArray();
            var rt = r.Targets!.ToArray();
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(1f, rt.Skip(i * n).Take(n).Sum(), 1e-6f);
                int partner = Enumerable.Range(0, n).Where(k => k != i && rt[i * n + k] > 0).DefaultIfEmpty(i).First();
                if (partner == i) continue;
                double lambda = rt[i * n + i];
                for (int j = 0; j < 48; j++) Assert.Equal(lambda * x[i * 48 + j] + (1 - lambda) * x[partner * 48 + j], ro[i * 48 + j], 1e-5);
            }
        }
        // Constant images 0 and 1: the pixel is the partner's weight.
        var two = new MixUp(1).Apply(TwoConstants(), new Generator(9), 2);
        Assert.All(two.Features.ToArray().Take(96), v => Assert.Equal(two.Targets!.ToArray()[1], v, 1e-6f));
    }

    [Fact]
    public void Beta_draws_have_the_right_moments()
    {
        foreach (double a in new[] { 0.4, 2.0 })
        {
            var g = new Generator(11);
            var s = Enumerable.Range(0, 40000).Select(_ => Sampling.Beta(g, a, a)).ToArray();
            double mean = s.Average(), variance = s.Select(v => (v - mean) * (v - mean)).Average();
            Assert.All(s, v => Assert.InRange(v, 0, 1));
            Assert.Equal(0.5, mean, 0.01);
            Assert.Equal(1 / (4 * (2 * a + 1)), variance, 0.005);
        }
    }

    [Fact]
    public void Channel_shuffle_permutes_the_planes()
    {
        var image = Image(4, 3, 3, 5);
        var planes = Planes(image.ToArray(), 4, 9);
        bool moved = false;
        for (int seed = 0; seed < 20; seed++)
        {
            var o = Planes(new ChannelShuffle(1).Apply(image, new Generator(seed)).ToArray(), 4, 9);
            Assert.Equal(planes.OrderBy(p => p).ToArray(), o.OrderBy(p => p).ToArray());
            moved |= !planes.SequenceEqual(o);
        }
        Assert.True(moved);

        static string[] Planes(float[] x, int c, int hw) =>
            Enumerable.Range(0, c).Select(k => string.Join(",", x.Skip(k * hw).Take(hw))).ToArray();
    }

    [Fact]
    public void Gaussian_noise_has_the_requested_mean_and_std()
    {
        var o = new NoiseTransform(0.05, p: 1, mean: 0.02).Apply(Constant(3, 100, 100, 0.5f), new Generator(1)).ToArray();
        var d = o.Select(v => v - 0.5).ToArray();
        double mean = d.Average(), std = Math.Sqrt(d.Select(v => (v - mean) * (v - mean)).Average());
        Assert.Equal(0.02, mean, 0.0015);
        Assert.Equal(0.05, std, 0.0015);
    }

    [Fact]
    public void Colour_adjustments_follow_torchvision()
    {
        // Brightness alone scales every value by one factor in [0.5, 1.5].
        var image = Tensor.Rand([3, 5, 5], 4) * 0.6f + 0.01f;
        var x = image.ToArray();
        var o = new ColorJitter(brightness: 0.5).Apply(image, new Generator(2)).ToArray();
        double factor = o[0] / (double)x[0];
        Assert.InRange(factor, 0.5, 1.5);
        for (int i = 0; i < x.Length; i++) Assert.Equal(x[i] * factor, o[i], 1e-5);
        // Saturation and hue leave a 1-channel image alone; hue turns red into green by a third of a turn.
        var gray = Image(1, 4, 4, 6);
        Assert.Equal(gray.ToArray(), new ColorJitter(saturation: 1, hue: 0.5).Apply(gray, new Generator(1)).ToArray());
        float[] red = [1, 0.2f, 0, 0, 0, 0.2f];   // two pixels: red (1, 0, 0) and magenta (0.2, 0, 0.2)
        ColorJitter.ShiftHue(red, 2, 1.0 / 3);        // → green (0, 1, 0) and yellow (0.2, 0.2, 0)
        Assert.Equal([0, 0.2f, 1, 0.2f, 0, 0], red.Select(v => MathF.Round(v, 5)).ToArray());
        // Grayscale keeps 3 channels of luma.
        var g3 = new Grayscale(1).Apply(Tensor.FromArray([1f, 0f, 0f], 3, 1, 1), new Generator(0)).ToArray();
        Assert.Equal([0.299f, 0.299f, 0.299f], g3);
        // A blur keeps a constant image; reflect padding mirrors without repeating the edge.
        Assert.All(new GaussianBlur(5).Apply(Constant(1, 6, 6, 0.25f), new Generator(0)).ToArray(), v => Assert.Equal(0.25f, v, 1e-6f));
        Assert.Equal([2, 1, 0, 1, 2, 3, 4, 3], Enumerable.Range(-2, 8).Select(i => GaussianBlur.Reflect(i, 5)));
        var n = new Normalize([0.5f, 0.25f], [0.5f, 2f]).Apply(Tensor.FromArray([1f, 0.25f], 2, 1, 1), new Generator(0)).ToArray();
        Assert.Equal([1f, 0f], n);
    }

    static Transform Everything() => new Compose(
        new HorizontalFlip(), new RandomAffine(20, (0.1, 0.1), (0.9, 1.1), 10), new RandomRotation(15), new RandomCrop(14, 2),
        new RandomResizedCrop(16), new ColorJitter(0.3, 0.3, 0.3, 0.1), new Grayscale(0.3), new ChannelShuffle(),
        new GaussianBlur(3), new NoiseTransform(0.05), new SaltAndPepper(0.05), new Glare(), new Pattern(PatternKind.Stripes),
        new Pattern(PatternKind.Grid), new Pattern(PatternKind.Texture), new RandomErasing(), new Cutout(), new Rain(), new SunFlare(),
        new OneOf(new VerticalFlip(), new RandomApply(new Grayscale(1))), new RandomOrder(new Glare(1), new Rain(1)));

    [Fact]
    public void Same_seed_same_images_different_seeds_differ()
    {
        var image = Image(3, 16, 16, 7);
        var t = Everything();
        var a = t.Apply(image, new Generator(7)).ToArray();
        Assert.Equal(a, t.Apply(image, new Generator(7)).ToArray());
        Assert.NotEqual(a, t.Apply(image, new Generator(8)).ToArray());
        // Every transform at p = 1 keeps the shape and (all but Normalize) the range [0, 1].
        Transform[] each = [new Glare(1), new Pattern(PatternKind.Stripes, 0.5, 1), new Pattern(PatternKind.Grid, 0.5, 1),
            new Pattern(PatternKind.Texture, 0.5, 1), new Rain(1), new SunFlare(1), new SaltAndPepper(0.5, 1), new NoiseTransform(0.3, 1),
            new RandomErasing(1), new ColorJitter(0.5, 0.5, 0.5, 0.5), new RandomAffine(45, (0.2, 0.2), (0.8, 1.2), 20)];
        foreach (var one in each)
        {
            var o = one.Apply(image, new Generator(3));
            Assert.Equal([3, 16, 16], o.Shape);
            Assert.All(o.ToArray(), v => Assert.InRange(v, 0f, 1f));
            Assert.NotEqual(image.ToArray(), o.ToArray());
        }
    }

    [Fact]
    public void Parse_reads_the_documented_grammar()
    {
        var aug = Augmentation.Parse("hflip, vflip:0.3,rotate:15,affine:10:0.1:0.9:1.1:5,crop:4,resized-crop:0.5,jitter:0.2:0.2:0.2:0.05," +
            "brightness:0.3,contrast:0.3,saturation:0.2,hue:0.1,gray:0.2,shuffle,blur:3,noise:0.05,saltpepper:0.02:1,glare:0.3,stripes:0.3," +
            "grid:0.3:0.2,texture:0.3,erase:0.25,cutout:0.5,rain:0.2,sunflare:0.2:0.1,MIXUP:0.4");
        var chain = Assert.IsType<Compose>(aug.PerSample).Transforms;
        Assert.Equal(24, chain.Count);
        Assert.Equal(0.3, Assert.IsType<VerticalFlip>(chain[1]).P);
        var affine = Assert.IsType<RandomAffine>(chain[3]);
        Assert.Equal(((-10.0, 10.0), (0.1, 0.1), (0.9, 1.1), (-5.0, 5.0)), (affine.Degrees, affine.Translate, affine.Scale, affine.Shear));
        Assert.Equal(4, Assert.IsType<RandomCrop>(chain[4]).Padding);
        Assert.Equal(PatternKind.Grid, Assert.IsType<Pattern>(chain[18]).Kind);
        Assert.Equal(0.2, ((Pattern)chain[18]).Intensity);
        Assert.Equal(0.4, Assert.IsType<MixUp>(aug.PerBatch).Alpha);
        Assert.Equal(1.0, Assert.IsType<CutMix>(Augmentation.Parse("cutmix").PerBatch).Alpha);
        Assert.IsType<HorizontalFlip>(Augmentation.Parse("hflip").PerSample);
        Assert.True(Augmentation.Parse("none").IsEmpty);
        Assert.True(Augmentation.Parse("").IsEmpty);
        // The parsed chain runs on a batch of RGB images.
        var batch = new Batch(Tensor.Rand([4, 3, 12, 12], 1), IntTensor.FromArray([0, 1, 2, 3]), null, [0, 1, 2, 3]);
        var r = aug.Apply(batch, new Generator(1), 4);
        Assert.Equal([4, 3, 12, 12], r.Features.Shape);
        Assert.Equal([4, 4], r.Targets!.Shape);

        var e = Assert.Throws<FormatException>(() => Augmentation.Parse("hflip,sparkle:2"));
        Assert.Contains("\"sparkle\"", e.Message);
        Assert.Contains("hflip, vflip, rotate", e.Message);
        Assert.Contains("cutmix", e.Message);
        foreach (string bad in new[] { "rotate:abc", "rotate", "blur:4", "hflip:2", "crop:1.5", "mixup,cutmix", "hflip,,vflip", "affine:1:0:1", "noise:NaN" })
            Assert.Contains("Known names: hflip", Assert.Throws<FormatException>(() => Augmentation.Parse(bad)).Message);
        Assert.Contains("\"abc\"", Assert.Throws<FormatException>(() => Augmentation.Parse("rotate:abc")).Message);
    }

    [Fact]
    public void A_blur_wider_than_255_is_refused_by_the_spec_and_changes_nothing_up_to_it()
    {
        // Found by the fuzz harness: blur:2147483647 parsed, then asked for a 16 GB kernel; blur:1000001 took seconds an image.
        foreach (string spec in new[] { "blur:257", "blur:1000001", "blur:2147483647" })
            Assert.Contains("is over 255", Assert.Throws<FormatException>(() => Augmentation.Parse(spec)).Message);
        var image = Image(3, 8, 8, 5);
        var widest = Assert.IsType<GaussianBlur>(Augmentation.Parse("blur:255").PerSample);
        Assert.Equal(255, widest.KernelSize);
        // σ < 2: weights further than 77 pixels out are 0, so every kernel from 157 on gives the same image.
        Assert.Equal(new GaussianBlur(157).Apply(image, new Generator(4)).ToArray(), widest.Apply(image, new Generator(4)).ToArray());
    }

    [Fact]
    public void A_crop_padding_near_int_max_pads_instead_of_wrapping_around()
    {
        // Found by the fuzz harness: crop:1073741823 parsed, then 8 + 2·pad wrapped to a negative size and Apply threw.
        var image = Image(2, 8, 8, 6);
        foreach (int pad in new[] { 1 << 30, int.MaxValue / 2, int.MaxValue })
        {
            var o = new RandomCrop(null, pad).Apply(image, new Generator(pad));
            Assert.Equal([2, 8, 8], o.Shape);
            Assert.All(o.ToArray(), v => Assert.True(v == 0 || image.ToArray().Contains(v)));
        }
        // A spec, text a user typed, takes paddings up to MaxCropPadding; the transform itself takes any.
        var batch = new Batch(Tensor.Rand([2, 3, 8, 8], 1), IntTensor.FromArray([0, 1]), null, [0, 1]);
        Assert.Equal([2, 3, 8, 8], Augmentation.Parse($"crop:{Augmentation.MaxCropPadding}").Apply(batch, new Generator(1), 2).Features.Shape);
        Assert.Throws<FormatException>(() => Augmentation.Parse("crop:2147483647"));
        // Ordinary paddings draw their positions as before: NextInt over the 9 offsets of an 8-wide window in 16.
        var g = new Generator(3);
        Assert.Equal(new[] { g.NextInt(9), g.NextInt(9) }, Positions(new RandomCrop(null, 4), 3));
    }

    // The window's top-left corner (i, j) in the padded 8×8 image of values 1 … 64, found from the first pixel it kept.
    static int[] Positions(RandomCrop crop, int seed)
    {
        var values = Enumerable.Range(1, 8 * 8).Select(i => (float)i).ToArray();
        var o = crop.Apply(Tensor.FromArray(values, 1, 8, 8), new Generator(seed)).ToArray();
        int k = Array.FindIndex(o, v => v != 0), src = (int)o[k] - 1;
        return [src / 8 - k / 8 + crop.Padding, src % 8 - k % 8 + crop.Padding];
    }

    [Fact]
    public void An_augmented_loader_gives_the_same_batches_for_the_same_seed()
    {
        var features = Tensor.Rand([40, 3, 8, 8], 2);
        var data = new TensorDataset(features, IntTensor.FromArray(Enumerable.Range(0, 40).Select(i => i % 4).ToArray()));
        var aug = Augmentation.Parse("hflip,crop:2,jitter:0.3:0.3:0.3:0.1,erase:0.5,cutmix:1");
        Batch[] Run(int seed, bool background) =>
            new DataLoader(data, 16, seed: seed, background: background) { Transform = aug.AsLoaderTransform(data.NumClasses) }.Epoch(1).ToArray();
        float[][] Values(Batch[] batches) => batches.SelectMany(b => new[] { b.Features.ToArray(), b.Targets!.ToArray() }).ToArray();
        var a = Run(3, true);
        Assert.Equal(3, a.Length);
        Assert.Equal(Values(a), Values(Run(3, true)));
        Assert.Equal(Values(a), Values(Run(3, false)));
        Assert.NotEqual(a[0].Features.ToArray(), Run(4, true)[0].Features.ToArray());
        foreach (var b in a)
        {
            Assert.Null(b.Labels);
            Assert.Equal([b.Count, 3, 8, 8], b.Features.Shape);
            var t = b.Targets!.ToArray();
            for (int i = 0; i < b.Count; i++) Assert.Equal(1f, t[(i * 4)..(i * 4 + 4)].Sum(), 1e-6f);
        }

        // (N, H, W) images keep their rank; flat features are refused with a message.
        var flat = new Batch(Tensor.Rand([2, 5, 6], 1), IntTensor.FromArray([0, 1]), null, [0, 1]);
        Assert.Equal([2, 5, 6], new Augmentation(new RandomCrop(null, 1)).Apply(flat, new Generator(0), 2).Features.Shape);
        var rows = new Batch(Tensor.Rand([2, 30], 1), IntTensor.FromArray([0, 1]), null, [0, 1]);
        Assert.Contains("(N, C, H, W)", Assert.Throws<ArgumentException>(() => new Augmentation(new HorizontalFlip()).Apply(rows, new Generator(0), 2)).Message);
    }

    [Fact]
    public void Grid_tiles_images_with_white_gaps()
    {
        Tensor[] images = [Constant(1, 4, 3, 0.25f), Constant(3, 4, 3, 0), Constant(1, 4, 3, 2f), Constant(1, 4, 3, 0.5f), Constant(1, 4, 3, 0.75f)];
        var o = Augmentation.Grid(images, 3, out int h, out int w);
        Assert.Equal((10, 13), (h, w));
        Assert.Equal(3 * h * w, o.Length);
        float Px(int c, int r, int q) => o[(c * h + r) * w + q];
        Assert.Equal([0.25f, 0.25f, 0.25f], new[] { Px(0, 0, 0), Px(1, 3, 2), Px(2, 1, 1) });
        Assert.Equal(1f, Px(0, 0, 3));          // gap column
        Assert.Equal(0f, Px(2, 0, 5));          // the RGB image
        Assert.Equal(1f, Px(1, 2, 11));         // 2 clamps to 1
        Assert.Equal(1f, Px(0, 4, 0));          // gap row
        Assert.Equal(0.75f, Px(1, 6, 5));       // second row, second cell
        Assert.Equal(1f, Px(0, 9, 12));         // the empty sixth cell is white
    }
}

/// <summary>
/// Every name of the augmentation registry (<see cref="Augmentation.Registry"/>): a new augmentation is covered here by
/// its registry row.
/// </summary>
public class AugmentationRegistry
{
    public static TheoryData<string> Names() => new([.. Augmentation.KnownNames]);

    [Theory]
    [MemberData(nameof(Names))]
    public void Every_name_parses_its_example_and_bare_forms_and_augments_a_small_batch(string name)
    {
        var info = Augmentation.Registry.Single(r => r.Name == name);
        if (info.TakesFolder)
        {
            FolderItem(info);
            return;
        }
        Assert.StartsWith(name, info.Example);
        Assert.StartsWith(name, info.Usage);
        Assert.Contains($"  {info.Usage}", Augmentation.Grammar);
        var specs = info.MinArgs == 0 ? new[] { info.Example, name, name.ToUpperInvariant() } : [info.Example];
        var batch = new Batch(Tensor.Rand([4, 3, 12, 12], 2), IntTensor.FromArray([0, 1, 2, 0]), null, [0, 1, 2, 3]);
        foreach (string spec in specs)
        {
            var aug = Augmentation.Parse(spec);
            Assert.Equal(info.PerBatch, aug.PerBatch is not null);
            Assert.Equal(!info.PerBatch, aug.PerSample is not null);
            var a = aug.Apply(batch, new Generator(5), 3);
            Assert.Equal([4, 3, 12, 12], a.Features.Shape);
            Assert.All(a.Features.ToArray(), v => Assert.True(float.IsFinite(v), spec));
            if (info.PerBatch) Assert.Equal([4, 3], a.Targets!.Shape);
            Assert.Equal(a.Features.ToArray(), aug.Apply(batch, new Generator(5), 3).Features.ToArray());
        }
        // The argument counts the row gives are the ones the parser enforces.
        string Args(int count) => name + string.Concat(Enumerable.Repeat(":0.5", count));
        Assert.Contains("argument", Assert.Throws<FormatException>(() => Augmentation.Parse(Args(info.MaxArgs + 1))).Message);
        if (info.MinArgs > 0) Assert.Contains("argument", Assert.Throws<FormatException>(() => Augmentation.Parse(Args(info.MinArgs - 1))).Message);
    }

    // gan:DIR[:R]: an (untrained) generator saved as nabla gan train saves it replaces that fraction of the batch.
    static void FolderItem(AugmentationInfo info)
    {
        var dir = Directory.CreateTempSubdirectory("nabla-gan-aug");
        try
        {
            if (info.Name == "gan") Nabla.Generative.GanModel.Save(new Nabla.Generative.DcganGenerator(8, 3, [3, 12, 12], new Generator(1), width: 4), dir.FullName);
            else
            {
                var encoder = Nabla.Generative.FeatureNetwork.Vgg(["4", "M", "8"], new Generator(2), 3, imageNetNormalisation: false);
                new Nabla.Generative.AdaInStyler(encoder, "relu2_1", new Generator(3)).Save(dir.FullName, encoder.Kind!, encoder.Recipe);
            }
            var neural = new Nabla.Generative.NeuralAugmentations();
            var batch = new Batch(Tensor.Rand([4, 3, 12, 12], 2), IntTensor.FromArray([0, 1, 2, 0]), null, [0, 1, 2, 3]);
            var aug = Augmentation.Parse(info.Example.Replace("DIR", dir.FullName, StringComparison.Ordinal), neural);
            Assert.NotNull(info.Name == "gan" ? aug.Source : aug.Style);
            var a = aug.Apply(batch, new Generator(5), 3);
            Assert.Equal([4, 3, 12, 12], a.Features.Shape);
            var (x, y) = (batch.Features.ToArray(), a.Features.ToArray());
            int changed = Enumerable.Range(0, 4).Count(i => !x.AsSpan(i * 432, 432).SequenceEqual(y.AsSpan(i * 432, 432)));
            if (info.Name == "gan") Assert.Equal(2, changed);   // half of 4
            else Assert.InRange(changed, 1, 4);                 // each with probability ½ (this seed restyles some)
            Assert.Equal(batch.Labels!.Data, info.Name == "gan" ? batch.Labels.Data : a.Labels!.Data);
            Assert.All(y, v => Assert.InRange(v, 0f, 1f));
            Assert.Equal(y, aug.Apply(batch, new Generator(5), 3).Features.ToArray());
            Assert.Equal(4, Augmentation.Parse($"{info.Name}:{dir.FullName}:1", neural).Apply(batch, new Generator(6), 3).Labels!.Numel);
            Assert.Contains("folder", Assert.Throws<FormatException>(() => Augmentation.Parse(info.Name, neural)).Message);
            Assert.Contains("(0, 1]", Assert.Throws<FormatException>(() => Augmentation.Parse($"{info.Name}:{dir.FullName}:1.5", neural)).Message);
            Assert.Contains("trained network", Assert.Throws<FormatException>(() => Augmentation.Parse($"{info.Name}:{dir.FullName}")).Message);
            Assert.Contains("no trained", Assert.Throws<FormatException>(() => Augmentation.Parse($"{info.Name}:{dir.FullName}/nothing:0.5", neural)).Message);
            if (info.Name == "gan") Assert.Contains("classes", Assert.Throws<ArgumentException>(() => aug.Apply(batch, new Generator(5), 4)).Message);
            else Assert.Contains("(N, 3, H, W)", Assert.Throws<ArgumentException>(() => aug.Apply(batch with { Features = Tensor.Rand([4, 1, 12, 12], 3) }, new Generator(5), 3)).Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Names_are_unique_and_the_grammar_lists_each_once()
    {
        Assert.Equal(Augmentation.KnownNames.Count, Augmentation.KnownNames.Distinct().Count());
        Assert.Equal(Augmentation.Registry.Count + 1, Augmentation.Grammar.Split('\n').Length);
        Assert.Contains($"Known names: {string.Join(", ", Augmentation.KnownNames)}.",
            Assert.Throws<FormatException>(() => Augmentation.Parse("sparkle")).Message);
    }
}
