using System.Globalization;

namespace Nabla;

/// <summary>One leaf layer of a <see cref="ModelSummary"/>.</summary>
/// <param name="Name">
/// The layer's name in the built model, the prefix of its state-dict keys: "0", "2" in a Sequential, "layer1.0.conv1" in a
/// ResNet. The steps a ResNet runs without a module of its own carry torchvision's names (<c>relu</c>, <c>avgpool</c>,
/// <c>layer1.0.relu</c>, once for each use) or, for a block's shortcut addition, the block's name (<c>layer1.0</c>).
/// </param>
/// <param name="Kind">What it is, PyTorch-style: <c>Linear(784, 256)</c>, <c>Conv2d(1, 32, 3, padding=1)</c>, <c>BatchNorm2d(32)</c>, <c>ReLU</c>.</param>
/// <param name="OutputShape">Its output per sample: (features) or (C, H, W).</param>
/// <param name="Parameters">Its parameter count.</param>
/// <param name="Flops">Its forward FLOPs per sample (the rule is in <see cref="ModelSummary"/>).</param>
public sealed record LayerSummary(string Name, string Kind, IReadOnlyList<long> OutputShape, long Parameters, long Flops);

/// <summary>
/// A model's size and cost worked out from its spec without building it (<see cref="Models.Summarize"/>): one row per
/// leaf layer in build order, and the totals. Forward FLOPs per sample count 2 per multiply-add in Linear
/// (2·in·out) and Conv2d (2·C_in·k_h·k_w·C_out·OH·OW), bias additions not counted; 1 per output element for activations,
/// normalisations, dropout, noise and a shortcut addition; 1 per window element for pooling (MaxPool2d(2): 4 per output,
/// global average pooling: the input's elements); 0 for Flatten. Weight normalisations and DropConnect work once per
/// batch on the weights, not per sample, and are not counted. Every count saturates at <see cref="long.MaxValue"/>
/// instead of overflowing.
/// </summary>
public sealed class ModelSummary
{
    internal ModelSummary(IReadOnlyList<LayerSummary> layers)
    {
        Layers = layers;
        foreach (var layer in layers)
        {
            Parameters = Add(Parameters, layer.Parameters);
            FlopsPerSample = Add(FlopsPerSample, layer.Flops);
            ActivationsPerSample = Add(ActivationsPerSample, Numel(layer.OutputShape));
        }
    }

    /// <summary>The leaf layers in build order.</summary>
    public IReadOnlyList<LayerSummary> Layers { get; }
    /// <summary>Σ of the layers' parameters: the built model's <see cref="Module.ParameterCount"/>.</summary>
    public long Parameters { get; }
    /// <summary>Σ of the layers' forward FLOPs per sample.</summary>
    public long FlopsPerSample { get; }
    /// <summary>
    /// Σ of the layers' output elements per sample: the floats a training forward keeps for backward, an estimate (views
    /// such as Flatten are counted, a kernel's scratch is not).
    /// </summary>
    public long ActivationsPerSample { get; }

    /// <summary>
    /// Bytes of float32 memory training takes, an estimate: Parameters·4·(2 + <paramref name="optimizerSlots"/>) —
    /// weights, gradients and the optimizer's state per parameter (SGD with momentum keeps 1 slot, Adam 2) — plus
    /// 2·<paramref name="batchSize"/>·ActivationsPerSample·4, a batch of activations kept for backward and one of their
    /// gradients. Saturates at <see cref="long.MaxValue"/>.
    /// </summary>
    public long TrainingBytes(int batchSize, int optimizerSlots)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegative(optimizerSlots);
        return Add(Mul(Parameters, 4 * (2 + (long)optimizerSlots)), Mul(Mul(2L * batchSize, ActivationsPerSample), 4));
    }

    // Saturating arithmetic on counts (never negative).
    internal static long Add(long a, long b) => a <= long.MaxValue - b ? a + b : long.MaxValue;
    internal static long Mul(long a, long b) => a == 0 || b <= long.MaxValue / a ? a * b : long.MaxValue;
    internal static long Numel(IReadOnlyList<long> shape)
    {
        long n = 1;
        foreach (long d in shape) n = Mul(n, d);
        return n;
    }
}

public static partial class Models
{
    /// <summary>
    /// What <see cref="FromSpec(string, IReadOnlyList{int}, int, Generator, string, ModelOptions?)"/> would build for
    /// these arguments — its layers, parameters, FLOPs and activations per sample — computed without allocating a
    /// weight, so a model far too large to build is summarised at once.
    /// </summary>
    /// <exception cref="FormatException">as FromSpec: the spec is malformed, does not fit the data, or asks for an option the model does not take.</exception>
    /// <exception cref="ArgumentException">as FromSpec: an unknown activation, or images under 4×4 for cnn.</exception>
    public static ModelSummary Summarize(string spec, IReadOnlyList<int> sampleShape, int outputs, string activation = "relu", ModelOptions? options = null)
    {
        var (kind, args) = CheckSpec(spec, sampleShape, options);
        ArgumentOutOfRangeException.ThrowIfNegative(outputs);
        var rows = new SummaryRows();
        switch (kind)
        {
            case "mlp":
                rows.Mlp(sampleShape.Aggregate(1L, (p, v) => ModelSummary.Mul(p, v)), args, outputs, activation, Resolve(options, "none"));
                break;
            case "cnn":
                rows.Cnn(sampleShape[0], sampleShape[1], sampleShape[2], outputs, args.Length == 0 ? 32 : args[0], args.Length == 0 ? 64 : args[1],
                    activation, Resolve(options, "none"));
                break;
            default:
                rows.Residual(args[0], sampleShape[0], sampleShape[1], sampleShape[2], outputs, activation, Resolve(options, DefaultNorm(spec)), kind == "resnet");
                break;
        }
        return new ModelSummary(rows.Layers);
    }

    // The rows of a summary, walked in the order the builders above build, with their checks at the same points.
    private sealed class SummaryRows
    {
        public readonly List<LayerSummary> Layers = [];
        private int _index;   // a Sequential's next child name

        private static string F(float v) => v.ToString(CultureInfo.InvariantCulture);
        private static long P(params long[] factors) => factors.Aggregate(1L, ModelSummary.Mul);

        private void Add(string name, string kind, long[] shape, long parameters, long flops) => Layers.Add(new(name, kind, shape, parameters, flops));
        private void Next(string kind, long[] shape, long parameters, long flops) => Add((_index++).ToString(CultureInfo.InvariantCulture), kind, shape, parameters, flops);
        private void NextElementwise(string kind, long[] shape) => Next(kind, shape, 0, ModelSummary.Numel(shape));

        private static string ActivationKind(string activation) => Activations.Create(activation).GetType().Name;

        private static (string Kind, long Parameters) Wrapped(string kind, long parameters, long outputs, string weightNorm) => CheckWeightNorm(weightNorm) switch
        {
            "ws" => ($"WeightStandardization({kind})", parameters),
            "ws-minmax" => ($"WeightStandardization({kind}, minmax)", ModelSummary.Add(parameters, P(2, outputs))),
            "spectral" => ($"SpectralNorm({kind})", parameters),
            _ => (kind, parameters),
        };

        private void Input(ModelOptions o, long[] shape)
        {
            if (o.Noise > 0) NextElementwise($"GaussianNoise(sigma={F(o.Noise)})", shape);
            if (o.InputDropout > 0)
            {
                DropoutMasks.CheckP(o.InputDropout, "Dropout");
                NextElementwise($"Dropout(p={F(o.InputDropout)})", shape);
            }
        }

        private void NormAndActivation(string activationKind, ModelOptions o, LayerPlan? norm, long[] shape)
        {
            if (norm is { } before && !o.NormAfter) Next(before.Kind, shape, before.Parameters, ModelSummary.Numel(shape));
            NextElementwise(activationKind, shape);
            if (norm is { } after && o.NormAfter) Next(after.Kind, shape, after.Parameters, ModelSummary.Numel(shape));
        }

        private void Hidden(long inFeatures, int features, string activationKind, ModelOptions o)
        {
            CheckDropConnect(o);
            string linear = $"Linear({inFeatures}, {features})";
            long parameters = ModelSummary.Add(P(inFeatures, features), features);
            (string Kind, long Parameters) layer;
            if (o.DropConnect > 0)
            {
                DropoutMasks.CheckP(o.DropConnect, "DropConnect");
                layer = ($"DropConnect({linear}, p={F(o.DropConnect)})", parameters);
            }
            else layer = Wrapped(linear, parameters, features, o.WeightNorm);
            Next(layer.Kind, [features], layer.Parameters, P(2, inFeatures, features));
            NormAndActivation(activationKind, o, FeatureNorm(o.Norm!, features), [features]);
            if (o.Dropout > 0)
            {
                DropoutMasks.CheckP(o.Dropout, "Dropout");
                NextElementwise($"Dropout(p={F(o.Dropout)})", [features]);
            }
        }

        private void Output(long inFeatures, int outputs) =>
            Next($"Linear({inFeatures}, {outputs})", [outputs], ModelSummary.Add(P(inFeatures, outputs), outputs), P(2, inFeatures, outputs));

        public void Mlp(long inputs, int[] hidden, int outputs, string activation, ModelOptions o)
        {
            string activationKind = ActivationKind(activation);
            CheckFlatNorm(o.Norm!);
            Input(o, [inputs]);
            long width = inputs;
            foreach (int h in hidden)
            {
                Hidden(width, h, activationKind, o);
                width = h;
            }
            Output(width, outputs);
        }

        // A 3×3 convolution with padding 1 and a bias, as Cnn's, wrapped as the options say.
        private void CnnConv(int inChannels, int outChannels, int height, int width, string weightNorm)
        {
            var (kind, parameters) = Wrapped($"Conv2d({inChannels}, {outChannels}, 3, padding=1)",
                ModelSummary.Add(P(outChannels, inChannels, 9), outChannels), outChannels, weightNorm);
            Next(kind, [outChannels, height, width], parameters, P(2, inChannels, 9, outChannels, height, width));
        }

        public void Cnn(int channels, int height, int width, int outputs, int c1, int c2, string activation, ModelOptions o)
        {
            CheckCnnSize(height, width);
            Input(o, [channels, height, width]);
            CnnConv(channels, c1, height, width, o.WeightNorm);
            var norm = MapNorm(o.Norm!, c1, height, width);
            string activationKind = ActivationKind(activation);   // Cnn meets the activation here, after conv1 and its norm
            NormAndActivation(activationKind, o, norm, [c1, height, width]);
            long[] pooled = [c1, height / 2, width / 2];
            Next("MaxPool2d(2)", pooled, 0, P(4, ModelSummary.Numel(pooled)));
            CnnConv(c1, c2, height / 2, width / 2, o.WeightNorm);
            NormAndActivation(activationKind, o, MapNorm(o.Norm!, c2, height / 2, width / 2), [c2, height / 2, width / 2]);
            pooled = [c2, height / 4, width / 4];
            Next("MaxPool2d(2)", pooled, 0, P(4, ModelSummary.Numel(pooled)));
            long flat = ModelSummary.Numel(pooled);
            Next("Flatten", [flat], 0, 0);
            Hidden(flat, 128, activationKind, o is { Norm: "instance" or "switch" } ? o with { Norm = "none" } : o);
            Output(128, outputs);
        }

        // A bias-free convolution of the ResNet, wrapped as the options say; returns its output size.
        private (int Height, int Width) ResNetConv(string name, int inChannels, int outChannels, int kernel, int stride, int height, int width, string weightNorm)
        {
            int padding = kernel / 2;
            int oh = (height + 2 * padding - kernel) / stride + 1, ow = (width + 2 * padding - kernel) / stride + 1;
            string conv = $"Conv2d({inChannels}, {outChannels}, {kernel}" + (stride != 1 ? $", stride={stride}" : "") + (padding != 0 ? $", padding={padding}" : "") + ", bias=False)";
            var (kind, parameters) = Wrapped(conv, P(outChannels, inChannels, kernel, kernel), outChannels, weightNorm);
            Add(name, kind, [outChannels, oh, ow], parameters, P(2, inChannels, kernel, kernel, outChannels, oh, ow));
            return (oh, ow);
        }

        private void ResNetNorm(string name, string norm, long[] shape)
        {
            if (ResNet.NormChoice(norm, (int)shape[0]) is { } layer) Add(name, layer.Kind, shape, layer.Parameters, ModelSummary.Numel(shape));
        }

        public void Residual(int depth, int channels, int height, int width, int outputs, string activation, ModelOptions o, bool residual)
        {
            ResNet.Validate(depth, activation, o.Norm!, o.Dropout, o.WeightNorm);
            string act = ActivationKind(activation), norm = o.Norm!, weightNorm = o.WeightNorm;
            (height, width) = ResNetConv("conv1", channels, 16, 3, 1, height, width, weightNorm);
            ResNetNorm("bn1", norm, [16, height, width]);
            Add("relu", act, [16, height, width], 0, P(16, height, width));
            int inPlanes = 16;
            int[] widths = [16, 32, 64];
            for (int s = 0; s < 3; s++)
                for (int b = 0; b < (depth - 2) / 6; b++)
                {
                    string block = $"layer{s + 1}.{b}";
                    int planes = widths[s], stride = b == 0 && s > 0 ? 2 : 1;
                    var (oh, ow) = ResNetConv(block + ".conv1", inPlanes, planes, 3, stride, height, width, weightNorm);
                    long[] shape = [planes, oh, ow];
                    ResNetNorm(block + ".bn1", norm, shape);
                    Add(block + ".relu", act, shape, 0, ModelSummary.Numel(shape));
                    ResNetConv(block + ".conv2", planes, planes, 3, 1, oh, ow, weightNorm);
                    ResNetNorm(block + ".bn2", norm, shape);
                    if (residual && (stride != 1 || inPlanes != planes))
                    {
                        ResNetConv(block + ".downsample.0", inPlanes, planes, 1, stride, height, width, weightNorm);
                        ResNetNorm(block + ".downsample.1", norm, shape);
                    }
                    if (residual) Add(block, "Add", shape, 0, ModelSummary.Numel(shape));
                    Add(block + ".relu", act, shape, 0, ModelSummary.Numel(shape));
                    (inPlanes, height, width) = (planes, oh, ow);
                }
            Add("avgpool", "AdaptiveAvgPool2d(1)", [64, 1, 1], 0, P(64, height, width));
            if (o.Dropout > 0) Add("dropout", $"Dropout(p={F(o.Dropout)})", [64], 0, 64);
            Add("fc", $"Linear(64, {outputs})", [outputs], ModelSummary.Add(P(64, outputs), outputs), P(2, 64, outputs));
        }
    }
}
