using Nabla.Autograd;

namespace Nabla.Ops;

/// <summary>Joins tensors along an existing dim (torch.cat). ∂xᵢ = the matching slice of g.</summary>
internal sealed class ConcatOp(Tensor[] xs, int dim) : Node(xs)
{
    public override string Name => "Concat";

    public static Tensor Forward(Tensor[] xs, int dim)
    {
        ArgumentNullException.ThrowIfNull(xs);
        if (xs.Length == 0) throw new ArgumentException("Concat: needs at least one tensor.", nameof(xs));
        var first = xs[0];
        if (first.Rank == 0) throw new ArgumentException("Concat: zero-dimensional tensors cannot be concatenated; use Stack.", nameof(xs));
        int d = Shapes.NormalizeDim(dim, first.Rank, "Concat");
        int total = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            var t = xs[i];
            OpHelpers.SameDevice("Concat", first, t);
            bool ok = t.Rank == first.Rank;
            for (int k = 0; ok && k < t.Rank; k++) ok = k == d || t.shape[k] == first.shape[k];
            if (!ok)
                throw new ArgumentException(
                    $"Concat: tensors[{i}] {Shapes.Format(t.shape)} does not match tensors[0] {Shapes.Format(first.shape)} outside dim {d}.", nameof(xs));
            total += t.shape[d];
        }
        var shape = (int[])first.shape.Clone();
        shape[d] = total;
        var y = Tensor.Uninitialized(first.Backend, shape);
        int at = 0;
        foreach (var t in xs)
        {
            y.Backend.Copy(t, SliceOp.Forward(y, d, at, at + t.shape[d], 1));
            at += t.shape[d];
        }
        if (GradMode.ShouldRecord(xs)) y.gradFn = new ConcatOp((Tensor[])xs.Clone(), d);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        int at = 0;
        for (int i = 0; i < Inputs.Count; i++)
        {
            int len = Inputs[i].shape[dim];
            if (NeedsGrad(i)) grads[i] = SliceOp.Forward(g, dim, at, at + len, 1);
            at += len;
        }
    }
}
