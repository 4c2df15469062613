using System.Globalization;
using Nabla.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Nabla.Bench;

/// <summary>
/// <c>cnn</c> and <c>cnn-bn</c> modes: one training step (zero grad, forward, cross-entropy, backward, Adam step) of
/// the <c>cnn</c> model on a fixed random batch, Nabla (<c>Models.FromSpec("cnn", …)</c>) against the identical
/// TorchSharp <c>Sequential</c> started from the same weights; prints samples/s and Nabla / TorchSharp.
/// <c>cnn-bn</c> adds BatchNorm2d after each convolution, BatchNorm1d after the hidden Linear and Dropout(0.5) after
/// its activation. Options: <c>--batch 128</c>, <c>--samples 7</c>, <c>--threads 2</c>, <c>--no-torch</c>,
/// <c>--profile</c> (a second table: per-layer forward and forward+backward, and the phases of the step).
/// </summary>
public static class CnnStepTable
{
    private const double StepSampleSeconds = 0.6;
    private const double LayerSampleSeconds = 0.1;

    public static int Run(string mode, string[] args)
    {
        int batch = 128, samples = 7, threads = 2;
        bool useTorch = true, profile = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--batch": batch = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--samples": samples = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--threads": threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--no-torch": useTorch = false; break;
                case "--profile": profile = true; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}; use: {mode} [--batch 128] [--samples 7] [--threads 2] [--no-torch] [--profile]");
                    return 2;
            }
        }
        bool bn = mode == "cnn-bn";
        Threads.Count = threads;
        string? torchError = useTorch ? Timing.InitTorch(threads) : null;
        if (torchError is not null) useTorch = false;

        Console.WriteLine($"# {(mode == "mlp" ? "mlp:256,128" : mode)} training step (zero grad, forward, cross-entropy, backward, Adam lr 1e-3), batch {batch}, 1×28×28 → 10 — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Timing.PrintMachine();
        Console.WriteLine($"# median of {samples} samples of >= {StepSampleSeconds * 1000:F0} ms after >= 1.5 s of warm-up; Nabla Threads.Count = {threads}");
        if (useTorch) Console.WriteLine($"# TorchSharp: torch.get_num_threads() = {torch.get_num_threads()}; torch.optim.Adam, a dispose scope per step");
        else Console.WriteLine($"# TorchSharp not measured{(torchError is null ? "" : ": " + torchError)}");

        // A fixed random batch: inputs uniform in [0, 1) like scaled pixels, labels 0..9.
        var rng = new Random(12345);
        var xData = new float[batch * 28 * 28];
        for (int i = 0; i < xData.Length; i++) xData[i] = rng.NextSingle();
        var labelData = new int[batch];
        for (int i = 0; i < batch; i++) labelData[i] = rng.Next(10);

        var options = bn ? new ModelOptions(Dropout: 0.5f, Norm: "batch") : ModelOptions.None;
        bool mlp = mode == "mlp";
        bool resnet = mode == "resnet";
        var model = Models.FromSpec(mlp ? "mlp:256,128" : resnet ? "resnet:20" : "cnn", [1, 28, 28], 10, new Generator(0), options: options);
        model.Train();
        // Adam's betas as PyTorch's defaults (Nabla's default beta2 is 0.99); the cost is the same either way.
        var opt = new Adam(model.Parameters(), lr: 1e-3, beta1: 0.9, beta2: 0.999);
        var x = Tensor.FromArray(xData, batch, 1, 28, 28);
        var labels = new IntTensor(labelData, batch);

        nn.Module<torch.Tensor, torch.Tensor>? tmodel = null;
        optim.Optimizer? topt = null;
        torch.Tensor? tx = null, tlabels = null;
        if (useTorch)
        {
            tmodel = mlp ? TorchMlp() : resnet ? new TorchResNet20() : TorchModel(bn);
            CopyWeights(model, tmodel);
            tmodel.train();
            topt = optim.Adam(tmodel.parameters(), lr: 1e-3);
            tx = mlp ? torch.tensor(xData, [batch, 28 * 28]) : torch.tensor(xData, [batch, 1, 28, 28]);
            tlabels = torch.tensor(labelData.Select(v => (long)v).ToArray(), [batch]);
            // Same weights, same batch: the eval-mode logits must agree (training mode draws different dropout masks).
            model.Eval();
            tmodel.eval();
            using (var scope = torch.NewDisposeScope())
            using (Nabla.Autograd.GradMode.NoGrad())
            using (torch.no_grad())
            {
                float[] a = model.Forward(x).ToArray();
                float[] b = tmodel.forward(tx).data<float>().ToArray();
                double d = 0, m = 0;
                for (int i = 0; i < a.Length; i++)
                {
                    d = Math.Max(d, Math.Abs(a[i] - b[i]));
                    m = Math.Max(m, Math.Abs(b[i]));
                }
                Console.Error.WriteLine($"  eval-mode logits, same weights: max |Nabla-Torch| = {d:G3} of max |logit| = {m:G3}");
            }
            model.Train();
            tmodel.train();
        }

        void NablaAutogradStep()
        {
            opt.ZeroGrad();
            var loss = Functional.CrossEntropy(model.Forward(x), labels);
            loss.Backward();
            opt.Step();
        }

        // What Trainer runs: the same step captured once after an eager warm-up step, then replayed (same bits as the
        // eager step, no allocation). x and labels are the static inputs.
        NablaAutogradStep();
        var graph = new StepGraph();
        if (!graph.Capture(NablaAutogradStep)) throw new InvalidOperationException($"the {mode} step cannot be captured: {graph.Failure}");

        void NablaStep() => graph.Replay();

        void TorchStep()
        {
            using var scope = torch.NewDisposeScope();
            topt!.zero_grad();
            var loss = nn.functional.cross_entropy(tmodel!.forward(tx!), tlabels!);
            loss.backward();
            topt.step();
        }

        // The median step time (after the warm-up), then allocation and collections over one more second of steps:
        // steady state, after the JIT's tiers (whose background compiler allocates too) have settled.
        double Measure(string name, Action step)
        {
            double median = Timing.Median(step, samples, StepSampleSeconds, warmSeconds: 1.5, minWarm: 5);
            long steps = 0;
            var clock = new System.Diagnostics.Stopwatch();   // made before the count starts: it is an allocation too
            long allocated0 = GC.GetTotalAllocatedBytes(true), own0 = GC.GetAllocatedBytesForCurrentThread();
            var pause0 = GC.GetTotalPauseDuration();
            int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
            clock.Start();
            while (steps < 5 || clock.Elapsed.TotalSeconds < 1)
            {
                step();
                steps++;
            }
            clock.Stop();
            long own = GC.GetAllocatedBytesForCurrentThread() - own0;
            Console.Error.WriteLine($"  {name}: {steps} steps, {(GC.GetTotalAllocatedBytes(true) - allocated0) / (double)steps:F0} bytes allocated per step " +
                $"({own / (double)steps:F0} on the stepping thread), " +
                $"GCs gen0/1/2 {GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2}, " +
                $"GC pauses {(GC.GetTotalPauseDuration() - pause0).TotalMilliseconds / clock.Elapsed.TotalMilliseconds:P1} of the time");
            return median;
        }

        double nablaStep = Measure("Nabla", NablaStep);
        double autogradStep = Measure("Nabla autograd", NablaAutogradStep);
        double torchStep = useTorch ? Timing.Median(TorchStep, samples, StepSampleSeconds, warmSeconds: 1.5, minWarm: 5) : double.NaN;

        Console.WriteLine();
        Console.WriteLine("| model | Nabla samples/s | Nabla autograd samples/s | TorchSharp samples/s | Nabla ms/step | TorchSharp ms/step | Nabla / TorchSharp | Nabla autograd / TorchSharp |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        Console.WriteLine($"| {mode} | {Rate(batch, nablaStep)} | {Rate(batch, autogradStep)} | {Rate(batch, torchStep)} | {Ms(nablaStep)} | {Ms(torchStep)} | " +
            $"{Ratio(torchStep, nablaStep)} | {Ratio(torchStep, autogradStep)} |");

        if (profile && !mlp && model is Sequential sequential) Profile(sequential, opt, x, labels, tmodel, topt, tx, tlabels, samples);

        tmodel?.Dispose();
        tx?.Dispose();
        tlabels?.Dispose();
        return 0;
    }

    // Per-layer forward and forward+backward (each layer on its actual input, grads set to none before each call), and
    // the phases of the step, for both libraries; ms per call.
    private static void Profile(Sequential model, Adam opt, Tensor x, IntTensor labels,
        nn.Module<torch.Tensor, torch.Tensor>? tmodel, optim.Optimizer? topt, torch.Tensor? tx, torch.Tensor? tlabels, int samples)
    {
        var modules = Enumerable.Range(0, model.Count).Select(i => model[i]).ToArray();
        var tmodules = tmodel is null ? null : tmodel.children().Cast<nn.Module<torch.Tensor, torch.Tensor>>().ToArray();
        var inputs = new List<Tensor>();
        var tinputs = new List<torch.Tensor>();
        var current = x;
        var tcurrent = tx;
        Console.WriteLine();
        Console.WriteLine("| layer | output | Nabla forward | TorchSharp forward | Nabla fwd+bwd | TorchSharp fwd+bwd |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: |");
        for (int i = 0; i < modules.Length; i++)
        {
            var layer = modules[i];
            var input = i == 0 ? current : current.Detach().RequiresGrad_();
            var output = layer.Forward(input).Detach();
            var gy = Tensor.Randn(output.Shape.ToArray(), i);
            double fwd = Timing.Median(() => layer.Forward(input), samples, LayerSampleSeconds);
            double fb = Timing.Median(() =>
            {
                opt.ZeroGrad();
                input.Grad = null;
                layer.Forward(input).Backward(gy);
            }, samples, LayerSampleSeconds);
            double tfwd = double.NaN, tfb = double.NaN;
            torch.Tensor? tnext = null;
            if (tmodules is not null)
            {
                var tlayer = tmodules[i];
                var tinput = i == 0 ? tcurrent! : tcurrent!.detach().requires_grad_();
                using (torch.no_grad()) tnext = tlayer.forward(tinput).detach();
                var tgy = torch.tensor(gy.ToArray(), gy.Shape.Select(v => (long)v).ToArray());
                tfwd = Timing.Median(() =>
                {
                    using var scope = torch.NewDisposeScope();
                    tlayer.forward(tinput);
                }, samples, LayerSampleSeconds);
                tfb = Timing.Median(() =>
                {
                    using var scope = torch.NewDisposeScope();
                    topt!.zero_grad();
                    if (i > 0) tinput.grad = null;
                    tlayer.forward(tinput).backward([tgy]);
                }, samples, LayerSampleSeconds);
                tinputs.Add(tinput);
                tgy.Dispose();
            }
            Console.WriteLine($"| {i} {layer.GetType().Name} | ({string.Join(",", output.Shape)}) | {Ms(fwd)} | {Ms(tfwd)} | {Ms(fb)} | {Ms(tfb)} |");
            inputs.Add(input);
            current = output;
            tcurrent = tnext;
        }

        double nFwd = Timing.Median(() => model.Forward(x), samples, LayerSampleSeconds);
        double nLoss = Timing.Median(() => Functional.CrossEntropy(model.Forward(x), labels), samples, LayerSampleSeconds);
        double nBwd = Timing.Median(() =>
        {
            opt.ZeroGrad();
            Functional.CrossEntropy(model.Forward(x), labels).Backward();
        }, samples, LayerSampleSeconds);
        double nStep = Timing.Median(() => opt.Step(), samples, LayerSampleSeconds);
        double tFwd = double.NaN, tLoss = double.NaN, tBwd = double.NaN, tStep = double.NaN;
        if (tmodel is not null)
        {
            tFwd = Timing.Median(() =>
            {
                using var scope = torch.NewDisposeScope();
                tmodel.forward(tx!);
            }, samples, LayerSampleSeconds);
            tLoss = Timing.Median(() =>
            {
                using var scope = torch.NewDisposeScope();
                nn.functional.cross_entropy(tmodel.forward(tx!), tlabels!);
            }, samples, LayerSampleSeconds);
            tBwd = Timing.Median(() =>
            {
                using var scope = torch.NewDisposeScope();
                topt!.zero_grad();
                nn.functional.cross_entropy(tmodel.forward(tx!), tlabels!).backward();
            }, samples, LayerSampleSeconds);
            tStep = Timing.Median(() =>
            {
                using var scope = torch.NewDisposeScope();
                topt!.step();
            }, samples, LayerSampleSeconds);
        }
        Console.WriteLine();
        Console.WriteLine("| phase | Nabla ms | TorchSharp ms |");
        Console.WriteLine("| --- | ---: | ---: |");
        Console.WriteLine($"| forward | {Ms(nFwd)} | {Ms(tFwd)} |");
        Console.WriteLine($"| forward + cross-entropy | {Ms(nLoss)} | {Ms(tLoss)} |");
        Console.WriteLine($"| zero grad + forward + cross-entropy + backward | {Ms(nBwd)} | {Ms(tBwd)} |");
        Console.WriteLine($"| ≈ backward alone (difference) | {Ms(nBwd - nLoss)} | {Ms(tBwd - tLoss)} |");
        Console.WriteLine($"| Adam step | {Ms(nStep)} | {Ms(tStep)} |");
        foreach (var t in tinputs) t.Dispose();
    }

    // mlp:256,128 as Nabla builds it: Linear, ReLU, Linear, ReLU, Linear (keys 0, 2, 4), on flattened images.
    private static nn.Module<torch.Tensor, torch.Tensor> TorchMlp() => nn.Sequential(
        ("0", nn.Linear(784, 256)), ("1", nn.ReLU()), ("2", nn.Linear(256, 128)), ("3", nn.ReLU()), ("4", nn.Linear(128, 10)));

    private static nn.Module<torch.Tensor, torch.Tensor> TorchModel(bool bn)
    {
        var layers = new List<nn.Module<torch.Tensor, torch.Tensor>> { nn.Conv2d(1, 32, 3, padding: 1) };
        if (bn) layers.Add(nn.BatchNorm2d(32));
        layers.AddRange([nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding: 1)]);
        if (bn) layers.Add(nn.BatchNorm2d(64));
        layers.AddRange([nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 7 * 7, 128)]);
        if (bn) layers.Add(nn.BatchNorm1d(128));
        layers.Add(nn.ReLU());
        if (bn) layers.Add(nn.Dropout(0.5));
        layers.Add(nn.Linear(128, 10));
        return nn.Sequential(layers.Select((m, i) => (i.ToString(CultureInfo.InvariantCulture), m)).ToArray());
    }

    // resnet:20 as Nabla's ResNet builds it (torchvision's keys: conv1, bn1, layer1.0.conv1 …, downsample.0/1, fc).
    private sealed class TorchBlock : nn.Module<torch.Tensor, torch.Tensor>
    {
        private readonly nn.Module<torch.Tensor, torch.Tensor> conv1, bn1, conv2, bn2;
        private readonly nn.Module<torch.Tensor, torch.Tensor>? downsample;

        public TorchBlock(int cin, int cout, int stride) : base("BasicBlock")
        {
            conv1 = nn.Conv2d(cin, cout, 3, stride: stride, padding: 1, bias: false);
            bn1 = nn.BatchNorm2d(cout);
            conv2 = nn.Conv2d(cout, cout, 3, padding: 1, bias: false);
            bn2 = nn.BatchNorm2d(cout);
            if (stride != 1 || cin != cout)
                downsample = nn.Sequential(("0", nn.Conv2d(cin, cout, 1, stride: stride, bias: false)), ("1", nn.BatchNorm2d(cout)));
            RegisterComponents();
        }

        public override torch.Tensor forward(torch.Tensor x)
        {
            var y = nn.functional.relu(bn1.forward(conv1.forward(x)));
            y = bn2.forward(conv2.forward(y));
            return nn.functional.relu(y + (downsample is null ? x : downsample.forward(x)));
        }
    }

    private sealed class TorchResNet20 : nn.Module<torch.Tensor, torch.Tensor>
    {
        private readonly nn.Module<torch.Tensor, torch.Tensor> conv1, bn1, layer1, layer2, layer3, fc;

        public TorchResNet20() : base("ResNet")
        {
            conv1 = nn.Conv2d(1, 16, 3, padding: 1, bias: false);
            bn1 = nn.BatchNorm2d(16);
            nn.Module<torch.Tensor, torch.Tensor> Stage(int cin, int cout, int stride) =>
                nn.Sequential(("0", new TorchBlock(cin, cout, stride)), ("1", new TorchBlock(cout, cout, 1)), ("2", new TorchBlock(cout, cout, 1)));
            layer1 = Stage(16, 16, 1);
            layer2 = Stage(16, 32, 2);
            layer3 = Stage(32, 64, 2);
            fc = nn.Linear(64, 10);
            RegisterComponents();
        }

        public override torch.Tensor forward(torch.Tensor x)
        {
            var y = nn.functional.relu(bn1.forward(conv1.forward(x)));
            y = layer3.forward(layer2.forward(layer1.forward(y)));
            return fc.forward(y.mean([2L, 3L]));
        }
    }

    // Both models use PyTorch's key names; start TorchSharp from Nabla's initial weights.
    private static void CopyWeights(Module model, nn.Module<torch.Tensor, torch.Tensor> tmodel)
    {
        var state = tmodel.state_dict();
        using var _ = torch.no_grad();
        int copied = 0;
        foreach (var (name, p) in model.NamedParameters())
        {
            if (!state.TryGetValue(name, out var target))
                throw new InvalidOperationException($"TorchSharp model has no parameter '{name}' (keys: {string.Join(", ", state.Keys)}).");
            using var src = torch.tensor(p.ToArray(), p.Shape.Select(v => (long)v).ToArray());
            if (!target.shape.SequenceEqual(src.shape))
                throw new InvalidOperationException($"Shape mismatch for '{name}': Nabla ({string.Join(",", p.Shape)}), TorchSharp ({string.Join(",", target.shape)}).");
            target.copy_(src);
            copied++;
        }
        int torchParams = tmodel.parameters().Count();
        if (copied != torchParams)
            throw new InvalidOperationException($"Copied {copied} parameters but the TorchSharp model has {torchParams}.");
    }

    private static string Rate(int batch, double seconds) => double.IsNaN(seconds) ? "-" : (batch / seconds).ToString("F0", CultureInfo.InvariantCulture);

    private static string Ms(double seconds) => double.IsNaN(seconds) ? "-" : (seconds * 1e3).ToString("F2", CultureInfo.InvariantCulture);

    private static string Ratio(double torchSeconds, double nablaSeconds) =>
        double.IsNaN(torchSeconds) ? "-" : (torchSeconds / nablaSeconds).ToString("F2", CultureInfo.InvariantCulture);
}
