using System.Text;

namespace Nabla;

/// <summary>Shape arithmetic shared by tensors, ops and kernels: sizes, strides, broadcasting, dims.</summary>
public static class Shapes
{
    /// <summary>Formats a shape the way messages name it: <c>(2, 3)</c>, <c>()</c> for a scalar.</summary>
    public static string Format(ReadOnlySpan<int> shape)
    {
        var sb = new StringBuilder("(");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(shape[i]);
        }
        if (shape.Length == 1) sb.Append(',');
        return sb.Append(')').ToString();
    }

    /// <summary>Number of elements of a shape; 1 for the empty shape (a scalar).</summary>
    /// <exception cref="ArgumentException">a size is negative or the product overflows int.</exception>
    public static int Numel(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"shape {Format(shape)} has a negative size.", nameof(shape));
            n *= d;
            if (n > int.MaxValue) throw new ArgumentException($"shape {Format(shape)} has more than {int.MaxValue} elements.", nameof(shape));
        }
        return (int)n;
    }

    /// <summary>Row-major (C order) strides of a shape.</summary>
    public static int[] ContiguousStrides(ReadOnlySpan<int> shape)
    {
        var strides = new int[shape.Length];
        int s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= Math.Max(shape[i], 1);
        }
        return strides;
    }

    /// <summary>
    /// The numpy/PyTorch broadcast of two shapes: aligned from the right, each pair of sizes equal or one of them 1.
    /// </summary>
    /// <exception cref="ArgumentException">the shapes do not broadcast; the message names both arguments.</exception>
    public static int[] Broadcast(ReadOnlySpan<int> a, ReadOnlySpan<int> b, string op, string nameA = "a", string nameB = "b")
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException(
                    $"{op}: cannot broadcast {nameA} {Format(a)} with {nameB} {Format(b)}: size {da} vs {db} at dimension {i - rank} (sizes must be equal or one of them 1).");
            result[i] = da == 1 ? db : da;
        }
        return result;
    }

    /// <summary>Turns a possibly negative dim into 0..rank-1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">dim is outside [-rank, rank).</exception>
    public static int NormalizeDim(int dim, int rank, string op, string argName = "dim")
    {
        int r = Math.Max(rank, 1);
        if (dim < -r || dim >= r)
            throw new ArgumentOutOfRangeException(argName, dim, $"{op}: {argName} {dim} is out of range for a tensor of rank {rank} (expected {-r}..{r - 1}).");
        return dim < 0 ? dim + r : dim;
    }

    /// <summary>Normalises a list of dims (null or empty = all), sorted, rejecting repeats.</summary>
    public static int[] NormalizeDims(int[]? dims, int rank, string op)
    {
        if (dims is null || dims.Length == 0) return Enumerable.Range(0, rank).ToArray();
        var result = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++) result[i] = NormalizeDim(dims[i], rank, op, "dims");
        Array.Sort(result);
        for (int i = 1; i < result.Length; i++)
            if (result[i] == result[i - 1])
                throw new ArgumentException($"{op}: dim {result[i]} appears more than once in dims [{string.Join(", ", dims)}].", nameof(dims));
        return result;
    }

    internal static bool Equal(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);
}
