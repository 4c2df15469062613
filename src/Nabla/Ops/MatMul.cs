using Nabla.Autograd;

namespace Nabla.Ops;

/// <summary>
/// Batched matrix product y = a·b for a (…, m, k) and b (…, k, n), batch dims broadcast.
/// ∂L/∂a = g·bᵀ, ∂L/∂b = aᵀ·g (summed over broadcast batch dims). Transposed operands are passed to the
/// GEMM as views, never copied.
/// </summary>
internal sealed class MatMulOp(Tensor a, Tensor b) : Node(a, b)
{
    public override string Name => "MatMul";

    public static Tensor Forward(Tensor a, Tensor b)
    {
        OpHelpers.SameDevice("MatMul", a, b);
        if (a.Rank < 2 || b.Rank < 2)
            throw new ArgumentException($"MatMul: a {Shapes.Format(a.shape)} and b {Shapes.Format(b.shape)} must both have at least 2 dims here.");
        int m = a.shape[^2], k = a.shape[^1], k2 = b.shape[^2], n = b.shape[^1];
        if (k != k2)
            throw new ArgumentException(
                $"MatMul: a {Shapes.Format(a.shape)} and b {Shapes.Format(b.shape)} do not chain: a's last dim ({k}) must equal b's second-to-last dim ({k2}).");
        var batch = Shapes.Broadcast(a.shape.AsSpan(0, a.Rank - 2), b.shape.AsSpan(0, b.Rank - 2), "MatMul (batch dims)");
        int[] yShape = [.. batch, m, n];
        var y = Tensor.Uninitialized(a.Backend, yShape);
        a.Backend.MatMul(ExpandBatch(a, batch), ExpandBatch(b, batch), y, accumulate: false);
        if (GradMode.ShouldRecord(a, b)) y.gradFn = new MatMulOp(a, b);
        return y;
    }

    // A broadcast view of t with the given batch dims (stride 0 where t repeats), keeping its matrix dims.
    private static Tensor ExpandBatch(Tensor t, int[] batch)
    {
        int rank = batch.Length + 2;
        var shape = new int[rank];
        var strides = new int[rank];
        int lead = rank - t.Rank;
        for (int d = 0; d < rank; d++)
        {
            int td = d - lead;
            if (d >= rank - 2) { shape[d] = t.shape[td]; strides[d] = t.strides[td]; }
            else
            {
                shape[d] = batch[d];
                strides[d] = td < 0 || (t.shape[td] == 1 && batch[d] != 1) ? 0 : t.strides[td];
            }
        }
        return t.View(shape, strides, t.offset);
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var a = Inputs[0];
        var b = Inputs[1];
        if (NeedsGrad(0)) grads[0] = OpHelpers.SumToShape(Forward(g, b.Transpose(-1, -2)), a.shape);
        if (NeedsGrad(1)) grads[1] = OpHelpers.SumToShape(Forward(a.Transpose(-1, -2), g), b.shape);
    }
}
