namespace Nabla.Tests;

public class InitTests
{
    static (double mean, double std, float min, float max) Stats(Tensor t)
    {
        var v = t.ToArray();
        double mean = v.Average();
        return (mean, Math.Sqrt(v.Select(x => (x - mean) * (x - mean)).Average()), v.Min(), v.Max());
    }

    [Fact]
    public void Gains_match_pytorch()
    {
        Assert.Equal(1f, Init.CalculateGain("linear"));
        Assert.Equal(1f, Init.CalculateGain("sigmoid"));
        Assert.Equal(5f / 3f, Init.CalculateGain("tanh"));
        Assert.Equal(MathF.Sqrt(2), Init.CalculateGain("relu"));
        Assert.Equal(MathF.Sqrt(2f / (1 + 0.01f * 0.01f)), Init.CalculateGain("leaky_relu"));
        Assert.Equal(MathF.Sqrt(2f / 6f), Init.CalculateGain("leaky_relu", MathF.Sqrt(5)), 6);
        Assert.Equal(0.75f, Init.CalculateGain("selu"));
        Assert.Throws<ArgumentException>(() => Init.CalculateGain("mystery"));
    }

    [Fact]
    public void Fans_count_the_receptive_field()
    {
        Assert.Equal((20, 30), Init.CalculateFans(Tensor.Zeros(30, 20)));
        Assert.Equal((3 * 9, 16 * 9), Init.CalculateFans(Tensor.Zeros(16, 3, 3, 3)));
        Assert.Throws<ArgumentException>(() => Init.CalculateFans(Tensor.Zeros(5)));
    }

    [Fact]
    public void Schemes_have_the_documented_distributions()
    {
        var g = new Generator(4);
        // Xavier uniform: U(±√(6/(fan_in+fan_out))).
        var xu = Stats(Init.XavierUniform(Tensor.Zeros(200, 300), g));
        float a = MathF.Sqrt(6f / 500);
        Assert.InRange(xu.min, -a, -0.99f * a);
        Assert.InRange(xu.max, 0.99f * a, a);
        // Xavier normal: σ = √(2/(fan_in+fan_out)).
        Assert.Equal(Math.Sqrt(2.0 / 500), Stats(Init.XavierNormal(Tensor.Zeros(200, 300), g)).std, 3);
        // Kaiming normal, relu, fan_in: σ = √2/√fan_in.
        Assert.Equal(Math.Sqrt(2.0 / 300), Stats(Init.KaimingNormal(Tensor.Zeros(200, 300), g, nonlinearity: "relu")).std, 3);
        // Kaiming uniform, relu, fan_out: bound √2·√(3/fan_out).
        var ku = Stats(Init.KaimingUniform(Tensor.Zeros(200, 300), g, mode: FanMode.FanOut, nonlinearity: "relu"));
        float b = MathF.Sqrt(2) * MathF.Sqrt(3f / 200);
        Assert.InRange(ku.max, 0.99f * b, b);
        Assert.All(Init.Constant(Tensor.Zeros(3), 0.5f).ToArray(), v => Assert.Equal(0.5f, v));
        Assert.All(Init.Ones(Tensor.Zeros(3)).ToArray(), v => Assert.Equal(1f, v));
        Assert.All(Init.Zeros(Tensor.Ones(3)).ToArray(), v => Assert.Equal(0f, v));
        var n = Stats(Init.Normal(Tensor.Zeros(20000), 2f, 0.5f, g));
        Assert.Equal(2.0, n.mean, 1);
        Assert.Equal(0.5, n.std, 2);
    }

    [Fact]
    public void Same_generator_seed_same_weights()
    {
        Assert.Equal(Init.XavierUniform(Tensor.Zeros(5, 5), new Generator(1)).ToArray(), Init.XavierUniform(Tensor.Zeros(5, 5), new Generator(1)).ToArray());
    }
}
