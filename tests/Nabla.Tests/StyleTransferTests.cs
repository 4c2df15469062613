using System.Text.Json;
using Nabla.Generative;

namespace Nabla.Tests;

/// <summary>
/// Style transfer (issue 21) against PyTorch (tests/fixtures/style.json, torch_vgg_mini.safetensors from
/// make_style_fixtures.py): a VGG-shaped stack in torchvision's key names loads and gives PyTorch's features and Gram
/// matrices; Gatys et al.'s loss and its gradient match; AdaIN moves the channel statistics; Stylize lowers the loss.
/// </summary>
public class StyleTransferTests
{
    static readonly Lazy<JsonElement> Case = new(() => Fixtures.Load("style.json").GetProperty("case"));

    static FeatureNetwork Mini() =>
        FeatureNetwork.LoadVgg(Path.Combine(Fixtures.Dir, "torch_vgg_mini.safetensors"),
            [.. Case.Value.GetProperty("cfg").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetInt32().ToString())]);

    [Fact]
    public void A_VGG_stack_in_torchvisions_key_names_gives_pytorchs_features_and_grams()
    {
        var net = Mini();
        Assert.Equal(["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1", "conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2", "conv3_1", "relu3_1"], net.LayerNames);
        Assert.Equal("features.0.weight", net.StateDict().Keys.First());
        var x = Fixtures.Tensor(Case.Value.GetProperty("input"));
        int[] taps = [1, 6, 8, 11];
        var f = net.Taps(x, taps);
        for (int i = 0; i < taps.Length; i++)
        {
            Fixtures.Close($"features {taps[i]}", Case.Value.GetProperty("features").GetProperty(taps[i].ToString()), f[i], atol: 1e-5);
            Fixtures.Close($"gram {taps[i]}", Case.Value.GetProperty("grams").GetProperty(taps[i].ToString()), StyleTransfer.Gram(f[i]), atol: 1e-5);
        }
        Assert.Equal(6, net.IndexOf("relu2_1"));
        Assert.Contains("relu1_1", Assert.Throws<ArgumentException>(() => net.IndexOf("relu9_9")).Message);
    }

    [Fact]
    public void Gatys_loss_and_its_gradient_match_pytorch()
    {
        var net = Mini();
        var g = Case.Value.GetProperty("gatys");
        var targets = StyleTransfer.Targets(net, Fixtures.Tensor(g.GetProperty("content")), Fixtures.Tensor(g.GetProperty("style")), ["relu2_2"],
            ["relu1_1", "relu2_1", "relu3_1"]);
        var x = Fixtures.Tensor(Case.Value.GetProperty("input")).RequiresGrad_();
        var loss = StyleTransfer.Loss(net, x, targets, g.GetProperty("content_weight").GetDouble(), g.GetProperty("style_weight").GetDouble());
        double expected = g.GetProperty("loss").GetDouble();
        Assert.True(Math.Abs(loss.Item() - expected) <= 1e-5 * Math.Abs(expected), $"loss {loss.Item()} vs PyTorch {expected}");
        loss.Backward();
        Fixtures.Close("grad_input", g.GetProperty("grad_input"), x.Grad!, atol: 1e-6);
    }

    [Fact]
    public void AdaIN_gives_each_channel_the_styles_mean_and_deviation()
    {
        var content = Tensor.Randn([2, 3, 5, 4], 1) * 2f + 1f;
        var style = Tensor.Randn([2, 3, 6, 6], 2) * Tensor.FromArray([0.5f, 3f, 1f], 1, 3, 1, 1) - 2f;
        var y = StyleTransfer.AdaIn(content, style, eps: 0f);
        var (ym, ys) = (y.Mean([2, 3]).ToArray(), Std(y));
        var (sm, ss) = (style.Mean([2, 3]).ToArray(), Std(style));
        for (int i = 0; i < ym.Length; i++)
        {
            Assert.Equal(sm[i], ym[i], 4);
            Assert.Equal(ss[i], ys[i], 4);
        }
        Assert.Throws<ArgumentException>(() => StyleTransfer.AdaIn(content, Tensor.Zeros(2, 4, 3, 3)));
    }

    static float[] Std(Tensor x)
    {
        var m = x.Mean([2, 3], keepDim: true);
        return (((x - m) * (x - m)).Mean([2, 3])).Sqrt().ToArray();
    }

    [Fact]
    public void Stylize_lowers_the_loss_keeps_pixels_in_range_and_leaves_the_network_as_it_was()
    {
        var net = Mini();
        var content = Tensor.Rand([1, 3, 16, 16], 3);
        var style = Tensor.Rand([1, 3, 20, 20], 4);
        var o = new StyleOptions { ContentLayers = ["relu2_2"], StyleLayers = ["relu1_1", "relu2_1", "relu3_1"], StyleWeight = 1000, Steps = 40, LearningRate = 0.03 };
        var losses = new List<double>();
        var y = StyleTransfer.Stylize(net, content, style, o with { Progress = (_, l) => losses.Add(l) });
        Assert.Equal([1, 3, 16, 16], y.shape);
        Assert.All(y.ToArray(), v => Assert.InRange(v, 0f, 1f));
        Assert.True(losses[^1] < 0.5 * losses[0], string.Join(", ", losses));
        Assert.True(net.Training);
        Assert.All(net.Parameters(), p => Assert.True(p.RequiresGrad && p.Grad is null));
    }

    [Fact]
    public void A_trained_classifiers_convolutions_become_a_feature_network()
    {
        var cnn = (Sequential)Models.FromSpec("cnn:4,8", [1, 12, 12], 3, new Generator(1));
        var net = FeatureNetwork.FromClassifier(cnn, 1);
        Assert.Contains("relu1_1", net.LayerNames);
        Assert.Contains("relu2_1", net.LayerNames);
        var f = net.Taps(Tensor.Rand([2, 1, 12, 12], 5), [net.IndexOf("relu2_1")]);
        Assert.Equal(8, f[0].shape[1]);
    }

    [Fact]
    public void An_AdaIN_decoder_learns_saves_and_loads()
    {
        var encoder = FeatureNetwork.Vgg(["4", "M", "8"], new Generator(2), 3, imageNetNormalisation: false);
        var styler = new AdaInStyler(encoder, "relu2_1", new Generator(3));
        Assert.Equal([1, 3, 12, 12], styler.Stylize(Tensor.Rand([1, 3, 12, 12], 1), Tensor.Rand([1, 3, 8, 8], 2)).shape);
        var g = new Generator(4);
        var images = Tensor.Rand([64, 3, 12, 12], g);
        var data = new Data.TensorDataset(images, new IntTensor(new int[64], 64), 1);
        var losses = styler.Train(data, 6, batchSize: 16, lr: 1e-3, seed: 1);
        Assert.True(losses[^1] < 0.7 * losses[0], string.Join(", ", losses));
        Assert.All(encoder.Parameters(), p => Assert.False(p.RequiresGrad));
        var dir = Directory.CreateTempSubdirectory("nabla-adain");
        try
        {
            styler.Save(dir.FullName, encoder.Kind!, encoder.Recipe);
            var back = AdaInStyler.Load(dir.FullName);
            var (c, st) = (images.Slice(0, 0, 2), images.Slice(0, 2, 4));
            styler.Eval();
            Assert.Equal(styler.Stylize(c, st).ToArray(), back.Stylize(c, st).ToArray());
            Assert.Contains("no trained style decoder", Assert.Throws<ArgumentException>(() => AdaInStyler.Load(Path.Combine(dir.FullName, "none"))).Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
