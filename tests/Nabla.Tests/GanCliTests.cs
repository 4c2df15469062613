using System.Text.Json;

namespace Nabla.Tests;

/// <summary><c>nabla gan train|sample</c> on a tiny folder of generated colour images: files, metrics, resume, refusals.</summary>
public class GanCliTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Nabla.Cli.Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    // Two classes of 12×12 colour images: reddish squares and bluish bars, with noise.
    static string ColourFolder(string root)
    {
        var g = new Generator(4);
        for (int i = 0; i < 48; i++)
        {
            int label = i % 2;
            var img = new float[3 * 12 * 12];
            for (int y = 0; y < 12; y++)
                for (int x = 0; x < 12; x++)
                {
                    bool on = label == 0 ? x is >= 3 and < 9 && y is >= 3 and < 9 : x % 4 < 2;
                    for (int c = 0; c < 3; c++)
                        img[(c * 12 + y) * 12 + x] = Math.Clamp((on ? (label == 0 ? (c == 0 ? 0.9f : 0.2f) : (c == 2 ? 0.9f : 0.3f)) : 0.1f) + 0.05f * (float)g.NextNormal(), 0f, 1f);
                }
            Nabla.Imaging.ImageFolder.SavePng(img, 3, 12, 12, Path.Combine(root, label == 0 ? "squares" : "bars", $"{i}.png"));
        }
        return root;
    }

    [Fact]
    public void Gan_train_writes_its_run_and_resumes_and_sample_draws_a_grid()
    {
        var dir = Directory.CreateTempSubdirectory("nabla-gan");
        try
        {
            string data = ColourFolder(Path.Combine(dir.FullName, "images"));
            string run = Path.Combine(dir.FullName, "run");
            string[] common = ["--data", data, "--image-size", "12", "--width", "8", "--latent", "8", "--batch-size", "16", "--eval-samples", "32",
                "--classifier-epochs", "1", "--seed", "3"];
            var r = Run(["gan", "train", .. common, "--epochs", "2", "--out", run]);
            Assert.True(r.Code == 0, r.Err + r.Out);
            foreach (var f in new[] { "config.json", "generator.safetensors", "checkpoint.safetensors", "metrics.json", "losses.png", "samples-epoch-1.png", "samples-epoch-2.png" })
                Assert.True(File.Exists(Path.Combine(run, f)), f);
            using (var m = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "metrics.json"))))
            {
                var root = m.RootElement;
                Assert.True(root.GetProperty("captured_step").GetBoolean());
                Assert.Equal(2, root.GetProperty("epochs").GetArrayLength());
                var e = root.GetProperty("epochs")[1];
                Assert.True(e.GetProperty("d_loss").GetDouble() > 0 && e.GetProperty("g_loss").GetDouble() > 0);
                Assert.InRange(e.GetProperty("class_fidelity").GetDouble(), 0, 1);
                Assert.True(e.GetProperty("domain_fid").GetDouble() >= 0);
                Assert.InRange(root.GetProperty("train_on_synthetic_test_on_real_accuracy").GetDouble(), 0, 1);
                Assert.Contains("not Inception", root.GetProperty("fid_note").GetString());
            }

            // A run into the same folder is refused (exit 2, nothing written); --resume continues it to epoch 3.
            var again = Run(["gan", "train", .. common, "--epochs", "2", "--out", run]);
            Assert.Equal(2, again.Code);
            Assert.Contains("earlier run", again.Err);
            var resumed = Run(["gan", "train", "--data", data, "--image-size", "12", "--resume", run, "--epochs", "3"]);
            Assert.True(resumed.Code == 0, resumed.Err + resumed.Out);
            Assert.True(File.Exists(Path.Combine(run, "samples-epoch-3.png")));
            Assert.Contains("epoch 3/3", resumed.Out);

            // A damaged checkpoint is the user's file: one line, exit 2, the run folder left as it was.
            File.WriteAllText(Path.Combine(run, "checkpoint.safetensors"), "not a checkpoint");
            var damaged = Run(["gan", "train", "--data", data, "--image-size", "12", "--resume", run, "--epochs", "4"]);
            Assert.Equal(2, damaged.Code);
            Assert.Contains("checkpoint", damaged.Err);
            Assert.False(File.Exists(Path.Combine(run, "samples-epoch-4.png")));

            string grid = Path.Combine(dir.FullName, "grid.png");
            var s = Run(["gan", "sample", "--model", run, "--per-class", "5", "--out", grid]);
            Assert.True(s.Code == 0, s.Err);
            Assert.Contains("bars", s.Out);
            Assert.Equal(0x89, File.ReadAllBytes(grid)[0]);

            // The generator as an augmentation: train a classifier with half of each batch generated, and preview it.
            var t = Run(["train", "--data", data, "--image-size", "12", "--model", "cnn:4,8", "--epochs", "1", "--augment", $"gan:{run}:0.5,hflip",
                "--validation", "none", "--out", Path.Combine(dir.FullName, "clf")]);
            Assert.True(t.Code == 0, t.Err + t.Out);
            // Soft labels: the domain classifier gan train saved labels the generated half.
            var soft = Run(["train", "--data", data, "--image-size", "12", "--model", "cnn:4,8", "--epochs", "1", "--augment", $"gan:{run}:0.5:soft",
                "--validation", "none", "--out", Path.Combine(dir.FullName, "soft")]);
            Assert.True(soft.Code == 0, soft.Err + soft.Out);
            var p = Run(["augment", "--augment", $"gan:{run}:1", "--data", data, "--image-size", "12", "--count", "4", "--versions", "2", "--out", Path.Combine(dir.FullName, "aug.png")]);
            Assert.True(p.Code == 0, p.Err + p.Out);
            var wrong = Run(["train", "--data", data, "--image-size", "16", "--model", "cnn:4,8", "--epochs", "1", "--augment", $"gan:{run}:0.5",
                "--validation", "none", "--out", Path.Combine(dir.FullName, "wrong")]);
            Assert.Equal(2, wrong.Code);
            Assert.Contains("generator", wrong.Err);
            Assert.Equal(2, Run(["train", "--data", data, "--image-size", "12", "--augment", $"gan:{dir.FullName}:0.5", "--out", Path.Combine(dir.FullName, "none")]).Code);

            // Refusals: one line, exit 2.
            Assert.Equal(2, Run(["gan", "sample", "--model", dir.FullName]).Code);
            Assert.Equal(2, Run(["gan", "sample"]).Code);
            Assert.Equal(2, Run(["gan", "paint"]).Code);
            Assert.Equal(2, Run(["gan", "train", "--data", data, "--image-size", "12", "--batch-size", "500", "--out", Path.Combine(dir.FullName, "big")]).Code);
            Assert.False(Directory.Exists(Path.Combine(dir.FullName, "big")));
            var tabular = Run(["gan", "train", "--data", Path.Combine(Fixtures.Dir, "cli_train.csv"), "--label", "y", "--out", Path.Combine(dir.FullName, "csv")]);
            Assert.Equal(2, tabular.Code);
            Assert.Contains("images", tabular.Err);
            Assert.Equal(0, Run(["gan", "--help"]).Code);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
