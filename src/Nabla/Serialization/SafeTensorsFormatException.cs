namespace Nabla.Serialization;

/// <summary>
/// A safetensors file (or byte buffer) is malformed or uses a feature Nabla does not read: the message names the
/// problem and, where one is involved, the tensor with its offsets, shape and sizes.
/// </summary>
public sealed class SafeTensorsFormatException : Exception
{
    /// <summary>The tensor the problem concerns, or null when it concerns the file as a whole.</summary>
    public string? TensorName { get; }

    /// <summary>A format error with a generic message.</summary>
    public SafeTensorsFormatException() : base("safetensors: malformed file.") { }

    /// <summary>A format error with a message.</summary>
    public SafeTensorsFormatException(string message) : base(message) { }

    /// <summary>A format error with a message and the exception that revealed it.</summary>
    public SafeTensorsFormatException(string message, Exception? innerException) : base(message, innerException) { }

    internal SafeTensorsFormatException(string message, string? tensorName, Exception? innerException = null)
        : base(message, innerException) => TensorName = tensorName;
}
