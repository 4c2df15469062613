using Nabla.Kernels;

namespace Nabla.Tests;

public class GemmTests
{
    private static readonly (int M, int N, int K)[] Sizes =
    [
        (1, 1, 1), (2, 3, 4), (7, 13, 5), (6, 16, 1), (17, 33, 65), (64, 64, 64),
        (100, 37, 300), (1, 1000, 1), (1000, 1, 3), (255, 129, 257),
    ];

    public static TheoryData<bool, bool, int, int, int, int, bool> Cases()
    {
        var data = new TheoryData<bool, bool, int, int, int, int, bool>();
        for (int s = 0; s < Sizes.Length; s++)
        {
            var (m, n, k) = Sizes[s];
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    foreach (bool acc in new[] { false, true })
                    {
                        int pad = (s + (ta ? 1 : 0) + (acc ? 1 : 0)) % 3 == 0 ? 0 : 1 + s % 5; // extra ld in some rows
                        data.Add(ta, tb, m, n, k, pad, acc);
                    }
        }
        return data;
    }

    private sealed class Problem
    {
        public required bool TransA, TransB, Accumulate;
        public required int M, N, K, Lda, Ldb, Ldc;
        public required float[] A, B, C0;
    }

    private static Problem Make(bool ta, bool tb, int m, int n, int k, int pad, bool acc, int seed)
    {
        var rng = new Random(seed);
        int aRows = ta ? k : m, aCols = ta ? m : k;
        int bRows = tb ? n : k, bCols = tb ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        var a = new float[Math.Max(0, (aRows - 1) * lda + aCols)];
        var b = new float[Math.Max(0, (bRows - 1) * ldb + bCols)];
        var c = new float[Math.Max(0, (m - 1) * ldc + n)];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < c.Length; i++) c[i] = (float)(rng.NextDouble() * 2 - 1);
        return new Problem
        {
            TransA = ta, TransB = tb, Accumulate = acc, M = m, N = n, K = k,
            Lda = lda, Ldb = ldb, Ldc = ldc, A = a, B = b, C0 = c,
        };
    }

    private static float[] RunFast(Problem p)
    {
        var c = (float[])p.C0.Clone();
        Gemm.Sgemm(p.TransA, p.TransB, p.M, p.N, p.K, p.A, p.Lda, p.B, p.Ldb, c, p.Ldc, p.Accumulate);
        return c;
    }

    private static void AssertClose(Problem p, float[] actual)
    {
        var expected = (float[])p.C0.Clone();
        GemmNaive.Sgemm(p.TransA, p.TransB, p.M, p.N, p.K, p.A, p.Lda, p.B, p.Ldb, expected, p.Ldc, p.Accumulate);
        for (int i = 0; i < p.M; i++)
        {
            for (int j = 0; j < p.N; j++)
            {
                double scale = p.Accumulate ? Math.Abs(p.C0[i * p.Ldc + j]) : 0;
                for (int q = 0; q < p.K; q++)
                {
                    float av = p.TransA ? p.A[q * p.Lda + i] : p.A[i * p.Lda + q];
                    float bv = p.TransB ? p.B[j * p.Ldb + q] : p.B[q * p.Ldb + j];
                    scale += Math.Abs((double)av * bv);
                }
                float e = expected[i * p.Ldc + j], x = actual[i * p.Ldc + j];
                double tol = 1e-4 * scale + 1e-30;
                if (!(Math.Abs(e - x) <= tol))
                    Assert.Fail($"C[{i},{j}]: fast {x} vs naive {e} (tol {tol}), transA={p.TransA} transB={p.TransB} m={p.M} n={p.N} k={p.K}");
            }
            // The ld padding between rows must be untouched.
            for (int j = p.N; j < p.Ldc && i * p.Ldc + j < actual.Length; j++)
                Assert.Equal(p.C0[i * p.Ldc + j], actual[i * p.Ldc + j]);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FastMatchesNaive(bool transA, bool transB, int m, int n, int k, int pad, bool accumulate)
    {
        var p = Make(transA, transB, m, n, k, pad, accumulate, seed: m * 7919 + n * 104729 + k * 13 + pad);
        AssertClose(p, RunFast(p));
    }

    [Theory]
    [InlineData(false, false, 7, 13, 5)]
    [InlineData(true, true, 17, 33, 65)]
    [InlineData(true, false, 100, 37, 300)]
    [InlineData(false, true, 64, 64, 64)]
    public void PortablePathMatchesNaive(bool transA, bool transB, int m, int n, int k)
    {
        foreach (bool acc in new[] { false, true })
        {
            var p = Make(transA, transB, m, n, k, 2, acc, seed: 42 + m);
            var c = (float[])p.C0.Clone();
            Gemm.SgemmCore(p.TransA, p.TransB, p.M, p.N, p.K, p.A, p.Lda, p.B, p.Ldb, c, p.Ldc, p.Accumulate, Gemm.GemmKernel.Scalar);
            AssertClose(p, c);
        }
    }

    [Theory]
    [InlineData(false, false, 7, 13, 5)]
    [InlineData(true, true, 17, 33, 65)]
    [InlineData(true, false, 100, 37, 300)]
    [InlineData(false, true, 64, 64, 64)]
    [InlineData(false, false, 255, 129, 257)]
    [InlineData(true, true, 1, 1000, 1)]
    [InlineData(false, true, 1000, 1, 3)]
    public void Vector256PathMatchesNaiveAndWidestPath(bool transA, bool transB, int m, int n, int k)
    {
        foreach (bool acc in new[] { false, true })
        {
            var p = Make(transA, transB, m, n, k, 1, acc, seed: 7 + n);
            var c = (float[])p.C0.Clone();
            Gemm.SgemmCore(p.TransA, p.TransB, p.M, p.N, p.K, p.A, p.Lda, p.B, p.Ldb, c, p.Ldc, p.Accumulate, Gemm.GemmKernel.Avx2);
            AssertClose(p, c);
            // The Vector512 kernel (where present) does the same per-element FMAs in the same order.
            if (Gemm.BestKernel() != Gemm.GemmKernel.Scalar)
                Assert.Equal(c, RunFast(p));
        }
    }

    [Fact]
    public void ThreadCountDoesNotChangeBits()
    {
        int saved = Threads.Count;
        try
        {
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    var p = Make(ta, tb, 300, 300, 300, 0, false, seed: 300);
                    Threads.Count = 1;
                    float[] one = RunFast(p);
                    Threads.Count = 2;
                    float[] two = RunFast(p);
                    float[] twoAgain = RunFast(p);
                    Threads.Count = 3;
                    float[] three = RunFast(p);
                    Assert.Equal(one, two);
                    Assert.Equal(two, twoAgain);
                    Assert.Equal(one, three);
                    AssertClose(p, two);
                }
            // Tall-skinny: split over M.
            var q = Make(false, false, 700, 20, 100, 1, true, seed: 700);
            Threads.Count = 1;
            float[] q1 = RunFast(q);
            Threads.Count = 2;
            float[] q2 = RunFast(q);
            Assert.Equal(q1, q2);
            AssertClose(q, q2);
        }
        finally
        {
            Threads.Count = saved;
        }
    }

    [Fact]
    public void ConcurrentCallersGetCorrectResults()
    {
        var problems = Enumerable.Range(0, 4).Select(i => Make(i % 2 == 0, i / 2 == 0, 150 + i, 170, 130, 0, false, seed: i)).ToArray();
        var expected = problems.Select(RunFast).ToArray();
        Exception? failure = null;
        var wrapped = problems.Select((_, i) => new Thread(() =>
        {
            try { for (int r = 0; r < 10; r++) if (!expected[i].AsSpan().SequenceEqual(RunFast(problems[i]))) throw new Exception($"mismatch in caller {i}"); }
            catch (Exception e) { failure = e; }
        })).ToArray();
        foreach (var t in wrapped) t.Start();
        foreach (var t in wrapped) t.Join();
        Assert.Null(failure);
    }

    [Fact]
    public void ZeroSizes()
    {
        var a = new float[] { 1, 2, 3 };
        var b = new float[] { 4, 5, 6 };
        var c = new float[] { 7, 8, 9, 10 };
        // k == 0: C zeroed unless accumulate.
        Gemm.Sgemm(false, false, 2, 2, 0, [], 0, [], 2, c, 2, accumulate: true);
        Assert.Equal(new float[] { 7, 8, 9, 10 }, c);
        Gemm.Sgemm(false, false, 2, 2, 0, [], 0, [], 2, c, 2, accumulate: false);
        Assert.Equal(new float[] { 0, 0, 0, 0 }, c);
        GemmNaive.Sgemm(false, false, 2, 2, 0, [], 0, [], 2, c, 2, accumulate: false);
        // m == 0 or n == 0: nothing happens.
        Gemm.Sgemm(false, false, 0, 3, 1, [], 1, b, 3, [], 3, false);
        Gemm.Sgemm(false, false, 3, 0, 1, a, 1, [], 0, [], 0, false);
        Gemm.Sgemm(true, true, 0, 0, 0, [], 0, [], 0, [], 0, false);
    }

    [Fact]
    public void OneByOne()
    {
        var c = new float[] { 100 };
        Gemm.Sgemm(false, false, 1, 1, 1, [3f], 1, [4f], 1, c, 1, accumulate: false);
        Assert.Equal(12f, c[0]);
        Gemm.Sgemm(true, true, 1, 1, 1, [3f], 1, [4f], 1, c, 1, accumulate: true);
        Assert.Equal(24f, c[0]);
    }

    [Fact]
    public void InvalidArgumentsThrowArgumentException()
    {
        var a = new float[12];
        var b = new float[12];
        var c = new float[12];
        foreach (var sgemm in new SgemmFn[] { Gemm.Sgemm, GemmNaive.Sgemm })
        {
            Assert.ThrowsAny<ArgumentException>(() => sgemm(false, false, -1, 3, 4, a, 4, b, 3, c, 3, false));
            Assert.ThrowsAny<ArgumentException>(() => sgemm(false, false, 3, -1, 4, a, 4, b, 3, c, 3, false));
            Assert.ThrowsAny<ArgumentException>(() => sgemm(false, false, 3, 3, -4, a, 4, b, 3, c, 3, false));
            // ld too small
            var e = Assert.ThrowsAny<ArgumentException>(() => sgemm(false, false, 3, 3, 4, a, 3, b, 3, c, 3, false));
            Assert.Equal("lda", e.ParamName);
            e = Assert.ThrowsAny<ArgumentException>(() => sgemm(false, false, 3, 3, 4, a, 4, b, 2, c, 3, false));
            Assert.Equal("ldb", e.ParamName);
            e = Assert.ThrowsAny<ArgumentException>(() => sgemm(false, false, 3, 3, 4, a, 4, b, 3, c, 2, false));
            Assert.Equal("ldc", e.ParamName);
            e = Assert.ThrowsAny<ArgumentException>(() => sgemm(true, false, 3, 3, 4, a, 2, b, 3, c, 3, false));
            Assert.Equal("lda", e.ParamName);
            e = Assert.ThrowsAny<ArgumentException>(() => sgemm(false, true, 3, 3, 4, a, 4, b, 3, c, 3, false));
            Assert.Equal("ldb", e.ParamName);
            // spans too short
            e = Assert.ThrowsAny<ArgumentException>(() => sgemm(false, false, 3, 3, 4, a.AsSpan(0, 11), 4, b, 3, c, 3, false));
            Assert.Equal("a", e.ParamName);
            e = Assert.ThrowsAny<ArgumentException>(() => sgemm(false, false, 3, 3, 4, a, 4, b.AsSpan(0, 11), 3, c, 3, false));
            Assert.Equal("b", e.ParamName);
            e = Assert.ThrowsAny<ArgumentException>(() => sgemm(false, false, 3, 3, 4, a, 4, b, 3, c.AsSpan(0, 8), 3, false));
            Assert.Equal("c", e.ParamName);
            e = Assert.ThrowsAny<ArgumentException>(() => sgemm(false, false, 3, 3, 4, a, 4, b, 3, c, 5, false));
            Assert.Equal("c", e.ParamName);
            // exact minimum lengths are accepted
            sgemm(false, false, 3, 3, 4, a, 4, b, 3, c.AsSpan(0, 9), 3, false);
        }
    }

    private delegate void SgemmFn(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate);

    private sealed class ThrowingWork(int failingPart) : IParallelWork
    {
        public int Ran;
        public void Execute(int part)
        {
            Interlocked.Increment(ref Ran);
            if (part == failingPart) throw new InvalidOperationException("part " + part);
        }
    }

    private sealed class CountingWork : IParallelWork
    {
        public readonly int[] Counts = new int[4];
        public void Execute(int part) => Interlocked.Increment(ref Counts[part]);
    }

    [Fact]
    public void WorkerPoolRunsEveryPartExactlyOnce()
    {
        var work = new CountingWork();
        for (int i = 1; i <= 20000; i++)
        {
            if (i % 2000 == 0) Thread.Sleep(3); // let the workers fall asleep now and then
            WorkerPool.Run(i % 3 == 0 ? 3 : 2, work);
            int threeParts = i / 3;
            Assert.Equal(i, work.Counts[0]);
            Assert.Equal(i, work.Counts[1]);
            Assert.Equal(threeParts, work.Counts[2]);
        }
    }

    private sealed class NestedWork(IParallelWork inner) : IParallelWork
    {
        public Exception? Caught;
        public void Execute(int part)
        {
            if (part != 0) return;
            try
            {
                WorkerPool.Run(2, inner); // the pool is busy with this call: the nested one runs serially
            }
            catch (InvalidOperationException e)
            {
                Caught = e;
            }
        }
    }

    [Fact]
    public void WorkerPoolBusyFallbackRunsEveryPartBeforeRethrowing()
    {
        var inner = new ThrowingWork(0);
        var outer = new NestedWork(inner);
        WorkerPool.Run(2, outer);
        Assert.Equal("part 0", outer.Caught?.Message);
        Assert.Equal(2, inner.Ran);
    }

    [Fact]
    public void WorkerPoolRethrowsWorkerExceptionsOnCaller()
    {
        var work = new ThrowingWork(1);
        var ex = Assert.Throws<InvalidOperationException>(() => WorkerPool.Run(2, work));
        Assert.Equal("part 1", ex.Message);
        Assert.Equal(2, work.Ran);
        // The pool still works afterwards.
        var ok = new ThrowingWork(-1);
        WorkerPool.Run(3, ok);
        Assert.Equal(3, ok.Ran);
        var first = new ThrowingWork(0);
        Assert.Throws<InvalidOperationException>(() => WorkerPool.Run(2, first));
        Assert.Equal(2, first.Ran);
    }
}
