using Nabla.Optim;

namespace Nabla.Training;

public sealed partial class Trainer
{
    /// <summary>
    /// The training step — the one definition, eager code — and its captures: each batch shape's step is captured the
    /// second time that shape comes (the first ran eagerly, so the optimizer has its state) and replayed after, as long
    /// as the modules' modes, structure and RequiresGrad stay as they were captured; otherwise, and for a shape seen
    /// once, the step runs eagerly. <see cref="History.CaptureNote"/> says why a step was never captured.
    /// </summary>
    private sealed class StepRunner(Trainer trainer, Module model, Loss loss, Optimizer optimizer, Tensor[] weights, Tensor[] clipped,
        Generator noiseGenerator, History history, Distributed.GradientSync? sync = null) : IDisposable
    {
        private readonly Dictionary<int, Capture> _captures = [];
        private readonly HashSet<int> _seen = [];
        private Tensor? _output, _loss;
        private readonly History _history = history;

        // Why no step is captured (the options', or the first failed capture's), or null; History.CaptureNote says it.
        private string? Refusal
        {
            get => _history.CaptureNote;
            set => _history.CaptureNote = value;
        }

        public void Start() =>
            Refusal = !trainer.Options.CaptureStep ? "capture is turned off (TrainerOptions.CaptureStep = false)"
                : trainer.Options.AdversarialEpsilon > 0 ? "FGSM training makes each batch's inputs from a gradient read on the host" : null;

        /// <summary>One step on a batch: the model's output and the loss (NaN or infinite when the step stopped before its update).</summary>
        public (Tensor Output, float Loss) Run(Tensor x, IntTensor? labels, Tensor? targets)
        {
            int key = x.Shape[0];
            if (Refusal is null && _captures.TryGetValue(key, out var c))
            {
                if (c.Matches(x, labels, targets))
                {
                    c.CopyInputs(x, labels, targets);
                    c.Graph.Replay();
                    _history.CapturedStep = true;
                    return (c.Output, c.Loss.Item());
                }
                c.Dispose();   // a mode, the structure or RequiresGrad changed: capture again the next time
                _captures.Remove(key);
                _seen.Remove(key);
            }
            if (Refusal is null && !_seen.Add(key) && Capture.TryCreate(this, model, x, labels, targets, out var made))
            {
                _captures[key] = made;
                return (made.Output, made.Loss.Item());
            }
            Step(x, labels, targets);
            return (_output!, _loss!.Item());
        }

        // Forward, loss, backward; then, when the loss is finite, the weight noise taken off, clipping and the update.
        private void Step(Tensor x, IntTensor? labels, Tensor? targets)
        {
            optimizer.ZeroGrad();
            var noise = trainer.Options.WeightNoise > 0 ? trainer.AddWeightNoise(model, noiseGenerator) : null;
            var output = model.Forward(x);
            var l = Apply(loss, output, labels, targets);
            if (trainer.Options.L1 > 0) l = l + weights.Select(w => w.Abs().Sum()).Aggregate((a, b) => a + b) * (float)trainer.Options.L1;
            if (trainer.Options.L2 > 0) l = l + weights.Select(w => w.Square().Sum()).Aggregate((a, b) => a + b) * (float)trainer.Options.L2;
            _output = output;
            _loss = l;
            l.Backward();
            // Data-parallel: the gradients and the loss averaged over ranks before the finite check, so that every
            // rank sees the same loss and stops or updates alike.
            if (sync is not null) sync.Reduce([.. clipped.Where(p => p.Grad is not null).Select(p => p.Grad!), l]);
            if (!l.Backend.Finite(l)) return;   // a replay stops here too: no update from a diverged loss
            if (noise is not null) trainer.RemoveWeightNoise(noise);
            if (trainer.Options.ClipGradNorm > 0) GradClip.ClipGradNormTensor(clipped, trainer.Options.ClipGradNorm);   // no host read: the step stays capturable
            optimizer.Step();
        }

        public void Dispose()
        {
            foreach (var c in _captures.Values) c.Dispose();
            _captures.Clear();
        }

        // One batch shape's captured step with its static inputs and what it was captured under.
        private sealed class Capture : IDisposable
        {
            public required StepGraph Graph;
            public required Tensor X, Output, Loss;
            public IntTensor? Labels;
            public Tensor? Targets;
            public required Module[] Modules;
            public required int[] Versions;
            public required bool[] Training;
            public required Tensor[] Parameters;
            public required bool[] RequiresGrad;

            public static bool TryCreate(StepRunner runner, Module model, Tensor x, IntTensor? labels, Tensor? targets, out Capture capture)
            {
                capture = null!;
                var modules = model.NamedModules().Select(m => m.Module).ToArray();
                var parameters = model.Parameters().ToArray();
                var xs = Tensor.Zeros([.. x.Shape]);
                var ys = labels is null ? null : new IntTensor(new int[labels.Numel], [.. labels.Shape]);
                var ts = targets is null ? null : Tensor.Zeros([.. targets.Shape]);
                var made = new Capture
                {
                    Graph = new StepGraph(), X = xs, Labels = ys, Targets = ts, Output = null!, Loss = null!,
                    Modules = modules, Versions = [.. modules.Select(m => m.Version)], Training = [.. modules.Select(m => m.Training)],
                    Parameters = parameters, RequiresGrad = [.. parameters.Select(p => p.RequiresGrad)],
                };
                if (!made.Matches(x, labels, targets)) return false;
                made.CopyInputs(x, labels, targets);
                bool ok = made.Graph.Capture(() => runner.Step(xs, ys, ts));
                made.Output = runner._output!;
                made.Loss = runner._loss!;
                if (!ok)
                {
                    // The step ran eagerly on the static copy; report its output and loss, and stop trying.
                    runner.Refusal = made.Graph.Failure;
                    made.Graph.Dispose();
                    capture = made;
                    return true;
                }
                capture = made;
                return made.Graph.IsCaptured;
            }

            // Whether this batch and the model are as captured (no allocation: it runs every step).
            public bool Matches(Tensor x, IntTensor? labels, Tensor? targets)
            {
                if (!Graph.IsValid && Graph.IsCaptured) return false;
                if (!SameShape(x.Shape, X.Shape)) return false;
                if ((labels is null) != (Labels is null) || (labels is not null && !SameShape(labels.Shape, Labels!.Shape))) return false;
                if ((targets is null) != (Targets is null) || (targets is not null && !SameShape(targets.Shape, Targets!.Shape))) return false;
                for (int i = 0; i < Modules.Length; i++)
                    if (Modules[i].Version != Versions[i] || Modules[i].Training != Training[i]) return false;
                for (int i = 0; i < Parameters.Length; i++)
                    if (Parameters[i].RequiresGrad != RequiresGrad[i]) return false;
                return true;
            }

            // Into the static inputs: a plain copy for contiguous batches (no allocation), a strided copy otherwise.
            public void CopyInputs(Tensor x, IntTensor? labels, Tensor? targets)
            {
                X.CopyFrom(x);
                if (labels is not null) labels.Data.AsSpan().CopyTo(Labels!.Data);
                if (targets is not null) Targets!.CopyFrom(targets);
            }

            private static bool SameShape(IReadOnlyList<int> a, IReadOnlyList<int> b)
            {
                if (a.Count != b.Count) return false;
                for (int i = 0; i < a.Count; i++) if (a[i] != b[i]) return false;
                return true;
            }

            public void Dispose() => Graph.Dispose();
        }
    }
}
