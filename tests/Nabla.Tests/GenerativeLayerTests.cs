using System.Text.Json;
using Nabla.Autograd;

namespace Nabla.Tests;

/// <summary>
/// The layers generative models need (issue 21) beyond their nn.json rows in LayerCases: Embedding against PyTorch,
/// ConvTranspose2d as the adjoint of Conv2d, and the refusals.
/// </summary>
public class GenerativeLayerTests
{
    static readonly Lazy<JsonElement[]> Embeddings = new(() => Fixtures.Load("nn.json").GetProperty("embeddings").EnumerateArray().ToArray());

    public static TheoryData<string> EmbeddingNames()
    {
        var d = new TheoryData<string>();
        foreach (var c in Embeddings.Value) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    [Theory]
    [MemberData(nameof(EmbeddingNames))]
    public void Embedding_matches_pytorch(string name)
    {
        var c = Embeddings.Value.Single(e => e.GetProperty("name").GetString() == name);
        var a = c.GetProperty("attrs");
        var m = new Embedding(a.GetProperty("num_embeddings").GetInt32(), a.GetProperty("embedding_dim").GetInt32(), new Generator(0));
        m.LoadStateDict(new StateDict { ["weight"] = Fixtures.Tensor(c.GetProperty("params").GetProperty("weight")) });
        var y = m.Forward(Fixtures.Ints(c.GetProperty("input")));
        Fixtures.Close($"{name} output", c.GetProperty("output"), y);
        y.Backward(Fixtures.Tensor(c.GetProperty("grad_output")));
        Fixtures.Close($"{name} grad weight", c.GetProperty("param_grads").GetProperty("weight"), m.Weight.Grad!);
        // The float form (a Sequential's input) gives the same rows.
        var again = m.Forward(Fixtures.Ints(c.GetProperty("input")).ToFloat());
        Assert.Equal(y.ToArray(), again.ToArray());
        Assert.True(GradCheck.CheckParameters(() => m.Forward(Fixtures.Ints(c.GetProperty("input"))), m.Parameters()).Passed);
    }

    // ⟨conv(x), y⟩ = ⟨x, convT(y)⟩ for the same weight: the transposed convolution is the convolution's adjoint, for
    // strides, padding, dilation and groups, with the output_padding that gives back x's size (the rows the
    // convolution's floor division dropped).
    [Theory]
    [InlineData(3, 4, 7, 7, 3, 1, 0, 1, 1)]
    [InlineData(4, 6, 9, 8, 4, 2, 1, 1, 2)]
    [InlineData(2, 2, 10, 10, 3, 3, 1, 2, 1)]
    [InlineData(6, 3, 6, 5, 1, 2, 0, 1, 3)]
    public void ConvTranspose2d_is_the_adjoint_of_Conv2d(int c, int outC, int h, int w, int k, int stride, int pad, int dil, int groups)
    {
        var g = new Generator(5);
        var weight = Tensor.Randn([outC, c / groups, k, k], g);   // Conv2d: (OutC, C/g, k, k) = ConvTranspose2d (in = OutC, out/g = C/g)
        var x = Tensor.Randn([2, c, h, w], g);
        var conv = Functional.Conv2d(x, weight, null, (stride, stride), (pad, pad), (dil, dil), groups);
        var y = Tensor.Randn([.. conv.shape], g);
        (int H, int W) outputPadding = ((h + 2 * pad - dil * (k - 1) - 1) % stride, (w + 2 * pad - dil * (k - 1) - 1) % stride);
        var back = Functional.ConvTranspose2d(y, weight, null, (stride, stride), (pad, pad), outputPadding, (dil, dil), groups);
        Assert.Equal(x.shape, back.shape);
        double lhs = Dot(conv, y), rhs = Dot(x, back);
        Assert.True(Math.Abs(lhs - rhs) <= 1e-4 * Math.Max(1, Math.Abs(lhs)), $"⟨conv x, y⟩ = {lhs}, ⟨x, convT y⟩ = {rhs}");
    }

    static double Dot(Tensor a, Tensor b)
    {
        var x = a.ToArray();
        var y = b.ToArray();
        double s = 0;
        for (int i = 0; i < x.Length; i++) s += (double)x[i] * y[i];
        return s;
    }

    [Fact]
    public void ConvTranspose2d_doubles_a_DCGAN_feature_map_and_refuses_bad_shapes()
    {
        var layer = new ConvTranspose2d(8, 4, 4, new Generator(1), stride: 2, padding: 1);
        Assert.Equal([3, 4, 14, 14], layer.Forward(Tensor.Zeros(3, 8, 7, 7)).shape);
        Assert.Equal("ConvTranspose2d(8, 4, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))", layer.ToString().Split('\n')[0]);
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(3, 5, 7, 7)));
        Assert.Contains("5 channels", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConvTranspose2d(2, 2, 3, new Generator(1), stride: 2, outputPadding: 2));
        Assert.Throws<ArgumentException>(() => new ConvTranspose2d(3, 2, 3, new Generator(1), groups: 2));
        // State-dict keys and shapes are torch's: weight (in, out/groups, kH, kW), bias (out).
        var state = new ConvTranspose2d(6, 4, 3, new Generator(1), groups: 2).StateDict();
        Assert.Equal([6, 2, 3, 3], state["weight"].Shape);
        Assert.Equal([4], state["bias"].Shape);
    }

    [Fact]
    public void Upsample_and_Embedding_refuse_bad_arguments_by_name()
    {
        Assert.Equal("size", Assert.Throws<ArgumentException>(() => new Upsample(null, null)).ParamName);
        Assert.Equal("alignCorners", Assert.Throws<ArgumentException>(() => new Upsample(2, UpsampleMode.Nearest, alignCorners: true)).ParamName);
        Assert.Equal("scaleFactor", Assert.Throws<ArgumentOutOfRangeException>(() => new Upsample(0)).ParamName);
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => new Upsample(2).Forward(Tensor.Zeros(2, 3))).ParamName);
        var emb = new Embedding(4, 2, new Generator(1));
        Assert.Contains("[0, 4)", Assert.Throws<ArgumentException>(() => emb.Forward(Tensor.FromArray([1f, 4f], 2))).Message);
        Assert.Contains("[0, 4)", Assert.Throws<ArgumentException>(() => emb.Forward(Tensor.FromArray([0.5f], 1))).Message);
        Assert.ThrowsAny<ArgumentException>(() => emb.Forward(new IntTensor([7], 1)));
        Assert.Equal([2, 3, 2], emb.Forward(IntTensor.Zeros(2, 3)).shape);
    }
}
