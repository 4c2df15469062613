using Nabla.Autograd;

namespace Nabla.Ops;

/// <summary>
/// The slices of x along dim picked by a 1-D index (torch.index_select): the mini-batch of rows.
/// ∂x = g added back at the picked positions (repeats accumulate).
/// </summary>
internal sealed class IndexSelectOp(Tensor x, int dim, IntTensor index) : Node(x)
{
    public override string Name => "IndexSelect";

    public static Tensor Forward(Tensor x, int dim, IntTensor index)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (x.Rank == 0) throw new ArgumentException("IndexSelect: x must have at least one dim.", nameof(x));
        int d = Shapes.NormalizeDim(dim, x.Rank, "IndexSelect");
        if (index.Rank != 1)
            throw new ArgumentException($"IndexSelect: index must be 1-D, got shape {Shapes.Format(index.ShapeArray)}.", nameof(index));
        GatherOp.CheckRange(index, x.shape[d], "IndexSelect");
        var shape = (int[])x.shape.Clone();
        shape[d] = index.Numel;
        var y = Tensor.Uninitialized(x.Backend, shape);
        x.Backend.IndexSelect(x, d, index, y);
        if (GradMode.ShouldRecord(x)) y.gradFn = new IndexSelectOp(x, d, index);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var dx = Tensor.ZerosLike(Inputs[0]);
        dx.Backend.IndexAdd(g, dim, index, dx);
        grads[0] = dx;
    }
}
