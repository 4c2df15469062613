using Nabla.Autograd;

namespace Nabla.Generative;

/// <summary>
/// A network's inference on the loader's worker, captured once per input shape and replayed (the trainer's capture
/// applied to a forward pass): static inputs the caller fills, the launches of the first call recorded by a
/// <see cref="StepGraph"/>, later calls with the same key (the inputs' shapes) replaying them into the same output
/// buffer. A change of the modules' structure (a registration, a hook) or train/eval mode makes a new capture; weights
/// loaded later are copied into the same buffers, which the launches read when they run. A capture that fails leaves
/// the call eager. At most <c>maxShapes</c> captures are kept (each holds its working memory); later shapes run eagerly.
/// Not thread-safe: the transform that owns it serialises calls.
/// </summary>
internal sealed class CapturedCalls<TKey>(Module[] modules, int maxShapes = 4) : IDisposable where TKey : notnull
{
    private readonly Dictionary<TKey, Call> _calls = [];

    /// <summary>Replays run so far, over every shape.</summary>
    public long Replays { get; private set; }

    /// <summary>Why a capture failed (the calls are eager from then on), or null.</summary>
    public string? Failure { get; private set; }

    /// <summary>
    /// <paramref name="body"/>(inputs, labels) on static inputs made by <paramref name="make"/> for <paramref name="key"/>
    /// (a shape's identity) and filled by <paramref name="fill"/>; the returned tensor belongs to the capture and holds
    /// the result until the next call with the same key.
    /// </summary>
    public Tensor Run(TKey key, Func<(Tensor[] Inputs, IntTensor[] Labels)> make, Action<Tensor[], IntTensor[]> fill, Func<Tensor[], IntTensor[], Tensor> body)
    {
        if (_calls.TryGetValue(key, out var call) && call.Graph.IsValid && call.Unchanged(modules))
        {
            fill(call.Inputs, call.Labels);
            call.Graph.Replay();
            Replays++;
            return call.Output;
        }
        if (call is not null)
        {
            call.Graph.Dispose();
            _calls.Remove(key);
        }
        var (inputs, labels) = make();
        fill(inputs, labels);
        if (Failure is not null || _calls.Count >= maxShapes)
            using (GradMode.NoGrad()) return body(inputs, labels);   // eager: too many shapes, or the capture failed before
        var made = new Call
        {
            Graph = new StepGraph(), Inputs = inputs, Labels = labels, Output = null!,
            Versions = [.. modules.Select(m => m.Version)], Training = [.. modules.Select(m => m.Training)],
        };
        Tensor output = null!;
        bool ok = made.Graph.Capture(() =>
        {
            using (GradMode.NoGrad()) output = body(inputs, labels);
        });
        if (!ok)
        {
            Failure = made.Graph.Failure;
            made.Graph.Dispose();
            return output;
        }
        made.Output = output;
        _calls[key] = made;
        return output;
    }

    /// <summary>Drops every capture.</summary>
    public void Dispose()
    {
        foreach (var c in _calls.Values) c.Graph.Dispose();
        _calls.Clear();
    }

    private sealed class Call
    {
        public required StepGraph Graph;
        public required Tensor[] Inputs;
        public required IntTensor[] Labels;
        public required Tensor Output;
        public required int[] Versions;
        public required bool[] Training;

        public bool Unchanged(Module[] modules)
        {
            for (int i = 0; i < modules.Length; i++)
                if (modules[i].Version != Versions[i] || modules[i].Training != Training[i]) return false;
            return true;
        }
    }
}
