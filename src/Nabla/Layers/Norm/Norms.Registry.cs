using System.Globalization;

namespace Nabla;

/// <summary>What a layer will be before it is built: its kind as a summary prints it, its parameter count, and how to make it.</summary>
public readonly record struct LayerPlan(string Kind, long Parameters, Func<Module> Create);

/// <summary>
/// One activation normalisation known by name (<c>--norm</c>, <see cref="ModelOptions.Norm"/>): its spec form
/// (<c>group:G</c>), a line for help, and the layer it makes for (N, features) activations (null: it needs feature
/// maps), for the cnn's (N, C, H, W) maps, and for a residual net's C-channel maps (sizes vary by stage, so layer
/// normalisation is GroupNorm(1, C) there). The spec is passed on, for arguments such as G.
/// </summary>
public sealed record NormInfo(string Name, string Form, string Help,
    Func<string, int, LayerPlan?>? Features, Func<string, int, int, int, LayerPlan?> Maps, Func<string, int, LayerPlan?> Residual);

/// <summary>
/// The normalisation registry. Model specs, the summary, the CLI's <c>--norm</c> names and help and the capture test
/// enumerate it, so a new normalisation is its module, one row here and its fixture rows.
/// </summary>
public static class Norms
{
    /// <summary>Every normalisation, in the order help lists them.</summary>
    public static IReadOnlyList<NormInfo> Registry { get; } =
    [
        new("batch", "batch", "batch normalisation with running statistics",
            (_, f) => new($"BatchNorm1d({f})", 2L * f, () => new BatchNorm1d(f)),
            (_, c, _, _) => new($"BatchNorm2d({c})", 2L * c, () => new BatchNorm2d(c)),
            (_, c) => new($"BatchNorm2d({c})", 2L * c, () => new BatchNorm2d(c))),
        new("layer", "layer", "layer normalisation over each sample",
            (_, f) => new($"LayerNorm({f})", 2L * f, () => new LayerNorm(f)),
            (_, c, h, w) => new($"LayerNorm(({c}, {h}, {w}))", ModelSummary.Mul(2L * c, (long)h * w), () => new LayerNorm([c, h, w])),
            (_, c) => new($"GroupNorm(1, {c})", 2L * c, () => new GroupNorm(1, c))),
        new("instance", "instance", "instance normalisation of each channel map (affine)", null,
            (_, c, _, _) => new($"InstanceNorm2d({c}, affine=True)", 2L * c, () => new InstanceNorm2d(c, affine: true)),
            (_, c) => new($"InstanceNorm2d({c}, affine=True)", 2L * c, () => new InstanceNorm2d(c, affine: true))),
        new("group", "group:G", "group normalisation with G groups",
            (spec, f) => Group(spec, f, "features"), (spec, c, _, _) => Group(spec, c, "channels"), (spec, c) => Group(spec, c, "channels")),
        new("switch", "switch", "switchable normalisation (learned mix of batch, layer and instance)", null,
            (_, c, _, _) => new($"SwitchNorm({c})", 2L * c + 6, () => new SwitchNorm(c)),
            (_, c) => new($"SwitchNorm({c})", 2L * c + 6, () => new SwitchNorm(c))),
        new("none", "none", "no normalisation", (_, _) => null, (_, _, _, _) => null, (_, _) => null),
    ];

    /// <summary>The registry's forms, in order (for help).</summary>
    public static IReadOnlyList<string> Forms { get; } = [.. Registry.Select(n => n.Form)];

    /// <summary>The entry a spec (<c>name[:args]</c>) names, its arguments checked.</summary>
    /// <exception cref="FormatException">an unknown name, or arguments that do not fit its form.</exception>
    public static NormInfo Get(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var parts = spec.Split(':');
        var info = Registry.FirstOrDefault(n => n.Name == parts[0] && n.Form.Split(':').Length == parts.Length)
            ?? throw new FormatException($"Unknown normalisation '{spec}'; expected {string.Join(", ", Forms.Take(Forms.Count - 1))} or {Forms[^1]}.");
        if (info.Name == "group") GroupCount(spec);
        return info;
    }

    /// <summary>G of group:G.</summary>
    internal static int GroupCount(string spec)
    {
        var parts = spec.Split(':');
        if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int groups) || groups < 1)
            throw new FormatException($"Normalisation '{spec}': expected group:G with a positive group count.");
        return groups;
    }

    // G of group:G, when it divides the count of channels or features.
    internal static int GroupsFor(string spec, int count, string unit)
    {
        int groups = GroupCount(spec);
        return count % groups == 0 ? groups : throw new FormatException($"Normalisation '{spec}': {count} {unit} do not divide into {groups} groups.");
    }

    private static LayerPlan Group(string spec, int count, string unit)
    {
        int groups = GroupsFor(spec, count, unit);
        return new($"GroupNorm({groups}, {count})", 2L * count, () => new GroupNorm(groups, count));
    }
}
