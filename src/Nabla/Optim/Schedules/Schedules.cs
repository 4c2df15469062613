using System.Globalization;

namespace Nabla.Optim;

/// <summary>What a run's schedule is built from: its length in optimizer steps, the warm-up steps, the peak learning rate, and whether the optimizer has a momentum a one-cycle schedule may cycle.</summary>
public sealed record ScheduleContext(int TotalSteps, int WarmupSteps, double Lr, bool CycleMomentum);

/// <summary>
/// One learning-rate schedule known by name: its spec form (<c>step:EPOCHS:GAMMA</c>), a line for help texts, whether it
/// takes a warm-up, and the factory from the spec's arguments (after the name) — a per-step or per-epoch
/// <see cref="LRScheduler"/>, or a <see cref="ReduceLROnPlateau"/>.
/// </summary>
public sealed record ScheduleInfo(string Name, string Form, string Help, bool TakesWarmup,
    Func<Optimizer, string[], ScheduleContext, (LRScheduler? Scheduler, ReduceLROnPlateau? Plateau)> Factory);

/// <summary>The schedule registry: every schedule a run can name (<c>--schedule</c>'s names and help enumerate it).</summary>
public static class Schedules
{
    private static int Int(string s) => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0
        ? v : throw new ArgumentException($"schedule argument '{s}' is not a non-negative integer.");

    private static double Number(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
        ? v : throw new ArgumentException($"schedule argument '{s}' is not a number.");

    /// <summary>Every schedule, in the order help lists them.</summary>
    public static IReadOnlyList<ScheduleInfo> Registry { get; } =
    [
        new("cosine", "cosine", "cosine annealing per step to 0, after an optional linear warm-up", true, (o, _, c) =>
            (new CosineAnnealingWarmupLR(o, warmupSteps: c.WarmupSteps, totalSteps: Math.Max(c.TotalSteps, c.WarmupSteps + 1),
                warmupStartFactor: c.WarmupSteps > 0 ? 0.01 : 1), null)),
        new("step", "step:EPOCHS:GAMMA", "multiply the rate by GAMMA every EPOCHS", false, (o, a, _) =>
            (new StepLR(o, Int(a[0]), Number(a[1])), null)),
        new("plateau", "plateau:PATIENCE", "divide the rate by 10 after PATIENCE epochs without improvement", false, (o, a, _) =>
            (null, new ReduceLROnPlateau(o, patience: Int(a[0])))),
        new("onecycle", "onecycle", "one cycle up to the rate and down (it warms up by itself)", false, (o, _, c) =>
            (new OneCycleLR(o, c.Lr, c.TotalSteps, cycleMomentum: c.CycleMomentum), null)),
        new("none", "none", "a constant rate, after an optional linear warm-up", true, (o, _, c) =>
            (c.WarmupSteps > 0 ? new LinearLR(o, startFactor: 0.01, totalIters: c.WarmupSteps) : null, null)),
    ];

    /// <summary>The registry's names, in order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Registry.Select(s => s.Name)];

    /// <summary>The entry a spec (<c>name[:args]</c>) names, or null.</summary>
    public static ScheduleInfo? Find(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var name = spec.Trim().ToLowerInvariant().Split(':')[0];
        return Registry.FirstOrDefault(s => s.Name == name);
    }

    /// <summary>The schedule of a spec over <paramref name="optimizer"/>.</summary>
    /// <exception cref="ArgumentException">an unknown name, or arguments that do not fit its form.</exception>
    public static (LRScheduler? Scheduler, ReduceLROnPlateau? Plateau) Create(string spec, Optimizer optimizer, ScheduleContext context)
    {
        var info = Find(spec) ?? throw new ArgumentException($"schedule '{spec}' is not one of {string.Join(", ", Names)}.", nameof(spec));
        var parts = spec.Trim().ToLowerInvariant().Split(':');
        int expected = info.Form.Split(':').Length;
        if (parts.Length != expected) throw new ArgumentException($"schedule '{spec}' must have the form {info.Form}.", nameof(spec));
        return info.Factory(optimizer, parts[1..], context);
    }
}
