using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = ln x. ∂y/∂x = 1/x.</summary>
internal sealed class LogOp(Tensor x, Tensor y) : UnaryNode(x, y)
{
    public override string Name => "Log";

    public static Tensor Forward(Tensor x) => Run(UnaryOp.Log, x, static (x, y) => new LogOp(x, y));

    protected internal override void Backward(Tensor g, Tensor?[] grads) => grads[0] = g / X;
}
