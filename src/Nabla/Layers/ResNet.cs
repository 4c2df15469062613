namespace Nabla;

/// <summary>
/// The two-convolution residual block of He et al. (torchvision's BasicBlock):
/// y = act(norm2(conv2(act(norm1(conv1(x))))) + shortcut(x)), conv1 3×3 with the block's stride, conv2 3×3 (both
/// without bias, as torchvision's); the shortcut is the identity when the shape is kept and a 1×1 convolution with a
/// normalisation (projection, "downsample") when the stride or channel count changes. With <c>shortcut: false</c> it is
/// the plain block of the same depth (no addition, no downsample). The activation is ReLU and the normalisation
/// BatchNorm2d unless named (see <see cref="ResNet"/> for the kinds). Keys, whatever the kinds: conv1.weight, bn1.*,
/// conv2.weight, bn2.*, downsample.0.weight, downsample.1.* (no bn keys and no downsample.1 without normalisation).
/// </summary>
public sealed class BasicBlock : Module
{
    /// <summary>Output channels per input channel of the block's widest layer (1 for BasicBlock).</summary>
    public const int Expansion = 1;

    private readonly Module _conv1, _conv2, _activation;
    private readonly Module? _bn1, _bn2;
    private readonly Sequential? _downsample;

    /// <summary>Creates the block with BatchNorm2d and ReLU (torchvision's).</summary>
    public BasicBlock(int inPlanes, int planes, int stride, Generator generator, bool shortcut = true)
        : this(inPlanes, planes, stride, generator, shortcut, "relu", "batch") { }

    /// <summary>
    /// Creates the block with the <paramref name="activation"/> (a name <see cref="Activations.Create"/> takes) and the
    /// normalisation <paramref name="norm"/> (batch, group:G, instance, switch, layer or none, as <see cref="ResNet"/>).
    /// </summary>
    /// <exception cref="FormatException">an unknown normalisation, or G does not divide <paramref name="planes"/>.</exception>
    public BasicBlock(int inPlanes, int planes, int stride, Generator generator, bool shortcut, string activation, string norm)
        : this(Convolutions(inPlanes, planes, stride, generator, shortcut), planes, shortcut, activation, norm) { }

    // The block around convolutions already built (and initialised, and perhaps wrapped in a weight normalisation).
    internal BasicBlock((Module Conv1, Module Conv2, Module? Projection) convolutions, int planes, bool shortcut, string activation, string norm)
    {
        _activation = Activations.Create(activation);
        _conv1 = RegisterModule("conv1", convolutions.Conv1);
        _bn1 = RegisterNorm("bn1", norm, planes);
        _conv2 = RegisterModule("conv2", convolutions.Conv2);
        _bn2 = RegisterNorm("bn2", norm, planes);
        HasShortcut = shortcut;
        if (convolutions.Projection is { } projection)
        {
            var projectionNorm = ResNet.NormLayer(norm, planes);
            _downsample = RegisterModule("downsample", projectionNorm is null ? new Sequential(projection) : new Sequential(projection, projectionNorm));
        }
    }

    private Module? RegisterNorm(string name, string norm, int channels) => ResNet.NormLayer(norm, channels) is { } m ? RegisterModule(name, m) : null;

    // conv1, conv2 and the projection, drawn from the generator in that order (torchvision's).
    internal static (Module Conv1, Module Conv2, Module? Projection) Convolutions(int inPlanes, int planes, int stride, Generator generator, bool shortcut) =>
        (new Conv2d(inPlanes, planes, 3, generator, stride: stride, padding: 1, bias: false),
         new Conv2d(planes, planes, 3, generator, padding: 1, bias: false),
         shortcut && (stride != 1 || inPlanes != planes) ? new Conv2d(inPlanes, planes, 1, generator, stride: stride, bias: false) : null);

    /// <summary>Whether the identity (or projection) path is added.</summary>
    public bool HasShortcut { get; }

    /// <summary>
    /// The normalisation closing the residual branch (bn2: a BatchNorm2d unless another kind was named), whose γ
    /// <c>zeroInitResidual</c> sets to 0; null without normalisation.
    /// </summary>
    public Module? LastNorm => _bn2;

    // The parts, for inspection and tests.
    internal Module Conv1 => _conv1;
    internal Module? Norm1 => _bn1;
    internal Module Conv2 => _conv2;
    internal Module Activation => _activation;
    internal Sequential? Downsample => _downsample;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var y = ResNet.NormalizeActivate(_bn1, _activation, _conv1.Call(input));
        y = ResNet.Normalize(_bn2, _conv2.Call(y));
        return HasShortcut ? ResNet.AddActivate(y, _downsample?.Call(input) ?? input, _activation) : _activation.Call(y);
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
        var y = ResNet.NormalizeRelu(_bn1, _conv1.Call(input));
        y = ResNet.NormalizeRelu(_bn2, _conv2.Call(y));
        y = _bn3.Call(_conv3.Call(y));
        return HasShortcut ? ResNet.AddRelu(y, _downsample?.Call(input) ?? input) : y.Relu();
    }
}

/// <summary>
/// The CIFAR-style residual network of He et al. (2016, §4.2) with N = 6n + 2 layers: a 3×3 convolution to 16
/// channels, three stages of n BasicBlocks with 16, 32 and 64 channels (stride 2 at the start of stages 2 and 3,
/// projection shortcuts there), global average pooling and one Linear. With <c>residual: false</c> the same
/// network without shortcuts ("plain"). Accepts (N, C, H, W) of any size ≥ 4 (1×28×28 and 3×32×32 alike).
/// Convolutions start from Kaiming-normal (fan_out, ReLU gain, whatever the activation) as torchvision's ResNet; keys
/// conv1, bn1, layer1.0.conv1 …, fc. With <c>zeroInitResidual</c> (torchvision's <c>zero_init_residual</c>, Goyal et
/// al. 2017) the last normalisation's γ of every residual branch starts at 0, so each block starts as
/// act(shortcut(x)); it has no effect on plain networks, whose blocks would otherwise start dead.
/// </summary>
/// <remarks>
/// The options of the second constructor replace torchvision's parts and keep its key names:
/// <list type="bullet">
/// <item><c>activation</c> wherever the net applies ReLU (after the stem, inside each block, after each addition).</item>
/// <item><c>norm</c> after every convolution, the projections' included: <c>batch</c> (BatchNorm2d, the default),
/// <c>group:G</c> (GroupNorm(G, C); G must divide 16), <c>instance</c> (InstanceNorm2d with affine γ, β),
/// <c>switch</c> (SwitchNorm; needs at least 2 positions per map, so inputs of 8×8 or more), <c>layer</c>
/// (GroupNorm(1, C): statistics over (C, H, W) of each sample with a per-channel γ, β — the layer norm of conv nets,
/// whose keys are the channel-wise weight and bias) or <c>none</c>. The convolutions keep bias = false without
/// normalisation too (torchvision's shapes; the next layer's bias, or none, as in an all-convolutional net).</item>
/// <item><c>dropout</c>: Dropout(p, mode) before fc (key-less, registered as <c>dropout</c>); p = 0 adds nothing.</item>
/// <item><c>weightNorm</c>: <c>ws</c>, <c>ws-minmax</c> or <c>spectral</c> wraps every convolution (keys as
/// <see cref="WeightStandardization"/> and <see cref="SpectralNorm"/> name them); fc is left alone, as the
/// classifier of <see cref="Models.Cnn"/> is.</item>
/// </list>
/// Every weight is drawn first, in the default net's order (each layer's default initialisation as it is built, fc
/// last, then Kaiming-normal for the convolutions); spectral normalisation's vectors and then dropout's generator are
/// drawn after, so with the defaults the net is bit for bit the one the first constructor builds.
/// </remarks>
public sealed class ResNet : Module
{
    private readonly Module _conv1, _activation;
    private readonly Module? _bn1;
    private readonly Sequential[] _layers;
    private readonly Dropout? _dropout;
    private readonly Linear _fc;

    /// <summary>Creates the network with BatchNorm2d and ReLU; <paramref name="depth"/> must be 6n + 2 (8, 14, 20, 32, 44, 56, 110 …).</summary>
    public ResNet(int depth, int inChannels, int classes, Generator generator, bool residual = true, bool zeroInitResidual = false)
        : this(depth, inChannels, classes, generator, "relu", residual: residual, zeroInitResidual: zeroInitResidual) { }

    /// <summary>
    /// Creates the network with the <paramref name="activation"/>, normalisation, dropout before the classifier and weight
    /// normalisation named (see the remarks); <paramref name="depth"/> must be 6n + 2.
    /// </summary>
    /// <exception cref="ArgumentException">an unknown activation; <paramref name="zeroInitResidual"/> on a residual net without normalisation (it has no γ to zero).</exception>
    /// <exception cref="FormatException">an unknown normalisation or weight normalisation, or G does not divide 16.</exception>
    /// <exception cref="ArgumentOutOfRangeException">the depth is not 6n + 2, or <paramref name="dropout"/> is not in [0, 1].</exception>
    public ResNet(int depth, int inChannels, int classes, Generator generator, string activation, string norm = "batch", float dropout = 0,
        DropoutMode dropoutMode = DropoutMode.Inverted, string weightNorm = "none", bool residual = true, bool zeroInitResidual = false)
    {
        ArgumentNullException.ThrowIfNull(generator);
        Validate(depth, activation, norm, dropout, weightNorm);
        if (residual && zeroInitResidual && norm == "none")
            throw new ArgumentException("ResNet: zeroInitResidual zeroes the γ of each block's last normalisation, and norm 'none' has none.", nameof(zeroInitResidual));
        Depth = depth;
        Residual = residual;
        Norm = norm;
        int n = (depth - 2) / 6;
        var stem = new Conv2d(inChannels, 16, 3, generator, padding: 1, bias: false);
        var convolutions = new List<Conv2d> { stem };
        var blocks = new List<(int Stage, int Planes, (Module Conv1, Module Conv2, Module? Projection) Convs)>();
        int inPlanes = 16;
        int[] widths = [16, 32, 64];
        for (int s = 0; s < 3; s++)
            for (int b = 0; b < n; b++)
            {
                var convs = BasicBlock.Convolutions(inPlanes, widths[s], b == 0 && s > 0 ? 2 : 1, generator, residual);
                convolutions.AddRange(new[] { convs.Conv1, convs.Conv2, convs.Projection }.OfType<Conv2d>());
                blocks.Add((s, widths[s], convs));
                inPlanes = widths[s];
            }
        var fc = new Linear(64, classes, generator);
        foreach (var conv in convolutions) Init.KaimingNormal(conv.Weight, generator, mode: FanMode.FanOut, nonlinearity: "relu");
        Module Wrap(Module conv) => Models.WrapWeights(conv, weightNorm, generator);

        _activation = Activations.Create(activation);
        _conv1 = RegisterModule("conv1", Wrap(stem));
        _bn1 = NormLayer(norm, 16) is { } bn1 ? RegisterModule("bn1", bn1) : null;
        _layers = new Sequential[3];
        for (int s = 0; s < 3; s++)
        {
            var stage = new Sequential();
            foreach (var (_, planes, (c1, c2, projection)) in blocks.Where(b => b.Stage == s))
                stage.Add(new BasicBlock((Wrap(c1), Wrap(c2), projection is null ? null : Wrap(projection)), planes, residual, activation, norm));
            _layers[s] = RegisterModule($"layer{s + 1}", stage);
        }
        if (dropout > 0) _dropout = RegisterModule("dropout", new Dropout(dropout, new Generator(generator.NextUInt64()), dropoutMode));
        _fc = RegisterModule("fc", fc);
        if (residual && zeroInitResidual)
            foreach (var (_, m) in NamedModules())
                if (m is BasicBlock block) Init.Zeros(Gamma(block.LastNorm!));
        ZeroInitResidual = residual && zeroInitResidual;
    }

    // The checks that need no weights (Models.Summarize makes them too), in the order the constructor meets them.
    internal static void Validate(int depth, string activation, string norm, float dropout, string weightNorm)
    {
        if (depth < 8 || (depth - 2) % 6 != 0)
            throw new ArgumentOutOfRangeException(nameof(depth), depth, $"ResNet: depth must be 6n + 2 (8, 14, 20, 32, 44, 56, 110 …), got {depth}.");
        ArgumentNullException.ThrowIfNull(activation);
        ArgumentNullException.ThrowIfNull(norm);
        ArgumentNullException.ThrowIfNull(weightNorm);
        Activations.Create(activation);
        if (Models.NormKind(norm) == "group") Models.GroupsFor(norm, 16, "channels");   // G dividing 16 divides 32 and 64
        Models.CheckWeightNorm(weightNorm);
        DropoutMasks.CheckP(dropout, "ResNet");
    }

    // The normalisation of C-channel maps that `norm` names (null for none), as Summarize shows it and as built.
    internal static LayerPlan? NormChoice(string norm, int channels) => Norms.Get(norm).Residual(norm, channels);

    internal static Module? NormLayer(string norm, int channels) => NormChoice(norm, channels)?.Create();

    internal static Tensor Normalize(Module? norm, Tensor x) => norm is null ? x : norm.Call(x);

    // act(norm(x)): a BatchNorm then a ReLU, neither hooked, run as one node (the same bits; see BatchNormBase.ForwardRelu).
    // relu(bn(x)) for a block whose ReLU is not a module (Bottleneck's): fused unless the BatchNorm is hooked.
    internal static Tensor NormalizeRelu(BatchNormBase bn, Tensor x) =>
        Sequential.FuseNormRelu && !bn.HasForwardHooks ? bn.ForwardRelu(x) : bn.Call(x).Relu();

    // act(branch + shortcut): with a ReLU that is not hooked, one node (the same bits; see AddReluOp).
    internal static Tensor AddActivate(Tensor branch, Tensor shortcut, Module activation) =>
        activation is ReLU && !activation.HasForwardHooks ? AddRelu(branch, shortcut) : activation.Call(branch + shortcut);

    internal static Tensor AddRelu(Tensor branch, Tensor shortcut) =>
        Sequential.FuseAddRelu && Shapes.Equal(branch.shape, shortcut.shape) ? Ops.AddReluOp.Forward(branch, shortcut) : (branch + shortcut).Relu();

    internal static Tensor NormalizeActivate(Module? norm, Module activation, Tensor x) =>
        Sequential.FuseNormRelu && norm is BatchNormBase bn && activation is ReLU && !bn.HasForwardHooks && !activation.HasForwardHooks
            ? bn.ForwardRelu(x)
            : activation.Call(Normalize(norm, x));

    // γ of a normalisation this net builds.
    private static Tensor Gamma(Module norm) => norm switch
    {
        BatchNormBase b => b.Weight!,
        GroupNorm g => g.Weight!,
        InstanceNormBase i => i.Weight!,
        SwitchNorm s => s.Weight,
        _ => throw new InvalidOperationException($"ResNet: {norm.GetType().Name} has no γ."),
    };

    // The parts, for inspection and tests.
    internal Module Conv1 => _conv1;
    internal Module? Norm1 => _bn1;
    internal Module Activation => _activation;
    internal IReadOnlyList<Sequential> Stages => _layers;
    internal Dropout? Dropout => _dropout;
    internal Linear Fc => _fc;

    /// <summary>Weighted layers: 6n + 2.</summary>
    public int Depth { get; }
    /// <summary>Whether the blocks have shortcuts.</summary>
    public bool Residual { get; }
    /// <summary>The normalisation kind: batch, group:G, instance, switch, layer or none.</summary>
    public string Norm { get; }
    /// <summary>Whether each residual branch's last normalisation γ started at 0.</summary>
    public bool ZeroInitResidual { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4) throw new ArgumentException($"ResNet: input {Shapes.Format(input.Shape.ToArray())} must be (N, C, H, W).", nameof(input));
        var y = NormalizeActivate(_bn1, _activation, _conv1.Call(input));
        foreach (var stage in _layers) y = stage.Call(y);
        y = Functional.AdaptiveAvgPool2d(y, 1, 1).Flatten(1);
        if (_dropout is not null) y = _dropout.Call(y);
        return _fc.Call(y);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr => $"depth={Depth}, residual={Residual}" + (Norm == "batch" ? "" : $", norm={Norm}");
}
