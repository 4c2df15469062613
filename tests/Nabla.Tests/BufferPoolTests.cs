using System.Runtime.CompilerServices;
using Nabla.Backends;

namespace Nabla.Tests;

/// <summary>
/// The CPU caching allocator: a dead storage's buffer is reused (and zeroed when asked), a live tensor's buffer never
/// is, and outputs allocated without zeroing are written in full by their kernels even when the buffer is dirty.
/// Lengths are odd sizes no other test uses, because the pool is shared by the tests running in parallel.
/// </summary>
public class BufferPoolTests
{
    static float[] Data(Tensor t) => ((CpuStorage)t.Storage).Data;

    [MethodImpl(MethodImplOptions.NoInlining)]
    static float[] DropFilled(int length, float value)
    {
        var t = Tensor.Full([length], value);
        return Data(t);
    }

    static void CollectDead()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Fact]
    public void DeadStorageBufferIsReusedAndZeroedForZeros()
    {
        const int length = 123_457;
        var old = DropFilled(length, 7f);
        CollectDead();
        var t = Tensor.Zeros(length);
        Assert.Same(old, Data(t));
        Assert.All(t.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void LiveTensorsNeverShareBuffersAcrossCollections()
    {
        var live = new List<(Tensor T, float V)>();
        for (int round = 0; round < 40; round++)
        {
            int length = 33_331 + round % 3;
            live.Add((Tensor.Full([length], round), round));
            DropFilled(length, -1f); // churn: dead storages of the same lengths
            if (round % 5 == 0) CollectDead();
        }
        Assert.Equal(live.Count, live.Select(l => Data(l.T)).Distinct(ReferenceEqualityComparer.Instance).Count());
        foreach (var (t, v) in live) Assert.All(t.ToArray(), x => Assert.Equal(v, x));
    }

    [Fact]
    public void UninitializedOutputsAreWrittenInFullOverDirtyBuffers()
    {
        var g = new Generator(5);
        var x = Tensor.Randn([3, 5, 19, 21], g).RequiresGrad_();
        var w = Tensor.Randn([7, 5, 3, 3], g).RequiresGrad_();
        var b = Tensor.Randn([7], g).RequiresGrad_();
        (float[] y, float[] gx, float[] gw, float[] gb) Run()
        {
            x.Grad = null; w.Grad = null; b.Grad = null;
            var y = Functional.MaxPool2d(Functional.Conv2d(x, w, b, (1, 1), (1, 1)).Relu(), 2);
            var loss = (y * y).Sum();
            loss.Backward();
            return (y.ToArray(), x.Grad!.ToArray(), w.Grad!.ToArray(), b.Grad!.ToArray());
        }
        var clean = Run();
        // Fill the pool with NaN buffers of every size the step uses, then run it again.
        foreach (int n in new[] { x.Numel, 3 * 7 * 19 * 21, 3 * 7 * 9 * 10, w.Numel })
            for (int k = 0; k < 4; k++) DropFilled(n, float.NaN);
        CollectDead();
        var dirty = Run();
        Assert.Equal(clean.y, dirty.y);
        Assert.Equal(clean.gx, dirty.gx);
        Assert.Equal(clean.gw, dirty.gw);
        Assert.Equal(clean.gb, dirty.gb);
    }

    [Fact]
    public void ComputationIsExactWhileAnotherThreadChurnsThePool()
    {
        const int length = 45_679;
        var g = new Generator(11);
        var x = Tensor.Randn([length], g);
        var expected = ((x * 2f + 1f).Relu() - x).ToArray();
        using var stop = new CancellationTokenSource();
        var churn = new Thread(() =>
        {
            int i = 0;
            while (!stop.IsCancellationRequested)
            {
                DropFilled(length, float.NaN);
                if (++i % 16 == 0) GC.Collect(1);
            }
        });
        churn.Start();
        try
        {
            for (int r = 0; r < 200; r++)
                Assert.Equal(expected, ((x * 2f + 1f).Relu() - x).ToArray());
        }
        finally
        {
            stop.Cancel();
            churn.Join();
        }
    }

    [Fact]
    public void EmptyCacheLetsIdleBuffersGo()
    {
        const int length = 77_777;
        var old = DropFilled(length, 1f);
        CollectDead();
        Tensor.Zeros(length + 1); // a miss: the pool takes the dead storage's buffer back as idle
        CpuBackend.EmptyCache();
        Assert.NotSame(old, Data(Tensor.Zeros(length)));
    }
}
