using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

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
    // EPYC with AVX-512 and the same with DOTNET_EnableAVX512F=0; the forward and backward bits are the kernels' (thread
    // count independent), so a machine whose kernels round differently may need the structural test below instead.
    [Theory]
    [InlineData("resnet:8", new[] { 1, 28, 28 }, 0, "BA2BD69C503E4038A74242F1743BB4D668BAEB6B559256D6EC2478B4D9D5840C")]
    [InlineData("plain:8", new[] { 1, 8, 8 }, 2, "6B04AB1F552028C6931B04F87E311B4F58C1D58C17E45FA0A76E08FDBC376107")]
    [InlineData("resnet:14", new[] { 3, 32, 32 }, 5, "92F92BF1DD09252F56E3B945BDA1F0123187120ADA15DD22BA04D578CDE79953")]
    public void Default_nets_are_bit_identical_to_the_nets_before_options(string spec, int[] sample, int seed, string expected)
    {
        Assert.Equal(expected, Fingerprint(Models.FromSpec(spec, sample, 10, new Generator((ulong)seed)), sample));
        Assert.Equal(expected, Fingerprint(Models.FromSpec(spec, sample, 10, new Generator((ulong)seed), "relu", ModelOptions.None), sample));
    }

    [Fact]
    public void Zero_init_residual_net_is_bit_identical_to_the_net_before_options() =>
        Assert.Equal("1DD61F250616C996E00C523763A6ECFE171826BACA34C065845A7D0F4811D8ED", Fingerprint(new ResNet(14, 1, 10, new Generator(3), residual: true, zeroInitResidual: true), [1, 12, 12]));

    // The forward before options, written out over the net's own modules by name: relu(bn1(conv1(x))), each block
    // relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), global average pooling, fc.
    static Tensor ReferenceForward(Module net, Tensor x, bool residual)
    {
        var m = net.NamedModules().ToDictionary(p => p.Name, p => p.Module);
        Tensor Conv(string name, Tensor t) => ((Conv2d)m[name]).Forward(t);
        Tensor Bn(string name, Tensor t) => ((BatchNorm2d)m[name]).Forward(t);
        var y = Bn("bn1", Conv("conv1", x)).Relu();
        for (int s = 1; s <= 3; s++)
            for (int b = 0; m.ContainsKey($"layer{s}.{b}"); b++)
            {
                string p = $"layer{s}.{b}.";
                var branch = Bn(p + "bn2", Conv(p + "conv2", Bn(p + "bn1", Conv(p + "conv1", y)).Relu()));
                if (residual) branch += m.ContainsKey(p + "downsample") ? Bn(p + "downsample.1", Conv(p + "downsample.0", y)) : y;
                y = branch.Relu();
            }
        return ((Linear)m["fc"]).Forward(Functional.AdaptiveAvgPool2d(y, 1, 1).Flatten(1));
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
}
