using Nabla.Autograd;
using Nabla.Kernels;

namespace Nabla.Ops;

/// <summary>
/// 2-D cross-correlation y = x ⋆ w for x (N, C, H, W) and w (OutC, C/groups, kh, kw) with stride, padding,
/// dilation and groups, plus an optional per-channel bias (torch.nn.functional.conv2d). ∂x = the transposed
/// convolution of gy with w; ∂w = gy correlated with x, summed over the batch; ∂b = gy summed over N, H, W.
/// </summary>
internal sealed class Conv2dOp(Tensor[] inputs, ConvGeometry geometry) : Node(inputs)
{
    public override string Name => "Conv2d";

    // Every gradient is a new tensor of this node's own (Engine keeps it as a leaf's Grad without a copy).
    protected internal override bool GradientsAreFresh => true;

    public static Tensor Forward(Tensor x, Tensor w, Tensor? bias, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(w);
        OpHelpers.SameDevice("Conv2d", x, w);
        if (x.Rank != 4) throw new ArgumentException($"Conv2d: input {Shapes.Format(x.shape)} must be (N, C, H, W).", nameof(x));
        if (w.Rank != 4) throw new ArgumentException($"Conv2d: weight {Shapes.Format(w.shape)} must be (out_channels, in_channels/groups, kH, kW).", nameof(w));
        if (groups < 1 || x.shape[1] % groups != 0 || w.shape[0] % groups != 0)
            throw new ArgumentException($"Conv2d: groups {groups} must divide the input channels ({x.shape[1]}) and the output channels ({w.shape[0]}).", nameof(groups));
        if (w.shape[1] * groups != x.shape[1])
            throw new ArgumentException(
                $"Conv2d: input {Shapes.Format(x.shape)} has {x.shape[1]} channels but weight {Shapes.Format(w.shape)} expects {w.shape[1] * groups} (in_channels/groups = {w.shape[1]}, groups = {groups}).", nameof(x));
        if (stride.H < 1 || stride.W < 1 || dilation.H < 1 || dilation.W < 1 || padding.H < 0 || padding.W < 0)
            throw new ArgumentException($"Conv2d: stride {stride} and dilation {dilation} must be ≥ 1 and padding {padding} ≥ 0.");
        var g = new ConvGeometry(x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2], w.shape[3],
            stride.H, stride.W, padding.H, padding.W, dilation.H, dilation.W, groups);
        if (g.OH <= 0 || g.OW <= 0)
            throw new ArgumentException(
                $"Conv2d: input {Shapes.Format(x.shape)} is too small for kernel ({g.KH}, {g.KW}) with padding {padding} and dilation {dilation}: the output would be ({g.OH}, {g.OW}).", nameof(x));
        if (bias is not null && (bias.Rank != 1 || bias.shape[0] != w.shape[0]))
            throw new ArgumentException($"Conv2d: bias {Shapes.Format(bias.shape)} must have one value per output channel ({w.shape[0]},).", nameof(bias));
        var y = Tensor.Uninitialized(x.Backend, [g.N, g.OutC, g.OH, g.OW]);
        x.Backend.Conv2d(x, w, bias, g, y);
        Tensor[] inputs = bias is null ? [x, w] : [x, w, bias];
        if (GradMode.ShouldRecord(inputs)) y.gradFn = new Conv2dOp(inputs, g);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var w = Inputs[1];
        if (NeedsGrad(0))
        {
            var gx = Tensor.Uninitialized(x.Backend, [.. x.shape]);
            x.Backend.Conv2dBackwardData(g, w, geometry, gx);
            grads[0] = gx;
        }
        if (NeedsGrad(1))
        {
            var gw = Tensor.Uninitialized(w.Backend, [.. w.shape]);
            x.Backend.Conv2dBackwardWeight(g, x, geometry, gw);
            grads[1] = gw;
        }
        if (Inputs.Count > 2 && NeedsGrad(2)) grads[2] = g.Sum([0, 2, 3]);
    }
}
