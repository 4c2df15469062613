using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Nabla.Autograd;
using Nabla.Data;
using Nabla.Optim;
using Nabla.Serialization;

namespace Nabla.Training;

/// <summary>How <see cref="Trainer"/> feeds the data and what else it drives.</summary>
public sealed class TrainerOptions
{
    /// <summary>Samples per optimizer step (1 = stochastic, N = full-batch gradient descent). Default 64.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Reshuffle the training data each epoch (from <see cref="Seed"/> and the epoch). Default true.</summary>
    public bool Shuffle { get; init; } = true;
    /// <summary>Skip an incomplete last batch. Default false.</summary>
    public bool DropLast { get; init; }
    /// <summary>Seed of the shuffles (and of augmentation, via the loader).</summary>
    public int Seed { get; init; }
    /// <summary>Prepare batches on a background thread. Default true.</summary>
    public bool BackgroundLoading { get; init; } = true;
    /// <summary>A schedule stepped per epoch or per batch, as its <see cref="LRScheduler.Interval"/> says.</summary>
    public LRScheduler? Scheduler { get; init; }
    /// <summary>Keras's plateau schedule, stepped each epoch with <see cref="PlateauMonitor"/>.</summary>
    public ReduceLROnPlateau? Plateau { get; init; }
    /// <summary>The log key the plateau schedule watches. Default val_loss (loss without validation data).</summary>
    public string PlateauMonitor { get; init; } = "val_loss";
    /// <summary>A file the full training state is written to after each epoch (atomically), for <c>Trainer.Resume</c>.</summary>
    public string? CheckpointPath { get; init; }
    /// <summary>Batch transform run on the loader's worker (augmentation).</summary>
    public Func<Batch, Generator, Batch>? Transform { get; init; }
    /// <summary>Cancels between batches; the callbacks still see the end of training.</summary>
    public CancellationToken Cancellation { get; init; }
    /// <summary>λ₁: adds λ₁·Σ|w| over the weights (parameters of rank ≥ 2, not biases) to the loss (Keras's l1).</summary>
    public double L1 { get; init; }
    /// <summary>λ₂: adds λ₂·Σw² over the weights to the loss (Keras's l2; weight decay lives in the optimizers).</summary>
    public double L2 { get; init; }
    /// <summary>
    /// σ of weight noise: each step adds N(0, σ²) to every parameter for the forward and backward pass and removes
    /// it before the optimizer step (the lecture's "shuffled weights"; Graves's weight noise). 0 = off.
    /// </summary>
    public double WeightNoise { get; init; }
    /// <summary>
    /// ε of FGSM adversarial training: each batch is replaced by adversarial examples against the current model
    /// (x + ε·sign(∇ₓL), clamped to [0, 1]) for the step. 0 = off.
    /// </summary>
    public double AdversarialEpsilon { get; init; }
    /// <summary>
    /// Capture each batch shape's training step once (a <see cref="StepGraph"/>: forward, loss, backward, clipping,
    /// optimizer update) after it has run eagerly, and replay it for the later batches of that shape: the same bits as
    /// the eager step, no graph built and no managed allocation per step. A step that cannot be captured (see
    /// <see cref="History.CaptureNote"/>) runs eagerly. Default true; false always runs the eager step.
    /// </summary>
    public bool CaptureStep { get; init; } = true;
    /// <summary>
    /// Rescales the gradients each step so their global L2 norm is at most this (torch's clip_grad_norm_ between
    /// backward and step); 0 = off.
    /// </summary>
    public double ClipGradNorm { get; init; }
    /// <summary>Extra string metadata written into every checkpoint (e.g. a digest of the run's settings), read back by <see cref="Trainer.CheckpointMetadata"/>.</summary>
    public IReadOnlyDictionary<string, string>? CheckpointMetadata { get; init; }

    /// <summary>
    /// Data-parallel training over these ranks (null or one rank: one process). Every rank runs the same loader (same
    /// seed, so the same global batches) and trains on its contiguous shard of each batch (<see cref="Distributed.Communicator.Shard"/>);
    /// the gradients and the loss are averaged by <see cref="Distributed.GradientSync"/> (one reduction per step, the
    /// same bits on every rank) before clipping and the update, and rank 0's weights and buffers are broadcast at the
    /// start. BatchNorm normalises each shard with its own batch statistics (per-rank, as DDP without SyncBatchNorm);
    /// the running statistics kept are rank 0's, broadcast at each epoch's end (DDP's broadcast_buffers). Validation
    /// runs on every rank over the whole set, so every rank sees the same logs and takes the same decisions. Checkpoints
    /// and callbacks that write are the caller's to keep to rank 0.
    /// </summary>
    public Distributed.ICommunicator? Communicator { get => _communicator; init => _communicator = value; }

    /// <summary>
    /// With a <see cref="Communicator"/> of several ranks: BatchNorm layers normalise with the whole global batch's
    /// statistics (<see cref="Distributed.SyncBatchNorm"/>, PyTorch's SyncBatchNorm) instead of each rank's shard.
    /// Default false (per-rank statistics, as DDP without SyncBatchNorm).
    /// </summary>
    public bool SyncBatchNorm { get; init; }

    private Distributed.ICommunicator? _communicator;

    /// <summary>A copy of these options training over <paramref name="communicator"/> (a run of a distributed search).</summary>
    internal TrainerOptions WithCommunicator(Distributed.ICommunicator communicator)
    {
        var copy = (TrainerOptions)MemberwiseClone();
        copy._communicator = communicator;
        return copy;
    }
}

/// <summary>
/// The training loop: mini-batches from a <see cref="DataLoader"/>, forward, loss, backward, optimizer step,
/// schedules, validation after each epoch, callbacks, a NaN/Inf guard, cancellation, and a resumable checkpoint.
/// Classification datasets are scored with accuracy (and more at evaluation), regression with MAE.
/// </summary>
public sealed partial class Trainer(TrainerOptions? options = null)
{
    /// <summary>The options.</summary>
    public TrainerOptions Options { get; } = options ?? new TrainerOptions();

    /// <summary>Trains for <paramref name="epochs"/> epochs (or until a callback stops it) and returns the history.</summary>
    public History Fit(Module model, Loss loss, Optimizer optimizer, TensorDataset train, TensorDataset? validation, int epochs,
        IEnumerable<Callback>? callbacks = null) => Run(model, loss, optimizer, train, validation, epochs, callbacks?.ToArray() ?? [], null);

    /// <summary>
    /// Continues a run from a checkpoint written through <see cref="TrainerOptions.CheckpointPath"/>: weights,
    /// optimizer and schedule state, callback state and history are restored and training goes on from the next
    /// epoch, ending with exactly the weights an uninterrupted run would have. Pass the same model layout,
    /// optimizer, schedule, callbacks, data and options as the original run.
    /// </summary>
    public History Resume(string checkpointPath, Module model, Loss loss, Optimizer optimizer, TensorDataset train, TensorDataset? validation,
        int epochs, IEnumerable<Callback>? callbacks = null) =>
        Run(model, loss, optimizer, train, validation, epochs, callbacks?.ToArray() ?? [], SafeTensors.Read(checkpointPath));

    /// <summary>As <see cref="Resume(string, Module, Loss, Optimizer, TensorDataset, TensorDataset?, int, IEnumerable{Callback}?)"/>, from a checkpoint already read.</summary>
    /// <exception cref="InvalidOperationException">the state is not a training checkpoint, or it does not fit the model, optimizer, schedule or options (the message says what).</exception>
    public History Resume(StateDict checkpoint, Module model, Loss loss, Optimizer optimizer, TensorDataset train, TensorDataset? validation,
        int epochs, IEnumerable<Callback>? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return Run(model, loss, optimizer, train, validation, epochs, callbacks?.ToArray() ?? [], checkpoint);
    }

    /// <summary>The metadata a checkpoint carries beside the weights (epoch, seed, <see cref="TrainerOptions.CheckpointMetadata"/> …).</summary>
    public static IReadOnlyDictionary<string, string> CheckpointMetadata(StateDict checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return checkpoint.Metadata;
    }

    private History Run(Module model, Loss loss, Optimizer optimizer, TensorDataset train, TensorDataset? validation, int epochs,
        Callback[] callbacks, StateDict? resume)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(train);
        if (epochs < 0) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "Fit: epochs must be non-negative.");
        if (train.Count == 0) throw new ArgumentException("Fit: the training set is empty.", nameof(train));
        if (validation is not null && validation.Task != train.Task)
            throw new ArgumentException("Fit: training and validation data must have the same task.", nameof(validation));

        var loader = new DataLoader(train, Options.BatchSize, Options.Shuffle, Options.DropLast, Options.Seed, Options.BackgroundLoading)
        {
            Transform = Options.Transform,
            // The loop is done with a batch when it asks for the next; a transform might keep its input, so then not.
            ReuseBuffers = Options.Transform is null,
        };
        var history = new History();
        var noiseGenerator = Generator.ForStream(Options.Seed, 7_777_777);
        var context = new TrainingContext(model, optimizer, history, epochs, loader.BatchesPerEpoch,
            Options.DropLast ? loader.BatchesPerEpoch * Options.BatchSize : train.Count);
        int start = 0;
        if (resume is not null) start = Restore(resume, model, optimizer, callbacks, history, noiseGenerator);
        var weights = model.Parameters().Where(p => p.Rank >= 2).ToArray();
        var clipped = model.Parameters().ToArray();
        var comm = Options.Communicator is { Size: > 1 } c0 ? c0 : null;
        var sync = comm is null ? null : new Distributed.GradientSync(comm);
        if (comm is not null)
        {
            history.Ranks = comm.Size;
            BroadcastState(model, comm, parameters: true);
            if (Options.SyncBatchNorm) Distributed.SyncBatchNorm.Apply(model, sync!);
        }
        var steps = new StepRunner(this, model, loss, optimizer, weights, clipped, noiseGenerator, history, sync);
        steps.Start();

        foreach (var c in callbacks) c.OnTrainBegin(context);
        for (int epoch = start; epoch < epochs && !context.StopTraining; epoch++)
        {
            foreach (var c in callbacks) c.OnEpochBegin(context, epoch);
            var clock = Stopwatch.StartNew();
            model.Train();
            double lossSum = 0, metricSum = 0;
            int seen = 0, batchIndex = 0;
            foreach (var batch in loader.Epoch(epoch, Options.Cancellation))
            {
                if (Options.Cancellation.IsCancellationRequested) break;
                Distributed.Progress.Epoch = epoch;
                Distributed.Progress.Step = batchIndex;
                var shard = comm is null ? batch : Shard(batch, comm, sync!);
                var features = Options.AdversarialEpsilon > 0
                    ? Adversarial.Fgsm(model, loss, shard.Features, shard.Labels, shard.Targets, (float)Options.AdversarialEpsilon)
                    : shard.Features;
                var (output, value) = steps.Run(features, shard.Labels, shard.Targets);
                if (!float.IsFinite(value))
                {
                    optimizer.ZeroGrad();   // the step computed gradients before its finite check; leave none
                    history.Diverged = true;
                    context.Stop($"The loss became {value.ToString(CultureInfo.InvariantCulture)} at epoch {epoch + 1}, batch {batchIndex + 1}; training stopped before that step. " +
                        "The model keeps the weights that produced it, and saved checkpoints hold the last completed epoch. Try a lower learning rate.");
                    break;
                }
                if (Options.Scheduler?.Interval == StepInterval.Batch) Options.Scheduler.Step();
                lossSum += (double)value * batch.Count;
                metricSum += sync is { Weight: 0 } ? 0 : BatchMetric(output, shard, train.Task);
                seen += batch.Count;
                foreach (var c in callbacks) c.OnBatchEnd(context, epoch, batchIndex, value, batch.Count);
                batchIndex++;
            }
            if (history.Diverged) break;
            if (Options.Cancellation.IsCancellationRequested)
            {
                history.Cancelled = true;
                context.Stop($"Cancelled during epoch {epoch + 1}.");
                break;
            }

            if (comm is not null)
            {
                // The metric over the whole epoch: each rank counted its shards; rank 0's running statistics for all.
                Span<double> sum = [metricSum];
                comm.AllReduceSum(sum);
                metricSum = sum[0];
                BroadcastState(model, comm, parameters: false);
                history.ReduceSeconds = sync!.Seconds;
            }
            var logs = new Dictionary<string, double>(StringComparer.Ordinal)
            {
                ["loss"] = lossSum / seen,
                [train.Task == TaskKind.Classification ? "accuracy" : "mae"] = metricSum / (train.Task == TaskKind.Classification ? seen : seen * (double)train.OutputSize),
            };
            if (validation is not null)
            {
                var v = Evaluate(model, loss, validation);
                logs["val_loss"] = v.Loss;
                foreach (var (k, value) in v.Metrics) logs["val_" + k] = value;
            }
            // Every rank stops, schedules and checkpoints on rank 0's numbers (its own could differ in the last bits).
            if (comm is not null) BroadcastLogs(logs, comm);
            if (Options.Scheduler?.Interval == StepInterval.Epoch) Options.Scheduler.Step();
            if (Options.Plateau is not null)
            {
                string key = logs.ContainsKey(Options.PlateauMonitor) ? Options.PlateauMonitor : "loss";
                Options.Plateau.Step(logs[key]);
            }
            logs["lr"] = optimizer.ParamGroups[0].LearningRate;
            logs["seconds"] = clock.Elapsed.TotalSeconds;
            logs["samples_per_second"] = seen / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            var log = new EpochLog(epoch, logs);
            history.Epochs.Add(log);
            foreach (var c in callbacks) c.OnEpochEnd(context, log);
            if (Options.CheckpointPath is not null)
            {
                WriteCheckpoint(Options.CheckpointPath, epoch, model, optimizer, callbacks, history, noiseGenerator);
                Distributed.Progress.CheckpointEpoch = epoch;
            }
        }
        steps.Dispose();
        if (comm is not null && Options.SyncBatchNorm) Distributed.SyncBatchNorm.Disable(model);
        history.StopReason = context.StopReason;
        foreach (var c in callbacks) c.OnTrainEnd(context);
        return history;
    }

    // This rank's rows of a global batch; a rank with none (a batch smaller than the ranks) steps on the first row with
    // weight 0, so every rank takes part in the step's reduction.
    private static Batch Shard(Batch batch, Distributed.ICommunicator comm, Distributed.GradientSync sync)
    {
        var (start, count) = Distributed.Communicator.Shard(batch.Count, comm.Rank, comm.Size);
        sync.Weight = (float)count / batch.Count;
        if (count == 0) (start, count) = (0, 1);
        var labels = batch.Labels is null ? null : new IntTensor(batch.Labels.Data.AsSpan(start, count).ToArray(), count);
        return new Batch(batch.Features.Narrow(0, start, count), labels, batch.Targets?.Narrow(0, start, count), batch.Indices.AsSpan(start, count).ToArray());
    }

    // Rank 0's values of an epoch's logs on every rank (the keys are the same everywhere: same data, same options).
    private static void BroadcastLogs(Dictionary<string, double> logs, Distributed.ICommunicator comm)
    {
        var keys = logs.Keys.Order(StringComparer.Ordinal).ToArray();
        var values = keys.Select(k => logs[k]).ToArray();
        comm.Broadcast(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()), 0);
        for (int i = 0; i < keys.Length; i++) logs[keys[i]] = values[i];
    }

    // Rank 0's parameters (at the start) or float buffers (running statistics, at each epoch's end) on every rank.
    private static void BroadcastState(Module model, Distributed.ICommunicator comm, bool parameters)
    {
        var tensors = parameters ? model.Parameters().ToList() : [.. model.NamedBuffers().Where(b => b.Buffer.Float is not null).Select(b => b.Buffer.Float!)];
        foreach (var t in tensors)
        {
            if (!t.TryHostMemory(out var memory)) throw new InvalidOperationException($"Trainer: a tensor of shape {Shapes.Format([.. t.Shape])} is not contiguous host memory; it cannot be broadcast.");
            comm.Broadcast(memory.Span, 0);
        }
    }

    private List<(Tensor Parameter, Tensor Noise)> AddWeightNoise(Module model, Generator g)
    {
        using var _ = GradMode.NoGrad();
        var added = new List<(Tensor, Tensor)>();
        foreach (var p in model.Parameters())
        {
            var n = Tensor.Normal([.. p.Shape], 0f, (float)Options.WeightNoise, g);
            p.AddInPlace(n, 1f);
            added.Add((p, n));
        }
        return added;
    }

    private void RemoveWeightNoise(List<(Tensor Parameter, Tensor Noise)> noise)
    {
        using var _ = GradMode.NoGrad();
        foreach (var (p, n) in noise) p.AddInPlace(n, -1f);
    }

    private static Tensor Apply(Loss loss, Tensor output, IntTensor? labels, Tensor? targets) =>
        labels is not null ? loss.Forward(output, labels) : loss.Forward(output, targets!);

    // Correct predictions (classification; soft labels from MixUp/CutMix count their largest class) or the summed
    // absolute error (regression) of one batch.
    private static double BatchMetric(Tensor output, Batch batch, TaskKind task)
    {
        using var _ = GradMode.NoGrad();
        if (task == TaskKind.Classification)
        {
            var predicted = output.ArgMax(1).Data;
            var truth = batch.Labels?.Data ?? batch.Targets!.ArgMax(1).Data;
            int correct = 0;
            for (int i = 0; i < predicted.Length; i++) if (predicted[i] == truth[i]) correct++;
            return correct;
        }
        return (output - batch.Targets!).Abs().Sum().Item();
    }

    /// <summary>Loss and metrics on a dataset, in evaluation mode without recording a graph.</summary>
    public Evaluation Evaluate(Module model, Loss loss, TensorDataset data)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(data);
        var outputs = Predict(model, data);
        using var _ = GradMode.NoGrad();
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        if (data.Task == TaskKind.Classification)
        {
            // The loss is the mean over samples (as CrossEntropy's mean without class weights).
            double l = data.Count == 0 ? double.NaN : loss.Forward(outputs, data.Labels!).Item();
            var predicted = outputs.ArgMax(1);
            var confusion = Metrics.ConfusionMatrix(predicted, data.Labels!, data.NumClasses);
            var (p, r, f1) = Metrics.MacroPrecisionRecallF1(confusion);
            metrics["accuracy"] = Metrics.Accuracy(predicted, data.Labels!);
            if (data.NumClasses > 5) metrics["top5_accuracy"] = Metrics.TopK(outputs, data.Labels!, 5);
            metrics["precision"] = p;
            metrics["recall"] = r;
            metrics["f1"] = f1;
            return new Evaluation { Loss = l, Metrics = metrics, Confusion = confusion, Count = data.Count };
        }
        double rl = data.Count == 0 ? double.NaN : loss.Forward(outputs, data.Targets!).Item();
        metrics["mse"] = Metrics.Mse(outputs, data.Targets!);
        metrics["mae"] = Metrics.Mae(outputs, data.Targets!);
        metrics["r2"] = Metrics.R2(outputs, data.Targets!);
        return new Evaluation { Loss = rl, Metrics = metrics, Count = data.Count };
    }

    /// <summary>Model outputs for every sample, batch by batch, in evaluation mode; the mode is restored after.</summary>
    public Tensor Predict(Module model, Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        return Predict(model, features.Shape[0], (start, count) => features.Detach().Narrow(0, start, count));
    }

    /// <summary>The model's outputs for every sample of <paramref name="data"/>, in order, gathered chunk by chunk
    /// (8-bit pixel datasets are never converted whole).</summary>
    public Tensor Predict(Module model, TensorDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!data.HoldsPixels) return Predict(model, data.Features);
        return Predict(model, data.Count, (start, count) =>
        {
            var idx = new int[count];
            for (int i = 0; i < count; i++) idx[i] = start + i;
            return data.Rows(idx);
        });
    }

    private Tensor Predict(Module model, int n, Func<int, int, Tensor> chunk)
    {
        ArgumentNullException.ThrowIfNull(model);
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            using var _ = GradMode.NoGrad();
            int step = Math.Max(Options.BatchSize, 256);
            var parts = new List<Tensor>();
            for (int i = 0; i < n; i += step)
                parts.Add(model.Forward(chunk(i, Math.Min(step, n - i))));
            return parts.Count == 1 ? parts[0] : Tensor.Concat(parts.ToArray(), 0);
        }
        finally
        {
            model.Train(wasTraining);
        }
    }

    // ---- checkpoints -------------------------------------------------------------------------------------

    private void WriteCheckpoint(string path, int epoch, Module model, Optimizer optimizer, Callback[] callbacks, History history, Generator noise)
    {
        var state = new StateDict();
        foreach (var (k, v) in model.StateDict()) state.Add("model." + k, v);
        var opt = optimizer.StateDict();
        foreach (var (k, v) in opt) state.Add("optimizer." + k, v);
        foreach (var (k, v) in opt.Metadata) state.Metadata["optimizer." + k] = v;
        if (Options.Scheduler is not null)
            foreach (var (k, v) in Options.Scheduler.StateDict().Metadata) state.Metadata["scheduler." + k] = v;
        if (Options.Plateau is not null)
            foreach (var (k, v) in Options.Plateau.StateDict().Metadata) state.Metadata["plateau." + k] = v;
        for (int i = 0; i < callbacks.Length; i++) callbacks[i].SaveState(state, $"callbacks.{i}.");
        // Training-time randomness (dropout masks, noise) continues exactly where it stopped.
        foreach (var (name, g) in model.NamedGenerators()) state.Metadata["rng.model." + name] = string.Join(",", g.GetState());
        state.Metadata["rng.weight_noise"] = string.Join(",", noise.GetState());
        state.Metadata["epoch"] = epoch.ToString(CultureInfo.InvariantCulture);
        state.Metadata["seed"] = Options.Seed.ToString(CultureInfo.InvariantCulture);
        if (Options.CheckpointMetadata is not null)
            foreach (var (k, v) in Options.CheckpointMetadata) state.Metadata[k] = v;
        state.Metadata["history"] = JsonSerializer.Serialize(history.Epochs.Select(e => e.Logs.ToDictionary()).ToList(), HistoryJson.Default.ListDictionaryStringDouble);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        SafeTensors.Write(path, state);
    }

    private int Restore(StateDict state, Module model, Optimizer optimizer, Callback[] callbacks, History history, Generator noise)
    {
        try
        {
            return RestoreState(state, model, optimizer, callbacks, history, noise);
        }
        catch (Exception e) when (e is FormatException or OverflowException or JsonException or KeyNotFoundException or ArgumentException)
        {
            throw new InvalidOperationException($"Resume: the checkpoint is malformed ({e.Message.ReplaceLineEndings(" ")})", e);
        }
    }

    private int RestoreState(StateDict state, Module model, Optimizer optimizer, Callback[] callbacks, History history, Generator noise)
    {
        if (!state.Metadata.TryGetValue("epoch", out var epochText))
            throw new InvalidOperationException("Resume: the file is not a training checkpoint (no 'epoch' metadata).");
        int epoch = int.Parse(epochText, CultureInfo.InvariantCulture);
        if (epoch < 0) throw new InvalidOperationException($"Resume: the checkpoint's epoch {epoch} is negative.");
        if (state.Metadata.TryGetValue("seed", out var seed) && seed != Options.Seed.ToString(CultureInfo.InvariantCulture))
            throw new InvalidOperationException($"Resume: the checkpoint was made with seed {seed}, these options use {Options.Seed}.");
        model.LoadStateDict(Section(state, "model."));
        optimizer.LoadStateDict(Section(state, "optimizer."));
        if (Options.Scheduler is not null) Options.Scheduler.LoadStateDict(Section(state, "scheduler."));
        if (Options.Plateau is not null) Options.Plateau.LoadStateDict(Section(state, "plateau."));
        for (int i = 0; i < callbacks.Length; i++) callbacks[i].LoadState(state, $"callbacks.{i}.");
        static ulong[] Parse(string s) => s.Split(',').Select(v => ulong.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        foreach (var (name, g) in model.NamedGenerators())
            if (state.Metadata.TryGetValue("rng.model." + name, out var rng)) g.SetState(Parse(rng));
        if (state.Metadata.TryGetValue("rng.weight_noise", out var wn)) noise.SetState(Parse(wn));
        var logs = JsonSerializer.Deserialize(state.Metadata["history"], HistoryJson.Default.ListDictionaryStringDouble) ?? [];
        if (logs.Count != epoch + 1)
            throw new InvalidOperationException($"Resume: the checkpoint's history holds {logs.Count} epochs, its epoch says {epoch + 1}.");
        for (int e = 0; e < logs.Count; e++) history.Epochs.Add(new EpochLog(e, logs[e] ?? throw new InvalidOperationException("Resume: the checkpoint's history holds a null epoch.")));
        return epoch + 1;
    }

    private static StateDict Section(StateDict state, string prefix)
    {
        var d = new StateDict();
        foreach (var (k, v) in state)
            if (k.StartsWith(prefix, StringComparison.Ordinal)) d.Add(k[prefix.Length..], v);
        foreach (var (k, v) in state.Metadata)
            if (k.StartsWith(prefix, StringComparison.Ordinal)) d.Metadata[k[prefix.Length..]] = v;
        return d;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(List<Dictionary<string, double>>))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals)]
internal sealed partial class HistoryJson : System.Text.Json.Serialization.JsonSerializerContext;
