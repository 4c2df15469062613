using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = max(x, 0). ∂y/∂x = 1 where y &gt; 0, else 0 (0 at x = 0, as PyTorch).</summary>
internal sealed class ReluOp(Tensor x, Tensor y) : Node(x)
{
    private Tensor? _y = y;

    public override string Name => "Relu";

    public static Tensor Forward(Tensor x)
    {
        var y = OpHelpers.Unary(UnaryOp.Relu, x, 0, 0);
        if (GradMode.ShouldRecord(x)) y.gradFn = new ReluOp(x, y);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var y = _y!;
        grads[0] = OpHelpers.Binary(BinaryOp.ReluGrad, g, y, Name);
    }

    protected override void ReleaseSaved() => _y = null;
}
