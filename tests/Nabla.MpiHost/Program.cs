using System.Globalization;
using System.Text.Json;
using Nabla;
using Nabla.Data;
using Nabla.Distributed;
using Nabla.Optim;
using Nabla.Training;

// Usage: Nabla.MpiHost collectives | train [--batch N] [--steps N] [--capture true|false] [--threads N]
// Each rank prints one JSON line: {"rank":…, …}.
// mpirun hands ranks pseudo-terminals; without this .NET writes the terminal's keypad codes before the first line.
Environment.SetEnvironmentVariable("TERM", "dumb");
var comm = Communicator.FromEnvironment();
Threads.Count = Math.Max(1, Environment.ProcessorCount / comm.LocalSize);
string mode = args.Length > 0 ? args[0] : "collectives";
string Arg(string name, string fallback) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback; }
var output = new Dictionary<string, object?> { ["rank"] = comm.Rank, ["size"] = comm.Size };

if (mode == "collectives")
{
    int n = 1 << 20, r = comm.Rank;
    // Sum of (rank + 1) · (i % 7 + 0.25): exact in float for two ranks.
    var data = new float[n];
    for (int i = 0; i < n; i++) data[i] = (r + 1) * (i % 7 + 0.25f);
    var clock = System.Diagnostics.Stopwatch.StartNew();
    comm.AllReduceSum(data);
    double first = clock.Elapsed.TotalMilliseconds;
    clock.Restart();
    var zeros = new float[n];
    clock.Restart();
    for (int k = 0; k < 10; k++) comm.AllReduceSum(zeros);
    output["allreduce_1m_ms"] = clock.Elapsed.TotalMilliseconds / 10;
    output["allreduce_first_ms"] = first;
    int ranksSum = comm.Size * (comm.Size + 1) / 2;
    bool allreduceOk = true;
    for (int i = 0; i < n; i++) if (data[i] != ranksSum * (i % 7 + 0.25f)) { allreduceOk = false; break; }
    output["allreduce_ok"] = allreduceOk;
    // The bits of a sum that rounds differently by order: the same on every rank.
    var rounding = new float[1000];
    var g = new Random(17 + r);
    for (int i = 0; i < rounding.Length; i++) rounding[i] = (float)g.NextDouble() * 1e-3f + 1f;
    comm.AllReduceSum(rounding);
    output["rounding_bits"] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(rounding.AsSpan())));
    Span<double> d = [r + 0.5, 1e300];
    comm.AllReduceSum(d);
    output["double_sum"] = d[0];
    var b = new float[] { r, r, r };
    comm.Broadcast(b, comm.Size - 1);
    output["broadcast"] = b;
    var bytes = new byte[] { 1, 2, 3 }.AsSpan(0, r + 1).ToArray();
    var gathered = comm.Gather(System.Text.Encoding.UTF8.GetBytes($"rank {r}" + new string('x', r)), 0);
    output["gather"] = gathered?.Select(x => System.Text.Encoding.UTF8.GetString(x)).ToArray();
    using var half = comm.Split(r % 2, -r);
    output["split"] = new[] { half.Rank, half.Size };
    comm.Barrier();
}
else if (mode == "train")
{
    int batch = int.Parse(Arg("--batch", "64"), CultureInfo.InvariantCulture);
    int epochs = int.Parse(Arg("--epochs", "1"), CultureInfo.InvariantCulture);
    bool capture = Arg("--capture", "true") == "true";
    bool syncBn = Arg("--sync-batchnorm", "false") == "true";
    bool bn = Arg("--model", "mlp") == "bn";
    // Synthetic classification data, the same on every rank (seeded).
    var gen = new Generator(5);
    int rows = int.Parse(Arg("--rows", "1000"), CultureInfo.InvariantCulture);
    var x = Tensor.Normal([rows, 20], 0f, 1f, gen);
    var w = Tensor.Normal([20, 4], 0f, 1f, gen);
    var labels = x.MatMul(w).ArgMax(1);
    var data = new TensorDataset(x, labels, 4);
    var model = bn
        ? new Sequential(new Linear(20, 32, 1), new BatchNorm1d(32), new ReLU(), new Linear(32, 4, 2))
        : new Sequential(new Linear(20, 32, 1), new ReLU(), new Linear(32, 4, 2));
    var losses = new List<double>();
    var trainer = new Trainer(new TrainerOptions { BatchSize = batch, Seed = 3, Communicator = comm, CaptureStep = capture, BackgroundLoading = false, SyncBatchNorm = syncBn });
    var history = trainer.Fit(model, new CrossEntropyLoss(), new Adam(model.Parameters(), lr: 1e-2), data, null, epochs, [new Record(losses)]);
    output["losses"] = losses;
    output["accuracy"] = history.Epochs[^1]["accuracy"];
    output["captured"] = history.CapturedStep;
    var all = model.Parameters().Concat(model.NamedBuffers().Where(b => b.Buffer.Float is not null).Select(b => b.Buffer.Float!)).SelectMany(p => p.ToArray()).ToArray();
    output["weights"] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(all.AsSpan())));
    output["weights_sample"] = all.Take(4).ToArray();
    output["ranks"] = history.Ranks;
}
// Rank 0 prints every rank's line (mpirun would interleave long lines written at the same time).
var lines = comm.Gather(System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(output)), 0);
if (lines is not null) foreach (var line in lines) Console.WriteLine(System.Text.Encoding.UTF8.GetString(line));
return 0;

sealed class Record(List<double> losses) : Callback
{
    public override void OnBatchEnd(TrainingContext context, int epoch, int batch, double loss, int samples) => losses.Add(loss);
}
