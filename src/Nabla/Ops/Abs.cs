using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = |x|. ∂y/∂x = sign(x), 0 at 0 (as PyTorch).</summary>
internal sealed class AbsOp(Tensor x, Tensor y) : Node(x)
{
    private Tensor? _y = y;

    public override string Name => "Abs";

    public static Tensor Forward(Tensor x)
    {
        var y = OpHelpers.Unary(UnaryOp.Abs, x, 0, 0);
        if (GradMode.ShouldRecord(x)) y.gradFn = new AbsOp(x, y);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var y = _y!;
        grads[0] = g * OpHelpers.Unary(UnaryOp.Sign, x);
    }

    protected override void ReleaseSaved() => _y = null;
}
