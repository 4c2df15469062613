using Nabla.Kernels;
using Xunit;

namespace Nabla.Tests;

/// <summary>
/// The direct unit-stride convolution (Kernels.ConvDirect, what Kernels.Conv2d runs for every stride-1 kernel larger
/// than 1×1 on AVX2 or AVX-512 machines, and for the weight gradient where OH·Wp ≥ 128), called directly on every shape against the naive convolution over odd shapes, forward and both backward
/// passes, and its promises: every output written, the same bits on the AVX2 and AVX-512 kernels and for any
/// thread count.
/// </summary>
public class ConvDirectTests
{
    public static TheoryData<string> Shapes() => new()
    {
        // N, C, H, W, OutC, kh, kw, pad h, pad w, dilation, groups
        "3 16 28 28 16 3 3 1 1 1 1",   // resnet stage 1
        "2 32 14 14 32 3 3 1 1 1 1",   // stage 2
        "2 64 7 7 64 3 3 1 1 1 1",     // stage 3: a 7-wide row, a short last tile
        "2 1 28 28 32 3 3 1 1 1 1",    // a first layer (one input channel)
        "3 5 9 11 7 3 3 1 1 1 1",      // channel counts that are not multiples of a tile
        "2 3 6 6 5 5 5 2 2 1 1",       // 5×5, padding 2
        "2 3 8 8 3 3 3 0 0 1 1",       // no padding: a smaller output
        "2 2 7 9 3 1 3 0 1 1 1",       // 1×3
        "2 2 9 7 3 3 1 1 0 1 1",       // 3×1
        "2 3 10 10 3 3 3 2 2 2 3",     // dilation 2, groups 3 (depthwise)
        "2 4 6 5 6 3 3 1 1 1 2",       // two groups of 2 → 3
        "1 2 1 1 3 3 3 1 1 1 1",       // a 1×1 image: every tap but the centre in the padding
        "2 2 2 3 2 3 3 2 2 1 1",       // padding = k − 1 (a full convolution)
        "17 3 5 5 4 3 3 1 1 1 1",      // 17 samples: weight-gradient runs of 2 samples and a short last run
        "40 9 6 6 9 3 3 1 1 1 1",      // several samples per run
        // … stride (forward and weight gradient through phase planes; the data gradient stays on im2col)
        "3 16 28 28 32 3 3 1 1 1 1 2", // resnet's stage 2 entry
        "2 32 14 14 64 3 3 1 1 1 1 2", // stage 3 entry: 7×7 out
        "2 16 28 28 32 1 1 0 0 1 1 2", // its 1×1 projection
        "2 3 9 11 5 3 3 1 1 1 1 2",    // odd sizes: phases of unequal length
        "2 2 11 10 4 5 5 2 2 1 1 3",   // stride 3, 5×5
        "2 4 9 9 6 3 3 2 2 2 2 2",     // stride 2, dilation 2, groups 2
        "2 3 8 9 4 3 2 1 0 1 1 2",     // 3×2 kernel
    };

    static ConvGeometry Geometry(int n, int c, int h, int w, int outC, int kh, int kw, int ph, int pw, int d, int groups) =>
        new(n, c, h, w, outC, kh, kw, 1, 1, ph, pw, d, d, groups);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Matches_the_naive_convolution_on_both_instruction_sets(string shape)
    {
        var a = shape.Split(' ').Select(int.Parse).ToArray();
        var (n, c, h, w, outC, kh, kw, ph, pw, d, groups) = (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
        int stride = a.Length > 11 ? a[11] : 1;
        var geo = new ConvGeometry(n, c, h, w, outC, kh, kw, stride, stride, ph, pw, d, d, groups);
        if (!ConvDirect.AppliesToForward(geo)) return;   // a machine without AVX2: Conv2d keeps the im2col path
        bool data = ConvDirect.AppliesToData(geo);
        Assert.Equal(stride == 1, data);
        var g = new Generator((ulong)(n * 1000 + c * 10 + kh));
        var x = Tensor.Randn([n, c, h, w], g).ToArray();
        var wt = Tensor.Randn([outC, c / groups, kh, kw], g).ToArray();
        var bias = Tensor.Randn([outC], g).ToArray();
        var gy = Tensor.Randn([n, outC, geo.OH, geo.OW], g).ToArray();

        var y = new float[gy.Length];
        ConvNaive.Forward(x, wt, y, geo);
        for (int i = 0; i < y.Length; i++) y[i] += bias[i / geo.P % outC];
        var gx = new float[x.Length];
        ConvNaive.BackwardData(gy, wt, gx, geo);
        var gw = new float[wt.Length];
        ConvNaive.BackwardWeight(gy, x, gw, geo);

        (float[] Y, float[] Gx, float[] Gw) Direct(bool narrow)
        {
            ConvDirect.ForceNarrow = narrow;
            try
            {
                // Outputs start as NaN: every element must be written.
                float[] F(int len) => Enumerable.Repeat(float.NaN, len).ToArray();
                var (y1, gx1, gw1) = (F(y.Length), F(x.Length), F(wt.Length));
                ConvDirect.Forward(x, wt, y1, geo, bias);
                if (data) ConvDirect.BackwardData(gy, wt, gx1, geo);
                else gx1 = (float[])gx.Clone();
                ConvDirect.BackwardWeight(gy, x, gw1, geo);
                return (y1, gx1, gw1);
            }
            finally
            {
                ConvDirect.ForceNarrow = false;
            }
        }
        var wide = Direct(narrow: false);
        Close(wide.Y, y, "forward");
        // … and against the im2col kernels it replaces (their blocked entry points, which never take the direct path).
        int cols = Nabla.Kernels.Conv2d.DefaultBlockColumns(geo);
        var (yi, gxi, gwi) = (new float[y.Length], new float[x.Length], new float[wt.Length]);
        Nabla.Kernels.Conv2d.Forward(x, wt, yi, geo, bias, cols);
        Nabla.Kernels.Conv2d.BackwardData(gy, wt, gxi, geo, cols);
        Nabla.Kernels.Conv2d.BackwardWeight(gy, x, gwi, geo, cols);
        Close(wide.Y, yi, "forward against im2col");
        if (data) Close(wide.Gx, gxi, "grad input against im2col");
        Close(wide.Gw, gwi, "grad weight against im2col");
        Close(wide.Gx, gx, "grad input");
        Close(wide.Gw, gw, "grad weight");
        var narrow = Direct(narrow: true);
        Assert.Equal(Bits(wide.Y), Bits(narrow.Y));
        Assert.Equal(Bits(wide.Gx), Bits(narrow.Gx));
        Assert.Equal(Bits(wide.Gw), Bits(narrow.Gw));
    }

    [Fact]
    public void The_bits_do_not_depend_on_the_thread_count()
    {
        var geo = Geometry(33, 8, 12, 12, 8, 3, 3, 1, 1, 1, 1);
        if (!ConvDirect.AppliesToData(geo)) return;
        var g = new Generator(9);
        var x = Tensor.Randn([33, 8, 12, 12], g).ToArray();
        var wt = Tensor.Randn([8, 8, 3, 3], g).ToArray();
        var gy = Tensor.Randn([33, 8, 12, 12], g).ToArray();
        (float[], float[], float[]) Run(int threads)
        {
            int before = Threads.Count;
            Threads.Count = threads;
            try
            {
                var (y, gx, gw) = (new float[gy.Length], new float[x.Length], new float[wt.Length]);
                ConvDirect.Forward(x, wt, y, geo, default);
                ConvDirect.BackwardData(gy, wt, gx, geo);
                ConvDirect.BackwardWeight(gy, x, gw, geo);
                return (y, gx, gw);
            }
            finally
            {
                Threads.Count = before;
            }
        }
        var one = Run(1);
        var two = Run(2);
        Assert.Equal(Bits(one.Item1), Bits(two.Item1));
        Assert.Equal(Bits(one.Item2), Bits(two.Item2));
        Assert.Equal(Bits(one.Item3), Bits(two.Item3));
    }

    [Fact]
    public void Strided_data_gradients_and_pointwise_convolutions_keep_the_im2col_path()
    {
        if (!ConvDirect.Available) return;
        Assert.False(ConvDirect.AppliesToData(new ConvGeometry(2, 16, 28, 28, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1)));
        Assert.True(ConvDirect.AppliesToForward(new ConvGeometry(2, 16, 28, 28, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1)));
        Assert.False(ConvDirect.AppliesToData(new ConvGeometry(2, 16, 28, 28, 32, 1, 1, 1, 1, 0, 0, 1, 1, 1)));
        Assert.False(ConvDirect.AppliesToForward(new ConvGeometry(2, 16, 28, 28, 32, 1, 1, 1, 1, 0, 0, 1, 1, 1)));
        // Padding beyond d·(k − 1): the data gradient is not a convolution of gy; the im2col path takes it.
        Assert.False(ConvDirect.AppliesToData(new ConvGeometry(2, 2, 5, 5, 2, 3, 3, 1, 1, 3, 3, 1, 1, 1)));
    }

    static void Close(float[] fast, float[] naive, string what)
    {
        for (int i = 0; i < fast.Length; i++)
            Assert.True(Math.Abs(fast[i] - naive[i]) <= 1e-4f * (1 + Math.Abs(naive[i])), $"{what}[{i}]: direct {fast[i]}, naive {naive[i]}");
    }

    static int[] Bits(float[] a) => [.. a.Select(BitConverter.SingleToInt32Bits)];
}
