using Nabla.Backends;

namespace Nabla.Training;

/// <summary>
/// One training step of a <see cref="Sequential"/> classifier — forward, cross-entropy, backward — run layer by layer
/// into buffers allocated once per batch shape, without recording an autograd graph (llm.c's design; what capturing a
/// CUDA graph gives PyTorch). Each layer calls the kernels its autograd op calls, on the same operands in the same
/// order, so for a contiguous input the loss and every gradient are bit-identical to
/// <c>opt.ZeroGrad(); loss.Forward(model.Forward(x), y).Backward()</c> — and a step allocates no managed memory once
/// its batch shape has been seen. (A non-contiguous input is copied first, where the autograd path's first op may read
/// it through its strided kernel instead.)
/// </summary>
/// <remarks>
/// Supported: a <see cref="Sequential"/> in training mode of <see cref="Linear"/>, <see cref="ReLU"/>,
/// <see cref="Sigmoid"/>, <see cref="Tanh"/>, <see cref="GELU"/>, <see cref="Softplus"/>, <see cref="Flatten"/> (of
/// every dim after the batch), <see cref="Identity"/>, <see cref="Conv2d"/>,
/// <see cref="MaxPool2d"/>, <see cref="BatchNorm1d"/>/<see cref="BatchNorm2d"/> and <see cref="Dropout"/>, trained
/// with <see cref="CrossEntropyLoss"/> on class indices (no class weights, no label smoothing; mean or sum); and a
/// <see cref="ResNet"/> with BatchNorm2d, ReLU and unwrapped convolutions — the default net, with or without dropout
/// before fc (its BasicBlocks with identity, projection or no shortcuts, and global average pooling).
/// <see cref="TryCreate"/> says why another model is not; train that one with the autograd path. After
/// <see cref="Run"/> each parameter that requires grad has as <see cref="Tensor.Grad"/> a tensor the step owns and
/// overwrites in the next run (as ZeroGrad and Backward would put fresh ones there): clone it to keep it. Frozen
/// parameters get none and cost no gradient work. A step replaces gradients rather
/// than adding to them, so accumulating over several batches needs the autograd path.
/// </remarks>
public sealed class StaticStep
{
    private readonly Module _model;             // a Sequential or a ResNet
    private readonly CrossEntropyLoss _loss;
    private readonly Module[] _layers;          // a Sequential's modules, each supported; a ResNet's every module
    private readonly int[] _stageBlocks = [];   // a ResNet's blocks per stage, to notice a changed model
    private readonly Tensor[] _parameters;
    private readonly Tensor[] _gradients;       // one per parameter, the step's own
    private readonly Dictionary<Tensor, float[]> _gradientBuffers = new(ReferenceEqualityComparer.Instance);
    private readonly List<Plan> _plans = [];
    private int[]? _sampleShape;

    private StaticStep(Module model, CrossEntropyLoss loss, Module[] layers)
    {
        _model = model;
        _loss = loss;
        _layers = layers;
        if (model is ResNet resnet) _stageBlocks = [.. resnet.Stages.Select(stage => stage.Count)];
        _parameters = [.. model.Parameters()];
        _gradients = new Tensor[_parameters.Length];
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            StaticLayer.Data(p, "every parameter");
            var buffer = new float[p.Numel];
            _gradientBuffers[p] = buffer;
            _gradients[i] = new Tensor(new CpuStorage(buffer), [.. p.Shape]);
        }
    }

    /// <summary>
    /// A static step for <paramref name="model"/> trained with <paramref name="loss"/>, or null with the
    /// <paramref name="reason"/> when a layer or the loss is not supported (see the remarks).
    /// </summary>
    public static StaticStep? TryCreate(Module model, Loss loss, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        reason = null;
        if (model is not (Sequential or ResNet))
        {
            reason = $"the model is a {model.GetType().Name}, not a Sequential or a ResNet";
            return null;
        }
        if (loss is not CrossEntropyLoss ce || ce.Weight is not null || ce.LabelSmoothing != 0 || ce.Reduction == Reduction.None)
        {
            reason = "the loss is not a CrossEntropyLoss without class weights or label smoothing, reduced by mean or sum";
            return null;
        }
        if (model is ResNet resnet)
        {
            // Its layers are fixed: conv, BN, ReLU, BasicBlocks, global average pooling, dropout, Linear.
            reason = UnsupportedResNet(resnet);
            if (reason is null && resnet.Parameters().Any(p => p.Storage is not CpuStorage || !p.IsContiguous))
                reason = "a parameter is not a contiguous CPU tensor";
            return reason is null ? new StaticStep(resnet, ce, [.. resnet.NamedModules().Select(m => m.Module)]) : null;
        }
        var sequential = (Sequential)model;
        if (sequential.Count == 0)
        {
            reason = "the model has no layers";
            return null;
        }
        var layers = new Module[sequential.Count];
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < layers.Length; i++)
        {
            var m = sequential[i];
            bool supported = m switch
            {
                Linear or ReLU or Sigmoid or Tanh or GELU or Softplus or Identity or Conv2d or MaxPool2d or BatchNormBase or Dropout => true,
                Flatten f => f.StartDim == 1 && f.EndDim == -1,
                _ => false,
            };
            if (!supported || (m is BatchNormBase && m is not (BatchNorm1d or BatchNorm2d)))
            {
                reason = $"layer {i} ({m.GetType().Name}) is not one the static step runs";
                return null;
            }
            if (m.Parameters().Any(p => p.Storage is not CpuStorage || !p.IsContiguous))
            {
                reason = $"layer {i} ({m.GetType().Name}) has a parameter that is not a contiguous CPU tensor";
                return null;
            }
            // A parameter used twice gets the sum of both uses' gradients on the autograd path; a static layer writes its own.
            if (m.Parameters().Any(p => !seen.Add(p)))
            {
                reason = $"layer {i} ({m.GetType().Name}) shares a parameter with an earlier layer";
                return null;
            }
            layers[i] = m;
        }
        return new StaticStep(sequential, ce, layers);
    }

    // Why the static layers cannot run this ResNet (they know ReLU, BatchNorm2d and bare convolutions), or null.
    private static string? UnsupportedResNet(ResNet resnet)
    {
        var activations = new List<Module> { resnet.Activation };
        var norms = new List<Module?> { resnet.Norm1 };
        var convolutions = new List<Module> { resnet.Conv1 };
        foreach (var stage in resnet.Stages)
            for (int i = 0; i < stage.Count; i++)
            {
                if (stage[i] is not BasicBlock block) return $"its stages hold a {stage[i].GetType().Name}; the static step runs BasicBlocks";
                activations.Add(block.Activation);
                norms.AddRange([block.Norm1, block.LastNorm]);
                convolutions.AddRange([block.Conv1, block.Conv2]);
                if (block.Downsample is { } d)
                {
                    convolutions.Add(d[0]);
                    norms.Add(d.Count > 1 ? d[1] : null);
                }
            }
        if (activations.Find(a => a is not ReLU) is { } activation)
            return $"its activation is {activation.GetType().Name}; the static step runs residual nets with ReLU";
        int other = norms.FindIndex(n => n is not BatchNorm2d);
        if (other >= 0)
            return $"its normalisation is {norms[other]?.GetType().Name ?? "none"}; the static step runs residual nets with BatchNorm2d";
        if (convolutions.Find(c => c is not Conv2d) is { } wrapped)
            return $"its convolutions are wrapped in {wrapped.GetType().Name}; the static step runs bare Conv2d";
        return null;
    }

    /// <summary>
    /// Forward, loss and backward for one batch: <paramref name="input"/> (N, …) and class indices
    /// <paramref name="target"/> (N). Sets every parameter's <see cref="Tensor.Grad"/> to ∂loss/∂parameter and returns
    /// the loss (what <c>loss.Item()</c> gives on the autograd path). Running statistics and dropout generators advance as
    /// they do there.
    /// </summary>
    /// <exception cref="ArgumentException">the input's sample shape differs from the first batch's, or the target's shape does not match.</exception>
    /// <exception cref="InvalidOperationException">a layer is in evaluation mode, or the model's layers changed since <see cref="TryCreate"/>.</exception>
    public float Run(Tensor input, IntTensor target)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (input.Rank < 1 || target.Shape.Count != 1 || target.Shape[0] != input.Shape[0])
            throw new ArgumentException(
                $"StaticStep: target {Shapes.Format([.. target.Shape])} must be (N) for input {Shapes.Format(input.shape)}.", nameof(target));
        if (!SameLayers())
            throw new InvalidOperationException("StaticStep: the model's layers changed since TryCreate; create a new step for it.");
        foreach (var m in _layers)
            if (!m.Training || !_model.Training)
                throw new InvalidOperationException($"StaticStep: {(m.Training ? "the model" : m.GetType().Name)} is in evaluation mode; a training step needs model.Train().");
        var plan = PlanFor(input);

        float[] x;
        int xOff;
        if (input.Storage is CpuStorage cpu && input.IsContiguous)
        {
            x = cpu.Data;
            xOff = input.offset;
        }
        else
        {
            input.Backend.ToHost(input, plan.InputCopy ??= new float[input.Numel]);
            x = plan.InputCopy;
            xOff = 0;
        }

        var layers = plan.Layers;
        float[] a = x;
        int aOff = xOff;
        for (int i = 0; i < layers.Length; i++)
        {
            layers[i].Forward(a, aOff);
            a = layers[i].Out;
            aOff = layers[i].OutOffset;
        }
        float loss = plan.Loss.Run(a, aOff, target.Data);

        // A layer's input gradient is needed only when a layer before it trains a parameter (RequiresGrad may change
        // between runs, as it may between autograd steps).
        var need = plan.NeedInputGradient;
        bool before = false;
        for (int i = 0; i < layers.Length; i++)
        {
            need[i] = before;
            before |= layers[i].TrainsParameters;
        }
        float[]? g = plan.Loss.GradLogits;
        for (int i = layers.Length - 1; i >= 0 && g is not null; i--)
        {
            if (!need[i] && !layers[i].TrainsParameters) break;
            var (inArr, inOff) = i == 0 ? (x, xOff) : (layers[i - 1].Out, layers[i - 1].OutOffset);
            g = layers[i].Backward(inArr, inOff, g, need[i]);
        }
        for (int i = 0; i < _parameters.Length; i++)
            if (_parameters[i].RequiresGrad) _parameters[i].Grad = _gradients[i];
        Output = plan.Output;
        GC.KeepAlive(input);
        return loss;
    }

    /// <summary>
    /// The model's output (the logits, N × C) of the last <see cref="Run"/>: a view of the buffer its last layer wrote
    /// (the input's own for a model of views only), which the next run overwrites; null before the first.
    /// </summary>
    public Tensor? Output { get; private set; }

    /// <summary>Whether <see cref="Run"/> can take a batch now: the model and every layer in training mode, the layers unchanged.</summary>
    public bool CanRun
    {
        get
        {
            if (!_model.Training || !SameLayers()) return false;
            foreach (var m in _layers)
                if (!m.Training) return false;
            return true;
        }
    }

    private bool SameLayers()
    {
        if (_model is ResNet resnet)
        {
            for (int i = 0; i < _stageBlocks.Length; i++)
                if (resnet.Stages[i].Count != _stageBlocks[i]) return false;
            return true;
        }
        var sequential = (Sequential)_model;
        if (sequential.Count != _layers.Length) return false;
        for (int i = 0; i < _layers.Length; i++)
            if (!ReferenceEquals(sequential[i], _layers[i])) return false;
        return true;
    }

    private Plan PlanFor(Tensor input)
    {
        var shape = input.shape;
        if (_sampleShape is not null && !shape.AsSpan(1).SequenceEqual(_sampleShape))
            throw new ArgumentException(
                $"StaticStep: input {Shapes.Format(shape)} has samples of shape {Shapes.Format(shape[1..])}, but the first batch's were {Shapes.Format(_sampleShape)}.", nameof(input));
        foreach (var p in _plans)
            if (p.BatchSize == shape[0]) return p;
        var plan = Build(shape);   // throws for a shape the layers refuse; the sample shape is fixed only by one they take
        _sampleShape ??= shape[1..];
        _plans.Add(plan);
        return plan;
    }

    // The layers for one input shape, with Sequential's fusions: Linear → ReLU as one layer, ReLU → MaxPool2d as
    // pool then ReLU (both bit-identical to the unfused ops).
    private Plan Build(int[] inputShape)
    {
        var layers = new List<StaticLayer>();
        var shape = inputShape;
        float[] Grad(Tensor p) => _gradientBuffers[p];
        void Add(StaticLayer layer)
        {
            layers.Add(layer);
            shape = layer.OutShape;
        }
        if (_model is ResNet resnet)
        {
            // ResNet.Forward: relu(bn1(conv1(x))), the stages' blocks, global average pooling, flatten, dropout, fc.
            Add(new StaticConv2d((Conv2d)resnet.Conv1, shape, Grad));
            Add(new StaticBatchNorm((BatchNorm2d)resnet.Norm1!, shape, Grad));
            Add(new StaticActivation(UnaryOp.Relu, BinaryOp.ReluGrad, shape));
            foreach (var stage in resnet.Stages)
                for (int b = 0; b < stage.Count; b++) Add(new StaticBasicBlock((BasicBlock)stage[b], shape, Grad));
            Add(new StaticAdaptiveAvgPool2d(shape, 1, 1));
            Add(new StaticView(Flat(shape)));
            if (resnet.Dropout is { } dropout) Add(new StaticDropout(dropout, shape));   // the net holds one only for p > 0
            Add(new StaticLinear(resnet.Fc, relu: false, shape, Grad));
            return new Plan(inputShape[0], [.. layers], new bool[layers.Count], new StaticCrossEntropy(shape, _loss.IgnoreIndex, _loss.Reduction == Reduction.Mean));
        }
        var sequential = (Sequential)_model;
        if (sequential.FlattenInput && shape.Length > 2) Add(new StaticView(Flat(shape)));
        for (int i = 0; i < _layers.Length; i++)
        {
            var m = _layers[i];
            var next = i + 1 < _layers.Length ? _layers[i + 1] : null;
            switch (m)
            {
                case Linear linear:
                    bool relu = next is ReLU;
                    Add(new StaticLinear(linear, relu, shape, Grad));
                    if (relu) i++;
                    break;
                case ReLU when next is MaxPool2d pool:
                    Add(new StaticMaxPool2d(pool, shape));
                    Add(new StaticActivation(UnaryOp.Relu, BinaryOp.ReluGrad, shape));
                    i++;
                    break;
                case ReLU:
                    Add(new StaticActivation(UnaryOp.Relu, BinaryOp.ReluGrad, shape));
                    break;
                case Sigmoid:
                    Add(new StaticActivation(UnaryOp.Sigmoid, BinaryOp.SigmoidGrad, shape));
                    break;
                case Tanh:
                    Add(new StaticActivation(UnaryOp.Tanh, BinaryOp.TanhGrad, shape));
                    break;
                case GELU gelu:
                    Add(gelu.Approximate == "tanh"
                        ? new StaticActivation(UnaryOp.GeluTanh, BinaryOp.GeluTanhGrad, shape, gradFromInput: true)
                        : new StaticActivation(UnaryOp.Gelu, BinaryOp.GeluGrad, shape, gradFromInput: true));
                    break;
                case Softplus softplus:
                    if (!(softplus.Beta != 0) || float.IsNaN(softplus.Beta))   // SoftplusOp's check
                        throw new ArgumentOutOfRangeException("beta", softplus.Beta, "Softplus: beta must be non-zero.");
                    Add(new StaticActivation(UnaryOp.Softplus, BinaryOp.SoftplusGrad, shape, gradFromInput: true, softplus.Beta, softplus.Threshold));
                    break;
                case Conv2d conv:
                    Add(new StaticConv2d(conv, shape, Grad));
                    break;
                case MaxPool2d pool:
                    Add(new StaticMaxPool2d(pool, shape));
                    break;
                case BatchNormBase norm:
                    Add(new StaticBatchNorm(norm, shape, Grad));
                    break;
                case Dropout { P: 0 }:
                    Add(new StaticView(shape));   // DropoutMasks.Apply returns x itself
                    break;
                case Dropout dropout:
                    Add(new StaticDropout(dropout, shape));
                    break;
                case Flatten:
                    Add(new StaticView(shape.Length > 2 ? Flat(shape) : shape));
                    break;
                default:
                    Add(new StaticView(shape));   // Identity
                    break;
            }
        }
        return new Plan(inputShape[0], [.. layers], new bool[layers.Count], new StaticCrossEntropy(shape, _loss.IgnoreIndex, _loss.Reduction == Reduction.Mean));
    }

    // (N, …) → (N, features), Flatten(1)'s shape.
    private static int[] Flat(int[] shape) => [shape[0], Shapes.Numel(shape) / Math.Max(1, shape[0])];

    private sealed class Plan(int batchSize, StaticLayer[] layers, bool[] needInputGradient, StaticCrossEntropy loss)
    {
        public readonly int BatchSize = batchSize;
        public readonly StaticLayer[] Layers = layers;
        public readonly bool[] NeedInputGradient = needInputGradient;
        public readonly StaticCrossEntropy Loss = loss;
        public float[]? InputCopy;
        private Tensor? _output;

        // The last layer's output as a tensor, made once (a view layer's output is its input's buffer, which the
        // forward pass sets, so it is read after a run).
        public Tensor Output
        {
            get
            {
                var last = Layers[^1];
                if (_output is null || _output.Storage is not CpuStorage cpu || cpu.Data != last.Out || _output.offset != last.OutOffset)
                    _output = new Tensor(new CpuStorage(last.Out), last.OutShape, Shapes.ContiguousStrides(last.OutShape), last.OutOffset);
                return _output;
            }
        }
    }
}
