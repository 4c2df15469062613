using System.Text;
using Nabla.Autograd;

namespace Nabla;

/// <summary>
/// Base of every layer and model, as <c>torch.nn.Module</c>: parameters, buffers and child modules are
/// registered explicitly in the constructor (no reflection, so NativeAOT works) and named with PyTorch's dotted
/// paths (<c>features.0.weight</c>). <see cref="StateDict"/> lists this module's parameters, then its persistent
/// buffers, then each child's entries, in registration order — PyTorch's order.
/// </summary>
public abstract class Module
{
    private readonly List<(string Name, Tensor Value)> _parameters = [];
    private readonly List<(string Name, StateValue Value, bool Persistent)> _buffers = [];
    private readonly List<(string Name, Module Value)> _children = [];
    private readonly List<(string Name, Generator Value)> _generators = [];

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Computes the module's output (shape documented on each layer).</summary>
    public abstract Tensor Forward(Tensor input);

    private List<Action<Module, Tensor, Tensor>>? _forwardHooks;

    /// <summary>
    /// <see cref="Forward"/>, then each forward hook with (module, input, output); reads like PyTorch's
    /// <c>module(x)</c>. <see cref="Sequential"/> calls its layers this way, so hooks on them run.
    /// </summary>
    public Tensor Call(Tensor input)
    {
        var output = Forward(input);
        if (_forwardHooks is { } hooks)
            for (int i = 0; i < hooks.Count; i++) hooks[i](this, input, output);
        return output;
    }

    /// <summary>Whether forward hooks are registered (a container then calls this module on its own, unfused).</summary>
    public bool HasForwardHooks => _forwardHooks is { Count: > 0 };

    /// <summary>
    /// Registers hook(module, input, output) to run after each <see cref="Call"/> (torch.nn.Module.register_forward_hook);
    /// dispose the returned handle to remove it. Inside a captured training step a hook runs while the step is captured,
    /// so what it computes with tensor ops is replayed with the step; it must not read values on the host (keep the
    /// results in tensors and read them after the step). Registering or removing a hook makes the next step capture anew.
    /// </summary>
    public IDisposable RegisterForwardHook(Action<Module, Tensor, Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        (_forwardHooks ??= []).Add(hook);
        Version++;
        return new HookHandle(this, hook);
    }

    private sealed class HookHandle(Module module, Action<Module, Tensor, Tensor> hook) : IDisposable
    {
        private bool _removed;

        public void Dispose()
        {
            if (_removed) return;
            _removed = true;
            module._forwardHooks?.Remove(hook);
            module.Version++;
        }
    }

    /// <summary>Counts registrations, so a captured step can tell that the module's structure changed since.</summary>
    internal int Version { get; private set; }

    // ---- registration ------------------------------------------------------------------------------------

    /// <summary>Registers a trainable parameter (sets <see cref="Tensor.RequiresGrad"/>) and returns it.</summary>
    protected Tensor RegisterParameter(string name, Tensor value)
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(value);
        if (!value.IsLeaf) throw new ArgumentException($"RegisterParameter: '{name}' must be a leaf tensor (not computed by a recorded op).", nameof(value));
        value.RequiresGrad = true;
        _parameters.Add((name, value));
        Version++;
        return value;
    }

    /// <summary>Registers a float buffer (state that is not trained, e.g. running statistics).</summary>
    /// <param name="name">Its key within this module.</param>
    /// <param name="value">The tensor; later updates should write into it in place.</param>
    /// <param name="persistent">Whether it goes into the state dict.</param>
    protected Tensor RegisterBuffer(string name, Tensor value, bool persistent = true)
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(value);
        _buffers.Add((name, value, persistent));
        Version++;
        return value;
    }

    /// <summary>Registers an integer buffer (e.g. a step counter); saved as I64.</summary>
    protected IntTensor RegisterBuffer(string name, IntTensor value, bool persistent = true)
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(value);
        _buffers.Add((name, value, persistent));
        Version++;
        return value;
    }

    /// <summary>
    /// Registers the generator a module draws its training-time randomness from (dropout masks, noise), so training
    /// checkpoints can save and restore its state; it is not part of the state dict (PyTorch has no such key).
    /// </summary>
    protected Generator RegisterGenerator(string name, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (string.IsNullOrEmpty(name) || _generators.Any(g => g.Name == name))
            throw new ArgumentException($"{GetType().Name}: generator name '{name}' must be non-empty and unique.", nameof(name));
        _generators.Add((name, generator));
        Version++;
        return generator;
    }

    /// <summary>Every registered generator with its dotted name (for training checkpoints).</summary>
    public IEnumerable<(string Name, Generator Generator)> NamedGenerators(string prefix = "")
    {
        foreach (var (name, g) in _generators) yield return (Join(prefix, name), g);
        foreach (var (name, child) in _children)
            foreach (var item in child.NamedGenerators(Join(prefix, name)))
                yield return item;
    }

    /// <summary>Registers a child module under a name and returns it.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(module);
        if (ReferenceEquals(module, this)) throw new ArgumentException("RegisterModule: a module cannot contain itself.", nameof(module));
        _children.Add((name, module));
        Version++;
        return module;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"{GetType().Name}: name '{name}' must be non-empty and contain no '.'.", nameof(name));
        if (_parameters.Any(p => p.Name == name) || _buffers.Any(b => b.Name == name) || _children.Any(c => c.Name == name))
            throw new ArgumentException($"{GetType().Name}: '{name}' is already registered.", nameof(name));
    }

    // ---- traversal ---------------------------------------------------------------------------------------

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children;

    /// <summary>This module (name "") and every descendant with its dotted name, preorder.</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in _children)
            foreach (var item in child.NamedModules(Join(prefix, name)))
                yield return item;
    }

    /// <summary>Every parameter with its dotted name, this module's first, then each child's.</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(string prefix = "", bool recurse = true)
    {
        foreach (var (name, p) in _parameters) yield return (Join(prefix, name), p);
        if (!recurse) yield break;
        foreach (var (name, child) in _children)
            foreach (var item in child.NamedParameters(Join(prefix, name)))
                yield return item;
    }

    /// <summary>Every parameter (what an optimizer updates).</summary>
    public IEnumerable<Tensor> Parameters(bool recurse = true) => NamedParameters("", recurse).Select(p => p.Parameter);

    /// <summary>Every buffer with its dotted name.</summary>
    public IEnumerable<(string Name, StateValue Buffer)> NamedBuffers(string prefix = "", bool recurse = true)
    {
        foreach (var (name, b, _) in _buffers) yield return (Join(prefix, name), b);
        if (!recurse) yield break;
        foreach (var (name, child) in _children)
            foreach (var item in child.NamedBuffers(Join(prefix, name)))
                yield return item;
    }

    /// <summary>Number of trainable scalars.</summary>
    public long ParameterCount => Parameters().Sum(p => (long)p.Numel);

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    // ---- modes and gradients -----------------------------------------------------------------------------

    /// <summary>Sets training mode on this module and all descendants; returns this.</summary>
    public Module Train(bool mode = true)
    {
        Training = mode;
        foreach (var (_, child) in _children) child.Train(mode);
        return this;
    }

    /// <summary>Evaluation mode (dropout off, running statistics used); returns this.</summary>
    public Module Eval() => Train(false);

    /// <summary>Clears every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }

    // ---- state -------------------------------------------------------------------------------------------

    /// <summary>Parameters and persistent buffers by dotted name, in PyTorch's order. Values are the live tensors.</summary>
    public StateDict StateDict()
    {
        var state = new StateDict();
        Collect(state, "");
        return state;
    }

    private void Collect(StateDict state, string prefix)
    {
        foreach (var (name, p) in _parameters) state.Add(Join(prefix, name), p);
        foreach (var (name, b, persistent) in _buffers) if (persistent) state.Add(Join(prefix, name), b);
        foreach (var (name, child) in _children) child.Collect(state, Join(prefix, name));
    }

    /// <summary>
    /// Copies values from <paramref name="state"/> into this module's parameters and buffers (in place, so
    /// optimizers keep their references). Every problem is reported in one message: keys the module has but the
    /// state lacks (missing), keys the state has but the module lacks (unexpected), and shape or kind mismatches.
    /// Shape mismatches always fail; missing and unexpected keys fail only when <paramref name="strict"/>.
    /// </summary>
    /// <returns>The missing and unexpected keys (both empty after a strict load).</returns>
    /// <exception cref="InvalidOperationException">the state does not fit; nothing is changed then.</exception>
    public LoadResult LoadStateDict(StateDict state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var own = StateDict();
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var mismatched = new List<string>();
        foreach (var (key, target) in own)
        {
            if (!state.TryGetValue(key, out var source)) continue;
            if (target.IsInt != source.IsInt)
                mismatched.Add($"{key}: expected {(target.IsInt ? "integer" : "float")} values, got {(source.IsInt ? "integer" : "float")}");
            else if (!target.Shape.SequenceEqual(source.Shape))
                mismatched.Add($"{key}: shape {Shapes.Format(source.Shape.ToArray())} in the state, {Shapes.Format(target.Shape.ToArray())} in the model");
        }
        if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
        {
            var sb = new StringBuilder($"Error(s) in loading state dict for {GetType().Name}:");
            if (strict && missing.Count > 0) sb.Append("\n  Missing key(s): ").Append(string.Join(", ", missing.Select(k => $"\"{k}\"")));
            if (strict && unexpected.Count > 0) sb.Append("\n  Unexpected key(s): ").Append(string.Join(", ", unexpected.Select(k => $"\"{k}\"")));
            foreach (var m in mismatched) sb.Append("\n  Size mismatch for ").Append(m);
            throw new InvalidOperationException(sb.ToString());
        }
        using (GradMode.NoGrad())
            foreach (var (key, target) in own)
            {
                if (!state.TryGetValue(key, out var source)) continue;
                if (target.Float is { } t) t.CopyFrom(source.Float!);
                else Array.Copy(source.Int!.Data, target.Int!.Data, target.Int.Data.Length);
            }
        return new LoadResult(missing, unexpected);
    }

    /// <summary>Writes the state dict to a safetensors file (atomically) that PyTorch's <c>safetensors.torch.load_file</c> reads.</summary>
    public void Save(string path)
    {
        var state = StateDict();
        state.Metadata["format"] = "pt";
        Serialization.SafeTensors.Write(path, state);
    }

    /// <summary>Loads parameters and buffers from a safetensors file (see <see cref="LoadStateDict"/>).</summary>
    public LoadResult Load(string path, bool strict = true) => LoadStateDict(Serialization.SafeTensors.Read(path), strict);

    // ---- printing ----------------------------------------------------------------------------------------

    /// <summary>The hyperparameters shown in <see cref="ToString"/>, e.g. <c>in_features=784, out_features=256</c>.</summary>
    protected virtual string ExtraRepr => "";

    /// <summary>A PyTorch-style tree: <c>Sequential(\n  (0): Linear(in_features=784, …)\n …)</c>.</summary>
    public override string ToString()
    {
        var name = GetType().Name;
        if (_children.Count == 0) return $"{name}({ExtraRepr})";
        var sb = new StringBuilder(name).Append('(');
        if (ExtraRepr.Length > 0) sb.Append('\n').Append("  ").Append(ExtraRepr);
        foreach (var (childName, child) in _children)
            sb.Append("\n  (").Append(childName).Append("): ").Append(child.ToString().Replace("\n", "\n  "));
        return sb.Append("\n)").ToString();
    }
}

/// <summary>What a non-strict <see cref="Module.LoadStateDict"/> skipped.</summary>
/// <param name="MissingKeys">Keys of the module absent from the state.</param>
/// <param name="UnexpectedKeys">Keys of the state absent from the module.</param>
public sealed record LoadResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);
