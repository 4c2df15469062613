namespace Nabla;

/// <summary>The device a tensor's storage lives on. Only the CPU exists now; the seam is kept for CUDA.</summary>
public enum Device
{
    /// <summary>Managed memory on the host, computed by <see cref="Backends.CpuBackend"/>.</summary>
    Cpu,
}

/// <summary>
/// A flat buffer of float32 values owned by a backend. Tensors are views (shape, strides, offset) over it;
/// several tensors may share one storage.
/// </summary>
public abstract class Storage
{
    /// <summary>Number of floats in the buffer.</summary>
    public abstract int Length { get; }

    /// <summary>The backend whose kernels read and write this storage.</summary>
    public abstract Backends.IBackend Backend { get; }

    /// <summary>The device the buffer lives on.</summary>
    public Device Device => Backend.Device;

    /// <summary>The buffer, when it is host memory the process can read directly; null for a device buffer.</summary>
    internal virtual float[]? HostArray => null;
}

/// <summary>Host storage: a managed float array.</summary>
public sealed class CpuStorage : Storage
{
    /// <summary>The values, row-major as the viewing tensor's strides say.</summary>
    public float[] Data { get; }

    /// <summary>Wraps an existing array without copying.</summary>
    public CpuStorage(float[] data) => Data = data;

    /// <inheritdoc/>
    public override int Length => Data.Length;

    /// <inheritdoc/>
    public override Backends.IBackend Backend => Backends.CpuBackend.Instance;

    internal override float[]? HostArray => Data;
}
