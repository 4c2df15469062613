namespace Nabla;

/// <summary>
/// A lookup table of <see cref="NumEmbeddings"/> vectors of size <see cref="EmbeddingDim"/> (torch.nn.Embedding): for
/// class indices of any shape S it returns the rows W[i], shape S + (dim). The weight (num, dim) starts as N(0, 1), as
/// torch's; its gradient row i is the sum of the output gradients at every position that looked up i (IndexSelect's
/// backward).
/// </summary>
public sealed class Embedding : Module
{
    /// <summary>Creates the table, drawn from <paramref name="generator"/>.</summary>
    public Embedding(int numEmbeddings, int embeddingDim, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (numEmbeddings < 1) throw new ArgumentOutOfRangeException(nameof(numEmbeddings), numEmbeddings, "Embedding: the table needs at least one row.");
        if (embeddingDim < 1) throw new ArgumentOutOfRangeException(nameof(embeddingDim), embeddingDim, "Embedding: the vectors need at least one element.");
        NumEmbeddings = numEmbeddings;
        EmbeddingDim = embeddingDim;
        Weight = RegisterParameter("weight", Init.Normal(Tensor.Zeros(numEmbeddings, embeddingDim), 0f, 1f, generator));
    }

    /// <summary>(num, dim).</summary>
    public Tensor Weight { get; }
    /// <summary>Rows of the table.</summary>
    public int NumEmbeddings { get; }
    /// <summary>Size of each vector.</summary>
    public int EmbeddingDim { get; }

    /// <summary>The rows for <paramref name="indices"/> (any shape, values in [0, num)): shape indices.shape + (dim).</summary>
    public Tensor Forward(IntTensor indices) => Functional.Embedding(indices, Weight);

    /// <summary>
    /// The rows for a float tensor of whole-number indices (a Sequential passes tensors): each value must be an integer
    /// in [0, num). Reads the values on the host.
    /// </summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var values = input.ToArray();
        var indices = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (v != MathF.Floor(v) || v < 0 || v >= NumEmbeddings)
                throw new ArgumentException($"Embedding: input value {v} at {i} is not a row index in [0, {NumEmbeddings}).", nameof(input));
            indices[i] = (int)v;
        }
        return Forward(new IntTensor(indices, [.. input.shape]));
    }

    /// <inheritdoc/>
    protected override string ExtraRepr => $"{NumEmbeddings}, {EmbeddingDim}";
}

public static partial class Functional
{
    /// <summary>Rows of <paramref name="weight"/> (num, dim) at <paramref name="indices"/>: shape indices.shape + (dim) (torch.nn.functional.embedding).</summary>
    public static Tensor Embedding(IntTensor indices, Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2) throw new ArgumentException($"Embedding: weight {Shapes.Format(weight.shape)} must be (num_embeddings, embedding_dim).", nameof(weight));
        var flat = indices.Rank == 1 ? indices : indices.Reshape(indices.Numel);
        var rows = weight.IndexSelect(0, flat);
        return indices.Rank == 1 ? rows : rows.Reshape([.. indices.Shape, weight.shape[1]]);
    }
}
