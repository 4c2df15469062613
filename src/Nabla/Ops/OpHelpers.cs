using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>Shared plumbing for primitive ops: argument checks, output allocation, broadcast reduction.</summary>
internal static class OpHelpers
{
    public static void SameDevice(string op, Tensor a, Tensor b)
    {
        if (a.Backend != b.Backend)
            throw new ArgumentException($"{op}: a is on {a.Device} but b is on {b.Device}; move them to one device first.");
    }

    public static Tensor Unary(UnaryOp op, Tensor x, float p0 = 0, float p1 = 0)
    {
        var y = Tensor.Uninitialized(x.Backend, (int[])x.shape.Clone());
        x.Backend.Unary(op, x, y, p0, p1);
        return y;
    }

    public static Tensor Binary(BinaryOp op, Tensor a, Tensor b, string name, float p0 = 0, float p1 = 0)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        SameDevice(name, a, b);
        var shape = Shapes.Broadcast(a.shape, b.shape, name);
        var y = Tensor.Uninitialized(a.Backend, shape);
        a.Backend.Binary(op, a, b, y, p0, p1);
        return y;
    }

    /// <summary>Sums a broadcast gradient back to an input's shape (the backward of broadcasting).</summary>
    public static Tensor SumToShape(Tensor g, int[] shape)
    {
        if (Shapes.Equal(g.shape, shape)) return g;
        int lead = g.Rank - shape.Length;
        var dims = new List<int>();
        for (int d = 0; d < g.Rank; d++)
            if (d < lead || (shape[d - lead] == 1 && g.shape[d] != 1)) dims.Add(d);
        var s = dims.Count == 0 ? g : SumOp.Forward(g, dims.ToArray(), keepDim: true);
        return s.Reshape(shape);
    }
}
