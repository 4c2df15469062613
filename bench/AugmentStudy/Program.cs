// The issue-21 augmentation study: does a GAN's samples (gan:), AdaIN restyling (style:) or both help a cnn trained on
// 1,000 or 5,000 real Fashion-MNIST images? The generator, the style decoder and its feature net are trained on that
// subset only. Test accuracy on the 10,000 test images, clean and shifted (a texture overlay the training never
// showed), 3 seeds per condition. Usage: dotnet run -c Release [--sizes 1000,5000] [--seeds 3] [--out study.json]
// [--conditions none,gan,gan-soft,gan25,gan25-soft,style,both] [--reuse] (--reuse loads the GAN and style decoder a previous run saved
// in the temp folder instead of training them again; the cnn that labels gan-soft is the style encoder's classifier).
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Nabla;
using Nabla.Data;
using Nabla.Data.Transforms;
using Nabla.Generative;
using Nabla.Optim;
using Nabla.Training;

string Arg(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;
int[] sizes = [.. Arg("--sizes", "1000,5000").Split(',').Select(int.Parse)];
int seeds = int.Parse(Arg("--seeds", "3"), CultureInfo.InvariantCulture);
string outPath = Arg("--out", "study.json");
int ganImages = int.Parse(Arg("--gan-images", "60000"), CultureInfo.InvariantCulture);   // images the GAN sees in training
var conditions = Arg("--conditions", "none,gan,style,both").Split(',').ToHashSet();
bool reuse = args.Contains("--reuse");
var (trainAll, testAll) = FashionMnist.LoadFull();
var clock = Stopwatch.StartNew();
void Log(string s) => Console.WriteLine($"[{clock.Elapsed.TotalMinutes:F1} min] {s}");

// The shifted test set: every test image under the texture overlay at intensity 0.4 (p = 1), fixed seed.
var shiftAug = Augmentation.Parse("texture:1:0.4");
var testBatch = new Batch(testAll.Features, testAll.Labels, null, [.. Enumerable.Range(0, testAll.Count)]);
var shifted = new TensorDataset(shiftAug.Apply(testBatch, new Generator(99), testAll.NumClasses).Features, testAll.Labels!, testAll.NumClasses);

var results = new List<Dictionary<string, object>>();
foreach (int size in sizes)
{
    // A stratified subset: the first size/10 images of each class in a seeded order.
    var order = new Generator(2026).Permutation(trainAll.Count);
    var perClass = new int[trainAll.NumClasses];
    var pick = order.Where(i => perClass[trainAll.Labels!.Data[i]]++ < size / trainAll.NumClasses).ToArray();
    var subset = trainAll.Subset(pick);
    Log($"subset {subset.Count}");

    // The GAN on this subset only (DCGAN defaults; epochs so that it sees ~60k images).
    var gDir = Path.Combine(Path.GetTempPath(), $"study-gan-{size}");
    if (!(reuse && File.Exists(Path.Combine(gDir, "generator.safetensors"))))
    {
        var g = new DcganGenerator(64, 10, subset.SampleShape, new Generator(0));
        var d = new DcganDiscriminator(10, subset.SampleShape, new Generator(1));
        int ganEpochs = Math.Max(2, ganImages / size);
        var gh = new GanTrainer(new GanOptions { Epochs = ganEpochs, Transform = static (b, _) => b with { Features = b.Features * 2f - 1f } }).Train(g, d, subset);
        GanModel.Save(g, gDir);
        Log($"GAN: {ganEpochs} epochs, last D {gh.Epochs[^1].DiscriminatorLoss:F3} G {gh.Epochs[^1].GeneratorLoss:F3}");
    }
    else Log($"GAN: reused {gDir}");

    // The style decoder over a cnn trained on this subset only.
    var sDir = Path.Combine(Path.GetTempPath(), $"study-style-{size}");
    var judge = (Sequential)Models.FromSpec("cnn", subset.SampleShape, 10, new Generator(5));
    new Trainer(new TrainerOptions { BatchSize = 128, Seed = 5 }).Fit(judge, new CrossEntropyLoss(), new Adam(judge.Parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.999), subset, null, 10);
    // The same cnn labels the gan-soft condition's generated images (trained on this subset only, as the GAN).
    Nabla.Serialization.SafeTensors.Write(Path.Combine(gDir, "classifier.safetensors"), judge.StateDict());
    if (!(reuse && File.Exists(Path.Combine(sDir, "decoder.safetensors"))))
    {
        var encoder = FeatureNetwork.FromClassifier(judge, 1);
        var styler = new AdaInStyler(encoder, "relu2_1", new Generator(6));
        var sl = styler.Train(subset, Math.Max(2, ganImages / 4 / size), 16, 1e-4, 10, seed: 6);
        styler.Save(sDir, "cnn", ["cnn", "1,28,28", "10"]);
        Log($"style decoder: loss {sl[0]:F3} → {sl[^1]:F3}");
    }
    else Log($"style decoder: reused {sDir}");

    var neural = new NeuralAugmentations();
    int epochs = size <= 1000 ? 30 : 15;
    foreach (var (name, spec) in new[] { ("none", ""), ("gan", $"gan:{gDir}:0.5"), ("gan-soft", $"gan:{gDir}:0.5:soft"), ("gan25", $"gan:{gDir}:0.25"), ("gan25-soft", $"gan:{gDir}:0.25:soft"), ("style", $"style:{sDir}:0.5"), ("both", $"gan:{gDir}:0.5,style:{sDir}:0.5") })
        for (int seed = 0; seed < seeds && conditions.Contains(name); seed++)
        {
            var model = Models.FromSpec("cnn", subset.SampleShape, 10, new Generator(100 + seed));
            var loss = new CrossEntropyLoss();
            var options = new TrainerOptions
            {
                BatchSize = 128, Seed = seed,
                Transform = spec.Length == 0 ? null : Augmentation.Parse(spec, neural).AsLoaderTransform(10),
            };
            var trainer = new Trainer(options);
            var sw = Stopwatch.StartNew();
            trainer.Fit(model, loss, new Adam(model.Parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.999), subset, null, epochs);
            double clean = trainer.Evaluate(model, loss, testAll).Metrics["accuracy"];
            double shift = trainer.Evaluate(model, loss, shifted).Metrics["accuracy"];
            results.Add(new() { ["size"] = size, ["condition"] = name, ["seed"] = seed, ["epochs"] = epochs, ["test_accuracy"] = clean, ["shifted_accuracy"] = shift, ["seconds"] = sw.Elapsed.TotalSeconds });
            Log($"{size} {name} seed {seed}: test {clean:F4}, shifted {shift:F4} ({sw.Elapsed.TotalSeconds:F0} s)");
        }
}
File.WriteAllText(outPath, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine("| real images | condition | test accuracy (mean ± sd) | shifted test (mean ± sd) |");
Console.WriteLine("| ---: | --- | ---: | ---: |");
foreach (var grp in results.GroupBy(r => ((int)r["size"], (string)r["condition"])))
{
    static (double M, double S) Ms(IEnumerable<double> v) { var a = v.ToArray(); double m = a.Average(); return (m, a.Length > 1 ? Math.Sqrt(a.Sum(x => (x - m) * (x - m)) / (a.Length - 1)) : 0); }
    var (cm, cs) = Ms(grp.Select(r => (double)r["test_accuracy"]));
    var (sm, ss) = Ms(grp.Select(r => (double)r["shifted_accuracy"]));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {grp.Key.Item1} | {grp.Key.Item2} | {cm:F4} ± {cs:F4} | {sm:F4} ± {ss:F4} |"));
}
