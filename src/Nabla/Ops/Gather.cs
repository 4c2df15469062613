using Nabla.Autograd;

namespace Nabla.Ops;

/// <summary>
/// y[…, j, …] = x[…, index[…, j, …], …] along dim (torch.gather); index has x's rank and x's sizes outside dim.
/// The cross-entropy pick: x (N, C), index (N, 1) of class labels. ∂x = g scattered back, repeats added.
/// </summary>
internal sealed class GatherOp(Tensor x, int dim, IntTensor index) : Node(x)
{
    public override string Name => "Gather";

    public static Tensor Forward(Tensor x, int dim, IntTensor index)
    {
        ArgumentNullException.ThrowIfNull(index);
        int d = Shapes.NormalizeDim(dim, x.Rank, "Gather");
        bool ok = index.Rank == x.Rank;
        for (int k = 0; ok && k < x.Rank; k++) ok = k == d || index.ShapeArray[k] == x.shape[k];
        if (!ok)
            throw new ArgumentException(
                $"Gather: index {Shapes.Format(index.ShapeArray)} must have the rank of x {Shapes.Format(x.shape)} and its sizes outside dim {d}.", nameof(index));
        CheckRange(index, x.shape[d], "Gather");
        var y = Tensor.Uninitialized(x.Backend, (int[])index.ShapeArray.Clone());
        x.Backend.Gather(x, d, index, y);
        if (GradMode.ShouldRecord(x)) y.gradFn = new GatherOp(x, d, index);
        return y;
    }

    internal static void CheckRange(IntTensor index, int size, string op)
    {
        foreach (int v in index.Data)
            if ((uint)v >= (uint)size)
                throw new ArgumentOutOfRangeException(nameof(index), v, $"{op}: index {v} is out of range for a dim of size {size} (expected 0..{size - 1}).");
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var dx = Tensor.ZerosLike(Inputs[0]);
        dx.Backend.ScatterAdd(g, dim, index, dx);
        grads[0] = dx;
    }
}
