using System.Text.Json;
using Nabla.Autograd;
using Nabla.Kernels;

namespace Nabla.Tests;

/// <summary>
/// Convolution and pooling against PyTorch (tests/fixtures/conv.json): forward and every gradient at 1e-5
/// relative, a finite-difference check per row, and the im2col kernels against the naive convolution.
/// </summary>
public class ConvCases
{
    static readonly Lazy<JsonElement[]> Cases = new(() => Fixtures.Load("conv.json").GetProperty("cases").EnumerateArray().ToArray());

    public static TheoryData<string> Names()
    {
        var d = new TheoryData<string>();
        foreach (var c in Cases.Value) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    static JsonElement Case(string name) => Cases.Value.Single(c => c.GetProperty("name").GetString() == name);

    static (int, int) Pair(JsonElement a, string k) => (a.GetProperty(k)[0].GetInt32(), a.GetProperty(k)[1].GetInt32());

    static Func<Tensor[], Tensor> Op(JsonElement c)
    {
        var a = c.GetProperty("attrs");
        return c.GetProperty("op").GetString() switch
        {
            "conv2d" => x => Functional.Conv2d(x[0], x[1], x.Length > 2 ? x[2] : null, Pair(a, "stride"), Pair(a, "padding"), Pair(a, "dilation"), a.GetProperty("groups").GetInt32()),
            "max_pool2d" => x => Ops.MaxPool2dOp.Forward(x[0], Pair(a, "kernel_size"), Pair(a, "stride"), Pair(a, "padding"), Pair(a, "dilation"), a.GetProperty("ceil_mode").GetBoolean()),
            "avg_pool2d" => x => Ops.AvgPool2dOp.Forward(x[0], Pair(a, "kernel_size"), Pair(a, "stride"), Pair(a, "padding"), a.GetProperty("ceil_mode").GetBoolean(),
                a.GetProperty("count_include_pad").GetBoolean(), null),
            "adaptive_avg_pool2d" => x => Functional.AdaptiveAvgPool2d(x[0], a.GetProperty("output_size")[0].GetInt32(), a.GetProperty("output_size")[1].GetInt32()),
            var op => throw new NotSupportedException(op),
        };
    }

    static Tensor[] Inputs(JsonElement c)
    {
        var list = new List<Tensor> { Fixtures.Tensor(c.GetProperty("input")) };
        if (c.TryGetProperty("weight", out var w)) list.Add(Fixtures.Tensor(w));
        if (c.TryGetProperty("bias", out var b)) list.Add(Fixtures.Tensor(b));
        return list.ToArray();
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Matches_pytorch(string name)
    {
        var c = Case(name);
        var xs = Inputs(c).Select(t => t.RequiresGrad_()).ToArray();
        var y = Op(c)(xs);
        Fixtures.Close($"{name} output", c.GetProperty("output"), y);
        y.Backward(Fixtures.Tensor(c.GetProperty("grad_output")));
        Fixtures.Close($"{name} grad_input", c.GetProperty("grad_input"), xs[0].Grad!);
        // The weight gradient sums N·OH·OW products of O(1) values in float32: allow that sum's rounding.
        if (xs.Length > 1) Fixtures.Close($"{name} grad_weight", c.GetProperty("grad_weight"), xs[1].Grad!, atol: 5e-6);
        if (xs.Length > 2) Fixtures.Close($"{name} grad_bias", c.GetProperty("grad_bias"), xs[2].Grad!);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Gradient_matches_finite_differences(string name)
    {
        var c = Case(name);
        var result = GradCheck.Check(Op(c), Inputs(c));
        Assert.True(result.Passed, $"{name}: {result.Message}");
    }

    public static TheoryData<int, int, int, int, int, int, int, int, int> Geometries() => new()
    {
        // C, H, W, OutC, k, stride, pad, dilation, groups
        { 3, 8, 8, 5, 3, 1, 1, 1, 1 },
        { 4, 9, 7, 6, 3, 2, 1, 1, 2 },
        { 3, 10, 10, 3, 3, 1, 2, 2, 3 },
        { 8, 6, 6, 16, 1, 1, 0, 1, 1 },
        { 2, 7, 11, 4, 5, 3, 2, 1, 1 },
        { 6, 5, 5, 4, 1, 2, 0, 1, 2 },
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Im2col_kernels_match_the_naive_convolution(int c, int h, int w, int outC, int k, int s, int p, int d, int groups)
    {
        var geo = new ConvGeometry(2, c, h, w, outC, k, k, s, s, p, p, d, d, groups);
        var g = new Generator(c * 100 + h);
        var x = Tensor.Randn([2, c, h, w], g).ToArray();
        var wt = Tensor.Randn([outC, c / groups, k, k], g).ToArray();
        var gy = Tensor.Randn([2, outC, geo.OH, geo.OW], g).ToArray();
        void Same(float[] fast, float[] naive, string what)
        {
            for (int i = 0; i < fast.Length; i++)
                Assert.True(Math.Abs(fast[i] - naive[i]) <= 1e-4f * (1 + Math.Abs(naive[i])), $"{what}[{i}]: fast {fast[i]}, naive {naive[i]}");
        }
        float[] F(int n) => new float[n];
        var (y1, y2) = (F(gy.Length), F(gy.Length));
        Nabla.Kernels.Conv2d.Forward(x, wt, y1, geo);
        ConvNaive.Forward(x, wt, y2, geo);
        Same(y1, y2, "forward");
        var (gx1, gx2) = (F(x.Length), F(x.Length));
        Nabla.Kernels.Conv2d.BackwardData(gy, wt, gx1, geo);
        ConvNaive.BackwardData(gy, wt, gx2, geo);
        Same(gx1, gx2, "grad input");
        var (gw1, gw2) = (F(wt.Length), F(wt.Length));
        Nabla.Kernels.Conv2d.BackwardWeight(gy, x, gw1, geo);
        ConvNaive.BackwardWeight(gy, x, gw2, geo);
        Same(gw1, gw2, "grad weight");
    }

    public static TheoryData<int, int, int, int, int, int, int, int, int, int> TiledGeometries() => new()
    {
        // C, H, W, OutC, k, stride, pad, dilation, groups, widest column block
        { 3, 9, 11, 5, 3, 1, 1, 1, 1, 16 },   // one sample cut into 16-column tiles that straddle output rows
        { 3, 9, 11, 5, 3, 1, 1, 1, 1, 40 },   // tiles of 48 columns, a short last tile
        { 4, 9, 7, 6, 3, 2, 1, 1, 2, 7 },     // strided, grouped, tiles narrower than an output row
        { 8, 6, 6, 16, 1, 1, 0, 1, 1, 20 },   // 1×1: x read in place, tiled
        { 8, 6, 6, 16, 1, 1, 0, 1, 1, 100 },  // 1×1, two samples per block (gathered)
        { 2, 5, 5, 4, 3, 1, 1, 1, 1, 60 },    // two samples per block, three blocks for five samples
        { 2, 16, 16, 4, 3, 1, 1, 1, 1, 1000 }, // 256 positions: a whole sample per block, written in place
        { 6, 5, 5, 4, 1, 2, 0, 1, 2, 5 },
        { 1, 9, 11, 12, 3, 1, 1, 1, 1, 40 },  // C·kh·kw = 9 < 12 output channels: gWᵀ = col·gyᵀ
        { 4, 7, 7, 12, 1, 1, 0, 1, 2, 30 },   // the same per group, 1×1
        { 2, 5, 5, 3, 5, 1, 2, 1, 1, 16 },    // 5×5, padding 2: a tile ends one column into a row, inside the padding
        { 2, 5, 3, 3, 3, 1, 2, 1, 1, 16 },    // 3×3, padding 2 (7×5 out, the row-by-row im2col): the same tile end
    };

    [Theory]
    [MemberData(nameof(TiledGeometries))]
    public void Tiled_kernels_match_the_naive_convolution_for_every_block_shape(int c, int h, int w, int outC, int k, int s, int p, int d, int groups, int maxColumns)
    {
        var geo = new ConvGeometry(5, c, h, w, outC, k, k, s, s, p, p, d, d, groups);
        var g = new Generator(c * 31 + maxColumns);
        var x = Tensor.Randn([5, c, h, w], g).ToArray();
        var wt = Tensor.Randn([outC, c / groups, k, k], g).ToArray();
        var bias = Tensor.Randn([outC], g).ToArray();
        var gy = Tensor.Randn([5, outC, geo.OH, geo.OW], g).ToArray();
        void Same(float[] fast, float[] naive, string what)
        {
            for (int i = 0; i < fast.Length; i++)
                Assert.True(Math.Abs(fast[i] - naive[i]) <= 1e-4f * (1 + Math.Abs(naive[i])), $"{what}[{i}]: fast {fast[i]}, naive {naive[i]}");
        }
        // Outputs start as NaN: every element must be written.
        float[] F(int n) { var a = new float[n]; Array.Fill(a, float.NaN); return a; }
        var (y1, y2) = (F(gy.Length), F(gy.Length));
        Nabla.Kernels.Conv2d.Forward(x, wt, y1, geo, bias, maxColumns);
        ConvNaive.Forward(x, wt, y2, geo);
        for (int i = 0; i < y2.Length; i++) y2[i] += bias[i / geo.P % outC];
        Same(y1, y2, "forward");
        var (gx1, gx2) = (F(x.Length), F(x.Length));
        Nabla.Kernels.Conv2d.BackwardData(gy, wt, gx1, geo, maxColumns);
        ConvNaive.BackwardData(gy, wt, gx2, geo);
        Same(gx1, gx2, "grad input");
        var (gw1, gw2) = (F(wt.Length), F(wt.Length));
        Nabla.Kernels.Conv2d.BackwardWeight(gy, x, gw1, geo, maxColumns);
        ConvNaive.BackwardWeight(gy, x, gw2, geo);
        Same(gw1, gw2, "grad weight");
    }

    [Theory]
    [InlineData(2, 5, 7, 3, 3, 1, 1)]     // 3×3 "same" on a non-square image
    [InlineData(3, 6, 6, 5, 5, 2, 2)]     // 5×5 with padding 2: offsets up to two rows and columns
    [InlineData(1, 4, 9, 1, 3, 0, 1)]     // 1×3: column offsets only
    [InlineData(2, 3, 3, 3, 3, 1, 1)]     // a plane smaller than the kernel's reach
    public void Same_padding_im2col_by_plane_copies_equals_the_row_by_row_path(int c, int h, int w, int kh, int kw, int ph, int pw)
    {
        var geo = new ConvGeometry(1, c, h, w, 2, kh, kw, 1, 1, ph, pw, 1, 1, 1);
        var x = Enumerable.Range(0, c * h * w).Select(i => 1f + i).ToArray();   // no zeros: a missed copy shows
        int p = geo.P, k = c * kh * kw;
        foreach (var (p0, p1) in new[] { (0, p), (1, p - 1), (w, 2 * w), (w - 1, w + 2), (p - 1, p), (2, 3) })
        {
            if (p1 <= p0) continue;
            int ld = p1 - p0 + 3;   // a wider stride than the block: the gaps must stay untouched
            var fast = Enumerable.Repeat(float.NaN, k * ld).ToArray();
            var rows = Enumerable.Repeat(float.NaN, k * ld).ToArray();
            Nabla.Kernels.Conv2d.Im2Col(x, fast, geo, ld, p0, p1, planeCopies: true);
            Nabla.Kernels.Conv2d.Im2Col(x, rows, geo, ld, p0, p1, planeCopies: false);
            Assert.Equal(rows.Select(BitConverter.SingleToInt32Bits), fast.Select(BitConverter.SingleToInt32Bits));

            // The adjoint: adding col back by shifted runs gives Col2Im's bits (the image starts at +0, as in BackwardData).
            var g = new Generator(p0 + 7);
            var col = Tensor.Randn([k * ld], g).ToArray();
            var (sum1, sum2) = (new float[c * h * w], new float[c * h * w]);
            Nabla.Kernels.Conv2d.Col2Im(col, sum1, geo, ld, p0, p1);
            Nabla.Kernels.Conv2d.Col2ImSamePadding((float[])col.Clone(), sum2, geo, ld, p0, p1);
            Assert.Equal(sum1.Select(BitConverter.SingleToInt32Bits), sum2.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void Im2col_ranges_outside_the_output_positions_are_refused()
    {
        var geo = new ConvGeometry(1, 1, 4, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1);   // 16 output positions
        var x = new float[16];
        var col = new float[9 * 16];
        Assert.Throws<ArgumentOutOfRangeException>(() => Nabla.Kernels.Conv2d.Im2Col(x, col, geo, 16, 0, 17));
        Assert.Throws<ArgumentOutOfRangeException>(() => Nabla.Kernels.Conv2d.Im2Col(x, col, geo, 16, -1, 4));
        Assert.Contains("[0, 16)", Assert.Throws<ArgumentOutOfRangeException>(() => Nabla.Kernels.Conv2d.Col2Im(col, x, geo, 16, 5, 4)).Message);
    }

    [Fact]
    public void Tiled_kernels_give_the_same_bits_for_any_thread_count()
    {
        // A cnn-sized layer: enough blocks and weight-gradient runs for every thread to get work.
        var geo = new ConvGeometry(16, 8, 14, 14, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        var g = new Generator(7);
        var x = Tensor.Randn([16, 8, 14, 14], g).ToArray();
        var wt = Tensor.Randn([16, 8, 3, 3], g).ToArray();
        var gy = Tensor.Randn([16, 16, 14, 14], g).ToArray();
        (float[] y, float[] gx, float[] gw) Run(int threads)
        {
            int saved = Threads.Count;
            Threads.Count = threads;
            try
            {
                var (y, gx, gw) = (new float[gy.Length], new float[x.Length], new float[wt.Length]);
                Nabla.Kernels.Conv2d.Forward(x, wt, y, geo, default, 64);
                Nabla.Kernels.Conv2d.BackwardData(gy, wt, gx, geo, 64);
                Nabla.Kernels.Conv2d.BackwardWeight(gy, x, gw, geo, 64);
                return (y, gx, gw);
            }
            finally { Threads.Count = saved; }
        }
        var one = Run(1);
        foreach (int threads in new[] { 2, 3, 5 })
        {
            var other = Run(threads);
            Assert.Equal(one.y, other.y);
            Assert.Equal(one.gx, other.gx);
            Assert.Equal(one.gw, other.gw);
        }
    }

    [Fact]
    public void Shape_errors_name_the_shapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => Functional.Conv2d(Tensor.Zeros(1, 3, 8, 8), Tensor.Zeros(4, 2, 3, 3)));
        Assert.Contains("(1, 3, 8, 8)", ex.Message);
        Assert.Contains("(4, 2, 3, 3)", ex.Message);
        Assert.Throws<ArgumentException>(() => Functional.Conv2d(Tensor.Zeros(3, 8, 8), Tensor.Zeros(4, 3, 3, 3)));
        Assert.Contains("too small", Assert.Throws<ArgumentException>(() => Functional.Conv2d(Tensor.Zeros(1, 1, 2, 2), Tensor.Zeros(1, 1, 3, 3))).Message);
        Assert.Throws<ArgumentException>(() => Functional.MaxPool2d(Tensor.Zeros(1, 1, 4, 4), 3, padding: 2));
        Assert.Throws<ArgumentException>(() => new Conv2d(3, 4, 3, new Generator(0), groups: 2));
    }

    [Fact]
    public void Cnn_spec_has_pytorch_keys_and_trains_a_step()
    {
        var net = Models.FromSpec("cnn", [1, 28, 28], 10, new Generator(0));
        var keys = net.StateDict().Select(kv => $"{kv.Key}{Shapes.Format(kv.Value.Shape.ToArray())}").ToArray();
        Assert.Equal(["0.weight(32, 1, 3, 3)", "0.bias(32,)", "3.weight(64, 32, 3, 3)", "3.bias(64,)", "7.weight(128, 3136)", "7.bias(128,)", "9.weight(10, 128)", "9.bias(10,)"], keys);
        var small = Models.FromSpec("cnn:4,8", [1, 28, 28], 10, new Generator(0));
        Assert.Equal(new[] { 128, 392 }, ((Linear)((Sequential)small)[7]).Weight.Shape);
        var x = Tensor.Rand([4, 1, 28, 28], 1);
        var y = IntTensor.FromArray([1, 2, 3, 4]);
        var opt = new Optim.SGD(small.Parameters(), lr: 0.05);
        float first = 0, last = 0;
        for (int i = 0; i < 5; i++)
        {
            opt.ZeroGrad();
            var loss = Functional.CrossEntropy(small.Forward(x), y);
            if (i == 0) first = loss.Item();
            last = loss.Item();
            loss.Backward();
            opt.Step();
        }
        Assert.True(last < first);
        Assert.Throws<FormatException>(() => Models.FromSpec("cnn", [784], 10, new Generator(0)));
        Assert.Contains("Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))", net.ToString());
    }
}
