using Nabla.Autograd;

namespace Nabla;

/// <summary>Which fan a Kaiming initialisation preserves the variance of.</summary>
public enum FanMode
{
    /// <summary>Preserve the forward pass: fan_in = inputs per output unit.</summary>
    FanIn,
    /// <summary>Preserve the backward pass: fan_out = outputs per input unit.</summary>
    FanOut,
}

/// <summary>
/// Weight initialisation as <c>torch.nn.init</c>: every function fills a tensor in place (without recording a
/// graph) from an explicit <see cref="Generator"/> and returns it. For a weight of shape (out, in, k…),
/// fan_in = in·Πk and fan_out = out·Πk.
/// </summary>
public static class Init
{
    /// <summary>
    /// PyTorch's recommended gain for a nonlinearity: linear, conv, sigmoid → 1; tanh → 5/3; relu → √2;
    /// leaky_relu → √(2/(1+slope²)) (slope default 0.01); selu → 3/4.
    /// </summary>
    public static float CalculateGain(string nonlinearity, float? param = null)
    {
        switch (nonlinearity)
        {
            case "linear" or "conv1d" or "conv2d" or "conv3d" or "conv_transpose1d" or "conv_transpose2d" or "conv_transpose3d" or "sigmoid":
                return 1f;
            case "tanh": return 5f / 3f;
            case "relu": return MathF.Sqrt(2f);
            case "leaky_relu":
                float slope = param ?? 0.01f;
                return MathF.Sqrt(2f / (1f + slope * slope));
            case "selu": return 0.75f;
            default: throw new ArgumentException($"CalculateGain: unsupported nonlinearity '{nonlinearity}'.", nameof(nonlinearity));
        }
    }

    /// <summary>(fan_in, fan_out) of a weight of shape (out, in, k…).</summary>
    /// <exception cref="ArgumentException">the tensor has fewer than 2 dims.</exception>
    public static (int FanIn, int FanOut) CalculateFans(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Rank < 2)
            throw new ArgumentException($"Fan in and fan out cannot be computed for a tensor of shape {Shapes.Format(tensor.shape)} (fewer than 2 dims).", nameof(tensor));
        int receptive = 1;
        for (int d = 2; d < tensor.Rank; d++) receptive *= tensor.shape[d];
        return (tensor.shape[1] * receptive, tensor.shape[0] * receptive);
    }

    private static Tensor Fill(Tensor tensor, Func<float> next)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var v = new float[tensor.Numel];
        for (int i = 0; i < v.Length; i++) v[i] = next();
        using (GradMode.NoGrad()) tensor.CopyFrom(Tensor.FromArray(v, tensor.shape));
        return tensor;
    }

    /// <summary>U(low, high).</summary>
    public static Tensor Uniform(Tensor tensor, float low, float high, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (!(low <= high)) throw new ArgumentException($"Uniform: low {low} must not exceed high {high}.", nameof(low));
        return Fill(tensor, () => low + (high - low) * generator.NextFloat());
    }

    /// <summary>N(mean, std²).</summary>
    public static Tensor Normal(Tensor tensor, float mean, float std, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (!(std >= 0)) throw new ArgumentException($"Normal: std must be non-negative, got {std}.", nameof(std));
        return Fill(tensor, () => (float)(mean + std * generator.NextNormal()));
    }

    /// <summary>Every element = value.</summary>
    public static Tensor Constant(Tensor tensor, float value)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using (GradMode.NoGrad()) tensor.FillInPlace(value);
        return tensor;
    }

    /// <summary>Every element = 0.</summary>
    public static Tensor Zeros(Tensor tensor) => Constant(tensor, 0f);

    /// <summary>Every element = 1.</summary>
    public static Tensor Ones(Tensor tensor) => Constant(tensor, 1f);

    /// <summary>Xavier/Glorot uniform: U(±a), a = gain·√(6/(fan_in + fan_out)).</summary>
    public static Tensor XavierUniform(Tensor tensor, Generator generator, float gain = 1f)
    {
        var (fanIn, fanOut) = CalculateFans(tensor);
        float a = gain * MathF.Sqrt(6f / (fanIn + fanOut));
        return Uniform(tensor, -a, a, generator);
    }

    /// <summary>Xavier/Glorot normal: N(0, σ²), σ = gain·√(2/(fan_in + fan_out)).</summary>
    public static Tensor XavierNormal(Tensor tensor, Generator generator, float gain = 1f)
    {
        var (fanIn, fanOut) = CalculateFans(tensor);
        return Normal(tensor, 0f, gain * MathF.Sqrt(2f / (fanIn + fanOut)), generator);
    }

    /// <summary>
    /// Kaiming/He uniform: U(±b), b = gain·√(3/fan), gain = <see cref="CalculateGain"/>(nonlinearity, a).
    /// PyTorch's defaults: a = 0, fan_in, leaky_relu. <c>Linear</c> uses a = √5, which gives b = 1/√fan_in.
    /// </summary>
    public static Tensor KaimingUniform(Tensor tensor, Generator generator, float a = 0f, FanMode mode = FanMode.FanIn, string nonlinearity = "leaky_relu")
    {
        var (fanIn, fanOut) = CalculateFans(tensor);
        int fan = mode == FanMode.FanIn ? fanIn : fanOut;
        float bound = fan == 0 ? 0f : CalculateGain(nonlinearity, a) * MathF.Sqrt(3f / fan);
        return Uniform(tensor, -bound, bound, generator);
    }

    /// <summary>Kaiming/He normal: N(0, σ²), σ = gain/√fan.</summary>
    public static Tensor KaimingNormal(Tensor tensor, Generator generator, float a = 0f, FanMode mode = FanMode.FanIn, string nonlinearity = "leaky_relu")
    {
        var (fanIn, fanOut) = CalculateFans(tensor);
        int fan = mode == FanMode.FanIn ? fanIn : fanOut;
        float std = fan == 0 ? 0f : CalculateGain(nonlinearity, a) / MathF.Sqrt(fan);
        return Normal(tensor, 0f, std, generator);
    }
}
