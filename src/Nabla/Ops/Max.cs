using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>
/// y = max of x over the given dims (torch.amax). The gradient goes to the maximal elements, split evenly
/// among ties.
/// </summary>
internal sealed class MaxOp(Tensor x, Tensor yKept, int[] dims, bool keepDim) : Node(x)
{
    private Tensor? _yKept = yKept;

    public override string Name => "Max";

    public static Tensor Forward(Tensor x, int[]? dims, bool keepDim)
    {
        var d = Shapes.NormalizeDims(dims, x.Rank, "Max");
        foreach (int k in d)
            if (x.shape[k] == 0)
                throw new ArgumentException($"Max: cannot reduce over dim {k} of size 0 (shape {Shapes.Format(x.shape)}).", nameof(dims));
        var y = Tensor.Uninitialized(x.Backend, SumOp.KeptShape(x.shape, d));
        x.Backend.Reduce(ReduceOp.Max, x, d, y);
        var dropped = SumOp.DroppedShape(x.shape, d);
        var result = keepDim ? y : y.View(dropped, Shapes.ContiguousStrides(dropped), 0);
        if (GradMode.ShouldRecord(x)) result.gradFn = new MaxOp(x, y, d, keepDim);
        return result;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var kept = keepDim ? g : g.Reshape(SumOp.KeptShape(x.shape, dims));
        var mask = OpHelpers.Binary(BinaryOp.Equal, x, _yKept!, Name);
        var count = SumOp.Forward(mask, dims, keepDim: true);
        grads[0] = kept * mask / count;
    }

    protected override void ReleaseSaved() => _yKept = null;
}

