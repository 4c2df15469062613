using Nabla.Data;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Tests;

/// <summary>The registries' lookups and the Recipe: unknown names and bad arguments are clear errors, defaults are the CLI's.</summary>
public class RegistryTests
{
    [Fact]
    public void Every_registry_has_unique_names_and_finds_each_one()
    {
        Assert.Equal(Activations.Names.Count, Activations.Names.Distinct().Count());
        Assert.Equal(Optimizers.Names.Count, Optimizers.Names.Distinct().Count());
        Assert.Equal(Schedules.Names.Count, Schedules.Names.Distinct().Count());
        Assert.Equal(Losses.Names.Count, Losses.Names.Distinct().Count());
        Assert.Equal(Norms.Forms.Count, Norms.Forms.Distinct().Count());
        foreach (var a in Activations.Registry) Assert.Same(a, Activations.Find(a.Name.ToUpperInvariant()));
        foreach (var o in Optimizers.Registry) Assert.Same(o, Optimizers.Find(" " + o.Name.ToUpperInvariant()));
        foreach (var l in Losses.Registry)
        {
            Assert.Same(l, Losses.Find(l.Name));
            Assert.Same(l, Losses.Find(l.TorchName));
            Assert.NotNull(l.Create());
        }
        foreach (var n in Norms.Registry) Assert.Same(n, Norms.Get(n.Form.Replace("G", "4", StringComparison.Ordinal)));
        Assert.Same(Activations.Find("relu"), Activations.Find("ReLU"));
        Assert.IsType<SiLU>(Activations.Create("swish"));
    }

    [Fact]
    public void Unknown_names_are_refused_with_the_known_ones()
    {
        Assert.Null(Activations.Find("relu6"));
        Assert.Contains("mish", Assert.Throws<ArgumentException>(() => Activations.Create("relu6")).Message);
        Assert.Null(Optimizers.Find("lion"));
        Assert.Contains("adamw", Assert.Throws<ArgumentException>(() => Optimizers.Get("lion")).Message);
        Assert.Null(Losses.Find("hinge"));
        Assert.Null(Schedules.Find("warmrestarts"));
        var norm = Assert.Throws<FormatException>(() => Norms.Get("weight"));
        Assert.Contains("group:G", norm.Message);
        Assert.Throws<FormatException>(() => Norms.Get("group"));
        Assert.Contains("positive group count", Assert.Throws<FormatException>(() => Norms.Get("group:0")).Message);
    }

    [Fact]
    public void Bad_arguments_are_clear_errors_not_parse_exceptions()
    {
        var opt = new Adam([Tensor.Zeros(2).RequiresGrad_()]);
        var context = new ScheduleContext(100, 0, 1e-3, true);
        Assert.Contains("'x' is not a non-negative integer", Assert.Throws<ArgumentException>(() => Schedules.Create("step:x:0.5", opt, context)).Message);
        Assert.Contains("'y' is not a number", Assert.Throws<ArgumentException>(() => Schedules.Create("step:3:y", opt, context)).Message);
        Assert.Contains("step:EPOCHS:GAMMA", Assert.Throws<ArgumentException>(() => Schedules.Create("step:3", opt, context)).Message);
        Assert.Contains("not one of", Assert.Throws<ArgumentException>(() => Schedules.Create("linear", opt, context)).Message);
        Assert.IsType<StepLR>(Schedules.Create("STEP:3:0.5", opt, context).Scheduler);
        Assert.NotNull(Schedules.Create("plateau:2", opt, context).Plateau);

        var kw = new Dictionary<string, string> { ["negative_slope"] = "steep" };
        Assert.Contains("negative_slope = 'steep'", Assert.Throws<ArgumentException>(() => Activations.Find("leaky_relu")!.Create(kw)).Message);
        Assert.Equal(0.2f, ((LeakyReLU)Activations.Find("leaky_relu")!.Create(new Dictionary<string, string> { ["negative_slope"] = "0.2" })).NegativeSlope);

        var adam = Optimizers.Get("adam");
        Assert.Contains("two numbers", Assert.Throws<ArgumentException>(() => adam.Create([Tensor.Zeros(2).RequiresGrad_()],
            new OptimizerSettings(1e-3, null, 0, [0.9, 0.99, 0.5], null, null))).Message);
        // Settings it does not take or leaves null get its defaults (no null dereference in the factory).
        var made = (Adam)adam.Create([Tensor.Zeros(2).RequiresGrad_()], new OptimizerSettings(1e-2, null, 0, null, null, null));
        Assert.Equal(1e-2, made.ParamGroups[0]["lr"]);
        Assert.Equal(0.999, made.ParamGroups[0]["beta2"]);
    }

    [Fact]
    public void A_recipe_builds_what_the_cli_defaults_build_and_refuses_bad_settings_clearly()
    {
        var g = new Generator(3);
        var data = new TensorDataset(Tensor.Rand([12, 1, 4, 4], g), IntTensor.FromArray([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 0, 0]));
        var recipe = new Recipe();
        var cli = new Nabla.Cli.RunConfig();
        Assert.Equal((cli.Model, cli.Activation, cli.Optimizer, cli.BatchSize, cli.Epochs, cli.Schedule), (recipe.Model, recipe.Activation, recipe.Optimizer, recipe.BatchSize, recipe.Epochs, recipe.Schedule));
        var model = recipe.BuildModel(data.SampleShape, data.OutputSize);
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"], model.NamedParameters().Select(p => p.Name).ToArray());
        var optimizer = recipe.BuildOptimizer(model);
        Assert.IsType<Adam>(optimizer);
        Assert.Equal(1e-3, optimizer.ParamGroups[0].LearningRate);
        Assert.IsType<CosineAnnealingWarmupLR>(recipe.BuildSchedule(optimizer, recipe.BatchesPerEpoch(data.Count)).Scheduler);
        Assert.IsType<CrossEntropyLoss>(recipe.BuildLoss(data));
        var balanced = (CrossEntropyLoss)(recipe with { ClassWeights = "balanced" }).BuildLoss(data);
        Assert.Equal(Recipe.BalancedWeights(data), balanced.Weight!.ToArray());
        Assert.Equal(2, (recipe with { Ensemble = 2 }).BuildModel(data.SampleShape, data.OutputSize).NamedChildren().Count());

        var weights = Assert.Throws<ArgumentException>(() => (recipe with { ClassWeights = "1,x,1" }).BuildLoss(data));
        Assert.Equal("ClassWeights", weights.ParamName);
        Assert.Contains("'x'", weights.Message);
        var steps = Assert.Throws<ArgumentOutOfRangeException>(() => recipe.BuildSchedule(optimizer, int.MaxValue));
        Assert.Equal("Epochs", steps.ParamName);
        // The CLI turns it into its usage error, naming the option.
        var usage = Assert.Throws<Nabla.Cli.UsageException>(() => Nabla.Cli.TrainCommand.BuildSchedule(cli, optimizer, int.MaxValue));
        Assert.StartsWith("--epochs 20: ", usage.Message);
        Assert.DoesNotContain("Parameter", usage.Message);
        Assert.Throws<ArgumentException>(() => (recipe with { Optimizer = "lion" }).BuildOptimizer(model));
    }
}
