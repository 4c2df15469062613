using System.Globalization;
using System.Text.Json;
using Nabla.Autograd;

namespace Nabla.Optim;

/// <summary>What an optimizer keeps per parameter: a step count and named buffers (momentum, moments …).</summary>
public sealed class ParamState
{
    /// <summary>Steps taken for this parameter.</summary>
    public long Step { get; set; }

    /// <summary>Named state tensors, in creation order.</summary>
    public OrderedDictionary<string, Tensor> Buffers { get; } = new(StringComparer.Ordinal);

    // The scalars a fused update reads when its launch runs (made on the first fused step).
    internal Backends.ScalarSlot? Slot;
}

/// <summary>
/// Base of the optimizers (torch.optim.Optimizer): parameter groups with defaults filled in, per-parameter state,
/// <see cref="Step"/> (under no-grad, skipping parameters without a gradient), <see cref="ZeroGrad"/>, and a state
/// dict that resumes a run bit for bit.
/// </summary>
public abstract class Optimizer : Backends.IRebindable
{
    // Bumped when LoadStateDict replaces the state buffers, which a captured step is bound to.
    int Backends.IRebindable.BindingVersion => _bindingVersion;
    private int _bindingVersion;

    private readonly List<ParamGroup> _groups = [];
    private readonly Dictionary<Tensor, ParamState> _state = new(ReferenceEqualityComparer.Instance);

    /// <summary>Builds the groups, filling missing hyperparameters from <paramref name="defaults"/>, and validates them.</summary>
    protected Optimizer(IEnumerable<ParamGroup> groups, IReadOnlyDictionary<string, double> defaults)
    {
        ArgumentNullException.ThrowIfNull(groups);
        Defaults = new Dictionary<string, double>(defaults, StringComparer.Ordinal);
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var g in groups)
        {
            foreach (var (k, v) in defaults) g.SetDefault(k, v);
            foreach (var k in g.Options.Keys)
                if (!defaults.ContainsKey(k) && k != "initial_lr")
                    throw new ArgumentException($"{GetType().Name}: unknown hyperparameter '{k}' (known: {string.Join(", ", defaults.Keys)}).", nameof(groups));
            foreach (var p in g.Parameters)
                if (!seen.Add(p)) throw new ArgumentException("some parameters appear in more than one parameter group", nameof(groups));
            Validate(g);
            _groups.Add(g);
        }
        if (_groups.Count == 0 || _groups.All(g => g.Parameters.Count == 0))
            throw new ArgumentException($"{GetType().Name} got an empty parameter list.", nameof(groups));
    }

    /// <summary>Wraps a parameter list as one group.</summary>
    protected static IEnumerable<ParamGroup> Single(IEnumerable<Tensor> parameters) => [new ParamGroup(parameters)];

    /// <summary>The groups, in order; schedules and users may change their hyperparameters between steps.</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>The hyperparameters a group gets when it does not set them.</summary>
    public IReadOnlyDictionary<string, double> Defaults { get; }

    /// <summary>Checks a group's hyperparameters with PyTorch's messages.</summary>
    protected abstract void Validate(ParamGroup group);

    /// <summary>Applies the update rule to one parameter (called under no-grad, with its gradient).</summary>
    protected abstract void Update(ParamGroup group, Tensor parameter, Tensor grad, ParamState state);

    /// <summary>One optimisation step over every parameter that has a gradient.</summary>
    public void Step()
    {
        using var _ = GradMode.NoGrad();
        Backends.CaptureSession.Current?.Watch(this);
        // Indexed loops: an interface enumerator would be an allocation per group and step.
        foreach (var g in _groups)
            for (int i = 0, n = g.Parameters.Count; i < n; i++)
            {
                var p = g.Parameters[i];
                if (p.Grad is null) continue;
                if (!_state.TryGetValue(p, out var s)) _state[p] = s = new ParamState();
                Update(g, p, p.Grad, s);
            }
    }

    /// <summary>Clears every parameter's gradient (PyTorch's set_to_none).</summary>
    public void ZeroGrad()
    {
        foreach (var g in _groups)
            for (int i = 0, n = g.Parameters.Count; i < n; i++) g.Parameters[i].ZeroGrad();
    }

    /// <summary>The state of a parameter, or null before its first step.</summary>
    public ParamState? StateOf(Tensor parameter) => _state.GetValueOrDefault(parameter);

    /// <summary>A zero buffer shaped like <paramref name="like"/>, created once per parameter.</summary>
    protected static Tensor Buffer(ParamState state, string name, Tensor like, float fill = 0f)
    {
        if (state.Buffers.TryGetValue(name, out var b)) return b;
        Uncapturable("the optimizer creates its state in this step (capture after one eager step)");
        b = Tensor.ZerosLike(like);
        if (fill != 0) b.FillInPlace(fill);
        state.Buffers[name] = b;
        return b;
    }

    /// <summary>Whether a tensor can take part in a fused update: contiguous, with <paramref name="like"/>'s shape.</summary>
    private protected static bool Fusable(Tensor? t, Tensor like) => t is null || (t.IsContiguous && t.shape.AsSpan().SequenceEqual(like.shape));

    // ---- checkpoint --------------------------------------------------------------------------------------

    /// <summary>
    /// The state as PyTorch lays it out: <c>state.{i}.{buffer}</c> tensors and <c>state.{i}.step</c> per parameter
    /// index i (counted across groups), with the groups' hyperparameters (exact doubles) in the metadata.
    /// </summary>
    public StateDict StateDict()
    {
        var dict = new StateDict();
        int index = 0;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var g in _groups)
            {
                json.WriteStartObject();
                json.WriteStartArray("params");
                foreach (var p in g.Parameters)
                {
                    if (_state.TryGetValue(p, out var s))
                    {
                        dict.Add($"state.{index}.step", new IntTensor([checked((int)s.Step)], 1));
                        foreach (var (name, t) in s.Buffers) dict.Add($"state.{index}.{name}", t.Clone());
                    }
                    json.WriteNumberValue(index++);
                }
                json.WriteEndArray();
                // System.Text.Json writes doubles in round-trip form, so a resumed run sees the same bits.
                foreach (var (k, v) in g.Options) json.WriteNumber(k, v);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        dict.Metadata["optimizer"] = GetType().Name;
        dict.Metadata["param_groups"] = System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        return dict;
    }

    /// <summary>Restores a <see cref="StateDict()"/> of the same optimizer type over parameters of the same shapes.</summary>
    /// <exception cref="InvalidOperationException">the state belongs to another optimizer or does not fit.</exception>
    public void LoadStateDict(StateDict state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!state.Metadata.TryGetValue("optimizer", out var type) || type != GetType().Name)
            throw new InvalidOperationException($"LoadStateDict: the state is for optimizer '{type ?? "?"}', this is {GetType().Name}.");
        if (!state.Metadata.TryGetValue("param_groups", out var json))
            throw new InvalidOperationException("LoadStateDict: the state has no param_groups metadata.");
        using var doc = JsonDocument.Parse(json);
        var groups = doc.RootElement.EnumerateArray().ToArray();
        if (groups.Length != _groups.Count)
            throw new InvalidOperationException($"LoadStateDict: the state has {groups.Length} parameter groups, the optimizer {_groups.Count}.");
        var parameters = _groups.SelectMany(g => g.Parameters).ToArray();
        for (int gi = 0; gi < groups.Length; gi++)
            if (groups[gi].GetProperty("params").GetArrayLength() != _groups[gi].Parameters.Count)
                throw new InvalidOperationException($"LoadStateDict: group {gi} has {groups[gi].GetProperty("params").GetArrayLength()} parameters in the state, {_groups[gi].Parameters.Count} here.");

        var restored = new Dictionary<Tensor, ParamState>(ReferenceEqualityComparer.Instance);
        foreach (var (key, value) in state)
        {
            var parts = key.Split('.', 3);
            if (parts.Length != 3 || parts[0] != "state" || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int i) || i >= parameters.Length)
                throw new InvalidOperationException($"LoadStateDict: unexpected key '{key}'.");
            var p = parameters[i];
            if (!restored.TryGetValue(p, out var s)) restored[p] = s = new ParamState();
            if (parts[2] == "step")
                s.Step = value.Int?.Data.Single() ?? throw new InvalidOperationException($"LoadStateDict: '{key}' must be an integer.");
            else
            {
                var t = value.Float ?? throw new InvalidOperationException($"LoadStateDict: '{key}' must be a float tensor.");
                if (!t.Shape.SequenceEqual(p.Shape))
                    throw new InvalidOperationException($"LoadStateDict: '{key}' has shape {Shapes.Format(t.Shape.ToArray())}, the parameter {Shapes.Format(p.Shape.ToArray())}.");
                s.Buffers[parts[2]] = t.Clone();
            }
        }
        for (int gi = 0; gi < groups.Length; gi++)
            foreach (var prop in groups[gi].EnumerateObject())
                if (prop.Name != "params") _groups[gi][prop.Name] = prop.Value.GetDouble();
        _state.Clear();
        foreach (var (p, s) in restored) _state[p] = s;
        _bindingVersion++;   // captured updates are bound to the replaced buffers
    }

    /// <summary>
    /// Says, when a step is being captured, that this update cannot be replayed (it bakes scalars such as the learning
    /// rate into tensor ops); the step then stays eager and the trainer reports <paramref name="why"/>.
    /// </summary>
    private protected static void Uncapturable(string why) => Backends.CaptureSession.Current?.Fail(why);

    /// <summary>Checks a hyperparameter is a number ≥ 0, with PyTorch's message.</summary>
    protected static void NonNegative(ParamGroup g, string name, string label)
    {
        double v = g[name];
        if (!(v >= 0)) throw new ArgumentOutOfRangeException(name, v, $"Invalid {label}: {v.ToString(CultureInfo.InvariantCulture)}");
    }
}

/// <summary>
/// Per optimizer type and per thread: whether its updates take the composed tensor-op path (the reference its fused
/// kernel is tested against). Per thread, so a test that flips it cannot make another thread's step uncapturable.
/// </summary>
internal static class ComposedPath<T> where T : Optimizer
{
    [ThreadStatic] public static bool On;
}
