using Nabla.Kernels;

namespace Nabla.Backends;

// The network kernels: convolution, pooling, batch normalisation, dropout masks, class-target matrices and the fused
// optimizer updates. Inputs are made contiguous first (a recorded copy when they are not); outputs must be contiguous.
public sealed partial class CpuBackend
{
    // A contiguous tensor's buffer as (array, offset, length).
    private readonly record struct Buf(float[] A, int O, int N)
    {
        public ReadOnlySpan<float> In => A.AsSpan(O, N);
        public Span<float> Out => A.AsSpan(O, N);
    }

    private static Buf In(Tensor t)
    {
        var c = C(t);
        return new Buf(Data(c), c.offset, c.Numel);
    }

    private static Buf Out(Tensor t) =>
        t.IsContiguous ? new Buf(Data(t), t.offset, t.Numel) : throw new ArgumentException("CpuBackend: outputs must be contiguous.");

    private static Buf Opt(Tensor? t) => t is null ? new Buf([], 0, 0) : In(t);

    /// <inheritdoc/>
    public void Conv2d(Tensor x, Tensor w, Tensor? bias, in ConvGeometry geometry, Tensor y) =>
        Submit(new ConvLaunch(0, In(x), In(w), Opt(bias), Out(y), geometry));

    /// <inheritdoc/>
    public void Conv2dBackwardData(Tensor gy, Tensor w, in ConvGeometry geometry, Tensor gx) =>
        Submit(new ConvLaunch(1, In(gy), In(w), default, Out(gx), geometry));

    /// <inheritdoc/>
    public void Conv2dBackwardWeight(Tensor gy, Tensor x, in ConvGeometry geometry, Tensor gw) =>
        Submit(new ConvLaunch(2, In(gy), In(x), default, Out(gw), geometry));

    // kind 0: y ← conv(a = x, b = w) + bias; 1: gx ← backward data (a = gy, b = w); 2: gw ← backward weight (a = gy, b = x).
    private sealed class ConvLaunch(int kind, Buf a, Buf b, Buf bias, Buf y, ConvGeometry g) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            a = a with { A = map(a.A) };
            b = b with { A = map(b.A) };
            bias = bias with { A = map(bias.A) };
            y = y with { A = map(y.A) };
        }

        public override void Run()
        {
            switch (kind)
            {
                case 0: Kernels.Conv2d.Forward(a.In, b.In, y.Out, g, bias.N == 0 ? default : bias.In); break;
                case 1: Kernels.Conv2d.BackwardData(a.In, b.In, y.Out, g); break;
                default: Kernels.Conv2d.BackwardWeight(a.In, b.In, y.Out, g); break;
            }
        }
    }

    /// <inheritdoc/>
    public void MaxPool2d(Tensor x, in PoolGeometry geometry, Tensor y, int[] argmax) =>
        Submit(new PoolLaunch(0, In(x), Out(y), argmax, geometry, false, null));

    /// <inheritdoc/>
    public void MaxPool2dBackward(Tensor gy, int[] argmax, in PoolGeometry geometry, Tensor gx) =>
        Submit(new PoolLaunch(1, In(gy), Out(gx), argmax, geometry, false, null));

    /// <inheritdoc/>
    public void AvgPool2d(Tensor x, in PoolGeometry geometry, bool countIncludePad, int? divisorOverride, Tensor y) =>
        Submit(new PoolLaunch(2, In(x), Out(y), [], geometry, countIncludePad, divisorOverride));

    /// <inheritdoc/>
    public void AvgPool2dBackward(Tensor gy, in PoolGeometry geometry, bool countIncludePad, int? divisorOverride, Tensor gx) =>
        Submit(new PoolLaunch(3, In(gy), Out(gx), [], geometry, countIncludePad, divisorOverride));

    private sealed class PoolLaunch(int kind, Buf x, Buf y, int[] argmax, PoolGeometry g, bool countIncludePad, int? divisor) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            x = x with { A = map(x.A) };
            y = y with { A = map(y.A) };
        }

        public override void Run()
        {
            switch (kind)
            {
                case 0: Pool2d.MaxForward(x.In, y.Out, argmax, g); break;
                case 1: Pool2d.MaxBackward(x.In, argmax, y.Out, g); break;
                case 2: Pool2d.AvgForward(x.In, y.Out, g, countIncludePad, divisor); break;
                default: Pool2d.AvgBackward(x.In, y.Out, g, countIncludePad, divisor); break;
            }
        }
    }

    /// <inheritdoc/>
    public void AdaptiveAvgPool2d(Tensor x, Tensor y) =>
        Submit(new AdaptivePoolLaunch(false, In(x), Out(y), x.shape[0] * x.shape[1], x.shape[2], x.shape[3], y.shape[2], y.shape[3]));

    /// <inheritdoc/>
    public void AdaptiveAvgPool2dBackward(Tensor gy, Tensor gx) =>
        Submit(new AdaptivePoolLaunch(true, In(gy), Out(gx), gx.shape[0] * gx.shape[1], gx.shape[2], gx.shape[3], gy.shape[2], gy.shape[3]));

    private sealed class AdaptivePoolLaunch(bool backward, Buf a, Buf b, int planes, int h, int w, int oh, int ow) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            a = a with { A = map(a.A) };
            b = b with { A = map(b.A) };
        }

        public override void Run()
        {
            if (backward) Pool2d.AdaptiveAvgBackward(a.In, b.Out, planes, h, w, oh, ow);
            else Pool2d.AdaptiveAvgForward(a.In, b.Out, planes, h, w, oh, ow);
        }
    }

    // ---- batch normalisation -------------------------------------------------------------------------------

    /// <inheritdoc/>
    public void BatchNorm(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor variance, Tensor invstd, float eps, bool batchStatistics, Tensor y, Tensor? xhat, bool relu = false)
    {
        int n = x.shape[0], c = x.shape[1], s = x.Numel / Math.Max(1, n * c);
        Submit(new BatchNormLaunch(In(x), Opt(weight), Opt(bias), Out(mean), Out(variance), Out(invstd), eps, batchStatistics, Out(y),
            xhat is null ? new Buf([], 0, 0) : Out(xhat), n, c, s, relu));
    }

    private sealed class BatchNormLaunch(Buf x, Buf w, Buf b, Buf mean, Buf variance, Buf invstd, float eps, bool batch, Buf y, Buf xhat, int n, int c, int s, bool relu) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            x = x with { A = map(x.A) };
            w = w with { A = map(w.A) };
            b = b with { A = map(b.A) };
            mean = mean with { A = map(mean.A) };
            variance = variance with { A = map(variance.A) };
            invstd = invstd with { A = map(invstd.A) };
            y = y with { A = map(y.A) };
            xhat = xhat with { A = map(xhat.A) };
        }

        public override void Run()
        {
            if (batch) Kernels.BatchNorm.Statistics(x.In, n, c, s, mean.Out, variance.Out);
            var v = variance.In;
            var inv = invstd.Out;
            for (int i = 0; i < inv.Length; i++) inv[i] = 1f / MathF.Sqrt(v[i] + eps);
            Kernels.BatchNorm.Normalize(x.In, n, c, s, mean.In, invstd.In, w.N == 0 ? default : w.In, b.N == 0 ? default : b.In, y.Out,
                xhat.N == 0 ? default : xhat.Out, relu);
        }
    }

    /// <inheritdoc/>
    public void BatchNormBackward(Tensor gy, Tensor xhat, Tensor invstd, Tensor? weight, bool batchStatistics, Tensor? gx, Tensor? gweight, Tensor? gbias, Tensor? reluOutput = null)
    {
        int n = gy.shape[0], c = gy.shape[1], s = gy.Numel / Math.Max(1, n * c);
        var none = new Buf([], 0, 0);
        Submit(new BatchNormBackwardLaunch(In(gy), In(xhat), In(invstd), Opt(weight), batchStatistics,
            gx is null ? none : Out(gx), gweight is null ? none : Out(gweight), gbias is null ? none : Out(gbias), n, c, s, Opt(reluOutput)));
    }

    private sealed class BatchNormBackwardLaunch(Buf dy, Buf xhat, Buf invstd, Buf w, bool batch, Buf dx, Buf dw, Buf db, int n, int c, int s, Buf relu) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            relu = relu with { A = map(relu.A) };
            dy = dy with { A = map(dy.A) };
            xhat = xhat with { A = map(xhat.A) };
            invstd = invstd with { A = map(invstd.A) };
            w = w with { A = map(w.A) };
            dx = dx with { A = map(dx.A) };
            dw = dw with { A = map(dw.A) };
            db = db with { A = map(db.A) };
        }

        public override void Run() =>
            Kernels.BatchNorm.Backward(dy.In, xhat.In, n, c, s, invstd.In, w.N == 0 ? default : w.In, batch, dx.N == 0 ? default : dx.Out,
                dw.N == 0 ? default : dw.Out, db.N == 0 ? default : db.Out, relu.N == 0 ? default : relu.In);
    }

    /// <inheritdoc/>
    public void BatchNormRunningStatistics(Tensor runningMean, Tensor runningVar, IntTensor batchesTracked, double? momentum, Tensor mean, Tensor variance, long m) =>
        Submit(new RunningStatisticsLaunch(Out(runningMean), Out(runningVar), batchesTracked.Data, momentum, In(mean), In(variance), m));

    // r ← (1 − f)·r + f·μ_B, v ← (1 − f)·v + f·σ²_B·m/(m − 1), f the momentum or 1/batches seen, in double as PyTorch's Python floats.
    private sealed class RunningStatisticsLaunch(Buf rm, Buf rv, int[] tracked, double? momentum, Buf mean, Buf variance, long m) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            rm = rm with { A = map(rm.A) };
            rv = rv with { A = map(rv.A) };
            mean = mean with { A = map(mean.A) };
            variance = variance with { A = map(variance.A) };
        }

        public override void Run()
        {
            tracked[0]++;
            double factor = momentum ?? 1.0 / tracked[0];
            var rms = rm.Out;
            var rvs = rv.Out;
            var mu = mean.In;
            var va = variance.In;
            for (int c = 0; c < rms.Length; c++)
            {
                rms[c] = (float)((1 - factor) * rms[c] + factor * mu[c]);
                rvs[c] = (float)((1 - factor) * rvs[c] + factor * va[c] * m / Math.Max(1, m - 1));
            }
        }
    }

    // ---- randomness and targets ------------------------------------------------------------------------------

    /// <inheritdoc/>
    public void Random(Tensor dst, RandomKind kind, float a, float b, Generator generator) => Submit(new RandomLaunch(Out(dst), kind, a, b, generator));

    // One draw per element in row-major order, from the generator's state when the launch runs.
    private sealed class RandomLaunch(Buf dst, RandomKind kind, float a, float b, Generator g) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            dst = dst with { A = map(dst.A) };
        }

        public override void Run()
        {
            var v = dst.Out;
            switch (kind)
            {
                case RandomKind.Uniform:
                    float width = b - a;
                    for (int i = 0; i < v.Length; i++) v[i] = a + width * g.NextFloat();
                    break;
                case RandomKind.Normal:
                    for (int i = 0; i < v.Length; i++) v[i] = (float)(a + b * g.NextNormal());
                    break;
                default:
                    float keep = 1 - a;
                    for (int i = 0; i < v.Length; i++) v[i] = g.NextFloat() < keep ? b : 0f;
                    break;
            }
        }
    }

    /// <inheritdoc/>
    public void ClassTargets(IntTensor target, int classes, Tensor? weight, int ignoreIndex, float labelSmoothing, Tensor? q, Tensor? weightPerRow,
        IntTensor? safeTarget, Tensor denominator, string loss)
    {
        var none = new Buf([], 0, 0);
        Submit(new ClassTargetsLaunch(target.Data, Opt(weight), ignoreIndex, labelSmoothing, q is null ? none : Out(q), weightPerRow is null ? none : Out(weightPerRow),
            safeTarget?.Data, Out(denominator), classes, loss));
    }

    // Q (M, C) = class weight ⊙ smoothed one-hot target per row (zero for an ignored target), summing the denominator
    // Σ w[yᵢ] in float as CrossEntropy did; or, for NLL, the per-row weight and a safe index (ignored → 0), summing
    // the denominator in double as Enumerable.Sum does. Targets are checked when the launch runs.
    private sealed class ClassTargetsLaunch(int[] t, Buf weight, int ignoreIndex, float smoothing, Buf q, Buf rowWeight, int[]? safe, Buf denominator, int classes, string loss) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            weight = weight with { A = map(weight.A) };
            q = q with { A = map(q.A) };
            rowWeight = rowWeight with { A = map(rowWeight.A) };
            denominator = denominator with { A = map(denominator.A) };
        }

        public override void Run()
        {
            var qs = q.Out;
            var ws = weight.In;
            var rw = rowWeight.Out;
            qs.Clear();
            float denom = 0;
            double sum = 0;
            for (int i = 0; i < t.Length; i++)
            {
                if (rw.Length > 0) rw[i] = 0;
                if (safe is not null) safe[i] = 0;
                if (t[i] == ignoreIndex) continue;
                if ((uint)t[i] >= (uint)classes)
                    throw new ArgumentOutOfRangeException("target", t[i], $"{loss}: target {t[i]} is out of bounds for {classes} classes (expected 0..{classes - 1}).");
                float wt = ws.Length == 0 ? 1f : ws[t[i]];
                denom += wt;
                if (rw.Length > 0) rw[i] = wt;
                if (safe is not null) safe[i] = t[i];
                if (qs.Length == 0) continue;
                for (int c = 0; c < classes; c++) qs[i * classes + c] = (ws.Length == 0 ? 1f : ws[c]) * smoothing / classes;
                qs[i * classes + t[i]] += wt * (1f - smoothing);
            }
            if (rw.Length > 0)
                for (int i = 0; i < rw.Length; i++) sum += rw[i];
            denominator.Out[0] = rw.Length > 0 ? (float)sum : denom;
        }
    }

    // ---- optimizers: one fused pass per parameter, scalars read from their slot when the launch runs ------------

    /// <inheritdoc/>
    public void OptimizerStep(OptimizerRule rule, Tensor p, Tensor g, Tensor? s0, Tensor? s1, Tensor? s2, OptimizerScalars scalars)
    {
        var none = new Buf([], 0, 0);
        Submit(new OptimizerLaunch(rule, Out(p), In(g), s0 is null ? none : Out(s0), s1 is null ? none : Out(s1), s2 is null ? none : Out(s2), scalars));
    }

    private sealed class OptimizerLaunch(OptimizerRule rule, Buf p, Buf g, Buf s0, Buf s1, Buf s2, OptimizerScalars s) : Launch
    {
        public override void Remap(Func<float[], float[]> map)
        {
            p = p with { A = map(p.A) };
            g = g with { A = map(g.A) };
            s0 = s0 with { A = map(s0.A) };
            s1 = s1 with { A = map(s1.A) };
            s2 = s2 with { A = map(s2.A) };
        }

        public override void Run()
        {
            s.Prepare();
            switch (rule)
            {
                case OptimizerRule.Sgd:
                    OptimizerKernels.Sgd(p.Out, g.In, s0.Out, s.WeightDecay, s.Momentum, s.Dampening, s.Nesterov, s.Maximize, s.FirstStep, s.NegStep);
                    break;
                case OptimizerRule.RmsProp:
                    OptimizerKernels.RmsProp(p.Out, g.In, s0.Out, s1.Out, s2.Out, s.Alpha, s.Eps, s.WeightDecay, s.Momentum, s.Maximize, s.NegStep);
                    break;
                case OptimizerRule.Adagrad:
                    OptimizerKernels.Adagrad(p.Out, g.In, s0.Out, s.WeightDecay, s.Eps, s.Maximize, s.NegStep);
                    break;
                default:
                    OptimizerKernels.Adam(p.Out, g.In, s0.Out, s1.Out, s2.Out, s.WeightDecay, s.Decay, s.Beta1, s.OneMinusBeta1, s.Beta2, s.OneMinusBeta2,
                        s.Bc2Sqrt, s.Eps, s.NegStep, s.Maximize);
                    break;
            }
        }
    }
}
