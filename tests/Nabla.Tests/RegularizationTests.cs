using Nabla.Autograd;
using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Tests;

public class RegularizationTests
{
    [Theory]
    [InlineData(0.2f, DropoutMode.Inverted)]
    [InlineData(0.5f, DropoutMode.Inverted)]
    [InlineData(0.5f, DropoutMode.Classic)]
    public void Dropout_keeps_the_right_fraction_and_scales_as_its_mode_says(float p, DropoutMode mode)
    {
        var d = new Dropout(p, new Generator(3), mode);
        var x = Tensor.Ones(200, 500);
        var y = d.Forward(x).ToArray();
        double kept = y.Count(v => v != 0) / (double)y.Length;
        // 100,000 Bernoulli draws: the kept fraction is within 4 standard deviations of 1 − p.
        double sd = Math.Sqrt(p * (1 - p) / y.Length);
        Assert.InRange(kept, 1 - p - 4 * sd, 1 - p + 4 * sd);
        float scale = mode == DropoutMode.Inverted ? 1 / (1 - p) : 1f;
        Assert.All(y.Where(v => v != 0), v => Assert.Equal(scale, v, 5));
        Assert.Equal(1.0, y.Average(), mode == DropoutMode.Inverted ? 2 : 0); // expectation preserved (inverted)
        d.Eval();
        var e1 = d.Forward(x).ToArray();
        Assert.Equal(e1, d.Forward(x).ToArray()); // deterministic
        Assert.All(e1, v => Assert.Equal(mode == DropoutMode.Inverted ? 1f : 1 - p, v, 6));
    }

    [Fact]
    public void Each_forward_draws_a_fresh_mask_and_the_same_seed_repeats_it()
    {
        var x = Tensor.Ones(1000);
        var a = new Dropout(0.5f, new Generator(1));
        var first = a.Forward(x).ToArray();
        Assert.NotEqual(first, a.Forward(x).ToArray());
        Assert.Equal(first, new Dropout(0.5f, new Generator(1)).Forward(x).ToArray());
    }

    [Fact]
    public void Gradients_flow_only_through_kept_units()
    {
        var x = Tensor.Randn([50, 40], 2).RequiresGrad_();
        var y = new Dropout(0.3f, new Generator(5)).Forward(x);
        y.Sum().Backward();
        var out_ = y.ToArray();
        var g = x.Grad!.ToArray();
        for (int i = 0; i < g.Length; i++)
            Assert.Equal(out_[i] == 0 ? 0f : 1 / 0.7f, g[i], 5);
    }

    [Fact]
    public void Dropout2d_drops_whole_channels()
    {
        var y = new Dropout2d(0.5f, new Generator(7)).Forward(Tensor.Ones(8, 16, 5, 5));
        var v = y.ToArray();
        int dropped = 0;
        for (int ch = 0; ch < 8 * 16; ch++)
        {
            var plane = v.AsSpan(ch * 25, 25).ToArray();
            Assert.True(plane.All(p => p == 0) || plane.All(p => p == 2f), $"channel {ch} is partly dropped");
            if (plane[0] == 0) dropped++;
        }
        Assert.InRange(dropped, 40, 88);
    }

    [Fact]
    public void DropConnect_drops_weights_and_keeps_linear_key_names()
    {
        var lin = new Linear(30, 20, new Generator(1));
        var dc = new DropConnect(lin, 0.5f, new Generator(2));
        Assert.Equal(["weight", "bias"], dc.StateDict().Keys.ToArray());
        var x = Tensor.Randn([4, 30], 3);
        dc.Eval();
        Assert.Equal(lin.Forward(x).ToArray(), dc.Forward(x).ToArray());
        dc.Train();
        var y = dc.Forward(x).RequiresGrad;
        Assert.True(y);
        // In training, a unit whose input is a single one-hot x_j sees w_ij either 0 or 2·w_ij.
        var e = Tensor.Zeros(1, 30);
        using (GradMode.NoGrad()) e.CopyFrom(Tensor.FromArray(Enumerable.Range(0, 30).Select(i => i == 4 ? 1f : 0f).ToArray(), 1, 30));
        var outs = (dc.Forward(e) - lin.Bias!).ToArray();
        var w = lin.Weight.ToArray();
        for (int i = 0; i < 20; i++)
            Assert.True(Math.Abs(outs[i]) < 1e-6 || Math.Abs(outs[i] - 2 * w[i * 30 + 4]) < 1e-5, $"unit {i}: {outs[i]} vs w {w[i * 30 + 4]}");
    }

    [Fact]
    public void Gaussian_noise_has_the_right_spread_in_training_only()
    {
        var n = new GaussianNoise(0.5f, generator: new Generator(4));
        var y = n.Forward(Tensor.Zeros(40000)).ToArray();
        double mean = y.Average(), sd = Math.Sqrt(y.Average(v => (v - mean) * (v - mean)));
        Assert.Equal(0, mean, 1);
        Assert.Equal(0.5, sd, 2);
        var m = new GaussianNoise(0.5f, multiplicative: true, generator: new Generator(4));
        Assert.Equal(y.Select(v => v + 1f), m.Forward(Tensor.Ones(40000)).ToArray().Select(v => (float)v));
        n.Eval();
        Assert.All(n.Forward(Tensor.Ones(10)).ToArray(), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void Model_options_insert_layers_with_pytorch_indices()
    {
        var net = Models.Mlp(784, [256, 128], 10, new Generator(0), options: new ModelOptions(Dropout: 0.5f, InputDropout: 0.2f));
        Assert.Equal(["1.weight", "1.bias", "4.weight", "4.bias", "7.weight", "7.bias"], net.StateDict().Keys.ToArray());
        Assert.IsType<Dropout>(net[0]);
        Assert.IsType<Dropout>(net[3]);
        var dc = Models.Mlp(784, [64], 10, new Generator(0), options: new ModelOptions(DropConnect: 0.3f));
        Assert.IsType<DropConnect>(dc[0]);
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias"], dc.StateDict().Keys.ToArray());
        Assert.Equal(3, Models.Mlp(4, [8, 8], 2, new Generator(0), options: new ModelOptions(Dropout: 0.1f, Noise: 0.1f)).NamedGenerators().Count());
    }

    static (TensorDataset train, TensorDataset validation) Overfittable()
    {
        // 200 noisy samples of a 2-class problem in 20 dimensions: an MLP can memorise them.
        var g = new Generator(11);
        TensorDataset Make(int n)
        {
            var x = new float[n * 20];
            var y = new int[n];
            for (int i = 0; i < n; i++)
            {
                y[i] = g.NextInt(2);
                for (int j = 0; j < 20; j++) x[i * 20 + j] = (float)(g.NextNormal() + (j < 2 ? (y[i] == 1 ? 0.8 : -0.8) : 0));
            }
            return new TensorDataset(Tensor.FromArray(x, n, 20), IntTensor.FromArray(y));
        }
        return (Make(200), Make(2000));
    }

    static (double train, double val) FitGap(float dropout, float inputDropout, int seed)
    {
        var (train, val) = Overfittable();
        var net = Models.Mlp(20, [64, 64], 2, new Generator(seed), options: new ModelOptions(Dropout: dropout, InputDropout: inputDropout));
        var trainer = new Trainer(new TrainerOptions { BatchSize = 32, Seed = seed });
        trainer.Fit(net, new CrossEntropyLoss(), new Adam(net.Parameters(), lr: 3e-3), train, null, 40);
        return (trainer.Evaluate(net, new CrossEntropyLoss(), train).Metrics["accuracy"], trainer.Evaluate(net, new CrossEntropyLoss(), val).Metrics["accuracy"]);
    }

    [Fact]
    public void Dropout_narrows_the_train_validation_gap()
    {
        // Measured: no dropout train 1.000 / val 0.831 (gap 0.169); dropout 0.5 + input dropout 0.2: 0.955 / 0.852 (gap 0.103).
        var (t0, v0) = FitGap(0f, 0f, 1);
        var (t1, v1) = FitGap(0.5f, 0.2f, 1);
        string report = $"no dropout: train {t0:F3} val {v0:F3} gap {t0 - v0:F3}; dropout 0.5 + input 0.2: train {t1:F3} val {v1:F3} gap {t1 - v1:F3}";
        Assert.True(t0 - v0 > 0.12, report);
        Assert.True(t1 - v1 < (t0 - v0) - 0.04, report);
        Assert.True(v1 > v0, report);
    }

    [Fact]
    public void An_ensemble_of_five_beats_its_average_member()
    {
        var (train, val) = Overfittable();
        var members = new List<Module>();
        var accs = new List<double>();
        var trainer = new Trainer(new TrainerOptions { BatchSize = 32 });
        for (int s = 0; s < 5; s++)
        {
            var net = Models.Mlp(20, [64], 2, new Generator(100 + s));
            new Trainer(new TrainerOptions { BatchSize = 32, Seed = s }).Fit(net, new CrossEntropyLoss(), new Adam(net.Parameters(), lr: 3e-3), train, null, 40);
            members.Add(net);
            accs.Add(trainer.Evaluate(net, new CrossEntropyLoss(), val).Metrics["accuracy"]);
        }
        double ens = trainer.Evaluate(new Ensemble(members), new CrossEntropyLoss(), val).Metrics["accuracy"];
        string report = $"members {string.Join(", ", accs.Select(a => a.ToString("F3")))} (mean {accs.Average():F3}); ensemble {ens:F3}";
        // Measured: members 0.841, 0.842, 0.841, 0.846, 0.844 (mean 0.843); ensemble 0.848.
        Assert.True(ens > accs.Max(), report);
    }

    [Fact]
    public void L2_penalty_and_weight_noise_change_training_and_resume_exactly()
    {
        var (train, _) = Overfittable();
        double Norm(Module m) => m.Parameters().Where(p => p.Rank >= 2).Sum(p => p.Square().Sum().Item());
        var plain = Models.Mlp(20, [32], 2, new Generator(1));
        new Trainer(new TrainerOptions { BatchSize = 32 }).Fit(plain, new CrossEntropyLoss(), new SGD(plain.Parameters(), lr: 0.05), train, null, 10);
        var l2 = Models.Mlp(20, [32], 2, new Generator(1));
        new Trainer(new TrainerOptions { BatchSize = 32, L2 = 0.01 }).Fit(l2, new CrossEntropyLoss(), new SGD(l2.Parameters(), lr: 0.05), train, null, 10);
        Assert.True(Norm(l2) < Norm(plain) * 0.9, $"‖w‖² {Norm(l2)} vs {Norm(plain)}");

        // Dropout masks and weight noise are part of the resumable state.
        var dir = Directory.CreateTempSubdirectory("nabla-noise");
        try
        {
            Sequential Net() => Models.Mlp(20, [16], 2, new Generator(3), options: new ModelOptions(Dropout: 0.3f));
            TrainerOptions Opts(string ck) => new() { BatchSize = 32, WeightNoise = 0.01, CheckpointPath = ck, Seed = 2 };
            var full = Net();
            new Trainer(Opts(Path.Combine(dir.FullName, "a"))).Fit(full, new CrossEntropyLoss(), new SGD(full.Parameters(), lr: 0.05), train, null, 3);
            var part = Net();
            string ck = Path.Combine(dir.FullName, "b");
            new Trainer(Opts(ck)).Fit(part, new CrossEntropyLoss(), new SGD(part.Parameters(), lr: 0.05), train, null, 1);
            var resumed = Net();
            new Trainer(Opts(ck)).Resume(ck, resumed, new CrossEntropyLoss(), new SGD(resumed.Parameters(), lr: 0.05), train, null, 3);
            foreach (var (k, v) in full.StateDict()) Assert.Equal(v.Float!.ToArray(), resumed.StateDict()[k].Float!.ToArray());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

public class AdversarialTests
{
    [Fact]
    public void Fgsm_and_pgd_raise_the_loss_and_stay_within_epsilon()
    {
        var (train, _) = CallbackTests.Toy(128, 9);
        var model = Models.Mlp(2, [16], 2, new Generator(1));
        new Trainer(new TrainerOptions { BatchSize = 16 }).Fit(model, new CrossEntropyLoss(), new Adam(model.Parameters(), lr: 0.02), train, null, 5);
        var x = Tensor.Uniform([64, 2], 0.2f, 0.8f, new Generator(2));
        var y = IntTensor.FromArray(Enumerable.Range(0, 64).Select(i => i % 2).ToArray());
        var loss = new CrossEntropyLoss();
        float Loss(Tensor t) { using (GradMode.NoGrad()) { model.Eval(); var l = loss.Forward(model.Forward(t), y).Item(); model.Train(); return l; } }
        var fgsm = Adversarial.Fgsm(model, loss, x, y, null, 0.1f);
        var pgd = Adversarial.Pgd(model, loss, x, y, null, 0.1f, 0.03f, 10, new Generator(3));
        Assert.True(Loss(fgsm) > Loss(x), $"FGSM loss {Loss(fgsm)} vs clean {Loss(x)}");
        Assert.True(Loss(pgd) >= Loss(fgsm) * 0.99, $"PGD loss {Loss(pgd)} vs FGSM {Loss(fgsm)}");
        var xv = x.ToArray();
        foreach (var adv in new[] { fgsm, pgd })
            Assert.All(adv.ToArray().Zip(xv), p => Assert.True(Math.Abs(p.First - p.Second) <= 0.1f + 1e-6f && p.First >= 0 && p.First <= 1));
        Assert.True(model.Training);
        var h = new Trainer(new TrainerOptions { BatchSize = 16, AdversarialEpsilon = 0.05 }).Fit(model, loss, new Adam(model.Parameters(), lr: 0.01), train, null, 1);
        Assert.Single(h.Epochs);
    }
}
