using System.Globalization;

namespace Nabla;

/// <summary>Ready-made models with PyTorch's key names, and the model-spec strings the CLI takes.</summary>
public static class Models
{
    /// <summary>
    /// A multilayer perceptron <c>Sequential(Linear(in, h₁), act, Linear(h₁, h₂), act, …, Linear(hₖ, out))</c> that
    /// flattens (N, C, H, W) images itself (<see cref="Sequential.FlattenInput"/>):
    /// for 784 inputs, hidden [256, 128] and 10 outputs the keys are 0.weight, 0.bias, 2.weight, 2.bias,
    /// 4.weight, 4.bias, exactly as the same <c>torch.nn.Sequential</c>.
    /// </summary>
    public static Sequential Mlp(int inputs, IReadOnlyList<int> hidden, int outputs, Generator generator, string activation = "relu")
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(generator);
        Activations.Create(activation); // validate the name before building anything
        var net = new Sequential { FlattenInput = true };
        int width = inputs;
        foreach (int h in hidden)
        {
            if (h <= 0) throw new ArgumentOutOfRangeException(nameof(hidden), h, "Mlp: hidden sizes must be positive.");
            net.Add(new Linear(width, h, generator));
            net.Add(Activations.Create(activation));
            width = h;
        }
        net.Add(new Linear(width, outputs, generator));
        return net;
    }

    /// <summary>
    /// Builds a model from a spec such as <c>mlp:256,128</c> (hidden sizes; <c>mlp</c> alone has none) for the
    /// given input and output sizes.
    /// </summary>
    /// <exception cref="FormatException">the spec is malformed; the message shows the expected form.</exception>
    public static Module FromSpec(string spec, int inputs, int outputs, Generator generator, string activation = "relu")
    {
        ArgumentNullException.ThrowIfNull(spec);
        var (kind, args) = ParseSpec(spec);
        return kind switch
        {
            "mlp" => Mlp(inputs, args, outputs, generator, activation),
            _ => throw new FormatException($"Unknown model '{kind}' in spec '{spec}'; expected e.g. 'mlp:256,128'."),
        };
    }

    /// <summary>Splits <c>name:a,b,c</c> into the name and its integer arguments.</summary>
    public static (string Kind, int[] Args) ParseSpec(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var parts = spec.Trim().Split(':', 2);
        var kind = parts[0].Trim().ToLowerInvariant();
        if (kind.Length == 0) throw new FormatException($"Model spec '{spec}' has no model name; expected e.g. 'mlp:256,128'.");
        if (parts.Length == 1 || parts[1].Trim().Length == 0) return (kind, []);
        var args = parts[1].Split(',').Select(a =>
            int.TryParse(a.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0
                ? v
                : throw new FormatException($"Model spec '{spec}': '{a.Trim()}' is not a positive integer.")).ToArray();
        return (kind, args);
    }
}
