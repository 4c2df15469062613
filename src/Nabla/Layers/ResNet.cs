namespace Nabla;

/// <summary>
/// The two-convolution residual block of He et al. (torchvision's BasicBlock):
/// y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), conv1 3×3 with the block's stride, conv2 3×3; the
/// shortcut is the identity when the shape is kept and a 1×1 convolution with BatchNorm (projection, "downsample")
/// when the stride or channel count changes. With <c>shortcut: false</c> it is the plain block of the same depth
/// (no addition, no downsample). Keys: conv1.weight, bn1.*, conv2.weight, bn2.*, downsample.0.weight, downsample.1.*.
/// </summary>
public sealed class BasicBlock : Module
{
    /// <summary>Output channels per input channel of the block's widest layer (1 for BasicBlock).</summary>
    public const int Expansion = 1;

    private readonly Conv2d _conv1, _conv2;
    private readonly BatchNorm2d _bn1, _bn2;
    private readonly Sequential? _downsample;

    /// <summary>Creates the block.</summary>
    public BasicBlock(int inPlanes, int planes, int stride, Generator generator, bool shortcut = true)
    {
        ArgumentNullException.ThrowIfNull(generator);
        _conv1 = RegisterModule("conv1", new Conv2d(inPlanes, planes, 3, generator, stride: stride, padding: 1, bias: false));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        _conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, generator, padding: 1, bias: false));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        HasShortcut = shortcut;
        if (shortcut && (stride != 1 || inPlanes != planes))
            _downsample = RegisterModule("downsample", new Sequential(new Conv2d(inPlanes, planes, 1, generator, stride: stride, bias: false), new BatchNorm2d(planes)));
    }

    /// <summary>Whether the identity (or projection) path is added.</summary>
    public bool HasShortcut { get; }

    /// <summary>The BatchNorm closing the residual branch (bn2), whose γ <c>zeroInitResidual</c> sets to 0.</summary>
    public BatchNorm2d LastNorm => _bn2;

    // The parts, for Training.StaticStep.
    internal Conv2d Conv1 => _conv1;
    internal BatchNorm2d Norm1 => _bn1;
    internal Conv2d Conv2 => _conv2;
    internal Sequential? Downsample => _downsample;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var y = _bn1.Forward(_conv1.Forward(input)).Relu();
        y = _bn2.Forward(_conv2.Forward(y));
        if (HasShortcut) y = y + (_downsample?.Forward(input) ?? input);
        return y.Relu();
    }
}

/// <summary>
/// The three-convolution bottleneck block (torchvision's Bottleneck): 1×1 reduce to <c>planes</c>, 3×3 with the
/// stride, 1×1 expand to 4·planes, each followed by BatchNorm; y = relu(branch + shortcut), the shortcut a projection
/// when the shape changes. Keys: conv1, bn1, conv2, bn2, conv3, bn3, downsample.0/1.
/// </summary>
public sealed class Bottleneck : Module
{
    /// <summary>Output channels = 4·planes.</summary>
    public const int Expansion = 4;

    private readonly Conv2d _conv1, _conv2, _conv3;
    private readonly BatchNorm2d _bn1, _bn2, _bn3;
    private readonly Sequential? _downsample;

    /// <summary>Creates the block.</summary>
    public Bottleneck(int inPlanes, int planes, int stride, Generator generator, bool shortcut = true)
    {
        ArgumentNullException.ThrowIfNull(generator);
        _conv1 = RegisterModule("conv1", new Conv2d(inPlanes, planes, 1, generator, bias: false));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        _conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, generator, stride: stride, padding: 1, bias: false));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        _conv3 = RegisterModule("conv3", new Conv2d(planes, planes * Expansion, 1, generator, bias: false));
        _bn3 = RegisterModule("bn3", new BatchNorm2d(planes * Expansion));
        HasShortcut = shortcut;
        if (shortcut && (stride != 1 || inPlanes != planes * Expansion))
            _downsample = RegisterModule("downsample",
                new Sequential(new Conv2d(inPlanes, planes * Expansion, 1, generator, stride: stride, bias: false), new BatchNorm2d(planes * Expansion)));
    }

    /// <summary>Whether the shortcut path is added.</summary>
    public bool HasShortcut { get; }

    /// <summary>The BatchNorm closing the residual branch (bn3), whose γ <c>zeroInitResidual</c> sets to 0.</summary>
    public BatchNorm2d LastNorm => _bn3;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var y = _bn1.Forward(_conv1.Forward(input)).Relu();
        y = _bn2.Forward(_conv2.Forward(y)).Relu();
        y = _bn3.Forward(_conv3.Forward(y));
        if (HasShortcut) y = y + (_downsample?.Forward(input) ?? input);
        return y.Relu();
    }
}

/// <summary>
/// The CIFAR-style residual network of He et al. (2016, §4.2) with N = 6n + 2 layers: a 3×3 convolution to 16
/// channels, three stages of n BasicBlocks with 16, 32 and 64 channels (stride 2 at the start of stages 2 and 3,
/// projection shortcuts there), global average pooling and one Linear. With <c>residual: false</c> the same
/// network without shortcuts ("plain"). Accepts (N, C, H, W) of any size ≥ 4 (1×28×28 and 3×32×32 alike).
/// Convolutions start from Kaiming-normal (fan_out, ReLU) as torchvision's ResNet; keys conv1, bn1,
/// layer1.0.conv1 …, fc. With <c>zeroInitResidual</c> (torchvision's <c>zero_init_residual</c>, Goyal et al. 2017) the
/// last BatchNorm γ of every residual branch starts at 0, so each block starts as relu(shortcut(x)); it has no effect
/// on plain networks, whose blocks would otherwise start dead.
/// </summary>
public sealed class ResNet : Module
{
    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly Sequential[] _layers;
    private readonly Linear _fc;

    /// <summary>Creates the network; <paramref name="depth"/> must be 6n + 2 (8, 14, 20, 32, 44, 56, 110 …).</summary>
    public ResNet(int depth, int inChannels, int classes, Generator generator, bool residual = true, bool zeroInitResidual = false)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (depth < 8 || (depth - 2) % 6 != 0)
            throw new ArgumentOutOfRangeException(nameof(depth), depth, $"ResNet: depth must be 6n + 2 (8, 14, 20, 32, 44, 56, 110 …), got {depth}.");
        Depth = depth;
        Residual = residual;
        int n = (depth - 2) / 6;
        _conv1 = RegisterModule("conv1", new Conv2d(inChannels, 16, 3, generator, padding: 1, bias: false));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(16));
        _layers = new Sequential[3];
        int inPlanes = 16;
        int[] widths = [16, 32, 64];
        for (int s = 0; s < 3; s++)
        {
            var stage = new Sequential();
            for (int b = 0; b < n; b++)
            {
                stage.Add(new BasicBlock(inPlanes, widths[s], b == 0 && s > 0 ? 2 : 1, generator, residual));
                inPlanes = widths[s];
            }
            _layers[s] = RegisterModule($"layer{s + 1}", stage);
        }
        _fc = RegisterModule("fc", new Linear(64, classes, generator));
        foreach (var (_, m) in NamedModules())
            if (m is Conv2d conv) Init.KaimingNormal(conv.Weight, generator, mode: FanMode.FanOut, nonlinearity: "relu");
        if (residual && zeroInitResidual)
            foreach (var (_, m) in NamedModules())
                if (m is BasicBlock block) Init.Zeros(block.LastNorm.Weight!);
        ZeroInitResidual = residual && zeroInitResidual;
    }

    // The parts, for Training.StaticStep.
    internal Conv2d Conv1 => _conv1;
    internal BatchNorm2d Norm1 => _bn1;
    internal IReadOnlyList<Sequential> Stages => _layers;
    internal Linear Fc => _fc;

    /// <summary>Weighted layers: 6n + 2.</summary>
    public int Depth { get; }
    /// <summary>Whether the blocks have shortcuts.</summary>
    public bool Residual { get; }
    /// <summary>Whether each residual branch's last BatchNorm γ started at 0.</summary>
    public bool ZeroInitResidual { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4) throw new ArgumentException($"ResNet: input {Shapes.Format(input.Shape.ToArray())} must be (N, C, H, W).", nameof(input));
        var y = _bn1.Forward(_conv1.Forward(input)).Relu();
        foreach (var stage in _layers) y = stage.Forward(y);
        y = Functional.AdaptiveAvgPool2d(y, 1, 1).Flatten(1);
        return _fc.Forward(y);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr => $"depth={Depth}, residual={Residual}";
}
