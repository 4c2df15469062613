using Nabla.Optim;
using Nabla.Training;
using Nabla.Validation;

namespace Nabla.Tests;

public class CrossValidationTests
{
    static TrainingSetup Setup(int fold, double lr = 0.05, int hidden = 8)
    {
        var model = Models.Mlp(2, [hidden], 2, new Generator(100 + fold));
        return new TrainingSetup(model, new CrossEntropyLoss(), new Adam(model.Parameters(), lr: lr), 3, new TrainerOptions { BatchSize = 16, Seed = fold });
    }

    [Fact]
    public void Each_split_trains_a_fresh_model_and_the_summary_has_an_interval()
    {
        var (data, _) = CallbackTests.Toy(120, 2);
        var cv = new CrossValidator(new StratifiedKFold(5));
        var result = cv.Run(data, i => Setup(i), keepModels: true);
        Assert.Equal(5, result.Folds.Count);
        Assert.All(result.Folds, f => Assert.Equal(data.Count, f.TrainCount + f.ValidationCount));
        var acc = result.Summaries["accuracy"];
        Assert.True(acc.Mean > 0.9, $"mean accuracy {acc.Mean}");
        Assert.True(acc.Lower <= acc.Mean && acc.Mean <= acc.Upper);
        var values = result.Folds.Select(f => f.Metrics["accuracy"]).ToArray();
        double mean = values.Average(), sd = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / 4);
        Assert.Equal(sd, acc.Std, 10);
        Assert.Equal(mean + 2.7764451051977987 * sd / Math.Sqrt(5), acc.Upper, 8); // t(0.975, 4)
        var models = result.Folds.Select(f => f.Model!).ToArray();
        Assert.Equal(5, models.Distinct().Count());
        var ensemble = result.ToEnsemble();
        var ev = new Trainer().Evaluate(ensemble, new CrossEntropyLoss(), data);
        Assert.True(ev.Metrics["accuracy"] > 0.9);
        Assert.Equal(["0.0.weight", "0.0.bias"], ensemble.StateDict().Keys.Take(2).ToArray());
    }

    [Fact]
    public void Parallel_splits_give_the_same_numbers()
    {
        var (data, _) = CallbackTests.Toy(80, 3);
        var serial = new CrossValidator(new KFold(4)).Run(data, i => Setup(i));
        var parallel = new CrossValidator(new KFold(4), parallelism: 2).Run(data, i => Setup(i));
        for (int i = 0; i < 4; i++) Assert.Equal(serial.Folds[i].Metrics["loss"], parallel.Folds[i].Metrics["loss"]);
    }

    [Fact]
    public void Early_stopping_watches_an_inner_holdout_never_the_scored_fold()
    {
        var (data, _) = CallbackTests.Toy(100, 4);
        var cv = new CrossValidator(new KFold(5), innerValidation: 0.2);
        var result = cv.Run(data, i => Setup(i) with { Epochs = 6, Callbacks = [new EarlyStopping(patience: 1, restoreBestWeights: true)] });
        Assert.All(result.Folds, f =>
        {
            Assert.Equal(48, f.TrainCount); // 60 of the 75 samples per split, less the 20% inner holdout
            Assert.True(f.History.Epochs[0].Logs.ContainsKey("val_loss"));
            Assert.NotNull(f.BestEpoch);
        });
    }

    [Fact]
    public void Grid_search_ranks_like_grid_search_cv()
    {
        var grid = ModelSelection.ParseGrid("lr=0.05,0.0001;hidden=4|8");
        var candidates = ModelSelection.Grid(grid);
        Assert.Equal(["hidden=4, lr=0.05", "hidden=4, lr=0.0001", "hidden=8, lr=0.05", "hidden=8, lr=0.0001"], candidates.Select(ModelSelection.Describe));
        var (data, _) = CallbackTests.Toy(80, 5);
        var result = ModelSelection.Search(candidates, data, new CrossValidator(new KFold(3)),
            (p, i) => Setup(i, double.Parse(p["lr"], System.Globalization.CultureInfo.InvariantCulture), int.Parse(p["hidden"], System.Globalization.CultureInfo.InvariantCulture)),
            scoring: "loss");
        Assert.Equal("neg_loss", result.Scoring);
        Assert.Equal(1, result.Best!.Rank);
        Assert.Equal("0.05", result.Best.Parameters["lr"]);
        Assert.Equal([1, 2, 3, 4], result.Candidates.Select(c => c.Rank).Order());
        Assert.True(result.Candidates.All(c => c.Mean <= result.Best.Mean));
        var sampled = ModelSelection.Sample(grid, 3, seed: 1);
        Assert.Equal(3, sampled.Select(ModelSelection.Describe).Distinct().Count());
        Assert.Equal(sampled.Select(ModelSelection.Describe), ModelSelection.Sample(grid, 3, seed: 1).Select(ModelSelection.Describe));
        Assert.Throws<FormatException>(() => ModelSelection.ParseGrid("lr"));
    }

    [Fact]
    public void Ensemble_averages_probabilities()
    {
        var a = new Sequential(new Linear(2, 3, new Generator(1)));
        var b = new Sequential(new Linear(2, 3, new Generator(2)));
        var x = Tensor.Randn([4, 2], 3);
        var ens = new Ensemble([a, b]);
        var expected = ((a.Forward(x).Softmax(1) + b.Forward(x).Softmax(1)) * 0.5f).ToArray();
        var got = ens.Forward(x).Exp().ToArray();
        for (int i = 0; i < got.Length; i++) Assert.Equal(expected[i], got[i], 5);
        var mean = new Ensemble([a, b], EnsembleMode.Mean).Forward(x).ToArray();
        var expMean = ((a.Forward(x) + b.Forward(x)) * 0.5f).ToArray();
        Assert.Equal(expMean, mean);
    }
}
