namespace Nabla.Kernels;

/// <summary>
/// Per-thread scratch arrays that a kernel keeps from call to call, as Gemm keeps its packing buffers. ArrayPool.Shared
/// would do the same until a collection trims its per-thread arrays, after which a warm training step allocates
/// again; a slot only grows and is kept until its thread ends (Conv2d's partial weight gradients on the calling thread
/// can reach 16 MiB). A slot is never in use twice at once: the Conv2d kernels share t_col/t_tmp but none calls
/// another, and a part run on the caller thread (WorkerPool's fallback) runs after its own, never inside it.
/// </summary>
internal static class Scratch
{
    /// <summary>The slot's array when it holds at least <paramref name="length"/> floats, else a new one kept in the slot; contents arbitrary.</summary>
    public static float[] Get(ref float[]? slot, int length)
    {
        var a = slot;
        if (a is null || a.Length < length) slot = a = GC.AllocateUninitializedArray<float>(length);
        return a;
    }
}
