using System.Globalization;
using Nabla.Autograd;

namespace Nabla.Training;

/// <summary>
/// The lecture's stopping rule "train until the weights stabilise": after each epoch, the relative change of all
/// parameters taken together, ‖θₑ − θₑ₋₁‖₂ / ‖θₑ₋₁‖₂ (θ₋₁ = the weights before training), is compared with a
/// tolerance; training stops after <c>patience</c> consecutive epochs below it.
/// </summary>
public sealed class WeightStabilization : Callback
{
    private float[]? _previous;
    private int _calm;

    /// <summary>Stops once the relative change stays below <paramref name="tolerance"/> for <paramref name="patience"/> epochs.</summary>
    public WeightStabilization(double tolerance, int patience = 1)
    {
        if (!(tolerance > 0)) throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "WeightStabilization: tolerance must be positive.");
        if (patience < 1) throw new ArgumentOutOfRangeException(nameof(patience), patience, "WeightStabilization: patience must be at least 1.");
        Tolerance = tolerance;
        Patience = patience;
    }

    /// <summary>The relative change below which weights count as stable.</summary>
    public double Tolerance { get; }
    /// <summary>Consecutive stable epochs needed.</summary>
    public int Patience { get; }
    /// <summary>The relative change of the last epoch.</summary>
    public double LastChange { get; private set; } = double.NaN;

    private static float[] Flatten(Module model)
    {
        using var _ = GradMode.NoGrad();
        return model.Parameters().SelectMany(p => p.ToArray()).ToArray();
    }

    /// <inheritdoc/>
    public override void OnTrainBegin(TrainingContext context) => _previous ??= Flatten(context.Model);

    /// <inheritdoc/>
    public override void OnEpochEnd(TrainingContext context, EpochLog log)
    {
        var now = Flatten(context.Model);
        double diff = 0, norm = 0;
        for (int i = 0; i < now.Length; i++)
        {
            double d = now[i] - _previous![i];
            diff += d * d;
            norm += (double)_previous[i] * _previous[i];
        }
        LastChange = norm == 0 ? (diff == 0 ? 0 : double.PositiveInfinity) : Math.Sqrt(diff / norm);
        _previous = now;
        _calm = LastChange < Tolerance ? _calm + 1 : 0;
        if (_calm >= Patience)
            context.Stop($"Weights stabilised: relative change {LastChange.ToString("G3", CultureInfo.InvariantCulture)} < {Tolerance.ToString(CultureInfo.InvariantCulture)} for {_calm} epoch(s).");
    }

    /// <inheritdoc/>
    public override void SaveState(StateDict state, string prefix)
    {
        state.Metadata[prefix + "calm"] = _calm.ToString(CultureInfo.InvariantCulture);
        if (_previous is not null) state.Add(prefix + "previous", Tensor.FromArray(_previous));
    }

    /// <inheritdoc/>
    public override void LoadState(StateDict state, string prefix)
    {
        if (state.Metadata.TryGetValue(prefix + "calm", out var calm)) _calm = int.Parse(calm, CultureInfo.InvariantCulture);
        if (state.TryGetValue(prefix + "previous", out var prev)) _previous = prev.Float!.ToArray();
    }
}
