using Nabla.Autograd;

namespace Nabla.Ops;

/// <summary>
/// A view of x[start:end:step] along one dim (Python slice rules: negative bounds count from the end, bounds
/// clipped). ∂x = g written into zeros at the same positions.
/// </summary>
internal sealed class SliceOp(Tensor x, int dim, int start, int step) : Node(x)
{
    public override string Name => "Slice";

    public static Tensor Forward(Tensor x, int dim, int start, int end, int step)
    {
        int d = Shapes.NormalizeDim(dim, x.Rank, "Slice");
        if (step <= 0) throw new ArgumentOutOfRangeException(nameof(step), step, "Slice: step must be positive.");
        int size = x.shape[d];
        if (start < 0) start += size;
        if (end < 0) end += size;
        start = Math.Clamp(start, 0, size);
        end = Math.Clamp(end, start, size);
        int len = (end - start + step - 1) / step;
        var shape = (int[])x.shape.Clone();
        var strides = (int[])x.strides.Clone();
        shape[d] = len;
        strides[d] *= step;
        var y = x.View(shape, strides, x.offset + (len == 0 ? 0 : start * x.strides[d]));
        if (GradMode.ShouldRecord(x)) y.gradFn = new SliceOp(x, d, start, step);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var dx = Tensor.ZerosLike(x);
        var region = Forward(dx, dim, start, start + g.shape[dim] * step, step);
        dx.Backend.Copy(g, region);
        grads[0] = dx;
    }
}
