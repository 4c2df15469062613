using System.Globalization;
using System.Text;
using Nabla.Optim;

namespace Nabla.Cli;

/// <summary>
/// The optimizers of the CLI and their defaults, in one place. The CLI's defaults are PyTorch's Adam/AdamW constants
/// and learning rates chosen so that naming only data and model trains well (every recorded result uses them); the
/// library's constructors default to the lecture's constants (Adam lr 3e-4, β (0.9, 0.99); RMSProp lr 1e-3, α 0.9).
/// </summary>
internal sealed record OptimizerInfo(string Name, double Lr, double Momentum, double[]? Betas, double? Eps, double? Alpha, double WeightDecay,
    string Describe, string Lecture)
{
    public static readonly OptimizerInfo[] All =
    [
        new("sgd", 0.1, 0, null, null, null, 0, "torch.optim.SGD", "plain (stochastic / mini-batch) gradient descent"),
        new("momentum", 0.05, 0.9, null, null, null, 0, "SGD with heavy-ball momentum", "momentum β ≈ 0.9"),
        new("nesterov", 0.05, 0.9, null, null, null, 0, "SGD with Nesterov momentum", "momentum β ≈ 0.9"),
        new("rmsprop", 1e-3, 0, null, 1e-8, 0.9, 0, "torch.optim.RMSprop (α weighs the old average)", "η = 1e-3, β ≈ 0.9 (the same α = 0.9 here)"),
        new("adagrad", 1e-2, 0, null, 1e-10, null, 0, "torch.optim.Adagrad", "—"),
        new("adam", 1e-3, 0, [0.9, 0.999], 1e-8, null, 0, "torch.optim.Adam (PyTorch's constants)", "η = 3e-4, β1 = 0.9, β2 = 0.99"),
        new("adamw", 1e-3, 0, [0.9, 0.999], 1e-8, null, 1e-2, "torch.optim.AdamW (PyTorch's constants)", "η = 3e-4, β1 = 0.9, β2 = 0.99"),
    ];

    public static readonly string[] Names = [.. All.Select(o => o.Name)];

    public static OptimizerInfo Of(string name) =>
        All.FirstOrDefault(o => o.Name == name) ?? throw new UsageException($"--optimizer: '{CliArgs.Clip(name)}' is not one of {string.Join(", ", Names)}.");

    public bool TakesMomentum => Name is "sgd" or "momentum" or "nesterov" or "rmsprop";
    public bool TakesBetas => Betas is not null;
    public bool TakesEps => Eps is not null;
    public bool TakesAlpha => Alpha is not null;

    /// <summary>State tensors kept per parameter (for the memory estimate).</summary>
    public int Slots(double momentum) => Name switch
    {
        "adam" or "adamw" => 2,
        "rmsprop" => momentum > 0 ? 2 : 1,
        "adagrad" => 1,
        _ => momentum > 0 ? 1 : 0,
    };

    /// <summary>The optimizer over the model's parameters with the run's resolved settings.</summary>
    public static Optimizer Build(RunConfig c, Module model)
    {
        var p = model.Parameters();
        double lr = c.Lr!.Value, wd = c.WeightDecay!.Value, momentum = c.Momentum ?? 0;
        return c.Optimizer switch
        {
            "sgd" or "momentum" => new SGD(p, lr, momentum: momentum, weightDecay: wd),
            "nesterov" => new SGD(p, lr, momentum: momentum, weightDecay: wd, nesterov: true),
            "rmsprop" => new RMSProp(p, lr, alpha: c.Alpha!.Value, eps: c.Eps!.Value, weightDecay: wd, momentum: momentum),
            "adagrad" => new Adagrad(p, lr, weightDecay: wd, eps: c.Eps!.Value),
            "adamw" => new AdamW(p, lr, beta1: c.Betas![0], beta2: c.Betas[1], eps: c.Eps!.Value, weightDecay: wd),
            "adam" => new Adam(p, lr, beta1: c.Betas![0], beta2: c.Betas[1], eps: c.Eps!.Value, weightDecay: wd),
            _ => throw new UsageException($"--optimizer: '{c.Optimizer}' is not one of {string.Join(", ", Names)}."),
        };
    }

    /// <summary>The defaults in force and the lecture's constants, for <c>nabla train --help</c>.</summary>
    public static string HelpTable()
    {
        string F(double v) => v.ToString("G", CultureInfo.InvariantCulture);
        var sb = new StringBuilder("\nOptimizers (defaults in force; --lr, --momentum, --betas, --eps, --alpha, --weight-decay change them):\n");
        foreach (var o in All)
        {
            var parts = new List<string> { $"lr {F(o.Lr)}" };
            if (o.TakesMomentum) parts.Add($"momentum {F(o.Momentum)}");
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
