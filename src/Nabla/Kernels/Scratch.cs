namespace Nabla.Kernels;

/// <summary>
/// Per-thread scratch arrays that a kernel keeps from call to call, as Gemm keeps its packing buffers. ArrayPool.Shared
/// would do the same until a collection trims its per-thread arrays, after which a warm training step allocates
/// again; a slot only grows. Each use site has its own [ThreadStatic] slot, never used by two calls at once.
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
