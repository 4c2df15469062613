namespace Nabla;

/// <summary>Stateless layer functions, as torch.nn.functional; the modules call these.</summary>
public static partial class Functional
{
    /// <summary>Use the one-node Linear primitive where it applies (tests and benchmarks compare it with the composed ops).</summary>
    internal static bool FusedLinear = true;

    /// <summary>relu(xWᵀ + b) as one node where the Linear primitive applies (the ReLU in place on its output), else composed; same bits either way.</summary>
    internal static Tensor LinearRelu(Tensor input, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (FusedLinear && weight.Rank == 2 && input.Rank > 0 && input.shape[^1] == weight.shape[1] && Ops.LinearOp.Applies(input, weight, bias))
            return Ops.LinearOp.Forward(input, weight, bias, relu: true);
        return Linear(input, weight, bias).Relu();   // validates and explains bad shapes
    }

    /// <summary>y = xWᵀ + b for x (…, in), W (out, in), b (out). Wᵀ is a view: the GEMM reads W transposed.</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2)
            throw new ArgumentException($"Linear: weight {Shapes.Format(weight.shape)} must be (out_features, in_features).", nameof(weight));
        if (input.Rank == 0 || input.shape[^1] != weight.shape[1])
            throw new ArgumentException(
                $"Linear: input {Shapes.Format(input.shape)} must end in in_features = {weight.shape[1]} to match weight {Shapes.Format(weight.shape)}.", nameof(input));
        if (FusedLinear && Ops.LinearOp.Applies(input, weight, bias)) return Ops.LinearOp.Forward(input, weight, bias);
        var y = input.MatMul(weight.T);
        return bias is null ? y : y + bias;
    }

    /// <summary>2-D convolution of (N, C, H, W) by (OutC, C/groups, kH, kW), plus a per-channel bias.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, (int H, int W)? stride = null, (int H, int W)? padding = null,
        (int H, int W)? dilation = null, int groups = 1)
    {
        return Ops.Conv2dOp.Forward(input, weight, bias, stride ?? (1, 1), padding ?? (0, 0), dilation ?? (1, 1), groups);
    }

    /// <summary>
    /// 2-D transposed convolution of (N, C_in, H, W) by (C_in, C_out/groups, kH, kW), plus a per-channel bias
    /// (torch.nn.functional.conv_transpose2d): OH = (H − 1)·stride − 2·padding + dilation·(kH − 1) + output_padding + 1.
    /// </summary>
    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, (int H, int W)? stride = null, (int H, int W)? padding = null,
        (int H, int W)? outputPadding = null, (int H, int W)? dilation = null, int groups = 1) =>
        Ops.ConvTranspose2dOp.Forward(input, weight, bias, stride ?? (1, 1), padding ?? (0, 0), outputPadding ?? (0, 0), dilation ?? (1, 1), groups);

    /// <summary>Max pooling with a square window (stride defaults to the window).</summary>
    public static Tensor MaxPool2d(Tensor input, int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) =>
        Ops.MaxPool2dOp.Forward(input, (kernelSize, kernelSize), (stride ?? kernelSize, stride ?? kernelSize), (padding, padding), (dilation, dilation), ceilMode);

    /// <summary>Average pooling with a square window (stride defaults to the window).</summary>
    public static Tensor AvgPool2d(Tensor input, int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true) =>
        Ops.AvgPool2dOp.Forward(input, (kernelSize, kernelSize), (stride ?? kernelSize, stride ?? kernelSize), (padding, padding), ceilMode, countIncludePad, null);

    /// <summary>Adaptive average pooling to (outputHeight, outputWidth).</summary>
    public static Tensor AdaptiveAvgPool2d(Tensor input, int outputHeight, int outputWidth) => Ops.AdaptiveAvgPool2dOp.Forward(input, (outputHeight, outputWidth));

    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor x) => x.Relu();

    /// <summary>1/(1 + e⁻ˣ).</summary>
    public static Tensor Sigmoid(Tensor x) => x.Sigmoid();

    /// <summary>tanh x.</summary>
    public static Tensor Tanh(Tensor x) => x.Tanh();

    /// <summary>x if x &gt; 0 else slope·x.</summary>
    public static Tensor LeakyRelu(Tensor x, float negativeSlope = 0.01f) => x.LeakyRelu(negativeSlope);

    /// <summary>x if x &gt; 0 else α(eˣ − 1).</summary>
    public static Tensor Elu(Tensor x, float alpha = 1f) => x.Elu(alpha);

    /// <summary>x·Φ(x), or its tanh approximation.</summary>
    public static Tensor Gelu(Tensor x, bool tanhApproximation = false) => x.Gelu(tanhApproximation);

    /// <summary>x·σ(x).</summary>
    public static Tensor Silu(Tensor x) => x.Silu();

    /// <summary>ln(1 + e^(βx))/β, linear past the threshold.</summary>
    public static Tensor Softplus(Tensor x, float beta = 1f, float threshold = 20f) => x.Softplus(beta, threshold);

    /// <summary>Softmax along dim.</summary>
    public static Tensor Softmax(Tensor x, int dim) => x.Softmax(dim);

    /// <summary>Log-softmax along dim.</summary>
    public static Tensor LogSoftmax(Tensor x, int dim) => x.LogSoftmax(dim);
}
