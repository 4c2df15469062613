using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Tests;

public class DataLoaderTests
{
    static TensorDataset Data(int n) => new(Tensor.Arange(n).Reshape(n, 1), IntTensor.FromArray(Enumerable.Range(0, n).Select(i => i % 3).ToArray()));

    static int[][] Indices(DataLoader l, int epoch) => l.Epoch(epoch).Select(b => b.Indices).ToArray();

    [Fact]
    public void Same_seed_same_batches_with_or_without_the_worker()
    {
        var bg = new DataLoader(Data(103), 10, seed: 5);
        var fg = new DataLoader(Data(103), 10, seed: 5, background: false);
        Assert.Equal(Indices(bg, 0), Indices(fg, 0));
        Assert.Equal(Indices(bg, 3), Indices(new DataLoader(Data(103), 10, seed: 5), 3));
        Assert.NotEqual(Indices(bg, 0), Indices(bg, 1));
        Assert.NotEqual(Indices(bg, 0), Indices(new DataLoader(Data(103), 10, seed: 6), 0));
        var all = Indices(bg, 2).SelectMany(i => i).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, 103), all);
    }

    [Fact]
    public void Batches_carry_their_samples_and_labels()
    {
        var loader = new DataLoader(Data(10), 4, shuffle: false);
        var batches = loader.Epoch(0).ToArray();
        Assert.Equal([4, 4, 2], batches.Select(b => b.Count));
        Assert.Equal([4f, 5f, 6f, 7f], batches[1].Features.ToArray());
        Assert.Equal([1, 2, 0, 1], batches[1].Labels!.Data);
        Assert.Equal(2, new DataLoader(Data(10), 4, dropLast: true).BatchesPerEpoch);
        Assert.Equal(2, new DataLoader(Data(10), 4, dropLast: true).Epoch(0).Count());
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Data(10), 0));
    }

    [Fact]
    public void Transform_runs_on_the_worker_with_a_reproducible_generator()
    {
        var loader = new DataLoader(Data(20), 5, seed: 1)
        {
            Transform = (b, g) => b with { Features = b.Features + g.NextFloat() },
        };
        var a = loader.Epoch(0).Select(b => b.Features.ToArray()).ToArray();
        var b2 = loader.Epoch(0).Select(b => b.Features.ToArray()).ToArray();
        Assert.Equal(a, b2);
    }

    [Fact]
    public void Stopping_early_stops_the_worker()
    {
        var loader = new DataLoader(Data(1000), 1, seed: 1);
        Assert.Single(loader.Epoch(0).Take(1));
        Assert.Equal(1000, loader.Epoch(1).Count());
    }
}

public class MetricTests
{
    [Fact]
    public void Classification_metrics_match_sklearn()
    {
        // sklearn: y_true = [0,1,2,2,1,0], y_pred = [0,2,2,2,1,1]
        var t = IntTensor.FromArray([0, 1, 2, 2, 1, 0]);
        var p = IntTensor.FromArray([0, 2, 2, 2, 1, 1]);
        Assert.Equal(4.0 / 6, Metrics.Accuracy(p, t), 12);
        var cm = Metrics.ConfusionMatrix(p, t, 3);
        Assert.Equal(new[,] { { 1, 1, 0 }, { 0, 1, 1 }, { 0, 0, 2 } }, cm);
        var (precision, recall, f1) = Metrics.MacroPrecisionRecallF1(cm);
        // precision per class 1, 1/2, 2/3; recall 1/2, 1/2, 1; f1 2/3, 1/2, 4/5
        Assert.Equal((1 + 0.5 + 2.0 / 3) / 3, precision, 12);
        Assert.Equal((0.5 + 0.5 + 1) / 3, recall, 12);
        Assert.Equal((2.0 / 3 + 0.5 + 0.8) / 3, f1, 12);
        // A class never predicted scores 0 (zero_division = 0).
        var (p2, _, _) = Metrics.MacroPrecisionRecallF1(Metrics.ConfusionMatrix(IntTensor.FromArray([0, 0]), IntTensor.FromArray([0, 1]), 2));
        Assert.Equal(0.25, p2, 12);
    }

    [Fact]
    public void Top_k_counts_labels_among_the_k_best()
    {
        var scores = Tensor.FromArray([0.1f, 0.5f, 0.4f, 0.3f, 0.3f, 0.4f], 2, 3);
        // Row 0: label 2 is second best. Row 1: label 1 ties label 0 (lower index wins) and trails label 2: third.
        Assert.Equal(0.0, Metrics.TopK(scores, IntTensor.FromArray([2, 1]), 1), 12);
        Assert.Equal(0.5, Metrics.TopK(scores, IntTensor.FromArray([2, 1]), 2), 12);
        Assert.Equal(1.0, Metrics.TopK(scores, IntTensor.FromArray([2, 1]), 3), 12);
        Assert.Equal(1.0, Metrics.TopK(scores, IntTensor.FromArray([1, 2]), 1), 12);
    }

    [Fact]
    public void Regression_metrics_match_sklearn()
    {
        // sklearn r2_score([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]) = 0.9486081370449679
        var t = Tensor.FromArray([3f, -0.5f, 2f, 7f], 4, 1);
        var p = Tensor.FromArray([2.5f, 0f, 2f, 8f], 4, 1);
        Assert.Equal(0.9486081370449679, Metrics.R2(p, t), 6);
        Assert.Equal(0.375, Metrics.Mse(p, t), 6);
        Assert.Equal(0.5, Metrics.Mae(p, t), 6);
        Assert.Equal(1.0, Metrics.R2(Tensor.Ones(3, 1), Tensor.Ones(3, 1)));
    }
}

public class CallbackTests
{
    static TrainingContext Context(Module model) =>
        new(model, new SGD(model.Parameters(), lr: 0.1), new History(), 10, 1, 1);

    static EpochLog Log(int epoch, double valLoss) => new(epoch, new Dictionary<string, double> { ["val_loss"] = valLoss });

    static int? StopEpoch(EarlyStopping es, Module model, params double[] values)
    {
        var ctx = Context(model);
        es.OnTrainBegin(ctx);
        for (int e = 0; e < values.Length; e++)
        {
            es.OnEpochEnd(ctx, Log(e, values[e]));
            if (ctx.StopTraining) return e;
        }
        return null;
    }

    [Fact]
    public void Early_stopping_waits_patience_epochs_after_the_best()
    {
        var model = Models.Mlp(2, [], 1, new Generator(0));
        Assert.Equal(4, StopEpoch(new EarlyStopping(patience: 2), model, 1.0, 0.8, 0.7, 0.75, 0.72, 0.6));
        // patience 0 still never stops at epoch 0
        Assert.Equal(1, StopEpoch(new EarlyStopping(patience: 0), model, 1.0, 1.1, 1.2));
        // min_delta: improvements smaller than 0.1 do not count
        Assert.Equal(2, StopEpoch(new EarlyStopping(patience: 2, minDelta: 0.1), model, 1.0, 0.95, 0.92));
        // max mode by name (accuracy)
        var acc = new EarlyStopping(monitor: "val_accuracy", patience: 1);
        Assert.Equal(MonitorMode.Max, acc.Mode);
        var ctx = Context(model);
        acc.OnEpochEnd(ctx, new EpochLog(0, new Dictionary<string, double> { ["val_accuracy"] = 0.5 }));
        acc.OnEpochEnd(ctx, new EpochLog(1, new Dictionary<string, double> { ["val_accuracy"] = 0.6 }));
        Assert.False(ctx.StopTraining);
        acc.OnEpochEnd(ctx, new EpochLog(2, new Dictionary<string, double> { ["val_accuracy"] = 0.55 }));
        Assert.True(ctx.StopTraining);
    }

    [Fact]
    public void Early_stopping_baseline_and_warm_up()
    {
        var model = Models.Mlp(2, [], 1, new Generator(0));
        // Improvements that do not beat the baseline do not reset the wait.
        Assert.Equal(2, StopEpoch(new EarlyStopping(patience: 2, baseline: 0.5), model, 1.0, 0.9, 0.95, 0.96));
        // …and, as in Keras, an epoch that improves never stops training, even past patience.
        Assert.Null(StopEpoch(new EarlyStopping(patience: 1, baseline: 0.5), model, 1.0, 0.9, 0.8, 0.7));
        // start_from_epoch ignores the first epochs entirely.
        Assert.Equal(4, StopEpoch(new EarlyStopping(patience: 1, startFromEpoch: 3), model, 0.1, 5, 5, 1.0, 1.2));
    }

    [Fact]
    public void Restore_best_weights_puts_back_the_best_epoch_even_without_an_early_stop()
    {
        var model = Models.Mlp(2, [], 1, new Generator(0));
        var w = ((Linear)model[0]).Weight;
        var es = new EarlyStopping(patience: 5, restoreBestWeights: true);
        var ctx = Context(model);
        es.OnTrainBegin(ctx);
        double[] losses = [1.0, 0.5, 0.9];
        for (int e = 0; e < 3; e++)
        {
            using (Autograd.GradMode.NoGrad()) w.FillInPlace(e);
            es.OnEpochEnd(ctx, Log(e, losses[e]));
        }
        Assert.False(ctx.StopTraining);
        es.OnTrainEnd(ctx);
        Assert.All(w.ToArray(), v => Assert.Equal(1f, v));
        Assert.Equal(1, es.BestEpoch);
    }

    [Fact]
    public void Weight_stabilization_stops_when_the_weights_stop_moving()
    {
        var (train, _) = Toy(64, 0);
        var model = Models.Mlp(2, [8], 2, new Generator(1));
        var frozen = new SGD(model.Parameters(), lr: 0, momentum: 0);
        var stable = new WeightStabilization(1e-6, patience: 2);
        var h = new Trainer(new TrainerOptions { BatchSize = 16 }).Fit(model, new CrossEntropyLoss(), frozen, train, null, 20, [stable]);
        Assert.Equal(2, h.Epochs.Count);
        Assert.Contains("stabilised", h.StopReason);

        var moving = new WeightStabilization(1e-6);
        var h2 = new Trainer(new TrainerOptions { BatchSize = 16 }).Fit(model, new CrossEntropyLoss(), new SGD(model.Parameters(), lr: 0.5), train, null, 3, [moving]);
        Assert.Equal(3, h2.Epochs.Count);
        Assert.True(moving.LastChange > 1e-6);
    }

    internal static (TensorDataset train, TensorDataset test) Toy(int n, int seed)
    {
        // Two Gaussian blobs, linearly separable with margin.
        var g = new Generator(seed);
        var x = new float[2 * n];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % 2;
            x[2 * i] = (float)(g.NextNormal() * 0.5 + (y[i] == 0 ? -2 : 2));
            x[2 * i + 1] = (float)(g.NextNormal() * 0.5);
        }
        var all = new TensorDataset(Tensor.FromArray(x, n, 2), IntTensor.FromArray(y));
        return (all.Subset(Enumerable.Range(0, n * 3 / 4).ToArray()), all.Subset(Enumerable.Range(n * 3 / 4, n - n * 3 / 4).ToArray()));
    }
}

public class TrainerTests
{
    [Fact]
    public void Fit_learns_and_reports_history_evaluation_and_predictions()
    {
        var (train, test) = CallbackTests.Toy(200, 3);
        var model = Models.Mlp(2, [8], 2, new Generator(1));
        var trainer = new Trainer(new TrainerOptions { BatchSize = 16, Seed = 4 });
        var h = trainer.Fit(model, new CrossEntropyLoss(), new Adam(model.Parameters(), lr: 0.01), train, test, 5);
        Assert.Equal(5, h.Epochs.Count);
        Assert.True(h.Epochs[^1]["loss"] < h.Epochs[0]["loss"]);
        Assert.True(h.Epochs[^1]["val_accuracy"] > 0.95);
        Assert.All(new[] { "loss", "accuracy", "val_loss", "val_accuracy", "val_f1", "lr", "seconds" }, k => Assert.True(h.Epochs[0].Logs.ContainsKey(k), k));
        var ev = trainer.Evaluate(model, new CrossEntropyLoss(), test);
        Assert.Equal(test.Count, ev.Count);
        Assert.Equal(test.Count, ev.Confusion!.Cast<int>().Sum());
        Assert.Equal(new[] { test.Count, 2 }, trainer.Predict(model, test.Features).Shape);
        Assert.True(model.Training);
    }

    [Fact]
    public void Evaluating_a_pixel_dataset_matches_its_float_copy()
    {
        var (pixels, _) = Nabla.Datasets.FashionMnistSubset.Load();
        pixels = pixels.Subset(Enumerable.Range(0, 700).ToArray());   // several prediction chunks of 256
        var floats = new TensorDataset(pixels.Rows(Enumerable.Range(0, 700).ToArray()), pixels.Labels!, pixels.NumClasses, pixels.ClassNames);
        var model = Models.FromSpec("mlp:32", pixels.SampleShape, 10, new Generator(3));
        var trainer = new Trainer(new TrainerOptions { BatchSize = 64 });
        var a = trainer.Evaluate(model, new CrossEntropyLoss(), pixels);
        var b = trainer.Evaluate(model, new CrossEntropyLoss(), floats);
        Assert.Equal(b.Loss, a.Loss);
        Assert.Equal(b.Metrics["accuracy"], a.Metrics["accuracy"]);
        Assert.Equal(trainer.Predict(model, floats.Features).ToArray(), trainer.Predict(model, pixels).ToArray());
    }

    [Fact]
    public void Regression_is_scored_with_r2()
    {
        var g = new Generator(2);
        var x = Tensor.Randn([256, 3], g);
        var y = x.MatMul(Tensor.FromArray([1f, -2f, 0.5f], 3, 1)) + 0.3f;
        var data = new TensorDataset(x, y);
        var model = Models.Mlp(3, [], 1, new Generator(1));
        var trainer = new Trainer(new TrainerOptions { BatchSize = 32 });
        trainer.Fit(model, new MSELoss(), new SGD(model.Parameters(), lr: 0.1, momentum: 0.9), data, null, 20);
        var ev = trainer.Evaluate(model, new MSELoss(), data);
        Assert.True(ev.Metrics["r2"] > 0.999, $"r2 {ev.Metrics["r2"]}");
    }

    [Fact]
    public void A_diverging_loss_stops_training_with_a_clear_message_and_keeps_the_last_good_checkpoint()
    {
        var (train, test) = CallbackTests.Toy(64, 1);
        var dir = Directory.CreateTempSubdirectory("nabla-nan");
        try
        {
            var model = Models.Mlp(2, [8], 2, new Generator(1));
            var ckpt = new ModelCheckpoint(dir.FullName);
            var opt = new SGD(model.Parameters(), lr: 0.1, momentum: 0);
            var trainer = new Trainer(new TrainerOptions { BatchSize = 16 });
            trainer.Fit(model, new CrossEntropyLoss(), opt, train, test, 1, [ckpt]);
            var good = File.ReadAllBytes(ckpt.LastPath);
            opt.ParamGroups[0].LearningRate = 1e30; // the next steps blow up
            var h = trainer.Fit(model, new CrossEntropyLoss(), opt, train, test, 5, [ckpt]);
            Assert.True(h.Diverged);
            Assert.Contains("The loss became", h.StopReason);
            Assert.Equal(good, File.ReadAllBytes(ckpt.LastPath));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    sealed class CancelAfter(CancellationTokenSource cts, int batches) : Callback
    {
        int _seen;
        public override void OnBatchEnd(TrainingContext context, int epoch, int batch, double loss, int samples)
        {
            if (++_seen == batches) cts.Cancel();
        }
    }

    [Fact]
    public void Cancellation_stops_between_batches_and_saves_the_weights()
    {
        var (train, _) = CallbackTests.Toy(128, 1);
        var dir = Directory.CreateTempSubdirectory("nabla-cancel");
        try
        {
            using var cts = new CancellationTokenSource();
            var model = Models.Mlp(2, [8], 2, new Generator(1));
            var ckpt = new ModelCheckpoint(dir.FullName);
            var h = new Trainer(new TrainerOptions { BatchSize = 8, Cancellation = cts.Token })
                .Fit(model, new CrossEntropyLoss(), new SGD(model.Parameters(), lr: 0.1), train, null, 10, [ckpt, new CancelAfter(cts, 5)]);
            Assert.True(h.Cancelled);
            Assert.Empty(h.Epochs);
            Assert.True(File.Exists(ckpt.LastPath));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_resumed_run_ends_with_the_same_weights_as_an_uninterrupted_one()
    {
        var (train, test) = CallbackTests.Toy(120, 5);
        var dir = Directory.CreateTempSubdirectory("nabla-resume-fit");
        try
        {
            (Sequential model, Adam opt, TrainerOptions options, Callback[] callbacks) Setup(string ckpt)
            {
                var model = Models.Mlp(2, [6], 2, new Generator(9));
                var opt = new Adam(model.Parameters(), lr: 0.01);
                var sched = new CosineAnnealingWarmupLR(opt, warmupSteps: 5, totalSteps: 40);
                var options = new TrainerOptions { BatchSize = 16, Seed = 3, Scheduler = sched, CheckpointPath = ckpt };
                return (model, opt, options, [new EarlyStopping(patience: 50, restoreBestWeights: false), new WeightStabilization(1e-12)]);
            }
            var (m1, o1, opts1, cb1) = Setup(Path.Combine(dir.FullName, "full.safetensors"));
            new Trainer(opts1).Fit(m1, new CrossEntropyLoss(), o1, train, test, 4, cb1);

            var ckpt = Path.Combine(dir.FullName, "part.safetensors");
            var (m2, o2, opts2, cb2) = Setup(ckpt);
            new Trainer(opts2).Fit(m2, new CrossEntropyLoss(), o2, train, test, 2, cb2);

            var (m3, o3, opts3, cb3) = Setup(ckpt);
            var h = new Trainer(opts3).Resume(ckpt, m3, new CrossEntropyLoss(), o3, train, test, 4, cb3);
            Assert.Equal(4, h.Epochs.Count);
            foreach (var (k, v) in m1.StateDict())
                Assert.Equal(v.Float!.ToArray(), m3.StateDict()[k].Float!.ToArray());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
