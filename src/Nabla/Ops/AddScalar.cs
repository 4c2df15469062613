using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = x + c for a scalar c. ∂y/∂x = 1.</summary>
internal sealed class AddScalarOp(Tensor x, Tensor y) : UnaryNode(x, y)
{
    public override string Name => "AddScalar";

    public static Tensor Forward(Tensor x, float c) => Run(UnaryOp.AddScalar, x, c, 0, static (x, y) => new AddScalarOp(x, y));

    protected internal override void Backward(Tensor g, Tensor?[] grads) => grads[0] = g;
}
