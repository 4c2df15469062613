using System.Text.Json;
using Nabla.Optim;

namespace Nabla.Tests;

/// <summary>Learning-rate schedules against PyTorch's schedulers (and Keras's plateau logic by hand).</summary>
public class ScheduleTests
{
    static readonly Lazy<JsonElement> Root = new(() => Fixtures.Load("optim.json"));

    public static TheoryData<string> Names()
    {
        var d = new TheoryData<string>();
        foreach (var c in Root.Value.GetProperty("schedules").EnumerateArray()) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    static double A(JsonElement a, string k) => a.GetProperty(k).GetDouble();

    static (LRScheduler scheduler, Optimizer optimizer) Build(JsonElement c)
    {
        var a = c.GetProperty("args");
        var ps = new[] { Tensor.Ones(2).RequiresGrad_() };
        Optimizer opt = c.GetProperty("optimizer").GetProperty("name").GetString() == "Adam"
            ? new Adam(ps, lr: 0.1, beta1: 0.9, beta2: 0.999)
            : new SGD(ps, lr: 0.1, momentum: 0.9);
        LRScheduler s = c.GetProperty("scheduler").GetString() switch
        {
            "StepLR" => new StepLR(opt, a.GetProperty("step_size").GetInt32(), A(a, "gamma")),
            "MultiStepLR" => new MultiStepLR(opt, a.GetProperty("milestones").EnumerateArray().Select(v => v.GetInt32()), A(a, "gamma")),
            "ExponentialLR" => new ExponentialLR(opt, A(a, "gamma")),
            "LinearLR" => new LinearLR(opt, A(a, "start_factor"), A(a, "end_factor"), a.GetProperty("total_iters").GetInt32()),
            "CosineAnnealingLR" => new CosineAnnealingLR(opt, a.GetProperty("T_max").GetInt32(), A(a, "eta_min")),
            "SequentialLR" => new CosineAnnealingWarmupLR(opt, warmupSteps: 5, totalSteps: 40, etaMin: 0.001, warmupStartFactor: 0.01),
            "OneCycleLR" => new OneCycleLR(opt, A(a, "max_lr"), a.GetProperty("total_steps").GetInt32(),
                pctStart: a.TryGetProperty("pct_start", out var pct) ? pct.GetDouble() : 0.3,
                annealStrategy: a.TryGetProperty("anneal_strategy", out var an) && an.GetString() == "linear" ? AnnealStrategy.Linear : AnnealStrategy.Cos,
                threePhase: a.TryGetProperty("three_phase", out var tp) && tp.GetBoolean()),
            var other => throw new NotSupportedException(other),
        };
        return (s, opt);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Learning_rate_at_each_step_matches_pytorch(string name)
    {
        var c = Root.Value.GetProperty("schedules").EnumerateArray().Single(x => x.GetProperty("name").GetString() == name);
        var (s, opt) = Build(c);
        var lrs = c.GetProperty("lrs").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var momentums = c.TryGetProperty("momentums", out var m) ? m.EnumerateArray().Select(v => v.GetDouble()).ToArray() : null;
        string key = opt is Adam ? "beta1" : "momentum";
        for (int t = 0; t < lrs.Length; t++)
        {
            if (t > 0) s.Step();
            double lr = opt.ParamGroups[0].LearningRate;
            Assert.True(Math.Abs(lr - lrs[t]) <= 1e-12 * Math.Abs(lrs[t]) + 1e-18, $"{name} t={t}: lr {lr:R}, PyTorch {lrs[t]:R}");
            if (momentums is not null)
                Assert.True(Math.Abs(opt.ParamGroups[0][key] - momentums[t]) <= 1e-12, $"{name} t={t}: momentum {opt.ParamGroups[0][key]:R}, PyTorch {momentums[t]:R}");
        }
    }

    [Fact]
    public void Schedules_say_when_they_are_stepped()
    {
        var opt = new SGD([Tensor.Ones(1).RequiresGrad_()], lr: 0.1);
        Assert.Equal(StepInterval.Epoch, new StepLR(opt, 3).Interval);
        Assert.Equal(StepInterval.Batch, new OneCycleLR(new SGD([Tensor.Ones(1).RequiresGrad_()]), 0.1, 10).Interval);
        Assert.Equal(StepInterval.Batch, new CosineAnnealingWarmupLR(new SGD([Tensor.Ones(1).RequiresGrad_()]), 2, 10).Interval);
    }

    [Fact]
    public void OneCycle_refuses_to_step_past_its_total()
    {
        var s = new OneCycleLR(new SGD([Tensor.Ones(1).RequiresGrad_()]), 0.1, 3);
        s.Step(); s.Step(); s.Step();
        Assert.Throws<InvalidOperationException>(() => s.Step());
    }

    [Fact]
    public void Reduce_on_plateau_follows_keras()
    {
        var opt = new SGD([Tensor.Ones(1).RequiresGrad_()], lr: 1.0);
        var plateau = new ReduceLROnPlateau(opt, MonitorMode.Min, factor: 0.5, patience: 2, minDelta: 0.01, cooldown: 2, minLr: 0.2);
        // Keras order: a cooldown epoch first decrements the counter, so cooldown 2 pauses counting for one epoch.
        // e0 improves; e1, e2 wait 1, 2 → lr 0.5; e3 paused; e4, e5 → 0.25; e6 paused; e7 (0.991 is not below
        // best − min_delta = 0.99) and e8 → max(0.125, min_lr) = 0.2; then lr stays at min_lr.
        double[] losses = [1.0, 1.0, 0.995, 1.0, 1.0, 1.0, 1.0, 0.991, 1.0, 1.0, 1.0, 1.0];
        double[] expected = [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2];
        for (int e = 0; e < losses.Length; e++)
        {
            plateau.Step(losses[e]);
            Assert.True(Math.Abs(expected[e] - opt.ParamGroups[0].LearningRate) < 1e-12, $"epoch {e}: lr {opt.ParamGroups[0].LearningRate}, expected {expected[e]}");
        }
        Assert.Equal(1.0, plateau.Best);
        plateau.Step(0.5);
        Assert.Equal(0.5, plateau.Best);
        Assert.Equal(0, plateau.Wait);
        Assert.Equal(MonitorMode.Max, ReduceLROnPlateau.AutoMode("val_accuracy"));
        Assert.Equal(MonitorMode.Min, ReduceLROnPlateau.AutoMode("val_loss"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLROnPlateau(opt, factor: 1.0));
    }

    [Fact]
    public void Scheduler_state_restores_the_position()
    {
        var opt = new SGD([Tensor.Ones(1).RequiresGrad_()], lr: 0.1);
        var s = new StepLR(opt, 2, 0.5);
        for (int i = 0; i < 5; i++) s.Step();
        var state = s.StateDict();
        var opt2 = new SGD([Tensor.Ones(1).RequiresGrad_()], lr: 0.1);
        var s2 = new StepLR(opt2, 2, 0.5);
        s2.LoadStateDict(state);
        Assert.Equal(s.LastEpoch, s2.LastEpoch);
        Assert.Equal(opt.ParamGroups[0].LearningRate, opt2.ParamGroups[0].LearningRate);
    }
}

public class ClipTests
{
    static readonly Lazy<JsonElement[]> Cases = new(() => Fixtures.Load("optim.json").GetProperty("clipping").EnumerateArray().ToArray());

    public static TheoryData<string> Names()
    {
        var d = new TheoryData<string>();
        foreach (var c in Cases.Value) d.Add(c.GetProperty("name").GetString()!);
        return d;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Clipping_matches_pytorch(string name)
    {
        var c = Cases.Value.Single(x => x.GetProperty("name").GetString() == name);
        var ps = c.GetProperty("grads").EnumerateArray().Select(g =>
        {
            var p = Tensor.ZerosLike(Fixtures.Tensor(g)).RequiresGrad_();
            p.Grad = Fixtures.Tensor(g);
            return p;
        }).ToArray();
        var a = c.GetProperty("args");
        if (c.GetProperty("fn").GetString()!.Contains("value"))
            GradClip.ClipGradValue(ps, a.GetProperty("clip_value").GetDouble());
        else
        {
            var nt = a.GetProperty("norm_type");
            double normType = nt.ValueKind == JsonValueKind.String ? double.PositiveInfinity : nt.GetDouble();
            float total = GradClip.ClipGradNorm(ps, a.GetProperty("max_norm").GetDouble(), normType);
            double expected = c.GetProperty("total_norm").GetDouble();
            Assert.True(Math.Abs(total - expected) <= 1e-5 * expected, $"{name}: total norm {total}, PyTorch {expected}");
        }
        var clipped = c.GetProperty("clipped").EnumerateArray().ToArray();
        for (int i = 0; i < ps.Length; i++) Fixtures.Close($"{name} grad {i}", clipped[i], ps[i].Grad!);
    }
}
