namespace Nabla.Kernels;

/// <summary>
/// The shape arithmetic of a 2-D convolution over (N, C, H, W): kernel, stride, padding, dilation and groups, and
/// the output size OH = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1 (likewise OW), as PyTorch computes it.
/// </summary>
public readonly record struct ConvGeometry(
    int N, int C, int H, int W, int OutC, int KH, int KW,
    int StrideH, int StrideW, int PadH, int PadW, int DilH, int DilW, int Groups)
{
    /// <summary>Output height.</summary>
    public int OH => (H + 2 * PadH - DilH * (KH - 1) - 1) / StrideH + 1;
    /// <summary>Output width.</summary>
    public int OW => (W + 2 * PadW - DilW * (KW - 1) - 1) / StrideW + 1;
    /// <summary>Input channels per group.</summary>
    public int CG => C / Groups;
    /// <summary>Output channels per group.</summary>
    public int OutCG => OutC / Groups;
    /// <summary>Rows of the im2col matrix per group: C/g · kh · kw.</summary>
    public int K => CG * KH * KW;
    /// <summary>Output positions per channel.</summary>
    public int P => OH * OW;
    /// <summary>A 1×1 convolution with unit stride and no padding reads the input as the im2col matrix itself.</summary>
    public bool IsPointwise => KH == 1 && KW == 1 && StrideH == 1 && StrideW == 1 && PadH == 0 && PadW == 0;
    /// <summary>Unit stride and dilation with an output the input's size: each im2col row is one shifted copy of a plane.</summary>
    public bool IsSamePaddingUnitStride => StrideH == 1 && StrideW == 1 && DilH == 1 && DilW == 1 && OH == H && OW == W;
}

/// <summary>Window geometry of 2-D pooling (max or average), with PyTorch's ceil-mode output rule.</summary>
public readonly record struct PoolGeometry(
    int N, int C, int H, int W, int KH, int KW, int StrideH, int StrideW, int PadH, int PadW, int DilH, int DilW, bool CeilMode)
{
    /// <summary>PyTorch's pooling_output_shape: floor (or ceil) division, and a ceil-mode window must start inside the input or its left padding.</summary>
    public static int OutputSize(int input, int kernel, int pad, int stride, int dilation, bool ceil)
    {
        int numerator = input + 2 * pad - dilation * (kernel - 1) - 1 + (ceil ? stride - 1 : 0);
        int output = (int)Math.Floor((double)numerator / stride) + 1;
        if (ceil && (output - 1) * stride >= input + pad) output--;
        return output;
    }

    /// <summary>Output height.</summary>
    public int OH => OutputSize(H, KH, PadH, StrideH, DilH, CeilMode);
    /// <summary>Output width.</summary>
    public int OW => OutputSize(W, KW, PadW, StrideW, DilW, CeilMode);
}
