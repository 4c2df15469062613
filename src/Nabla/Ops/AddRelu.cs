using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>
/// y = max(a + b, 0) for a and b of one shape (a residual block's addition and the ReLU after it) as one node: one
/// pass over memory and one tensor instead of two. ∂L/∂a = ∂L/∂b = g where y &gt; 0, else 0 (ReLU's gradient: 0 at 0,
/// as PyTorch). The values and gradients are the bits of an add followed by a ReLU.
/// </summary>
internal sealed class AddReluOp(Tensor a, Tensor b, Tensor y) : Node(a, b)
{
    private Tensor? _y = y;

    public override string Name => "AddRelu";

    public static Tensor Forward(Tensor a, Tensor b)
    {
        if (!Shapes.Equal(a.shape, b.shape))
            throw new ArgumentException($"AddRelu: a {Shapes.Format(a.shape)} and b {Shapes.Format(b.shape)} must have one shape.", nameof(b));
        var y = OpHelpers.Binary(BinaryOp.AddRelu, a, b, "AddRelu");
        if (GradMode.ShouldRecord(a, b)) y.gradFn = new AddReluOp(a, b, y);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var y = _y ?? throw new InvalidOperationException("AddRelu: the saved output was released.");
        // One masked gradient serves both inputs, as the add's backward hands its one gradient to both.
        var masked = OpHelpers.Binary(BinaryOp.ReluGrad, g, y, Name);
        if (NeedsGrad(0)) grads[0] = masked;
        if (NeedsGrad(1)) grads[1] = masked;
    }

    protected override void ReleaseSaved() => _y = null;
}
