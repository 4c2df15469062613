using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = Σ x over the given dims (keepdim or not). ∂y/∂x = 1: the gradient is broadcast back.</summary>
internal sealed class SumOp(Tensor x, int[] dims, bool keepDim) : Node(x)
{
    public override string Name => "Sum";

    public static Tensor Forward(Tensor x, int[]? dims, bool keepDim)
    {
        var d = Shapes.NormalizeDims(dims, x.Rank, "Sum");
        var y = Tensor.Uninitialized(x.Backend, KeptShape(x.shape, d));
        x.Backend.Reduce(ReduceOp.Sum, x, d, y);
        var result = keepDim ? y : y.View(DroppedShape(x.shape, d), Shapes.ContiguousStrides(DroppedShape(x.shape, d)), 0);
        if (GradMode.ShouldRecord(x)) result.gradFn = new SumOp(x, d, keepDim);
        return result;
    }

    internal static int[] KeptShape(int[] shape, int[] dims)
    {
        var s = (int[])shape.Clone();
        foreach (int d in dims) s[d] = 1;
        return s;
    }

    internal static int[] DroppedShape(int[] shape, int[] dims)
    {
        var s = new List<int>();
        for (int d = 0; d < shape.Length; d++) if (Array.IndexOf(dims, d) < 0) s.Add(shape[d]);
        return s.ToArray();
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var kept = keepDim ? g : g.Reshape(KeptShape(x.shape, dims));
        grads[0] = kept.Expand(x.shape);
    }
}
