using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Nabla.Backends;

namespace Nabla.Kernels;

// GELU (exact and tanh), softplus and their backwards on contiguous spans, vectorised.
//
// Each float is widened to double, the formula of ElementwiseNaive is evaluated in double lanes and the result is
// rounded to float once, so the fast path agrees with the scalar definition to the last bit or one (the bounds are
// measured in GeluSoftplusKernelTests). Double lanes cost half the width of float lanes but need no error-free tricks:
// erfc's e^(−x²/2) in float loses up to (x²/2)·2⁻²⁴ relatively from rounding x²/2 alone (tens of ulps at x = −10),
// and 1 + erf, 1 + tanh cancel in the negative tail. Exact GELU keeps the naive Chebyshev erfc (fractional error < 1.2e-7
// everywhere, Numerical Recipes §6.2); e^x and ln(1 + u) are written here with only +, ×, FMA, compare, select and
// integer shifts, so they stay vector instructions on AVX2 too (no double→int64 conversion) and every width computes
// the same bits. A tail shorter than one vector runs through the same code from a stack buffer, so an element's
// result does not depend on its position, the span's length, the thread split or the instruction set (AVX-512,
// AVX2, 128-bit). Without any hardware SIMD the scalar definitions run instead.
public static partial class Elementwise
{
    // The widest vector the hardware runs (a JIT-time constant); the callers check Vector128.IsHardwareAccelerated.
    private static int SmoothBits => Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : 128;

    /// <summary>
    /// Gelu, GeluTanh or Softplus at a chosen vector width of 512, 256 or 128 bits (software-emulated where the
    /// hardware lacks it): every width gives the same bits, which the tests check on one machine.
    /// </summary>
    internal static void SmoothUnary(int bits, UnaryOp op, ReadOnlySpan<float> x, Span<float> y, float p0, float p1)
    {
        if (bits == 512) Smooth<Lanes512>.Unary(op, x, y, p0, p1);
        else if (bits == 256) Smooth<Lanes256>.Unary(op, x, y, p0, p1);
        else Smooth<Lanes128>.Unary(op, x, y, p0, p1);
    }

    /// <summary>GeluGrad, GeluTanhGrad or SoftplusGrad at a chosen vector width, as <see cref="SmoothUnary(int, UnaryOp, ReadOnlySpan{float}, Span{float}, float, float)"/>.</summary>
    internal static void SmoothBinary(int bits, BinaryOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y, float p0, float p1)
    {
        if (bits == 512) Smooth<Lanes512>.Binary(op, a, b, y, p0, p1);
        else if (bits == 256) Smooth<Lanes256>.Binary(op, a, b, y, p0, p1);
        else Smooth<Lanes128>.Binary(op, a, b, y, p0, p1);
    }

    /// <summary>One SIMD width of doubles, wrapped so that the kernels below are written once over it.</summary>
    private interface ILanes<W> where W : struct, ILanes<W>
    {
        /// <summary>Lanes: the floats one step loads and stores.</summary>
        static abstract int Count { get; }
        /// <summary>p[i .. i + Count) widened to double.</summary>
        static abstract W Load(ref float p, nuint i);
        /// <summary>Each lane rounded to float into p[i .. i + Count).</summary>
        static abstract void Store(W v, ref float p, nuint i);
        /// <summary>Each lane rounded to float and back, as a float operation would have rounded it.</summary>
        static abstract W RoundToSingle(W v);
        static abstract W Create(double v);
        static abstract W operator +(W a, W b);
        static abstract W operator -(W a, W b);
        static abstract W operator *(W a, W b);
        static abstract W operator /(W a, W b);
        static abstract W operator -(W a);
        static abstract W Fma(W a, W b, W c);
        static abstract W Abs(W v);
        static abstract W Max(W a, W b);
        static abstract W GreaterThan(W a, W b);
        static abstract W LessThan(W a, W b);
        static abstract W Select(W mask, W whenTrue, W whenFalse);
        /// <summary>2ⁿ from k = n + 1.5·2⁵² (n in the low mantissa bits), for −1022 ≤ n ≤ 1023.</summary>
        static abstract W Pow2(W k);
    }

    private readonly struct Lanes512(Vector512<double> v) : ILanes<Lanes512>
    {
        private readonly Vector512<double> _v = v;
        public static int Count => Vector512<double>.Count;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 Load(ref float p, nuint i) => new(Vector512.WidenLower(Vector256.LoadUnsafe(ref p, i).ToVector512Unsafe()));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Lanes512 v, ref float p, nuint i) => Vector512.Narrow(v._v, v._v).GetLower().StoreUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 RoundToSingle(Lanes512 a) => new(Vector512.WidenLower(Vector512.Narrow(a._v, a._v)));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 Create(double a) => new(Vector512.Create(a));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 operator +(Lanes512 a, Lanes512 b) => new(a._v + b._v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 operator -(Lanes512 a, Lanes512 b) => new(a._v - b._v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 operator *(Lanes512 a, Lanes512 b) => new(a._v * b._v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 operator /(Lanes512 a, Lanes512 b) => new(a._v / b._v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 operator -(Lanes512 a) => new(-a._v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 Fma(Lanes512 a, Lanes512 b, Lanes512 c) => new(Vector512.FusedMultiplyAdd(a._v, b._v, c._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 Abs(Lanes512 a) => new(Vector512.Abs(a._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 Max(Lanes512 a, Lanes512 b) => new(Vector512.Max(a._v, b._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 GreaterThan(Lanes512 a, Lanes512 b) => new(Vector512.GreaterThan(a._v, b._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 LessThan(Lanes512 a, Lanes512 b) => new(Vector512.LessThan(a._v, b._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 Select(Lanes512 m, Lanes512 t, Lanes512 f) => new(Vector512.ConditionalSelect(m._v, t._v, f._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes512 Pow2(Lanes512 k) => new(Vector512.ShiftLeft(k._v.AsInt64() + Vector512.Create(1023L), 52).AsDouble());
    }

    private readonly struct Lanes256(Vector256<double> v) : ILanes<Lanes256>
    {
        private readonly Vector256<double> _v = v;
        public static int Count => Vector256<double>.Count;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 Load(ref float p, nuint i) => new(Vector256.WidenLower(Vector128.LoadUnsafe(ref p, i).ToVector256Unsafe()));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Lanes256 v, ref float p, nuint i) => Vector256.Narrow(v._v, v._v).GetLower().StoreUnsafe(ref p, i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 RoundToSingle(Lanes256 a) => new(Vector256.WidenLower(Vector256.Narrow(a._v, a._v)));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 Create(double a) => new(Vector256.Create(a));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 operator +(Lanes256 a, Lanes256 b) => new(a._v + b._v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 operator -(Lanes256 a, Lanes256 b) => new(a._v - b._v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 operator *(Lanes256 a, Lanes256 b) => new(a._v * b._v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 operator /(Lanes256 a, Lanes256 b) => new(a._v / b._v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 operator -(Lanes256 a) => new(-a._v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 Fma(Lanes256 a, Lanes256 b, Lanes256 c) => new(Vector256.FusedMultiplyAdd(a._v, b._v, c._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 Abs(Lanes256 a) => new(Vector256.Abs(a._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 Max(Lanes256 a, Lanes256 b) => new(Vector256.Max(a._v, b._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 GreaterThan(Lanes256 a, Lanes256 b) => new(Vector256.GreaterThan(a._v, b._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 LessThan(Lanes256 a, Lanes256 b) => new(Vector256.LessThan(a._v, b._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 Select(Lanes256 m, Lanes256 t, Lanes256 f) => new(Vector256.ConditionalSelect(m._v, t._v, f._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes256 Pow2(Lanes256 k) => new(Vector256.ShiftLeft(k._v.AsInt64() + Vector256.Create(1023L), 52).AsDouble());
    }

    private readonly struct Lanes128(Vector128<double> v) : ILanes<Lanes128>
    {
        private readonly Vector128<double> _v = v;
        public static int Count => Vector128<double>.Count;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128 Load(ref float p, nuint i) => new(Vector128.WidenLower(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<double>(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref p, i)))).AsSingle()));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Lanes128 v, ref float p, nuint i) => Unsafe.WriteUnaligned(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref p, i)), Vector128.Narrow(v._v, v._v).AsDouble().ToScalar());
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128 RoundToSingle(Lanes128 a) => new(Vector128.WidenLower(Vector128.Narrow(a._v, a._v)));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128 Create(double a) => new(Vector128.Create(a));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128 operator +(Lanes128 a, Lanes128 b) => new(a._v + b._v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128 operator -(Lanes128 a, Lanes128 b) => new(a._v - b._v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128 operator *(Lanes128 a, Lanes128 b) => new(a._v * b._v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128 operator /(Lanes128 a, Lanes128 b) => new(a._v / b._v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128 operator -(Lanes128 a) => new(-a._v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128 Fma(Lanes128 a, Lanes128 b, Lanes128 c) => new(Vector128.FusedMultiplyAdd(a._v, b._v, c._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128 Abs(Lanes128 a) => new(Vector128.Abs(a._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128 Max(Lanes128 a, Lanes128 b) => new(Vector128.Max(a._v, b._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128 GreaterThan(Lanes128 a, Lanes128 b) => new(Vector128.GreaterThan(a._v, b._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128 LessThan(Lanes128 a, Lanes128 b) => new(Vector128.LessThan(a._v, b._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128 Select(Lanes128 m, Lanes128 t, Lanes128 f) => new(Vector128.ConditionalSelect(m._v, t._v, f._v));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Lanes128 Pow2(Lanes128 k) => new(Vector128.ShiftLeft(k._v.AsInt64() + Vector128.Create(1023L), 52).AsDouble());
    }

    /// <summary>One of the six functions on a pair of lane vectors: the gradients get (upstream, input), the forwards ignore a.</summary>
    private interface ISmooth
    {
        static abstract L Apply<L>(L a, L x, L p0, L p1) where L : struct, ILanes<L>;
    }

    private readonly struct GeluF : ISmooth
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static L Apply<L>(L a, L x, L p0, L p1) where L : struct, ILanes<L> =>
            L.Create(0.5) * x * Smooth<L>.ErfcOfMinusXOverSqrt2(x);
    }

    // ½x(1 + tanh u) = x/(1 + e^(−2u)): no cancellation in the negative tail.
    private readonly struct GeluTanhF : ISmooth
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static L Apply<L>(L a, L x, L p0, L p1) where L : struct, ILanes<L> =>
            x / (L.Create(1) + Smooth<L>.Exp(L.Create(-2) * Smooth<L>.TanhArgument(x)));
    }

    // ln(1 + e^(βx))/β as (max(z, 0) + ln(1 + e^(−|z|)))/β with z = βx (exact: a product of two floats fits a
    // double), or x where float(βx) > threshold — the comparison the naive makes in float.
    private readonly struct SoftplusF : ISmooth
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static L Apply<L>(L a, L x, L beta, L threshold) where L : struct, ILanes<L>
        {
            var z = beta * x;
            var soft = (L.Max(z, L.Create(0)) + Smooth<L>.Log1p(Smooth<L>.Exp(-L.Abs(z)))) / beta;
            return L.Select(L.GreaterThan(L.RoundToSingle(z), threshold), x, soft);
        }
    }

    // a·(Φ(b) + b·φ(b)), in the naive's order.
    private readonly struct GeluGradF : ISmooth
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static L Apply<L>(L a, L b, L p0, L p1) where L : struct, ILanes<L> =>
            a * (L.Create(0.5) * Smooth<L>.ErfcOfMinusXOverSqrt2(b) + b * Smooth<L>.Exp(L.Create(-0.5) * b * b) * L.Create(InvSqrt2Pi));
    }

    // With s = 1/(1 + e^(−2u)) = ½(1 + tanh u): ½(1 + tanh u) = s and ½b(1 − tanh²u) = 2b·s(1 − s).
    private readonly struct GeluTanhGradF : ISmooth
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static L Apply<L>(L a, L b, L p0, L p1) where L : struct, ILanes<L>
        {
            var one = L.Create(1);
            var s = one / (one + Smooth<L>.Exp(L.Create(-2) * Smooth<L>.TanhArgument(b)));
            return a * (s + L.Create(2) * b * s * (one - s) * L.Create(Sqrt2OverPi) * (one + L.Create(3 * 0.044715) * b * b));
        }
    }

    // a·σ(βb), or a where float(βb) > threshold.
    private readonly struct SoftplusGradF : ISmooth
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static L Apply<L>(L a, L b, L beta, L threshold) where L : struct, ILanes<L>
        {
            var z = beta * b;
            return L.Select(L.GreaterThan(L.RoundToSingle(z), threshold), a, a / (L.Create(1) + Smooth<L>.Exp(-z)));
        }
    }

    /// <summary>The loops and the shared pieces (erfc, eˣ, ln(1 + u)) over one lane width <typeparamref name="L"/>.</summary>
    private static class Smooth<L> where L : struct, ILanes<L>
    {
        private const int MaxLanes = 8; // the widest step (Vector512<double>): the tail's stack buffer

        public static void Unary(UnaryOp op, ReadOnlySpan<float> x, Span<float> y, float p0, float p1)
        {
            switch (op)
            {
                case UnaryOp.Gelu: Map<GeluF>(x, x, y, p0, p1, binary: false); break;
                case UnaryOp.GeluTanh: Map<GeluTanhF>(x, x, y, p0, p1, binary: false); break;
                default: Map<SoftplusF>(x, x, y, p0, p1, binary: false); break;
            }
        }

        public static void Binary(BinaryOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y, float p0, float p1)
        {
            switch (op)
            {
                case BinaryOp.GeluGrad: Map<GeluGradF>(a, b, y, p0, p1, binary: true); break;
                case BinaryOp.GeluTanhGrad: Map<GeluTanhGradF>(a, b, y, p0, p1, binary: true); break;
                default: Map<SoftplusGradF>(a, b, y, p0, p1, binary: true); break;
            }
        }

        // y[i] = F(a[i], x[i]) for i < y.Length (a unused unless binary); y may be a or x.
        private static void Map<F>(ReadOnlySpan<float> a, ReadOnlySpan<float> x, Span<float> y, float p0, float p1, bool binary) where F : ISmooth
        {
            int n = y.Length, w = L.Count, body = n - n % w;
            if (x.Length < n || (binary && a.Length < n)) throw new ArgumentException("Elementwise: an input is shorter than the output.");
            Steps<F>(ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(y), body, p0, p1, binary);
            if (body == n) return;
            // The last n % w elements through the same vector code, so no element's bits depend on where it sits.
            Span<float> t = stackalloc float[2 * MaxLanes];
            t.Clear();
            x[body..n].CopyTo(t);
            if (binary) a[body..n].CopyTo(t[MaxLanes..]);
            ref float tr = ref MemoryMarshal.GetReference(t);
            Steps<F>(ref Unsafe.Add(ref tr, MaxLanes), ref tr, ref tr, w, p0, p1, binary);
            t[..(n - body)].CopyTo(y[body..]);
        }

        // The vector loop over n (a multiple of L.Count) elements; not inlined, so the JIT's inlining budget goes to F.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void Steps<F>(ref float a, ref float x, ref float y, int n, float p0, float p1, bool binary) where F : ISmooth
        {
            L av = default, c0 = L.Create(p0), c1 = L.Create(p1); // broadcast once: a float→double conversion in the loop would chain iterations
            for (int i = 0; i < n; i += L.Count)
            {
                if (binary) av = L.Load(ref a, (nuint)i);
                L.Store(F.Apply(av, L.Load(ref x, (nuint)i), c0, c1), ref y, (nuint)i);
            }
        }

        // √(2/π)(x + 0.044715x³), multiplied in the naive's order.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static L TanhArgument(L x) => C(Sqrt2OverPi) * (x + C(0.044715) * x * x * x);

        /// <summary>ElementwiseNaive.Erfc(−x/√2) for every lane: the same Chebyshev fit, Horner with FMA.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static L ErfcOfMinusXOverSqrt2(L x)
        {
            var z = L.Abs(x) * C(InvSqrt2);
            var t = C(1) / (C(1) + C(0.5) * z);
            var q = L.Fma(t, C(0.17087277), C(-0.82215223));
            q = L.Fma(t, q, C(1.48851587));
            q = L.Fma(t, q, C(-1.13520398));
            q = L.Fma(t, q, C(0.27886807));
            q = L.Fma(t, q, C(-0.18628806));
            q = L.Fma(t, q, C(0.09678418));
            q = L.Fma(t, q, C(0.37409196));
            q = L.Fma(t, q, C(1.00002368));
            var r = t * Exp(-z * z - C(1.26551223) + t * q);
            return L.Select(L.GreaterThan(x, C(0)), C(2) - r, r); // the argument −x/√2 is negative exactly when x > 0
        }

        /// <summary>
        /// eᵃ: a = n·ln 2 + r with |r| ≤ ½ln 2 (ln 2 in two parts, so r is exact to double), e^r by its Taylor series
        /// to r¹¹/11! (relative error below 1e-14), 2ⁿ put into the exponent bits. +∞ above 709.4, 0 below −708 (where
        /// the float results it feeds are 0 or 1 anyway), NaN stays NaN.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static L Exp(L a)
        {
            var k = L.Fma(a, C(1.4426950408889634), C(RoundingShift)); // n = round(a/ln 2) in the low bits
            var n = k - C(RoundingShift);
            var r = L.Fma(n, C(-Ln2Hi), a);
            r = L.Fma(n, C(-Ln2Lo), r);
            var p = L.Fma(r, C(1.0 / 39916800), C(1.0 / 3628800));
            p = L.Fma(r, p, C(1.0 / 362880));
            p = L.Fma(r, p, C(1.0 / 40320));
            p = L.Fma(r, p, C(1.0 / 5040));
            p = L.Fma(r, p, C(1.0 / 720));
            p = L.Fma(r, p, C(1.0 / 120));
            p = L.Fma(r, p, C(1.0 / 24));
            p = L.Fma(r, p, C(1.0 / 6));
            p = L.Fma(r, p, C(0.5));
            p = L.Fma(r, p, C(1));
            p = L.Fma(r, p, C(1));
            var e = p * L.Pow2(k);
            e = L.Select(L.LessThan(a, C(-708)), C(0), e);
            return L.Select(L.GreaterThan(a, C(709.4)), C(double.PositiveInfinity), e);
        }

        /// <summary>
        /// ln(1 + u) for 0 ≤ u ≤ 1 as 2·atanh(s), s = u/(2 + u) ≤ ⅓: the odd series to s²⁵/25 (relative error
        /// below 1e-13), and no 1 + u is formed, so tiny u keeps its digits.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static L Log1p(L u)
        {
            var s = u / (C(2) + u);
            var s2 = s * s;
            var q = L.Fma(s2, C(1.0 / 25), C(1.0 / 23));
            q = L.Fma(s2, q, C(1.0 / 21));
            q = L.Fma(s2, q, C(1.0 / 19));
            q = L.Fma(s2, q, C(1.0 / 17));
            q = L.Fma(s2, q, C(1.0 / 15));
            q = L.Fma(s2, q, C(1.0 / 13));
            q = L.Fma(s2, q, C(1.0 / 11));
            q = L.Fma(s2, q, C(1.0 / 9));
            q = L.Fma(s2, q, C(1.0 / 7));
            q = L.Fma(s2, q, C(1.0 / 5));
            q = L.Fma(s2, q, C(1.0 / 3));
            q = L.Fma(s2, q, C(1));
            return C(2) * s * q;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static L C(double v) => L.Create(v);
    }

    private const double InvSqrt2 = 0.70710678118654752440;
    private const double InvSqrt2Pi = 0.39894228040143267794;
    private const double Sqrt2OverPi = 0.79788456080286535588;
    private const double RoundingShift = 6755399441055744.0; // 1.5·2⁵²: adding it rounds to an integer, kept in the low bits
    private const double Ln2Hi = 6.93147180369123816490e-01;   // ln 2's leading 32 bits: n·Ln2Hi is exact for |n| < 2²¹
    private const double Ln2Lo = 1.90821492927058770002e-10;   // ln 2 − Ln2Hi
}
