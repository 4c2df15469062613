namespace Nabla.Kernels;

/// <summary>
/// Turns a strided n-d iteration over several operands (inputs and an output, all of one shape, broadcast dims
/// with stride 0) into rows: dims that are laid out consecutively in every operand are merged, so the inner
/// loop is as long as possible and usually contiguous (stride 1) or broadcast (stride 0).
/// </summary>
internal sealed class RowPlan
{
    /// <summary>Number of rows.</summary>
    public int Rows;
    /// <summary>Elements per row.</summary>
    public int Inner;
    /// <summary>Stride of the inner dimension per operand.</summary>
    public int[] InnerStrides = [];
    /// <summary>Start offset of each row per operand: <c>Offsets[row * operands + k]</c>.</summary>
    public int[] Offsets = [];
    /// <summary>Number of operands.</summary>
    public int Operands;

    public static RowPlan Create(ReadOnlySpan<int> shape, int[][] strides, int[] offsets)
    {
        int ops = strides.Length;
        // Drop size-1 dims, then merge neighbours that are contiguous in every operand.
        var dims = new List<int>();
        var st = new List<int[]>();
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 1) continue;
            var s = new int[ops];
            for (int k = 0; k < ops; k++) s[k] = strides[k][d];
            if (dims.Count > 0)
            {
                var prev = st[^1];
                bool merge = true;
                for (int k = 0; k < ops; k++)
                    if (prev[k] != s[k] * shape[d]) { merge = false; break; }
                if (merge)
                {
                    dims[^1] *= shape[d];
                    st[^1] = s;
                    continue;
                }
            }
            dims.Add(shape[d]);
            st.Add(s);
        }
        var plan = new RowPlan { Operands = ops };
        int total = 1;
        foreach (var s in shape) total *= s;
        if (total == 0)
        {
            plan.Rows = 0; plan.Inner = 0; plan.InnerStrides = new int[ops];
            return plan;
        }
        if (dims.Count == 0)
        {
            plan.Rows = 1; plan.Inner = 1; plan.InnerStrides = new int[ops];
            plan.Offsets = (int[])offsets.Clone();
            return plan;
        }
        plan.Inner = dims[^1];
        plan.InnerStrides = st[^1];
        int outerRank = dims.Count - 1;
        int rows = 1;
        for (int d = 0; d < outerRank; d++) rows *= dims[d];
        plan.Rows = rows;
        plan.Offsets = new int[rows * ops];
        var idx = new int[outerRank];
        var cur = (int[])offsets.Clone();
        for (int r = 0; r < rows; r++)
        {
            Array.Copy(cur, 0, plan.Offsets, r * ops, ops);
            // Odometer step over the outer dims.
            for (int d = outerRank - 1; d >= 0; d--)
            {
                idx[d]++;
                for (int k = 0; k < ops; k++) cur[k] += st[d][k];
                if (idx[d] < dims[d]) break;
                for (int k = 0; k < ops; k++) cur[k] -= st[d][k] * dims[d];
                idx[d] = 0;
            }
        }
        return plan;
    }
}
