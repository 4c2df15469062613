using System.Text.RegularExpressions;
using Spectre.Console;

namespace Nabla.Tests;

/// <summary>The live progress display keeps every line within the terminal's width, at 80 columns and more.</summary>
public class ProgressDisplayTests
{
    // Long enough per batch for the display's refreshes (every 100 ms) to draw the live line several times.
    sealed class Pause : Training.Callback
    {
        public override void OnBatchEnd(Training.TrainingContext context, int epoch, int batch, double loss, int samples)
        {
            if (batch % 4 == 0) Thread.Sleep(40);
        }
    }

    [Theory]
    [InlineData(80)]
    [InlineData(130)]
    public void The_live_display_fits_the_terminal_and_prints_each_epoch_as_a_line(int width)
    {
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.Standard,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(text),
        });
        console.Profile.Width = width;
        var g = new Generator(1);
        var x = Tensor.Randn([200, 4], g);
        var y = new IntTensor([.. Enumerable.Range(0, 200).Select(i => i % 3)], 200);
        var data = new Data.TensorDataset(x, y);
        var model = new Sequential(new Linear(4, 8, g), new ReLU(), new Linear(8, 3, g));
        var history = Nabla.Cli.ProgressReporter.Live(console, true, cb =>
            new Training.Trainer(new Training.TrainerOptions { BatchSize = 16 }).Fit(model, new CrossEntropyLoss(), new Optim.Adam(model.Parameters()), data, data, 3, [cb, new Pause()]));
        Assert.Equal(3, history.Epochs.Count);
        // Visible text: without ANSI escapes (colours, cursor moves), split where the terminal breaks lines.
        string visible = Regex.Replace(text.ToString(), @"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "");
        var lines = visible.Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries);
        var live = lines.Where(l => l.Contains('%')).ToList();
        Assert.NotEmpty(live);
        foreach (var l in live) Assert.True(l.TrimEnd().Length <= width, $"{l.TrimEnd().Length} > {width}: '{l}'");
        // The live line keeps a bar and the percentage on the same line as the epoch.
        Assert.Contains(live, l => l.Contains("epoch") && l.Contains('%'));
        // Each finished epoch printed whole, as a line of its own.
        for (int e = 1; e <= 3; e++) Assert.Contains(lines, l => l.StartsWith($"epoch {e}/3  loss ", StringComparison.Ordinal) && l.Contains("val_loss"));
    }
}
