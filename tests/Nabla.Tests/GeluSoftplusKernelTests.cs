using Nabla.Backends;
using Nabla.Kernels;

namespace Nabla.Tests;

/// <summary>
/// The vectorised GELU, GELU-tanh and softplus kernels, forward and backward (Kernels/Elementwise.Smooth.cs), against
/// their scalar definitions in <see cref="ElementwiseNaive"/> over a dense sweep, within a stated number of ulps.
/// </summary>
public class GeluSoftplusKernelTests
{
    // The stated bound: at most 1 ulp from ElementwiseNaive, for every op and input below. Measured: 0 ulps (the same
    // bits) on every input for GELU, softplus and their gradients, and for the tanh forms down to x ≈ −4.2, on AVX-512,
    // AVX2 (DOTNET_EnableAVX512=0) and 128-bit lanes (DOTNET_EnableAVX2=0): both sides evaluate the same formula in
    // double and round to float once. The 1 ulp leaves room for what differs inside — the kernel's FMA Horner steps
    // and its own eˣ and ln(1 + u) series (relative error below 1e-13) — to tip a rounding on inputs not in the sweep.
    const long MaxUlps = 1;

    // Near 0, tanh GELU only: the naive forms 1 + tanh u and 1 − tanh²u in double, which cancel: it is 1 ulp off from
    // x ≈ −4.2, more once |y| < ~1e-8 (x < −5.6), and exactly 0 from u ≈ −19 (x ≈ −7.2), where the kernel's
    // x/(1 + e^(−2u)) keeps every digit. There the naive's own rounding is the tolerance: 1e-15 absolute forward,
    // 1e-14·|a| backward (measured: 2.0e-16 and 2.5e-15·|a|, both at x ≈ −7.2).
    const double TanhTailForward = 1e-15, TanhTailBackward = 1e-14;

    // Every 2⁻¹⁰ in [−20, 20], then the extremes; 40977 values, so every vector width also runs a tail.
    static readonly float[] Inputs = Sweep();

    static float[] Sweep()
    {
        var v = new List<float>();
        for (int k = -20 * 1024; k <= 20 * 1024; k++) v.Add(k / 1024f);
        v.AddRange([0f, -0f, 1e-30f, -1e-30f, 88f, -88f, 1e30f, -1e30f, float.NaN, float.PositiveInfinity, float.NegativeInfinity,
            float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, 1e-6f]);
        return v.ToArray();
    }

    // Upstream gradients for the backward sweeps: all ones (the derivative itself), then a cycle of scales and signs.
    static readonly float[] Ones = Enumerable.Repeat(1f, Inputs.Length).ToArray();
    static readonly float[] Mixed = Enumerable.Range(0, Inputs.Length).Select(i => new[] { 1f, -2.5f, 1e-3f, 7e4f, 3.3e-20f }[i % 5]).ToArray();

    // (β, threshold): PyTorch's default, those the other tests use (negative β too), a β small enough that nothing is
    // linear in the sweep, one large, and a threshold past 20 so that βx up to 50 goes through ln(1 + e^z).
    static readonly (float Beta, float Threshold)[] SoftplusParams =
        [(1f, 20f), (2f, 1f), (0.5f, 20f), (10f, 20f), (-0.5f, 0.5f), (1.3f, 1.7f), (0.01f, 20f), (3f, 50f)];

    public static TheoryData<UnaryOp, float, float> UnaryCases()
    {
        var d = new TheoryData<UnaryOp, float, float> { { UnaryOp.Gelu, 0f, 0f }, { UnaryOp.GeluTanh, 0f, 0f } };
        foreach (var (b, t) in SoftplusParams) d.Add(UnaryOp.Softplus, b, t);
        return d;
    }

    public static TheoryData<BinaryOp, float, float> BinaryCases()
    {
        var d = new TheoryData<BinaryOp, float, float> { { BinaryOp.GeluGrad, 0f, 0f }, { BinaryOp.GeluTanhGrad, 0f, 0f } };
        foreach (var (b, t) in SoftplusParams) d.Add(BinaryOp.SoftplusGrad, b, t);
        return d;
    }

    [Theory]
    [MemberData(nameof(UnaryCases))]
    public void Forward_is_within_the_stated_ulps_of_the_naive(UnaryOp op, float p0, float p1)
    {
        var x = Inputs;
        var fast = new float[x.Length];
        Elementwise.UnaryContiguous(op, x, fast, p0, p1);
        var naive = x.Select(v => ElementwiseNaive.Unary(op, v, p0, p1)).ToArray();
        double tail = op == UnaryOp.GeluTanh ? TanhTailForward : 0;
        for (int i = 0; i < x.Length; i++) AssertClose($"{op}({p0}, {p1}) x = {x[i]:R}", fast[i], naive[i], tail);
        AssertSameBitsEverywhere(fast, (bits, y) => Elementwise.SmoothUnary(bits, op, x, y, p0, p1),
            (i, y) => Elementwise.UnaryContiguous(op, x.AsSpan(i, 1), y, p0, p1));

        var inPlace = (float[])x.Clone();
        Elementwise.UnaryContiguous(op, inPlace, inPlace, p0, p1);
        AssertSameBits(fast, inPlace, "in place");
    }

    [Theory]
    [MemberData(nameof(BinaryCases))]
    public void Backward_is_within_the_stated_ulps_of_the_naive(BinaryOp op, float p0, float p1)
    {
        var x = Inputs;
        foreach (var g in new[] { Ones, Mixed })
        {
            var fast = new float[x.Length];
            Elementwise.BinaryRow(op, g, 1, x, 1, fast, 1, x.Length, p0, p1);
            var naive = x.Select((v, i) => ElementwiseNaive.Binary(op, g[i], v, p0, p1)).ToArray();
            for (int i = 0; i < x.Length; i++)
                AssertClose($"{op}({p0}, {p1}) a = {g[i]:R}, x = {x[i]:R}", fast[i], naive[i], op == BinaryOp.GeluTanhGrad ? TanhTailBackward * Math.Abs(g[i]) : 0);
            AssertSameBitsEverywhere(fast, (bits, y) => Elementwise.SmoothBinary(bits, op, g, x, y, p0, p1),
                (i, y) => Elementwise.BinaryRow(op, g.AsSpan(i, 1), 1, x.AsSpan(i, 1), 1, y, 1, 1, p0, p1));

            var inPlace = (float[])g.Clone(); // the layers' backward overwrites the upstream gradient
            Elementwise.BinaryRow(op, inPlace, 1, x, 1, inPlace, 1, x.Length, p0, p1);
            AssertSameBits(fast, inPlace, "in place");
        }
    }

    // NaN in gives NaN out. At ±∞ the values of PyTorch's formulas (torch 2.x CPU, scalar path): exact and tanh GELU
    // give +∞ at +∞ and NaN at −∞ (½x·(1 + erf) = −∞·0); softplus +∞ and 0; the GELU gradients NaN at both (Φ + x·φ
    // = 1 + ∞·0); softplus' gradient passes a at +∞ (linear) and gives 0 at −∞.
    [Theory]
    [InlineData(UnaryOp.Gelu, float.PositiveInfinity, float.PositiveInfinity)]
    [InlineData(UnaryOp.Gelu, float.NegativeInfinity, float.NaN)]
    [InlineData(UnaryOp.Gelu, float.NaN, float.NaN)]
    [InlineData(UnaryOp.GeluTanh, float.PositiveInfinity, float.PositiveInfinity)]
    [InlineData(UnaryOp.GeluTanh, float.NegativeInfinity, float.NaN)]
    [InlineData(UnaryOp.GeluTanh, float.NaN, float.NaN)]
    [InlineData(UnaryOp.Softplus, float.PositiveInfinity, float.PositiveInfinity)]
    [InlineData(UnaryOp.Softplus, float.NegativeInfinity, 0f)]
    [InlineData(UnaryOp.Softplus, float.NaN, float.NaN)]
    public void Forward_special_values(UnaryOp op, float x, float expected)
    {
        var y = new float[17]; // a full vector and a tail, both paths
        Elementwise.UnaryContiguous(op, Enumerable.Repeat(x, y.Length).ToArray(), y, 1f, 20f);
        Assert.All(y, v => Assert.Equal(expected, v));
    }

    [Theory]
    [InlineData(BinaryOp.GeluGrad, 1f, float.PositiveInfinity, float.NaN)]
    [InlineData(BinaryOp.GeluGrad, 1f, float.NegativeInfinity, float.NaN)]
    [InlineData(BinaryOp.GeluGrad, 1f, float.NaN, float.NaN)]
    [InlineData(BinaryOp.GeluGrad, float.NaN, 0.5f, float.NaN)]
    [InlineData(BinaryOp.GeluTanhGrad, 1f, float.PositiveInfinity, float.NaN)]
    [InlineData(BinaryOp.GeluTanhGrad, 1f, float.NegativeInfinity, float.NaN)]
    [InlineData(BinaryOp.GeluTanhGrad, 1f, float.NaN, float.NaN)]
    [InlineData(BinaryOp.GeluTanhGrad, float.NaN, 0.5f, float.NaN)]
    [InlineData(BinaryOp.SoftplusGrad, 2f, float.PositiveInfinity, 2f)]
    [InlineData(BinaryOp.SoftplusGrad, 2f, float.NegativeInfinity, 0f)]
    [InlineData(BinaryOp.SoftplusGrad, 2f, float.NaN, float.NaN)]
    [InlineData(BinaryOp.SoftplusGrad, float.NaN, 0.5f, float.NaN)]
    public void Backward_special_values(BinaryOp op, float a, float x, float expected)
    {
        var y = new float[17];
        Elementwise.BinaryRow(op, Enumerable.Repeat(a, y.Length).ToArray(), 1, Enumerable.Repeat(x, y.Length).ToArray(), 1, y, 1, y.Length, 1f, 20f);
        Assert.All(y, v => Assert.Equal(expected, v));
    }

    // Ulp distance: how many floats lie between the two (±0 count as one value).
    static long Ulps(float a, float b)
    {
        static long Ordered(float f)
        {
            int bits = BitConverter.SingleToInt32Bits(f);
            return bits < 0 ? -(long)(bits & int.MaxValue) : bits;
        }
        return Math.Abs(Ordered(a) - Ordered(b));
    }

    static void AssertClose(string what, float fast, float naive, double absTolerance)
    {
        if (float.IsNaN(naive) || float.IsNaN(fast) || float.IsInfinity(naive) || float.IsInfinity(fast))
        {
            Assert.True(fast.Equals(naive), $"{what}: fast {fast:R}, naive {naive:R}");
            return;
        }
        long ulps = Ulps(fast, naive);
        Assert.True(ulps <= MaxUlps || Math.Abs((double)fast - naive) <= absTolerance,
            $"{what}: fast {fast:R}, naive {naive:R}, {ulps} ulps apart");
    }

    static void AssertSameBits(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]) || (float.IsNaN(expected[i]) && float.IsNaN(actual[i])),
                $"{what} [{i}]: {actual[i]:R}, expected {expected[i]:R}");
    }

    // An element's bits depend neither on the vector width (512, 256 and 128 bits, emulated where the hardware lacks
    // it) nor on whether it sits in a full vector or in the tail (every 97th input alone).
    static void AssertSameBitsEverywhere(float[] fast, Action<int, float[]> atWidth, Action<int, float[]> alone)
    {
        foreach (int bits in new[] { 512, 256, 128 })
        {
            var y = new float[fast.Length];
            atWidth(bits, y);
            AssertSameBits(fast, y, $"{bits}-bit lanes");
        }
        var one = new float[1];
        for (int i = 0; i < fast.Length; i += 97)
        {
            alone(i, one);
            AssertSameBits([fast[i]], one, $"input {i} alone");
        }
    }
}
