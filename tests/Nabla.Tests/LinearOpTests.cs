using Nabla.Autograd;

namespace Nabla.Tests;

/// <summary>The one-node Linear primitive against the composed x·Wᵀ + b it replaces, and finite differences.</summary>
public class LinearOpTests
{
    // Forward output and every gradient, with the fused primitive on or off.
    static float[][] Run(bool fused, int[] xShape, bool bias, bool xGrad, bool nonContiguous = false)
    {
        bool saved = Functional.FusedLinear;
        Functional.FusedLinear = fused;
        try
        {
            var g = new Generator(5);
            int inF = xShape[^1];
            var x = Tensor.Randn(nonContiguous ? [.. xShape[..^1].Reverse(), inF] : xShape, g);
            if (nonContiguous) x = x.Transpose(0, x.Rank - 2);
            if (xGrad) x.RequiresGrad_();
            var w = Tensor.Randn([7, inF], g).RequiresGrad_();
            var b = bias ? Tensor.Randn([7], g).RequiresGrad_() : null;
            var y = Functional.Linear(x, w, b);
            var up = Tensor.Randn(y.Shape.ToArray(), g);
            (y * up).Sum().Backward();
            var result = new List<float[]> { y.ToArray(), w.Grad!.ToArray() };
            if (b is not null) result.Add(b.Grad!.ToArray());
            if (xGrad) result.Add(x.Grad!.ToArray());
            return result.ToArray();
        }
        finally { Functional.FusedLinear = saved; }
    }

    public static TheoryData<int[], bool, bool, bool> Shapes() => new()
    {
        { [128, 300], true, false, false },   // a first layer: no input gradient
        { [33, 20], true, true, false },
        { [4, 5, 20], true, true, false },    // leading dims flattened
        { [9, 20], false, true, false },
        { [6, 3, 20], true, true, true },     // a non-contiguous input takes the composed path
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Fused_linear_gives_the_bits_of_the_composed_ops(int[] xShape, bool bias, bool xGrad, bool nonContiguous)
    {
        var fused = Run(true, xShape, bias, xGrad, nonContiguous);
        var composed = Run(false, xShape, bias, xGrad, nonContiguous);
        Assert.Equal(composed.Length, fused.Length);
        for (int i = 0; i < fused.Length; i++) Assert.Equal(composed[i], fused[i]);
    }

    [Fact]
    public void Fused_linear_passes_the_finite_difference_check()
    {
        var g = new Generator(8);
        var x = Tensor.Randn([2, 3, 4], g);
        var w = Tensor.Randn([5, 4], g);
        var b = Tensor.Randn([5], g);
        var result = GradCheck.Check(t => Functional.Linear(t[0], t[1], t[2]), [x, w, b]);
        Assert.True(result.Passed, result.Message);
        var noBias = GradCheck.Check(t => Functional.Linear(t[0], t[1]), [x, w]);
        Assert.True(noBias.Passed, noBias.Message);
    }

    [Fact]
    public void Fused_linear_is_one_node_and_handles_empty_inputs()
    {
        var g = new Generator(1);
        var x = Tensor.Randn([3, 4], g).RequiresGrad_();
        var w = Tensor.Randn([2, 4], g).RequiresGrad_();
        var y = Functional.Linear(x, w, Tensor.Zeros(2));
        Assert.Equal("Linear", y.GradFn!.Name);
        // No input features: y is the bias for every row.
        var empty = Functional.Linear(Tensor.Zeros(3, 0), Tensor.Zeros(2, 0), Tensor.FromArray([1f, 2f]));
        Assert.Equal([1f, 2f, 1f, 2f, 1f, 2f], empty.ToArray());
    }

    [Fact]
    public void A_kept_fresh_gradient_is_owned_by_its_leaf_alone_and_accumulates_as_a_copied_one()
    {
        // W feeds two Linear nodes and a multiply: its first gradient is kept as is (no copy), the others are
        // added into it; x's gradient, kept too, must not share memory with W's or b's. Same numbers as composed ops.
        float[][] Run(bool fused)
        {
            bool saved = Functional.FusedLinear;
            Functional.FusedLinear = fused;
            try
            {
                var g = new Generator(3);
                var x = Tensor.Randn([5, 4], g).RequiresGrad_();
                var w = Tensor.Randn([4, 4], g).RequiresGrad_();
                var b = Tensor.Randn([4], g).RequiresGrad_();
                var y = Functional.Linear(Functional.Linear(x, w, b).Relu(), w, b) * w.Sum();
                y.Sum().Backward();
                var first = new[] { x.Grad!.ToArray(), w.Grad!.ToArray(), b.Grad!.ToArray() };
                var heldW = w.Grad!;
                // x and b get their first gradient from a Linear node (kept as is); none may share memory.
                var storages = new object[] { x.Grad!.Storage, w.Grad!.Storage, b.Grad!.Storage };
                Assert.Equal(3, storages.Distinct(ReferenceEqualityComparer.Instance).Count());
                Functional.Linear(x, w).Sum().Backward();   // accumulates into the kept tensors, in place
                Assert.Same(heldW, w.Grad);
                return [.. first, x.Grad!.ToArray(), w.Grad!.ToArray(), b.Grad!.ToArray()];
            }
            finally { Functional.FusedLinear = saved; }
        }
        var fused = Run(true);
        var composed = Run(false);
        for (int i = 0; i < fused.Length; i++)
            Assert.Equal(composed[i].Select(BitConverter.SingleToInt32Bits), fused[i].Select(BitConverter.SingleToInt32Bits));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]   // (batch, tokens, features): leading dims flattened
    public void Linear_then_relu_in_a_sequential_is_one_node_with_the_bits_of_the_two(bool threeD)
    {
        float[][] Run(bool fuse)
        {
            bool saved = Sequential.FuseLinearRelu;
            Sequential.FuseLinearRelu = fuse;
            try
            {
                var g = new Generator(11);
                var net = new Sequential(new Linear(6, 8, g), new ReLU(), new Linear(8, 5, g), new ReLU(), new Linear(5, 3, g));
                var x = Tensor.Randn(threeD ? [4, 3, 6] : [7, 6], g).RequiresGrad_();
                var y = net.Forward(x);
                if (fuse) Assert.Equal("LinearRelu", y.GradFn!.Inputs[0].GradFn!.Name);
                var up = Tensor.Randn(y.Shape.ToArray(), g);
                (y * up).Sum().Backward();
                return [y.ToArray(), x.Grad!.ToArray(), .. net.Parameters().Select(p => p.Grad!.ToArray())];
            }
            finally { Sequential.FuseLinearRelu = saved; }
        }
        var fused = Run(true);
        var separate = Run(false);
        Assert.Equal(separate.Length, fused.Length);
        for (int i = 0; i < fused.Length; i++)
            Assert.Equal(separate[i].Select(BitConverter.SingleToInt32Bits), fused[i].Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Fused_linear_relu_passes_the_finite_difference_check_and_falls_back_on_strided_input()
    {
        var g = new Generator(12);
        var x = Tensor.Randn([5, 4], g);
        var w = Tensor.Randn([3, 4], g);
        var b = Tensor.Randn([3], g);
        var result = GradCheck.Check(t => Functional.LinearRelu(t[0], t[1], t[2]), [x, w, b]);
        Assert.True(result.Passed, result.Message);
        var strided = Tensor.Randn([4, 5], g).Transpose(0, 1);   // not contiguous: composed Linear then ReLU
        Assert.Equal("Relu", Functional.LinearRelu(strided.RequiresGrad_(), w, b).GradFn!.Name);
        Assert.Throws<ArgumentException>(() => Functional.LinearRelu(Tensor.Zeros(2, 5), w, b));
    }
}
