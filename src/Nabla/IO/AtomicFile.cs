using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Nabla.IO;

/// <summary>
/// Writes a file so that any reader sees either the old content or the whole new one: the bytes go to a temporary
/// file beside the target (<c>NAME.tmp-XXXXXXXXXXXXXXXX</c>), are flushed to disk, and the temporary file is renamed
/// over the target. Only a missing target or a regular file is ever replaced: a folder, a device (<c>/dev/full</c>),
/// a pipe, a socket or a symbolic link is refused with <see cref="IOException"/>, since renaming over it would
/// replace the node itself. Every file Nabla writes (safetensors, JSON reports, PNGs) goes through here.
/// </summary>
public static partial class AtomicFile
{
    /// <summary>The marker between a target's name and the 16 hex digits of its temporary file.</summary>
    public const string TempMarker = ".tmp-";

    private static readonly AsyncLocal<Func<string, Stream>?> s_openOverride = new();

    /// <summary>Tests replace how a temporary file is opened (e.g. with a stream that fails as a full disk does); per async flow, so tests running beside it are unaffected.</summary>
    internal static Func<string, Stream>? OpenOverride
    {
        get => s_openOverride.Value;
        set => s_openOverride.Value = value;
    }

    /// <summary>Writes <paramref name="path"/> atomically with what <paramref name="write"/> puts into the stream.</summary>
    /// <exception cref="IOException">the target exists and is not a regular file, or the write fails (disk full, folder gone …).</exception>
    /// <exception cref="UnauthorizedAccessException">the folder cannot be written.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string target = Path.GetFullPath(path);
        EnsureReplaceable(target);
        string temp = target + TempMarker + Guid.NewGuid().ToString("N")[..16];
        try
        {
            using (var stream = OpenOverride?.Invoke(temp) ?? new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                if (stream is FileStream file) file.Flush(flushToDisk: true);
                else stream.Flush();
            }
            // Checked again: something may have been put there while the bytes were written.
            EnsureReplaceable(target);
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Writes the bytes to <paramref name="path"/> atomically.</summary>
    /// <exception cref="IOException">as <see cref="Write(string, Action{Stream})"/>.</exception>
    public static void Write(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    /// <summary>Refuses a target that exists and is not a regular file (a folder, device, pipe, socket or link).</summary>
    /// <exception cref="IOException">the target is not a regular file; the message says what it is.</exception>
    public static void EnsureReplaceable(string path)
    {
        if (Describe(path) is { } what)
            throw new IOException($"'{path}' is {what}, not a regular file; refusing to replace it.");
    }

    /// <summary>What <paramref name="path"/> is when it exists and is not a regular file ("a folder", "a device" …); null for a regular or missing file.</summary>
    public static string? Describe(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var info = new FileInfo(path);
        if (info.LinkTarget is not null) return "a symbolic link";
        if (Directory.Exists(path)) return "a folder";
        if (!info.Exists) return null;
        return FileType(path) switch
        {
            Kind.Regular => null,
            // Elsewhere .NET's own check is all there is; on Linux not knowing is reason enough to refuse.
            Kind.Unknown => OperatingSystem.IsLinux() ? "a file whose type cannot be read" : null,
            Kind.CharDevice or Kind.BlockDevice => "a device",
            Kind.Fifo => "a pipe",
            Kind.Socket => "a socket",
            _ => "not a regular file",
        };
    }

    /// <summary>
    /// Deletes the temporary files that an interrupted write left in <paramref name="directory"/> (names ending in
    /// <see cref="TempMarker"/> and 16 hex digits, and the names earlier versions used) and returns how many. Call it
    /// only on a folder no other process is writing into.
    /// </summary>
    public static int RemoveStaleTemporaries(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory)) return 0;
        int removed = 0;
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            if (!StaleName().IsMatch(Path.GetFileName(file))) continue;
            try
            {
                File.Delete(file);
                removed++;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return removed;
    }

    // This writer's names, and those of nabla 0.1's earlier writers (NAME.tmp-PID for JSON, .NAME.GUID.tmp for PNG).
    [GeneratedRegex(@"(\.tmp-[0-9a-f]{16}|\.json\.tmp-[0-9]+|^\..+\.[0-9a-f]{32}\.tmp)$")]
    private static partial Regex StaleName();

    private enum Kind { Unknown, Regular, Directory, CharDevice, BlockDevice, Fifo, Socket, Link }

    // .NET reports devices and pipes as ordinary files, so the type comes from lstat(2)'s st_mode.
    private static unsafe Kind FileType(string path)
    {
        if (!OperatingSystem.IsLinux()) return Kind.Unknown;
        int offset = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 24,     // st_dev, st_ino, st_nlink (8 bytes each), then st_mode
            Architecture.Arm64 => 16,   // st_dev, st_ino, then st_mode
            _ => -1,
        };
        if (offset < 0) return Kind.Unknown;
        byte* buffer = stackalloc byte[256];
        try
        {
            if (LStat(path, buffer) != 0) return Kind.Unknown;
        }
        catch (EntryPointNotFoundException)
        {
            // glibc before 2.33 exports lstat only as __lxstat(version, …): 1 on x86-64, 0 on arm64.
            try
            {
                if (LxStat(RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 1 : 0, path, buffer) != 0) return Kind.Unknown;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return Kind.Unknown;
            }
        }
        catch (DllNotFoundException)
        {
            return Kind.Unknown;
        }
        uint mode = *(uint*)(buffer + offset) & 0xF000;
        return mode switch
        {
            0x8000 => Kind.Regular,
            0x4000 => Kind.Directory,
            0x2000 => Kind.CharDevice,
            0x6000 => Kind.BlockDevice,
            0x1000 => Kind.Fifo,
            0xC000 => Kind.Socket,
            0xA000 => Kind.Link,
            _ => Kind.Unknown,
        };
    }

    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int LStat(string path, byte* buffer);

    [LibraryImport("libc", EntryPoint = "__lxstat", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int LxStat(int version, string path, byte* buffer);
}
