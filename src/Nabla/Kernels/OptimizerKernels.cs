using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nabla.Kernels;

/// <summary>
/// Fused optimizer updates: one pass over a parameter instead of one pass per tensor op. Each element goes through
/// exactly the roundings of the composed tensor ops of the optimizer's reference path (MulInPlace, the fused
/// multiply-add of AddInPlace/Addcmul/Addcdiv after their rounded product or quotient, true division, square root,
/// IEEE maximum, negation), so both give the same bits. Every scalar is an argument, read when the kernel runs, and a
/// call allocates nothing.
/// </summary>
/// <remarks>
/// Each update is written once over <see cref="ILanes{TSelf}"/> and run in Vector512 where the CPU has it (Adam is
/// bound by its two divisions and square root per element, which AVX-512 does at twice the Vector256 rate), then
/// Vector256, Vector128 and scalar for the tail: every lane computes the same IEEE operations, so the widths give the
/// same bits (<c>maxVectorBits</c> lets tests force the narrow ones; 0 is scalar only). Work is split over threads in
/// blocks of 16K elements; each element is computed by one thread, so the bits do not depend on the thread count.
/// Spans must not overlap each other.
/// </remarks>
internal static class OptimizerKernels
{
    private const int Block = 16 * 1024;

    // ---- SGD ------------------------------------------------------------------------------------------------

    /// <summary>
    /// SGD (torch.optim.SGD) on contiguous spans: d = ±g (− when <paramref name="maximize"/>); d ← fma(p, wd, d) when
    /// wd ≠ 0; with a momentum buffer b: b ← d on the <paramref name="firstStep"/> (torch's clone), else
    /// b ← fma(d, 1 − dampening, b·μ); d ← fma(b, μ, d) when <paramref name="nesterov"/>, else d ← b;
    /// finally p ← fma(d, negLr, p) with negLr = −η. The momentum buffer is empty for no momentum (μ = 0); the kernel
    /// forms 1 − τ in float, as the composed path does.
    /// </summary>
    public static unsafe void Sgd(Span<float> p, ReadOnlySpan<float> g, Span<float> momentumBuffer,
        float weightDecay, float momentum, float dampening, bool nesterov, bool maximize, bool firstStep, float negLr,
        int maxVectorBits = 512)
    {
        int n = p.Length;
        CheckLength(g.Length, n, nameof(g));
        CheckOptional(momentumBuffer.Length, n, nameof(momentumBuffer));
        if (n == 0) return;
        fixed (float* pp = p, pg = g, pb = momentumBuffer)
        {
            var args = new SgdArgs(pp, pg, momentumBuffer.IsEmpty ? null : pb, n, weightDecay, momentum, 1f - dampening,
                nesterov, maximize, firstStep, negLr, maxVectorBits);
            ParallelFor.Run((n + Block - 1) / Block, Block, in args, static (in SgdArgs a, int b0, int b1) =>
            {
                int i = b0 * Block, end = Math.Min(a.N, b1 * Block);
                if (a.MaxVectorBits >= 512 && Vector512.IsHardwareAccelerated) SgdLanes<Lanes512>(in a, ref i, end);
                if (a.MaxVectorBits >= 256 && Vector256.IsHardwareAccelerated) SgdLanes<Lanes256>(in a, ref i, end);
                if (a.MaxVectorBits >= 128 && Vector128.IsHardwareAccelerated) SgdLanes<Lanes128>(in a, ref i, end);
                SgdLanes<Lanes1>(in a, ref i, end);
            });
        }
    }

    private readonly unsafe struct SgdArgs(float* p, float* g, float* buf, int n, float weightDecay, float momentum,
        float oneMinusDampening, bool nesterov, bool maximize, bool firstStep, float negLr, int maxVectorBits)
    {
        public readonly float* P = p, G = g, Buf = buf;
        public readonly int N = n, MaxVectorBits = maxVectorBits;
        public readonly float WeightDecay = weightDecay, Momentum = momentum, OneMinusDampening = oneMinusDampening, NegLr = negLr;
        public readonly bool Nesterov = nesterov, Maximize = maximize, FirstStep = firstStep;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void SgdLanes<V>(in SgdArgs a, ref int index, int end) where V : struct, ILanes<V>
    {
        float* p = a.P, g = a.G, buf = a.Buf;
        bool maximize = a.Maximize, decay = a.WeightDecay != 0, nesterov = a.Nesterov, first = a.FirstStep;
        V wd = V.Create(a.WeightDecay), mu = V.Create(a.Momentum), damp = V.Create(a.OneMinusDampening), negLr = V.Create(a.NegLr);
        int i = index;
        for (; i + V.Count <= end; i += V.Count)
        {
            var d = V.Load(g + i);
            if (maximize) d = -d;
            if (decay) d = V.Fma(V.Load(p + i), wd, d);
            if (buf != null)
            {
                var b = first ? d : V.Fma(d, damp, V.Load(buf + i) * mu);
                b.Store(buf + i);
                d = nesterov ? V.Fma(b, mu, d) : b;
            }
            V.Fma(d, negLr, V.Load(p + i)).Store(p + i);
        }
        index = i;
    }

    // ---- RMSprop --------------------------------------------------------------------------------------------

    /// <summary>
    /// RMSprop (torch.optim.RMSprop) on contiguous spans: d = ±g; d ← fma(p, wd, d) when wd ≠ 0;
    /// s ← fma(d·d, 1 − α, s·α); centered (a grad-average span given): ḡ ← fma(d, 1 − α, ḡ·α), r = √fma(ḡ·ḡ, −1, s),
    /// else r = √s; r ← r + ε; with a momentum buffer b: b ← b·μ + d/r, p ← fma(b, negLr, p), else
    /// p ← fma(d/r, negLr, p). The grad average is empty unless centered, the momentum buffer empty unless μ &gt; 0;
    /// the kernel forms 1 − α in float, as the composed path does.
    /// </summary>
    public static unsafe void RmsProp(Span<float> p, ReadOnlySpan<float> g, Span<float> squareAvg, Span<float> gradAvg,
        Span<float> momentumBuffer, float alpha, float eps, float weightDecay, float momentum, bool maximize, float negLr,
        int maxVectorBits = 512)
    {
        int n = p.Length;
        CheckLength(g.Length, n, nameof(g));
        CheckLength(squareAvg.Length, n, nameof(squareAvg));
        CheckOptional(gradAvg.Length, n, nameof(gradAvg));
        CheckOptional(momentumBuffer.Length, n, nameof(momentumBuffer));
        if (n == 0) return;
        fixed (float* pp = p, pg = g, ps = squareAvg, pa = gradAvg, pb = momentumBuffer)
        {
            var args = new RmsPropArgs(pp, pg, ps, gradAvg.IsEmpty ? null : pa, momentumBuffer.IsEmpty ? null : pb, n,
                alpha, 1f - alpha, eps, weightDecay, momentum, maximize, negLr, maxVectorBits);
            ParallelFor.Run((n + Block - 1) / Block, Block, in args, static (in RmsPropArgs a, int b0, int b1) =>
            {
                int i = b0 * Block, end = Math.Min(a.N, b1 * Block);
                if (a.MaxVectorBits >= 512 && Vector512.IsHardwareAccelerated) RmsPropLanes<Lanes512>(in a, ref i, end);
                if (a.MaxVectorBits >= 256 && Vector256.IsHardwareAccelerated) RmsPropLanes<Lanes256>(in a, ref i, end);
                if (a.MaxVectorBits >= 128 && Vector128.IsHardwareAccelerated) RmsPropLanes<Lanes128>(in a, ref i, end);
                RmsPropLanes<Lanes1>(in a, ref i, end);
            });
        }
    }

    private readonly unsafe struct RmsPropArgs(float* p, float* g, float* sq, float* avg, float* buf, int n, float alpha,
        float oneMinusAlpha, float eps, float weightDecay, float momentum, bool maximize, float negLr, int maxVectorBits)
    {
        public readonly float* P = p, G = g, Sq = sq, Avg = avg, Buf = buf;
        public readonly int N = n, MaxVectorBits = maxVectorBits;
        public readonly float Alpha = alpha, OneMinusAlpha = oneMinusAlpha, Eps = eps, WeightDecay = weightDecay, Momentum = momentum, NegLr = negLr;
        public readonly bool Maximize = maximize;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void RmsPropLanes<V>(in RmsPropArgs a, ref int index, int end) where V : struct, ILanes<V>
    {
        float* p = a.P, g = a.G, sq = a.Sq, avg = a.Avg, buf = a.Buf;
        bool maximize = a.Maximize, decay = a.WeightDecay != 0;
        V wd = V.Create(a.WeightDecay), alpha = V.Create(a.Alpha), oneMinusAlpha = V.Create(a.OneMinusAlpha), minusOne = V.Create(-1f),
            eps = V.Create(a.Eps), mu = V.Create(a.Momentum), negLr = V.Create(a.NegLr);
        int i = index;
        for (; i + V.Count <= end; i += V.Count)
        {
            var d = V.Load(g + i);
            if (maximize) d = -d;
            if (decay) d = V.Fma(V.Load(p + i), wd, d);
            var s = V.Fma(d * d, oneMinusAlpha, V.Load(sq + i) * alpha);
            s.Store(sq + i);
            V r;
            if (avg != null)
            {
                var ga = V.Fma(d, oneMinusAlpha, V.Load(avg + i) * alpha);
                ga.Store(avg + i);
                r = V.Sqrt(V.Fma(ga * ga, minusOne, s));
            }
            else r = V.Sqrt(s);
            r += eps;
            if (buf != null)
            {
                var b = V.Load(buf + i) * mu + d / r;
                b.Store(buf + i);
                V.Fma(b, negLr, V.Load(p + i)).Store(p + i);
            }
            else V.Fma(d / r, negLr, V.Load(p + i)).Store(p + i);
        }
        index = i;
    }

    // ---- Adagrad --------------------------------------------------------------------------------------------

    /// <summary>
    /// Adagrad (torch.optim.Adagrad) on contiguous spans: d = ±g; d ← fma(p, wd, d) when wd ≠ 0; S ← S + d·d;
    /// p ← fma(d / (√S + ε), negClr, p), with the decayed rate clr = η / (1 + (t − 1)·lr_decay) computed by the caller.
    /// </summary>
    public static unsafe void Adagrad(Span<float> p, ReadOnlySpan<float> g, Span<float> sum,
        float weightDecay, float eps, bool maximize, float negClr, int maxVectorBits = 512)
    {
        int n = p.Length;
        CheckLength(g.Length, n, nameof(g));
        CheckLength(sum.Length, n, nameof(sum));
        if (n == 0) return;
        fixed (float* pp = p, pg = g, ps = sum)
        {
            var args = new AdagradArgs(pp, pg, ps, n, weightDecay, eps, maximize, negClr, maxVectorBits);
            ParallelFor.Run((n + Block - 1) / Block, Block, in args, static (in AdagradArgs a, int b0, int b1) =>
            {
                int i = b0 * Block, end = Math.Min(a.N, b1 * Block);
                if (a.MaxVectorBits >= 512 && Vector512.IsHardwareAccelerated) AdagradLanes<Lanes512>(in a, ref i, end);
                if (a.MaxVectorBits >= 256 && Vector256.IsHardwareAccelerated) AdagradLanes<Lanes256>(in a, ref i, end);
                if (a.MaxVectorBits >= 128 && Vector128.IsHardwareAccelerated) AdagradLanes<Lanes128>(in a, ref i, end);
                AdagradLanes<Lanes1>(in a, ref i, end);
            });
        }
    }

    private readonly unsafe struct AdagradArgs(float* p, float* g, float* sum, int n, float weightDecay, float eps, bool maximize,
        float negClr, int maxVectorBits)
    {
        public readonly float* P = p, G = g, Sum = sum;
        public readonly int N = n, MaxVectorBits = maxVectorBits;
        public readonly float WeightDecay = weightDecay, Eps = eps, NegClr = negClr;
        public readonly bool Maximize = maximize;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AdagradLanes<V>(in AdagradArgs a, ref int index, int end) where V : struct, ILanes<V>
    {
        float* p = a.P, g = a.G, sum = a.Sum;
        bool maximize = a.Maximize, decay = a.WeightDecay != 0;
        V wd = V.Create(a.WeightDecay), eps = V.Create(a.Eps), negClr = V.Create(a.NegClr);
        int i = index;
        for (; i + V.Count <= end; i += V.Count)
        {
            var d = V.Load(g + i);
            if (maximize) d = -d;
            var pi = V.Load(p + i);
            if (decay) d = V.Fma(pi, wd, d);
            var s = V.Load(sum + i) + d * d;
            s.Store(sum + i);
            V.Fma(d / (V.Sqrt(s) + eps), negClr, pi).Store(p + i);
        }
        index = i;
    }

    // ---- Adam / AdamW ---------------------------------------------------------------------------------------

    /// <summary>
    /// Adam / AdamW on contiguous spans: g′ = ±g; g′ ← fma(p, l2, g′) when l2 ≠ 0; p ← p·decay when decay ≠ 1;
    /// m ← fma(g′, 1−β₁, m·β₁); v ← fma(g′·g′, 1−β₂, v·β₂); AMSGrad (a max span given): v̂ ← max(v̂, v), else v̂ = v;
    /// p ← fma(m / (√v̂ / bc₂ + ε), negStep, p). The caller rounds each scalar: l2 is Adam's weight decay (0 for none
    /// and for AdamW), decay AdamW's 1 − η·λ (1 for none and for Adam), 1 − β₁ and 1 − β₂ computed in double,
    /// bc₂ = √(1 − β₂ᵗ), negStep = −(η / (1 − β₁ᵗ)). max_exp_avg_sq is empty unless AMSGrad.
    /// </summary>
    public static unsafe void Adam(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, Span<float> maxExpAvgSq,
        float l2, float decay, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float bc2Sqrt, float eps, float negStep,
        bool maximize, int maxVectorBits = 512)
    {
        int n = p.Length;
        CheckLength(g.Length, n, nameof(g));
        CheckLength(m.Length, n, nameof(m));
        CheckLength(v.Length, n, nameof(v));
        CheckOptional(maxExpAvgSq.Length, n, nameof(maxExpAvgSq));
        if (n == 0) return;
        fixed (float* pp = p, pg = g, pm = m, pv = v, px = maxExpAvgSq)
        {
            var args = new AdamArgs(pp, pg, pm, pv, maxExpAvgSq.IsEmpty ? null : px, n, l2, decay, beta1, oneMinusBeta1, beta2,
                oneMinusBeta2, bc2Sqrt, eps, negStep, maximize, maxVectorBits);
            ParallelFor.Run((n + Block - 1) / Block, Block, in args, static (in AdamArgs a, int b0, int b1) =>
            {
                int i = b0 * Block, end = Math.Min(a.N, b1 * Block);
                if (a.MaxVectorBits >= 512 && Vector512.IsHardwareAccelerated) AdamLanes<Lanes512>(in a, ref i, end);
                if (a.MaxVectorBits >= 256 && Vector256.IsHardwareAccelerated) AdamLanes<Lanes256>(in a, ref i, end);
                if (a.MaxVectorBits >= 128 && Vector128.IsHardwareAccelerated) AdamLanes<Lanes128>(in a, ref i, end);
                AdamLanes<Lanes1>(in a, ref i, end);
            });
        }
    }

    // The arguments of one Adam call, for an allocation-free parallel loop.
    private readonly unsafe struct AdamArgs(float* p, float* g, float* m, float* v, float* max, int n, float l2, float decay,
        float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float bc2Sqrt, float eps, float negStep, bool maximize,
        int maxVectorBits)
    {
        public readonly float* P = p, G = g, M = m, V = v, Max = max;
        public readonly int N = n, MaxVectorBits = maxVectorBits;
        public readonly float L2 = l2, Decay = decay, Beta1 = beta1, OneMinusBeta1 = oneMinusBeta1, Beta2 = beta2, OneMinusBeta2 = oneMinusBeta2,
            Bc2Sqrt = bc2Sqrt, Eps = eps, NegStep = negStep;
        public readonly bool Maximize = maximize;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AdamLanes<V>(in AdamArgs a, ref int index, int end) where V : struct, ILanes<V>
    {
        float* p = a.P, g = a.G, m = a.M, v = a.V, max = a.Max;
        bool maximize = a.Maximize, l2 = a.L2 != 0, decoupled = a.Decay != 1;
        V vl2 = V.Create(a.L2), decay = V.Create(a.Decay), b1 = V.Create(a.Beta1), c1 = V.Create(a.OneMinusBeta1),
            b2 = V.Create(a.Beta2), c2 = V.Create(a.OneMinusBeta2), bc = V.Create(a.Bc2Sqrt), eps = V.Create(a.Eps), negStep = V.Create(a.NegStep);
        int i = index;
        for (; i + V.Count <= end; i += V.Count)
        {
            var pi = V.Load(p + i);
            var gi = V.Load(g + i);
            if (maximize) gi = -gi;
            if (l2) gi = V.Fma(pi, vl2, gi);
            if (decoupled) pi *= decay;
            var mi = V.Fma(gi, c1, V.Load(m + i) * b1);
            var vi = V.Fma(gi * gi, c2, V.Load(v + i) * b2);
            mi.Store(m + i);
            vi.Store(v + i);
            if (max != null)
            {
                vi = V.Max(V.Load(max + i), vi);
                vi.Store(max + i);
            }
            V.Fma(mi / (V.Sqrt(vi) / bc + eps), negStep, pi).Store(p + i);
        }
        index = i;
    }

    private static void CheckLength(int length, int n, string name)
    {
        if (length != n) throw new ArgumentException($"{name} has {length} elements, the parameter {n}.", name);
    }

    private static void CheckOptional(int length, int n, string name)
    {
        if (length != 0 && length != n) throw new ArgumentException($"{name} has {length} elements, the parameter {n} (or 0 for none).", name);
    }

    // ---- lanes ----------------------------------------------------------------------------------------------

    /// <summary>
    /// The operations the updates use, at one width: each is the correctly rounded IEEE operation on every lane (and
    /// <see cref="Max"/> the IEEE 754:2019 maximum of Math.Max and TensorPrimitives.Max), so a formula written once
    /// gives the same bits at every width.
    /// </summary>
    private unsafe interface ILanes<TSelf> where TSelf : struct, ILanes<TSelf>
    {
        static abstract int Count { get; }
        static abstract TSelf Load(float* p);
        static abstract TSelf Create(float x);
        void Store(float* p);
        static abstract TSelf operator +(TSelf a, TSelf b);
        static abstract TSelf operator *(TSelf a, TSelf b);
        static abstract TSelf operator /(TSelf a, TSelf b);
        static abstract TSelf operator -(TSelf a);
        /// <summary>a·b + c with one rounding.</summary>
        static abstract TSelf Fma(TSelf a, TSelf b, TSelf c);
        static abstract TSelf Sqrt(TSelf a);
        static abstract TSelf Max(TSelf a, TSelf b);
    }

    private readonly unsafe struct Lanes512(Vector512<float> x) : ILanes<Lanes512>
    {
        private readonly Vector512<float> _x = x;
        public static int Count => Vector512<float>.Count;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Load(float* p) => new(Vector512.Load(p));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Create(float x) => new(Vector512.Create(x));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(float* p) => _x.Store(p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 operator +(Lanes512 a, Lanes512 b) => new(a._x + b._x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 operator *(Lanes512 a, Lanes512 b) => new(a._x * b._x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 operator /(Lanes512 a, Lanes512 b) => new(a._x / b._x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 operator -(Lanes512 a) => new(-a._x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Fma(Lanes512 a, Lanes512 b, Lanes512 c) => new(Vector512.FusedMultiplyAdd(a._x, b._x, c._x));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Sqrt(Lanes512 a) => new(Vector512.Sqrt(a._x));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes512 Max(Lanes512 a, Lanes512 b) => new(Vector512.Max(a._x, b._x));
    }

    private readonly unsafe struct Lanes256(Vector256<float> x) : ILanes<Lanes256>
    {
        private readonly Vector256<float> _x = x;
        public static int Count => Vector256<float>.Count;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Load(float* p) => new(Vector256.Load(p));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Create(float x) => new(Vector256.Create(x));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(float* p) => _x.Store(p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 operator +(Lanes256 a, Lanes256 b) => new(a._x + b._x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 operator *(Lanes256 a, Lanes256 b) => new(a._x * b._x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 operator /(Lanes256 a, Lanes256 b) => new(a._x / b._x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 operator -(Lanes256 a) => new(-a._x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Fma(Lanes256 a, Lanes256 b, Lanes256 c) => new(Vector256.FusedMultiplyAdd(a._x, b._x, c._x));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Sqrt(Lanes256 a) => new(Vector256.Sqrt(a._x));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes256 Max(Lanes256 a, Lanes256 b) => new(Vector256.Max(a._x, b._x));
    }

    private readonly unsafe struct Lanes128(Vector128<float> x) : ILanes<Lanes128>
    {
        private readonly Vector128<float> _x = x;
        public static int Count => Vector128<float>.Count;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Load(float* p) => new(Vector128.Load(p));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Create(float x) => new(Vector128.Create(x));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(float* p) => _x.Store(p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 operator +(Lanes128 a, Lanes128 b) => new(a._x + b._x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 operator *(Lanes128 a, Lanes128 b) => new(a._x * b._x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 operator /(Lanes128 a, Lanes128 b) => new(a._x / b._x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 operator -(Lanes128 a) => new(-a._x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Fma(Lanes128 a, Lanes128 b, Lanes128 c) => new(Vector128.FusedMultiplyAdd(a._x, b._x, c._x));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Sqrt(Lanes128 a) => new(Vector128.Sqrt(a._x));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes128 Max(Lanes128 a, Lanes128 b) => new(Vector128.Max(a._x, b._x));
    }

    private readonly unsafe struct Lanes1(float x) : ILanes<Lanes1>
    {
        private readonly float _x = x;
        public static int Count => 1;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 Load(float* p) => new(*p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 Create(float x) => new(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public void Store(float* p) => *p = _x;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 operator +(Lanes1 a, Lanes1 b) => new(a._x + b._x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 operator *(Lanes1 a, Lanes1 b) => new(a._x * b._x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 operator /(Lanes1 a, Lanes1 b) => new(a._x / b._x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 operator -(Lanes1 a) => new(-a._x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 Fma(Lanes1 a, Lanes1 b, Lanes1 c) => new(MathF.FusedMultiplyAdd(a._x, b._x, c._x));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 Sqrt(Lanes1 a) => new(MathF.Sqrt(a._x));
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes1 Max(Lanes1 a, Lanes1 b) => new(MathF.Max(a._x, b._x));
    }
}
