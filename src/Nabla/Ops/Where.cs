using Nabla.Autograd;

namespace Nabla.Ops;

/// <summary>
/// y = cond ? a : b elementwise, all three broadcast; cond is a mask (non-zero is true) and gets no gradient.
/// ∂a = g where cond, ∂b = g where not.
/// </summary>
internal sealed class WhereOp(Tensor cond, Tensor a, Tensor b) : Node(a, b)
{
    private Tensor? _cond = cond;

    public override string Name => "Where";

    public static Tensor Forward(Tensor cond, Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(cond);
        OpHelpers.SameDevice("Where", a, b);
        OpHelpers.SameDevice("Where", cond, a);
        var ab = Shapes.Broadcast(a.shape, b.shape, "Where", "a", "b");
        var shape = Shapes.Broadcast(cond.shape, ab, "Where", "condition", "broadcast(a, b)");
        var y = Tensor.Uninitialized(a.Backend, shape);
        a.Backend.Where(cond, a, b, y);
        if (GradMode.ShouldRecord(a, b)) y.gradFn = new WhereOp(cond, a, b);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var zero = Tensor.Scalar(0f);
        if (NeedsGrad(0)) grads[0] = OpHelpers.SumToShape(Forward(_cond!, g, zero), Inputs[0].shape);
        if (NeedsGrad(1)) grads[1] = OpHelpers.SumToShape(Forward(_cond!, zero, g), Inputs[1].shape);
    }

    protected override void ReleaseSaved() => _cond = null;
}
