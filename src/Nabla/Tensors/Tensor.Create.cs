using Nabla.Backends;

namespace Nabla;

public sealed partial class Tensor
{
    internal static IBackend DefaultBackend => CpuBackend.Instance;

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(params int[] shape) => Empty(DefaultBackend, CheckShape(shape, "Zeros"));

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(shape, 1f);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(int[] shape, float value)
    {
        var t = Empty(DefaultBackend, CheckShape(shape, "Full"));
        if (value != 0) t.Backend.Fill(t, value);
        return t;
    }

    /// <summary>A rank-0 tensor holding one value.</summary>
    public static Tensor Scalar(float value) => FromArray([value], []);

    /// <summary>Zeros of another tensor's shape, on its device.</summary>
    public static Tensor ZerosLike(Tensor t) => t.EmptyLike();

    /// <summary>Ones of another tensor's shape, on its device.</summary>
    public static Tensor OnesLike(Tensor t)
    {
        var r = t.EmptyLike();
        r.Backend.Fill(r, 1f);
        return r;
    }

    /// <summary>A copy of host values with a shape; with no shape given, a 1-D tensor.</summary>
    /// <exception cref="ArgumentException">the shape's element count differs from the number of values.</exception>
    public static Tensor FromArray(ReadOnlySpan<float> values, params int[] shape)
    {
        int[] s = shape.Length == 0 && values.Length != 1 ? [values.Length] : CheckShape(shape, "FromArray");
        if (Shapes.Numel(s) != values.Length)
            throw new ArgumentException($"FromArray: shape {Shapes.Format(s)} holds {Shapes.Numel(s)} values but {values.Length} were given.", nameof(shape));
        return new Tensor(DefaultBackend.FromHost(values), s);
    }

    /// <summary>A copy of a rectangular 2-D array, shape (rows, columns).</summary>
    public static Tensor FromArray(float[,] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        int r = values.GetLength(0), c = values.GetLength(1);
        var flat = new float[r * c];
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++)
                flat[i * c + j] = values[i, j];
        return FromArray(flat, r, c);
    }

    /// <summary>start, start+step, … up to but excluding end (torch.arange).</summary>
    /// <exception cref="ArgumentException">step is zero or has the wrong sign.</exception>
    public static Tensor Arange(float start, float end, float step = 1f)
    {
        if (step == 0 || float.IsNaN(step)) throw new ArgumentException($"Arange: step must be non-zero, got {step}.", nameof(step));
        if ((end - start) / step < 0)
            throw new ArgumentException($"Arange: step {step} moves away from end ({start} → {end}).", nameof(step));
        int n = (int)Math.Ceiling((end - (double)start) / step);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(start + (double)i * step);
        return FromArray(v, n);
    }

    /// <summary>0, 1, …, n−1 as floats.</summary>
    public static Tensor Arange(int n) => Arange(0, n);

    /// <summary>Uniform samples in [low, high) from a generator (torch.empty(shape).uniform_(low, high)).</summary>
    public static Tensor Uniform(int[] shape, float low, float high, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (!(low <= high)) throw new ArgumentException($"Uniform: low {low} must not exceed high {high}.", nameof(low));
        var t = Uninitialized(DefaultBackend, (int[])CheckShape(shape, "Uniform").Clone());
        t.Backend.Random(t, RandomKind.Uniform, low, high, generator);   // drawn when the launch runs (a captured step draws anew)
        return t;
    }

    /// <summary>Normal samples N(mean, std²) from a generator.</summary>
    public static Tensor Normal(int[] shape, float mean, float std, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (!(std >= 0)) throw new ArgumentException($"Normal: std must be non-negative, got {std}.", nameof(std));
        var t = Uninitialized(DefaultBackend, (int[])CheckShape(shape, "Normal").Clone());
        t.Backend.Random(t, RandomKind.Normal, mean, std, generator);
        return t;
    }

    /// <summary>A dropout mask: <paramref name="keptValue"/> with probability 1 − p, else 0, one draw per element (drawn when its launch runs).</summary>
    internal static Tensor Bernoulli(int[] shape, float p, float keptValue, Generator generator)
    {
        var t = Uninitialized(DefaultBackend, shape);
        t.Backend.Random(t, RandomKind.Bernoulli, p, keptValue, generator);
        return t;
    }

    /// <summary>Uniform samples in [0, 1) (torch.rand) from a generator.</summary>
    public static Tensor Rand(int[] shape, Generator generator) => Uniform(shape, 0f, 1f, generator);

    /// <summary>Standard normal samples (torch.randn) from a generator.</summary>
    public static Tensor Randn(int[] shape, Generator generator) => Normal(shape, 0f, 1f, generator);

    /// <summary>Uniform samples in [0, 1) from a seed.</summary>
    public static Tensor Rand(int[] shape, int seed) => Rand(shape, new Generator(seed));

    /// <summary>Standard normal samples from a seed.</summary>
    public static Tensor Randn(int[] shape, int seed) => Randn(shape, new Generator(seed));

    private static int[] CheckShape(int[] shape, string op)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (int d in shape)
            if (d < 0) throw new ArgumentException($"{op}: shape {Shapes.Format(shape)} has a negative size.", nameof(shape));
        Shapes.Numel(shape);
        return (int[])shape.Clone();
    }
}
