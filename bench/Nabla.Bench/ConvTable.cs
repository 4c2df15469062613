using System.Globalization;
using Nabla.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace Nabla.Bench;

/// <summary>
/// <c>conv</c> mode: the two convolutions of the <c>cnn</c> model at batch 128 (3×3, padding 1, stride 1), timed by hand
/// (median of several samples after warm-up) at the layer level — <c>Functional.Conv2d</c> with autograd against
/// <c>torch.nn.functional.conv2d</c> with requires_grad inputs — and at the kernel level
/// (<c>Nabla.Kernels.Conv2d.Forward/BackwardData/BackwardWeight</c> on plain arrays). Prints ms per call and
/// TorchSharp / Nabla. Options: <c>--batch 128</c>, <c>--samples 7</c>, <c>--threads 2</c>, <c>--no-torch</c>.
/// </summary>
public static class ConvTable
{
    private const double SampleSeconds = 0.15;

    // Count: how many layers of the net have this shape (the per-net totals weight the rows by it).
    private sealed record Layer(string Name, int C, int H, int W, int OutC, int K = 3, int Stride = 1, int Count = 1);

    private static readonly Layer[] CnnLayers = [new("conv1", 1, 28, 28, 32), new("conv2", 32, 14, 14, 64)];

    // resnet:20 on 1×28×28: the stem, the 3×3 convolutions of the three stages, and the 1×1 stride-2 projections.
    private static readonly Layer[] ResNetLayers =
    [
        new("stem", 1, 28, 28, 16), new("stage1 3×3", 16, 28, 28, 16, Count: 6),
        new("stage2 first 3×3/2", 16, 28, 28, 32, Stride: 2), new("stage2 proj 1×1/2", 16, 28, 28, 32, K: 1, Stride: 2), new("stage2 3×3", 32, 14, 14, 32, Count: 5),
        new("stage3 first 3×3/2", 32, 14, 14, 64, Stride: 2), new("stage3 proj 1×1/2", 32, 14, 14, 64, K: 1, Stride: 2), new("stage3 3×3", 64, 7, 7, 64, Count: 5),
    ];

    public static int Run(string[] args)
    {
        int batch = 128, samples = 7, threads = 2;
        bool useTorch = true;
        var layers = CnnLayers;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--batch": batch = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--samples": samples = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--threads": threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--no-torch": useTorch = false; break;
                case "--net": layers = args[++i] == "resnet" ? ResNetLayers : CnnLayers; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}; use: conv [--net cnn|resnet] [--batch 128] [--samples 7] [--threads 2] [--no-torch]");
                    return 2;
            }
        }
        Threads.Count = threads;
        string? torchError = useTorch ? Timing.InitTorch(threads) : null;
        if (torchError is not null) useTorch = false;

        Console.WriteLine($"# Conv2d (k×k, padding k/2), float32, batch {batch} — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Timing.PrintMachine();
        Console.WriteLine($"# ms per call, median of {samples} samples of >= {SampleSeconds * 1000:F0} ms; Nabla Threads.Count = {threads}");
        if (useTorch) Console.WriteLine($"# TorchSharp: torch.get_num_threads() = {torch.get_num_threads()}; functional.conv2d, inputs requires_grad, grads set to none before each backward");
        else Console.WriteLine($"# TorchSharp not measured{(torchError is null ? "" : ": " + torchError)}");
        Console.WriteLine("# 'layer' = Functional.Conv2d + Backward (autograd); 'kernels' = Nabla.Kernels.Conv2d on arrays (bias gradient not included);");
        Console.WriteLine("# rows marked ≈ are differences of two measured rows (backward-data = all grads − weight grads; backward-weight = weight grads − forward)");
        Console.WriteLine();
        Console.WriteLine("| layer | pass | Nabla layer | Nabla kernels | TorchSharp | TorchSharp / Nabla layer |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: |");

        double totalSeconds = 0, totalGflop = 0, sgemm = SgemmRate(threads);
        foreach (var layer in layers)
        {
            int pad = layer.K / 2;
            var g = new ConvGeometry(batch, layer.C, layer.H, layer.W, layer.OutC, layer.K, layer.K, layer.Stride, layer.Stride, pad, pad, 1, 1, 1);
            (int, int) st = (layer.Stride, layer.Stride), pd = (pad, pad);
            var rng = new Random(12345);
            float scale = 1f / MathF.Sqrt(g.K);
            float[] x = Fill(rng, g.N * g.C * g.H * g.W, 1f);
            float[] w = Fill(rng, g.OutC * g.K, scale);
            float[] b = Fill(rng, g.OutC, scale);
            float[] gy = Fill(rng, g.N * g.OutC * g.P, 1f);
            int[] xShape = [g.N, g.C, g.H, g.W], wShape = [g.OutC, g.C, layer.K, layer.K], yShape = [g.N, g.OutC, g.OH, g.OW];

            // Kernels on plain arrays.
            var y = new float[gy.Length];
            var gx = new float[x.Length];
            var gw = new float[w.Length];
            double kFwd = Timing.Median(() => Kernels.Conv2d.Forward(x, w, y, g, b), samples, SampleSeconds);
            double kBd = Timing.Median(() => Kernels.Conv2d.BackwardData(gy, w, gx, g), samples, SampleSeconds);
            double kBw = Timing.Median(() => Kernels.Conv2d.BackwardWeight(gy, x, gw, g), samples, SampleSeconds);

            // Layer level: autograd records the graph on every forward.
            var tx = Tensor.FromArray(x, xShape).RequiresGrad_();
            var txNoGrad = Tensor.FromArray(x, xShape);
            var tw = Tensor.FromArray(w, wShape).RequiresGrad_();
            var tb = Tensor.FromArray(b, [g.OutC]).RequiresGrad_();
            var tgy = Tensor.FromArray(gy, yShape);
            double lFwd = Timing.Median(() => Functional.Conv2d(tx, tw, tb, st, pd), samples, SampleSeconds);
            double lFbW = Timing.Median(() =>
            {
                tw.Grad = null;
                tb.Grad = null;
                Functional.Conv2d(txNoGrad, tw, tb, st, pd).Backward(tgy);
            }, samples, SampleSeconds);
            double lFbAll = Timing.Median(() =>
            {
                tx.Grad = null;
                tw.Grad = null;
                tb.Grad = null;
                Functional.Conv2d(tx, tw, tb, st, pd).Backward(tgy);
            }, samples, SampleSeconds);

            double tFwd = double.NaN, tFbW = double.NaN, tFbAll = double.NaN;
            if (useTorch)
            {
                using var ux = torch.tensor(x, [g.N, g.C, g.H, g.W]).requires_grad_();
                using var uxNoGrad = torch.tensor(x, [g.N, g.C, g.H, g.W]);
                using var uw = torch.tensor(w, [g.OutC, g.C, layer.K, layer.K]).requires_grad_();
                using var ub = torch.tensor(b, [g.OutC]).requires_grad_();
                using var ugy = torch.tensor(gy, [g.N, g.OutC, g.OH, g.OW]);
                long[] one = [layer.Stride, layer.Stride], pads = [pad, pad];
                tFwd = Timing.Median(() =>
                {
                    using var scope = torch.NewDisposeScope();
                    nn.functional.conv2d(ux, uw, ub, one, pads);
                }, samples, SampleSeconds);
                tFbW = Timing.Median(() =>
                {
                    using var scope = torch.NewDisposeScope();
                    uw.grad = null;
                    ub.grad = null;
                    nn.functional.conv2d(uxNoGrad, uw, ub, one, pads).backward([ugy]);
                }, samples, SampleSeconds);
                tFbAll = Timing.Median(() =>
                {
                    using var scope = torch.NewDisposeScope();
                    ux.grad = null;
                    uw.grad = null;
                    ub.grad = null;
                    nn.functional.conv2d(ux, uw, ub, one, pads).backward([ugy]);
                }, samples, SampleSeconds);

                // Cross-check: kernels vs TorchSharp on the same data.
                Kernels.Conv2d.Forward(x, w, y, g, b);
                Kernels.Conv2d.BackwardData(gy, w, gx, g);
                Kernels.Conv2d.BackwardWeight(gy, x, gw, g);
                using var scope2 = torch.NewDisposeScope();
                ux.grad = null;
                uw.grad = null;
                var uy = nn.functional.conv2d(ux, uw, ub, one, pads);
                uy.backward([ugy]);
                Console.Error.WriteLine($"  {layer.Name}: max |Nabla-Torch| y {MaxDiff(y, uy)}, gx {MaxDiff(gx, ux.grad!)}, gw {MaxDiff(gw, uw.grad!)}");
            }

            string name = $"{layer.Name} ({g.N},{g.C},{g.H},{g.W})→{g.OutC}";
            Row(name, "forward", lFwd, kFwd, tFwd, false);
            Row(name, "backward-data", lFbAll - lFbW, kBd, tFbAll - tFbW, true);
            Row(name, "backward-weight (+bias)", lFbW - lFwd, kBw, tFbW - tFwd, true);
            Row(name, "forward+backward, weight grads (x no grad)", lFbW, kFwd + kBw, tFbW, false);
            Row(name, "forward+backward, all grads", lFbAll, kFwd + kBd + kBw, tFbAll, false);
            double gflop = 2.0 * g.N * g.OutC * g.P * g.K / 1e9;
            // A first layer's backward-data is never needed (its input is data): it is timed but not counted.
            bool first = layer.C <= 3;
            double seconds = kFwd + kBw + (first ? 0 : kBd), work = gflop * (first ? 2 : 3);
            Console.Error.WriteLine($"  {layer.Name}: {gflop:F3} GFLOP per pass; kernels forward {gflop / kFwd:F1}, backward-data {gflop / kBd:F1}, backward-weight {gflop / kBw:F1} GFLOP/s; " +
                $"all passes {work / seconds:F1} GFLOP/s = {work / seconds / sgemm:P0} of SGEMM, ×{layer.Count}: {seconds * layer.Count * 1e3:F2} ms" +
                (useTorch ? $"; TorchSharp forward {gflop / tFwd:F1} GFLOP/s" : ""));
            if (!first)
            {
                totalSeconds += seconds * layer.Count;
                totalGflop += work * layer.Count;
            }
        }
        Console.Error.WriteLine($"  all layers but the first: {totalGflop:F2} GFLOP in {totalSeconds * 1e3:F1} ms = {totalGflop / totalSeconds:F1} GFLOP/s, " +
            $"{totalGflop / totalSeconds / sgemm:P0} of SGEMM n = 1024 ({sgemm:F1} GFLOP/s, same process)");
        return 0;
    }

    // Nabla's SGEMM rate at n = 1024 (median of a few calls): the yardstick of the conv layers' effective rate.
    private static double SgemmRate(int threads)
    {
        const int n = 1024;
        var rng = new Random(1);
        float[] a = Fill(rng, n * n, 1f), b = Fill(rng, n * n, 1f), c = new float[n * n];
        double t = Timing.Median(() => Kernels.Gemm.Sgemm(false, false, n, n, n, a, n, b, n, c, n, false), 7, SampleSeconds);
        return 2.0 * n * n * n / t / 1e9;
    }

    private static void Row(string layer, string pass, double nabla, double kernels, double torchSec, bool derived)
    {
        string p = derived ? "≈ " : "";
        // A difference of two noisy rows can come out at or below zero; show it as unavailable.
        if (derived && nabla <= 0) nabla = double.NaN;
        if (derived && torchSec <= 0) torchSec = double.NaN;
        string ratio = double.IsNaN(torchSec) || double.IsNaN(nabla) ? "-" : (torchSec / nabla).ToString("F2", CultureInfo.InvariantCulture);
        string Cell(double v) => double.IsNaN(v) ? "-" : p + Ms(v);
        Console.WriteLine($"| {layer} | {pass} | {Cell(nabla)} | {Ms(kernels)} | {Cell(torchSec)} | {ratio} |");
    }

    private static string Ms(double seconds) => double.IsNaN(seconds) ? "-" : (seconds * 1e3).ToString("F2", CultureInfo.InvariantCulture);

    private static float[] Fill(Random rng, int n, float scale)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (rng.NextSingle() * 2 - 1) * scale;
        return a;
    }

    private static string MaxDiff(float[] nabla, torch.Tensor t)
    {
        float[] other = t.data<float>().ToArray();
        double d = 0, m = 0;
        for (int i = 0; i < other.Length; i++)
        {
            d = Math.Max(d, Math.Abs(other[i] - nabla[i]));
            m = Math.Max(m, Math.Abs(other[i]));
        }
        return string.Create(CultureInfo.InvariantCulture, $"{d:G3} (of {m:G3})");
    }
}
