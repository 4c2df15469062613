using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = tanh x. ∂y/∂x = 1 − y², from the saved output.</summary>
internal sealed class TanhOp(Tensor x, Tensor y) : Node(x)
{
    private Tensor? _y = y;

    public override string Name => "Tanh";

    public static Tensor Forward(Tensor x)
    {
        var y = OpHelpers.Unary(UnaryOp.Tanh, x, 0, 0);
        if (GradMode.ShouldRecord(x)) y.gradFn = new TanhOp(x, y);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var y = _y!;
        grads[0] = OpHelpers.Binary(BinaryOp.TanhGrad, g, y, Name);
    }

    protected override void ReleaseSaved() => _y = null;
}
