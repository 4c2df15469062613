using Nabla.Autograd;

namespace Nabla.Ops;

/// <summary>A contiguous copy of x (Clone, or Contiguous of a strided view). ∂x = g.</summary>
internal sealed class CopyOp(Tensor x, string name) : Node(x)
{
    public override string Name => name;

    public static Tensor Forward(Tensor x, string name)
    {
        var y = Tensor.Uninitialized(x.Backend, (int[])x.shape.Clone());
        x.Backend.Copy(x, y);
        if (GradMode.ShouldRecord(x)) y.gradFn = new CopyOp(x, name);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads) => grads[0] = g;
}
