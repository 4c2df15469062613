using Nabla.Distributed;
using Nabla.Optim;

namespace Nabla.Tests;

/// <summary>
/// The distributed pieces that need no MPI: shards, the one-process communicator, the gradient reduction as a launch
/// inside a captured step (replayed with the weight it reads when it runs, allocating nothing), the split results sent
/// between ranks. Under mpirun: MpiTests.
/// </summary>
public class DistributedTests
{
    [Theory]
    [InlineData(128, 2, new[] { 64, 64 })]
    [InlineData(63, 2, new[] { 32, 31 })]
    [InlineData(10, 4, new[] { 3, 3, 2, 2 })]
    [InlineData(3, 4, new[] { 1, 1, 1, 0 })]
    public void Shards_are_contiguous_cover_the_batch_and_the_first_ranks_take_the_remainder(int count, int size, int[] expected)
    {
        int next = 0;
        for (int r = 0; r < size; r++)
        {
            var (start, n) = Communicator.Shard(count, r, size);
            Assert.Equal(next, start);
            Assert.Equal(expected[r], n);
            next += n;
        }
        Assert.Equal(count, next);
        Assert.Throws<ArgumentOutOfRangeException>(() => Communicator.Shard(count, size, size));
        Assert.Throws<ArgumentOutOfRangeException>(() => Communicator.Shard(count, 0, 0));
    }

    [Fact]
    public void The_single_process_communicator_is_rank_0_of_1_and_changes_nothing()
    {
        var c = Communicator.Single;
        Assert.Equal((0, 1), (c.Rank, c.Size));
        float[] x = [1, 2, 3];
        c.AllReduceSum(x);
        c.Broadcast(x, 0);
        Assert.Equal([1f, 2f, 3f], x);
        Assert.Equal([[7, 8]], c.Gather(new byte[] { 7, 8 }, 0));
        Assert.Same(c, c.Split(3, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => c.Broadcast(x, 1));
        // Not under mpirun: FromEnvironment is the single process.
        if (!Communicator.UnderMpiLauncher) Assert.Same(c, Communicator.FromEnvironment());
    }

    // A stand-in for two ranks holding the same values: the sum over ranks is twice the value.
    private sealed class Doubling : ICommunicator
    {
        public int Calls;
        public int Rank => 0;
        public int Size => 2;
        public int LocalSize => 2;
        public string Description => "test";
        public TimeSpan Timeout { get; set; }
        public void Barrier() { }
        public void Broadcast(Span<float> data, int root = 0) { }
        public void Broadcast(Span<byte> data, int root = 0) { }
        public void AllReduceSum(Span<float> data)
        {
            Calls++;
            foreach (ref var v in data) v *= 2;
        }
        public void AllReduceSum(Span<double> data) { foreach (ref var v in data) v *= 2; }
        public byte[][]? Gather(ReadOnlySpan<byte> data, int root = 0) => [data.ToArray(), data.ToArray()];
        public ICommunicator Split(int color, int key) => this;
        public void Abort(int code) { }
        public void Dispose() { }
    }

    [Fact]
    public void The_gradient_reduction_is_a_launch_a_captured_step_replays_with_its_current_weight_and_no_allocation()
    {
        var model = new Sequential(new Linear(4, 3, 1), new ReLU(), new Linear(3, 2, 2));
        var x = Tensor.Randn([5, 4], new Generator(3));
        var y = IntTensor.FromArray([0, 1, 1, 0, 1]);
        var comm = new Doubling();
        var sync = new GradientSync(comm);
        var parameters = model.Parameters().ToArray();
        Tensor? loss = null;
        void Step()
        {
            foreach (var p in parameters) p.Grad = null;
            loss = new CrossEntropyLoss().Forward(model.Forward(x), y);
            loss.Backward();
            sync.Reduce([.. parameters.Select(p => p.Grad!), loss]);
        }
        // The eager reference: gradients and loss of the same step, unreduced.
        foreach (var p in parameters) p.Grad = null;
        var reference = new CrossEntropyLoss().Forward(model.Forward(x), y);
        reference.Backward();
        var grads = parameters.Select(p => p.Grad!.ToArray()).ToArray();
        float value = reference.Item();

        using var graph = new StepGraph();
        sync.Weight = 0.25f;
        Assert.True(graph.Capture(Step), graph.Failure);
        // Reduced = weight · value · 2 (two "ranks"), for every gradient and the loss.
        Assert.Equal(value * 0.25f * 2, loss!.Item(), 6);
        for (int i = 0; i < parameters.Length; i++)
            Assert.Equal(grads[i].Select(g => g * 0.5f), parameters[i].Grad!.ToArray());
        // A replay reads the weight when it runs (a last, smaller batch changes it).
        sync.Weight = 0.75f;
        graph.Replay();
        Assert.Equal(value * 0.75f * 2, loss.Item(), 6);
        for (int i = 0; i < parameters.Length; i++)
            Assert.Equal(grads[i].Select(g => g * 1.5f), parameters[i].Grad!.ToArray());
        for (int i = 0; i < 5; i++) graph.Replay();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) graph.Replay();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1 + 1 + 5 + 20, comm.Calls);
        Assert.Equal(comm.Calls, sync.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Synchronised_batchnorm_on_one_rank_is_batchnorm_forward_backward_and_running_statistics(bool relu)
    {
        (float[] Y, float[] Gx, float[] Gw, float[] Gb, float[] Mean, float[] Var) Run(bool synchronised)
        {
            var bn = new BatchNorm2d(3);
            using (Nabla.Autograd.GradMode.NoGrad())
            {
                bn.Weight!.CopyFrom(Tensor.FromArray([1.5f, -0.5f, 2f], 3));
                bn.Bias!.CopyFrom(Tensor.FromArray([0.1f, 0.2f, -0.3f], 3));
            }
            var model = new Sequential(bn);
            if (synchronised) Assert.Equal(1, SyncBatchNorm.Apply(model, new GradientSync(Communicator.Single)));
            var x = (Tensor.Randn([4, 3, 5, 5], new Generator(8)) * 2f + 1f).Detach();
            x.RequiresGrad = true;
            var y = relu ? bn.ForwardRelu(x) : bn.Forward(x);
            (y * Tensor.Randn([4, 3, 5, 5], new Generator(9))).Sum().Backward();
            return (y.ToArray(), x.Grad!.ToArray(), bn.Weight!.Grad!.ToArray(), bn.Bias!.Grad!.ToArray(), bn.RunningMean!.ToArray(), bn.RunningVar!.ToArray());
        }
        var plain = Run(false);
        var synced = Run(true);
        static void Close(float[] a, float[] b, float tol)
        {
            Assert.Equal(a.Length, b.Length);
            for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= tol * (1 + Math.Abs(a[i])), $"[{i}] {a[i]} against {b[i]}");
        }
        // Composed from autograd ops (one-pass variance) against the fused kernel: the same values within float rounding.
        Close(plain.Y, synced.Y, 1e-4f);
        Close(plain.Gx, synced.Gx, 1e-4f);
        Close(plain.Gw, synced.Gw, 1e-4f);
        Close(plain.Gb, synced.Gb, 1e-4f);
        Close(plain.Mean, synced.Mean, 1e-5f);
        Close(plain.Var, synced.Var, 1e-5f);
    }

    [Fact]
    public void Split_results_travel_between_ranks_with_every_number()
    {
        var folds = new[]
        {
            new Validation.FoldResult(3, 70, 30, new Dictionary<string, double> { ["accuracy"] = 0.1 + 0.2, ["loss"] = double.NaN }, 4, 2, 1.25, new Training.History(), null),
            new Validation.FoldResult(1, 71, 29, new Dictionary<string, double> { ["accuracy"] = 1.0 / 3, ["loss"] = 2.5e-300 }, 5, null, 0.5, new Training.History(), null),
        };
        // Each rank's folds encoded, decoded on rank 0 and encoded together, decoded on every rank: as CrossValidator sends them.
        byte[][] parts = [Validation.FoldCodec.Encode([folds[0]]), Validation.FoldCodec.Encode([folds[1]])];
        var back = Validation.FoldCodec.Decode(Validation.FoldCodec.Encode(parts.SelectMany(Validation.FoldCodec.Decode))).ToArray();
        Assert.Equal([1, 3], back.Select(f => f.Index));
        foreach (var f in back)
        {
            var o = folds.Single(x => x.Index == f.Index);
            Assert.Equal((o.TrainCount, o.ValidationCount, o.EpochsRun, o.BestEpoch, o.Seconds), (f.TrainCount, f.ValidationCount, f.EpochsRun, f.BestEpoch, f.Seconds));
            foreach (var (k, v) in o.Metrics) Assert.Equal(v, f.Metrics[k]);   // bit for bit, NaN included
        }
    }

    [Fact]
    public void A_distributed_cross_validation_refuses_groups_that_do_not_divide_the_ranks_and_kept_models()
    {
        var x = Tensor.Randn([20, 3], new Generator(1));
        var data = new Data.TensorDataset(x, x.Narrow(1, 0, 2).ArgMax(1), 2);
        Validation.TrainingSetup Setup(int i)
        {
            var m = new Sequential(new Linear(3, 2, i));
            return new Validation.TrainingSetup(m, new CrossEntropyLoss(), new SGD(m.Parameters(), lr: 0.1), 1);
        }
        var cv = new Validation.CrossValidator(new Validation.KFold(2)) { Communicator = new Doubling(), RanksPerRun = 3 };
        var e = Assert.Throws<ArgumentException>(() => cv.Run(data, Setup));
        Assert.Contains("RanksPerRun 3 must divide the 2 ranks", e.Message);
        cv.RanksPerRun = 1;
        Assert.Throws<InvalidOperationException>(() => cv.Run(data, Setup, keepModels: true));
    }

    [Fact]
    public void A_trainer_with_a_one_rank_communicator_trains_as_without_one()
    {
        Training.History Fit(ICommunicator? c)
        {
            var gen = new Generator(5);
            var x = Tensor.Randn([100, 6], gen);
            var y = x.Narrow(1, 0, 3).ArgMax(1);
            var model = new Sequential(new Linear(6, 8, 1), new ReLU(), new Linear(8, 3, 2));
            return new Training.Trainer(new Training.TrainerOptions { BatchSize = 16, Seed = 1, Communicator = c, BackgroundLoading = false })
                .Fit(model, new CrossEntropyLoss(), new Adam(model.Parameters(), lr: 1e-2), new Data.TensorDataset(x, y, 3), null, 2);
        }
        var a = Fit(null);
        var b = Fit(Communicator.Single);
        Assert.Equal(a.Series("loss"), b.Series("loss"));
        Assert.Equal(1, b.Ranks);
    }
}
