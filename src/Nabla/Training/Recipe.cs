using System.Globalization;
using Nabla.Data;
using Nabla.Optim;

namespace Nabla.Training;

/// <summary>
/// A training run's settings as one value — model, activation and model options, optimizer and its hyperparameters,
/// schedule, loss settings, regularisers and augmentation — and the objects they make: what <c>nabla train</c>,
/// <c>validate</c>, <c>search</c>, <c>evaluate</c> and <c>lab</c> build each run from, and what C# code uses to train as
/// they do without the CLI:
/// <code>
/// var recipe = new Recipe { Model = "cnn", Optimizer = "adamw", Epochs = 10 };
/// var model = recipe.BuildModel(train.SampleShape, train.OutputSize);
/// var optimizer = recipe.BuildOptimizer(model);
/// var (scheduler, plateau) = recipe.BuildSchedule(optimizer, recipe.BatchesPerEpoch(train.Count));
/// var history = new Trainer(recipe.TrainerOptions(train.NumClasses, scheduler, plateau))
///     .Fit(model, recipe.BuildLoss(train), optimizer, train, validation, recipe.Epochs);
/// </code>
/// Names come from the registries (<see cref="Activations"/>, <see cref="Optimizers"/>, <see cref="Schedules"/>, the
/// model specs of <see cref="Models.FromSpec(string, IReadOnlyList{int}, int, Generator, string, ModelOptions?)"/>).
/// Optimizer hyperparameters left null take the optimizer's registry defaults.
/// </summary>
public sealed record Recipe
{
    /// <summary>A model spec: mlp:H1,H2…, cnn, resnet:N, plain:N.</summary>
    public string Model { get; init; } = "mlp:256,128";
    /// <summary>An activation registry name.</summary>
    public string Activation { get; init; } = "relu";
    /// <summary>Dropout, noise, normalisation and weight normalisation of the model.</summary>
    public ModelOptions ModelOptions { get; init; } = ModelOptions.None;
    /// <summary>Members of an ensemble (1: a single model); member i is seeded with <see cref="Seed"/> + i.</summary>
    public int Ensemble { get; init; } = 1;
    /// <summary>An optimizer registry name.</summary>
    public string Optimizer { get; init; } = "adam";
    /// <summary>Optimizer hyperparameters; null takes the optimizer's default.</summary>
    public double? Lr { get; init; }
    /// <inheritdoc cref="Lr"/>
    public double? Momentum { get; init; }
    /// <inheritdoc cref="Lr"/>
    public double? WeightDecay { get; init; }
    /// <inheritdoc cref="Lr"/>
    public double[]? Betas { get; init; }
    /// <inheritdoc cref="Lr"/>
    public double? Eps { get; init; }
    /// <inheritdoc cref="Lr"/>
    public double? Alpha { get; init; }
    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>Epochs to train.</summary>
    public int Epochs { get; init; } = 20;
    /// <summary>Whether to reshuffle every epoch.</summary>
    public bool Shuffle { get; init; } = true;
    /// <summary>The seed of initialisation, shuffling, dropout and augmentation.</summary>
    public int Seed { get; init; }
    /// <summary>A schedule registry spec (cosine, step:EPOCHS:GAMMA, plateau:PATIENCE, onecycle, none).</summary>
    public string Schedule { get; init; } = "cosine";
    /// <summary>Epochs of linear warm-up (for schedules that take one).</summary>
    public int Warmup { get; init; }
    /// <summary>λ1·Σ|w| and λ2·Σw² added to the loss.</summary>
    public double L1 { get; init; }
    /// <inheritdoc cref="L1"/>
    public double L2 { get; init; }
    /// <summary>σ of the noise added to the weights each step.</summary>
    public double WeightNoise { get; init; }
    /// <summary>ε of FGSM adversarial training (0 = off).</summary>
    public double Adversarial { get; init; }
    /// <summary>Cross-entropy's label smoothing.</summary>
    public double LabelSmoothing { get; init; }
    /// <summary>Class weights of the cross-entropy: "none", "balanced" (scikit-learn's) or one number per class, comma-separated.</summary>
    public string ClassWeights { get; init; } = "none";
    /// <summary>The largest global L2 norm of the gradients (0 = no clipping).</summary>
    public double ClipGrad { get; init; }
    /// <summary>An augmentation spec (<see cref="Data.Transforms.Augmentation.Parse"/>), or null for none.</summary>
    public string? Augment { get; init; }

    /// <summary>Builds the augment items that need a trained network (gan:DIR:R): Nabla.Generative's NeuralAugmentations, or null to refuse them.</summary>
    public Data.Transforms.INeuralAugmentations? NeuralAugmentations { get; init; }

    /// <summary>The optimizer's registry entry.</summary>
    /// <exception cref="ArgumentException">an unknown optimizer name.</exception>
    public OptimizerInfo OptimizerInfo => Optimizers.Get(Optimizer);

    /// <summary>The optimizer settings in force: the given ones, the optimizer's defaults elsewhere.</summary>
    public OptimizerSettings OptimizerSettings => OptimizerInfo.Resolve(Lr, Momentum, WeightDecay, Betas, Eps, Alpha);

    /// <summary>Batches per epoch for <paramref name="samples"/> training samples (the last one may be short).</summary>
    public int BatchesPerEpoch(int samples) => (samples + BatchSize - 1) / BatchSize;

    /// <summary>The model for samples of <paramref name="sampleShape"/> and <paramref name="outputs"/> outputs (an <see cref="Nabla.Ensemble"/> when <see cref="Ensemble"/> &gt; 1).</summary>
    /// <exception cref="FormatException">a model spec that does not parse or fit the samples.</exception>
    /// <exception cref="ArgumentException">an unknown activation or option.</exception>
    public Module BuildModel(IReadOnlyList<int> sampleShape, int outputs, TaskKind task = TaskKind.Classification)
    {
        if (Ensemble > 1)
            return new Ensemble(Enumerable.Range(0, Ensemble).Select(i =>
                    Models.FromSpec(Model, sampleShape, outputs, new Generator(Seed + i), Activation, ModelOptions)),
                task == TaskKind.Classification ? EnsembleMode.Probabilities : EnsembleMode.Mean);
        return Models.FromSpec(Model, sampleShape, outputs, new Generator(Seed), Activation, ModelOptions);
    }

    /// <summary>MSE for regression; cross-entropy with the class weights and label smoothing for classification.</summary>
    /// <exception cref="ArgumentException">class weights that are not numbers (their count is checked by the loss).</exception>
    public Loss BuildLoss(TensorDataset train)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Task == TaskKind.Regression) return new MSELoss();
        Tensor? weight = ClassWeights switch
        {
            "none" => null,
            "balanced" => Tensor.FromArray(BalancedWeights(train)),
            var list => Tensor.FromArray(list.Split(',').Select(v => float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var w)
                ? w : throw new ArgumentException($"Recipe.ClassWeights: '{v}' in \"{list}\" is not a number (expected none, balanced or one number per class).", nameof(ClassWeights))).ToArray()),
        };
        return new CrossEntropyLoss(weight, labelSmoothing: (float)LabelSmoothing);
    }

    /// <summary>scikit-learn's class_weight='balanced': n / (classes · count of the class); 0 for a class with no samples.</summary>
    public static float[] BalancedWeights(TensorDataset train)
    {
        ArgumentNullException.ThrowIfNull(train);
        var counts = new int[train.NumClasses];
        foreach (int y in train.Labels!.Data) counts[y]++;
        return counts.Select(n => n == 0 ? 0f : (float)(train.Count / ((double)train.NumClasses * n))).ToArray();
    }

    /// <summary>The optimizer over the model's parameters with <see cref="OptimizerSettings"/>.</summary>
    public Optimizer BuildOptimizer(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return OptimizerInfo.Create(model.Parameters(), OptimizerSettings);
    }

    /// <summary>The schedule over <see cref="Epochs"/> epochs of <paramref name="batchesPerEpoch"/> steps, with the warm-up.</summary>
    /// <exception cref="ArgumentOutOfRangeException">more steps than a schedule counts (ParamName "Epochs").</exception>
    /// <exception cref="ArgumentException">a schedule spec that does not parse.</exception>
    public (LRScheduler? Scheduler, ReduceLROnPlateau? Plateau) BuildSchedule(Optimizer optimizer, int batchesPerEpoch)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        long steps = (long)Epochs * batchesPerEpoch, warmupSteps = (long)Warmup * batchesPerEpoch;
        if (steps > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs,
                $"{steps:N0} optimizer steps ({batchesPerEpoch:N0} a epoch) are more than a schedule counts; use fewer epochs or a larger batch.");
        int total = Math.Max(1, (int)steps), warmup = (int)Math.Min(warmupSteps, total - 1L);
        bool cycleMomentum = Optimizer is not ("adagrad" or "sgd") || Momentum > 0;
        return Schedules.Create(Schedule, optimizer, new ScheduleContext(total, warmup, OptimizerSettings.Lr, cycleMomentum));
    }

    /// <summary>The loader transform of <see cref="Augment"/>, or null.</summary>
    public Func<Batch, Generator, Batch>? AugmentTransform(int classes) =>
        Augment is not { } spec ? null : Data.Transforms.Augmentation.Parse(spec, NeuralAugmentations).AsLoaderTransform(classes);

    /// <summary>The trainer's options for this run (the schedule from <see cref="BuildSchedule"/>).</summary>
    public TrainerOptions TrainerOptions(int classes, LRScheduler? scheduler = null, ReduceLROnPlateau? plateau = null, bool validating = true,
        string? checkpoint = null, CancellationToken cancel = default, IReadOnlyDictionary<string, string>? metadata = null,
        Distributed.ICommunicator? communicator = null, bool syncBatchNorm = false) => new()
        {
            Communicator = communicator, SyncBatchNorm = syncBatchNorm,
            BatchSize = BatchSize, Shuffle = Shuffle, Seed = Seed, Scheduler = scheduler, Plateau = plateau,
            PlateauMonitor = validating ? "val_loss" : "loss",
            L1 = L1, L2 = L2, WeightNoise = WeightNoise, ClipGradNorm = ClipGrad,
            Transform = AugmentTransform(classes), AdversarialEpsilon = Adversarial,
            CheckpointPath = checkpoint, Cancellation = cancel, CheckpointMetadata = metadata,
        };
}
