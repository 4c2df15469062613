using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Nabla.Bench;

/// <summary>Stopwatch timing shared by the hand-timed modes: warm up, size the repetition count, take the median sample.</summary>
internal static class Timing
{
    /// <summary>
    /// Median seconds per call of <paramref name="op"/>: at least <paramref name="minWarm"/> calls and
    /// <paramref name="warmSeconds"/> of warm-up, then <paramref name="samples"/> samples of enough calls to last
    /// <paramref name="sampleSeconds"/> each.
    /// </summary>
    public static double Median(Action op, int samples, double sampleSeconds, double warmSeconds = 0.2, int minWarm = 3)
    {
        long t0 = Stopwatch.GetTimestamp();
        int warm = 0;
        // The whole warm-up time, however many calls that is: the JIT's tiers settle by time (a cap of 200 calls
        // ended the MLP's warm-up after ~0.2 s, while its step was still being re-compiled).
        while (warm < minWarm || Stopwatch.GetElapsedTime(t0).TotalSeconds < warmSeconds)
        {
            op();
            warm++;
        }
        double perCall = Stopwatch.GetElapsedTime(t0).TotalSeconds / warm;
        int reps = Math.Max(1, (int)Math.Ceiling(sampleSeconds / perCall));
        var times = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int r = 0; r < reps; r++) op();
            times[s] = Stopwatch.GetElapsedTime(start).TotalSeconds / reps;
        }
        Array.Sort(times);
        return times[samples / 2];
    }

    public static string CpuModel()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal))
                    return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException)
        {
        }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>The header lines every hand-timed table starts with.</summary>
    public static void PrintMachine()
    {
        Console.WriteLine($"# CPU: {CpuModel()}, {Environment.ProcessorCount} logical CPUs; .NET {Environment.Version}; {RuntimeInformation.OSDescription}");
        try
        {
            Console.WriteLine($"# load average at start: {File.ReadAllText("/proc/loadavg").Trim()}");
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Sets TorchSharp to <paramref name="threads"/> threads; null when it loads, else the error.</summary>
    public static string? InitTorch(int threads)
    {
        try
        {
            TorchSharp.torch.set_num_threads(threads);
            return null;
        }
        catch (Exception e)
        {
            return e.GetType().Name + ": " + e.Message;
        }
    }
}
