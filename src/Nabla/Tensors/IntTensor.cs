namespace Nabla;

/// <summary>
/// Integers with a shape: class labels, indices for gather and index-select, argmax results. Contiguous,
/// row-major, on the host. Not differentiable: it is the home of discrete values, never floats in disguise.
/// </summary>
public sealed class IntTensor
{
    private readonly int[] _shape;

    /// <summary>The values, row-major.</summary>
    public int[] Data { get; }

    /// <summary>The sizes of each dimension.</summary>
    public IReadOnlyList<int> Shape => _shape;

    internal int[] ShapeArray => _shape;

    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements.</summary>
    public int Numel => Data.Length;

    /// <summary>Wraps values with a shape (no copy).</summary>
    /// <exception cref="ArgumentException">the shape's element count differs from data's length.</exception>
    public IntTensor(int[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        int n = Shapes.Numel(shape);
        if (n != data.Length)
            throw new ArgumentException($"IntTensor: shape {Shapes.Format(shape)} holds {n} values but data has {data.Length}.", nameof(shape));
        Data = data;
        _shape = (int[])shape.Clone();
    }

    /// <summary>A 1-D tensor of the values (copied).</summary>
    public static IntTensor FromArray(ReadOnlySpan<int> values) => new(values.ToArray(), values.Length);

    /// <summary>A zero-filled tensor.</summary>
    public static IntTensor Zeros(params int[] shape) => new(new int[Shapes.Numel(shape)], shape);

    /// <summary>0, 1, …, n−1.</summary>
    public static IntTensor Arange(int n)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "IntTensor.Arange: n must be non-negative.");
        var d = new int[n];
        for (int i = 0; i < n; i++) d[i] = i;
        return new IntTensor(d, n);
    }

    /// <summary>Element at a multi-index.</summary>
    public int this[params int[] index]
    {
        get
        {
            if (index.Length != _shape.Length)
                throw new ArgumentException($"IntTensor: index has {index.Length} coordinates for shape {Shapes.Format(_shape)}.", nameof(index));
            int flat = 0;
            for (int i = 0; i < index.Length; i++)
            {
                if ((uint)index[i] >= (uint)_shape[i])
                    throw new IndexOutOfRangeException($"IntTensor: index {index[i]} is out of range for dimension {i} of size {_shape[i]}.");
                flat = flat * _shape[i] + index[i];
            }
            return Data[flat];
        }
    }

    /// <summary>The same values with another shape (no copy); one size may be −1, inferred.</summary>
    public IntTensor Reshape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var s = (int[])shape.Clone();
        int infer = Array.IndexOf(s, -1);
        if (infer >= 0)
        {
            int known = 1;
            for (int i = 0; i < s.Length; i++) if (i != infer) known *= s[i];
            if (known <= 0 || Data.Length % known != 0)
                throw new ArgumentException($"IntTensor.Reshape: cannot view {Data.Length} values as {Shapes.Format(shape)}.", nameof(shape));
            s[infer] = Data.Length / known;
        }
        return new(Data, s);
    }

    /// <summary>A copy of the values.</summary>
    public int[] ToArray() => (int[])Data.Clone();

    /// <summary>Values as floats (e.g. for regression targets); an explicit conversion, never implicit.</summary>
    public Tensor ToFloat() => Tensor.FromArray(Array.ConvertAll(Data, v => (float)v), _shape);

    /// <inheritdoc/>
    public override string ToString() =>
        $"IntTensor{Shapes.Format(_shape)} [{string.Join(", ", Data.Take(16))}{(Data.Length > 16 ? ", …" : "")}]";
}
