using Nabla.Kernels;
using Nabla.Optim;

namespace Nabla.Tests;

/// <summary>
/// The fused optimizer kernels (Kernels.OptimizerKernels) against each optimizer's composed tensor-op path, the
/// reference: for every flag combination that changes the update, several steps on the same parameters and changing
/// gradients give bit-identical parameters, step counts and state buffers (names, order and values) after every step;
/// every vector width gives the same bits; and a kernel call allocates nothing.
/// </summary>
/// <remarks>
/// The only tests that switch the optimizers' UseFusedKernel flags (static), so they stay in this one class, whose
/// tests run one at a time. A test elsewhere that steps an optimizer meanwhile takes whichever path: the same bits.
/// </remarks>
public class FusedOptimizerTests
{
    // A lone element, a tail after the vectors, and two sizes over several threaded 16K blocks (one with a vector tail).
    static readonly int[][] Shapes = [[1], [17], [200, 200], [40007]];
    const int Steps = 6;

    public static TheoryData<double, double, double, bool, bool> SgdCases()
    {
        var d = new TheoryData<double, double, double, bool, bool>();
        foreach (double momentum in new[] { 0, 0.9 })
            foreach (double dampening in new[] { 0, 0.3 })
                foreach (double wd in new[] { 0, 0.01, 1 })   // 1: AddInPlace's plain-add branch
                    foreach (bool nesterov in new[] { false, true })
                        foreach (bool maximize in new[] { false, true })
                        {
                            if (nesterov && (momentum == 0 || dampening != 0)) continue;
                            if (momentum == 0 && dampening != 0) continue;
                            d.Add(momentum, dampening, wd, nesterov, maximize);
                        }
        return d;
    }

    [Theory]
    [MemberData(nameof(SgdCases))]
    public void Sgd_fused_equals_composed(double momentum, double dampening, double wd, bool nesterov, bool maximize) =>
        AssertSameBits(ps => new SGD(ps, lr: 0.05, momentum: momentum, dampening: dampening, weightDecay: wd, nesterov: nesterov, maximize: maximize));

    public static TheoryData<bool, double, double, bool> RmsPropCases()
    {
        var d = new TheoryData<bool, double, double, bool>();
        foreach (bool centered in new[] { false, true })
            foreach (double momentum in new[] { 0, 0.5 })
                foreach (double wd in new[] { 0, 0.01 })
                    foreach (bool maximize in new[] { false, true })
                        d.Add(centered, momentum, wd, maximize);
        return d;
    }

    [Theory]
    [MemberData(nameof(RmsPropCases))]
    public void RmsProp_fused_equals_composed(bool centered, double momentum, double wd, bool maximize) =>
        AssertSameBits(ps => new RMSProp(ps, lr: 0.01, alpha: 0.9, weightDecay: wd, momentum: momentum, centered: centered, maximize: maximize));

    public static TheoryData<double, double, double, bool> AdagradCases()
    {
        var d = new TheoryData<double, double, double, bool>();
        foreach (double lrDecay in new[] { 0, 0.05 })
            foreach (double wd in new[] { 0, 0.01 })
                foreach (double initial in new[] { 0, 0.1 })
                    foreach (bool maximize in new[] { false, true })
                        d.Add(lrDecay, wd, initial, maximize);
        return d;
    }

    [Theory]
    [MemberData(nameof(AdagradCases))]
    public void Adagrad_fused_equals_composed(double lrDecay, double wd, double initial, bool maximize) =>
        AssertSameBits(ps => new Adagrad(ps, lr: 0.1, lrDecay: lrDecay, weightDecay: wd, initialAccumulatorValue: initial, maximize: maximize));

    public static TheoryData<bool, double, bool, bool> AdamCases()
    {
        var d = new TheoryData<bool, double, bool, bool>();
        foreach (bool decoupled in new[] { false, true })
            foreach (double wd in new[] { 0, 0.01 })
                foreach (bool amsgrad in new[] { false, true })
                    foreach (bool maximize in new[] { false, true })
                        d.Add(decoupled, wd, amsgrad, maximize);
        return d;
    }

    [Theory]
    [MemberData(nameof(AdamCases))]
    public void Adam_fused_equals_composed(bool decoupled, double wd, bool amsgrad, bool maximize) =>
        AssertSameBits(ps => decoupled
            ? new AdamW(ps, lr: 0.01, beta1: 0.9, beta2: 0.999, weightDecay: wd, amsgrad: amsgrad, maximize: maximize)
            : new Adam(ps, lr: 0.01, beta1: 0.9, beta2: 0.999, weightDecay: wd, amsgrad: amsgrad, maximize: maximize));

    // Hyperparameters changed between steps (a schedule, a user) are read at each step by both paths.
    [Fact]
    public void A_changed_learning_rate_is_read_at_the_next_step()
    {
        AssertSameBits(ps => new Adam(ps, lr: 0.01, amsgrad: true), (opt, step) => opt.ParamGroups[0].LearningRate = 0.01 / (step + 1));
        AssertSameBits(ps => new SGD(ps, lr: 0.1, momentum: 0.9), (opt, step) => opt.ParamGroups[0]["momentum"] = 0.9 - 0.1 * step);
    }

    // ---- every vector width --------------------------------------------------------------------------------

    [Fact]
    public void Every_kernel_gives_the_same_bits_at_every_vector_width()
    {
        int n = 2 * 16 * 1024 + 37;   // two threaded blocks and a tail shorter than any vector
        var rng = new Random(5);
        float[] p0 = Values(rng, n, 2), g = Gradient(rng, n), a0 = Values(rng, n, 0.1f), b0 = Positive(rng, n), c0 = Positive(rng, n);
        foreach (var (name, kernel) in Kernels())
        {
            float[][] Run(int bits)
            {
                float[] p = (float[])p0.Clone(), a = (float[])a0.Clone(), b = (float[])b0.Clone(), c = (float[])c0.Clone();
                for (int step = 0; step < 3; step++) kernel(p, g, a, b, c, step, bits);
                return [p, a, b, c];
            }
            var scalar = Run(0);
            Assert.NotEqual(p0, scalar[0]);
            foreach (int bits in new[] { 128, 256, 512 })
            {
                var wide = Run(bits);
                for (int k = 0; k < scalar.Length; k++) AssertBits($"{name} at {bits} bits, array {k}", scalar[k], wide[k]);
            }
        }
    }

    // Each kernel with every option on; a, b, c are its state arrays.
    delegate void Kernel(float[] p, float[] g, float[] a, float[] b, float[] c, int step, int bits);

    static IEnumerable<(string, Kernel)> Kernels() =>
    [
        ("sgd", (p, g, a, b, c, step, bits) => OptimizerKernels.Sgd(p, g, a, 0.01f, 0.9f, 0f, true, true, step == 0, -0.05f, bits)),
        ("sgd dampened", (p, g, a, b, c, step, bits) => OptimizerKernels.Sgd(p, g, a, 0.01f, 0.9f, 0.3f, false, false, false, -0.05f, bits)),
        ("sgd plain", (p, g, a, b, c, step, bits) => OptimizerKernels.Sgd(p, g, [], 0f, 0f, 0f, false, false, false, -0.05f, bits)),
        ("rmsprop", (p, g, a, b, c, step, bits) => OptimizerKernels.RmsProp(p, g, b, a, c, 0.9f, 1e-8f, 0.01f, 0.5f, true, -0.01f, bits)),
        ("rmsprop plain", (p, g, a, b, c, step, bits) => OptimizerKernels.RmsProp(p, g, b, [], [], 0.9f, 1e-8f, 0f, 0f, false, -0.01f, bits)),
        ("adagrad", (p, g, a, b, c, step, bits) => OptimizerKernels.Adagrad(p, g, b, 0.01f, 1e-10f, true, -0.1f, bits)),
        ("adam amsgrad", (p, g, a, b, c, step, bits) =>
            OptimizerKernels.Adam(p, g, a, b, c, 0.01f, 1f, 0.9f, 0.1f, 0.999f, 0.001f, 0.03f, 1e-8f, -0.01f, true, bits)),
        ("adamw", (p, g, a, b, c, step, bits) =>
            OptimizerKernels.Adam(p, g, a, b, [], 0f, 0.999f, 0.9f, 0.1f, 0.999f, 0.001f, 0.03f, 1e-8f, -0.01f, false, bits)),
    ];

    // ---- allocation --------------------------------------------------------------------------------------------

    [Fact]
    public void A_kernel_call_allocates_nothing()
    {
        int n = 40000;   // three 16K blocks: the threaded loop
        var rng = new Random(3);
        float[] p = Values(rng, n, 1), g = Gradient(rng, n), a = Values(rng, n, 0.1f), b = Positive(rng, n), c = Positive(rng, n);
        foreach (var (name, kernel) in Kernels())
        {
            // Past the JIT's call-counting threshold (30) and its delay (100 ms): its tier-up can allocate once on the
            // calling thread.
            for (int i = 0; i < 40; i++) kernel(p, g, a, b, c, 1, 512);
            Thread.Sleep(300);
            for (int i = 0; i < 10; i++) kernel(p, g, a, b, c, 1, 512);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10; i++) kernel(p, g, a, b, c, 1, 512);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated == 0, $"{name}: {allocated} bytes in 10 calls");
        }
    }

    // What the kernels are for: a warm optimizer step, any variant, captured and replayed, allocates nothing (the
    // composed path allocates a tensor per op and cannot be captured).
    [Fact]
    public void A_replayed_fused_step_allocates_nothing()
    {
        var makers = new (string, Func<Tensor[], Optimizer>)[]
        {
            ("sgd", ps => new SGD(ps, lr: 0.01, momentum: 0.9, weightDecay: 0.01, nesterov: true, maximize: true)),
            ("rmsprop", ps => new RMSProp(ps, lr: 0.01, weightDecay: 0.01, momentum: 0.5, centered: true, maximize: true)),
            ("adagrad", ps => new Adagrad(ps, lr: 0.01, lrDecay: 0.01, weightDecay: 0.01, maximize: true)),
            ("adam", ps => new Adam(ps, lr: 0.01, weightDecay: 0.01, amsgrad: true, maximize: true)),
            ("adamw", ps => new AdamW(ps, lr: 0.01, amsgrad: true, maximize: true)),
        };
        foreach (var (name, make) in makers)
        {
            var rng = new Random(4);
            var ps = Shapes.Select(s => Tensor.FromArray(Values(rng, Numel(s), 1), s).RequiresGrad_()).ToArray();
            foreach (var p in ps) p.Grad = Tensor.FromArray(Gradient(rng, p.Numel), [.. p.Shape]);
            var opt = make(ps);
            opt.Step();
            using var graph = new StepGraph();
            Assert.True(graph.Capture(opt.Step), graph.Failure);
            for (int i = 0; i < 40; i++) graph.Replay();
            Thread.Sleep(300);
            for (int i = 0; i < 10; i++) graph.Replay();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10; i++) graph.Replay();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated == 0, $"{name}: {allocated} bytes in 10 steps");
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    static void AssertSameBits(Func<Tensor[], Optimizer> make, Action<Optimizer, int>? beforeStep = null)
    {
        var composed = Run(make, fused: false, beforeStep);
        var fused = Run(make, fused: true, beforeStep);
        for (int step = 0; step < Steps; step++)
        {
            Assert.Equal(composed[step].Select(e => e.Name), fused[step].Select(e => e.Name));
            for (int k = 0; k < composed[step].Count; k++)
                AssertBits($"step {step + 1}, {composed[step][k].Name}", composed[step][k].Values, fused[step][k].Values);
        }
        // The run moved the parameters (the comparison is not of two untouched copies).
        Assert.NotEqual(composed[0][0].Values, composed[^1][0].Values);
    }

    // After each step: every parameter, its step count and its state buffers in creation order.
    static List<List<(string Name, float[] Values)>> Run(Func<Tensor[], Optimizer> make, bool fused, Action<Optimizer, int>? beforeStep)
    {
        var rng = new Random(42);
        var ps = Shapes.Select(s => Tensor.FromArray(Values(rng, Numel(s), 1), s).RequiresGrad_()).ToArray();
        var opt = make(ps);
        var snapshots = new List<List<(string, float[])>>();
        bool sgd = SGD.UseFusedKernel, rms = RMSProp.UseFusedKernel, adagrad = Adagrad.UseFusedKernel, adam = Adam.UseFusedKernel;
        SGD.UseFusedKernel = RMSProp.UseFusedKernel = Adagrad.UseFusedKernel = Adam.UseFusedKernel = fused;
        try
        {
            for (int step = 0; step < Steps; step++)
            {
                foreach (var p in ps) p.Grad = Tensor.FromArray(Gradient(rng, p.Numel), [.. p.Shape]);
                beforeStep?.Invoke(opt, step);
                opt.Step();
                var snapshot = new List<(string, float[])>();
                for (int i = 0; i < ps.Length; i++)
                {
                    snapshot.Add(($"p{i}", ps[i].ToArray()));
                    var s = opt.StateOf(ps[i])!;
                    snapshot.Add(($"p{i}.step", [s.Step]));
                    foreach (var (name, t) in s.Buffers) snapshot.Add(($"p{i}.{name}", t.ToArray()));
                }
                snapshots.Add(snapshot);
            }
        }
        finally
        {
            (SGD.UseFusedKernel, RMSProp.UseFusedKernel, Adagrad.UseFusedKernel, Adam.UseFusedKernel) = (sgd, rms, adagrad, adam);
        }
        return snapshots;
    }

    static void AssertBits(string what, float[] expected, float[] actual)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} is {actual[i]:R} (0x{BitConverter.SingleToInt32Bits(actual[i]):X8}), composed {expected[i]:R} (0x{BitConverter.SingleToInt32Bits(expected[i]):X8})");
    }

    static int Numel(int[] shape) => shape.Aggregate(1, (a, b) => a * b);

    static float[] Values(Random rng, int n, float scale) => [.. Enumerable.Range(0, n).Select(_ => (rng.NextSingle() - 0.5f) * 2 * scale)];

    static float[] Positive(Random rng, int n) => [.. Enumerable.Range(0, n).Select(_ => rng.NextSingle() * 0.01f)];

    // Magnitudes over several decades, with exact zeros of both signs in different places each step (the signs of
    // zero must survive too).
    static float[] Gradient(Random rng, int n) => [.. Enumerable.Range(0, n).Select(_ => rng.Next(16) switch
    {
        0 => 0f,
        1 => -0f,
        _ => (rng.NextSingle() - 0.5f) * MathF.Pow(10, rng.Next(-4, 2)),
    })];
}
