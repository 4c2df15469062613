namespace Nabla.Tests;

public class TensorTests
{
    [Fact]
    public void Creation_functions_fill_and_shape()
    {
        Assert.Equal(new[] { 0f, 0f, 0f, 0f, 0f, 0f }, Tensor.Zeros(2, 3).ToArray());
        Assert.All(Tensor.Ones(2, 2).ToArray(), v => Assert.Equal(1f, v));
        Assert.All(Tensor.Full([3], 2.5f).ToArray(), v => Assert.Equal(2.5f, v));
        Assert.Equal(new[] { 0f, 0.5f, 1f, 1.5f }, Tensor.Arange(0, 2, 0.5f).ToArray());
        var s = Tensor.Scalar(4f);
        Assert.Equal(0, s.Rank);
        Assert.Equal(4f, s.Item());
        var m = Tensor.FromArray(new float[,] { { 1, 2 }, { 3, 4 } });
        Assert.Equal(new[] { 2, 2 }, m.Shape);
        Assert.Equal(3f, m[1, 0]);
        Assert.Equal(4f, m[-1, -1]);
    }

    [Fact]
    public void Random_creation_is_reproducible_from_a_seed()
    {
        Assert.Equal(Tensor.Randn([100], 5).ToArray(), Tensor.Randn([100], 5).ToArray());
        Assert.NotEqual(Tensor.Randn([100], 5).ToArray(), Tensor.Randn([100], 6).ToArray());
        var u = Tensor.Uniform([10000], -2f, 3f, new Generator(1)).ToArray();
        Assert.All(u, v => Assert.InRange(v, -2f, 3f));
        Assert.Equal(0.5, u.Average(), 1);
        var n = Tensor.Normal([20000], 1f, 2f, new Generator(2)).ToArray();
        double mean = n.Average(), std = Math.Sqrt(n.Select(v => (v - mean) * (v - mean)).Average());
        Assert.Equal(1.0, mean, 1);
        Assert.Equal(2.0, std, 1);
    }

    [Fact]
    public void Generator_permutation_and_ints_are_uniform_and_seeded()
    {
        var g = new Generator(9);
        var p = g.Permutation(50);
        Assert.Equal(Enumerable.Range(0, 50), p.Order());
        Assert.Equal(p, new Generator(9).Permutation(50));
        var counts = new int[3];
        for (int i = 0; i < 30000; i++) counts[g.NextInt(3)]++;
        Assert.All(counts, c => Assert.InRange(c, 9500, 10500));
    }

    [Fact]
    public void Views_share_storage_without_copying()
    {
        var x = Tensor.Arange(12).Reshape(3, 4);
        Assert.Same(x.Storage, x.T.Storage);
        Assert.Same(x.Storage, x.Narrow(1, 1, 2).Storage);
        Assert.Same(x.Storage, x.Unsqueeze(0).Squeeze(0).Storage);
        Assert.Same(x.Storage, x.Permute(1, 0).Storage);
        Assert.Same(x.Storage, x.Reshape(2, 6).Storage);
        Assert.False(x.T.IsContiguous);
        Assert.Equal(new[] { 1, 4 }, x.T.Strides);
        var c = x.T.Contiguous();
        Assert.NotSame(x.Storage, c.Storage);
        Assert.True(c.IsContiguous);
        Assert.Equal(new[] { 0f, 4f, 8f, 1f, 5f, 9f, 2f, 6f, 10f, 3f, 7f, 11f }, c.ToArray());
        Assert.Equal(new[] { 5f, 6f, 9f, 10f }, x.Narrow(0, 1, 2).Narrow(1, 1, 2).ToArray());
    }

    [Fact]
    public void Broadcasting_follows_numpy_rules()
    {
        var a = Tensor.Arange(3).Reshape(3, 1);
        var b = Tensor.Arange(4);
        var y = a + b;
        Assert.Equal(new[] { 3, 4 }, y.Shape);
        Assert.Equal(5f, y[2, 3]);
        Assert.Equal(new[] { 2, 3, 4 }, (Tensor.Zeros(2, 1, 4) * Tensor.Zeros(3, 1)).Shape);
        Assert.Equal(new[] { 3, 4 }, (Tensor.Scalar(1) + Tensor.Zeros(3, 4)).Shape);
    }

    [Fact]
    public void Class_labels_live_in_an_int_tensor()
    {
        var labels = IntTensor.FromArray([2, 0, 1]);
        Assert.Equal(new[] { 3 }, labels.Shape);
        var logits = Tensor.FromArray([1f, 2f, 9f, 7f, 1f, 0f, 0f, 5f, 4f], 3, 3);
        Assert.Equal(new[] { 2, 0, 1 }, logits.ArgMax(1).Data);
        var picked = logits.Gather(1, labels.Reshape(3, 1));
        Assert.Equal(new[] { 9f, 7f, 5f }, picked.ToArray());
        var batch = logits.IndexSelect(0, IntTensor.FromArray([2, 2]));
        Assert.Equal(new[] { 2, 3 }, batch.Shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => logits.IndexSelect(0, IntTensor.FromArray([3])));
        Assert.Throws<ArgumentException>(() => new IntTensor([1, 2, 3], 2, 2));
    }

    [Fact]
    public void Masks_and_where_select_elements()
    {
        var x = Tensor.FromArray([-1f, 2f, -3f, 4f]);
        var mask = x.Gt(0f);
        Assert.Equal(new[] { 0f, 1f, 0f, 1f }, mask.ToArray());
        Assert.Equal(new[] { 0f, 2f, 0f, 4f }, Tensor.Where(mask, x, Tensor.Scalar(0)).ToArray());
        Assert.Equal(new[] { 1f, 0f, 1f, 0f }, x.Lt(0f).ToArray());
    }

    [Fact]
    public void Messages_are_actionable()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.FromArray([1f, 2f, 3f], 2, 2));
        Assert.Contains("(2, 2)", ex.Message);
        Assert.Throws<InvalidOperationException>(() => Tensor.Zeros(2).Item());
        Assert.Throws<IndexOutOfRangeException>(() => Tensor.Zeros(2, 2)[2, 0]);
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Threads.Count = 0);
        Assert.Contains("Tensor(2, 2)", Tensor.Zeros(2, 2).ToString());
    }

    [Fact]
    public void Empty_tensors_work()
    {
        var e = Tensor.Zeros(0, 3);
        Assert.Equal(0, e.Numel);
        Assert.Equal(new[] { 0f, 0f, 0f }, e.Sum(0).ToArray());
        Assert.Equal(new[] { 2, 0 }, Tensor.MatMul(Tensor.Zeros(2, 3), Tensor.Zeros(3, 0)).Shape);
        Assert.Equal(new[] { 0f, 0f }, Tensor.MatMul(Tensor.Zeros(2, 0), Tensor.Zeros(0, 1)).ToArray());
    }
}
