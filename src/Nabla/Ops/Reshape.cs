using Nabla.Autograd;

namespace Nabla.Ops;

/// <summary>
/// The same elements with another shape (one size may be −1, inferred). A view when the input is contiguous,
/// otherwise a contiguous copy first (torch.reshape). ∂x = g reshaped back.
/// </summary>
internal sealed class ReshapeOp(Tensor x) : Node(x)
{
    public override string Name => "Reshape";

    public static Tensor Forward(Tensor x, int[] shape)
    {
        var target = Infer(shape, x);
        var src = x.IsContiguous ? x : CopyOp.Forward(x, "Contiguous").Detach();
        var y = src.View(target, Shapes.ContiguousStrides(target), src.offset);
        if (GradMode.ShouldRecord(x)) y.gradFn = new ReshapeOp(x);
        return y;
    }

    private static int[] Infer(int[] shape, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var target = (int[])shape.Clone();
        int infer = -1, known = 1;
        for (int i = 0; i < target.Length; i++)
        {
            if (target[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"Reshape: only one size may be -1, got {Shapes.Format(shape)}.", nameof(shape));
                infer = i;
            }
            else if (target[i] < 0) throw new ArgumentException($"Reshape: invalid size {target[i]} in {Shapes.Format(shape)}.", nameof(shape));
            else known *= target[i];
        }
        int n = x.Numel;
        if (infer >= 0)
        {
            if (known == 0 || n % known != 0)
                throw new ArgumentException($"Reshape: cannot view input of shape {Shapes.Format(x.shape)} ({n} elements) as {Shapes.Format(shape)}.", nameof(shape));
            target[infer] = n / known;
        }
        else if (known != n)
            throw new ArgumentException($"Reshape: cannot view input of shape {Shapes.Format(x.shape)} ({n} elements) as {Shapes.Format(shape)} ({known} elements).", nameof(shape));
        return target;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads) => grads[0] = g.Reshape(Inputs[0].shape);
}
