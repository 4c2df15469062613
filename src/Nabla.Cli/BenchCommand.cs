using System.Diagnostics;
using System.Globalization;
using Nabla.Data;
using Nabla.Optim;

namespace Nabla.Cli;

/// <summary><c>nabla bench gemm|mlp|cnn|cnn-bn|resnet</c>: the performance workloads, measured in this process.</summary>
internal static class BenchCommand
{
    internal static readonly Opt[] Options =
    [
        new() { Name = "--threads", Value = "N", Help = "threads", Default = "all cores" },
        new() { Name = "--seconds", Value = "S", Help = "timed seconds", Default = "5" },
        new() { Name = "--size", Value = "N", Help = "gemm's n", Default = "1024" },
        new() { Name = "--json", Help = "print one line of JSON" },
    ];

    public static string Help => """
        nabla bench — measure a workload on this machine

        Usage:
          nabla bench gemm|mlp|cnn|cnn-bn|resnet [--threads N] [--seconds S] [--size N] [--json]

        gemm    square SGEMM (default n = 1024), GFLOP/s
        mlp     mlp:256,128 (ReLU), Adam, batch 128 on Fashion-MNIST-shaped data, samples/s
        cnn     the cnn model, Adam, batch 128, samples/s
        cnn-bn  cnn with BatchNorm and Dropout(0.5), samples/s
        resnet  resnet:20 (He et al.'s CIFAR net, 16/32/64 channels, projection shortcuts), Adam, batch 128, samples/s
        Uses Fashion-MNIST when installed, else random data of the same shape. Reports peak memory (RSS).
        --json prints {"workload":…,"samples_per_s"|"gflops":…,"peak_rss_mb":…,"threads":…} and, for training,
        "first_step_s": seconds from process start to the end of the first step, data load included, and
        "alloc_kib_per_step": managed memory allocated per timed step on every thread (the data loader's
        included), and "step_alloc_bytes": what the training step itself (forward, loss, backward, Adam)
        allocated per step (0 once every batch shape has been seen: the first batch of a new size, such as an
        epoch's smaller last one, builds its buffers). The comparison with
        TorchSharp and PyTorch lives in bench/ (see docs/PERFORMANCE.md).
        """ + "\n" + Opt.Render([("Options", Options)]);

    public static int Run(string[] args, TextWriter stdout)
    {
        var a = new CliArgs(args, Options, positionals: 1);
        if (a.HelpRequested)
        {
            stdout.Write(Help);
            return Program.Ok;
        }
        if (a.Positionals.Count == 0 || a.Positionals[0] is not ("gemm" or "mlp" or "cnn" or "cnn-bn" or "resnet"))
            throw new UsageException("bench needs a workload: gemm, mlp, cnn, cnn-bn or resnet (see --help).");
        Threads.Count = a.Int("--threads", Environment.ProcessorCount, 1, 1024);
        double seconds = a.Double("--seconds", 5, 0.1, 3600);
        string workload = a.Positionals[0];
        double value, startup = double.NaN, allocated = double.NaN, stepBytes = double.NaN;
        string unit;
        if (workload == "gemm")
        {
            int n = a.Int("--size", 1024, 1, 8192);
            value = Gemm(n, seconds);
            unit = "gflops";
        }
        else
        {
            (value, startup, allocated, stepBytes) = Training(workload, seconds);
            unit = "samples_per_s";
        }
        double rss = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
        string first = double.IsNaN(startup) ? "" : string.Create(CultureInfo.InvariantCulture, $",\"first_step_s\":{startup:F2},\"alloc_kib_per_step\":{allocated:F1},\"step_alloc_bytes\":{stepBytes:F0}");
        if (a.Flag("--json"))
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"workload\":\"{workload}\",\"{unit}\":{value:F1},\"peak_rss_mb\":{rss:F0},\"threads\":{Threads.Count},\"kernels\":\"{Program.Kernels}\"{first}}}"));
        else
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{workload}: {value:N1} {(unit == "gflops" ? "GFLOP/s" : "samples/s")}, peak RSS {rss:F0} MiB, {Threads.Count} threads; kernels: {Program.Kernels}")
                + (double.IsNaN(startup) ? "" : string.Create(CultureInfo.InvariantCulture,
                    $", first step done {startup:F2} s after process start, {allocated:F1} KiB of managed memory allocated per step ({stepBytes:F0} bytes by the step itself)")));
        return 0;
    }

    private static double Gemm(int n, double seconds)
    {
        var g = new Generator(1);
        var a = Tensor.Randn([n, n], g).ToArray();
        var b = Tensor.Randn([n, n], g).ToArray();
        var c = new float[n * n];
        Kernels.Gemm.Sgemm(false, false, n, n, n, a, n, b, n, c, n, false);
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds || times.Count < 3)
        {
            var sw = Stopwatch.StartNew();
            Kernels.Gemm.Sgemm(false, false, n, n, n, a, n, b, n, c, n, false);
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        return 2.0 * n * n * n / times[times.Count / 2] / 1e9;
    }

    // Samples/s, the seconds from process start to the end of the first step (data load included), and the managed
    // memory allocated per timed step on every thread, and the bytes the step itself allocated.
    private static (double SamplesPerSecond, double FirstStep, double AllocatedKiBPerStep, double StepBytes) Training(string workload, double seconds)
    {
        double firstStep = double.NaN;
        TensorDataset data;
        try
        {
            data = FashionMnist.LoadFull().Train;
        }
        catch (FileNotFoundException)
        {
            var g = new Generator(2);
            data = new TensorDataset(Tensor.Rand([60000, 1, 28, 28], g), IntTensor.FromArray(Enumerable.Range(0, 60000).Select(i => i % 10).ToArray()));
        }
        var options = workload == "cnn-bn" ? new ModelOptions(Dropout: 0.5f, Norm: "batch") : ModelOptions.None;
        string spec = workload switch { "mlp" => "mlp:256,128", "resnet" => "resnet:20", _ => "cnn" };
        var model = Models.FromSpec(spec, data.SampleShape, 10, new Generator(0), options: options);
        var opt = new Adam(model.Parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.999);
        var loader = new DataLoader(data, 128, seed: 0) { ReuseBuffers = true };   // as Trainer reads it
        var loss = new CrossEntropyLoss();
        // The step nabla train runs: eager once, then captured and replayed with each batch copied into its static inputs.
        var xs = Tensor.Zeros([128, .. data.SampleShape]);
        var ys = new IntTensor(new int[128], 128);
        var graph = new StepGraph();
        void Step()
        {
            opt.ZeroGrad();
            loss.Forward(model.Forward(xs), ys).Backward();
            opt.Step();
        }
        int samples = 0, warm = 0, steps = 0;
        long allocated0 = 0, stepBytes = 0;
        Stopwatch? clock = null;
        for (int epoch = 0; clock is null || clock.Elapsed.TotalSeconds < seconds; epoch++)
            foreach (var batch in loader.Epoch(epoch))
            {
                if (batch.Count != 128) continue;   // the epoch's short last batch: not timed
                long before = GC.GetAllocatedBytesForCurrentThread();
                xs.CopyFrom(batch.Features);
                batch.Labels!.Data.AsSpan().CopyTo(ys.Data);
                if (graph.IsCaptured) graph.Replay();
                else if (warm == 0) Step();
                else if (!graph.Capture(Step)) throw new InvalidOperationException($"bench: the {workload} step cannot be captured: {graph.Failure}");
                if (clock is not null) stepBytes += GC.GetAllocatedBytesForCurrentThread() - before;
                if (warm == 0) firstStep = (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds;
                if (++warm == 5)
                {
                    clock = Stopwatch.StartNew();
                    allocated0 = GC.GetTotalAllocatedBytes(precise: true);   // every thread: the loader's worker too
                }
                else if (clock is not null)
                {
                    samples += batch.Count;
                    steps++;
                }
                if (clock is not null && clock.Elapsed.TotalSeconds >= seconds) break;
            }
        double perStep = (GC.GetTotalAllocatedBytes(precise: true) - allocated0) / 1024.0 / Math.Max(1, steps);
        return (samples / clock!.Elapsed.TotalSeconds, firstStep, perStep, stepBytes / (double)Math.Max(1, steps));
    }
}
