using System.Numerics.Tensors;

namespace Nabla.Distributed;

/// <summary>
/// Synchronised BatchNorm for data-parallel training (torch.nn.SyncBatchNorm.convert_sync_batchnorm): every BatchNorm
/// layer of a model normalises with the statistics of the whole global batch — Σx, Σx² and the counts summed over the
/// ranks — instead of its rank's shard, forward and backward, so N ranks follow one process with BatchNorm too (within
/// float rounding: the variance is Σx²/m − μ², not two passes). The running statistics are the global ones. Steps with
/// synchronised layers run eagerly (the global count is read on the host). <see cref="Training.TrainerOptions.SyncBatchNorm"/>
/// applies it; <see cref="Disable"/> undoes it.
/// </summary>
public static class SyncBatchNorm
{
    /// <summary>Makes every BatchNorm layer of <paramref name="model"/> share its batch statistics over <paramref name="sync"/>'s ranks.</summary>
    /// <returns>The layers changed.</returns>
    public static int Apply(Module model, GradientSync sync)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sync);
        int n = 0;
        foreach (var (_, m) in model.NamedModules())
            if (m is BatchNormBase bn)
            {
                bn.Synchronized = (new Sum(sync.Communicator, null), new Sum(sync.Communicator, sync));
                n++;
            }
        return n;
    }

    /// <summary>Back to per-rank statistics.</summary>
    public static void Disable(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (_, m) in model.NamedModules())
            if (m is BatchNormBase bn) bn.Synchronized = null;
    }

    // The sum over ranks; weighted by the rank's share (and divided by it after) for the backward pass.
    private sealed class Sum(ICommunicator communicator, GradientSync? weighting) : Backends.IReduction
    {
        private float[] _buffer = [];

        public float Weight => weighting?.Weight ?? 1f;

        public float[] Buffer(int length) => _buffer.Length >= length ? _buffer : _buffer = new float[length];

        public void Reduce(Span<float> packed)
        {
            communicator.AllReduceSum(packed);
            if (weighting is not null)
            {
                float w = weighting.Weight;
                TensorPrimitives.Multiply(packed, w > 0 ? 1 / w : 0, packed);
            }
        }
    }
}
