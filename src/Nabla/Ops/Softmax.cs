using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla.Ops;

/// <summary>
/// Softmax yᵢ = e^xᵢ / Σⱼ e^xⱼ or log-softmax yᵢ = xᵢ − ln Σⱼ e^xⱼ along one dim, by a fused stable kernel.
/// Backward from the saved output: softmax ∂x = y ⊙ (g − Σ g⊙y), log-softmax ∂x = g − eʸ ⊙ Σ g.
/// </summary>
internal sealed class SoftmaxOp(Tensor x, Tensor y, int dim, bool log) : Node(x)
{
    private Tensor? _y = y;

    public override string Name => log ? "LogSoftmax" : "Softmax";

    public static Tensor Forward(Tensor x, int dim, bool log)
    {
        int d = Shapes.NormalizeDim(dim, x.Rank, log ? "LogSoftmax" : "Softmax");
        if (x.Rank == 0) return Forward(x.Reshape(1), 0, log).Reshape();
        var y = Tensor.Uninitialized(x.Backend, (int[])x.shape.Clone());
        x.Backend.Softmax(x, d, log, y);
        return Finish(x, y, d, log);
    }

    private static Tensor Finish(Tensor x, Tensor y, int d, bool log)
    {
        if (GradMode.ShouldRecord(x)) y.gradFn = new SoftmaxOp(x, y, d, log);
        return y;
    }

    protected internal override void Backward(Tensor g, Tensor?[] grads)
    {
        var y = _y!;
        grads[0] = log
            ? g - y.Exp() * g.Sum([dim], keepDim: true)
            : y * (g - (g * y).Sum([dim], keepDim: true));
    }

    protected override void ReleaseSaved() => _y = null;
}
