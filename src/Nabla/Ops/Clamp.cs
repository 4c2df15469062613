using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>y = min(max(x, lo), hi). ∂y/∂x = 1 where lo ≤ x ≤ hi, else 0 (PyTorch passes the gradient at the bounds).</summary>
internal sealed class ClampOp(Tensor x, Tensor y, float lo, float hi) : Node(x)
{
    private Tensor? _y = y;

    public override string Name => "Clamp";

    public static Tensor Forward(Tensor x, float lo, float hi)
    {
        var y = OpHelpers.Unary(UnaryOp.Clamp, x, lo, hi);
        if (GradMode.ShouldRecord(x)) y.gradFn = new ClampOp(x, y, lo, hi);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var x = Inputs[0];
        var y = _y!;
        grads[0] = OpHelpers.Binary(BinaryOp.ClampGrad, g, x, Name, lo, hi);
    }

    protected override void ReleaseSaved() => _y = null;
}
