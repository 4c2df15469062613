using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Nabla.Tests;

/// <summary>
/// Under <c>mpirun -np 2</c> (child processes; Open MPI from Debian's openmpi-bin, which .ci/run installs): the
/// collectives, data-parallel training against one process and across ranks, distributed validate and search against
/// the serial tables, a mismatched launch and a killed rank ending the job with our message.
/// </summary>
[Collection("mpi")]
public class MpiTests
{
    static readonly string Bin = Path.GetDirectoryName(typeof(MpiTests).Assembly.Location)!;
    // Copied beside this assembly by the project reference (as Nabla.FuzzHost).
    static readonly string Host = Path.Combine(Bin, "Nabla.MpiHost.dll");
    static readonly string Cli = Path.Combine(Bin, "Nabla.Cli.dll");

    static string MpiRun =>
        new[] { "/usr/bin/mpirun", "/usr/local/bin/mpirun" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("mpirun not found: install Open MPI (Debian: apt-get install openmpi-bin; .ci/run does).");

    static (int Code, string Out, string Err) Run(string file, IEnumerable<string> args, string? workDir = null, int timeoutSeconds = 120, Action<Process>? during = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workDir ?? Path.GetTempPath() };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // As root in a container Open MPI needs these; vader's single-copy mechanism needs ptrace rights containers lack.
        psi.Environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        psi.Environment["NABLA_CACHE_DIR"] = "none";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        during?.Invoke(p);
        if (!p.WaitForExit(timeoutSeconds * 1000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} ran over {timeoutSeconds} s: {stderr.Result}");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    static (int Code, string Out, string Err) MpiRun2(params string[] command) =>
        Run(MpiRun, ["--oversubscribe", "-np", "2", .. command]);

    static JsonElement[] Lines(string stdout) =>
        [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement)
            .OrderBy(e => e.GetProperty("rank").GetInt32())];

    [Fact]
    public void Collectives_sum_broadcast_gather_and_split_across_two_ranks()
    {
        var r = MpiRun2("dotnet", Host, "collectives");
        Assert.True(r.Code == 0, r.Err);
        var ranks = Lines(r.Out);
        Assert.Equal(2, ranks.Length);
        foreach (var e in ranks)
        {
            Assert.Equal(2, e.GetProperty("size").GetInt32());
            Assert.True(e.GetProperty("allreduce_ok").GetBoolean());      // 1M floats: Σ (rank + 1) · v, exact
            Assert.Equal(2.0, e.GetProperty("double_sum").GetDouble());   // 0.5 + 1.5
            Assert.Equal([1f, 1f, 1f], e.GetProperty("broadcast").EnumerateArray().Select(x => x.GetSingle()));   // from the last rank
            Assert.Equal([0, 1], e.GetProperty("split").EnumerateArray().Select(x => x.GetInt32()));             // colour = rank % 2
        }
        // A sum whose rounding depends on the order is the same bits on both ranks (reduce, then broadcast).
        Assert.Equal(ranks[0].GetProperty("rounding_bits").GetString(), ranks[1].GetProperty("rounding_bits").GetString());
        Assert.Equal(["rank 0", "rank 1x"], ranks[0].GetProperty("gather").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(JsonValueKind.Null, ranks[1].GetProperty("gather").ValueKind);
    }

    [Theory]
    [InlineData("true")]
    [InlineData("false")]
    public void Data_parallel_training_follows_one_process_and_every_rank_holds_the_same_weights(string capture)
    {
        // 1000 rows in batches of 63: shards of 32 and 31 rows, and a last batch of 55 (28 + 27): uneven shards,
        // weighted by their rows.
        string[] args = ["train", "--batch", "63", "--epochs", "2", "--capture", capture];
        var one = Run("dotnet", [Host, .. args]);
        Assert.True(one.Code == 0, one.Err);
        var single = Lines(one.Out)[0];
        var two = MpiRun2(["dotnet", Host, .. args]);
        Assert.True(two.Code == 0, two.Err);
        var ranks = Lines(two.Out);
        Assert.Equal(2, ranks.Length);
        double[] expected = [.. single.GetProperty("losses").EnumerateArray().Select(x => x.GetDouble())];
        Assert.Equal(32, expected.Length);
        foreach (var rank in ranks)
        {
            Assert.Equal(2, rank.GetProperty("ranks").GetInt32());
            Assert.Equal(capture == "true", rank.GetProperty("captured").GetBoolean());
            double[] got = [.. rank.GetProperty("losses").EnumerateArray().Select(x => x.GetDouble())];
            Assert.Equal(expected.Length, got.Length);
            // The first 20 steps within 1e-5 relative: the same global batches and means, summed in another order
            // (two shard means weighted by rows against one mean), so only float rounding differs.
            for (int i = 0; i < 20; i++)
                Assert.True(Math.Abs(got[i] - expected[i]) <= 1e-5 * Math.Abs(expected[i]), $"step {i + 1}: {got[i]} against {expected[i]}");
            Assert.Equal(single.GetProperty("accuracy").GetDouble(), rank.GetProperty("accuracy").GetDouble(), 3);
        }
        Assert.Equal(ranks[0].GetProperty("losses").GetRawText(), ranks[1].GetProperty("losses").GetRawText());
        Assert.Equal(ranks[0].GetProperty("weights").GetString(), ranks[1].GetProperty("weights").GetString());
    }

    [Fact]
    public void Synchronised_batchnorm_follows_one_process_and_per_rank_statistics_do_not()
    {
        string[] args = ["train", "--batch", "63", "--epochs", "2", "--model", "bn"];
        var one = Run("dotnet", [Host, .. args]);
        Assert.True(one.Code == 0, one.Err);
        double[] expected = [.. Lines(one.Out)[0].GetProperty("losses").EnumerateArray().Select(x => x.GetDouble())];
        double[] Losses(JsonElement e) => [.. e.GetProperty("losses").EnumerateArray().Select(x => x.GetDouble())];
        var synced = MpiRun2(["dotnet", Host, .. args, "--sync-batchnorm", "true"]);
        Assert.True(synced.Code == 0, synced.Err);
        var ranks = Lines(synced.Out);
        for (int i = 0; i < 20; i++)
            Assert.True(Math.Abs(Losses(ranks[0])[i] - expected[i]) <= 1e-5 * Math.Abs(expected[i]), $"step {i + 1}: {Losses(ranks[0])[i]} against {expected[i]}");
        // Weights and running statistics the same bits on both ranks.
        Assert.Equal(ranks[0].GetProperty("weights").GetString(), ranks[1].GetProperty("weights").GetString());
        // Per-rank statistics (the default) normalise each half-batch by itself: another trajectory from the first step.
        var perRank = MpiRun2(["dotnet", Host, .. args]);
        Assert.True(perRank.Code == 0, perRank.Err);
        Assert.True(Math.Abs(Losses(Lines(perRank.Out)[0])[0] - expected[0]) > 1e-4);
    }

    [Fact]
    public void Nabla_train_under_mpirun_writes_from_rank_0_only_and_records_the_ranks()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"nabla-mpi-{Guid.NewGuid():N}");
        try
        {
            var r = MpiRun2("dotnet", Cli, "train", "--model", "mlp:32", "--epochs", "2", "--out", dir, "--json");
            Assert.True(r.Code == 0, r.Err);
            var metrics = JsonDocument.Parse(r.Out.Trim()).RootElement;   // one JSON document: only rank 0 printed
            Assert.Equal(2, metrics.GetProperty("ranks").GetInt32());
            Assert.True(metrics.GetProperty("reduce_seconds").GetDouble() > 0);
            Assert.True(metrics.GetProperty("test").GetProperty("accuracy").GetDouble() > 0.6);
            foreach (var f in new[] { "metrics.json", "model.safetensors", "checkpoint.safetensors", "config.json", "curves.png" })
                Assert.True(File.Exists(Path.Combine(dir, f)), f);
            Assert.Single(r.Err.Split('\n'), l => l.StartsWith("nabla 0", StringComparison.Ordinal));   // the header, once
            Assert.Contains("× 2 ranks", r.Err);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    // The table without timings, the split lines sorted (ranks finish in any order).
    static string[] Table(string stdout) =>
        [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith("Saved ", StringComparison.Ordinal))
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l, @"  [0-9.]+ s$", ""))
            .Order(StringComparer.Ordinal)];

    [Theory]
    [InlineData("validate", "--scheme", "kfold:4")]
    [InlineData("search", "--scheme", "kfold:3", "--grid", "lr=1e-3,3e-3")]
    public void Distributed_validate_and_search_print_the_serial_table(string command, params string[] scheme)
    {
        string[] args = [command, .. scheme, "--model", "mlp:16", "--epochs", "1", "--threads", "1"];
        string d1 = Path.Combine(Path.GetTempPath(), $"nabla-cv1-{Guid.NewGuid():N}"), d2 = d1.Replace("cv1", "cv2", StringComparison.Ordinal);
        try
        {
            var serial = Run("dotnet", [Cli, .. args, "--out", d1]);
            Assert.True(serial.Code == 0, serial.Err);
            var mpi = MpiRun2(["dotnet", Cli, .. args, "--out", d2]);
            Assert.True(mpi.Code == 0, mpi.Err);
            Assert.Equal(Table(serial.Out), Table(mpi.Out));
            Assert.True(Table(serial.Out).Length >= 5);
        }
        finally
        {
            foreach (var d in new[] { d1, d2 }) if (Directory.Exists(d)) Directory.Delete(d, true);
        }
    }

    [Fact]
    public void Validate_with_runs_trained_by_two_ranks_together_prints_the_serial_table_within_float_rounding()
    {
        string[] args = ["validate", "--scheme", "kfold:3", "--model", "mlp:16", "--epochs", "1", "--threads", "1"];
        string d1 = Path.Combine(Path.GetTempPath(), $"nabla-rpr1-{Guid.NewGuid():N}"), d2 = d1.Replace("rpr1", "rpr2", StringComparison.Ordinal);
        try
        {
            var serial = Run("dotnet", [Cli, .. args, "--out", d1]);
            Assert.True(serial.Code == 0, serial.Err);
            // MPI_Comm_split into one group of two ranks: every split trained data-parallel.
            var mpi = MpiRun2(["dotnet", Cli, .. args, "--ranks-per-run", "2", "--out", d2]);
            Assert.True(mpi.Code == 0, mpi.Err);
            var a = Table(serial.Out);
            var b = Table(mpi.Out);
            Assert.Equal(a.Length, b.Length);
            for (int i = 0; i < a.Length; i++)
            {
                // The same lines; numbers within 2e-4 (data-parallel sums round in another order, printed to 4 digits).
                var na = System.Text.RegularExpressions.Regex.Matches(a[i], @"-?\d+\.\d+").Select(m => double.Parse(m.Value, CultureInfo.InvariantCulture)).ToArray();
                var nb = System.Text.RegularExpressions.Regex.Matches(b[i], @"-?\d+\.\d+").Select(m => double.Parse(m.Value, CultureInfo.InvariantCulture)).ToArray();
                Assert.Equal(System.Text.RegularExpressions.Regex.Replace(a[i], @"-?\d+\.\d+", "#"), System.Text.RegularExpressions.Regex.Replace(b[i], @"-?\d+\.\d+", "#"));
                for (int k = 0; k < na.Length; k++) Assert.True(Math.Abs(na[k] - nb[k]) <= 2e-4, $"{a[i]} | {b[i]}");
            }
            var bad = MpiRun2(["dotnet", Cli, .. args, "--ranks-per-run", "3", "--out", d2]);
            Assert.Equal(2, bad.Code);
            Assert.Contains("--ranks-per-run 3 does not divide the 2 ranks", bad.Err);
        }
        finally
        {
            foreach (var d in new[] { d1, d2 }) if (Directory.Exists(d)) Directory.Delete(d, true);
        }
    }

    [Fact]
    public void An_mpich_launch_is_refused_with_one_line_and_exit_1()
    {
        var psi = new ProcessStartInfo("dotnet", [Cli, "summary", "--model", "mlp:8"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["PMI_SIZE"] = "2";   // what MPICH's and Intel MPI's launchers set
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(1, p.ExitCode);
        Assert.Equal("", stdout);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains("Nabla supports Open MPI's ABI only", stderr);
    }

    [Fact]
    public void Ranks_given_other_arguments_stop_with_our_message()
    {
        var r = MpiRun2("sh", "-c", $"exec dotnet '{Cli}' summary --model mlp:$((8 + OMPI_COMM_WORLD_RANK))");
        Assert.Equal(1, r.Code);
        Assert.Contains("nabla: rank 1 of 2 was given other arguments than rank 0", r.Err);
        Assert.DoesNotContain("parameters", r.Out);
    }

    [Fact]
    public void A_killed_rank_ends_the_job_with_our_message_naming_the_rank_the_step_and_the_checkpoint_and_the_run_resumes()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"nabla-kill-{Guid.NewGuid():N}");
        string marker = Guid.NewGuid().ToString("N");
        try
        {
            var r = Run(MpiRun, ["--oversubscribe", "-np", "2", "-x", $"NABLA_TEST_MARKER={marker}", "dotnet", Cli, "train", "--epochs", "60",
                "--early-stopping", "none", "--model", "mlp:64", "--out", dir], during: _ =>
            {
                // Once a checkpoint exists, kill rank 1 as an out-of-memory killer would.
                var clock = Stopwatch.StartNew();
                while (!File.Exists(Path.Combine(dir, "checkpoint.safetensors")) && clock.Elapsed.TotalSeconds < 60) Thread.Sleep(100);
                Thread.Sleep(500);
                foreach (var pid in Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsDigit)))
                {
                    try
                    {
                        var env = File.ReadAllText($"/proc/{pid}/environ").Split('\0');
                        if (env.Contains($"NABLA_TEST_MARKER={marker}") && env.Contains("OMPI_COMM_WORLD_RANK=1"))
                            Process.GetProcessById(int.Parse(pid!, CultureInfo.InvariantCulture)).Kill();
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
                    {
                    }
                }
            });
            Assert.NotEqual(0, r.Code);
            Assert.Matches(@"nabla: rank 0 of 2 was stopped by mpirun: rank 1 ended, at epoch \d+, step \d+; the last checkpoint is .*checkpoint\.safetensors", r.Err);
            Assert.Contains("--resume", r.Err);
            // The same job resumed under mpirun finishes the run from its checkpoint.
            var resumed = MpiRun2("dotnet", Cli, "train", "--resume", dir, "--json");
            Assert.True(resumed.Code == 0, resumed.Err);
            var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "metrics.json"))).RootElement;
            Assert.Equal(60, metrics.GetProperty("epochs_run").GetInt32());
            Assert.Equal(2, metrics.GetProperty("ranks").GetInt32());
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }
}

/// <summary>Two ranks use every core: the MPI tests run alone, after the parallel ones, one job at a time.</summary>
[CollectionDefinition("mpi", DisableParallelization = true)]
public sealed class MpiCollection;
