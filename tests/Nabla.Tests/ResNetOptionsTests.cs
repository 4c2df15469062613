using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Nabla.Autograd;
using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Tests;

/// <summary>Residual nets built from a spec with model options: the default net's bits, each option, and what is refused.</summary>
public class ResNetOptionsTests
{
    // SHA-256 over everything a net is: each state-dict key, shape and value before a step, the output of a training
    // forward on a fixed batch, every parameter's gradient after backward, and the state dict after (running statistics).
    static string Fingerprint(Module net, int[] sample)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string s) => sha.AppendData(Encoding.UTF8.GetBytes(s + "\n"));
        void AddFloats(float[] v) => sha.AppendData(MemoryMarshal.AsBytes(v.AsSpan()));
        void AddState()
        {
            foreach (var (key, value) in net.StateDict())
            {
                Add($"{key}{Shapes.Format([.. value.Shape])}");
                if (value.Float is { } t) AddFloats(t.ToArray());
                else Add(string.Join(",", value.Int!.Data));
            }
        }
        AddState();
        var x = Tensor.Randn([3, .. sample], new Generator(77));
        var y = net.Forward(x);
        AddFloats(y.ToArray());
        (y * Tensor.Randn([.. y.Shape], new Generator(78))).Sum().Backward();
        foreach (var (name, p) in net.NamedParameters())
        {
            Add(name);
            AddFloats(p.Grad!.ToArray());
        }
        AddState();
        return Convert.ToHexString(sha.GetHashAndReset());
    }

    // Taken from the nets FromSpec and the ResNet constructor built before they took options (commit 27eda95), on an AMD
    // EPYC with AVX-512 (DOTNET_EnableAVX512F=0, said here before, does not turn it off on .NET 10; with
    // DOTNET_EnableAVX512=0 the convolution kernels round differently and these hashes do not hold): the bits are the
    // kernels' (thread count independent), so a machine without AVX-512 needs the structural test below instead. The
    // hashes were recomputed when the convolutions moved to the direct kernels (issue 23), which sum in another order;
    // the im2col kernels gave the hashes of 27eda95 up to that change. Fusing BatchNorm + ReLU and add + ReLU leaves them as they are.
    [Theory]
    [InlineData("resnet:8", new[] { 1, 28, 28 }, 0, "0657767512AB3CA1B793DA7DB11ED123B0FCA727D17071D5FA6E5472056F976D")]
    [InlineData("plain:8", new[] { 1, 8, 8 }, 2, "21F81149E86AA09703716791516F4146BA40A48F05B7FFE2E00C78CE2E77183B")]
    [InlineData("resnet:14", new[] { 3, 32, 32 }, 5, "A607C87818C245EA8A6B60D6A833C3188985357C09A7FAD6846D9021DEC4A7C7")]
    public void Default_nets_are_bit_identical_to_the_nets_before_options(string spec, int[] sample, int seed, string expected)
    {
        Assert.Equal(expected, Fingerprint(Models.FromSpec(spec, sample, 10, new Generator((ulong)seed)), sample));
        Assert.Equal(expected, Fingerprint(Models.FromSpec(spec, sample, 10, new Generator((ulong)seed), "relu", ModelOptions.None), sample));
    }

    [Fact]
    public void Zero_init_residual_net_is_bit_identical_to_the_net_before_options() =>
        Assert.Equal("8E2F19608E8D07BA08D2B2330201A197DC0617FCBA46B93A228BB6CEDECF9422", Fingerprint(new ResNet(14, 1, 10, new Generator(3), residual: true, zeroInitResidual: true), [1, 12, 12]));

    // The forward before options, written out over the net's own modules by name: act(bn1(conv1(x))), each block
    // act(bn2(conv2(act(bn1(conv1(x))))) + shortcut(x)), global average pooling, dropout, fc — with ReLU and every
    // bn present, the net before options; a missing bn (norm none) is skipped.
    static Tensor ReferenceForward(Module net, Tensor x, bool residual, Func<Tensor, Tensor>? act = null)
    {
        act ??= t => t.Relu();
        var m = net.NamedModules().ToDictionary(p => p.Name, p => p.Module);
        Tensor Run(string name, Tensor t) => m.TryGetValue(name, out var module) ? module.Forward(t) : t;
        var y = act(Run("bn1", Run("conv1", x)));
        for (int s = 1; s <= 3; s++)
            for (int b = 0; m.ContainsKey($"layer{s}.{b}"); b++)
            {
                string p = $"layer{s}.{b}.";
                var branch = Run(p + "bn2", Run(p + "conv2", act(Run(p + "bn1", Run(p + "conv1", y)))));
                if (residual) branch += m.ContainsKey(p + "downsample") ? Run(p + "downsample.1", Run(p + "downsample.0", y)) : y;
                y = act(branch);
            }
        return Run("fc", Run("dropout", Functional.AdaptiveAvgPool2d(y, 1, 1).Flatten(1)));
    }

    [Theory]
    [InlineData("resnet:8", 1, 12)]
    [InlineData("plain:8", 3, 8)]
    [InlineData("resnet:14", 3, 10)]
    public void Default_nets_compute_what_the_nets_before_options_computed(string spec, int channels, int size)
    {
        int[] sample = [channels, size, size];
        var net = Models.FromSpec(spec, sample, 10, new Generator(4));
        var twin = Models.FromSpec(spec, sample, 10, new Generator(4));
        var x = Tensor.Randn([4, .. sample], new Generator(5));
        var y = net.Forward(x);
        var r = ReferenceForward(twin, x, spec.StartsWith("resnet", StringComparison.Ordinal));
        Assert.Equal(r.ToArray(), y.ToArray());
        y.Sum().Backward();
        r.Sum().Backward();
        var a = net.NamedParameters().ToArray();
        var b = twin.NamedParameters().ToArray();
        Assert.Equal(b.Select(p => p.Name), a.Select(p => p.Name));
        for (int i = 0; i < a.Length; i++) Assert.Equal(b[i].Parameter.Grad!.ToArray(), a[i].Parameter.Grad!.ToArray());
    }

    static readonly string[] NormKinds = ["batch", "group:4", "instance", "switch", "layer", "none"];

    public static TheoryData<string> Norms() => [.. NormKinds];

    [Theory]
    [MemberData(nameof(Norms))]
    public void Every_norm_keeps_torchvisions_keys_and_goes_where_batch_norm_went(string norm)
    {
        var net = (ResNet)Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(4), options: new ModelOptions(Norm: norm));
        var modules = net.NamedModules().ToDictionary(p => p.Name, p => p.Module);
        Type? expected = norm switch
        {
            "batch" => typeof(BatchNorm2d),
            "group:4" or "layer" => typeof(GroupNorm),
            "instance" => typeof(InstanceNorm2d),
            "switch" => typeof(SwitchNorm),
            _ => null,
        };
        foreach (var name in new[] { "bn1", "layer1.0.bn1", "layer1.0.bn2", "layer2.0.bn2", "layer2.0.downsample.1", "layer3.0.downsample.1" })
            Assert.Equal(expected, modules.GetValueOrDefault(name)?.GetType());
        if (norm is "group:4" or "layer") Assert.Equal(norm == "layer" ? 1 : 4, ((GroupNorm)modules["layer3.0.bn2"]).NumGroups);
        if (norm == "instance") Assert.NotNull(((InstanceNorm2d)modules["bn1"]).Weight);
        var keys = net.StateDict().Keys.ToArray();
        Assert.Contains("layer2.0.downsample.0.weight", keys);
        Assert.Equal(norm != "none", keys.Contains("layer2.0.downsample.1.weight"));
        Assert.Equal(norm != "none", keys.Contains("bn1.weight"));
        Assert.All(keys, k => Assert.Matches(@"^(conv1|bn1|fc|layer[123]\.\d\.(conv[12]|bn[12]|downsample\.[01]))\.", k));
        Assert.Equal(norm, net.Norm);
        // The convolutions keep bias = false (torchvision's shapes) whatever the normalisation.
        Assert.DoesNotContain(keys, k => k.StartsWith("conv1.bias", StringComparison.Ordinal) || k.EndsWith("conv1.bias", StringComparison.Ordinal));
        var x = Tensor.Randn([3, 1, 12, 12], new Generator(5));
        var twin = Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(4), options: new ModelOptions(Norm: norm));
        Assert.Equal(ReferenceForward(twin, x, residual: true).ToArray(), net.Forward(x).ToArray());
    }

    [Theory]
    [InlineData("tanh", "group:4")]
    [InlineData("gelu", "batch")]
    [InlineData("sigmoid", "none")]
    [InlineData("leaky_relu", "instance")]
    public void The_activation_goes_wherever_relu_went(string activation, string norm)
    {
        var act = Activations.Create(activation);
        foreach (var spec in new[] { "resnet:8", "plain:8" })
        {
            var options = new ModelOptions(Norm: norm);
            var net = Models.FromSpec(spec, [2, 10, 10], 10, new Generator(6), activation, options);
            var twin = Models.FromSpec(spec, [2, 10, 10], 10, new Generator(6), activation, options);
            var x = Tensor.Randn([3, 2, 10, 10], new Generator(7));
            Assert.Equal(ReferenceForward(twin, x, spec == "resnet:8", act.Forward).ToArray(), net.Forward(x).ToArray());
        }
    }

    [Fact]
    public void Dropout_comes_before_fc_and_draws_after_every_weight()
    {
        var plain = Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(8));
        var dropped = Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(8), options: new ModelOptions(Dropout: 0.3f, Mode: DropoutMode.Classic));
        // Same weights (the dropout generator is drawn last) and the same keys (dropout has none).
        var a = plain.StateDict();
        var b = dropped.StateDict();
        Assert.Equal(a.Keys, b.Keys);
        foreach (var (key, value) in a)
            if (value.Float is { } t) Assert.Equal(t.ToArray(), b[key].Float!.ToArray());
        var dropout = Assert.IsType<Dropout>(dropped.NamedModules().Single(m => m.Name == "dropout").Module);
        Assert.Equal(0.3f, dropout.P);
        Assert.Equal(DropoutMode.Classic, dropout.Mode);
        Assert.Equal(["dropout.mask"], dropped.NamedGenerators().Select(g => g.Name));
        Assert.Equal("fc", dropped.NamedChildren().Last().Name);
        // In training the mask is applied before fc; the reference forward runs the same modules in the same order.
        var twin = Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(8), options: new ModelOptions(Dropout: 0.3f, Mode: DropoutMode.Classic));
        var x = Tensor.Randn([4, 1, 12, 12], new Generator(9));
        Assert.Equal(ReferenceForward(twin, x, residual: true).ToArray(), dropped.Forward(x).ToArray());
        // p = 0 adds nothing: the default net, bit for bit (the fingerprint above covers its draws).
        Assert.DoesNotContain(Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(8), options: new ModelOptions(Dropout: 0)).NamedModules(), m => m.Name == "dropout");
        // Inverted dropout is the identity in evaluation: the default net's outputs.
        var fresh = Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(8)).Eval();
        var inverted = Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(8), options: new ModelOptions(Dropout: 0.5f)).Eval();
        Assert.Equal(fresh.Forward(x).ToArray(), inverted.Forward(x).ToArray());
    }

    [Theory]
    [InlineData("ws", "conv1.weight", typeof(WeightStandardization))]
    [InlineData("ws-minmax", "layer2.0.downsample.0.ws_gamma", typeof(WeightStandardization))]
    [InlineData("spectral", "layer2.0.downsample.0.parametrizations.weight.original", typeof(SpectralNorm))]
    public void Weight_norms_wrap_every_convolution_after_kaiming_init(string weightNorm, string key, Type wrapper)
    {
        var plain = Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(10));
        var net = Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(10), options: new ModelOptions(WeightNorm: weightNorm));
        var modules = net.NamedModules().ToDictionary(p => p.Name, p => p.Module);
        foreach (var name in new[] { "conv1", "layer1.0.conv1", "layer1.0.conv2", "layer2.0.downsample.0", "layer3.0.conv2" })
            Assert.IsType(wrapper, modules[name]);
        Assert.IsType<Linear>(modules["fc"]);
        Assert.DoesNotContain(modules.Values, m => m is Conv2d);   // none left bare
        Assert.Contains(key, net.StateDict().Keys);
        // The raw weights are the default net's Kaiming-normal draws; spectral norm's vectors come after them.
        var raw = net.NamedParameters().ToDictionary(p => p.Name.Replace("parametrizations.weight.original", "weight"), p => p.Parameter);
        foreach (var (name, p) in plain.NamedParameters()) Assert.Equal(p.ToArray(), raw[name].ToArray());
        if (weightNorm == "ws-minmax")
        {
            // γ, β from the Kaiming weights: the standardised weight starts as the raw one.
            var ws = (WeightStandardization)modules["layer1.0.conv1"];
            var a = ws.StandardizedWeight().ToArray();
            var w = ws.Weight.ToArray();
            for (int i = 0; i < a.Length; i++) Assert.Equal(w[i], a[i], 5);
        }
        Assert.Equal(new[] { 2, 10 }, net.Forward(Tensor.Randn([2, 1, 12, 12], new Generator(11))).Shape);
    }

    [Theory]
    [InlineData("resnet:20", 0.1f, 0f, 0f, false, "resnet:20 takes no input noise; residual nets take an activation, a normalisation, dropout before the classifier and a weight normalisation.")]
    [InlineData("plain:8", 0f, 0.2f, 0f, false, "plain:8 takes no input dropout;")]
    [InlineData("resnet:8", 0f, 0f, 0.3f, false, "resnet:8 takes no DropConnect;")]
    [InlineData("resnet:08", 0f, 0f, 0f, true, "resnet:8 takes no normalisation after the activation;")]
    public void Options_a_residual_net_does_not_take_are_refused(string spec, float noise, float inputDropout, float dropConnect, bool normAfter, string message)
    {
        var options = new ModelOptions(Noise: noise, InputDropout: inputDropout, DropConnect: dropConnect, NormAfter: normAfter);
        var e = Assert.Throws<FormatException>(() => Models.FromSpec(spec, [1, 12, 12], 10, new Generator(0), options: options));
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void Bad_option_values_are_refused_before_anything_is_built()
    {
        Assert.Contains("Unknown normalisation 'batchy'", Assert.Throws<FormatException>(() =>
            Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(0), options: new ModelOptions(Norm: "batchy"))).Message);
        Assert.Equal("Normalisation 'group:3': 16 channels do not divide into 3 groups.", Assert.Throws<FormatException>(() =>
            Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(0), options: new ModelOptions(Norm: "group:3"))).Message);
        Assert.Contains("Unknown weight normalisation 'wn'", Assert.Throws<FormatException>(() =>
            Models.FromSpec("plain:8", [1, 12, 12], 10, new Generator(0), options: new ModelOptions(WeightNorm: "wn"))).Message);
        Assert.Throws<ArgumentException>(() => Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(0), "swishy"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(0), options: new ModelOptions(Dropout: 1.5f)));
        // A valid group count on the widest stage only is still refused: every stage's norm is checked up front.
        Assert.Throws<FormatException>(() => Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(0), options: new ModelOptions(Norm: "group:32")));
    }

    [Fact]
    public void Default_norm_is_the_models_own()
    {
        Assert.Equal("none", Models.DefaultNorm("mlp:256,128"));
        Assert.Equal("none", Models.DefaultNorm("mlp"));
        Assert.Equal("none", Models.DefaultNorm("cnn:8,16"));
        Assert.Equal("batch", Models.DefaultNorm("resnet:20"));
        Assert.Equal("batch", Models.DefaultNorm("Plain:56"));
        Assert.Throws<FormatException>(() => Models.DefaultNorm("vgg:16"));
        Assert.Throws<FormatException>(() => Models.DefaultNorm("mlp:x"));
        Assert.Null(ModelOptions.None.Norm);
        // null is the default; "none" means none for every model.
        Assert.Contains("bn1.weight", Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(0), options: new ModelOptions()).StateDict().Keys);
        Assert.DoesNotContain("bn1.weight", Models.FromSpec("resnet:8", [1, 12, 12], 10, new Generator(0), options: new ModelOptions(Norm: "none")).StateDict().Keys);
        Assert.Equal(Models.FromSpec("cnn:4,8", [1, 12, 12], 10, new Generator(0), options: new ModelOptions(Norm: "none")).StateDict().Keys,
            Models.FromSpec("cnn:4,8", [1, 12, 12], 10, new Generator(0), options: new ModelOptions()).StateDict().Keys);
        Assert.Equal(Models.Mlp(6, [4], 2, new Generator(0), options: new ModelOptions(Norm: "none")).StateDict().Keys,
            Models.Mlp(6, [4], 2, new Generator(0), options: new ModelOptions()).StateDict().Keys);
    }

    [Theory]
    [InlineData("group:4")]
    [InlineData("instance")]
    [InlineData("switch")]
    [InlineData("layer")]
    public void Zero_init_residual_zeroes_the_last_gamma_of_any_norm(string norm)
    {
        var net = new ResNet(14, 1, 10, new Generator(3), "relu", norm, zeroInitResidual: true);
        Assert.True(net.ZeroInitResidual);
        var blocks = net.NamedModules().Select(m => m.Module).OfType<BasicBlock>().ToArray();
        Tensor Gamma(Module m) => m switch { GroupNorm g => g.Weight!, InstanceNorm2d i => i.Weight!, SwitchNorm s => s.Weight, _ => throw new InvalidOperationException() };
        Assert.All(blocks, b => Assert.All(Gamma(b.LastNorm!).ToArray(), v => Assert.Equal(0f, v)));
        // An identity block on a non-negative input returns it: relu(0·n + β + x) with β = 0.
        var x = Tensor.Rand([2, 16, 7, 7], new Generator(4));
        Assert.Equal(x.ToArray(), blocks[0].Forward(x).ToArray());
    }

    [Fact]
    public void Zero_init_residual_without_a_norm_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => new ResNet(8, 1, 10, new Generator(0), "relu", "none", zeroInitResidual: true));
        Assert.Contains("norm 'none'", e.Message);
        // Plain nets ignore the flag, as they do with a norm.
        Assert.False(new ResNet(8, 1, 10, new Generator(0), "relu", "none", residual: false, zeroInitResidual: true).ZeroInitResidual);
    }

    [Fact]
    public void Resnet8_with_group_norm_and_tanh_has_the_finite_difference_gradient()
    {
        // Smooth everywhere (no ReLU kinks), so every element must agree; float32, hence the default tolerances.
        var net = Models.FromSpec("resnet:8", [1, 8, 8], 3, new Generator(12), "tanh", new ModelOptions(Norm: "group:4"));
        var x = Tensor.Randn([2, 1, 8, 8], new Generator(13));
        var r = GradCheck.Check(xs => net.Forward(xs[0]), [x]);
        Assert.True(r.Passed, r.Message);
        var named = net.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        var some = new[] { "conv1.weight", "layer2.0.bn1.weight", "layer2.0.bn1.bias", "layer3.0.downsample.1.weight", "layer3.0.bn2.bias", "fc.bias" }.Select(n => named[n]);
        var rp = GradCheck.CheckParameters(() => net.Forward(x), some);
        Assert.True(rp.Passed, rp.Message);
    }

    [Fact]
    public void A_net_with_every_option_trains_through_the_trainer_captured()
    {
        var g = new Generator(14);
        var data = new TensorDataset(Tensor.Rand([24, 1, 8, 8], g), IntTensor.FromArray(Enumerable.Range(0, 24).Select(i => i % 3).ToArray()));
        var options = new ModelOptions(Dropout: 0.3f, Norm: "group:4", WeightNorm: "ws");
        var model = Models.FromSpec("resnet:8", [1, 8, 8], 3, new Generator(15), "tanh", options);
        var before = model.Parameters().Select(p => p.ToArray()).ToArray();
        var trainer = new Trainer(new TrainerOptions { BatchSize = 8, Seed = 3, BackgroundLoading = false });
        var history = trainer.Fit(model, new CrossEntropyLoss(), new Adam(model.Parameters(), lr: 1e-2), data, null, 1);
        Assert.True(history.CapturedStep, history.CaptureNote);   // tanh, group norm, weight standardisation and dropout replay too
        Assert.All(history.Series("loss"), l => Assert.True(double.IsFinite(l)));
        Assert.Contains(model.Parameters().Select(p => p.ToArray()).Zip(before), pair => !pair.First.SequenceEqual(pair.Second));
    }
}
