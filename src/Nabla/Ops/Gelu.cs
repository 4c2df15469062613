using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>
/// y = x·Φ(x) = ½x(1 + erf(x/√2)), ∂y/∂x = Φ(x) + x·φ(x); or the tanh approximation
/// ½x(1 + tanh(√(2/π)(x + 0.044715x³))) and its exact derivative (torch GELU(approximate='tanh')).
/// </summary>
internal sealed class GeluOp(Tensor x, Tensor y, bool tanh) : UnaryNode(x, y)
{
    public override string Name => tanh ? "GeluTanh" : "Gelu";

    public static Tensor Forward(Tensor x, bool tanh) => tanh
        ? Run(UnaryOp.GeluTanh, x, static (x, y) => new GeluOp(x, y, true))
        : Run(UnaryOp.Gelu, x, static (x, y) => new GeluOp(x, y, false));

    protected internal override void Backward(Tensor g, Tensor?[] grads) =>
        grads[0] = OpHelpers.Binary(tanh ? BinaryOp.GeluTanhGrad : BinaryOp.GeluGrad, g, X, Name);
}
