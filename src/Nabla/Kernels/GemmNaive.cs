namespace Nabla.Kernels;

/// <summary>
/// The plain triple-loop single-precision GEMM: the slow, obviously correct reference twin of
/// <see cref="Gemm.Sgemm"/> used by tests and benchmarks. Same signature and semantics.
/// </summary>
public static class GemmNaive
{
    /// <summary>
    /// Row-major C = op(A)·op(B) (+ C when <paramref name="accumulate"/>), summing in float in p order.
    /// See <see cref="Gemm.Sgemm"/> for the meaning of every argument.
    /// </summary>
    /// <exception cref="ArgumentException">A size is negative, a leading dimension is too small or a span too short.</exception>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, bool accumulate)
    {
        Gemm.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float sum = 0f;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * lda + i] : a[i * lda + p];
                    float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += av * bv;
                }
                int ci = i * ldc + j;
                c[ci] = accumulate ? c[ci] + sum : sum;
            }
        }
    }
}
