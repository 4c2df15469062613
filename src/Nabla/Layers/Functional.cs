namespace Nabla;

/// <summary>Stateless layer functions, as torch.nn.functional; the modules call these.</summary>
public static partial class Functional
{
    /// <summary>y = xWᵀ + b for x (…, in), W (out, in), b (out). Wᵀ is a view: the GEMM reads W transposed.</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2)
            throw new ArgumentException($"Linear: weight {Shapes.Format(weight.shape)} must be (out_features, in_features).", nameof(weight));
        if (input.Rank == 0 || input.shape[^1] != weight.shape[1])
            throw new ArgumentException(
                $"Linear: input {Shapes.Format(input.shape)} must end in in_features = {weight.shape[1]} to match weight {Shapes.Format(weight.shape)}.", nameof(input));
        var y = input.MatMul(weight.T);
        return bias is null ? y : y + bias;
    }
}
