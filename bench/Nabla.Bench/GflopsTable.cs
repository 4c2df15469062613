using System.Globalization;
using System.Runtime.InteropServices;
using Nabla.Kernels;
using TorchSharp;

namespace Nabla.Bench;

/// <summary>
/// <c>gflops</c> mode: times C = A·B by hand (Stopwatch, median of several samples, each sample long
/// enough to dwarf timer noise) for Nabla (1 and 2 threads), the naive loop and TorchSharp (2 threads),
/// and prints the markdown table published in docs/PERFORMANCE.md.
/// Options: <c>--sizes 128,256,...</c>, <c>--samples N</c>, <c>--no-torch</c>.
/// </summary>
public static class GflopsTable
{
    private const double SampleSeconds = 0.08;

    public static int Run(string[] args)
    {
        int[] sizes = [128, 256, 512, 1024, 2048];
        int samples = 7;
        bool useTorch = true;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--sizes": sizes = args[++i].Split(',').Select(int.Parse).ToArray(); break;
                case "--samples": samples = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--no-torch": useTorch = false; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}; use: gflops [--sizes 128,256] [--samples 7] [--no-torch]");
                    return 2;
            }
        }

        string? torchError = null;
        if (useTorch)
        {
            try
            {
                torch.set_num_threads(2);
            }
            catch (Exception e)
            {
                torchError = e.GetType().Name + ": " + e.Message;
                useTorch = false;
            }
        }

        Console.WriteLine($"# SGEMM C = A·B, square, float32 — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine($"# CPU: {CpuModel()}, {Environment.ProcessorCount} logical CPUs; .NET {Environment.Version}; {RuntimeInformation.OSDescription}");
        Console.WriteLine($"# median of {samples} samples of >= {SampleSeconds * 1000:F0} ms; GFLOP/s = 2·n³ / time");
        if (useTorch) Console.WriteLine($"# TorchSharp: torch.get_num_threads() = {torch.get_num_threads()}; best of torch.mm and addmm_ into a preallocated tensor");
        else Console.WriteLine($"# TorchSharp not measured{(torchError is null ? "" : ": " + torchError)}");
        Console.WriteLine();
        Console.WriteLine("| n | Nabla 1 thread | Nabla 2 threads | naive | TorchSharp-cpu 2 threads | Nabla 2T / TorchSharp |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: |");

        foreach (int n in sizes)
        {
            var rng = new Random(12345);
            var a = new float[n * n];
            var b = new float[n * n];
            var c = new float[n * n];
            for (int i = 0; i < a.Length; i++) a[i] = rng.NextSingle() * 2 - 1;
            for (int i = 0; i < b.Length; i++) b[i] = rng.NextSingle() * 2 - 1;
            double flop = 2.0 * n * n * n;

            Threads.Count = 1;
            double nabla1 = flop / Median(() => Gemm.Sgemm(false, false, n, n, n, a, n, b, n, c, n, false), samples) / 1e9;
            Threads.Count = 2;
            double nabla2 = flop / Median(() => Gemm.Sgemm(false, false, n, n, n, a, n, b, n, c, n, false), samples) / 1e9;
            var cNabla = (float[])c.Clone();

            double naive = double.NaN;
            if (n <= 256)
                naive = flop / Median(() => GemmNaive.Sgemm(false, false, n, n, n, a, n, b, n, c, n, false), Math.Min(samples, 3)) / 1e9;

            double torchGflops = double.NaN;
            string check = "";
            if (useTorch)
            {
                using var ta = torch.tensor(a, [n, n]);
                using var tb = torch.tensor(b, [n, n]);
                using var tc = torch.zeros(n, n);
                double tMm = Median(() => { using var r = torch.mm(ta, tb); }, samples);
                double tAddmm = Median(() => tc.addmm_(ta, tb, beta: 0, alpha: 1), samples);
                torchGflops = flop / Math.Min(tMm, tAddmm) / 1e9;
                float[] torchC = tc.data<float>().ToArray();
                double maxDiff = 0, maxAbs = 0;
                for (int i = 0; i < torchC.Length; i++)
                {
                    maxDiff = Math.Max(maxDiff, Math.Abs(torchC[i] - cNabla[i]));
                    maxAbs = Math.Max(maxAbs, Math.Abs(torchC[i]));
                }
                check = $" (max |Nabla-Torch| = {maxDiff:G3} of max |C| = {maxAbs:G3}; mm {flop / tMm / 1e9:F1}, addmm_ {flop / tAddmm / 1e9:F1})";
            }

            Console.WriteLine($"| {n} | {F(nabla1)} | {F(nabla2)} | {F(naive)} | {F(torchGflops)} | {(double.IsNaN(torchGflops) ? "-" : (nabla2 / torchGflops).ToString("F2", CultureInfo.InvariantCulture))} |");
            if (check.Length > 0) Console.Error.WriteLine($"  n={n}{check}");
        }
        return 0;
    }

    private static string F(double gflops) => double.IsNaN(gflops) ? "-" : gflops.ToString("F1", CultureInfo.InvariantCulture);

    /// <summary>Median seconds per call: warm up, size the repetition count, then time the samples.</summary>
    private static double Median(Action op, int samples) => Timing.Median(op, samples, SampleSeconds);

    private static string CpuModel() => Timing.CpuModel();
}
