using System.Globalization;
using System.Text;
using Nabla.Optim;

namespace Nabla.Cli;

/// <summary>
/// The CLI's view of the library's optimizer registry (<see cref="Optimizers"/>): a name checked as a usage error, and
/// the defaults table <c>nabla train --help</c> prints. The registry's defaults are PyTorch's Adam/AdamW constants and
/// learning rates chosen so that naming only data and model trains well (every recorded result uses them); the
/// library's constructors default to the lecture's constants (Adam lr 3e-4, β (0.9, 0.99); RMSProp lr 1e-3, α 0.9).
/// </summary>
internal static class CliOptimizers
{
    public static OptimizerInfo Of(string name) =>
        Optimizers.Find(name) ?? throw new UsageException($"--optimizer: '{CliArgs.Clip(name)}' is not one of {string.Join(", ", Optimizers.Names)}.");

    /// <summary>The defaults in force and the lecture's constants, for <c>nabla train --help</c>.</summary>
    public static string HelpTable()
    {
        string F(double v) => v.ToString("G", CultureInfo.InvariantCulture);
        var sb = new StringBuilder("\nOptimizers (defaults in force; --lr, --momentum, --betas, --eps, --alpha, --weight-decay change them):\n");
        foreach (var o in Optimizers.Registry)
        {
            var parts = new List<string> { $"lr {F(o.Lr)}" };
            if (o.Momentum is { } m) parts.Add($"momentum {F(m)}");
            if (o.Betas is { } b) parts.Add($"betas {F(b[0])},{F(b[1])}");
            if (o.Alpha is { } a) parts.Add($"alpha {F(a)}");
            if (o.Eps is { } e) parts.Add($"eps {F(e)}");
            if (o.WeightDecay > 0) parts.Add($"weight decay {F(o.WeightDecay)}");
            sb.Append("  ").Append(o.Name.PadRight(10)).Append(string.Join(", ", parts).PadRight(52)).Append(o.Describe).Append('\n');
        }
        sb.Append("  The lecture's constants: Adam η 3e-4, β1 0.9, β2 0.99 (--lr 3e-4 --betas 0.9,0.99); RMSProp η 1e-3, decay 0.9;\n");
        sb.Append("  momentum β 0.9. The library's Adam and RMSProp default to them.\n");
        return sb.ToString();
    }
}
