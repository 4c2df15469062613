namespace Nabla;

/// <summary>
/// Fully connected layer y = xWᵀ + b (torch.nn.Linear). Input (…, in_features), output (…, out_features).
/// Weight (out_features, in_features) and bias (out_features) start as PyTorch's: Kaiming-uniform with a = √5,
/// i.e. U(±1/√in_features), and bias U(±1/√in_features).
/// </summary>
public sealed class Linear : Module
{
    /// <summary>W, shape (out_features, in_features).</summary>
    public Tensor Weight { get; }

    /// <summary>b, shape (out_features), or null without bias.</summary>
    public Tensor? Bias { get; }

    /// <summary>Input size.</summary>
    public int InFeatures { get; }

    /// <summary>Output size.</summary>
    public int OutFeatures { get; }

    /// <summary>Creates the layer and initialises it from <paramref name="generator"/>.</summary>
    public Linear(int inFeatures, int outFeatures, Generator generator, bool bias = true)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (inFeatures < 0) throw new ArgumentOutOfRangeException(nameof(inFeatures), inFeatures, "Linear: in_features must be non-negative.");
        if (outFeatures < 0) throw new ArgumentOutOfRangeException(nameof(outFeatures), outFeatures, "Linear: out_features must be non-negative.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = RegisterParameter("weight", Init.KaimingUniform(Tensor.Zeros(outFeatures, inFeatures), generator, a: MathF.Sqrt(5f)));
        if (bias)
        {
            float bound = inFeatures > 0 ? 1f / MathF.Sqrt(inFeatures) : 0f;
            Bias = RegisterParameter("bias", Init.Uniform(Tensor.Zeros(outFeatures), -bound, bound, generator));
        }
    }

    /// <summary>Creates the layer from a seed.</summary>
    public Linear(int inFeatures, int outFeatures, int seed, bool bias = true) : this(inFeatures, outFeatures, new Generator(seed), bias) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Linear(input, Weight, Bias);

    /// <inheritdoc/>
    protected override string ExtraRepr => $"in_features={InFeatures}, out_features={OutFeatures}, bias={(Bias is not null ? "True" : "False")}";
}
