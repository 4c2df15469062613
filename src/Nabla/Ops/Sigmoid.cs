using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = σ(x) = 1/(1 + e⁻ˣ). ∂y/∂x = y(1 − y), from the saved output.</summary>
internal sealed class SigmoidOp(Tensor x, Tensor y) : Node(x)
{
    private Tensor? _y = y;

    public override string Name => "Sigmoid";

    public static Tensor Forward(Tensor x)
    {
        var y = OpHelpers.Unary(UnaryOp.Sigmoid, x, 0, 0);
        if (GradMode.ShouldRecord(x)) y.gradFn = new SigmoidOp(x, y);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var y = _y!;
        grads[0] = OpHelpers.Binary(BinaryOp.SigmoidGrad, g, y, Name);
    }

    protected override void ReleaseSaved() => _y = null;
}
