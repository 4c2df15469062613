using Nabla.Autograd;
using Nabla.Kernels;

namespace Nabla.Ops;

/// <summary>Max pooling over (N, C, H, W); the gradient goes to each window's (first) maximum.</summary>
internal sealed class MaxPool2dOp(Tensor x, PoolGeometry geometry, int[] argmax) : Node(x)
{
    public override string Name => "MaxPool2d";

    public static Tensor Forward(Tensor x, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, bool ceilMode)
    {
        var g = PoolOps.Geometry("MaxPool2d", x, kernel, stride, padding, dilation, ceilMode);
        var y = Tensor.Uninitialized(x.Backend, [g.N, g.C, g.OH, g.OW]);
        // The indices live as long as the output (and so the node that reads them in the backward pass).
        var argmax = x.Backend.AllocateIndices(y.Numel, y);
        x.Backend.MaxPool2d(x, g, y, argmax);
        if (GradMode.ShouldRecord(x)) y.gradFn = new MaxPool2dOp(x, g, argmax);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var gx = Tensor.Uninitialized(Inputs[0].Backend, [.. Inputs[0].shape]); // the kernel clears it
        gx.Backend.MaxPool2dBackward(g, argmax, geometry, gx);
        grads[0] = gx;
    }
}

/// <summary>Average pooling over (N, C, H, W); each input gets gy/divisor from every window it is in.</summary>
internal sealed class AvgPool2dOp(Tensor x, PoolGeometry geometry, bool countIncludePad, int? divisorOverride) : Node(x)
{
    public override string Name => "AvgPool2d";

    public static Tensor Forward(Tensor x, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding, bool ceilMode, bool countIncludePad, int? divisorOverride)
    {
        if (divisorOverride is <= 0) throw new ArgumentOutOfRangeException(nameof(divisorOverride), divisorOverride, "AvgPool2d: divisor must be non-zero.");
        var g = PoolOps.Geometry("AvgPool2d", x, kernel, stride, padding, (1, 1), ceilMode);
        var y = Tensor.Uninitialized(x.Backend, [g.N, g.C, g.OH, g.OW]);
        x.Backend.AvgPool2d(x, g, countIncludePad, divisorOverride, y);
        if (GradMode.ShouldRecord(x)) y.gradFn = new AvgPool2dOp(x, g, countIncludePad, divisorOverride);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var gx = Tensor.Uninitialized(Inputs[0].Backend, [.. Inputs[0].shape]); // the kernel clears it
        gx.Backend.AvgPool2dBackward(g, geometry, countIncludePad, divisorOverride, gx);
        grads[0] = gx;
    }
}

/// <summary>Adaptive average pooling to a fixed (OH, OW): window o spans [⌊o·I/O⌋, ⌈(o+1)·I/O⌉).</summary>
internal sealed class AdaptiveAvgPool2dOp(Tensor x) : Node(x)
{
    public override string Name => "AdaptiveAvgPool2d";

    public static Tensor Forward(Tensor x, (int H, int W) output)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4) throw new ArgumentException($"AdaptiveAvgPool2d: input {Shapes.Format(x.shape)} must be (N, C, H, W).", nameof(x));
        if (output.H < 1 || output.W < 1) throw new ArgumentOutOfRangeException(nameof(output), output, "AdaptiveAvgPool2d: the output size must be positive.");
        var y = Tensor.Uninitialized(x.Backend, [x.shape[0], x.shape[1], output.H, output.W]);
        x.Backend.AdaptiveAvgPool2d(x, y);
        if (GradMode.ShouldRecord(x)) y.gradFn = new AdaptiveAvgPool2dOp(x);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var gx = Tensor.Uninitialized(Inputs[0].Backend, [.. Inputs[0].shape]); // the kernel clears it
        gx.Backend.AdaptiveAvgPool2dBackward(g, gx);
        grads[0] = gx;
    }
}

internal static class PoolOps
{
    public static PoolGeometry Geometry(string op, Tensor x, (int H, int W) k, (int H, int W) s, (int H, int W) p, (int H, int W) d, bool ceil)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 4) throw new ArgumentException($"{op}: input {Shapes.Format(x.shape)} must be (N, C, H, W).", nameof(x));
        if (k.H < 1 || k.W < 1 || s.H < 1 || s.W < 1 || d.H < 1 || d.W < 1)
            throw new ArgumentException($"{op}: kernel {k}, stride {s} and dilation {d} must be positive.");
        if (p.H < 0 || p.W < 0 || p.H * 2 > k.H || p.W * 2 > k.W)
            throw new ArgumentException($"{op}: pad should be at most half of effective kernel size, but got pad={p} and kernel_size={k}.");
        var g = new PoolGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], k.H, k.W, s.H, s.W, p.H, p.W, d.H, d.W, ceil);
        if (g.OH <= 0 || g.OW <= 0)
            throw new ArgumentException($"{op}: input {Shapes.Format(x.shape)} is too small for kernel {k}: the output would be ({g.OH}, {g.OW}).", nameof(x));
        return g;
    }
}
