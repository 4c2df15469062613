namespace Nabla.Tests;

/// <summary><c>nabla style</c> with a VGG-shaped stack from safetensors and with the default cnn trained on a folder of images.</summary>
public class StyleCliTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Nabla.Cli.Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void Style_restyles_a_picture_with_vgg_weights_or_a_cnn_trained_on_the_data()
    {
        var dir = Directory.CreateTempSubdirectory("nabla-style");
        try
        {
            string content = Path.Combine(dir.FullName, "content.png"), style = Path.Combine(dir.FullName, "style.png");
            Nabla.Imaging.ImageFolder.SavePng(Tensor.Rand([3 * 20 * 20], 1).ToArray(), 3, 20, 20, content);
            var stripes = new float[3 * 24 * 24];
            for (int i = 0; i < stripes.Length; i++) stripes[i] = (i % 24) % 6 < 3 ? 0.9f : 0.1f;
            Nabla.Imaging.ImageFolder.SavePng(stripes, 3, 24, 24, style);
            string outPng = Path.Combine(dir.FullName, "out.png");
            var r = Run(["style", "--content", content, "--style", style, "--out", outPng, "--features", Path.Combine(Fixtures.Dir, "torch_vgg_mini.safetensors"),
                "--arch", "8,8,M,16,16,M,32", "--size", "16", "--steps", "20", "--style-weight", "1000", "--content-layers", "relu2_2",
                "--style-layers", "relu1_1,relu2_1,relu3_1"]);
            Assert.True(r.Code == 0, r.Err + r.Out);
            Assert.Equal(0x89, File.ReadAllBytes(outPng)[0]);
            Assert.Contains("step 20/20", r.Out);

            // The default feature network: a cnn trained on --data (a folder of two classes of small pictures).
            var root = Path.Combine(dir.FullName, "images");
            for (int i = 0; i < 40; i++)
                Nabla.Imaging.ImageFolder.SavePng(Tensor.Rand([12 * 12], 100 + i).ToArray(), 1, 12, 12, Path.Combine(root, i % 2 == 0 ? "a" : "b", $"{i}.png"));
            string gray = Path.Combine(dir.FullName, "gray.png");
            var d = Run(["style", "--content", content, "--style", style, "--out", gray, "--data", root, "--image-size", "12", "--grayscale",
                "--classifier-epochs", "1", "--size", "12", "--steps", "5"]);
            Assert.True(d.Code == 0, d.Err + d.Out);
            Assert.Contains("feature network: a cnn", d.Out);

            // An AdaIN decoder over that cnn, then the style: augmentation with it.
            string styler = Path.Combine(dir.FullName, "styler");
            var st = Run(["style", "train", "--data", root, "--image-size", "12", "--grayscale", "--classifier-epochs", "1", "--epochs", "2", "--batch-size", "8", "--out", styler]);
            Assert.True(st.Code == 0, st.Err + st.Out);
            foreach (var f in new[] { "config.json", "encoder.safetensors", "decoder.safetensors", "preview.png" }) Assert.True(File.Exists(Path.Combine(styler, f)), f);
            var train = Run(["train", "--data", root, "--image-size", "12", "--grayscale", "--model", "cnn:4,8", "--epochs", "1", "--augment", $"style:{styler}:0.5,hflip",
                "--validation", "none", "--out", Path.Combine(dir.FullName, "clf")]);
            Assert.True(train.Code == 0, train.Err + train.Out);
            var colour = Run(["train", "--data", root, "--image-size", "12", "--model", "cnn:4,8", "--epochs", "1", "--augment", $"style:{styler}:0.5",
                "--validation", "none", "--out", Path.Combine(dir.FullName, "colour")]);
            Assert.Equal(2, colour.Code);   // a grayscale decoder on colour images
            // A folder of style pictures (any size, colour): the decoder trains on them and style: draws from them.
            var pictures = Path.Combine(dir.FullName, "pictures");
            Directory.CreateDirectory(pictures);
            File.Copy(style, Path.Combine(pictures, "stripes.png"));
            File.Copy(content, Path.Combine(pictures, "noise.png"));
            string banked = Path.Combine(dir.FullName, "banked");
            var sb = Run(["style", "train", "--data", root, "--image-size", "12", "--grayscale", "--classifier-epochs", "1", "--epochs", "1", "--batch-size", "8",
                "--styles", pictures, "--out", banked]);
            Assert.True(sb.Code == 0, sb.Err + sb.Out);
            Assert.Contains("2 style pictures", sb.Out);
            Assert.Equal([2, 1, 12, 12], Nabla.Generative.AdaInStyler.LoadStyles(banked)!.Shape);
            var withBank = Run(["train", "--data", root, "--image-size", "12", "--grayscale", "--model", "cnn:4,8", "--epochs", "1", "--augment", $"style:{banked}:0.5",
                "--validation", "none", "--out", Path.Combine(dir.FullName, "clf-bank")]);
            Assert.True(withBank.Code == 0, withBank.Err + withBank.Out);
            var empty = Directory.CreateDirectory(Path.Combine(dir.FullName, "empty")).FullName;
            File.WriteAllText(Path.Combine(empty, "notes.txt"), "no pictures here");
            foreach (var bad in new[] { Path.Combine(dir.FullName, "no-such"), empty })
            {
                var refused = Run(["style", "train", "--data", root, "--image-size", "12", "--grayscale", "--styles", bad, "--out", Path.Combine(dir.FullName, "never-bank")]);
                Assert.Equal(2, refused.Code);
                Assert.Contains("--styles", refused.Err);
                Assert.False(Directory.Exists(Path.Combine(dir.FullName, "never-bank")));
            }
            Assert.Equal(2, Run(["style", "train", "--data", root, "--image-size", "12", "--grayscale", "--layer", "relu7_1", "--out", Path.Combine(dir.FullName, "bad")]).Code);
            Assert.False(Directory.Exists(Path.Combine(dir.FullName, "bad")));

            // Refusals: one line, exit 2, nothing written.
            string never = Path.Combine(dir.FullName, "never.png");
            Assert.Equal(2, Run(["style", "--style", style, "--out", never]).Code);
            Assert.Equal(2, Run(["style", "--content", Path.Combine(dir.FullName, "missing.png"), "--style", style, "--out", never]).Code);
            Assert.Equal(2, Run(["style", "--content", content, "--style", style, "--out", never, "--features", Path.Combine(Fixtures.Dir, "torch_vgg_mini.safetensors")]).Code);
            var badLayer = Run(["style", "--content", content, "--style", style, "--out", never, "--features", Path.Combine(Fixtures.Dir, "torch_vgg_mini.safetensors"),
                "--arch", "8,8,M,16,16,M,32", "--content-layers", "relu9_1"]);
            Assert.Equal(2, badLayer.Code);
            Assert.Contains("relu9_1", badLayer.Err);
            Assert.Equal(2, Run(["style", "--content", content, "--style", style, "--out", never, "--features", content, "--arch", "vgg7"]).Code);
            Assert.False(File.Exists(never));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
