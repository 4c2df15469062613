using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Nabla.IO;

namespace Nabla.Tests;

/// <summary>
/// The CLI's one rule, case by case through the real entry point: a user's mistake gets one line naming the input,
/// exit 2 and nothing written; an environment failure gets one line and exit 1; no case reaches "internal error" (70)
/// or prints a stack trace; earlier run folders stay byte-identical.
/// </summary>
public class ReliabilityTests
{
    // ---- scaffolding ---------------------------------------------------------------------------------------

    internal sealed class Scratch : IDisposable
    {
        public string Root { get; } = Directory.CreateTempSubdirectory("nabla-rel-").FullName;
        public string P(params string[] parts) => Path.Combine([Root, .. parts]);
        public string Dir(params string[] parts) => Directory.CreateDirectory(P(parts)).FullName;
        public string File(string name, byte[] bytes)
        {
            string path = P(name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            System.IO.File.WriteAllBytes(path, bytes);
            return path;
        }
        public string Text(string name, string text) => File(name, System.Text.Encoding.UTF8.GetBytes(text));
        public void Dispose()
        {
            try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Every file under a folder with its SHA-256, to prove it untouched.</summary>
    internal static Dictionary<string, string> Snapshot(string dir) =>
        !Directory.Exists(dir) ? [] : Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(SHA256.HashData(System.IO.File.ReadAllBytes(f))));

    internal static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    /// <summary>Asserts one refusal: the code, one line naming what is wrong, no stack trace, never the bug path.</summary>
    internal static string AssertOneLine(int expected, (int Code, string Out, string Err) r, params string[] fragments)
    {
        Assert.True(r.Code == expected, $"exit {r.Code}, expected {expected}; stderr: {r.Err}");
        string err = r.Err.Trim();
        Assert.DoesNotContain('\n', err);
        Assert.DoesNotContain("internal error", err);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.DoesNotContain("   at ", r.Out);
        Assert.True(err.Length <= Nabla.Cli.Program.MaxMessage + 60, $"a {err.Length}-character line");
        foreach (var f in fragments) Assert.Contains(f, err);
        return err;
    }

    static string Csv(Scratch s, string name = "t.csv") =>
        s.File(name, System.IO.File.ReadAllBytes(Path.Combine(Fixtures.Dir, "cli_train.csv")));

    /// <summary>A finished two-epoch run on the fixture CSV (mlp:8, no validation): the folder later cases must not touch.</summary>
    static string FinishedRun(Scratch s, string name = "run", string seed = "0")
    {
        string csv = System.IO.File.Exists(s.P("t.csv")) ? s.P("t.csv") : Csv(s);
        string dir = s.P(name);
        var r = Run("train", "--data", csv, "--label", "y", "--model", "mlp:8", "--epochs", "2", "--validation", "none", "--schedule", "none",
            "--seed", seed, "--out", dir);
        Assert.True(r.Code == 0, r.Err);
        return dir;
    }

    /// <summary>
    /// A run killed after its last checkpoint but before its final files: what --resume is for. (A finished run is not
    /// resumed: it has metrics.json.)
    /// </summary>
    static string InterruptedRun(Scratch s, string name = "run", string seed = "0")
    {
        string dir = FinishedRun(s, name, seed);
        foreach (var f in new[] { "metrics.json", "model.safetensors", "curves.png", "confusion.png" })
            System.IO.File.Delete(Path.Combine(dir, f));
        return dir;
    }

    /// <summary>A class folder of tiny PNGs, two classes, with one more file <paramref name="bad"/> in class "b".</summary>
    static string ImageFolder(Scratch s, string name, string? badName = null, byte[]? bad = null)
    {
        string root = s.Dir(name);
        foreach (var c in new[] { "a", "b" })
            for (int i = 0; i < 3; i++) s.File(Path.Combine(name, c, $"{i}.png"), ImagingTests.Png(12 + i, 10));
        if (badName is not null) s.File(Path.Combine(name, "b", badName), bad!);
        return root;
    }

    // ---- 1. image folders, through every command that loads data -------------------------------------------

    public static TheoryData<string, string> ImageCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var folder in new[] { "corrupt-png", "zero-bytes", "text-named-png", "truncated-jpeg", "empty-folder", "empty-class", "huge-header" })
            foreach (var command in new[] { "train", "evaluate", "split", "validate", "augment" })
                data.Add(folder, command);
        return data;
    }

    [Theory]
    [MemberData(nameof(ImageCases))]
    public void Hostile_image_folders_are_one_line_and_exit_2_in_every_command(string folder, string command)
    {
        using var s = new Scratch();
        var (root, fragment) = folder switch
        {
            "corrupt-png" => (ImageFolder(s, "img", "bad.png", [.. ImagingTests.Png(8, 8).Take(40), .. new byte[200]]), "bad.png"),
            "zero-bytes" => (ImageFolder(s, "img", "zero.png", []), "zero.png"),
            "text-named-png" => (ImageFolder(s, "img", "notes.png", "hello, not an image\n"u8.ToArray()), "notes.png"),
            "truncated-jpeg" => (ImageFolder(s, "img", "cut.jpg", ImagingTests.Jpeg(64, 48)[..400]), "cut.jpg"),
            "empty-folder" => (s.Dir("img"), "no class sub-folders"),
            "empty-class" => (EmptyClass(s), "has no PNG or JPEG"),
            _ => (ImageFolder(s, "img", "huge.png", ImagingTests.PngHeader(100_000, 100_000)), "over the limit"),
        };
        string weights = s.File("w.safetensors", [1, 2, 3]);
        string outDir = s.P("out");
        string[] args = command switch
        {
            "train" => ["train", "--data", root, "--model", "mlp:4", "--epochs", "1", "--out", outDir],
            "evaluate" => ["evaluate", "--model", weights, "--arch", "mlp:4", "--data", root],
            "split" => ["split", "--data", root, "--scheme", "kfold:2", "--json"],
            "validate" => ["validate", "--data", root, "--scheme", "kfold:2", "--epochs", "1", "--model", "mlp:4", "--out", outDir],
            _ => ["augment", "--data", root, "--augment", "hflip", "--out", Path.Combine(outDir, "grid.png")],
        };
        AssertOneLine(2, Run(args), fragment);
        Assert.False(Directory.Exists(outDir));
    }

    static string EmptyClass(Scratch s)
    {
        string root = ImageFolder(s, "img");
        s.Dir("img", "c");
        return root;
    }

    // ---- 2. train/ and test/ classes are matched by name ---------------------------------------------------

    [Fact]
    public void Test_classes_are_matched_by_name_and_an_unknown_one_is_refused()
    {
        using var s = new Scratch();
        foreach (var (part, classes) in new[] { ("train", new[] { "cat", "dog" }), ("test", new[] { "bird", "cat" }) })
            foreach (var c in classes)
                for (int i = 0; i < 4; i++) s.File(Path.Combine("img", part, c, $"{i}.png"), ImagingTests.Png(10 + i, 10));
        string outDir = s.P("out");
        AssertOneLine(2, Run("train", "--data", s.P("img"), "--model", "mlp:4", "--epochs", "1", "--image-size", "8", "--out", outDir), "'bird'");
        Assert.False(Directory.Exists(outDir));

        // A test folder with fewer classes scores against the training classes, by name.
        Directory.Delete(s.P("img", "test", "bird"), recursive: true);
        var r = Run("train", "--data", s.P("img"), "--model", "mlp:4", "--epochs", "1", "--image-size", "8", "--validation", "none", "--out", outDir, "--json");
        Assert.True(r.Code == 0, r.Err);
        var metrics = JsonDocument.Parse(r.Out).RootElement;
        Assert.Equal(["cat", "dog"], metrics.GetProperty("dataset").GetProperty("classes").EnumerateArray().Select(e => e.GetString()));
        var confusion = metrics.GetProperty("confusion");
        Assert.Equal(4, confusion[0].EnumerateArray().Sum(e => e.GetInt32()));   // the 4 cats are row 0 (cat)
        Assert.Equal(0, confusion[1].EnumerateArray().Sum(e => e.GetInt32()));   // no dog in the test folder
    }

    // ---- 3. output paths ---------------------------------------------------------------------------------

    [Fact]
    public void Out_naming_an_existing_file_is_refused_and_the_file_kept()
    {
        using var s = new Scratch();
        string file = s.Text("notes.txt", "mine");
        AssertOneLine(2, Run("train", "--model", "mlp:4", "--epochs", "1", "--out", file), "is a file");
        Assert.Equal("mine", System.IO.File.ReadAllText(file));
    }

    [Fact]
    public void Out_under_proc_is_an_environment_failure()
    {
        if (!OperatingSystem.IsLinux()) return;
        AssertOneLine(1, Run("train", "--model", "mlp:4", "--epochs", "1", "--out", "/proc/nabla-cannot-be-here"), "/proc/nabla-cannot-be-here");
    }

    [Fact]
    public void Augment_never_replaces_a_device_or_a_folder()
    {
        if (System.IO.File.Exists("/dev/full"))
        {
            AssertOneLine(1, Run("augment", "--augment", "hflip", "--count", "2", "--out", "/dev/full"), "/dev/full", "a device");
            Assert.Equal("a device", AtomicFile.Describe("/dev/full"));
        }
        using var s = new Scratch();
        string dir = s.Dir("grid.png");
        AssertOneLine(2, Run("augment", "--augment", "hflip", "--count", "2", "--out", dir), "is a folder");
        Assert.True(Directory.Exists(dir));
        // A regular file the user names may be replaced.
        string png = s.Text("old.png", "not yet");
        Assert.Equal(0, Run("augment", "--augment", "hflip", "--count", "2", "--out", png).Code);
        Assert.Equal(0x89, System.IO.File.ReadAllBytes(png)[0]);
    }

    [Fact]
    public void A_full_disk_is_an_environment_failure_and_leaves_no_temporary_file()
    {
        using var s = new Scratch();
        string outDir = s.P("out");
        AtomicFile.OpenOverride = _ => throw new IOException("No space left on device");
        try
        {
            AssertOneLine(1, Run("train", "--model", "mlp:4", "--epochs", "1", "--out", outDir), "No space left on device");
        }
        finally
        {
            AtomicFile.OpenOverride = null;
        }
        Assert.DoesNotContain(Directory.EnumerateFiles(outDir), f => f.Contains(".tmp-", StringComparison.Ordinal));
    }

    [Fact]
    public void An_out_folder_deleted_while_training_stops_with_one_line_naming_it()
    {
        using var s = new Scratch();
        string outDir = s.P("out");
        AtomicFile.OpenOverride = temp =>
        {
            // The first weights written after an epoch: the user deletes the folder just then.
            if (Path.GetFileName(temp).StartsWith("last.safetensors", StringComparison.Ordinal)) Directory.Delete(outDir, recursive: true);
            return new FileStream(temp, FileMode.CreateNew, FileAccess.Write);
        };
        try
        {
            AssertOneLine(1, Run("train", "--model", "mlp:4", "--epochs", "2", "--out", outDir), outDir, "vanished");
        }
        finally
        {
            AtomicFile.OpenOverride = null;
        }
    }

    [Fact]
    public void An_unwritable_out_folder_is_an_environment_failure_for_another_user()
    {
        // Root is never denied a write: run the real nabla as nobody (needs root to switch user, and setpriv).
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !System.IO.File.Exists("/usr/bin/setpriv")) return;
        string cli = Path.Combine(AppContext.BaseDirectory, "Nabla.Cli.dll");
        string dotnet = Process.GetCurrentProcess().MainModule?.FileName ?? "dotnet";
        if (!Path.GetFileName(dotnet).StartsWith("dotnet", StringComparison.Ordinal)) dotnet = "/usr/bin/dotnet";
        string locked = Directory.CreateTempSubdirectory("nabla-locked-").FullName;
        try
        {
            System.IO.File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            var psi = new ProcessStartInfo("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", dotnet, cli,
                "train", "--model", "mlp:4", "--epochs", "1", "--out", Path.Combine(locked, "run")])
            {
                RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/tmp",
            };
            psi.Environment["DOTNET_CLI_HOME"] = "/tmp";
            psi.Environment["HOME"] = "/tmp";
            psi.Environment["NABLA_CACHE_DIR"] = "none";
            using var p = Process.Start(psi)!;
            string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
            Assert.True(p.WaitForExit(120_000));
            // Some sandboxes deny nobody the test's own files: that is no verdict on nabla.
            if (stderr.Contains("Nabla.Cli.dll", StringComparison.Ordinal) && p.ExitCode != 1) return;
            AssertOneLine(1, (p.ExitCode, stdout, stderr), Path.Combine(locked, "run"));
            Assert.Empty(Directory.EnumerateFileSystemEntries(locked));
        }
        finally
        {
            Directory.Delete(locked, recursive: true);
        }
    }

    // ---- 4 and 5. resume and run folders -----------------------------------------------------------------

    public static TheoryData<string> ResumeCases() =>
    [
        "truncated-checkpoint", "empty-checkpoint", "another-runs-checkpoint", "model-as-checkpoint", "no-checkpoint", "no-config",
        "batch_size 0", "negative lr", "negative epochs", "dropout 5", "unknown optimizer", "malformed augment", "unknown key",
        "threads 0", "not json", "a json array", "a string for a number", "a valid edit of the config", "a finished run",
    ];

    [Theory]
    [MemberData(nameof(ResumeCases))]
    public void Resume_refuses_what_is_not_its_own_run_and_leaves_the_folder_as_it_was(string tamper)
    {
        using var s = new Scratch();
        string run = tamper == "a finished run" ? FinishedRun(s) : InterruptedRun(s);
        string cfg = Path.Combine(run, "config.json"), ckpt = Path.Combine(run, "checkpoint.safetensors");
        string Edit(string from, string to)
        {
            string text = System.IO.File.ReadAllText(cfg);
            Assert.Contains(from, text);
            System.IO.File.WriteAllText(cfg, text.Replace(from, to, StringComparison.Ordinal));
            return "";
        }
        string fragment = tamper switch
        {
            "truncated-checkpoint" => Truncate(ckpt),
            "empty-checkpoint" => Empty(ckpt),
            "another-runs-checkpoint" => Copy(Path.Combine(FinishedRun(s, "other", seed: "5"), "checkpoint.safetensors"), ckpt, "other settings"),
            "model-as-checkpoint" => Copy(Path.Combine(run, "last.safetensors"), ckpt, "no training state"),
            "a finished run" => "finished",
            "no-checkpoint" => Delete(ckpt, "no checkpoint.safetensors"),
            "no-config" => Delete(cfg, "no config.json"),
            "batch_size 0" => Edit("\"batch_size\": 128", "\"batch_size\": 0") + "\"batch_size\": --batch-size: 0 is out of range",
            "negative lr" => Edit("\"lr\": 0.001", "\"lr\": -1") + "\"lr\": --lr",
            "negative epochs" => Edit("\"epochs\": 2", "\"epochs\": -3") + "\"epochs\": --epochs",
            "dropout 5" => Edit("\"dropout\": 0,", "\"dropout\": 5,") + "\"dropout\": --dropout",
            "unknown optimizer" => Edit("\"optimizer\": \"adam\"", "\"optimizer\": \"lion\"") + "\"optimizer\": --optimizer: 'lion'",
            "malformed augment" => Edit("\"adversarial\"", "\"augment\": \"twirl:3\", \"adversarial\"") + "\"augment\": --augment",
            "unknown key" => Edit("\"seed\"", "\"speed\": 1, \"seed\"") + "\"speed\": unknown setting",
            "threads 0" => Edit("\"threads\": ", "\"threads\": 0, \"x\": ") + "\"threads\"",
            "not json" => Write(cfg, "{ this is not json", "not a run configuration"),
            "a json array" => Write(cfg, "[1, 2]", "expected a JSON object"),
            "a string for a number" => Edit("\"epochs\": 2", "\"epochs\": \"two\"") + "\"epochs\"",
            _ => EditValid(cfg),
        };
        var before = Snapshot(run);
        var r = Run("train", "--resume", run);
        AssertOneLine(2, r, fragment);
        Assert.Equal(before, Snapshot(run));
    }

    static string Truncate(string path)
    {
        var bytes = System.IO.File.ReadAllBytes(path);
        System.IO.File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        return "checkpoint.safetensors is not a readable checkpoint";
    }

    static string Empty(string path)
    {
        System.IO.File.WriteAllBytes(path, []);
        return "checkpoint.safetensors is not a readable checkpoint";
    }

    static string Copy(string from, string to, string fragment)
    {
        System.IO.File.Copy(from, to, overwrite: true);
        return fragment;
    }

    static string Delete(string path, string fragment)
    {
        System.IO.File.Delete(path);
        return fragment;
    }

    static string Write(string path, string text, string fragment)
    {
        System.IO.File.WriteAllText(path, text);
        return fragment;
    }

    // A config edited by hand to another valid setting is another run: the digest tells, even with valid values.
    static string EditValid(string cfg)
    {
        System.IO.File.WriteAllText(cfg, System.IO.File.ReadAllText(cfg).Replace("\"lr\": 0.001", "\"lr\": 0.002", StringComparison.Ordinal));
        return "other settings";
    }

    [Fact]
    public void A_new_run_into_a_used_folder_is_refused_unless_overwrite_which_replaces_it()
    {
        using var s = new Scratch();
        string run = FinishedRun(s);
        var before = Snapshot(run);
        AssertOneLine(2, Run("train", "--model", "mlp:4", "--epochs", "1", "--out", run), "holds an earlier run", $"--resume {run}", "--overwrite");
        AssertOneLine(2, Run("validate", "--scheme", "kfold:2", "--epochs", "1", "--model", "mlp:4", "--out", run), "holds an earlier run");
        Assert.Equal(before, Snapshot(run));

        // --overwrite deletes the run's own files first: nothing of the old run survives to be mixed in.
        s.Text(Path.Combine("run", "my-notes.txt"), "kept");
        s.File(Path.Combine("run", "model.safetensors.tmp-0123456789abcdef"), [1, 2]);
        var r = Run("train", "--model", "mlp:4", "--epochs", "1", "--validation", "none", "--early-stopping", "none", "--out", run, "--overwrite");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal("kept", System.IO.File.ReadAllText(Path.Combine(run, "my-notes.txt")));
        Assert.False(System.IO.File.Exists(Path.Combine(run, "model.safetensors.tmp-0123456789abcdef")));
        Assert.False(System.IO.File.Exists(Path.Combine(run, "best.safetensors")) && before.ContainsKey("best.safetensors")
            && Snapshot(run)["best.safetensors"] == before["best.safetensors"]);
        using var doc = JsonDocument.Parse(System.IO.File.ReadAllText(Path.Combine(run, "config.json")));
        Assert.Equal("mlp:4", doc.RootElement.GetProperty("model").GetString());
        Assert.Equal("embedded", doc.RootElement.GetProperty("data").GetString());
    }

    [Fact]
    public void Resume_removes_temporary_files_a_kill_left_and_continues()
    {
        using var s = new Scratch();
        string run = InterruptedRun(s);
        string[] stale =
        [
            Path.Combine(run, "last.safetensors.tmp-00112233aabbccdd"), Path.Combine(run, "metrics.json.tmp-4242"),   // today's and 0.1's names
            Path.Combine(run, ".curves.png.0123456789abcdef0123456789abcdef.tmp"),
        ];
        foreach (var f in stale) System.IO.File.WriteAllBytes(f, [1, 2, 3]);
        var r = Run("train", "--resume", run);
        Assert.True(r.Code == 0, r.Err);
        Assert.All(stale, f => Assert.False(System.IO.File.Exists(f)));
        Assert.True(System.IO.File.Exists(Path.Combine(run, "metrics.json")));
    }

    // ---- 6 and 7. combinations and nonsense, refused before anything is written --------------------------

    public static TheoryData<string> NonsenseCases() =>
    [
        "regression on images", "augment on a csv", "cnn on a csv", "an mlp too large for the machine", "a grid model too large",
        "one class", "label with embedded data", "image size with embedded data", "grayscale with embedded data", "a repeated option",
        "evaluate task foo", "nan weights to evaluate", "nan weights to init", "betas for sgd", "alpha for adam", "momentum for adam",
        "warmup with step", "noise on a resnet", "dropconnect on a resnet", "shuffle false with bootstrap", "grid axis data",
        "grid axis unknown", "test file for embedded", "class weights count", "label smoothing for regression", "instance norm on an mlp",
        "an empty option value", "help after a value option", "a hostile init file with 200,000 tensors", "a residual net too deep",
        "a config that is not json", "evaluate a run as another task", "folds whose inner holdout cannot be stratified",
        "a lab too deep", "crop padding beyond any image", "an ensemble in validate", "a normalize grid axis",
    ];

    [Theory]
    [MemberData(nameof(NonsenseCases))]
    public void Nonsense_is_refused_with_one_line_and_nothing_written(string name)
    {
        using var s = new Scratch();
        string csv = Csv(s);
        string outDir = s.P("out");
        string[] train = ["train", "--epochs", "1", "--out", outDir];
        var (args, fragment) = name switch
        {
            "regression on images" => ((string[])[.. train, "--task", "regression"], "--task regression"),
            "augment on a csv" => ([.. train, "--data", csv, "--label", "y", "--augment", "hflip"], "need images"),
            "cnn on a csv" => ([.. train, "--data", csv, "--label", "y", "--model", "cnn"], "needs image data"),
            "an mlp too large for the machine" => ([.. train, "--model", "mlp:20000000"], "needs about"),
            "a grid model too large" => (["search", "--scheme", "kfold:2", "--epochs", "1", "--grid", "model=mlp:99999999", "--out", outDir], "needs about"),
            "one class" => ([.. train, "--data", s.Text("one.csv", "a,b,y\n1,2,x\n3,4,x\n5,6,x\n7,8,x\n9,1,x\n"), "--label", "y"], "one class"),
            "label with embedded data" => ([.. train, "--label", "y"], "--label applies to CSV data"),
            "image size with embedded data" => ([.. train, "--image-size", "16"], "--image-size applies to an image folder"),
            "grayscale with embedded data" => ([.. train, "--grayscale"], "--grayscale applies to an image folder"),
            "a repeated option" => ([.. train, "--lr", "0.1", "--lr", "0.2"], "--lr is given twice"),
            "evaluate task foo" => (["evaluate", "--model", csv, "--arch", "mlp:8", "--task", "foo"], "--task: 'foo'"),
            "nan weights to evaluate" => (["evaluate", "--model", NanWeights(s), "--arch", "mlp:8", "--data", csv, "--label", "y"], "NaN"),
            "nan weights to init" => ([.. train, "--data", csv, "--label", "y", "--model", "mlp:8", "--init", NanWeights(s)], "NaN"),
            "betas for sgd" => ([.. train, "--optimizer", "sgd", "--betas", "0.9,0.99"], "--betas"),
            "alpha for adam" => ([.. train, "--alpha", "0.9"], "--alpha"),
            "momentum for adam" => ([.. train, "--momentum", "0.9"], "adam has no momentum"),
            "warmup with step" => ([.. train, "--schedule", "step:2:0.5", "--warmup", "1"], "--warmup"),
            "noise on a resnet" => ([.. train, "--model", "resnet:8", "--noise", "0.1"], "--noise"),
            "dropconnect on a resnet" => ([.. train, "--model", "resnet:8", "--dropconnect", "0.1"], "--dropconnect"),
            "shuffle false with bootstrap" => (["split", "--scheme", "bootstrap:3", "--shuffle", "false"], "random by nature"),
            "grid axis data" => (["search", "--scheme", "kfold:2", "--grid", "data=embedded", "--out", outDir], "names a file or a resource"),
            "grid axis unknown" => (["search", "--scheme", "kfold:2", "--grid", "speed=1,2", "--out", outDir], "'speed' is not an option"),
            "test file for embedded" => ([.. train, "--test", csv], "--test FILE applies"),
            "class weights count" => ([.. train, "--class-weights", "1,2"], "2 weights for 10 classes"),
            "label smoothing for regression" => ([.. train, "--data", csv, "--label", "y", "--task", "regression", "--label-smoothing", "0.1"], "--label-smoothing"),
            "instance norm on an mlp" => ([.. train, "--norm", "instance"], "--norm"),
            "an empty option value" => ([.. train, "--data", ""], "--data"),
            "help after a value option" => ([.. train, "--model", "-h"], "--model needs a value"),
            "a residual net too deep" => ([.. train, "--model", "resnet:99999998"], "deeper than"),
            "a config that is not json" => ([.. train, "--config", csv], "not valid JSON at line 1"),
            "evaluate a run as another task" => (["evaluate", "--model", FinishedRun(s), "--task", "regression"], "trained for classification"),
            "folds whose inner holdout cannot be stratified" =>
                (["validate", "--data", TenClasses(s), "--label", "y", "--scheme", "kfold:10", "--epochs", "1", "--out", outDir], "inner holdout"),
            "a lab too deep" => (["lab", "degradation", "--depths", "1999999994", "--out", outDir], "--depths"),
            "crop padding beyond any image" => ([.. train, "--augment", "crop:100000"], "1024"),
            "an ensemble in validate" => (["validate", "--scheme", "kfold:2", "--ensemble", "2", "--out", outDir], "--ensemble"),
            "a normalize grid axis" => (["search", "--scheme", "kfold:2", "--grid", "normalize=true,false", "--out", outDir], "changes the data"),
            _ => ([.. train, "--init", HostileSafetensors(s)], "--init"),
        };
        AssertOneLine(2, Run(args), fragment);
        Assert.False(Directory.Exists(outDir));
    }

    // 100 rows, 10 classes: 10-fold leaves 90, whose 10% inner holdout has 9 rows for 10 classes.
    static string TenClasses(Scratch s)
    {
        var lines = new List<string> { "a,b,y" };
        for (int i = 0; i < 100; i++) lines.Add($"{i % 7},{i % 3},{i % 10}");
        return s.Text("ten.csv", string.Join("\n", lines));
    }

    [Fact]
    public void A_schedule_longer_than_a_step_counter_is_refused()
    {
        // Full Fashion-MNIST, batch 1, 100,000 epochs: 5.4 billion steps, past int.
        var config = new Nabla.Cli.RunConfig { Epochs = 100_000, Warmup = 40_000, Lr = 0.1 };
        var optimizer = new Optim.SGD(Models.FromSpec("mlp:2", 4, 2, new Generator(0)).Parameters(), 0.1);
        var e = Assert.Throws<Nabla.Cli.UsageException>(() => Nabla.Cli.TrainCommand.BuildSchedule(config, optimizer, 54_000));
        Assert.Contains("more than a schedule counts", e.Message);
    }

    static string NanWeights(Scratch s)
    {
        var model = Models.FromSpec("mlp:8", 5, 3, new Generator(0));
        using (Nabla.Autograd.GradMode.NoGrad()) model.Parameters().First().FillInPlace(float.NaN);
        string path = s.P("nan.safetensors");
        model.Save(path);
        return path;
    }

    // A header naming 200,000 tensors (the whole list once made a 10.9 MB error line): the error must stay one short line.
    static string HostileSafetensors(Scratch s)
    {
        var sb = new System.Text.StringBuilder("{");
        for (int i = 0; i < 200_000; i++) sb.Append(i == 0 ? "" : ",").Append("\"t").Append(i).Append("\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}");
        sb.Append('}');
        var header = System.Text.Encoding.UTF8.GetBytes(sb.ToString());
        var bytes = new byte[8 + header.Length + 4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        return s.File("hostile.safetensors", bytes);
    }

    // ---- 8. the smaller promises -------------------------------------------------------------------------

    [Fact]
    public void Json_output_keeps_every_value_as_it_is()
    {
        using var s = new Scratch();
        string csv = Csv(s, "my  table.csv");
        var r = Run("train", "--data", csv, "--label", "y", "--model", "mlp:4", "--epochs", "1", "--out", s.P("out"), "--json");
        Assert.True(r.Code == 0, r.Err);
        Assert.Single(r.Out.Trim().Split('\n'));
        Assert.Equal(csv, JsonDocument.Parse(r.Out).RootElement.GetProperty("config").GetProperty("data").GetString());
    }

    [Fact]
    public void A_diverging_run_says_so_on_stderr_and_keeps_its_last_good_checkpoint()
    {
        using var s = new Scratch();
        var lines = new List<string> { "a,b,y" };
        for (int i = 0; i < 40; i++) lines.Add($"{(i % 2 == 0 ? 3e18 : -3e18)},{i},{i % 2}");
        string csv = s.Text("big.csv", string.Join("\n", lines));
        var r = Run("train", "--data", csv, "--label", "y", "--model", "mlp:4", "--epochs", "3", "--optimizer", "sgd", "--lr", "10", "--out", s.P("out"));
        Assert.Equal(1, r.Code);
        Assert.Contains("The loss became", r.Err);
        Assert.DoesNotContain("The loss became", r.Out);
    }

    [Fact]
    public void The_main_jobs_output_folder_is_ignored_by_git()
    {
        string root = Path.GetDirectoryName(Path.GetDirectoryName(Fixtures.Dir))!;
        Assert.Contains(System.IO.File.ReadAllLines(Path.Combine(root, ".gitignore")), l => l.Trim() is "runs/" or "/runs/" or "runs");
    }
}
