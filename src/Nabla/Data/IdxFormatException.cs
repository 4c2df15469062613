namespace Nabla.Data;

/// <summary>
/// An IDX file (MNIST, Fashion-MNIST), raw or gzipped, is malformed or uses a feature Nabla does not read: the
/// message names the file, what was expected and what was found.
/// </summary>
public sealed class IdxFormatException : Exception
{
    /// <summary>A format error with a generic message.</summary>
    public IdxFormatException() : base("IDX: malformed file.") { }

    /// <summary>A format error with a message.</summary>
    public IdxFormatException(string message) : base(message) { }

    /// <summary>A format error with a message and the exception that revealed it.</summary>
    public IdxFormatException(string message, Exception? innerException) : base(message, innerException) { }
}
