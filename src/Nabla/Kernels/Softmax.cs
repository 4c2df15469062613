using System.Numerics.Tensors;

namespace Nabla.Kernels;

/// <summary>
/// Softmax and log-softmax over contiguous rows, stable by subtracting the row maximum:
/// softmax(x)ᵢ = e^(xᵢ−m) / Σⱼ e^(xⱼ−m), log-softmax(x)ᵢ = (xᵢ − m) − ln Σⱼ e^(xⱼ−m), m = maxⱼ xⱼ.
/// </summary>
public static class Softmax
{
    [ThreadStatic] private static float[]? t_shifted;   // a row of x − max for log-softmax (Scratch)

    /// <summary>y = softmax or log-softmax of each of <paramref name="rows"/> rows of length <paramref name="n"/>.</summary>
    public static void Rows(ReadOnlySpan<float> x, Span<float> y, int rows, int n, bool log)
    {
        if (n == 0) return;
        float[]? scratch = log ? Scratch.Get(ref t_shifted, n) : null;
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * n, n);
            var yr = y.Slice(r * n, n);
            float max = TensorPrimitives.Max(xr);
            if (float.IsNegativeInfinity(max)) max = 0; // an all −∞ row: avoid ∞ − ∞
            if (log)
            {
                var shifted = scratch.AsSpan(0, n);
                TensorPrimitives.Subtract(xr, max, shifted);
                TensorPrimitives.Exp(shifted, yr);
                float lse = MathF.Log(TensorPrimitives.Sum(yr));
                TensorPrimitives.Subtract(shifted, lse, yr);
            }
            else
            {
                TensorPrimitives.Subtract(xr, max, yr);
                TensorPrimitives.Exp(yr, yr);
                float sum = TensorPrimitives.Sum(yr);
                TensorPrimitives.Divide(yr, sum, yr);
            }
        }
    }
}

/// <summary>The reference softmax: scalar loops in double.</summary>
public static class SoftmaxNaive
{
    /// <summary>Same contract as <see cref="Softmax.Rows"/>.</summary>
    public static void Rows(ReadOnlySpan<float> x, Span<float> y, int rows, int n, bool log)
    {
        for (int r = 0; r < rows; r++)
        {
            double max = double.NegativeInfinity;
            for (int i = 0; i < n; i++) max = Math.Max(max, x[r * n + i]);
            if (double.IsNegativeInfinity(max)) max = 0;
            double sum = 0;
            for (int i = 0; i < n; i++) sum += Math.Exp(x[r * n + i] - max);
            for (int i = 0; i < n; i++)
            {
                double v = x[r * n + i] - max;
                y[r * n + i] = (float)(log ? v - Math.Log(sum) : Math.Exp(v) / sum);
            }
        }
    }
}
