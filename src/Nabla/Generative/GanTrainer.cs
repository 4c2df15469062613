using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Nabla.Data;
using Nabla.Optim;
using Nabla.Serialization;

namespace Nabla.Generative;

/// <summary>Settings of a <see cref="GanTrainer"/> run; the defaults are DCGAN's (Radford et al. 2016).</summary>
public sealed record GanOptions
{
    /// <summary>Passes over the data.</summary>
    public int Epochs { get; init; } = 10;
    /// <summary>Real samples per step (the same number of generated ones); an epoch's short last batch is dropped.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Adam's step size for both networks.</summary>
    public double LearningRate { get; init; } = 2e-4;
    /// <summary>Adam's β₁ (DCGAN's 0.5, not the usual 0.9: momentum destabilises the two-player game).</summary>
    public double Beta1 { get; init; } = 0.5;
    /// <summary>Adam's β₂.</summary>
    public double Beta2 { get; init; } = 0.999;
    /// <summary>One-sided label smoothing (Salimans et al. 2016): the discriminator's target for real samples is 1 − s.</summary>
    public float LabelSmoothing { get; init; }
    /// <summary>Seeds the loader's order, the latent codes and the generated samples' classes.</summary>
    public int Seed { get; init; }
    /// <summary>A file the full training state is written to after each epoch, for <see cref="GanTrainer.Resume(string, ConditionalGenerator, ConditionalModule, TensorDataset)"/>.</summary>
    public string? CheckpointPath { get; init; }
    /// <summary>Capture the step after its first run and replay it (issue 20's one execution path); false runs every step eagerly.</summary>
    public bool CaptureStep { get; init; } = true;
    /// <summary>
    /// Applied to each real batch on the loader's worker (e.g. images scaled from [0, 1] to the generator's [−1, 1]),
    /// with a generator seeded from the run's seed, the epoch and the batch.
    /// </summary>
    public Func<Batch, Generator, Batch>? Transform { get; init; }
    /// <summary>Called after each step with (step in the epoch, steps per epoch).</summary>
    public Action<int, int>? OnBatch { get; init; }
    /// <summary>Called after each epoch (after the checkpoint is written); may add entries to <see cref="GanEpoch.Metrics"/>.</summary>
    public Action<GanEpoch>? OnEpoch { get; init; }
}

/// <summary>One epoch's means over its steps.</summary>
public sealed record GanEpoch
{
    /// <summary>0-based epoch.</summary>
    public int Epoch { get; init; }
    /// <summary>The discriminator's loss, BCE(D(x), 1 − s) + BCE(D(G(z)), 0).</summary>
    public double DiscriminatorLoss { get; init; }
    /// <summary>The generator's non-saturating loss, BCE(D(G(z)), 1).</summary>
    public double GeneratorLoss { get; init; }
    /// <summary>Mean σ(D(x)) on real samples.</summary>
    public double RealScore { get; init; }
    /// <summary>Mean σ(D(G(z))) on generated samples, before the discriminator's update.</summary>
    public double FakeScore { get; init; }
    /// <summary>Wall-clock seconds of the epoch's steps.</summary>
    public double Seconds { get; init; }
    /// <summary>Extra per-epoch measurements (class fidelity, Fréchet distance …) added by <see cref="GanOptions.OnEpoch"/>.</summary>
    public Dictionary<string, double> Metrics { get; init; } = [];
}

/// <summary>What a GAN run did.</summary>
public sealed class GanHistory
{
    /// <summary>Every epoch, in order (after a resume, the earlier epochs too).</summary>
    public List<GanEpoch> Epochs { get; } = [];
    /// <summary>Whether steps were replayed from a capture.</summary>
    public bool CapturedStep { get; set; }
    /// <summary>Why no step was captured, or null.</summary>
    public string? CaptureNote { get; set; }
}

/// <summary>
/// Trains a conditional generator G against a conditional discriminator D (Goodfellow et al. 2014, conditioned as
/// Mirza and Osindero 2014), alternating the two Adam optimizers each step as PyTorch's DCGAN example does:
/// D takes one step on L_D = BCE(D(x, y), 1 − s) + BCE(D(G(z, y'), y'), 0) with the generated batch detached, then G
/// one step on L_G = BCE(D(G(z, y'), y'), 1), the non-saturating loss, through the updated D. z ~ N(0, I) and the
/// generated classes y' are drawn uniformly, both from the run's seed. The step is captured once and replayed.
/// </summary>
public sealed class GanTrainer
{
    /// <summary>Creates a trainer with these settings.</summary>
    public GanTrainer(GanOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Epochs < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Epochs, "GanOptions.Epochs must be at least 1.");
        if (options.BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "GanOptions.BatchSize must be at least 2.");
        if (!(options.LearningRate > 0) || double.IsInfinity(options.LearningRate))
            throw new ArgumentOutOfRangeException(nameof(options), options.LearningRate, "GanOptions.LearningRate must be positive and finite.");
        if (!(options.LabelSmoothing >= 0 && options.LabelSmoothing < 1))
            throw new ArgumentOutOfRangeException(nameof(options), options.LabelSmoothing, "GanOptions.LabelSmoothing must be in [0, 1).");
        Options = options;
    }

    /// <summary>The settings.</summary>
    public GanOptions Options { get; }

    /// <summary>Trains <paramref name="generator"/> and <paramref name="discriminator"/> on <paramref name="data"/> (samples in G's output range).</summary>
    public GanHistory Train(ConditionalGenerator generator, ConditionalModule discriminator, TensorDataset data) =>
        Run(generator, discriminator, data, null);

    /// <summary>Continues a run from a checkpoint written through <see cref="GanOptions.CheckpointPath"/>: the same epochs follow as without the stop.</summary>
    public GanHistory Resume(string checkpointPath, ConditionalGenerator generator, ConditionalModule discriminator, TensorDataset data)
    {
        ArgumentNullException.ThrowIfNull(checkpointPath);
        return Run(generator, discriminator, data, SafeTensors.Read(checkpointPath));
    }

    /// <summary>As <see cref="Resume(string, ConditionalGenerator, ConditionalModule, TensorDataset)"/>, from a checkpoint already read.</summary>
    /// <exception cref="InvalidOperationException">the checkpoint is not a GAN checkpoint of these networks and seed.</exception>
    public GanHistory Resume(StateDict checkpoint, ConditionalGenerator generator, ConditionalModule discriminator, TensorDataset data)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return Run(generator, discriminator, data, checkpoint);
    }

    private GanHistory Run(ConditionalGenerator g, ConditionalModule d, TensorDataset data, StateDict? resume)
    {
        ArgumentNullException.ThrowIfNull(g);
        ArgumentNullException.ThrowIfNull(d);
        ArgumentNullException.ThrowIfNull(data);
        if (data.Task != TaskKind.Classification)
            throw new ArgumentException("GanTrainer: the data must have class labels (a conditional GAN).", nameof(data));
        if (data.NumClasses != g.Classes || data.NumClasses != d.Classes)
            throw new ArgumentException($"GanTrainer: the data has {data.NumClasses} classes, the generator {g.Classes} and the discriminator {d.Classes}.", nameof(data));
        if (!data.SampleShape.SequenceEqual(g.SampleShape))
            throw new ArgumentException($"GanTrainer: samples {Shapes.Format(data.SampleShape)} differ from the generator's {Shapes.Format(g.SampleShape)}.", nameof(data));
        int batch = Options.BatchSize;
        if (data.Count < batch)
            throw new ArgumentException($"GanTrainer: {data.Count} samples are fewer than one batch of {batch}.", nameof(data));

        var optG = new Adam(g.Parameters(), lr: Options.LearningRate, beta1: Options.Beta1, beta2: Options.Beta2);
        var optD = new Adam(d.Parameters(), lr: Options.LearningRate, beta1: Options.Beta1, beta2: Options.Beta2);
        var latentRng = new Generator((ulong)(uint)Options.Seed * 2 + 1);
        var labelRng = new Generator((ulong)(uint)Options.Seed * 2 + 2);
        var history = new GanHistory();
        int start = 0;
        if (resume is not null) start = Restore(resume, g, d, optG, optD, latentRng, labelRng, history);
        g.Train();
        d.Train();

        var step = new GanStep(g, d, optG, optD, batch, [.. data.SampleShape], Options.LabelSmoothing, latentRng);
        var loader = new DataLoader(data, batch, shuffle: true, dropLast: true, seed: Options.Seed) { Transform = Options.Transform };
        var graph = new StepGraph();
        bool warm = false;
        history.CaptureNote = Options.CaptureStep ? null : "capture is turned off (GanOptions.CaptureStep = false)";
        int steps = loader.BatchesPerEpoch;
        for (int epoch = start; epoch < Options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            double dLoss = 0, gLoss = 0, real = 0, fake = 0;
            int i = 0;
            foreach (var b in loader.Epoch(epoch))
            {
                step.Load(b.Features, b.Labels!, labelRng, g.Classes);
                if (graph.IsCaptured && graph.IsValid) graph.Replay();
                else if (!warm || history.CaptureNote is not null) { step.Run(); warm = true; }
                else if (!graph.Capture(step.Run)) history.CaptureNote = graph.Failure;
                history.CapturedStep |= graph.Replays > 0;
                var (ld, lg, rs, fs) = step.Read();
                if (!double.IsFinite(ld) || !double.IsFinite(lg))
                    throw new InvalidOperationException($"GanTrainer: the losses diverged at epoch {epoch + 1}, step {i + 1} (D {ld}, G {lg}); try a smaller learning rate.");
                dLoss += ld;
                gLoss += lg;
                real += rs;
                fake += fs;
                i++;
                Options.OnBatch?.Invoke(i, steps);
            }
            var log = new GanEpoch
            {
                Epoch = epoch, DiscriminatorLoss = dLoss / i, GeneratorLoss = gLoss / i, RealScore = real / i, FakeScore = fake / i,
                Seconds = clock.Elapsed.TotalSeconds,
            };
            history.Epochs.Add(log);
            if (Options.CheckpointPath is not null) WriteCheckpoint(Options.CheckpointPath, epoch, g, d, optG, optD, latentRng, labelRng, history);
            Options.OnEpoch?.Invoke(log);
            g.Train();
            d.Train();
        }
        graph.Dispose();
        return history;
    }

    // The one step: static inputs (real batch, its labels, the generated classes) copied in before each run.
    private sealed class GanStep
    {
        private readonly ConditionalGenerator _g;
        private readonly ConditionalModule _d;
        private readonly Optimizer _optG, _optD;
        private readonly Generator _latent;
        private readonly BCEWithLogitsLoss _bce = new();
        private readonly Tensor _x, _realTarget, _fakeTarget, _ones;
        private readonly IntTensor _y, _yFake;
        private Tensor? _dLoss, _gLoss, _realScore, _fakeScore;

        public GanStep(ConditionalGenerator g, ConditionalModule d, Optimizer optG, Optimizer optD, int batch, int[] sampleShape, float smoothing, Generator latent)
        {
            (_g, _d, _optG, _optD, _latent) = (g, d, optG, optD, latent);
            _x = Tensor.Zeros([batch, .. sampleShape]);
            _y = IntTensor.Zeros(batch);
            _yFake = IntTensor.Zeros(batch);
            _realTarget = Tensor.Full([batch], 1f - smoothing);
            _fakeTarget = Tensor.Zeros(batch);
            _ones = Tensor.Ones(batch);
        }

        public void Load(Tensor x, IntTensor y, Generator labels, int classes)
        {
            _x.CopyFrom(x);
            y.Data.AsSpan().CopyTo(_y.Data);
            for (int i = 0; i < _yFake.Data.Length; i++) _yFake.Data[i] = labels.NextInt(classes);
        }

        public void Run()
        {
            _optD.ZeroGrad();
            var realLogits = _d.Forward(_x, _y);
            var z = Tensor.Normal([_x.shape[0], _g.LatentDim], 0f, 1f, _latent);
            var fake = _g.Forward(z, _yFake);
            var fakeLogits = _d.Forward(fake.Detach(), _yFake);
            var dLoss = _bce.Forward(realLogits, _realTarget) + _bce.Forward(fakeLogits, _fakeTarget);
            dLoss.Backward();
            _optD.Step();
            _optG.ZeroGrad();
            var gLoss = _bce.Forward(_d.Forward(fake, _yFake), _ones);
            gLoss.Backward();
            _optG.Step();
            _dLoss = dLoss;
            _gLoss = gLoss;
            _realScore = realLogits.Detach().Sigmoid().Mean();
            _fakeScore = fakeLogits.Detach().Sigmoid().Mean();
        }

        public (double D, double G, double Real, double Fake) Read() => (_dLoss!.Item(), _gLoss!.Item(), _realScore!.Item(), _fakeScore!.Item());
    }

    private void WriteCheckpoint(string path, int epoch, Module g, Module d, Optimizer optG, Optimizer optD, Generator latent, Generator labels, GanHistory history)
    {
        var state = new StateDict();
        void Add(string prefix, StateDict part)
        {
            foreach (var (k, v) in part) state.Add(prefix + k, v);
            foreach (var (k, v) in part.Metadata) state.Metadata[prefix + k] = v;
        }
        Add("generator.", g.StateDict());
        Add("discriminator.", d.StateDict());
        Add("optimizer_g.", optG.StateDict());
        Add("optimizer_d.", optD.StateDict());
        foreach (var (name, r) in g.NamedGenerators()) state.Metadata["rng.generator." + name] = string.Join(",", r.GetState());
        foreach (var (name, r) in d.NamedGenerators()) state.Metadata["rng.discriminator." + name] = string.Join(",", r.GetState());
        state.Metadata["rng.latent"] = string.Join(",", latent.GetState());
        state.Metadata["rng.labels"] = string.Join(",", labels.GetState());
        state.Metadata["epoch"] = epoch.ToString(CultureInfo.InvariantCulture);
        state.Metadata["seed"] = Options.Seed.ToString(CultureInfo.InvariantCulture);
        state.Metadata["gan_history"] = JsonSerializer.Serialize(history.Epochs.Select(e => new double[]
            { e.DiscriminatorLoss, e.GeneratorLoss, e.RealScore, e.FakeScore, e.Seconds }).ToArray(), GanJson.Default.DoubleArrayArray);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        SafeTensors.Write(path, state);
    }

    private int Restore(StateDict state, Module g, Module d, Optimizer optG, Optimizer optD, Generator latent, Generator labels, GanHistory history)
    {
        try
        {
            if (!state.Metadata.TryGetValue("epoch", out var epochText) || !state.Metadata.ContainsKey("gan_history"))
                throw new InvalidOperationException("Resume: the file is not a GAN training checkpoint (no 'epoch' or 'gan_history' metadata).");
            int epoch = int.Parse(epochText, CultureInfo.InvariantCulture);
            if (state.Metadata.TryGetValue("seed", out var seed) && seed != Options.Seed.ToString(CultureInfo.InvariantCulture))
                throw new InvalidOperationException($"Resume: the checkpoint was made with seed {seed}, these options use {Options.Seed}.");
            g.LoadStateDict(Section(state, "generator."));
            d.LoadStateDict(Section(state, "discriminator."));
            optG.LoadStateDict(Section(state, "optimizer_g."));
            optD.LoadStateDict(Section(state, "optimizer_d."));
            static ulong[] Parse(string s) => s.Split(',').Select(v => ulong.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            foreach (var (name, r) in g.NamedGenerators())
                if (state.Metadata.TryGetValue("rng.generator." + name, out var s)) r.SetState(Parse(s));
            foreach (var (name, r) in d.NamedGenerators())
                if (state.Metadata.TryGetValue("rng.discriminator." + name, out var s)) r.SetState(Parse(s));
            latent.SetState(Parse(state.Metadata["rng.latent"]));
            labels.SetState(Parse(state.Metadata["rng.labels"]));
            var rows = JsonSerializer.Deserialize(state.Metadata["gan_history"], GanJson.Default.DoubleArrayArray) ?? [];
            if (rows.Length != epoch + 1 || rows.Any(r => r is null || r.Length != 5))
                throw new InvalidOperationException($"Resume: the checkpoint's history holds {rows.Length} epochs, its epoch says {epoch + 1}.");
            for (int e = 0; e < rows.Length; e++)
                history.Epochs.Add(new GanEpoch { Epoch = e, DiscriminatorLoss = rows[e][0], GeneratorLoss = rows[e][1], RealScore = rows[e][2], FakeScore = rows[e][3], Seconds = rows[e][4] });
            return epoch + 1;
        }
        catch (Exception e) when (e is FormatException or OverflowException or JsonException or KeyNotFoundException or ArgumentException)
        {
            throw new InvalidOperationException($"Resume: the checkpoint is malformed ({e.Message.ReplaceLineEndings(" ")})", e);
        }
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

[System.Text.Json.Serialization.JsonSerializable(typeof(double[][]))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals)]
internal sealed partial class GanJson : System.Text.Json.Serialization.JsonSerializerContext;
