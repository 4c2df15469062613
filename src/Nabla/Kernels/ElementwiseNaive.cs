using Nabla.Backends;

namespace Nabla.Kernels;

/// <summary>
/// The scalar definition of every elementwise function, and a naive n-d broadcast loop over it: the reference
/// that the fast kernels are tested against.
/// </summary>
public static class ElementwiseNaive
{
    /// <summary>f(x) for one value.</summary>
    public static float Unary(UnaryOp op, float x, float p0, float p1) => op switch
    {
        UnaryOp.Identity => x,
        UnaryOp.Neg => -x,
        UnaryOp.Exp => MathF.Exp(x),
        UnaryOp.Log => MathF.Log(x),
        UnaryOp.Sqrt => MathF.Sqrt(x),
        UnaryOp.Abs => MathF.Abs(x),
        UnaryOp.Relu => float.IsNaN(x) ? x : (x > 0 ? x : 0f),
        UnaryOp.Sigmoid => 1f / (1f + MathF.Exp(-x)),
        UnaryOp.Tanh => MathF.Tanh(x),
        UnaryOp.Pow => MathF.Pow(x, p0),
        UnaryOp.Clamp => float.IsNaN(x) ? x : MathF.Min(MathF.Max(x, p0), p1),
        UnaryOp.AddScalar => x + p0,
        UnaryOp.MulScalar => x * p0,
        UnaryOp.Sign => float.IsNaN(x) ? x : x > 0 ? 1f : x < 0 ? -1f : 0f,
        UnaryOp.Gelu => (float)(0.5 * x * Erfc(-x * InvSqrt2)),
        UnaryOp.GeluTanh => (float)(0.5 * x * (1 + Math.Tanh(Sqrt2OverPi * (x + 0.044715 * x * (double)x * x)))),
        UnaryOp.Softplus => p0 * x > p1 ? x : (float)(Log1p(Math.Exp(p0 * (double)x)) / p0),
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown unary op."),
    };

    /// <summary>f(a, b) for one pair.</summary>
    public static float Binary(BinaryOp op, float a, float b, float p0, float p1) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => a / b,
        BinaryOp.AddScaled => MathF.FusedMultiplyAdd(b, p0, a),
        BinaryOp.Maximum => MathF.Max(a, b),
        BinaryOp.Minimum => MathF.Min(a, b),
        BinaryOp.ReluGrad => b > 0 ? a : 0f,
        BinaryOp.SigmoidGrad => a * b * (1f - b),
        BinaryOp.TanhGrad => a * (1f - b * b),
        BinaryOp.ClampGrad => b >= p0 && b <= p1 ? a : 0f,
        BinaryOp.GeluGrad => (float)(a * (0.5 * Erfc(-b * InvSqrt2) + b * Math.Exp(-0.5 * b * (double)b) * InvSqrt2Pi)),
        BinaryOp.GeluTanhGrad => (float)(a * GeluTanhDerivative(b)),
        BinaryOp.SoftplusGrad => p0 * b > p1 ? a : (float)(a / (1 + Math.Exp(-p0 * (double)b))),
        BinaryOp.Greater => a > b ? 1f : 0f,
        BinaryOp.GreaterEqual => a >= b ? 1f : 0f,
        BinaryOp.Equal => a == b ? 1f : 0f,
        BinaryOp.AddRelu => Unary(UnaryOp.Relu, a + b, 0, 0),
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown binary op."),
    };

    private const double InvSqrt2 = 0.70710678118654752440;
    private const double InvSqrt2Pi = 0.39894228040143267794;
    private const double Sqrt2OverPi = 0.79788456080286535588;

    /// <summary>
    /// erfc(x) with fractional error below 1.2e-7 everywhere (Chebyshev fit, Numerical Recipes §6.2), so
    /// ½x·erfc(−x/√2) keeps its relative accuracy deep in the negative tail where 1 + erf cancels.
    /// </summary>
    public static double Erfc(double x)
    {
        double z = Math.Abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }

    /// <summary>ln(1 + u) without losing u's digits when |u| is tiny.</summary>
    public static double Log1p(double u)
    {
        double w = 1 + u;
        return w == 1 ? u : Math.Log(w) * u / (w - 1);
    }

    private static double GeluTanhDerivative(double x)
    {
        double th = Math.Tanh(Sqrt2OverPi * (x + 0.044715 * x * x * x));
        return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * Sqrt2OverPi * (1 + 3 * 0.044715 * x * x);
    }

    /// <summary>
    /// y = f(a, b) over an n-d shape, one element at a time through the multi-index (strides 0 broadcast).
    /// The slow, obviously-right twin of the row kernels.
    /// </summary>
    public static void Binary(BinaryOp op, int[] shape,
        ReadOnlySpan<float> a, int[] stridesA, int offsetA,
        ReadOnlySpan<float> b, int[] stridesB, int offsetB,
        Span<float> y, int[] stridesY, int offsetY, float p0 = 0, float p1 = 0)
    {
        int n = Numel(shape);
        var idx = new int[shape.Length];
        for (int flat = 0; flat < n; flat++)
        {
            int rem = flat, oa = offsetA, ob = offsetB, oy = offsetY;
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                idx[d] = rem % shape[d];
                rem /= shape[d];
                oa += idx[d] * stridesA[d];
                ob += idx[d] * stridesB[d];
                oy += idx[d] * stridesY[d];
            }
            y[oy] = Binary(op, a[oa], b[ob], p0, p1);
        }
    }

    /// <summary>y = f(x) over an n-d shape, element by element.</summary>
    public static void Unary(UnaryOp op, int[] shape, ReadOnlySpan<float> x, int[] stridesX, int offsetX,
        Span<float> y, int[] stridesY, int offsetY, float p0 = 0, float p1 = 0)
    {
        int n = Numel(shape);
        for (int flat = 0; flat < n; flat++)
        {
            int rem = flat, ox = offsetX, oy = offsetY;
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                int i = rem % shape[d];
                rem /= shape[d];
                ox += i * stridesX[d];
                oy += i * stridesY[d];
            }
            y[oy] = Unary(op, x[ox], p0, p1);
        }
    }

    private static int Numel(int[] shape)
    {
        int n = 1;
        foreach (int d in shape) n *= d;
        return n;
    }
}
