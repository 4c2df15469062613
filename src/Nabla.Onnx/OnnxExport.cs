using Google.Protobuf;
using Nabla.Autograd;
using Nabla.Onnx.Proto;

namespace Nabla.Onnx;

/// <summary>What <see cref="OnnxExport"/> writes besides the layers.</summary>
/// <param name="InputName">The graph input's name.</param>
/// <param name="OutputName">The graph output's name.</param>
/// <param name="DynamicBatch">Whether the first dimension is the symbolic "N" (any batch size) instead of the sample's.</param>
/// <param name="InputMean">The mean subtracted from the input first (the normalisation the model was trained with): one value per element of a sample, per channel, or one for all.</param>
/// <param name="InputStd">The deviation the input is divided by after the mean (as many values as the mean).</param>
/// <param name="Softmax">Whether a softmax over the last dim follows the model (probabilities instead of logits).</param>
/// <param name="DocString">The model's description in the file.</param>
public sealed record OnnxExportOptions(
    string InputName = "input",
    string OutputName = "output",
    bool DynamicBatch = true,
    float[]? InputMean = null,
    float[]? InputStd = null,
    bool Softmax = false,
    string? DocString = null);

/// <summary>A model, or one of its layers, that this exporter cannot express in ONNX; the message names the layer.</summary>
public sealed class OnnxExportException(string message) : NotSupportedException(message);

/// <summary>
/// ONNX export of Nabla models (opset <see cref="Opset"/>, IR version <see cref="IrVersion"/>), the inference form
/// (<c>model.eval()</c>, as <c>torch.onnx.export</c> traces it): BatchNorm with its running statistics, dropout and
/// noise as the identity (classic dropout as its (1 − p) scale), weight standardisation and spectral normalisation
/// folded into the weight they produce. The layers map to ONNX operators one by one (Linear → Gemm, Conv2d → Conv,
/// GELU → the Erf formula, GroupNorm → Reshape + InstanceNormalization + affine …); the records are Google.Protobuf
/// classes generated from onnx/onnx.proto3. Layers ONNX cannot express are on <see cref="Refused"/>, and an
/// unknown module type is refused with its path in the model.
/// </summary>
public static class OnnxExport
{
    /// <summary>The default-domain opset the graph imports (17: LayerNormalization; Softmax with PyTorch's axis semantics).</summary>
    public const int Opset = 17;

    /// <summary>The ONNX IR version written (8, read by ONNX Runtime ≥ 1.10).</summary>
    public const long IrVersion = 8;

    /// <summary>The module types the exporter writes.</summary>
    public static IReadOnlyCollection<Type> Supported { get; } =
    [
        typeof(Sequential), typeof(Linear), typeof(Conv2d), typeof(ConvTranspose2d), typeof(MaxPool2d), typeof(AvgPool2d),
        typeof(AdaptiveAvgPool2d), typeof(Flatten), typeof(Identity), typeof(ReLU), typeof(Sigmoid), typeof(Tanh),
        typeof(LeakyReLU), typeof(ELU), typeof(GELU), typeof(SiLU), typeof(Softplus), typeof(Mish), typeof(Softmax),
        typeof(LogSoftmax), typeof(Dropout), typeof(Dropout2d), typeof(DropConnect), typeof(GaussianNoise),
        typeof(BatchNorm1d), typeof(BatchNorm2d), typeof(LayerNorm), typeof(GroupNorm), typeof(InstanceNorm1d),
        typeof(InstanceNorm2d), typeof(WeightStandardization), typeof(SpectralNorm), typeof(BasicBlock), typeof(Bottleneck),
        typeof(ResNet), typeof(Ensemble), typeof(Upsample),
    ];

    /// <summary>The module types refused, each with the reason the error gives.</summary>
    public static IReadOnlyDictionary<Type, string> Refused { get; } = new Dictionary<Type, string>
    {
        [typeof(SwitchNorm)] = "SwitchNorm mixes batch, instance and layer statistics with learned softmax weights; no ONNX operator or short composition expresses it at opset 17",
        [typeof(Embedding)] = "Embedding takes integer indices, and the exported graph's input is a float tensor",
        [typeof(Generative.AdaInStyler)] = "the styler takes two images (content and style), and the exported graph has one input",
        [typeof(Generative.DcganGenerator)] = "a conditional generator takes class labels beside its latent codes, and the exported graph has one input",
        [typeof(Generative.MlpGenerator)] = "a conditional generator takes class labels beside its latent codes, and the exported graph has one input",
        [typeof(Generative.DcganDiscriminator)] = "a conditional discriminator takes class labels beside its images, and the exported graph has one input",
        [typeof(Generative.MlpDiscriminator)] = "a conditional discriminator takes class labels beside its images, and the exported graph has one input",
        [typeof(Generative.FeatureNetwork)] = "a style-loss feature extractor (its taps are several outputs); export its features Sequential instead",
    };

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> for inputs shaped like <paramref name="sampleShape"/> (with the batch dim).</summary>
    /// <exception cref="OnnxExportException">a layer that cannot be exported (named with its path).</exception>
    public static void Export(Module model, string path, int[] sampleShape, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var bytes = ToBytes(model, sampleShape, options);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>The serialised ModelProto of <paramref name="model"/> (see <see cref="Export"/>).</summary>
    public static byte[] ToBytes(Module model, int[] sampleShape, OnnxExportOptions? options = null) => Build(model, sampleShape, options).ToByteArray();

    internal static ModelProto Build(Module model, int[] sampleShape, OnnxExportOptions? options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sampleShape);
        options ??= new OnnxExportOptions();
        if (string.IsNullOrWhiteSpace(options.InputName) || string.IsNullOrWhiteSpace(options.OutputName) || options.InputName == options.OutputName)
            throw new ArgumentException($"ONNX export: the input and output names ('{options.InputName}', '{options.OutputName}') must be two different non-empty names.", nameof(options));
        if (options.InputStd is { } std && !std.All(v => float.IsFinite(v) && v != 0))
            throw new ArgumentException("ONNX export: InputStd must be finite and non-zero (the input is divided by it).", nameof(options));
        if (options.InputMean is { } mean && !mean.All(float.IsFinite))
            throw new ArgumentException("ONNX export: InputMean must be finite.", nameof(options));
        if (sampleShape.Length == 0 || sampleShape.Any(d => d < 1))
            throw new ArgumentException($"ONNX export: the sample shape {Shapes.Format(sampleShape)} must be (N, …) with every dim ≥ 1.", nameof(sampleShape));
        bool training = model.Training;
        model.Eval();
        try
        {
            using var _ = GradMode.NoGrad();
            var g = new GraphWriter(options.DynamicBatch);
            var probe = Tensor.Randn(sampleShape, new Generator(0));
            string x = options.InputName;
            var value = new Value(x, probe);
            value = g.InputNormalisation(value, options.InputMean, options.InputStd);
            var y = g.Emit(model, "", value);
            string output = y.Name;
            if (options.Softmax) output = g.Node("Softmax", [output], [("axis", -1L)]);
            g.Node("Identity", [output], [], options.OutputName);
            var graph = g.Graph;
            graph.Name = model.GetType().Name;
            graph.Input.Add(GraphWriter.ValueInfo(options.InputName, sampleShape, options.DynamicBatch));
            graph.Output.Add(GraphWriter.ValueInfo(options.OutputName, [.. y.Probe.Shape], options.DynamicBatch));
            var proto = new ModelProto
            {
                IrVersion = IrVersion,
                ProducerName = "Nabla",
                ProducerVersion = typeof(Module).Assembly.GetName().Version?.ToString(3) ?? "",
                DocString = options.DocString ?? "",
                Graph = graph,
            };
            proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
            return proto;
        }
        finally
        {
            model.Train(training);
        }
    }
}

/// <summary>A graph value: its name and a probe tensor of its shape (the layer's own output on the probe input).</summary>
internal readonly record struct Value(string Name, Tensor Probe);

/// <summary>Builds one GraphProto: names, initializers, nodes, and the layer-by-layer mapping.</summary>
internal sealed class GraphWriter(bool dynamicBatch)
{
    private int _next;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public GraphProto Graph { get; } = new();

    // A name the caller chose (the graph output): taken as it is, and kept from later fresh names.
    private string Reserve(string name)
    {
        _names.Add(name);
        return name;
    }

    private string Fresh(string hint)
    {
        string name = hint.Length == 0 ? "v" : hint;
        while (!_names.Add(name)) name = $"{hint}_{_next++}";
        return name;
    }

    public static ValueInfoProto ValueInfo(string name, int[] shape, bool dynamicBatch)
    {
        var tensorShape = new TensorShapeProto();
        for (int d = 0; d < shape.Length; d++)
            tensorShape.Dim.Add(d == 0 && dynamicBatch ? new TensorShapeProto.Types.Dimension { DimParam = "N" } : new TensorShapeProto.Types.Dimension { DimValue = shape[d] });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = tensorShape } },
        };
    }

    /// <summary>A float initializer (a copy of the tensor's values, row-major) named after <paramref name="hint"/>.</summary>
    public string Constant(string hint, Tensor t) => Constant(hint, t.Contiguous().ToArray(), [.. t.Shape]);

    public string Constant(string hint, float[] values, int[] dims)
    {
        string name = Fresh(hint);
        var tp = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        foreach (int d in dims) tp.Dims.Add(d);
        var bytes = new byte[values.Length * sizeof(float)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        if (!BitConverter.IsLittleEndian)
            for (int i = 0; i < bytes.Length; i += 4) Array.Reverse(bytes, i, 4);
        tp.RawData = ByteString.CopyFrom(bytes);
        Graph.Initializer.Add(tp);
        return name;
    }

    public string Int64s(string hint, long[] values)
    {
        string name = Fresh(hint);
        var tp = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tp.Dims.Add(values.Length);
        tp.Int64Data.Add(values);
        Graph.Initializer.Add(tp);
        return name;
    }

    /// <summary>Adds a node; attribute values are long, float, string, long[] or float[]. Returns the output's name.</summary>
    public string Node(string op, string[] inputs, (string Name, object Value)[] attributes, string? output = null, string? hint = null)
    {
        output = output is null ? Fresh(hint ?? op.ToLowerInvariant()) : Reserve(output);
        var node = new NodeProto { OpType = op, Name = Fresh("n_" + (hint ?? op)) };
        node.Input.Add(inputs);
        node.Output.Add(output);
        foreach (var (name, value) in attributes)
        {
            var a = new AttributeProto { Name = name };
            switch (value)
            {
                case long l: a.Type = AttributeProto.Types.AttributeType.Int; a.I = l; break;
                case int i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
                case float f: a.Type = AttributeProto.Types.AttributeType.Float; a.F = f; break;
                case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
                case long[] ls: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.Add(ls); break;
                case float[] fs: a.Type = AttributeProto.Types.AttributeType.Floats; a.Floats.Add(fs); break;
                default: throw new ArgumentException($"attribute {name}: unsupported value type {value.GetType().Name}");
            }
            node.Attribute.Add(a);
        }
        Graph.Node.Add(node);
        return output!;
    }

    public Value InputNormalisation(Value x, float[]? mean, float[]? std)
    {
        if (mean is null && std is null) return x;
        var probe = x.Probe;
        string name = x.Name;
        int[] dims = ChannelDims(probe, mean?.Length ?? std!.Length);
        if (mean is not null)
        {
            name = Node("Sub", [name, Constant("input_mean", mean, dims)], [], hint: "centred");
            probe = probe - Tensor.FromArray(mean, dims);
        }
        if (std is not null)
        {
            name = Node("Div", [name, Constant("input_std", std, dims)], [], hint: "normalised");
            probe = probe / Tensor.FromArray(std, dims);
        }
        return new Value(name, probe);
    }

    // Broadcast dims for the normalisation values of an (N, C, …) value: one per element of a sample (the sample's
    // shape, as nabla train records them), one per channel ((C, 1, …)), or one for all ([1]).
    private static int[] ChannelDims(Tensor probe, int count)
    {
        int[] sample = [.. probe.Shape.ToArray()[1..]];
        if (count == 1) return [1];
        if (count == Shapes.Numel(sample)) return sample;
        if (probe.Rank < 2 || probe.Shape[1] != count)
            throw new ArgumentException($"ONNX export: {count} normalisation values match neither a sample {Shapes.Format(sample)} nor its channels.");
        var dims = new int[probe.Rank - 1];
        Array.Fill(dims, 1);
        dims[0] = count;
        return dims;
    }

    /// <summary>The nodes of <paramref name="m"/> (at <paramref name="path"/> in the model) on <paramref name="x"/>.</summary>
    public Value Emit(Module m, string path, Value x)
    {
        string label = path.Length == 0 ? "the model" : $"'{path}'";
        if (OnnxExport.Refused.TryGetValue(m.GetType(), out var reason))
            throw new OnnxExportException($"ONNX export: layer {label} ({m.GetType().Name}) cannot be exported: {reason}.");
        string hint = path.Length == 0 ? m.GetType().Name.ToLowerInvariant() : path;
        // The node's value with the layer's own output on the probe (computed here unless the case already has it).
        Value Out(string name, Tensor? probe = null) => new(name, probe ?? m.Forward(x.Probe));
        switch (m)
        {
            case Sequential s:
            {
                var v = x;
                if (s.FlattenInput && v.Probe.Rank > 2)
                    v = new Value(Node("Flatten", [v.Name], [("axis", 1L)], hint: Join(path, "flatten")), v.Probe.Flatten(1));
                for (int i = 0; i < s.Count; i++) v = Emit(s[i], Join(path, i.ToString(System.Globalization.CultureInfo.InvariantCulture)), v);
                return v;
            }
            case Linear l:
                return Out(LinearNode(x, l.Weight, l.Bias, hint));
            case DropConnect dc:
                return Out(LinearNode(x, dc.Mode == DropoutMode.Classic && dc.P > 0 ? dc.Inner.Weight * (1 - dc.P) : dc.Inner.Weight, dc.Inner.Bias, hint));
            case Conv2d c:
                return Out(ConvNode(x, c, c.Weight, c.Bias, hint));
            case WeightStandardization ws:
                return Out(Wrapped(x, ws.Inner, ws.StandardizedWeight(), ws.Bias, hint));
            case SpectralNorm sn:
                return Out(Wrapped(x, sn.Inner, sn.Weight / sn.Sigma(), sn.Bias, hint));
            case ConvTranspose2d t:
            {
                var inputs = new List<string> { x.Name, Constant(hint + ".weight", t.Weight) };
                if (t.Bias is not null) inputs.Add(Constant(hint + ".bias", t.Bias));
                return Out(Node("ConvTranspose", [.. inputs],
                [
                    ("kernel_shape", new long[] { t.KernelSize.H, t.KernelSize.W }), ("strides", new long[] { t.Stride.H, t.Stride.W }),
                    ("pads", new long[] { t.Padding.H, t.Padding.W, t.Padding.H, t.Padding.W }), ("dilations", new long[] { t.Dilation.H, t.Dilation.W }),
                    ("output_padding", new long[] { t.OutputPadding.H, t.OutputPadding.W }), ("group", (long)t.Groups),
                ], hint: hint));
            }
            case MaxPool2d p:
            {
                // ceil_mode as explicit end padding that gives the module's own output size (ONNX's ceil formula lacks
                // PyTorch's rule that the last window starts inside the input); max ignores the −∞ padding.
                var y = m.Forward(x.Probe);
                long endH = EndPad(x.Probe.Shape[2], y.Shape[2], p.KernelSize, p.Stride, p.Padding, p.Dilation);
                long endW = EndPad(x.Probe.Shape[3], y.Shape[3], p.KernelSize, p.Stride, p.Padding, p.Dilation);
                return Out(Node("MaxPool", [x.Name],
                [
                    ("kernel_shape", new long[] { p.KernelSize, p.KernelSize }), ("strides", new long[] { p.Stride, p.Stride }),
                    ("pads", new long[] { p.Padding, p.Padding, endH, endW }), ("dilations", new long[] { p.Dilation, p.Dilation }),
                ], hint: hint), y);
            }
            case AvgPool2d p:
            {
                if (p.DivisorOverride is not null)
                    throw new OnnxExportException($"ONNX export: layer {label} (AvgPool2d) cannot be exported: divisor_override has no AveragePool attribute.");
                var y = m.Forward(x.Probe);
                if (EndPad(x.Probe.Shape[2], y.Shape[2], p.KernelSize, p.Stride, p.Padding, 1) != p.Padding
                    || EndPad(x.Probe.Shape[3], y.Shape[3], p.KernelSize, p.Stride, p.Padding, 1) != p.Padding)
                    throw new OnnxExportException($"ONNX export: layer {label} (AvgPool2d, ceil_mode) cannot be exported for a {x.Probe.Shape[2]}×{x.Probe.Shape[3]} input: its last windows overhang the input, and ONNX Runtime divides those by the whole kernel where PyTorch divides by the part inside.");
                return Out(Node("AveragePool", [x.Name],
                [
                    ("kernel_shape", new long[] { p.KernelSize, p.KernelSize }), ("strides", new long[] { p.Stride, p.Stride }),
                    ("pads", new long[] { p.Padding, p.Padding, p.Padding, p.Padding }), ("count_include_pad", p.CountIncludePad ? 1L : 0L),
                ], hint: hint), y);
            }
            case AdaptiveAvgPool2d a:
                return Out(AdaptiveAverage(x, a.OutputSize, label, hint));
            case Flatten f:
                return Out(FlattenNode(x, f.StartDim, f.EndDim, hint));
            case Identity or GaussianNoise:
                return Out(Node("Identity", [x.Name], [], hint: hint));
            case Dropout d:
                return Out(DropoutNode(x, d.Mode, d.P, hint));
            case Dropout2d d:
                return Out(DropoutNode(x, d.Mode, d.P, hint));
            case ReLU:
                return Out(Node("Relu", [x.Name], [], hint: hint));
            case Sigmoid:
                return Out(Node("Sigmoid", [x.Name], [], hint: hint));
            case Tanh:
                return Out(Node("Tanh", [x.Name], [], hint: hint));
            case LeakyReLU lr:
                return Out(Node("LeakyRelu", [x.Name], [("alpha", lr.NegativeSlope)], hint: hint));
            case ELU e:
                return Out(Node("Elu", [x.Name], [("alpha", e.Alpha)], hint: hint));
            case SiLU:
                return Out(Node("Mul", [x.Name, Node("Sigmoid", [x.Name], [], hint: hint + ".sigmoid")], [], hint: hint));
            case Mish:
            {
                string sp = Node("Softplus", [x.Name], [], hint: hint + ".softplus");
                return Out(Node("Mul", [x.Name, Node("Tanh", [sp], [], hint: hint + ".tanh")], [], hint: hint));
            }
            case GELU ge:
                return Out(ge.Approximate == "tanh" ? GeluTanh(x.Name, hint) : Gelu(x.Name, hint));
            case Softplus sp:
                return Out(SoftplusNode(x.Name, sp.Beta, sp.Threshold, hint));
            case Softmax sm:
                return Out(Node("Softmax", [x.Name], [("axis", (long)sm.Dim)], hint: hint));
            case LogSoftmax ls:
                return Out(Node("LogSoftmax", [x.Name], [("axis", (long)ls.Dim)], hint: hint));
            case BatchNormBase bn:
                if (!bn.TrackRunningStats || bn.RunningMean is null)
                    throw new OnnxExportException($"ONNX export: layer {label} ({bn.GetType().Name}) cannot be exported: without running statistics (track_running_stats=False) it normalises each batch by its own statistics, which inference cannot reproduce.");
                return Out(BatchNormNode(x, bn.NumFeatures, bn.Weight, bn.Bias, bn.RunningMean, bn.RunningVar!, bn.Eps, hint));
            case InstanceNormBase inorm:
                if (inorm.RunningMean is not null)   // eval with tracked statistics: a batch norm with them (no affine in the formula)
                    return Out(BatchNormNode(x, inorm.NumFeatures, inorm.Weight, inorm.Bias, inorm.RunningMean, inorm.RunningVar!, inorm.Eps, hint));
                return Out(Node("InstanceNormalization",
                    [x.Name, Constant(hint + ".weight", inorm.Weight ?? Tensor.Ones([inorm.NumFeatures])), Constant(hint + ".bias", inorm.Bias ?? Tensor.Zeros([inorm.NumFeatures]))],
                    [("epsilon", inorm.Eps)], hint: hint));
            case LayerNorm ln:
            {
                int[] shape = ln.NormalizedShape;
                return Out(Node("LayerNormalization",
                    [x.Name, Constant(hint + ".weight", ln.Weight ?? Tensor.Ones(shape)), Constant(hint + ".bias", ln.Bias ?? Tensor.Zeros(shape))],
                    [("axis", (long)-shape.Length), ("epsilon", ln.Eps)], hint: hint));
            }
            case GroupNorm gn:
                return Out(GroupNormNodes(x, gn, hint));
            case Upsample u:
                return Out(UpsampleNode(x, u, label, hint));
            case BasicBlock b:
            {
                var y = Emit(b.Conv1, Join(path, "conv1"), x);
                if (b.Norm1 is not null) y = Emit(b.Norm1, Join(path, "bn1"), y);
                y = Emit(b.Activation, Join(path, "relu"), y);
                y = Emit(b.Conv2, Join(path, "conv2"), y);
                if (b.LastNorm is not null) y = Emit(b.LastNorm, Join(path, "bn2"), y);
                if (b.HasShortcut)
                {
                    var shortcut = b.Downsample is null ? x : Emit(b.Downsample, Join(path, "downsample"), x);
                    y = new Value(Node("Add", [y.Name, shortcut.Name], [], hint: Join(path, "add")), y.Probe + shortcut.Probe);
                }
                return Emit(b.Activation, Join(path, "relu_out"), y);
            }
            case Bottleneck b:
            {
                var y = x;
                foreach (var (conv, bn, relu) in new[] { ("conv1", "bn1", true), ("conv2", "bn2", true), ("conv3", "bn3", false) })
                {
                    y = Emit(Child(b, conv), Join(path, conv), y);
                    y = Emit(Child(b, bn), Join(path, bn), y);
                    if (relu) y = new Value(Node("Relu", [y.Name], [], hint: Join(path, conv + ".relu")), y.Probe.Relu());
                }
                if (b.HasShortcut)
                {
                    var shortcut = b.NamedChildren().Any(c => c.Name == "downsample") ? Emit(Child(b, "downsample"), Join(path, "downsample"), x) : x;
                    y = new Value(Node("Add", [y.Name, shortcut.Name], [], hint: Join(path, "add")), y.Probe + shortcut.Probe);
                }
                return Out(Node("Relu", [y.Name], [], hint: Join(path, "relu_out")), y.Probe.Relu());
            }
            case ResNet r:
            {
                var y = Emit(r.Conv1, Join(path, "conv1"), x);
                if (r.Norm1 is not null) y = Emit(r.Norm1, Join(path, "bn1"), y);
                y = Emit(r.Activation, Join(path, "relu"), y);
                for (int i = 0; i < r.Stages.Count; i++) y = Emit(r.Stages[i], Join(path, $"layer{i + 1}"), y);
                string pooled = Node("GlobalAveragePool", [y.Name], [], hint: Join(path, "avgpool"));
                string flat = Node("Flatten", [pooled], [("axis", 1L)], hint: Join(path, "flatten"));
                var v = new Value(flat, y.Probe.Mean([2, 3]));
                if (r.Dropout is not null) v = Emit(r.Dropout, Join(path, "dropout"), v);
                return Emit(r.Fc, Join(path, "fc"), v);
            }
            case Ensemble e:
            {
                string? sum = null;
                for (int i = 0; i < e.Members.Count; i++)
                {
                    var y = Emit(e.Members[i], Join(path, i.ToString(System.Globalization.CultureInfo.InvariantCulture)), x);
                    string term = e.Mode == EnsembleMode.Probabilities ? Node("Softmax", [y.Name], [("axis", -1L)], hint: Join(path, $"{i}.softmax")) : y.Name;
                    sum = sum is null ? term : Node("Add", [sum, term], [], hint: Join(path, "sum"));
                }
                string mean = Node("Mul", [sum!, Constant(Join(path, "inv_count"), [1f / e.Members.Count], [1])], [], hint: Join(path, "mean"));
                if (e.Mode == EnsembleMode.Mean) return Out(mean);
                string floor = Constant(Join(path, "floor"), [1e-30f], []);
                return Out(Node("Log", [Node("Max", [mean, floor], [], hint: Join(path, "clamp"))], [], hint: Join(path, "log")));
            }
            default:
                throw new OnnxExportException($"ONNX export: layer {label} ({m.GetType().FullName}) has no ONNX mapping; the exporter knows {string.Join(", ", OnnxExport.Supported.Select(t => t.Name))}.");
        }
    }

    // The end padding under which floor((in + pad + end − d(k − 1) − 1)/s) + 1 = out: the pooling's own output size.
    private static long EndPad(int input, int output, int kernel, int stride, int pad, int dilation) =>
        Math.Max(pad, (long)(output - 1) * stride + (long)dilation * (kernel - 1) + 1 - input - pad);

    private static Module Child(Module m, string name) =>
        m.NamedChildren().First(c => c.Name == name).Module;

    private static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;

    private string LinearNode(Value x, Tensor weight, Tensor? bias, string hint)
    {
        if (x.Probe.Rank == 2)
        {
            var inputs = new List<string> { x.Name, Constant(hint + ".weight", weight) };
            if (bias is not null) inputs.Add(Constant(hint + ".bias", bias));
            return Node("Gemm", [.. inputs], [("transB", 1L)], hint: hint);
        }
        // (…, in) inputs: MatMul by Wᵀ (stored transposed) then the bias, as PyTorch exports them.
        string y = Node("MatMul", [x.Name, Constant(hint + ".weight_t", weight.T)], [], hint: hint + ".matmul");
        return bias is null ? y : Node("Add", [y, Constant(hint + ".bias", bias)], [], hint: hint);
    }

    private string ConvNode(Value x, Conv2d c, Tensor weight, Tensor? bias, string hint)
    {
        var inputs = new List<string> { x.Name, Constant(hint + ".weight", weight) };
        if (bias is not null) inputs.Add(Constant(hint + ".bias", bias));
        return Node("Conv", [.. inputs],
        [
            ("kernel_shape", new long[] { c.KernelSize.H, c.KernelSize.W }), ("strides", new long[] { c.Stride.H, c.Stride.W }),
            ("pads", new long[] { c.Padding.H, c.Padding.W, c.Padding.H, c.Padding.W }), ("dilations", new long[] { c.Dilation.H, c.Dilation.W }),
            ("group", (long)c.Groups),
        ], hint: hint);
    }

    private string Wrapped(Value x, Module inner, Tensor weight, Tensor? bias, string hint) => inner switch
    {
        Linear => LinearNode(x, weight, bias, hint),
        Conv2d c => ConvNode(x, c, weight, bias, hint),
        _ => throw new OnnxExportException($"ONNX export: layer '{hint}' wraps a {inner.GetType().Name}, which a weight normalisation does not take."),
    };

    private string DropoutNode(Value x, DropoutMode mode, float p, string hint) =>
        mode == DropoutMode.Classic && p > 0
            ? Node("Mul", [x.Name, Constant(hint + ".scale", [1 - p], [])], [], hint: hint)
            : Node("Identity", [x.Name], [], hint: hint);

    private string AdaptiveAverage(Value x, (int H, int W) output, string label, string hint)
    {
        int h = x.Probe.Shape[2], w = x.Probe.Shape[3];
        if (output == (1, 1)) return Node("GlobalAveragePool", [x.Name], [], hint: hint);
        if (h % output.H != 0 || w % output.W != 0)
            throw new OnnxExportException($"ONNX export: layer {label} (AdaptiveAvgPool2d) cannot be exported for a {h}×{w} input: {output.H}×{output.W} outputs need windows of unequal sizes, which AveragePool cannot express.");
        long kh = h / output.H, kw = w / output.W;
        return Node("AveragePool", [x.Name], [("kernel_shape", new[] { kh, kw }), ("strides", new[] { kh, kw })], hint: hint);
    }

    private string FlattenNode(Value x, int startDim, int endDim, string hint)
    {
        int rank = x.Probe.Rank;
        int s = startDim < 0 ? startDim + rank : startDim, e = endDim < 0 ? endDim + rank : endDim;
        if (s == 1 && e == rank - 1) return Node("Flatten", [x.Name], [("axis", 1L)], hint: hint);
        // Reshape: dims before start kept (0 = copy, so the batch stays symbolic), the merged run as −1, the rest as they are.
        var shape = new List<long>();
        for (int d = 0; d < s; d++) shape.Add(0);
        shape.Add(-1);
        for (int d = e + 1; d < rank; d++) shape.Add(x.Probe.Shape[d]);
        if (s == 0 && dynamicBatch && e < rank - 1)
            throw new OnnxExportException($"ONNX export: layer '{hint}' (Flatten) merges the batch dim with others; with a symbolic batch size the result's shape is unknown.");
        return Node("Reshape", [x.Name, Int64s(hint + ".shape", [.. shape])], [], hint: hint);
    }

    private string BatchNormNode(Value x, int channels, Tensor? weight, Tensor? bias, Tensor mean, Tensor variance, float eps, string hint) =>
        Node("BatchNormalization",
        [
            x.Name, Constant(hint + ".weight", weight ?? Tensor.Ones([channels])), Constant(hint + ".bias", bias ?? Tensor.Zeros([channels])),
            Constant(hint + ".running_mean", mean), Constant(hint + ".running_var", variance),
        ], [("epsilon", eps)], hint: hint);

    // GELU(x) = 0.5·x·(1 + erf(x/√2)) (opset 17 has no Gelu operator).
    private string Gelu(string x, string hint)
    {
        string scaled = Node("Mul", [x, Constant(hint + ".inv_sqrt2", [0.70710677f], [])], [], hint: hint + ".scaled");
        string erf = Node("Erf", [scaled], [], hint: hint + ".erf");
        string onePlus = Node("Add", [erf, Constant(hint + ".one", [1f], [])], [], hint: hint + ".one_plus");
        string half = Node("Mul", [x, Constant(hint + ".half", [0.5f], [])], [], hint: hint + ".half_x");
        return Node("Mul", [half, onePlus], [], hint: hint);
    }

    // The tanh form: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    private string GeluTanh(string x, string hint)
    {
        string cube = Node("Mul", [Node("Mul", [x, x], [], hint: hint + ".sq"), x], [], hint: hint + ".cube");
        string inner = Node("Add", [x, Node("Mul", [cube, Constant(hint + ".c", [0.044715f], [])], [], hint: hint + ".cterm")], [], hint: hint + ".inner");
        string t = Node("Tanh", [Node("Mul", [inner, Constant(hint + ".k", [0.7978846f], [])], [], hint: hint + ".scaled")], [], hint: hint + ".tanh");
        string onePlus = Node("Add", [t, Constant(hint + ".one", [1f], [])], [], hint: hint + ".one_plus");
        string half = Node("Mul", [x, Constant(hint + ".half", [0.5f], [])], [], hint: hint + ".half_x");
        return Node("Mul", [half, onePlus], [], hint: hint);
    }

    // softplus_β(x) = ln(1 + e^(βx))/β, and x itself where βx > threshold (PyTorch's), via Where.
    private string SoftplusNode(string x, float beta, float threshold, string hint)
    {
        string bx = beta == 1f ? x : Node("Mul", [x, Constant(hint + ".beta", [beta], [])], [], hint: hint + ".bx");
        string sp = Node("Softplus", [bx], [], hint: hint + ".softplus");
        if (beta != 1f) sp = Node("Div", [sp, Constant(hint + ".beta_div", [beta], [])], [], hint: hint + ".div");
        string over = Node("Greater", [bx, Constant(hint + ".threshold", [threshold], [])], [], hint: hint + ".over");
        return Node("Where", [over, x, sp], [], hint: hint);
    }

    // GroupNorm: (N, C, …) → (N, G, −1), instance-normalised per group, back to (N, C, …), then γ and β per channel.
    private string GroupNormNodes(Value x, GroupNorm gn, string hint)
    {
        int rank = x.Probe.Rank, c = gn.NumChannels;
        string grouped = Node("Reshape", [x.Name, Int64s(hint + ".grouped_shape", [0, gn.NumGroups, -1])], [], hint: hint + ".grouped");
        string normed = Node("InstanceNormalization",
            [grouped, Constant(hint + ".ones", Tensor.Ones([gn.NumGroups])), Constant(hint + ".zeros", Tensor.Zeros([gn.NumGroups]))],
            [("epsilon", gn.Eps)], hint: hint + ".normed");
        var back = new long[rank];
        for (int d = 1; d < rank; d++) back[d] = x.Probe.Shape[d];
        string y = Node("Reshape", [normed, Int64s(hint + ".shape", back)], [], hint: hint + ".ungrouped");
        int[] dims = [c, .. Enumerable.Repeat(1, rank - 2)];
        if (gn.Weight is not null) y = Node("Mul", [y, Constant(hint + ".weight", gn.Weight.Reshape(dims))], [], hint: hint + ".scaled");
        if (gn.Bias is not null) y = Node("Add", [y, Constant(hint + ".bias", gn.Bias.Reshape(dims))], [], hint: hint);
        return y;
    }

    private string UpsampleNode(Value x, Upsample u, string label, string hint)
    {
        var y = u.Forward(x.Probe);
        if (u.ScaleFactor is { } f)
        {
            // By scale (PyTorch maps coordinates with 1/f, not in/out): ONNX Runtime sizes the output as ⌊in·(float)f⌋,
            // which must give the module's own size.
            float[] scales = [1f, 1f, (float)f.H, (float)f.W];
            if ((long)(x.Probe.Shape[2] * scales[2]) != y.Shape[2] || (long)(x.Probe.Shape[3] * scales[3]) != y.Shape[3])
                throw new OnnxExportException($"ONNX export: layer {label} (Upsample ×{f.H}, ×{f.W}) cannot be exported for a {x.Probe.Shape[2]}×{x.Probe.Shape[3]} input: ONNX Runtime's float scale gives another output size than {y.Shape[2]}×{y.Shape[3]}.");
            return ResizeNode(x.Name, u, scales, null, hint);
        }
        if (dynamicBatch)
            throw new OnnxExportException($"ONNX export: layer {label} (Upsample with a size) needs a fixed batch size: export with DynamicBatch = false.");
        return ResizeNode(x.Name, u, null, [x.Probe.Shape[0], x.Probe.Shape[1], y.Shape[2], y.Shape[3]], hint);
    }

    private string ResizeNode(string x, Upsample u, float[]? scales, long[]? sizes, string hint)
    {
        string roi = "";
        var inputs = new List<string> { x, roi, scales is null ? "" : Constant(hint + ".scales", scales, [4]) };
        if (sizes is not null) inputs.Add(Int64s(hint + ".sizes", sizes));
        var attributes = new List<(string, object)>();
        if (u.Mode == UpsampleMode.Nearest)
        {
            attributes.Add(("mode", "nearest"));
            attributes.Add(("coordinate_transformation_mode", "asymmetric"));
            attributes.Add(("nearest_mode", "floor"));
        }
        else
        {
            attributes.Add(("mode", "linear"));
            attributes.Add(("coordinate_transformation_mode", u.AlignCorners ? "align_corners" : "pytorch_half_pixel"));
        }
        return Node("Resize", [.. inputs], [.. attributes], hint: hint);
    }
}
