using BenchmarkDotNet.Attributes;
using Nabla.Kernels;
using TorchSharp;

namespace Nabla.Bench;

/// <summary>Square random inputs shared by the SGEMM benchmarks.</summary>
public abstract class SgemmInputs
{
    protected float[] A = [], B = [], C = [];

    public abstract int Size { get; }

    protected void Fill()
    {
        int n = Size;
        var rng = new Random(12345);
        A = new float[n * n];
        B = new float[n * n];
        C = new float[n * n];
        for (int i = 0; i < A.Length; i++) A[i] = rng.NextSingle() * 2 - 1;
        for (int i = 0; i < B.Length; i++) B[i] = rng.NextSingle() * 2 - 1;
    }
}

/// <summary>C = A·B with Nabla's packed, register-blocked GEMM on 2 threads.</summary>
public class SgemmNabla : SgemmInputs
{
    [Params(128, 256, 512, 1024, 2048)]
    public int N;

    public override int Size => N;

    [GlobalSetup]
    public void Setup()
    {
        Fill();
        Threads.Count = 2;
    }

    [Benchmark]
    public void Nabla2Threads() => Gemm.Sgemm(false, false, N, N, N, A, N, B, N, C, N, false);
}

/// <summary>C = A·B with the plain triple loop (small sizes only: it is slow).</summary>
public class SgemmNaive : SgemmInputs
{
    [Params(128, 256)]
    public int N;

    public override int Size => N;

    [GlobalSetup]
    public void Setup() => Fill();

    [Benchmark]
    public void Naive() => GemmNaive.Sgemm(false, false, N, N, N, A, N, B, N, C, N, false);
}

/// <summary>C = A·B with TorchSharp-cpu (libtorch + MKL) on 2 threads, inputs preallocated.</summary>
public class SgemmTorchSharp : SgemmInputs
{
    [Params(128, 256, 512, 1024, 2048)]
    public int N;

    public override int Size => N;

    private torch.Tensor _a = null!, _b = null!, _c = null!;

    [GlobalSetup]
    public void Setup()
    {
        Fill();
        torch.set_num_threads(2);
        _a = torch.tensor(A, [N, N]);
        _b = torch.tensor(B, [N, N]);
        _c = torch.zeros(N, N);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _a.Dispose();
        _b.Dispose();
        _c.Dispose();
    }

    /// <summary>torch.mm, which allocates its result (disposed at once).</summary>
    [Benchmark]
    public void TorchMm()
    {
        using torch.Tensor r = torch.mm(_a, _b);
    }

    /// <summary>The same product written into a preallocated tensor: c = 0·c + a·b.</summary>
    [Benchmark]
    public void TorchAddmmInPlace() => _c.addmm_(_a, _b, beta: 0, alpha: 1);
}
