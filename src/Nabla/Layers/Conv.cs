using Nabla.Ops;

namespace Nabla;

/// <summary>
/// 2-D convolution (torch.nn.Conv2d): input (N, C_in, H, W), output (N, C_out, OH, OW) with
/// OH = ⌊(H + 2·padding − dilation·(k − 1) − 1)/stride⌋ + 1. Weight (C_out, C_in/groups, kH, kW) and bias (C_out) start
/// as PyTorch's: Kaiming-uniform with a = √5 (U(±1/√fan_in), fan_in = C_in/groups·kH·kW) and U(±1/√fan_in).
/// </summary>
public sealed class Conv2d : Module
{
    /// <summary>Creates the layer; sizes given once apply to both dims.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, Generator generator, int stride = 1, int padding = 0, int dilation = 1,
        int groups = 1, bool bias = true)
        : this(inChannels, outChannels, (kernelSize, kernelSize), generator, (stride, stride), (padding, padding), (dilation, dilation), groups, bias) { }

    /// <summary>Creates the layer with separate height and width settings.</summary>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, Generator generator, (int H, int W) stride, (int H, int W) padding,
        (int H, int W) dilation, int groups = 1, bool bias = true)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (inChannels < 1 || outChannels < 1) throw new ArgumentOutOfRangeException(nameof(inChannels), "Conv2d: channel counts must be positive.");
        if (groups < 1 || inChannels % groups != 0) throw new ArgumentException("in_channels must be divisible by groups", nameof(groups));
        if (outChannels % groups != 0) throw new ArgumentException("out_channels must be divisible by groups", nameof(groups));
        if (kernelSize.H < 1 || kernelSize.W < 1) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "Conv2d: kernel size must be positive.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Groups = groups;
        Weight = RegisterParameter("weight", Init.KaimingUniform(Tensor.Zeros(outChannels, inChannels / groups, kernelSize.H, kernelSize.W), generator, a: MathF.Sqrt(5f)));
        if (bias)
        {
            float bound = 1f / MathF.Sqrt(inChannels / groups * kernelSize.H * kernelSize.W);
            Bias = RegisterParameter("bias", Init.Uniform(Tensor.Zeros(outChannels), -bound, bound, generator));
        }
    }

    /// <summary>(C_out, C_in/groups, kH, kW).</summary>
    public Tensor Weight { get; }
    /// <summary>(C_out), or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel (height, width).</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>Stride.</summary>
    public (int H, int W) Stride { get; }
    /// <summary>Zero padding on each side.</summary>
    public (int H, int W) Padding { get; }
    /// <summary>Dilation.</summary>
    public (int H, int W) Dilation { get; }
    /// <summary>Channel groups (C_in = groups gives a depthwise convolution).</summary>
    public int Groups { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Conv2d(input, Weight, Bias, Stride, Padding, Dilation, Groups);

    /// <inheritdoc/>
    protected override string ExtraRepr =>
        $"{InChannels}, {OutChannels}, kernel_size=({KernelSize.H}, {KernelSize.W}), stride=({Stride.H}, {Stride.W})" +
        (Padding != (0, 0) ? $", padding=({Padding.H}, {Padding.W})" : "") + (Dilation != (1, 1) ? $", dilation=({Dilation.H}, {Dilation.W})" : "") +
        (Groups != 1 ? $", groups={Groups}" : "") + (Bias is null ? ", bias=False" : "");
}

/// <summary>
/// 2-D transposed convolution (torch.nn.ConvTranspose2d), the adjoint of <see cref="Conv2d"/>: input (N, C_in, H, W),
/// output (N, C_out, OH, OW) with OH = (H − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1. Weight
/// (C_in, C_out/groups, kH, kW) and bias (C_out) start as PyTorch's: Kaiming-uniform with a = √5 over
/// fan_in = C_out/groups·kH·kW (the weight's second dim, as torch computes it) and U(±1/√fan_in).
/// output_padding must be smaller than the stride.
/// </summary>
public sealed class ConvTranspose2d : Module
{
    /// <summary>Creates the layer; sizes given once apply to both dims.</summary>
    public ConvTranspose2d(int inChannels, int outChannels, int kernelSize, Generator generator, int stride = 1, int padding = 0,
        int outputPadding = 0, int groups = 1, bool bias = true, int dilation = 1)
        : this(inChannels, outChannels, (kernelSize, kernelSize), generator, (stride, stride), (padding, padding), (outputPadding, outputPadding),
            (dilation, dilation), groups, bias) { }

    /// <summary>Creates the layer with separate height and width settings.</summary>
    public ConvTranspose2d(int inChannels, int outChannels, (int H, int W) kernelSize, Generator generator, (int H, int W) stride,
        (int H, int W) padding, (int H, int W) outputPadding, (int H, int W) dilation, int groups = 1, bool bias = true)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (inChannels < 1 || outChannels < 1) throw new ArgumentOutOfRangeException(nameof(inChannels), "ConvTranspose2d: channel counts must be positive.");
        if (groups < 1 || inChannels % groups != 0) throw new ArgumentException("in_channels must be divisible by groups", nameof(groups));
        if (outChannels % groups != 0) throw new ArgumentException("out_channels must be divisible by groups", nameof(groups));
        if (kernelSize.H < 1 || kernelSize.W < 1) throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, "ConvTranspose2d: kernel size must be positive.");
        if (stride.H < 1 || stride.W < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "ConvTranspose2d: stride must be positive.");
        if (outputPadding.H < 0 || outputPadding.W < 0 || outputPadding.H >= stride.H || outputPadding.W >= stride.W)
            throw new ArgumentOutOfRangeException(nameof(outputPadding), outputPadding, $"ConvTranspose2d: output_padding must be ≥ 0 and smaller than the stride {stride}.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        OutputPadding = outputPadding;
        Dilation = dilation;
        Groups = groups;
        Weight = RegisterParameter("weight", Init.KaimingUniform(Tensor.Zeros(inChannels, outChannels / groups, kernelSize.H, kernelSize.W), generator, a: MathF.Sqrt(5f)));
        if (bias)
        {
            float bound = 1f / MathF.Sqrt(outChannels / groups * kernelSize.H * kernelSize.W);
            Bias = RegisterParameter("bias", Init.Uniform(Tensor.Zeros(outChannels), -bound, bound, generator));
        }
    }

    /// <summary>(C_in, C_out/groups, kH, kW).</summary>
    public Tensor Weight { get; }
    /// <summary>(C_out), or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel (height, width).</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>Stride (the upsampling factor).</summary>
    public (int H, int W) Stride { get; }
    /// <summary>Rows and columns cut from each side of the output (the zero padding of the convolution this is the adjoint of).</summary>
    public (int H, int W) Padding { get; }
    /// <summary>Extra rows and columns added on one side of the output.</summary>
    public (int H, int W) OutputPadding { get; }
    /// <summary>Dilation.</summary>
    public (int H, int W) Dilation { get; }
    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.ConvTranspose2d(input, Weight, Bias, Stride, Padding, OutputPadding, Dilation, Groups);

    /// <inheritdoc/>
    protected override string ExtraRepr =>
        $"{InChannels}, {OutChannels}, kernel_size=({KernelSize.H}, {KernelSize.W}), stride=({Stride.H}, {Stride.W})" +
        (Padding != (0, 0) ? $", padding=({Padding.H}, {Padding.W})" : "") +
        (OutputPadding != (0, 0) ? $", output_padding=({OutputPadding.H}, {OutputPadding.W})" : "") +
        (Dilation != (1, 1) ? $", dilation=({Dilation.H}, {Dilation.W})" : "") +
        (Groups != 1 ? $", groups={Groups}" : "") + (Bias is null ? ", bias=False" : "");
}

/// <summary>Max pooling (torch.nn.MaxPool2d): stride defaults to the kernel size.</summary>
public sealed class MaxPool2d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) : Module
{
    /// <summary>Window size.</summary>
    public int KernelSize { get; } = kernelSize;
    /// <summary>Step between windows.</summary>
    public int Stride { get; } = stride ?? kernelSize;
    /// <summary>Implicit −∞ padding.</summary>
    public int Padding { get; } = padding;
    /// <summary>Spacing of window elements.</summary>
    public int Dilation { get; } = dilation;
    /// <summary>Ceil instead of floor for the output size.</summary>
    public bool CeilMode { get; } = ceilMode;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        MaxPool2dOp.Forward(input, (KernelSize, KernelSize), (Stride, Stride), (Padding, Padding), (Dilation, Dilation), CeilMode);

    /// <inheritdoc/>
    protected override string ExtraRepr => $"kernel_size={KernelSize}, stride={Stride}, padding={Padding}, dilation={Dilation}, ceil_mode={CeilMode}";
}

/// <summary>Average pooling (torch.nn.AvgPool2d): stride defaults to the kernel size; count_include_pad true by default.</summary>
public sealed class AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null) : Module
{
    /// <summary>Window size.</summary>
    public int KernelSize { get; } = kernelSize;
    /// <summary>Step between windows.</summary>
    public int Stride { get; } = stride ?? kernelSize;
    /// <summary>Zero padding.</summary>
    public int Padding { get; } = padding;
    /// <summary>Ceil instead of floor for the output size.</summary>
    public bool CeilMode { get; } = ceilMode;
    /// <summary>Whether padded zeros count in the divisor.</summary>
    public bool CountIncludePad { get; } = countIncludePad;
    /// <summary>A fixed divisor, or null.</summary>
    public int? DivisorOverride { get; } = divisorOverride;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        AvgPool2dOp.Forward(input, (KernelSize, KernelSize), (Stride, Stride), (Padding, Padding), CeilMode, CountIncludePad, DivisorOverride);

    /// <inheritdoc/>
    protected override string ExtraRepr => $"kernel_size={KernelSize}, stride={Stride}, padding={Padding}";
}

/// <summary>Adaptive average pooling to a fixed output size (torch.nn.AdaptiveAvgPool2d); (1, 1) is global average pooling.</summary>
public sealed class AdaptiveAvgPool2d(int outputHeight, int outputWidth) : Module
{
    /// <summary>Square output.</summary>
    public AdaptiveAvgPool2d(int outputSize) : this(outputSize, outputSize) { }

    /// <summary>Output (height, width).</summary>
    public (int H, int W) OutputSize { get; } = (outputHeight, outputWidth);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => AdaptiveAvgPool2dOp.Forward(input, OutputSize);

    /// <inheritdoc/>
    protected override string ExtraRepr => $"output_size=({OutputSize.H}, {OutputSize.W})";
}
