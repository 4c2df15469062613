using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = √x. ∂y/∂x = 1/(2y).</summary>
internal sealed class SqrtOp(Tensor x, Tensor y) : Node(x)
{
    private Tensor? _y = y;

    public override string Name => "Sqrt";

    public static Tensor Forward(Tensor x)
    {
        var y = OpHelpers.Unary(UnaryOp.Sqrt, x, 0, 0);
        if (GradMode.ShouldRecord(x)) y.gradFn = new SqrtOp(x, y);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var y = _y!;
        grads[0] = g / (y * 2f);
    }

    protected override void ReleaseSaved() => _y = null;
}
