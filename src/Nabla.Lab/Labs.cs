using Nabla.Lab.Labs;

namespace Nabla.Lab;

/// <summary>The lab registry: every claim, in the lecture's order.</summary>
public static class LabRegistry
{
    /// <summary>Every lab.</summary>
    public static IReadOnlyList<Lab> All { get; } =
    [
        new ActivationsLab(), new OptimizersLab(), new StoppingLab(), new ValidationLab(), new CoAdaptationLab(),
        new AugmentationLab(), new NormalisationLab(), new WeightNormalisationLab(), new DegradationLab(),
    ];

    /// <summary>The names, in order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. All.Select(l => l.Name)];

    /// <summary>The lab of that name, or null.</summary>
    public static Lab? Find(string name) => All.FirstOrDefault(l => string.Equals(l.Name, name, StringComparison.OrdinalIgnoreCase));
}
