using System.Numerics.Tensors;
using Nabla.Backends;

namespace Nabla.Kernels;

/// <summary>
/// Reduction of a contiguous block viewed as (outer, r, inner) over its middle axis: rows with inner = 1 go to
/// <see cref="TensorPrimitives.Sum(ReadOnlySpan{float})"/>/Max, otherwise whole inner rows are combined with
/// SIMD adds (the bias-gradient shape: sum over the batch).
/// </summary>
public static class Reduce
{
    /// <summary>y[o, i] = reduce over j of x[o, j, i]; x is (outer·r·inner) contiguous, y is (outer·inner).</summary>
    /// <remarks>
    /// Large blocks split their outer rows over <see cref="Threads.Count"/> threads; each row is reduced by one thread
    /// in the same order, so the bits do not depend on the split.
    /// </remarks>
    public static unsafe void OuterInner(ReduceOp op, ReadOnlySpan<float> x, Span<float> y, int outer, int r, int inner)
    {
        if (r == 0)
        {
            // An empty sum is 0; an empty max has no value (PyTorch raises; the op layer rejects it first).
            y[..(outer * inner)].Fill(op == ReduceOp.Sum ? 0f : float.NegativeInfinity);
            return;
        }
        long work = (long)outer * r * inner;
        if (outer < 2 || work < ParallelFor.StreamingMinWork)
        {
            Rows(op, x, y, 0, outer, r, inner);
            return;
        }
        if (x.Length < work || y.Length < (long)outer * inner) throw new ArgumentException("Reduce.OuterInner: x or y is shorter than its shape.");
        fixed (float* px = x, py = y)
        {
            var state = (op, (nint)px, (nint)py, x.Length, y.Length, r, inner);
            ParallelFor.Run(outer, (long)r * inner, in state, static (in (ReduceOp Op, nint X, nint Y, int XL, int YL, int R, int Inner) s, int o0, int o1) =>
                Rows(s.Op, new ReadOnlySpan<float>((void*)s.X, s.XL), new Span<float>((void*)s.Y, s.YL), o0, o1, s.R, s.Inner));
        }
    }

    // Outer rows o0 ≤ o &lt; o1.
    private static void Rows(ReduceOp op, ReadOnlySpan<float> x, Span<float> y, int o0, int o1, int r, int inner)
    {
        if (inner == 1)
        {
            for (int o = o0; o < o1; o++)
            {
                var row = x.Slice(o * r, r);
                y[o] = op == ReduceOp.Sum ? TensorPrimitives.Sum(row) : MaxNaN(row);
            }
            return;
        }
        for (int o = o0; o < o1; o++)
        {
            var dst = y.Slice(o * inner, inner);
            x.Slice(o * r * inner, inner).CopyTo(dst);
            for (int j = 1; j < r; j++)
            {
                var src = x.Slice((o * r + j) * inner, inner);
                if (op == ReduceOp.Sum) TensorPrimitives.Add(dst, src, dst);
                else TensorPrimitives.Max(dst, src, dst);
            }
        }
    }

    // TensorPrimitives.Max returns NaN when any element is NaN, which is PyTorch's max semantics.
    private static float MaxNaN(ReadOnlySpan<float> row) => TensorPrimitives.Max(row);
}

/// <summary>The reference reduction: one output at a time, elements visited in order, summed in double.</summary>
public static class ReduceNaive
{
    /// <summary>Same contract as <see cref="Reduce.OuterInner"/>.</summary>
    public static void OuterInner(ReduceOp op, ReadOnlySpan<float> x, Span<float> y, int outer, int r, int inner)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double acc = op == ReduceOp.Sum ? 0.0 : double.NegativeInfinity;
                for (int j = 0; j < r; j++)
                {
                    float v = x[(o * r + j) * inner + i];
                    if (op == ReduceOp.Sum) acc += v;
                    else if (float.IsNaN(v) || v > acc) acc = v;
                    if (double.IsNaN(acc)) break;
                }
                y[o * inner + i] = (float)acc;
            }
    }
}
