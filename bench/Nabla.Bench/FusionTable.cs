using System.Globalization;
using Nabla.Ops;

namespace Nabla.Bench;

/// <summary>
/// <c>fusion</c> mode: what the ResNet fusions (BatchNorm + ReLU, the residual add + ReLU) save at the layer level, on
/// resnet:20's activation shapes at batch 128 (and the cnn-bn's BatchNorm1d): forward and backward through autograd,
/// the two layers apart against the one fused node, alternating A and B within each sample so that the machine's
/// drift hits both. Prints ms per call and unfused / fused. Options: <c>--samples 9</c>, <c>--threads 2</c>.
/// </summary>
public static class FusionTable
{
    private const double SampleSeconds = 0.1;

    public static int Run(string[] args)
    {
        int samples = 9, threads = 2;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--samples": samples = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--threads": threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}; use: fusion [--samples 9] [--threads 2]");
                    return 2;
            }
        }
        Threads.Count = threads;
        Console.WriteLine($"# BatchNorm + ReLU and add + ReLU, unfused vs fused, forward + backward (autograd) — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Timing.PrintMachine();
        Console.WriteLine($"# ms per call, median of {samples} samples of >= {SampleSeconds * 1000:F0} ms each side; Nabla Threads.Count = {threads}");
        Console.WriteLine();
        Console.WriteLine("| shape | pair | unfused ms | fused ms | unfused / fused |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: |");
        int[][] shapes = [[128, 16, 28, 28], [128, 32, 14, 14], [128, 64, 7, 7]];
        foreach (var shape in shapes)
        {
            var g = new Generator(1);
            var bn = new BatchNorm2d(shape[1]);
            bn.Train();
            var x = Tensor.Randn(shape, g).RequiresGrad_();
            var up = Tensor.Randn(shape, g);
            Row(shape, "BatchNorm2d + ReLU", samples,
                () => bn.Call(x).Relu().Backward(up),
                () => bn.ForwardRelu(x).Backward(up),
                x, bn);
            var a = Tensor.Randn(shape, g).RequiresGrad_();
            var b = Tensor.Randn(shape, g).RequiresGrad_();
            Row(shape, "add + ReLU", samples,
                () => (a + b).Relu().Backward(up),
                () => AddReluOp.Forward(a, b).Backward(up),
                a, b);
        }
        return 0;
    }

    private static void Row(int[] shape, string pair, int samples, Action unfused, Action fused, params object[] keep)
    {
        // Gradients accumulate in the leaves between calls; clear them so both sides do the same work.
        Action clear = () =>
        {
            foreach (var o in keep)
            {
                if (o is Tensor t) t.Grad = null;
                else if (o is Module m) foreach (var p in m.Parameters()) p.Grad = null;
            }
        };
        Action u = () => { clear(); unfused(); }, f = () => { clear(); fused(); };
        var tu = new double[samples];
        var tf = new double[samples];
        Timing.Median(u, 1, SampleSeconds);
        Timing.Median(f, 1, SampleSeconds);
        for (int s = 0; s < samples; s++)
        {
            tu[s] = Timing.Median(u, 1, SampleSeconds, warmSeconds: 0, minWarm: 1);
            tf[s] = Timing.Median(f, 1, SampleSeconds, warmSeconds: 0, minWarm: 1);
        }
        Array.Sort(tu);
        Array.Sort(tf);
        double mu = tu[samples / 2], mf = tf[samples / 2];
        Console.WriteLine($"| {string.Join('×', shape)} | {pair} | {mu * 1e3:F3} | {mf * 1e3:F3} | {mu / mf:F2} |");
    }
}
