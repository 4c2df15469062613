using Nabla.Autograd;

namespace Nabla.Tests;

/// <summary>
/// End to end: a two-layer MLP written with raw ops (matmul, bias add, ReLU, log-softmax, gather) trained by
/// plain gradient descent on two interleaved moons must separate them completely.
/// </summary>
public class MlpTrainingTests
{
    // scikit-learn's make_moons: two half circles, the second shifted and flipped, plus Gaussian noise.
    static (Tensor x, IntTensor y) Moons(int n, float noise, int seed)
    {
        var g = new Generator(seed);
        var x = new float[2 * n];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            int c = i % 2;
            double t = Math.PI * g.NextDouble();
            double px = c == 0 ? Math.Cos(t) : 1 - Math.Cos(t);
            double py = c == 0 ? Math.Sin(t) : 0.5 - Math.Sin(t);
            x[2 * i] = (float)(px + noise * g.NextNormal());
            x[2 * i + 1] = (float)(py + noise * g.NextNormal());
            y[i] = c;
        }
        return (Tensor.FromArray(x, n, 2), IntTensor.FromArray(y));
    }

    [Fact]
    public void Raw_op_mlp_reaches_full_training_accuracy_on_two_moons()
    {
        var (x, y) = Moons(200, 0.1f, seed: 0);
        var g = new Generator(1);
        int hidden = 32;
        // PyTorch's Linear init: U(±1/√fan_in).
        var w1 = Tensor.Uniform([2, hidden], -1 / MathF.Sqrt(2), 1 / MathF.Sqrt(2), g).RequiresGrad_();
        var b1 = Tensor.Uniform([hidden], -1 / MathF.Sqrt(2), 1 / MathF.Sqrt(2), g).RequiresGrad_();
        var w2 = Tensor.Uniform([hidden, 2], -1 / MathF.Sqrt(hidden), 1 / MathF.Sqrt(hidden), g).RequiresGrad_();
        var b2 = Tensor.Uniform([2], -1 / MathF.Sqrt(hidden), 1 / MathF.Sqrt(hidden), g).RequiresGrad_();
        Tensor[] parameters = [w1, b1, w2, b2];
        var targets = y.Reshape(200, 1);

        Tensor Logits(Tensor input) => (input.MatMul(w1) + b1).Relu().MatMul(w2) + b2;

        float firstLoss = 0, loss = 0;
        for (int step = 0; step < 1500; step++)
        {
            var nll = -Logits(x).LogSoftmax(1).Gather(1, targets).Mean();
            loss = nll.Item();
            if (step == 0) firstLoss = loss;
            foreach (var p in parameters) p.ZeroGrad();
            nll.Backward();
            using (GradMode.NoGrad())
                foreach (var p in parameters) p.AddInPlace(p.Grad!, -0.5f);
        }

        IntTensor predicted;
        using (GradMode.NoGrad()) predicted = Logits(x).ArgMax(1);
        int correct = predicted.Data.Zip(y.Data).Count(p => p.First == p.Second);
        Assert.True(loss < firstLoss / 10, $"loss went from {firstLoss} to {loss}");
        Assert.Equal(200, correct);
    }
}
