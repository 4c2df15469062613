using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Nabla.Backends;

namespace Nabla.Kernels;

/// <summary>
/// Elementwise kernels over rows: contiguous rows go through <see cref="TensorPrimitives"/> (SIMD), broadcast
/// (stride-0) operands through its span–scalar overloads, anything else through the scalar loop that
/// <see cref="ElementwiseNaive"/> also uses. GELU, GELU-tanh, softplus and their backwards have their own SIMD kernels
/// (Elementwise.Smooth.cs). No autograd, no allocation.
/// </summary>
public static partial class Elementwise
{
    /// <summary>y[i·sy] = f(x[i·sx]) for i &lt; n.</summary>
    public static void UnaryRow(UnaryOp op, ReadOnlySpan<float> x, int sx, Span<float> y, int sy, int n, float p0, float p1)
    {
        if (n == 0) return;
        if (sx == 1 && sy == 1)
        {
            UnaryContiguous(op, x[..n], y[..n], p0, p1);
            return;
        }
        for (int i = 0; i < n; i++) y[i * sy] = ElementwiseNaive.Unary(op, x[i * sx], p0, p1);
    }

    /// <summary>y = f(x) on contiguous spans of equal length (y may be x).</summary>
    public static void UnaryContiguous(UnaryOp op, ReadOnlySpan<float> x, Span<float> y, float p0, float p1)
    {
        switch (op)
        {
            case UnaryOp.Identity: x.CopyTo(y); return;
            case UnaryOp.Neg: TensorPrimitives.Negate(x, y); return;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, y); return;
            case UnaryOp.Log: TensorPrimitives.Log(x, y); return;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, y); return;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, y); return;
            case UnaryOp.Relu: TensorPrimitives.Max(x, 0f, y); return;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, y); return;
            case UnaryOp.Tanh: TensorPrimitives.Tanh(x, y); return;
            case UnaryOp.AddScalar: TensorPrimitives.Add(x, p0, y); return;
            case UnaryOp.MulScalar: TensorPrimitives.Multiply(x, p0, y); return;
            case UnaryOp.Clamp:
                TensorPrimitives.Max(x, p0, y);
                TensorPrimitives.Min(y, p1, y);
                return;
            case UnaryOp.Gelu or UnaryOp.GeluTanh or UnaryOp.Softplus when Vector128.IsHardwareAccelerated:
                SmoothUnary(SmoothBits, op, x, y, p0, p1);
                return;
            default:
                for (int i = 0; i < x.Length; i++) y[i] = ElementwiseNaive.Unary(op, x[i], p0, p1);
                return;
        }
    }

    /// <summary>y[i·sy] = f(a[i·sa], b[i·sb]) for i &lt; n; a stride of 0 broadcasts one value.</summary>
    public static void BinaryRow(BinaryOp op, ReadOnlySpan<float> a, int sa, ReadOnlySpan<float> b, int sb, Span<float> y, int sy, int n, float p0, float p1)
    {
        if (n == 0) return;
        if (sy == 1)
        {
            if (sa == 1 && sb == 1) { BinaryVV(op, a[..n], b[..n], y[..n], p0, p1); return; }
            if (sa == 1 && sb == 0 && BinaryVS(op, a[..n], b[0], y[..n])) return;
            if (sa == 0 && sb == 1 && BinarySV(op, a[0], b[..n], y[..n])) return;
        }
        for (int i = 0; i < n; i++) y[i * sy] = ElementwiseNaive.Binary(op, a[i * sa], b[i * sb], p0, p1);
    }

    private static void BinaryVV(BinaryOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y, float p0, float p1)
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(a, b, y); return;
            case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, y); return;
            case BinaryOp.Mul: TensorPrimitives.Multiply(a, b, y); return;
            case BinaryOp.Div: TensorPrimitives.Divide(a, b, y); return;
            case BinaryOp.AddScaled: TensorPrimitives.FusedMultiplyAdd(b, p0, a, y); return;
            case BinaryOp.Maximum: TensorPrimitives.Max(a, b, y); return;
            case BinaryOp.Minimum: TensorPrimitives.Min(a, b, y); return;
            case BinaryOp.AddRelu: AddRelu(a, b, y); return;
            case BinaryOp.ReluGrad or BinaryOp.SigmoidGrad or BinaryOp.TanhGrad:
                ActivationGrad(op, a, b, y);
                return;
            case BinaryOp.GeluGrad or BinaryOp.GeluTanhGrad or BinaryOp.SoftplusGrad when Vector128.IsHardwareAccelerated:
                SmoothBinary(SmoothBits, op, a, b, y, p0, p1);
                return;
            default:
                for (int i = 0; i < y.Length; i++) y[i] = ElementwiseNaive.Binary(op, a[i], b[i], p0, p1);
                return;
        }
    }

    // The add's and the ReLU's own calls on blocks small enough to stay in L1 between them: the bits of an add then a
    // ReLU with one pass over memory instead of two (y may be a or b).
    private static void AddRelu(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        const int Block = 2048;
        for (int i = 0; i < y.Length; i += Block)
        {
            int n = Math.Min(Block, y.Length - i);
            var yi = y.Slice(i, n);
            TensorPrimitives.Add(a.Slice(i, n), b.Slice(i, n), yi);
            TensorPrimitives.Max(yi, 0f, yi);
        }
    }

    // The activation backwards run over every hidden unit of every step: SIMD at the machine's width, one loop per op
    // (no switch inside it), the same formulas and operation order as the scalar twins, so the bits do not depend on it.
    private static void ActivationGrad(BinaryOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        int i = op switch
        {
            BinaryOp.ReluGrad => ActivationGradSimd<ReluGradOp>(a, b, y),
            BinaryOp.SigmoidGrad => ActivationGradSimd<SigmoidGradOp>(a, b, y),
            _ => ActivationGradSimd<TanhGradOp>(a, b, y),
        };
        for (; i < y.Length; i++) y[i] = ElementwiseNaive.Binary(op, a[i], b[i], 0, 0);
    }

    private interface IActivationGrad
    {
        static abstract Vector512<float> Apply(Vector512<float> g, Vector512<float> v);
        static abstract Vector256<float> Apply(Vector256<float> g, Vector256<float> v);
        static abstract Vector128<float> Apply(Vector128<float> g, Vector128<float> v);
    }

    // ∂L/∂x = g where the ReLU's input or output v > 0, else 0.
    private readonly struct ReluGradOp : IActivationGrad
    {
        public static Vector512<float> Apply(Vector512<float> g, Vector512<float> v) => Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<float>.Zero), g, Vector512<float>.Zero);
        public static Vector256<float> Apply(Vector256<float> g, Vector256<float> v) => Vector256.ConditionalSelect(Vector256.GreaterThan(v, Vector256<float>.Zero), g, Vector256<float>.Zero);
        public static Vector128<float> Apply(Vector128<float> g, Vector128<float> v) => Vector128.ConditionalSelect(Vector128.GreaterThan(v, Vector128<float>.Zero), g, Vector128<float>.Zero);
    }

    // ∂L/∂x = (g·y)·(1 − y) from the sigmoid's output y.
    private readonly struct SigmoidGradOp : IActivationGrad
    {
        public static Vector512<float> Apply(Vector512<float> g, Vector512<float> v) => g * v * (Vector512<float>.One - v);
        public static Vector256<float> Apply(Vector256<float> g, Vector256<float> v) => g * v * (Vector256<float>.One - v);
        public static Vector128<float> Apply(Vector128<float> g, Vector128<float> v) => g * v * (Vector128<float>.One - v);
    }

    // ∂L/∂x = g·(1 − y·y) from the tanh's output y.
    private readonly struct TanhGradOp : IActivationGrad
    {
        public static Vector512<float> Apply(Vector512<float> g, Vector512<float> v) => g * (Vector512<float>.One - v * v);
        public static Vector256<float> Apply(Vector256<float> g, Vector256<float> v) => g * (Vector256<float>.One - v * v);
        public static Vector128<float> Apply(Vector128<float> g, Vector128<float> v) => g * (Vector128<float>.One - v * v);
    }

    // The elements done with vectors; the caller finishes the tail with the scalar formula.
    private static int ActivationGradSimd<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) where TOp : struct, IActivationGrad
    {
        int n = y.Length, i = 0;
        if (a.Length < n || b.Length < n) throw new ArgumentException("ActivationGrad: inputs shorter than the output.");
        ref float ra = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(a);
        ref float rb = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(b);
        ref float ry = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
                TOp.Apply(Vector512.LoadUnsafe(ref ra, (nuint)i), Vector512.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        if (Vector256.IsHardwareAccelerated)
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                TOp.Apply(Vector256.LoadUnsafe(ref ra, (nuint)i), Vector256.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        if (Vector128.IsHardwareAccelerated)
            for (; i <= n - Vector128<float>.Count; i += Vector128<float>.Count)
                TOp.Apply(Vector128.LoadUnsafe(ref ra, (nuint)i), Vector128.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        return i;
    }

    private static bool BinaryVS(BinaryOp op, ReadOnlySpan<float> a, float b, Span<float> y)
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(a, b, y); return true;
            case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, y); return true;
            case BinaryOp.Mul: TensorPrimitives.Multiply(a, b, y); return true;
            case BinaryOp.Div: TensorPrimitives.Divide(a, b, y); return true;
            case BinaryOp.Maximum: TensorPrimitives.Max(a, b, y); return true;
            case BinaryOp.Minimum: TensorPrimitives.Min(a, b, y); return true;
            default: return false;
        }
    }

    private static bool BinarySV(BinaryOp op, float a, ReadOnlySpan<float> b, Span<float> y)
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(b, a, y); return true;
            case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, y); return true;
            case BinaryOp.Mul: TensorPrimitives.Multiply(b, a, y); return true;
            case BinaryOp.Div: TensorPrimitives.Divide(a, b, y); return true;
            case BinaryOp.Maximum: TensorPrimitives.Max(b, a, y); return true;
            case BinaryOp.Minimum: TensorPrimitives.Min(b, a, y); return true;
            default: return false;
        }
    }
}
