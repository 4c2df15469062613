using Nabla.Training;
using ScottPlot;

namespace Nabla.Cli;

/// <summary>
/// PNG report plots for the <c>nabla</c> command: training curves and confusion matrices, drawn with ScottPlot
/// (SkiaSharp underneath). Every file is written atomically: rendered to a temporary file in the target folder,
/// then moved over the target.
/// </summary>
internal static class Plots
{
    private const int CurvesWidth = 1000;
    private const int CurvesHeight = 450;

    private static readonly Color TrainColor = Color.FromHex("#1f77b4");
    private static readonly Color ValidationColor = Color.FromHex("#ff7f0e");

    /// <summary>
    /// Saves the training curves of <paramref name="history"/> as one PNG with two panels side by side: "Loss" (train and
    /// validation loss per epoch) and "Accuracy" (or "MAE" when <paramref name="classification"/> is false). Validation
    /// lines appear only when the history has validation values; every point carries a marker so that a single epoch
    /// still shows.
    /// </summary>
    /// <param name="history">The epochs of a training run.</param>
    /// <param name="path">Where to write the PNG; its folder is created when missing.</param>
    /// <param name="classification">True for accuracy curves, false for mean-absolute-error curves.</param>
    public static void SaveCurves(History history, string path, bool classification)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentException.ThrowIfNullOrEmpty(path);

        double[] epochs = history.Epochs.Select(e => (double)(e.Epoch + 1)).ToArray();
        string metric = classification ? "accuracy" : "mae";
        string metricTitle = classification ? "Accuracy" : "MAE";

        using var lossPlot = new Plot();
        using var metricPlot = new Plot();
        var multiplot = new Multiplot(lossPlot) { Layout = new ScottPlot.MultiplotLayouts.Columns() }; // side by side
        multiplot.AddPlot(metricPlot);

        DrawCurves(lossPlot, epochs, history.Series("loss"), history.Series("val_loss"), "Loss", "Loss", Alignment.UpperRight);
        DrawCurves(metricPlot, epochs, history.Series(metric), history.Series("val_" + metric), metricTitle, metricTitle,
            classification ? Alignment.LowerRight : Alignment.UpperRight);

        ApplyFont(lossPlot);
        ApplyFont(metricPlot);
        using Image image = multiplot.Render(CurvesWidth, CurvesHeight);
        WriteAtomically(path, image.GetImageBytes(ImageFormat.Png, 100));
    }

    /// <summary>
    /// Saves a confusion matrix as a heatmap PNG: <c>confusion[true, predicted]</c> counts, class names on both axes
    /// (row 0 at the top), each count printed in its cell.
    /// </summary>
    /// <param name="confusion">Square matrix of counts, rows the true class, columns the predicted class.</param>
    /// <param name="classNames">One name per class, in index order.</param>
    /// <param name="path">Where to write the PNG; its folder is created when missing.</param>
    public static void SaveConfusion(int[,] confusion, IReadOnlyList<string> classNames, string path)
    {
        ArgumentNullException.ThrowIfNull(confusion);
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentException.ThrowIfNullOrEmpty(path);
        int n = confusion.GetLength(0);
        if (n == 0 || confusion.GetLength(1) != n)
            throw new ArgumentException($"The confusion matrix must be square and non-empty, not {n}×{confusion.GetLength(1)}.", nameof(confusion));
        if (classNames.Count != n)
            throw new ArgumentException($"Expected {n} class names, got {classNames.Count}.", nameof(classNames));

        int max = 0;
        var intensities = new double[n, n];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
            {
                intensities[r, c] = confusion[r, c];
                max = Math.Max(max, confusion[r, c]);
            }

        using var plot = new Plot();
        var heatmap = plot.Add.Heatmap(intensities);
        heatmap.Colormap = new ScottPlot.Colormaps.Reversed(new ScottPlot.Colormaps.Blues()); // light for few, dark for many
        // Cell (r, c) is centred on x = c, y = n-1-r: row 0 at the top. The heatmap draws row 0 at the top of its rectangle.
        heatmap.Rectangle = new CoordinateRect(-0.5, n - 0.5, -0.5, n - 0.5);
        heatmap.ManualRange = new ScottPlot.Range(0, Math.Max(max, 1)); // zero is always white
        var colorbar = plot.Add.ColorBar(heatmap);
        colorbar.Label = "count";
        colorbar.Axis.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };

        // Counts in the cells, in white on dark cells and black on light ones; left out when the cells are too small.
        if (n <= 40)
        {
            float fontSize = n <= 12 ? 14 : n <= 20 ? 11 : 8;
            for (int r = 0; r < n; r++)
                for (int c = 0; c < n; c++)
                {
                    var text = plot.Add.Text(confusion[r, c].ToString(System.Globalization.CultureInfo.InvariantCulture), c, n - 1 - r);
                    text.LabelAlignment = Alignment.MiddleCenter;
                    text.LabelFontSize = fontSize;
                    text.LabelFontColor = max > 0 && confusion[r, c] > 0.55 * max ? Colors.White : Colors.Black;
                }
        }

        var xTicks = new ScottPlot.TickGenerators.NumericManual();
        var yTicks = new ScottPlot.TickGenerators.NumericManual();
        int longest = 0;
        for (int i = 0; i < n; i++)
        {
            xTicks.AddMajor(i, classNames[i]);
            yTicks.AddMajor(n - 1 - i, classNames[i]);
            longest = Math.Max(longest, classNames[i].Length);
        }
        plot.Axes.Bottom.TickGenerator = xTicks;
        plot.Axes.Left.TickGenerator = yTicks;
        if (longest > 3 || n > 12)
        {
            // Slanted, each label ending at its tick.
            plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
            plot.Axes.Bottom.TickLabelStyle.OffsetY = 4;
            plot.Axes.Bottom.MinimumSize = longest * 7 * 0.72f + 50;
        }
        plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
        plot.Grid.IsVisible = false;

        plot.Title("Confusion matrix (rows: true, columns: predicted)");
        plot.XLabel("Predicted");
        plot.YLabel("True");

        int cell = n <= 10 ? 60 : n <= 20 ? 40 : n <= 50 ? 20 : 12;
        int side = Math.Clamp(n * cell, 300, 1600);
        int labelRoom = Math.Clamp(longest * 7 + 30, 40, 260);
        int width = side + labelRoom + 170;
        int height = side + labelRoom + 110;

        ApplyFont(plot);
        using Image image = plot.GetImage(width, height);
        WriteAtomically(path, image.GetImageBytes(ImageFormat.Png, 100));
    }

    private static void DrawCurves(Plot plot, double[] epochs, double[] train, double[] validation, string title, string yLabel, Alignment legend)
    {
        bool any = AddSeries(plot, epochs, train, "train", TrainColor);
        any |= AddSeries(plot, epochs, validation, "validation", ValidationColor);

        plot.Title(title);
        plot.XLabel("Epoch");
        plot.YLabel(yLabel);

        int count = epochs.Length;
        double last = count == 0 ? 1 : epochs[^1];
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        double margin = Math.Max(0.5, 0.03 * (last - 1));
        plot.Axes.AutoScale();
        plot.Axes.SetLimitsX(1 - margin, last + margin);

        if (any)
        {
            plot.ShowLegend(legend);
            // Room around the data, with a band kept clear for the legend; a single point or a flat line gets a range of its own.
            double[] finite = train.Concat(validation).Where(double.IsFinite).ToArray();
            double lo = finite.Min(), hi = finite.Max();
            if (hi - lo <= 1e-12 * Math.Max(1, Math.Abs(hi)))
            {
                double half = Math.Max(Math.Abs(hi) * 0.1, 0.05);
                lo -= half;
                hi += half;
            }
            double span = hi - lo;
            bool legendOnTop = legend is Alignment.UpperRight or Alignment.UpperLeft or Alignment.UpperCenter;
            plot.Axes.SetLimitsY(lo - span * (legendOnTop ? 0.08 : 0.3), hi + span * (legendOnTop ? 0.3 : 0.08));
        }
        else
        {
            plot.Axes.SetLimitsY(0, 1);
            var note = plot.Add.Annotation("no data", Alignment.MiddleCenter);
            note.LabelFontSize = 16;
        }
    }

    /// <summary>Adds one line with markers from the finite points of <paramref name="ys"/>; false when there are none.</summary>
    private static bool AddSeries(Plot plot, double[] xs, double[] ys, string label, Color color)
    {
        var px = new List<double>();
        var py = new List<double>();
        for (int i = 0; i < Math.Min(xs.Length, ys.Length); i++)
            if (double.IsFinite(ys[i]))
            {
                px.Add(xs[i]);
                py.Add(ys[i]);
            }
        if (px.Count == 0)
            return false;
        var scatter = plot.Add.Scatter(px.ToArray(), py.ToArray(), color);
        scatter.LegendText = label;
        scatter.LineWidth = 2;
        scatter.MarkerSize = px.Count <= 60 ? 7 : 0;
        return true;
    }

    /// <summary>The plots' font (<see cref="Imaging.Fonts.SansSerif"/>).</summary>
    internal static string? TextFont => Imaging.Fonts.SansSerif;

    private static void ApplyFont(Plot plot)
    {
        if (TextFont is { } font)
            plot.Font.Set(font);
    }

    /// <summary>Writes the PNG through <see cref="IO.AtomicFile"/>: all or nothing, and never over a device or folder.</summary>
    private static void WriteAtomically(string path, byte[] bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".");
        IO.AtomicFile.Write(path, bytes);
    }

    /// <summary>
    /// Saves the per-split scores of a cross-validation: one point per split, the mean as a line and the 95% confidence
    /// interval of the mean as a shaded band.
    /// </summary>
    public static void SaveCrossValidation(IReadOnlyList<double> scores, double mean, double lower, double upper, string metric, string scheme, string path)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var plot = new Plot();
        double[] xs = Enumerable.Range(1, scores.Count).Select(i => (double)i).ToArray();
        if (scores.Count > 0)
        {
            double left = 0.5, right = scores.Count + 0.5;
            var band = plot.Add.Polygon(new Coordinates[] { new(left, lower), new(right, lower), new(right, upper), new(left, upper) });
            band.FillColor = ValidationColor.WithAlpha(0.18);
            band.LineWidth = 0;
            band.LegendText = "95% interval of the mean";
            var line = plot.Add.HorizontalLine(mean);
            line.Color = ValidationColor;
            line.LineWidth = 2;
            line.LegendText = $"mean {mean:F4}";
            var points = plot.Add.ScatterPoints(xs, scores.ToArray());
            points.Color = TrainColor;
            points.MarkerSize = 9;
            points.LegendText = "split";
            plot.Axes.SetLimitsX(left, right);
        }
        plot.Title($"{scheme}: {metric} per split");
        plot.XLabel("Split");
        plot.YLabel(metric);
        plot.ShowLegend(Alignment.LowerRight);
        ApplyFont(plot);
        using Image image = plot.GetImage(900, 450);
        WriteAtomically(path, image.GetImageBytes(ImageFormat.Png, 100));
    }

    /// <summary>
    /// Training (dashed) and test (solid) error per epoch for several networks in one plot: the degradation experiment.
    /// </summary>
    public static void SaveErrorCurves(IReadOnlyList<(string Name, double[] TrainError, double[] TestError)> runs, string path)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < runs.Count; i++)
        {
            var (name, train, test) = runs[i];
            var color = palette.GetColor(i);
            double[] xs = Enumerable.Range(1, train.Length).Select(e => (double)e).ToArray();
            var t = plot.Add.Scatter(xs, train);
            t.Color = color;
            t.LinePattern = LinePattern.Dashed;
            t.LegendText = $"{name} train";
            var v = plot.Add.Scatter(xs, test);
            v.Color = color;
            v.LegendText = $"{name} test";
        }
        plot.Title("Degradation: error per epoch (dashed: training, solid: test)");
        plot.XLabel("Epoch");
        plot.YLabel("Error");
        plot.ShowLegend(Alignment.UpperRight);
        ApplyFont(plot);
        using Image image = plot.GetImage(1000, 550);
        WriteAtomically(path, image.GetImageBytes(ImageFormat.Png, 100));
    }

    /// <summary>A GAN's two losses per epoch (left) and the discriminator's mean scores on real and generated images (right).</summary>
    public static void SaveGanLosses(Nabla.Generative.GanHistory history, string path)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentException.ThrowIfNullOrEmpty(path);
        double[] epochs = history.Epochs.Select(e => (double)(e.Epoch + 1)).ToArray();
        using var lossPlot = new Plot();
        using var scorePlot = new Plot();
        var multiplot = new Multiplot(lossPlot) { Layout = new ScottPlot.MultiplotLayouts.Columns() };
        multiplot.AddPlot(scorePlot);
        var d = lossPlot.Add.Scatter(epochs, history.Epochs.Select(e => e.DiscriminatorLoss).ToArray());
        d.LegendText = "discriminator";
        var g = lossPlot.Add.Scatter(epochs, history.Epochs.Select(e => e.GeneratorLoss).ToArray());
        g.LegendText = "generator";
        lossPlot.Title("GAN losses");
        lossPlot.XLabel("Epoch");
        lossPlot.YLabel("BCE loss");
        lossPlot.ShowLegend(Alignment.UpperRight);
        var real = scorePlot.Add.Scatter(epochs, history.Epochs.Select(e => e.RealScore).ToArray());
        real.LegendText = "D(x), real";
        var fake = scorePlot.Add.Scatter(epochs, history.Epochs.Select(e => e.FakeScore).ToArray());
        fake.LegendText = "D(G(z)), generated";
        scorePlot.Title("Discriminator's mean score");
        scorePlot.XLabel("Epoch");
        scorePlot.YLabel("σ(D)");
        scorePlot.ShowLegend(Alignment.UpperRight);
        ApplyFont(lossPlot);
        ApplyFont(scorePlot);
        using Image image = multiplot.Render(CurvesWidth, CurvesHeight);
        WriteAtomically(path, image.GetImageBytes(ImageFormat.Png, 100));
    }
}
