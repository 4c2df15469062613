using Nabla.Autograd;

namespace Nabla.Ops;

/// <summary>
/// A broadcast view: size-1 dims repeat (stride 0) and new leading dims may be added; −1 keeps a size
/// (torch.expand). ∂x = g summed over the repeated dims.
/// </summary>
internal sealed class ExpandOp(Tensor x) : Node(x)
{
    public override string Name => "Expand";

    public static Tensor Forward(Tensor x, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length < x.Rank)
            throw new ArgumentException($"Expand: target {Shapes.Format(shape)} has fewer dims than x {Shapes.Format(x.shape)}.", nameof(shape));
        int lead = shape.Length - x.Rank;
        var newShape = new int[shape.Length];
        var strides = new int[shape.Length];
        for (int d = 0; d < shape.Length; d++)
        {
            int xd = d - lead;
            int want = shape[d];
            if (xd < 0)
            {
                if (want < 0) throw new ArgumentException($"Expand: size -1 is not allowed for the new leading dim {d} in {Shapes.Format(shape)}.", nameof(shape));
                newShape[d] = want;
                continue;
            }
            int have = x.shape[xd];
            if (want == -1) want = have;
            if (have == want) { newShape[d] = want; strides[d] = x.strides[xd]; }
            else if (have == 1 && want >= 0) newShape[d] = want;
            else throw new ArgumentException(
                $"Expand: x {Shapes.Format(x.shape)} cannot expand to {Shapes.Format(shape)}: size {have} at dim {xd} is neither {want} nor 1.", nameof(shape));
        }
        if (Shapes.Equal(newShape, x.shape)) return x;
        var y = x.View(newShape, strides, x.offset);
        if (GradMode.ShouldRecord(x)) y.gradFn = new ExpandOp(x);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads) => grads[0] = OpHelpers.SumToShape(g, Inputs[0].shape);
}
