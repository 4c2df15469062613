using Nabla.Autograd;
using Nabla.Kernels;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>
/// 2-D transposed convolution (torch.nn.functional.conv_transpose2d) of x (N, C_in, H, W) by w (C_in, C_out/groups,
/// kH, kW): the adjoint of the convolution that maps (N, C_out, OH, OW) to (N, C_in, H, W) with the same kernel,
/// stride, padding, dilation and groups, where OH = (H − 1)·stride − 2·padding + dilation·(kH − 1) + output_padding + 1
/// (likewise OW), plus an optional per-channel bias. So y = Conv2dBackwardData(x, w), ∂x = conv2d(gy, w) and
/// ∂w = Conv2dBackwardWeight(x, gy): the convolution's three kernels with the roles of input and output swapped, and
/// ∂b = gy summed over N, OH, OW.
/// </summary>
internal sealed class ConvTranspose2dOp(Tensor[] inputs, ConvGeometry geometry) : Node(inputs)
{
    public override string Name => "ConvTranspose2d";

    // Every gradient is a new tensor of this node's own (Engine keeps it as a leaf's Grad without a copy).
    protected internal override bool GradientsAreFresh => true;

    public static Tensor Forward(Tensor x, Tensor w, Tensor? bias, (int H, int W) stride, (int H, int W) padding, (int H, int W) outputPadding,
        (int H, int W) dilation, int groups)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(w);
        OpHelpers.SameDevice("ConvTranspose2d", x, w);
        if (x.Rank != 4) throw new ArgumentException($"ConvTranspose2d: input {Shapes.Format(x.shape)} must be (N, C, H, W).", nameof(x));
        if (w.Rank != 4)
            throw new ArgumentException($"ConvTranspose2d: weight {Shapes.Format(w.shape)} must be (in_channels, out_channels/groups, kH, kW).", nameof(w));
        if (groups < 1 || x.shape[1] % groups != 0)
            throw new ArgumentException($"ConvTranspose2d: groups {groups} must divide the input channels ({x.shape[1]}).", nameof(groups));
        if (w.shape[0] != x.shape[1])
            throw new ArgumentException(
                $"ConvTranspose2d: input {Shapes.Format(x.shape)} has {x.shape[1]} channels but weight {Shapes.Format(w.shape)} expects {w.shape[0]} (in_channels first).", nameof(x));
        if (stride.H < 1 || stride.W < 1 || dilation.H < 1 || dilation.W < 1 || padding.H < 0 || padding.W < 0)
            throw new ArgumentException($"ConvTranspose2d: stride {stride} and dilation {dilation} must be ≥ 1 and padding {padding} ≥ 0.");
        // PyTorch also allows output_padding < dilation; the adjoint's geometry here needs it below the stride.
        if (outputPadding.H < 0 || outputPadding.W < 0 || outputPadding.H >= stride.H || outputPadding.W >= stride.W)
            throw new ArgumentException($"ConvTranspose2d: output_padding {outputPadding} must be ≥ 0 and smaller than the stride {stride}.", nameof(outputPadding));
        int outC = w.shape[1] * groups;
        int oh = (x.shape[2] - 1) * stride.H - 2 * padding.H + dilation.H * (w.shape[2] - 1) + outputPadding.H + 1;
        int ow = (x.shape[3] - 1) * stride.W - 2 * padding.W + dilation.W * (w.shape[3] - 1) + outputPadding.W + 1;
        if (oh <= 0 || ow <= 0)
            throw new ArgumentException(
                $"ConvTranspose2d: input {Shapes.Format(x.shape)} with kernel ({w.shape[2]}, {w.shape[3]}), stride {stride} and padding {padding} gives an empty output ({oh}, {ow}).", nameof(x));
        if (bias is not null && (bias.Rank != 1 || bias.shape[0] != outC))
            throw new ArgumentException($"ConvTranspose2d: bias {Shapes.Format(bias.shape)} must have one value per output channel ({outC},).", nameof(bias));
        // The convolution this one is the adjoint of: input (N, C_out, OH, OW), output (N, C_in, H, W), weight (C_in, C_out/g, kH, kW).
        var g = new ConvGeometry(x.shape[0], outC, oh, ow, x.shape[1], w.shape[2], w.shape[3], stride.H, stride.W, padding.H, padding.W,
            dilation.H, dilation.W, groups);
        var y = Tensor.Uninitialized(x.Backend, [g.N, outC, oh, ow]);
        x.Backend.Conv2dBackwardData(x, w, g, y);
        if (bias is not null) x.Backend.Binary(BinaryOp.Add, y, bias.View([1, outC, 1, 1], [0, bias.strides[0], 0, 0], bias.offset), y);
        Tensor[] inputs = bias is null ? [x, w] : [x, w, bias];
        if (GradMode.ShouldRecord(inputs)) y.gradFn = new ConvTranspose2dOp(inputs, g);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var w = Inputs[1];
        if (NeedsGrad(0))
        {
            var gx = Tensor.Uninitialized(x.Backend, [.. x.shape]);
            x.Backend.Conv2d(g, w, null, geometry, gx);
            grads[0] = gx;
        }
        if (NeedsGrad(1))
        {
            var gw = Tensor.Uninitialized(w.Backend, [.. w.shape]);
            x.Backend.Conv2dBackwardWeight(x, g, geometry, gw);
            grads[1] = gw;
        }
        if (Inputs.Count > 2 && NeedsGrad(2)) grads[2] = g.Sum([0, 2, 3]);
    }
}
