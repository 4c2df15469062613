using Nabla.Backends;
using Nabla.Kernels;

namespace Nabla.Tests;

/// <summary>Every fast kernel against its naive twin, over layouts that exercise each path.</summary>
public class KernelTests
{
    static float[] Rand(int n, int seed, float lo = -2f, float hi = 2f) => Tensor.Uniform([n], lo, hi, new Generator(seed)).ToArray();

    public static TheoryData<BinaryOp> BinaryOps() => new(Enum.GetValues<BinaryOp>());
    public static TheoryData<UnaryOp> UnaryOps() => new(Enum.GetValues<UnaryOp>());

    // (a shape, b shape): same shape, row broadcast, column broadcast (stride-0 inner), scalar both sides, 3-D mix.
    static readonly (int[] a, int[] b)[] Layouts =
    [
        ([37], [37]), ([5, 33], [33]), ([5, 33], [5, 1]), ([1], [4, 9]), ([4, 9], []), ([2, 1, 17], [3, 1]), ([3, 17], [2, 3, 17]),
    ];

    [Theory]
    [MemberData(nameof(BinaryOps))]
    public void Binary_fast_matches_naive_on_every_layout(BinaryOp op)
    {
        foreach (var (sa, sb) in Layouts)
        {
            var a = Tensor.FromArray(Rand(Shapes.Numel(sa), 1), sa);
            var b = Tensor.FromArray(Rand(Shapes.Numel(sb), 2, 0.25f, 2f), sb); // positive: safe divisor
            var shape = Shapes.Broadcast(sa, sb, "test");
            var fast = Tensor.Zeros(shape);
            CpuBackend.Instance.Binary(op, a, b, fast, -0.5f, 0.5f);
            var naive = new float[Shapes.Numel(shape)];
            ElementwiseNaive.Binary(op, shape, a.ToArray(), CpuBackend.BroadcastStrides(a, shape), 0,
                b.ToArray(), CpuBackend.BroadcastStrides(b, shape), 0, naive, Shapes.ContiguousStrides(shape), 0, -0.5f, 0.5f);
            var f = fast.ToArray();
            for (int i = 0; i < f.Length; i++)
                Assert.True(Math.Abs(f[i] - naive[i]) <= 1e-6f * Math.Max(1f, Math.Abs(naive[i])),
                    $"{op} {Shapes.Format(sa)}·{Shapes.Format(sb)} [{i}]: fast {f[i]}, naive {naive[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(UnaryOps))]
    public void Unary_fast_matches_naive_on_contiguous_and_strided_input(UnaryOp op)
    {
        var x = Tensor.FromArray(Rand(7 * 9, 3, 0.1f, 2f), 7, 9); // positive: valid for log and sqrt
        foreach (var view in new[] { x, x.T, x.Slice(1, 0, 9, 2) })
        {
            var fast = Tensor.Zeros(view.Shape.ToArray());
            CpuBackend.Instance.Unary(op, view, fast, 1.3f, 1.7f);
            var naive = new float[view.Numel];
            var vs = view.Shape.ToArray();
            ElementwiseNaive.Unary(op, vs, ((CpuStorage)view.Storage).Data, view.Strides.ToArray(), view.Offset,
                naive, Shapes.ContiguousStrides(vs), 0, 1.3f, 1.7f);
            var f = fast.ToArray();
            for (int i = 0; i < f.Length; i++)
                Assert.True(Math.Abs(f[i] - naive[i]) <= 2e-6f * Math.Max(1f, Math.Abs(naive[i])), $"{op} [{i}]: fast {f[i]}, naive {naive[i]}");
        }
    }

    [Theory]
    [InlineData(ReduceOp.Sum, 3, 50, 1)]
    [InlineData(ReduceOp.Sum, 1, 129, 7)]
    [InlineData(ReduceOp.Sum, 4, 1, 5)]
    [InlineData(ReduceOp.Max, 3, 50, 1)]
    [InlineData(ReduceOp.Max, 2, 33, 9)]
    [InlineData(ReduceOp.Sum, 2, 0, 3)]
    public void Reduce_fast_matches_naive(ReduceOp op, int outer, int r, int inner)
    {
        var x = Rand(outer * r * inner, 4);
        var fast = new float[outer * inner];
        var naive = new float[outer * inner];
        Reduce.OuterInner(op, x, fast, outer, r, inner);
        ReduceNaive.OuterInner(op, x, naive, outer, r, inner);
        for (int i = 0; i < fast.Length; i++)
            Assert.True(Math.Abs(fast[i] - naive[i]) <= 1e-5f * Math.Max(1f, Math.Abs(naive[i])), $"[{i}]: fast {fast[i]}, naive {naive[i]}");
    }

    // Above ParallelFor.StreamingMinWork the rows are split over threads: the bits must not depend on the split.
    [Theory]
    [InlineData(ReduceOp.Sum, 128 * 64, 196, 1)]   // a conv bias gradient's first pass
    [InlineData(ReduceOp.Sum, 300, 7, 200)]
    [InlineData(ReduceOp.Max, 1000, 250, 1)]
    public void Reduce_split_over_threads_gives_the_same_bits(ReduceOp op, int outer, int r, int inner)
    {
        var x = Rand(outer * r * inner, 5);
        var one = new float[outer * inner];
        var two = new float[outer * inner];
        var naive = new float[outer * inner];
        int saved = Threads.Count;
        try
        {
            Threads.Count = 1;
            Reduce.OuterInner(op, x, one, outer, r, inner);
            Threads.Count = 2;
            Reduce.OuterInner(op, x, two, outer, r, inner);
        }
        finally { Threads.Count = saved; }
        ReduceNaive.OuterInner(op, x, naive, outer, r, inner);
        Assert.Equal(one, two);
        for (int i = 0; i < naive.Length; i++)
            Assert.True(Math.Abs(one[i] - naive[i]) <= 1e-4f * Math.Max(1f, Math.Abs(naive[i])), $"[{i}]: fast {one[i]}, naive {naive[i]}");
    }

    // The activation backwards' SIMD loops (each vector width, then the scalar tail) give the scalar formula's bits,
    // NaN, ±0 and ±∞ included.
    [Theory]
    [InlineData(BinaryOp.ReluGrad)]
    [InlineData(BinaryOp.SigmoidGrad)]
    [InlineData(BinaryOp.TanhGrad)]
    public void Activation_gradients_give_the_scalar_bits_at_every_length(BinaryOp op)
    {
        float[] special = [float.NaN, 0f, -0f, float.PositiveInfinity, float.NegativeInfinity, 1e-30f, -1e-30f];
        for (int n = 0; n <= 70; n++)
        {
            var g = Rand(n, 10 + n);
            var v = Rand(n, 200 + n);
            for (int i = 0; i < n; i += 5) v[i] = special[i / 5 % special.Length];
            for (int i = 2; i < n; i += 7) g[i] = special[i / 7 % special.Length];
            var y = new float[n];
            Elementwise.BinaryRow(op, g, 1, v, 1, y, 1, n, 0, 0);
            for (int i = 0; i < n; i++)
                Assert.True(BitConverter.SingleToInt32Bits(y[i]) == BitConverter.SingleToInt32Bits(ElementwiseNaive.Binary(op, g[i], v[i], 0, 0)) ||
                    float.IsNaN(y[i]) && float.IsNaN(ElementwiseNaive.Binary(op, g[i], v[i], 0, 0)),
                    $"{op} n={n} [{i}]: g {g[i]}, v {v[i]}: {y[i]} vs {ElementwiseNaive.Binary(op, g[i], v[i], 0, 0)}");
        }
    }

    [Fact]
    public void Reduce_propagates_NaN_in_max()
    {
        var y = new float[1];
        Reduce.OuterInner(ReduceOp.Max, [1f, float.NaN, 3f], y, 1, 3, 1);
        Assert.True(float.IsNaN(y[0]));
    }

    [Theory]
    [InlineData(4, 10, false)]
    [InlineData(4, 10, true)]
    [InlineData(3, 1, false)]
    [InlineData(2, 300, true)]
    public void Softmax_fast_matches_naive(int rows, int n, bool log)
    {
        var x = Rand(rows * n, 5, -30f, 30f);
        var fast = new float[x.Length];
        var naive = new float[x.Length];
        Nabla.Kernels.Softmax.Rows(x, fast, rows, n, log);
        SoftmaxNaive.Rows(x, naive, rows, n, log);
        for (int i = 0; i < x.Length; i++)
            Assert.True(Math.Abs(fast[i] - naive[i]) <= 1e-5f * Math.Max(1f, Math.Abs(naive[i])), $"[{i}]: fast {fast[i]}, naive {naive[i]}");
    }

    [Fact]
    public void Softmax_is_stable_for_huge_logits()
    {
        var y = Tensor.FromArray([1000f, 1000f, -1000f]).Softmax(0).ToArray();
        Assert.Equal([0.5f, 0.5f, 0f], y);
        var l = Tensor.FromArray([1000f, 0f]).LogSoftmax(0).ToArray();
        Assert.Equal(0f, l[0]);
        Assert.Equal(-1000f, l[1]);
    }

    [Fact]
    public void Row_plan_merges_contiguous_dims()
    {
        var plan = RowPlan.Create([2, 3, 4], [[12, 4, 1], [12, 4, 1]], [0, 0]);
        Assert.Equal(1, plan.Rows);
        Assert.Equal(24, plan.Inner);
        var bias = RowPlan.Create([5, 7], [[7, 1], [0, 1]], [0, 0]);
        Assert.Equal(5, bias.Rows);
        Assert.Equal(7, bias.Inner);
    }
}

/// <summary>The threaded and vectorised pooling and convolution paths against their definitions.</summary>
public class FastKernelTests
{
    // Values on a coarse grid (many ties) with NaNs sprinkled in: the first-maximum and NaN rules must hold exactly.
    static float[] TiesAndNaNs(int n, int seed)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = rng.Next(50) == 0 ? float.NaN : rng.Next(-3, 4);
        return v;
    }

    [Theory]
    [InlineData(3, 5, 20, 37)]   // OW = 18: two vector blocks and a scalar tail; odd W leaves a column out
    [InlineData(2, 3, 33, 16)]   // OW = 8 exactly; odd H
    [InlineData(2, 3, 10, 15)]   // OW = 7: four-wide blocks, the last one overlapping
    [InlineData(2, 2, 6, 6)]     // OW = 3: scalar rows
    [InlineData(1, 1, 2, 2)]     // one window
    [InlineData(128, 32, 28, 28)] // cnn's first pooling: large enough to run on every thread
    public void MaxPool2x2_vectorised_and_threaded_equals_the_definition(int n, int c, int h, int w)
    {
        var g = new PoolGeometry(n, c, h, w, 2, 2, 2, 2, 0, 0, 1, 1, false);
        var x = TiesAndNaNs(n * c * h * w, h * w);
        int outs = n * c * g.OH * g.OW;
        var (y, am) = (new float[outs], new int[outs]);
        var (yRef, amRef) = (new float[outs], new int[outs]);
        Pool2d.MaxForward(x, y, am, g);
        Pool2d.MaxPlanes(x, yRef, amRef, g, 0, n * c);
        Assert.Equal(amRef, am);
        Assert.Equal(yRef, y);

        var gy = Tensor.Randn([outs], new Generator(3)).ToArray();
        var gx = Enumerable.Repeat(float.NaN, x.Length).ToArray(); // overwritten, not accumulated into
        Pool2d.MaxBackward(gy, am, gx, g);
        var gxRef = new float[x.Length];
        int perIn = h * w, perOut = g.OH * g.OW;
        for (int i = 0; i < outs; i++) gxRef[i / perOut * perIn + amRef[i]] += gy[i];
        Assert.Equal(gxRef, gx);
    }

    // One training step of conv → BatchNorm → ReLU → max pool → Linear, big enough for every kernel to split.
    static float[][] Step()
    {
        var g = new Generator(21);
        var x = Tensor.Randn([16, 8, 20, 20], g).RequiresGrad_();
        var w = Tensor.Randn([12, 8, 3, 3], g).RequiresGrad_();
        var bn = new BatchNorm2d(12);
        var fc = new Linear(12 * 10 * 10, 5, g);
        var y = fc.Forward(Functional.MaxPool2d(bn.Forward(Functional.Conv2d(x, w, null, (1, 1), (1, 1))).Relu(), 2).Reshape(16, -1));
        (y * y).Sum().Backward();
        return [y.ToArray(), x.Grad!.ToArray(), w.Grad!.ToArray(), bn.Weight!.Grad!.ToArray(), bn.RunningVar!.ToArray()];
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        int before = Threads.Count;
        try
        {
            Threads.Count = 1;
            var one = Step();
            foreach (int t in new[] { 2, 3 })
            {
                Threads.Count = t;
                var many = Step();
                for (int i = 0; i < one.Length; i++) Assert.Equal(one[i], many[i]);
            }
        }
        finally
        {
            Threads.Count = before;
        }
    }

    [Fact]
    public void BatchNorm_statistics_match_a_double_reference_on_a_threaded_size()
    {
        int n = 32, c = 6, s = 225;
        var x = Tensor.Randn([n * c * s], new Generator(4)).ToArray();
        for (int i = 0; i < x.Length; i++) x[i] = x[i] * 3f + 100f; // a large mean: the two-pass variance must not cancel
        var (mean, variance) = (new float[c], new float[c]);
        Nabla.Kernels.BatchNorm.Statistics(x, n, c, s, mean, variance);
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0, sq = 0;
            for (int i = 0; i < n; i++) for (int k = 0; k < s; k++) sum += x[(i * c + ch) * s + k];
            double mu = sum / (n * s);
            for (int i = 0; i < n; i++) for (int k = 0; k < s; k++) sq += Math.Pow(x[(i * c + ch) * s + k] - mu, 2);
            Assert.Equal(mu, mean[ch], 1e-4 * Math.Abs(mu));
            Assert.Equal(sq / (n * s), variance[ch], 1e-4 * (sq / (n * s)));
        }
    }

    [Theory]
    [InlineData(0f, 1f)]
    [InlineData(0.01f, 1f)]
    [InlineData(0f, 0.999f)]
    public void Adam_kernel_gives_the_same_bits_at_every_vector_width(float l2, float decay)
    {
        int n = 2 * 16 * 1024 + 37;   // two threaded blocks and a tail shorter than any vector
        var rng = new Random(5);
        float[] Fill(float scale, bool positive) =>
            Enumerable.Range(0, n).Select(_ => (positive ? rng.NextSingle() : rng.NextSingle() - 0.5f) * scale).ToArray();
        float[] p0 = Fill(2, false), g = Fill(1, false), m0 = Fill(0.1f, false), v0 = Fill(0.01f, true);
        float[][] Run(int bits)
        {
            float[] p = (float[])p0.Clone(), m = (float[])m0.Clone(), v = (float[])v0.Clone();
            for (int step = 0; step < 3; step++)
                Nabla.Kernels.OptimizerKernels.Adam(p, g, m, v, [], l2, decay, 0.9f, 0.1f, 0.999f, 0.001f, 0.03f, 1e-8f, -0.01f, false, bits);
            return [p, m, v];
        }
        var scalar = Run(0);
        foreach (int bits in new[] { 256, 512 })
        {
            var wide = Run(bits);
            for (int k = 0; k < 3; k++) Assert.Equal(scalar[k].Select(BitConverter.SingleToInt32Bits), wide[k].Select(BitConverter.SingleToInt32Bits));
        }
        Assert.NotEqual(p0, scalar[0]);
    }
}

public class BatchNormPlaneTests
{
    // The one-pass plane loops against a TensorPrimitives pass per operation (what they replaced): the same bits for
    // every length around the vector widths, with NaN, ±0 and ±∞ in the data, with and without x̂, γ and β.
    [Fact]
    public void One_pass_planes_give_the_bits_of_a_pass_per_operation()
    {
        var g = new Generator(5);
        for (int n = 0; n <= 70; n++)
            foreach (var (gamma, beta, keep) in new[] { (1f, 0f, false), (1f, 0f, true), (1.5f, -0.25f, false), (0.7f, 0.3f, true) })
            {
                var x = new float[n];
                var dy = new float[n];
                for (int i = 0; i < n; i++) { x[i] = (float)g.NextNormal(); dy[i] = (float)g.NextNormal(); }
                if (n > 3) { x[0] = float.NaN; x[1] = -0f; x[2] = float.PositiveInfinity; x[3] = 0.5f; dy[1] = -0f; }
                float mean = 0.5f, inv = 1.7f;
                // Reference: the passes the kernel used to make.
                var refH = new float[n];
                var refY = new float[n];
                var dst = keep ? refH : refY;
                System.Numerics.Tensors.TensorPrimitives.Subtract(x, mean, dst);
                System.Numerics.Tensors.TensorPrimitives.Multiply(dst, inv, dst);
                if (keep || gamma != 1f || beta != 0f)
                {
                    System.Numerics.Tensors.TensorPrimitives.Multiply(dst, gamma, refY);
                    System.Numerics.Tensors.TensorPrimitives.Add(refY, beta, refY);
                }
                var h = new float[n];
                var y = new float[n];
                Nabla.Kernels.BatchNorm.NormalizePlane(x, mean, inv, gamma, beta, keep ? h : default, y);
                Assert.Equal(Bits(refY), Bits(y));
                if (keep) Assert.Equal(Bits(refH), Bits(h));
                // With the ReLU fused: the bits of the ReLU kernel's own pass over the normalised plane.
                System.Numerics.Tensors.TensorPrimitives.Max(refY, 0f, refY);
                Nabla.Kernels.BatchNorm.NormalizePlane(x, mean, inv, gamma, beta, keep ? h : default, y, relu: true);
                Assert.Equal(Bits(refY), Bits(y));
                if (keep) Assert.Equal(Bits(refH), Bits(h));

                var refDx = new float[n];
                System.Numerics.Tensors.TensorPrimitives.Multiply(x, -0.3f, refDx);
                System.Numerics.Tensors.TensorPrimitives.Add(refDx, dy, refDx);
                System.Numerics.Tensors.TensorPrimitives.Add(refDx, -0.2f, refDx);
                System.Numerics.Tensors.TensorPrimitives.Multiply(refDx, gamma, refDx);
                var dx = new float[n];
                Nabla.Kernels.BatchNorm.BackwardPlane(dy, x, 0.2f, 0.3f, gamma, dx);
                Assert.Equal(Bits(refDx), Bits(dx));
                var inPlace = (float[])dy.Clone();   // the fused backward runs it in place on the masked dy
                Nabla.Kernels.BatchNorm.BackwardPlane(inPlace, x, 0.2f, 0.3f, gamma, inPlace);
                Assert.Equal(Bits(refDx), Bits(inPlace));
            }
    }

    static int[] Bits(float[] v) => [.. v.Select(BitConverter.SingleToInt32Bits)];
}
