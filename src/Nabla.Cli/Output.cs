using Nabla.IO;

namespace Nabla.Cli;

/// <summary>
/// Where results go. A run folder belongs to one run: a new run into a folder holding another run's files is refused
/// unless --overwrite deletes them first; a file the user names is replaced only when it is a regular file. Every
/// check happens before anything is written, so a refusal (exit 2) leaves the disk as it was; a folder that cannot be
/// created or written (permissions, /proc, a full disk) is the environment's failure (exit 1).
/// </summary>
internal static class Output
{
    /// <summary>What nabla writes into a run folder: finding any of them means the folder holds an earlier run.</summary>
    public static readonly string[] RunFiles =
    [
        "config.json", "checkpoint.safetensors", "model.safetensors", "metrics.json", "last.safetensors", "best.safetensors",
        "curves.png", "confusion.png", "cv.json", "cv.png", "search.json", "degradation.json", "degradation.png",
        "generator.safetensors", "losses.png", "model.onnx", "model.json", "classifier.safetensors", "encoder.safetensors", "decoder.safetensors", "preview.png", "styles.safetensors",
        "report.md", "report.html", "report.json",
    ];

    /// <summary>
    /// The default --out of a new run: runs/PREFIX&lt;timestamp&gt;, with -2, -3 … appended when a run started in the same
    /// second holds that name, so two runs never share a folder.
    /// </summary>
    public static string NewRunFolder(string prefix = "")
    {
        string stem = Path.Combine("runs", prefix + DateTime.Now.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture));
        string dir = stem;
        for (int i = 2; Directory.Exists(dir) || File.Exists(dir); i++) dir = $"{stem}-{i}";
        return dir;
    }

    /// <summary>Readies --out DIR for a new run; call it after every other check. <paramref name="alsoEarlier"/> names more files (in DIR) that an earlier run of the command wrote.</summary>
    public static void PrepareRunFolder(string dir, bool overwrite, IEnumerable<string>? alsoEarlier = null)
    {
        CheckFolderTarget(dir);
        var earlier = EarlierRun(dir);
        if (alsoEarlier is not null && Directory.Exists(dir))
            earlier.AddRange(alsoEarlier.Select(f => Path.Combine(dir, f)).Where(File.Exists));
        if (earlier.Count > 0 && !overwrite)
            throw new UsageException($"--out {dir} holds an earlier run ({string.Join(", ", earlier.Take(4).Select(Path.GetFileName))}{(earlier.Count > 4 ? ", …" : "")}): " +
                $"continue it with --resume {dir}, choose another --out, or add --overwrite to replace it.");
        CreateFolder(dir);
        foreach (var path in earlier)
            Environmental(() =>
            {
                if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
                else File.Delete(path);
            }, $"cannot delete the earlier run's {path}");
        AtomicFile.RemoveStaleTemporaries(dir);
        Probe(dir);
    }

    /// <summary>Readies a run folder that is being resumed: it must still be writable; stale temporary files go.</summary>
    public static void PrepareResumeFolder(string dir)
    {
        AtomicFile.RemoveStaleTemporaries(dir);
        Probe(dir);
    }

    /// <summary>
    /// --tensorboard DIR: refused (exit 2, before anything is written) when DIR is a file; the run's event files go
    /// into DIR/RUN (RUN = the --out folder's name), so that runs sharing DIR stay apart in TensorBoard.
    /// </summary>
    public static string? BoardFolder(string? dir, string outDir)
    {
        if (dir is null) return null;
        CheckFolderTarget(dir, "--tensorboard");
        return Path.Combine(dir, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(outDir))));
    }

    /// <summary>
    /// Writes a single output file the user names (after <see cref="PrepareFile"/>'s checks, only once the input was
    /// accepted), atomically; a failure of the disk is one line naming the option (exit 1).
    /// </summary>
    public static void WriteFile(string path, ReadOnlySpan<byte> bytes, string option)
    {
        PrepareFile(path, option);
        try
        {
            IO.AtomicFile.Write(path, bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnvironmentException($"{option} {path}: cannot be written ({e.Message}).", e);
        }
    }

    /// <summary>Checks a single output file the user names (e.g. augment --out grid.png) and readies its folder.</summary>
    public static void PrepareFile(string path, string option = "--out")
    {
        if (Directory.Exists(path)) throw new UsageException($"{option} {path} is a folder; name the file to write.");
        if (AtomicFile.Describe(path) is { } what)
            throw new EnvironmentException($"{option} {path} is {what}, not a regular file; refusing to replace it.");
        string folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        CheckFolderTarget(folder, option);
        CreateFolder(folder, option);
        Probe(folder, option);
    }

    /// <summary>The earlier run's files in <paramref name="dir"/>: nabla's own file names and member-N folders.</summary>
    public static List<string> EarlierRun(string dir)
    {
        var found = new List<string>();
        if (!Directory.Exists(dir)) return found;
        foreach (var f in RunFiles)
            if (File.Exists(Path.Combine(dir, f))) found.Add(Path.Combine(dir, f));
        foreach (var d in Directory.EnumerateDirectories(dir, "member-*"))
            if (int.TryParse(Path.GetFileName(d)["member-".Length..], out _)) found.Add(d);
        return found;
    }

    private static void CheckFolderTarget(string dir, string option = "--out")
    {
        if (Directory.Exists(dir)) return;
        if (File.Exists(dir) || new FileInfo(dir).LinkTarget is not null)
        {
            if (AtomicFile.Describe(dir) is { } what and not "a folder")
                throw new EnvironmentException($"{option} {dir} is {what}, not a folder.");
            throw new UsageException($"{option} {dir} is a file; results are written into a folder.");
        }
    }

    private static void CreateFolder(string dir, string option = "--out") =>
        Environmental(() => Directory.CreateDirectory(dir), $"{option} {dir}: cannot create the folder");

    // Root bypasses permissions and /proc accepts some creations: a real write is the only test that tells.
    private static void Probe(string dir, string option = "--out")
    {
        string probe = Path.Combine(dir, ".nabla-write-test-" + Guid.NewGuid().ToString("N")[..8]);
        Environmental(() =>
        {
            using (var f = new FileStream(probe, FileMode.CreateNew, FileAccess.Write)) f.WriteByte(0);
            File.Delete(probe);
        }, $"{option} {dir}: cannot write into the folder");
    }

    private static void Environmental(Action action, string what)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnvironmentException($"{what} ({e.Message}).", e);
        }
    }
}
