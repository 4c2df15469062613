namespace Nabla;

/// <summary>How <see cref="Functional.Interpolate"/> fills the new pixels.</summary>
public enum UpsampleMode
{
    /// <summary>Each output pixel copies the input pixel at ⌊o·scale⌋ (torch's "nearest").</summary>
    Nearest,
    /// <summary>Each output pixel mixes the four nearest input pixels by their distances (torch's "bilinear").</summary>
    Bilinear,
}

public static partial class Functional
{
    /// <summary>
    /// Resizes (N, C, H, W) to (N, C, OH, OW) as torch.nn.functional.interpolate does, given either the output size or a
    /// scale factor (then OH = ⌊H·scale⌋). With scale s = H/OH (or 1/scale_factor when that is given), nearest takes
    /// input row min(⌊o·s⌋, H − 1); bilinear reads the source row r = max(s·(o + ½) − ½, 0) (or r = o·(H − 1)/(OH − 1) with
    /// align_corners) and mixes rows h₀ = ⌊r⌋ and h₀ + 1 (clamped) with weights 1 − λ and λ = r − h₀, first along the
    /// width and then along the height, as torch's kernel orders the products. Composed from IndexSelect, Mul and Add,
    /// so its gradient is theirs (each input pixel gets the weighted sum of the output gradients that read it).
    /// </summary>
    public static Tensor Interpolate(Tensor input, (int H, int W)? size = null, (double H, double W)? scaleFactor = null,
        UpsampleMode mode = UpsampleMode.Nearest, bool alignCorners = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4) throw new ArgumentException($"Interpolate: input {Shapes.Format(input.shape)} must be (N, C, H, W).", nameof(input));
        if (size is null == scaleFactor is null)
            throw new ArgumentException("Interpolate: give exactly one of size and scaleFactor.", nameof(size));
        if (alignCorners && mode == UpsampleMode.Nearest)
            throw new ArgumentException("Interpolate: align_corners applies to bilinear only (as in torch).", nameof(alignCorners));
        int h = input.shape[2], w = input.shape[3];
        int oh, ow;
        if (size is { } s)
        {
            (oh, ow) = s;
        }
        else
        {
            var f = scaleFactor!.Value;
            if (!(f.H > 0) || !(f.W > 0) || double.IsInfinity(f.H) || double.IsInfinity(f.W))
                throw new ArgumentOutOfRangeException(nameof(scaleFactor), f, "Interpolate: scale factors must be positive and finite.");
            oh = (int)Math.Floor(h * f.H);
            ow = (int)Math.Floor(w * f.W);
        }
        if (oh < 1 || ow < 1)
            throw new ArgumentException($"Interpolate: input {Shapes.Format(input.shape)} would give an empty output ({oh}, {ow}).", nameof(size));
        if (h < 1 || w < 1) throw new ArgumentException($"Interpolate: input {Shapes.Format(input.shape)} is empty.", nameof(input));
        float sh = Scale(h, oh, scaleFactor?.H, alignCorners), sw = Scale(w, ow, scaleFactor?.W, alignCorners);
        if (mode == UpsampleMode.Nearest)
            return input.IndexSelect(3, NearestIndex(w, ow, sw)).IndexSelect(2, NearestIndex(h, oh, sh));
        var (w0, w1, lw0, lw1) = BilinearWeights(w, ow, sw, alignCorners);
        var (h0, h1, lh0, lh1) = BilinearWeights(h, oh, sh, alignCorners);
        var across = input.IndexSelect(3, w0) * lw0.Reshape(1, 1, 1, ow) + input.IndexSelect(3, w1) * lw1.Reshape(1, 1, 1, ow);
        return across.IndexSelect(2, h0) * lh0.Reshape(1, 1, oh, 1) + across.IndexSelect(2, h1) * lh1.Reshape(1, 1, oh, 1);
    }

    // torch's area_pixel_compute_scale: (in − 1)/(out − 1) with align_corners, else 1/scale_factor when given, else in/out.
    private static float Scale(int input, int output, double? factor, bool alignCorners) =>
        alignCorners ? (output > 1 ? (float)(input - 1) / (output - 1) : 0f)
        : factor is { } f ? (float)(1.0 / f) : (float)input / output;

    private static IntTensor NearestIndex(int input, int output, float scale)
    {
        var index = new int[output];
        for (int o = 0; o < output; o++) index[o] = Math.Min((int)MathF.Floor(o * scale), input - 1);
        return new IntTensor(index, output);
    }

    private static (IntTensor I0, IntTensor I1, Tensor L0, Tensor L1) BilinearWeights(int input, int output, float scale, bool alignCorners)
    {
        var i0 = new int[output];
        var i1 = new int[output];
        var l0 = new float[output];
        var l1 = new float[output];
        for (int o = 0; o < output; o++)
        {
            float real = alignCorners ? scale * o : Math.Max(scale * (o + 0.5f) - 0.5f, 0f);
            int lo = (int)real;
            i0[o] = lo;
            i1[o] = lo + (lo < input - 1 ? 1 : 0);
            l1[o] = real - lo;
            l0[o] = 1f - l1[o];
        }
        return (new IntTensor(i0, output), new IntTensor(i1, output), Tensor.FromArray(l0, output), Tensor.FromArray(l1, output));
    }
}

/// <summary>
/// Upsamples (N, C, H, W) by a scale factor or to a size (torch.nn.Upsample): nearest (the default) or bilinear, see
/// <see cref="Functional.Interpolate"/>. No parameters.
/// </summary>
public sealed class Upsample : Module
{
    /// <summary>Scales both dims by <paramref name="scaleFactor"/>.</summary>
    public Upsample(double scaleFactor, UpsampleMode mode = UpsampleMode.Nearest, bool alignCorners = false)
        : this(null, (scaleFactor, scaleFactor), mode, alignCorners) { }

    /// <summary>Resizes to <paramref name="size"/> or scales by <paramref name="scaleFactor"/> (exactly one of them).</summary>
    public Upsample((int H, int W)? size, (double H, double W)? scaleFactor, UpsampleMode mode = UpsampleMode.Nearest, bool alignCorners = false)
    {
        if (size is null == scaleFactor is null) throw new ArgumentException("Upsample: give exactly one of size and scaleFactor.", nameof(size));
        if (size is { } s && (s.H < 1 || s.W < 1)) throw new ArgumentOutOfRangeException(nameof(size), s, "Upsample: the size must be positive.");
        if (scaleFactor is { } f && (!(f.H > 0) || !(f.W > 0) || double.IsInfinity(f.H) || double.IsInfinity(f.W)))
            throw new ArgumentOutOfRangeException(nameof(scaleFactor), f, "Upsample: scale factors must be positive and finite.");
        if (alignCorners && mode == UpsampleMode.Nearest)
            throw new ArgumentException("Upsample: align_corners applies to bilinear only (as in torch).", nameof(alignCorners));
        Size = size;
        ScaleFactor = scaleFactor;
        Mode = mode;
        AlignCorners = alignCorners;
    }

    /// <summary>The output (height, width), or null when a scale factor is given.</summary>
    public (int H, int W)? Size { get; }
    /// <summary>The (height, width) factors, or null when a size is given.</summary>
    public (double H, double W)? ScaleFactor { get; }
    /// <summary>Nearest or bilinear.</summary>
    public UpsampleMode Mode { get; }
    /// <summary>Bilinear only: the corner pixels of input and output are aligned.</summary>
    public bool AlignCorners { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.Interpolate(input, Size, ScaleFactor, Mode, AlignCorners);

    /// <inheritdoc/>
    protected override string ExtraRepr =>
        (Size is { } s ? $"size=({s.H}, {s.W})" : $"scale_factor=({ScaleFactor!.Value.H}, {ScaleFactor.Value.W})") +
        $", mode='{(Mode == UpsampleMode.Nearest ? "nearest" : "bilinear")}'" + (AlignCorners ? ", align_corners=True" : "");
}
