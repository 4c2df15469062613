using System.Numerics.Tensors;
using Nabla.Backends;
using Nabla.Kernels;

namespace Nabla.Training;

// The layers of a StaticStep plan: each owns its output (and gradient) buffers for one batch shape and calls, on the
// same operands in the same order, the kernels that the autograd op it stands for calls — so the bits are the op's.

/// <summary>One layer of a <see cref="StaticStep"/> plan for a fixed input shape.</summary>
internal abstract class StaticLayer(int[] outShape)
{
    /// <summary>The output shape, batch first.</summary>
    public readonly int[] OutShape = outShape;

    /// <summary>The forward output: a buffer of the layer's own, or its input for a view.</summary>
    public float[] Out = [];
    public int OutOffset;

    /// <summary>Computes <see cref="Out"/> from the input <paramref name="x"/> (from <paramref name="xOff"/>).</summary>
    public abstract void Forward(float[] x, int xOff);

    /// <summary>
    /// Given ∂L/∂output in <paramref name="g"/> (which the layer may overwrite), accumulates nothing: writes its
    /// parameters' gradients and returns ∂L/∂input (a buffer of its own, or <paramref name="g"/> itself), or null when
    /// <paramref name="needInput"/> is false.
    /// </summary>
    public abstract float[]? Backward(float[] x, int xOff, float[] g, bool needInput);

    /// <summary>Whether the layer has a parameter that wants a gradient now (RequiresGrad can change between runs).</summary>
    public virtual bool TrainsParameters => false;

    protected static bool Wants(Tensor? p) => p is not null && p.RequiresGrad;

    // Elementwise work over a contiguous buffer, split over threads into CpuBackend's blocks: the same spans, so
    // vectorised functions give the same bits.
    private const int ElementBlock = CpuBackend.ElementBlock;

    protected static int Blocks(int n) => (n + ElementBlock - 1) / ElementBlock;

    /// <summary>The values of a contiguous CPU tensor (a parameter or buffer) and where they start.</summary>
    public static float[] Data(Tensor t, string what)
    {
        if (t.Storage is not CpuStorage cpu || !t.IsContiguous)
            throw new NotSupportedException($"StaticStep: {what} must be a contiguous CPU tensor.");
        return cpu.Data;
    }

    /// <summary>C (m × n, contiguous) = A·B for strided A (m × k) and B (k × n), with CpuBackend.MatMul's GEMM call.</summary>
    protected static void MatMul(int m, int n, int k, float[] a, int aOff, int aRowStride, int aColStride,
        float[] b, int bOff, int bRowStride, int bColStride, float[] c)
    {
        if (!CpuBackend.MatrixLayout(aRowStride, aColStride, m, k, out bool ta, out int lda)
            || !CpuBackend.MatrixLayout(bRowStride, bColStride, k, n, out bool tb, out int ldb))
            throw new InvalidOperationException("StaticStep: a matrix operand is not in a GEMM layout.");
        Gemm.Sgemm(ta, tb, m, n, k, a.AsSpan(aOff), lda, b.AsSpan(bOff), ldb, c, n, accumulate: false);
    }

    // y = f(x) over the ranges CpuBackend.Unary gives a contiguous tensor (blocks split over threads), so vectorised
    // functions (exp, sigmoid, tanh) see the same spans as on the autograd path.
    protected internal static void UnaryBlocked(UnaryOp op, float[] x, int xOff, float[] y, int n, float p0 = 0, float p1 = 0)
    {
        var args = (op, x, xOff, y, n, p0, p1);
        ParallelFor.Run(Blocks(n), ElementBlock, in args, static (in (UnaryOp Op, float[] X, int XOff, float[] Y, int N, float P0, float P1) a, int b0, int b1) =>
        {
            int start = b0 * ElementBlock, len = Math.Min(a.N, b1 * ElementBlock) - start;
            Elementwise.UnaryContiguous(a.Op, a.X.AsSpan(a.XOff + start, len), a.Y.AsSpan(start, len), a.P0, a.P1);
        });
    }

    // ∂L/∂x of an activation in place on g from its output or input v (BinaryOp.ReluGrad, SigmoidGrad, TanhGrad,
    // GeluGrad…, as the op's backward), over the same ranges as CpuBackend splits a contiguous tensor.
    protected static void ActivationGradInPlace(BinaryOp op, float[] g, float[] v, int vOff, int n, float p0 = 0, float p1 = 0)
    {
        var args = (op, g, v, vOff, n, p0, p1);
        ParallelFor.Run(Blocks(n), ElementBlock, in args, static (in (BinaryOp Op, float[] G, float[] V, int VOff, int N, float P0, float P1) a, int b0, int b1) =>
        {
            int start = b0 * ElementBlock, len = Math.Min(a.N, b1 * ElementBlock) - start;
            Elementwise.BinaryRow(a.Op, a.G.AsSpan(start), 1, a.V.AsSpan(a.VOff + start), 1, a.G.AsSpan(start), 1, len, a.P0, a.P1);
        });
    }
}

/// <summary>Reshape to (N, features) of a contiguous input: a view, no work (Flatten, Identity, FlattenInput).</summary>
internal sealed class StaticView(int[] outShape) : StaticLayer(outShape)
{
    public override void Forward(float[] x, int xOff)
    {
        Out = x;
        OutOffset = xOff;
    }

    public override float[]? Backward(float[] x, int xOff, float[] g, bool needInput) => needInput ? g : null;
}

/// <summary>y = x·Wᵀ + b, optionally ReLU'd in place (LinearOp, LinearRelu).</summary>
internal sealed class StaticLinear : StaticLayer
{
    private readonly Linear _layer;
    private readonly bool _relu;
    private readonly int _m, _in, _out;
    private readonly float[] _gw;
    private readonly float[]? _gb;
    private float[]? _gx;

    public StaticLinear(Linear layer, bool relu, int[] inShape, Func<Tensor, float[]> grad) : base([.. inShape[..^1], layer.OutFeatures])
    {
        if (inShape[^1] != layer.InFeatures)
            throw new ArgumentException($"Linear: input {Shapes.Format(inShape)} has {inShape[^1]} features but the layer expects {layer.InFeatures}.");
        _layer = layer;
        _relu = relu;
        _in = layer.InFeatures;
        _out = layer.OutFeatures;
        _m = Shapes.Numel(inShape) / Math.Max(1, _in);
        Out = new float[_m * _out];
        _gw = grad(layer.Weight);
        _gb = layer.Bias is null ? null : grad(layer.Bias);
    }

    public override void Forward(float[] x, int xOff)
    {
        var w = _layer.Weight;
        var wd = Data(w, "Linear.Weight");
        // x (m × in) · Wᵀ: W viewed transposed, strides (1, in).
        MatMul(_m, _out, _in, x, xOff, _in, 1, wd, w.Offset, w.Strides[1], w.Strides[0], Out);
        var b = _layer.Bias;
        if (b is null && !_relu) return;
        var args = (Out, b is null ? null : Data(b, "Linear.Bias"), b?.Offset ?? 0, _out, _relu);
        ParallelFor.Run(_m, _out, in args, static (in (float[] Y, float[]? B, int BOff, int N, bool Relu) a, int r0, int r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                var row = a.Y.AsSpan(r * a.N, a.N);
                if (a.B is not null) TensorPrimitives.Add(row, a.B.AsSpan(a.BOff, a.N), row);
                if (a.Relu) Elementwise.UnaryContiguous(UnaryOp.Relu, row, row, 0, 0);
            }
        });
    }

    public override bool TrainsParameters => Wants(_layer.Weight) || Wants(_layer.Bias);

    public override float[]? Backward(float[] x, int xOff, float[] g, bool needInput)
    {
        if (_relu) ActivationGradInPlace(BinaryOp.ReluGrad, g, Out, 0, _m * _out);
        var w = _layer.Weight;
        var wd = Data(w, "Linear.Weight");
        float[]? gx = null;
        if (needInput)
        {
            gx = _gx ??= new float[_m * _in];
            MatMul(_m, _in, _out, g, 0, _out, 1, wd, w.Offset, w.Strides[0], w.Strides[1], gx);   // g·W
        }
        if (Wants(w)) MatMul(_out, _in, _m, g, 0, 1, _out, x, xOff, _in, 1, _gw);                 // gᵀ·x
        if (_gb is not null && Wants(_layer.Bias)) Reduce.OuterInner(ReduceOp.Sum, g.AsSpan(0, _m * _out), _gb, 1, _m, _out); // Σ over rows
        return gx;
    }
}

/// <summary>
/// An elementwise activation primitive into its own buffer — ReLU, sigmoid, tanh (gradient from the output: ReluOp,
/// SigmoidOp, TanhOp), GELU and softplus (gradient from the input: GeluOp, SoftplusOp) — over the ranges
/// CpuBackend.Unary gives a contiguous tensor, so vectorised functions see the same spans.
/// </summary>
internal sealed class StaticActivation : StaticLayer
{
    private readonly UnaryOp _op;
    private readonly BinaryOp _grad;
    private readonly bool _gradFromInput;
    private readonly float _p0, _p1;

    public StaticActivation(UnaryOp op, BinaryOp grad, int[] inShape, bool gradFromInput = false, float p0 = 0, float p1 = 0) : base(inShape)
    {
        _op = op;
        _grad = grad;
        _gradFromInput = gradFromInput;
        _p0 = p0;
        _p1 = p1;
        Out = new float[Shapes.Numel(inShape)];
    }

    public override void Forward(float[] x, int xOff) => UnaryBlocked(_op, x, xOff, Out, Out.Length, _p0, _p1);

    public override float[]? Backward(float[] x, int xOff, float[] g, bool needInput)
    {
        if (!needInput) return null;
        if (_gradFromInput) ActivationGradInPlace(_grad, g, x, xOff, Out.Length, _p0, _p1);
        else ActivationGradInPlace(_grad, g, Out, 0, Out.Length, _p0, _p1);
        return g;
    }
}

/// <summary>2-D convolution with optional bias (Conv2dOp): the same kernels, the bias gradient reduced as SumOp does.</summary>
internal sealed class StaticConv2d : StaticLayer
{
    private readonly Conv2d _layer;
    private readonly ConvGeometry _g;
    private readonly float[] _gw;
    private readonly float[]? _gb, _planeSums;
    private float[]? _gx;

    public StaticConv2d(Conv2d layer, int[] inShape, Func<Tensor, float[]> grad) : base(OutputShape(layer, inShape, out var g))
    {
        _layer = layer;
        _g = g;
        Out = new float[Shapes.Numel(OutShape)];
        _gw = grad(layer.Weight);
        if (layer.Bias is not null)
        {
            _gb = grad(layer.Bias);
            _planeSums = new float[g.N * g.OutC];
        }
    }

    internal static int[] OutputShape(Conv2d layer, int[] s, out ConvGeometry g)
    {
        if (s.Length != 4 || s[1] != layer.InChannels)
            throw new ArgumentException($"Conv2d: input {Shapes.Format(s)} must be (N, {layer.InChannels}, H, W).");
        var w = layer.Weight;
        g = new ConvGeometry(s[0], s[1], s[2], s[3], w.Shape[0], w.Shape[2], w.Shape[3], layer.Stride.H, layer.Stride.W,
            layer.Padding.H, layer.Padding.W, layer.Dilation.H, layer.Dilation.W, layer.Groups);
        if (g.OH <= 0 || g.OW <= 0)
            throw new ArgumentException($"Conv2d: input {Shapes.Format(s)} is too small for kernel ({g.KH}, {g.KW}): the output would be ({g.OH}, {g.OW}).");
        return [g.N, g.OutC, g.OH, g.OW];
    }

    public override void Forward(float[] x, int xOff)
    {
        var w = _layer.Weight;
        var b = _layer.Bias;
        Kernels.Conv2d.Forward(x.AsSpan(xOff, _g.N * _g.C * _g.H * _g.W), Data(w, "Conv2d.Weight").AsSpan(w.Offset, w.Numel), Out, _g,
            b is null ? default : Data(b, "Conv2d.Bias").AsSpan(b.Offset, b.Numel));
    }

    public override bool TrainsParameters => Wants(_layer.Weight) || Wants(_layer.Bias);

    public override float[]? Backward(float[] x, int xOff, float[] g, bool needInput)
    {
        var w = _layer.Weight;
        var gy = g.AsSpan(0, Out.Length);
        float[]? gx = null;
        if (needInput)
        {
            gx = _gx ??= new float[_g.N * _g.C * _g.H * _g.W];
            Kernels.Conv2d.BackwardData(gy, Data(w, "Conv2d.Weight").AsSpan(w.Offset, w.Numel), gx, _g);
        }
        if (Wants(w)) Kernels.Conv2d.BackwardWeight(gy, x.AsSpan(xOff, _g.N * _g.C * _g.H * _g.W), _gw, _g);
        if (_gb is not null && Wants(_layer.Bias))
        {
            // g.Sum([0, 2, 3]) as CpuBackend.Reduce runs it: the spatial run (2, 3) first, then the batch.
            Reduce.OuterInner(ReduceOp.Sum, gy, _planeSums, _g.N * _g.OutC, _g.OH * _g.OW, 1);
            Reduce.OuterInner(ReduceOp.Sum, _planeSums, _gb, 1, _g.N, _g.OutC);
        }
        return gx;
    }
}

/// <summary>Max pooling (MaxPool2dOp): the window maxima and their positions; the gradient goes to each position.</summary>
internal sealed class StaticMaxPool2d : StaticLayer
{
    private readonly PoolGeometry _g;
    private readonly int[] _argmax;
    private float[]? _gx;

    public StaticMaxPool2d(MaxPool2d layer, int[] inShape) : base(OutputShape(layer, inShape, out var g))
    {
        _g = g;
        Out = new float[Shapes.Numel(OutShape)];
        _argmax = new int[Out.Length];
    }

    private static int[] OutputShape(MaxPool2d p, int[] s, out PoolGeometry g)
    {
        if (s.Length != 4) throw new ArgumentException($"MaxPool2d: input {Shapes.Format(s)} must be (N, C, H, W).");
        if (p.KernelSize < 1 || p.Stride < 1 || p.Dilation < 1 || p.Padding < 0 || p.Padding * 2 > p.KernelSize)   // PoolOps.Geometry's checks
            throw new ArgumentException($"MaxPool2d: kernel {p.KernelSize}, stride {p.Stride}, dilation {p.Dilation} and padding {p.Padding} (at most half the kernel) are not a valid window.");
        g = new PoolGeometry(s[0], s[1], s[2], s[3], p.KernelSize, p.KernelSize, p.Stride, p.Stride, p.Padding, p.Padding, p.Dilation, p.Dilation, p.CeilMode);
        if (g.OH <= 0 || g.OW <= 0) throw new ArgumentException($"MaxPool2d: input {Shapes.Format(s)} is too small for kernel {p.KernelSize}.");
        return [g.N, g.C, g.OH, g.OW];
    }

    public override void Forward(float[] x, int xOff) => Pool2d.MaxForward(x.AsSpan(xOff, _g.N * _g.C * _g.H * _g.W), Out, _argmax, _g);

    public override float[]? Backward(float[] x, int xOff, float[] g, bool needInput)
    {
        if (!needInput) return null;
        var gx = _gx ??= new float[_g.N * _g.C * _g.H * _g.W];
        Pool2d.MaxBackward(g.AsSpan(0, Out.Length), _argmax, gx, _g);   // the kernel clears gx
        return gx;
    }
}

/// <summary>Adaptive average pooling to (OH, OW) (AdaptiveAvgPool2dOp): ResNet's global pooling.</summary>
internal sealed class StaticAdaptiveAvgPool2d : StaticLayer
{
    private readonly int _planes, _h, _w, _oh, _ow;
    private float[]? _gx;

    public StaticAdaptiveAvgPool2d(int[] inShape, int oh, int ow) : base(inShape.Length == 4
        ? [inShape[0], inShape[1], oh, ow]
        : throw new ArgumentException($"AdaptiveAvgPool2d: input {Shapes.Format(inShape)} must be (N, C, H, W)."))
    {
        _planes = inShape[0] * inShape[1];
        _h = inShape[2];
        _w = inShape[3];
        _oh = oh;
        _ow = ow;
        Out = new float[Shapes.Numel(OutShape)];
    }

    public override void Forward(float[] x, int xOff) => Pool2d.AdaptiveAvgForward(x.AsSpan(xOff, _planes * _h * _w), Out, _planes, _h, _w, _oh, _ow);

    public override float[]? Backward(float[] x, int xOff, float[] g, bool needInput)
    {
        if (!needInput) return null;
        var gx = _gx ??= new float[_planes * _h * _w];
        Pool2d.AdaptiveAvgBackward(g.AsSpan(0, Out.Length), gx, _planes, _h, _w, _oh, _ow);   // the kernel clears gx
        return gx;
    }
}

/// <summary>
/// A residual block (BasicBlock): y = relu(main(x) + shortcut(x)), main = conv, BN, ReLU, conv, BN and the shortcut the
/// identity or a projection (1×1 conv, BN), or no shortcut (a plain net's block). Backward as the engine does it: the
/// ReLU's gradient goes to both paths and ∂x is their sum (addition commutes, so the order of the two is no matter).
/// </summary>
internal sealed class StaticBasicBlock : StaticLayer
{
    private readonly StaticLayer[] _main;
    private readonly StaticLayer[]? _projection;
    private readonly bool _shortcut;
    private readonly float[] _sum;
    private readonly int _inLength;
    private float[]? _gx;

    public StaticBasicBlock(BasicBlock block, int[] inShape, Func<Tensor, float[]> grad) : base(Shape(block, inShape))
    {
        _inLength = Shapes.Numel(inShape);
        var conv1 = new StaticConv2d((Conv2d)block.Conv1, inShape, grad);
        var bn1 = new StaticBatchNorm((BatchNorm2d)block.Norm1!, conv1.OutShape, grad);
        var relu = new StaticActivation(UnaryOp.Relu, BinaryOp.ReluGrad, bn1.OutShape);
        var conv2 = new StaticConv2d((Conv2d)block.Conv2, relu.OutShape, grad);
        var bn2 = new StaticBatchNorm((BatchNorm2d)block.LastNorm!, conv2.OutShape, grad);
        _main = [conv1, bn1, relu, conv2, bn2];
        _shortcut = block.HasShortcut;
        if (block.Downsample is { } d)
        {
            var conv = new StaticConv2d((Conv2d)d[0], inShape, grad);
            _projection = [conv, new StaticBatchNorm((BatchNorm2d)d[1], conv.OutShape, grad)];
        }
        else if (_shortcut && !inShape.AsSpan().SequenceEqual(OutShape))
            throw new ArgumentException($"BasicBlock: an identity shortcut needs the output shape {Shapes.Format(OutShape)} to be the input's, {Shapes.Format(inShape)}.");
        _sum = _shortcut ? new float[Shapes.Numel(OutShape)] : [];
        Out = new float[Shapes.Numel(OutShape)];
    }

    private static int[] Shape(BasicBlock block, int[] inShape) =>
        StaticConv2d.OutputShape((Conv2d)block.Conv2, StaticConv2d.OutputShape((Conv2d)block.Conv1, inShape, out _), out _);

    public override bool TrainsParameters
    {
        get
        {
            foreach (var l in _main) if (l.TrainsParameters) return true;
            if (_projection is not null) foreach (var l in _projection) if (l.TrainsParameters) return true;
            return false;
        }
    }

    // Runs a chain forward from (x, xOff); its last layer's output is the result.
    private static void ForwardChain(StaticLayer[] chain, float[] x, int xOff)
    {
        float[] a = x;
        int aOff = xOff;
        foreach (var layer in chain)
        {
            layer.Forward(a, aOff);
            a = layer.Out;
            aOff = layer.OutOffset;
        }
    }

    // Runs a chain backward from ∂L/∂(its output) in g (not modified: every chain here starts with a BatchNorm, which
    // writes its own buffer); returns ∂L/∂x when needInput. As StaticStep.Run: a layer computes its input's gradient
    // only when the block's input wants one or a layer before it in the chain trains.
    private static float[]? BackwardChain(StaticLayer[] chain, float[] x, int xOff, float[] g, bool needInput)
    {
        float[]? grad = g;
        for (int i = chain.Length - 1; i >= 0 && grad is not null; i--)
        {
            bool need = needInput;
            for (int j = 0; j < i && !need; j++) need = chain[j].TrainsParameters;
            if (!need && !chain[i].TrainsParameters) return null;
            var (inArr, inOff) = i == 0 ? (x, xOff) : (chain[i - 1].Out, chain[i - 1].OutOffset);
            grad = chain[i].Backward(inArr, inOff, grad, need);
        }
        return grad;
    }

    public override void Forward(float[] x, int xOff)
    {
        ForwardChain(_main, x, xOff);
        var main = _main[^1].Out;
        int n = Out.Length;
        if (_shortcut)
        {
            float[] s = x;
            int sOff = xOff;
            if (_projection is not null)
            {
                ForwardChain(_projection, x, xOff);
                s = _projection[^1].Out;
                sOff = 0;
            }
            TensorPrimitives.Add(main.AsSpan(0, n), s.AsSpan(sOff, n), _sum);   // y + shortcut (AddOp)
            UnaryBlocked(UnaryOp.Relu, _sum, 0, Out, n);
        }
        else UnaryBlocked(UnaryOp.Relu, main, 0, Out, n);
    }

    public override float[]? Backward(float[] x, int xOff, float[] g, bool needInput)
    {
        int n = Out.Length;
        ActivationGradInPlace(BinaryOp.ReluGrad, g, Out, 0, n);   // now ∂L/∂(main + shortcut)
        var gMain = BackwardChain(_main, x, xOff, g, needInput);
        float[]? gShort = null;
        if (_shortcut) gShort = _projection is null ? g : BackwardChain(_projection, x, xOff, g, needInput);
        if (!needInput) return null;
        if (gShort is null) return gMain;
        var gx = _gx ??= new float[_inLength];
        TensorPrimitives.Add(gMain.AsSpan(0, gx.Length), gShort.AsSpan(0, gx.Length), gx);   // the engine's sum of the two
        return gx;
    }
}

/// <summary>Batch normalisation with batch statistics and the running-average update (BatchNormOp and the layer's).</summary>
internal sealed class StaticBatchNorm : StaticLayer
{
    private readonly BatchNormBase _layer;
    private readonly int _n, _c, _s;
    private readonly float[] _mean, _variance, _invstd, _xhat;
    private readonly float[]? _gGamma, _gBeta;
    private float[]? _gx;

    public StaticBatchNorm(BatchNormBase layer, int[] inShape, Func<Tensor, float[]> grad) : base(inShape)
    {
        bool rankOk = layer is BatchNorm2d ? inShape.Length == 4 : inShape.Length is 2 or 3;   // the modules' CheckInput
        if (!rankOk || inShape[1] != layer.NumFeatures)
            throw new ArgumentException(
                $"{layer.GetType().Name}: input {Shapes.Format(inShape)} must be {(layer is BatchNorm2d ? "(N, C, H, W)" : "(N, C) or (N, C, L)")} with C = {layer.NumFeatures}.");
        _layer = layer;
        _n = inShape[0];
        _c = inShape[1];
        _s = Shapes.Numel(inShape) / Math.Max(1, _n * _c);
        if (_n * _s <= 1)
            throw new ArgumentException($"Expected more than 1 value per channel when training, got input size {Shapes.Format(inShape)}");
        Out = new float[Shapes.Numel(inShape)];
        _xhat = new float[Out.Length];
        _mean = new float[_c];
        _variance = new float[_c];
        _invstd = new float[_c];
        if (layer.Weight is not null) _gGamma = grad(layer.Weight);
        if (layer.Bias is not null) _gBeta = grad(layer.Bias);
    }

    public override void Forward(float[] x, int xOff)
    {
        var xd = x.AsSpan(xOff, Out.Length);
        Kernels.BatchNorm.Statistics(xd, _n, _c, _s, _mean, _variance);
        Ops.BatchNormOp.InvStd(_variance, _layer.Eps, _invstd);
        Kernels.BatchNorm.Normalize(xd, _n, _c, _s, _mean, _invstd, Values(_layer.Weight), Values(_layer.Bias), Out, _xhat);
        if (_layer.TrackRunningStats) _layer.UpdateRunningStatistics(_mean, _variance, Out.Length / _c);
    }

    private static ReadOnlySpan<float> Values(Tensor? t) => t is null ? default : Data(t, "BatchNorm's γ and β").AsSpan(t.Offset, t.Numel);

    public override bool TrainsParameters => Wants(_layer.Weight) || Wants(_layer.Bias);

    public override float[]? Backward(float[] x, int xOff, float[] g, bool needInput)
    {
        float[]? gx = needInput ? _gx ??= new float[Out.Length] : null;
        // An empty span asks the kernel for no such gradient (as BatchNormOp for an input that wants none).
        Kernels.BatchNorm.Backward(g.AsSpan(0, Out.Length), _xhat, _n, _c, _s, _invstd, Values(_layer.Weight), batchStatistics: true,
            gx ?? default(Span<float>), Wants(_layer.Weight) ? _gGamma : default(Span<float>), Wants(_layer.Bias) ? _gBeta : default(Span<float>));
        return gx;
    }
}

/// <summary>Dropout in training mode: a fresh mask from the layer's generator, as DropoutMasks draws it, times x.</summary>
internal sealed class StaticDropout : StaticLayer
{
    private readonly Dropout _layer;
    private readonly float[] _mask;

    public StaticDropout(Dropout layer, int[] inShape) : base(inShape)
    {
        _layer = layer;
        Out = new float[Shapes.Numel(inShape)];
        _mask = new float[Out.Length];
    }

    public override void Forward(float[] x, int xOff)
    {
        float p = _layer.P;   // never 0: StaticStep makes p = 0 dropout a view, as DropoutMasks.Apply returns x
        // p = 1 multiplies by 0 without drawing (DropoutMasks.Apply); otherwise one draw per element.
        if (p == 1) Array.Clear(_mask);
        else DropoutMasks.Fill(_mask, p, _layer.Mode == DropoutMode.Inverted ? 1f / (1 - p) : 1f, _layer.Generator);
        TensorPrimitives.Multiply(x.AsSpan(xOff, Out.Length), _mask, Out);
    }

    public override float[]? Backward(float[] x, int xOff, float[] g, bool needInput)
    {
        if (!needInput) return null;
        TensorPrimitives.Multiply(g.AsSpan(0, Out.Length), _mask, g.AsSpan(0, Out.Length));
        return g;
    }
}

/// <summary>
/// Cross-entropy of logits (M, C) against class indices (Functional.CrossEntropy with no class weights or label
/// smoothing): the one-hot Q, log-softmax, −Σ Q·log p per row and the mean (or sum) forward; (p·ΣQ − Q)·∂ℓ backward.
/// </summary>
internal sealed class StaticCrossEntropy
{
    private readonly int _m, _c, _ignoreIndex;
    private readonly bool _mean;
    private readonly float[] _q, _logProbs, _products, _perRow, _total, _rowQ;
    public readonly float[] GradLogits;

    public StaticCrossEntropy(int[] logitShape, int ignoreIndex, bool mean)
    {
        if (logitShape.Length != 2)
            throw new ArgumentException($"StaticStep: the model's output {Shapes.Format(logitShape)} must be logits (N, C).");
        _m = logitShape[0];
        _c = logitShape[1];
        _ignoreIndex = ignoreIndex;
        _mean = mean;
        int n = _m * _c;
        _q = new float[n];
        _logProbs = new float[n];
        _products = new float[n];
        GradLogits = new float[n];
        _perRow = new float[_m];
        _rowQ = new float[_m];
        _total = new float[1];
    }

    /// <summary>The loss; leaves ∂loss/∂logits in <see cref="GradLogits"/>.</summary>
    public float Run(float[] z, int zOff, ReadOnlySpan<int> target)
    {
        Array.Clear(_q);
        float denominator = 0;
        for (int i = 0; i < _m; i++)
        {
            if (target[i] == _ignoreIndex) continue;
            Functional.CheckClass("CrossEntropyLoss", target[i], _c);
            denominator += 1f;
            _q[i * _c + target[i]] = 1f;
        }
        int n = _m * _c;
        Kernels.Softmax.Rows(z.AsSpan(zOff, n), _logProbs, _m, _c, log: true);
        TensorPrimitives.Multiply(_logProbs, _q, _products);
        Reduce.OuterInner(ReduceOp.Sum, _products, _perRow, _m, _c, 1);
        TensorPrimitives.Negate(_perRow, _perRow);
        Reduce.OuterInner(ReduceOp.Sum, _perRow, _total, 1, _m, 1);
        float loss = _mean ? _total[0] / denominator : _total[0];

        // Backward from ∂loss/∂loss = 1: the mean's Div gives 1/denominator to every row.
        float gRow = _mean ? 1f / denominator : 1f;
        StaticLayer.UnaryBlocked(UnaryOp.Exp, _logProbs, 0, GradLogits, n);
        Reduce.OuterInner(ReduceOp.Sum, _q, _rowQ, _m, _c, 1);
        for (int i = 0; i < _m; i++)
        {
            float s = _rowQ[i];
            var p = GradLogits.AsSpan(i * _c, _c);
            var q = _q.AsSpan(i * _c, _c);
            for (int c = 0; c < _c; c++) p[c] = (p[c] * s - q[c]) * gRow;
        }
        return loss;
    }
}
