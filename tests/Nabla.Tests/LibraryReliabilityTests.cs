using Nabla.Data;
using Nabla.IO;
using Nabla.Training;
using Nabla.Validation;

namespace Nabla.Tests;

/// <summary>The library pieces issue 19 added, tested where they live rather than only through the CLI.</summary>
public class LibraryReliabilityTests
{
    [Fact]
    public void AtomicFile_replaces_regular_files_only_and_leaves_nothing_behind_on_failure()
    {
        var dir = Directory.CreateTempSubdirectory("nabla-atomic-").FullName;
        try
        {
            string path = Path.Combine(dir, "a.bin");
            AtomicFile.Write(path, [1, 2, 3]);
            AtomicFile.Write(path, [4]);
            Assert.Equal([4], File.ReadAllBytes(path));

            string folder = Directory.CreateDirectory(Path.Combine(dir, "f")).FullName;
            Assert.Equal("a folder", AtomicFile.Describe(folder));
            Assert.Contains("a folder", Assert.Throws<IOException>(() => AtomicFile.Write(folder, [1])).Message);
            string link = Path.Combine(dir, "link");
            File.CreateSymbolicLink(link, path);
            Assert.Equal("a symbolic link", AtomicFile.Describe(link));
            Assert.Throws<IOException>(() => AtomicFile.Write(link, [9]));
            Assert.Equal([4], File.ReadAllBytes(path));
            if (OperatingSystem.IsLinux()) Assert.Equal("a device", AtomicFile.Describe("/dev/null"));
            Assert.Null(AtomicFile.Describe(path));
            Assert.Null(AtomicFile.Describe(Path.Combine(dir, "missing")));

            // A write that fails half-way keeps the old file and removes its temporary one.
            Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s => { s.WriteByte(7); throw new InvalidOperationException("disk"); }));
            Assert.Equal([4], File.ReadAllBytes(path));
            Assert.DoesNotContain(Directory.EnumerateFiles(dir), f => f.Contains(AtomicFile.TempMarker, StringComparison.Ordinal));

            File.WriteAllBytes(path + ".tmp-0123456789abcdef", [1]);
            File.WriteAllBytes(Path.Combine(dir, "keep.tmp-notours"), [1]);
            Assert.Equal(1, AtomicFile.RemoveStaleTemporaries(dir));
            Assert.True(File.Exists(Path.Combine(dir, "keep.tmp-notours")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Csv_layout_matches_columns_and_classes_by_name()
    {
        var dir = Directory.CreateTempSubdirectory("nabla-layout-").FullName;
        try
        {
            string train = Path.Combine(dir, "train.csv"), other = Path.Combine(dir, "other.csv");
            File.WriteAllText(train, "a,b,y\n1,2,cat\n3,4,dog\n");
            File.WriteAllText(other, "y,b,a\ndog,20,10\n");
            Assert.Equal(["a", "b"], CsvTable.FeatureColumns(train, "y"));
            var layout = new CsvLayout(["a", "b"], ["cat", "dog", "eel"]);
            var d = CsvTable.Load(other, "y", TaskKind.Classification, layout);
            Assert.Equal([10f, 20f], d.Features.ToArray());
            Assert.Equal([1], d.Labels!.Data);
            Assert.Equal(3, d.NumClasses);
            File.WriteAllText(other, "a,b,c,y\n1,2,3,cat\n");
            Assert.Contains("'c' is not one of the model's feature columns", Assert.Throws<CsvFormatException>(() => CsvTable.Load(other, "y", TaskKind.Classification, layout)).Message);
            File.WriteAllText(other, "a,y\n1,cat\n");
            Assert.Contains("'b'", Assert.Throws<CsvFormatException>(() => CsvTable.Load(other, "y", TaskKind.Classification, layout)).Message);
            File.WriteAllText(other, "a,b,y\n1,2,fox\n");
            Assert.Contains("class 'fox'", Assert.Throws<CsvFormatException>(() => CsvTable.Load(other, "y", TaskKind.Classification, layout)).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Concat_joins_datasets_of_one_kind_and_refuses_others()
    {
        var a = new TensorDataset(Tensor.FromArray([1f, 2, 3, 4], 2, 2), IntTensor.FromArray([0, 1]), 2, ["x", "y"]);
        var b = new TensorDataset(Tensor.FromArray([5f, 6], 1, 2), IntTensor.FromArray([1]), 2, ["x", "y"]);
        var c = TensorDataset.Concat(a, b);
        Assert.Equal([1f, 2, 3, 4, 5, 6], c.Features.ToArray());
        Assert.Equal([0, 1, 1], c.Labels!.Data);
        var renamed = b.WithClassNames(["p", "q"]);
        Assert.Throws<ArgumentException>(() => TensorDataset.Concat(a, renamed));
        var regression = new TensorDataset(Tensor.FromArray([5f, 6], 1, 2), Tensor.FromArray([1f], 1));
        Assert.Throws<ArgumentException>(() => TensorDataset.Concat(a, regression));
    }

    [Fact]
    public void Grid_values_in_quotes_keep_their_commas_and_unclosed_quotes_are_refused()
    {
        var g = ModelSelection.ParseGrid("augment=none|\"hflip,crop:2\";lr=1e-3,3e-4;model=\"mlp:256,128\"");
        Assert.Equal(["none", "hflip,crop:2"], g["augment"]);
        Assert.Equal(["1e-3", "3e-4"], g["lr"]);
        Assert.Equal(["mlp:256,128"], g["model"]);
        Assert.Throws<FormatException>(() => ModelSelection.ParseGrid("augment=\"hflip,crop:2"));
        Assert.Throws<FormatException>(() => ModelSelection.ParseGrid("augment=hf\"lip"));
    }

    [Fact]
    public void Zero_init_residual_reaches_the_net_through_model_options()
    {
        var net = (ResNet)Models.FromSpec("resnet:8", [1, 8, 8], 2, new Generator(0), options: new ModelOptions { ZeroInitResidual = true });
        Assert.True(net.ZeroInitResidual);
        var plain = (ResNet)Models.FromSpec("resnet:8", [1, 8, 8], 2, new Generator(0));
        Assert.False(plain.ZeroInitResidual);
    }

    [Fact]
    public void A_cross_validator_checks_every_split_and_inner_holdout_before_training()
    {
        var x = Tensor.Rand([40, 2], new Generator(1));
        var data = new TensorDataset(x, IntTensor.FromArray(Enumerable.Range(0, 40).Select(i => i % 10).ToArray()));
        Assert.Equal(5, new CrossValidator(new KFold(5), innerValidation: 0).Check(data).Count);
        // Each split trains on 20 samples, 2 of each of 10 classes: a stratified 10% inner holdout (2 samples) cannot hold every class.
        var e = Assert.Throws<ArgumentException>(() => new CrossValidator(new StratifiedKFold(2), innerValidation: 0.1).Check(data));
        Assert.Contains("split 1", e.Message);
    }

    [Fact]
    public void Clipping_bounds_each_step_and_checkpoint_metadata_is_written_and_resumed()
    {
        var dir = Directory.CreateTempSubdirectory("nabla-clip-").FullName;
        try
        {
            var g = new Generator(3);
            var data = new TensorDataset(Tensor.Randn([32, 3], g), IntTensor.FromArray(Enumerable.Range(0, 32).Select(i => i % 2).ToArray()));
            var model = Models.Mlp(3, [4], 2, new Generator(0));
            var start = model.Parameters().Select(p => p.ToArray()).ToArray();
            var opt = new Optim.SGD(model.Parameters(), 1.0, momentum: 0);   // the library's SGD defaults to the lecture's momentum 0.9
            string ckpt = Path.Combine(dir, "c.safetensors");
            var trainer = new Trainer(new TrainerOptions
            {
                BatchSize = 8, ClipGradNorm = 1e-3, CheckpointPath = ckpt, CheckpointMetadata = new Dictionary<string, string> { ["mine"] = "42" },
            });
            trainer.Fit(model, new CrossEntropyLoss(), opt, data, null, 1);
            // 4 steps of lr 1 with gradients clipped to norm 1e-3: the weights moved at most 4e-3 in L2.
            double moved = Math.Sqrt(model.Parameters().Select((p, i) => p.ToArray().Zip(start[i], (a, b) => (double)(a - b) * (a - b)).Sum()).Sum());
            Assert.InRange(moved, 1e-6, 4e-3 * 1.001);
            var state = Serialization.SafeTensors.Read(ckpt);
            Assert.Equal("42", Trainer.CheckpointMetadata(state)["mine"]);
            var history = trainer.Resume(state, model, new CrossEntropyLoss(), opt, data, null, 2);
            Assert.Equal(2, history.Epochs.Count);
            state.Metadata["epoch"] = "-3";
            Assert.Contains("negative", Assert.Throws<InvalidOperationException>(() => trainer.Resume(state, model, new CrossEntropyLoss(), opt, data, null, 2)).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
