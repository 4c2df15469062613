using Nabla.Autograd;

namespace Nabla.Tests;

public class AutogradTests
{
    static Tensor Leaf(params float[] v) => Tensor.FromArray(v).RequiresGrad_();

    [Fact]
    public void Chain_rule_through_a_small_expression()
    {
        // y = Σ (a·b + a²) → ∂a = b + 2a, ∂b = a
        var a = Leaf(1, 2, 3);
        var b = Leaf(4, 5, 6);
        ((a * b) + a.Square()).Sum().Backward();
        Assert.Equal([6f, 9f, 12f], a.Grad!.ToArray());
        Assert.Equal([1f, 2f, 3f], b.Grad!.ToArray());
    }

    [Fact]
    public void Gradients_accumulate_across_backward_calls_until_cleared()
    {
        var x = Leaf(1, 2);
        (x * 3f).Sum().Backward();
        (x * 3f).Sum().Backward();
        Assert.Equal([6f, 6f], x.Grad!.ToArray());
        x.ZeroGrad();
        Assert.Null(x.Grad);
        (x * 2f).Sum().Backward();
        Assert.Equal([2f, 2f], x.Grad!.ToArray());
    }

    [Fact]
    public void A_tensor_used_twice_gets_both_contributions()
    {
        var x = Leaf(2, -1);
        var y = x * 2f;              // shared intermediate
        (y * y + y).Sum().Backward(); // ∂x = (2y + 1)·2
        Assert.Equal([18f, -6f], x.Grad!.ToArray());
    }

    [Fact]
    public void Shared_upstream_gradients_are_not_corrupted_by_accumulation()
    {
        // Add passes the same gradient object to both inputs; accumulating into one must not change the other.
        var x = Leaf(1, 2);
        var a = x * 1f;
        var b = x * 1f;
        var s = a + b;
        (s + a * 2f).Sum().Backward(); // ∂x = 1 + 1 + 2
        Assert.Equal([4f, 4f], x.Grad!.ToArray());
    }

    [Fact]
    public void Explicit_upstream_gradient_gives_a_vector_jacobian_product()
    {
        var x = Leaf(1, 2, 3);
        var y = x.Square();
        y.Backward(Tensor.FromArray([1f, 0.5f, -1f]));
        Assert.Equal([2f, 2f, -6f], x.Grad!.ToArray());
    }

    [Fact]
    public void Backward_on_a_non_scalar_without_gradient_is_refused()
    {
        var y = Leaf(1, 2) * 2f;
        var ex = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("(2,)", ex.Message);
        Assert.Contains("scalar", ex.Message);
    }

    [Fact]
    public void Upstream_gradient_of_the_wrong_shape_is_refused()
    {
        var y = Leaf(1, 2) * 2f;
        var ex = Assert.Throws<ArgumentException>(() => y.Backward(Tensor.Zeros(3)));
        Assert.Contains("(3,)", ex.Message);
        Assert.Contains("(2,)", ex.Message);
    }

    [Fact]
    public void Backward_without_any_grad_is_refused()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => Tensor.Ones(2).Sum().Backward());
        Assert.Contains("does not require grad", ex.Message);
    }

    [Fact]
    public void Graph_is_freed_after_backward_unless_retained()
    {
        var x = Leaf(1, 2);
        var loss = (x.Exp() * x).Sum();
        loss.Backward(null, retainGraph: true);
        loss.Backward();
        var twice = x.Grad!.ToArray();
        Assert.Equal(2 * (MathF.E * 2), twice[0], 4);
        var ex = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("second time", ex.Message);
    }

    [Fact]
    public void NoGrad_scope_records_nothing_and_restores()
    {
        var x = Leaf(1);
        using (GradMode.NoGrad())
        {
            var y = x * 2f;
            Assert.False(y.RequiresGrad);
            Assert.Null(y.GradFn);
            using (GradMode.NoGrad()) { }
            Assert.False(GradMode.IsEnabled);
        }
        Assert.True(GradMode.IsEnabled);
        Assert.True((x * 2f).RequiresGrad);
    }

    [Fact]
    public void Detach_cuts_the_graph_and_shares_values()
    {
        var x = Leaf(3);
        var d = (x * 2f).Detach();
        Assert.True(d.IsLeaf);
        Assert.False(d.RequiresGrad);
        (x * d).Sum().Backward();
        Assert.Equal([6f], x.Grad!.ToArray()); // d treated as a constant
    }

    [Fact]
    public void RequiresGrad_cannot_be_set_on_a_non_leaf()
    {
        var y = Leaf(1) * 2f;
        Assert.False(y.IsLeaf);
        Assert.Equal("MulScalar", y.GradFn!.Name);
        Assert.Throws<InvalidOperationException>(() => y.RequiresGrad = false);
    }

    [Fact]
    public void RetainGrad_keeps_an_intermediate_gradient()
    {
        var x = Leaf(1, 2);
        var h = (x * 3f).RetainGrad();
        (h * h).Sum().Backward();
        Assert.Equal([6f, 12f], h.Grad!.ToArray());
    }

    [Fact]
    public void A_deep_chain_does_not_overflow_the_stack()
    {
        var x = Leaf(1);
        var y = x;
        for (int i = 0; i < 20000; i++) y = y + 0f;
        y.Sum().Backward();
        Assert.Equal([1f], x.Grad!.ToArray());
    }

    [Fact]
    public void In_place_update_of_a_tracked_tensor_is_refused_outside_NoGrad()
    {
        var w = Leaf(1, 2);
        Assert.Throws<InvalidOperationException>(() => w.AddInPlace(Tensor.Ones(2)));
        using (GradMode.NoGrad()) w.AddInPlace(Tensor.Ones(2), -0.5f);
        Assert.Equal([0.5f, 1.5f], w.ToArray());
    }

    [Fact]
    public void Gradient_of_a_view_reaches_the_base_tensor()
    {
        var x = Tensor.Arange(6).Reshape(2, 3).RequiresGrad_();
        x.T.Narrow(0, 1, 2).Sum().Backward(); // columns 1 and 2
        Assert.Equal([0f, 1f, 1f, 0f, 1f, 1f], x.Grad!.ToArray());
    }

    [Fact]
    public void GradCheck_catches_a_wrong_gradient()
    {
        // x · detach(x) has derivative 2x but autograd sees only x: the checker must say so.
        var result = GradCheck.Check(x => x[0] * x[0].Detach(), [Tensor.FromArray([1f, 2f, 3f])]);
        Assert.False(result.Passed);
        Assert.Contains("analytic", result.Message);
    }

    [Fact]
    public void GradCheck_passes_a_composite()
    {
        GradCheck.Assert(x => (x[0].MatMul(x[1]).Tanh() - x[2]).Square().Mean(),
            [Tensor.Randn([3, 4], 1), Tensor.Randn([4, 2], 2), Tensor.Randn([3, 2], 3)]);
    }
}

public class KinkToleranceTests
{
    [Fact]
    public void Kink_tolerance_allows_a_few_elements_but_not_a_wrong_gradient()
    {
        // Values within ε of ReLU's kink make element-wise differences disagree; a small allowance covers them.
        var x = Tensor.FromArray([0.001f, -0.002f, 1f, -1f, 0.5f, 2f, -3f, 0.7f, 1.5f, -0.4f]);
        Assert.False(Nabla.Autograd.GradCheck.Check(t => t[0].Relu(), [x]).Passed);
        Assert.True(Nabla.Autograd.GradCheck.Check(t => t[0].Relu(), [x], kinkTolerance: 0.2).Passed);
        Assert.False(Nabla.Autograd.GradCheck.Check(t => t[0] * t[0].Detach(), [Tensor.Randn([10], 3)], kinkTolerance: 0.2).Passed);
    }
}
