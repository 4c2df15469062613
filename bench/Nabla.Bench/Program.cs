using BenchmarkDotNet.Running;

namespace Nabla.Bench;

/// <summary>
/// Entry point. <c>gflops [options]</c>, <c>conv [options]</c>, <c>mlp [options]</c>, <c>cnn [options]</c> and <c>cnn-bn [options]</c>, <c>resnet [options]</c> print
/// the hand-timed tables published in docs/PERFORMANCE.md; anything else goes to BenchmarkDotNet
/// (e.g. <c>--filter *Sgemm*</c>).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "gflops")
            return GflopsTable.Run(args[1..]);
        if (args.Length > 0 && args[0] == "fusion")
            return FusionTable.Run(args[1..]);
        if (args.Length > 0 && args[0] == "conv")
            return ConvTable.Run(args[1..]);
        if (args.Length > 0 && args[0] is "mlp" or "cnn" or "cnn-bn" or "resnet")
            return CnnStepTable.Run(args[0], args[1..]);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, new ShortConfig());
        return 0;
    }
}
