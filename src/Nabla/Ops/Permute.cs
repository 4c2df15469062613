using Nabla.Autograd;

namespace Nabla.Ops;

/// <summary>A view with the dims reordered: y.shape[i] = x.shape[dims[i]]. ∂x = g permuted by the inverse.</summary>
internal sealed class PermuteOp(Tensor x, int[] dims) : Node(x)
{
    public override string Name => "Permute";

    public static Tensor Forward(Tensor x, int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Length != x.Rank)
            throw new ArgumentException($"Permute: dims [{string.Join(", ", dims)}] must list each of the {x.Rank} dims of x {Shapes.Format(x.shape)} once.", nameof(dims));
        var d = new int[dims.Length];
        var seen = new bool[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            d[i] = Shapes.NormalizeDim(dims[i], x.Rank, "Permute", "dims");
            if (seen[d[i]]) throw new ArgumentException($"Permute: dim {d[i]} repeats in [{string.Join(", ", dims)}].", nameof(dims));
            seen[d[i]] = true;
        }
        var shape = new int[d.Length];
        var strides = new int[d.Length];
        for (int i = 0; i < d.Length; i++) { shape[i] = x.shape[d[i]]; strides[i] = x.strides[d[i]]; }
        var y = x.View(shape, strides, x.offset);
        if (GradMode.ShouldRecord(x)) y.gradFn = new PermuteOp(x, d);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var inverse = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++) inverse[dims[i]] = i;
        grads[0] = Forward(g, inverse);
    }
}
