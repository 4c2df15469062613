using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>
/// Base of the elementwise unary primitives: runs the kernel, records the node, and keeps the input
/// (<see cref="X"/>) and output (<see cref="Y"/>) for the backward formula.
/// </summary>
internal abstract class UnaryNode(Tensor x, Tensor y) : Node(x)
{
    private Tensor? _y = y;

    protected Tensor X => Inputs[0];

    protected Tensor Y => _y ?? throw new InvalidOperationException($"{Name}: the saved output was released.");

    protected static Tensor Run(UnaryOp op, Tensor x, float p0, float p1, Func<Tensor, Tensor, UnaryNode> record)
    {
        ArgumentNullException.ThrowIfNull(x);
        var y = OpHelpers.Unary(op, x, p0, p1);
        if (GradMode.ShouldRecord(x)) y.gradFn = record(x, y);
        return y;
    }

    protected static Tensor Run(UnaryOp op, Tensor x, Func<Tensor, Tensor, UnaryNode> record) => Run(op, x, 0, 0, record);

    protected override void ReleaseSaved() => _y = null;
}
