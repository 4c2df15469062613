using System.Buffers;
using System.Collections.Concurrent;
using System.IO.MemoryMappedFiles;

namespace Nabla.Data;

/// <summary>
/// Read-only memory maps of files that Nabla itself wrote and never changes in place (the IDX cache). A mapping
/// stays open for the life of the process, so memory over it never has to be disposed and a span taken from it
/// can never outlive it; mapping the same file again returns the same memory.
/// </summary>
internal static class MappedFiles
{
    private static readonly ConcurrentDictionary<(string Path, long Length, DateTime Written), Lazy<Mapping>> Open = new();

    /// <summary>The whole file as read-only memory (pages are read from the page cache on first touch).</summary>
    /// <exception cref="IOException">the file cannot be mapped; <see cref="ArgumentException"/> when it is empty or over 2 GiB.</exception>
    public static ReadOnlyMemory<byte> Map(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"MappedFiles.Map: '{path}' does not exist.", path);
        if (info.Length is 0 or > int.MaxValue)
            throw new ArgumentException($"MappedFiles.Map: '{path}' is {info.Length} bytes; only files of 1 byte to 2 GiB are mapped.", nameof(path));
        var key = (info.FullName, info.Length, info.LastWriteTimeUtc);
        var lazy = Open.GetOrAdd(key, k => new Lazy<Mapping>(() => new Mapping(k.Path, (int)k.Length)));
        try
        {
            return lazy.Value.Memory;
        }
        catch
        {
            Open.TryRemove(new KeyValuePair<(string, long, DateTime), Lazy<Mapping>>(key, lazy));   // retry on the next call
            throw;
        }
    }

    private sealed unsafe class Mapping : MemoryManager<byte>
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;
        private readonly byte* _pointer;
        private readonly int _length;

        public Mapping(string path, int length)
        {
            _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            _view = _file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);   // released never: the mapping lives as long as the process
            _pointer = p + _view.PointerOffset;
            _length = length;
        }

        public override Span<byte> GetSpan() => new(_pointer, _length);

        public override MemoryHandle Pin(int elementIndex = 0) =>
            (uint)elementIndex <= (uint)_length ? new MemoryHandle(_pointer + elementIndex) : throw new ArgumentOutOfRangeException(nameof(elementIndex));

        public override void Unpin() { }

        protected override void Dispose(bool disposing) { }   // never unmapped: see the class comment
    }
}
