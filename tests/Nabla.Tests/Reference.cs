namespace Nabla.Tests;

/// <summary>A plain n-d array of doubles: the test-side reference representation.</summary>
public sealed record Arr(double[] Data, int[] Shape)
{
    public static Arr Of(Tensor t) => new(t.ToArray().Select(v => (double)v).ToArray(), t.Shape.ToArray());

    public int Numel => Data.Length;

    public int Flat(int[] idx)
    {
        int f = 0;
        for (int d = 0; d < Shape.Length; d++) f = f * Shape[d] + idx[d];
        return f;
    }

    public static int[] Unflat(int flat, int[] shape)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--) { idx[d] = shape[d] == 0 ? 0 : flat % shape[d]; flat = shape[d] == 0 ? 0 : flat / shape[d]; }
        return idx;
    }
}

/// <summary>
/// Obviously-correct reference implementations written with index arithmetic in double, independent of the
/// library's kernels. The op case table compares every op's forward against these.
/// </summary>
public static class Ref
{
    static int Numel(int[] s) => s.Aggregate(1, (p, v) => p * v);

    public static int[] BroadcastShape(int[] a, int[] b)
    {
        int r = Math.Max(a.Length, b.Length);
        var s = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i < r - a.Length ? 1 : a[i - (r - a.Length)];
            int db = i < r - b.Length ? 1 : b[i - (r - b.Length)];
            s[i] = Math.Max(da, db);
            if (da != db && da != 1 && db != 1) throw new InvalidOperationException("reference: shapes do not broadcast");
        }
        return s;
    }

    // Value of a at a broadcast output index.
    static double At(Arr a, int[] outIdx)
    {
        int lead = outIdx.Length - a.Shape.Length, f = 0;
        for (int d = 0; d < a.Shape.Length; d++) f = f * a.Shape[d] + (a.Shape[d] == 1 ? 0 : outIdx[lead + d]);
        return a.Data[f];
    }

    public static Arr Map(Arr a, Func<double, double> f) => new(a.Data.Select(f).ToArray(), a.Shape);

    public static Arr Zip(Arr a, Arr b, Func<double, double, double> f)
    {
        var s = BroadcastShape(a.Shape, b.Shape);
        var y = new double[Numel(s)];
        for (int i = 0; i < y.Length; i++)
        {
            var idx = Arr.Unflat(i, s);
            y[i] = f(At(a, idx), At(b, idx));
        }
        return new Arr(y, s);
    }

    public static Arr Where(Arr c, Arr a, Arr b)
    {
        var s = BroadcastShape(c.Shape, BroadcastShape(a.Shape, b.Shape));
        var y = new double[Numel(s)];
        for (int i = 0; i < y.Length; i++)
        {
            var idx = Arr.Unflat(i, s);
            y[i] = At(c, idx) != 0 ? At(a, idx) : At(b, idx);
        }
        return new Arr(y, s);
    }

    public static Arr Reduce(Arr a, int[] dims, bool keep, Func<IEnumerable<double>, double> f)
    {
        var nd = dims.Select(d => d < 0 ? d + a.Shape.Length : d).ToHashSet();
        var kept = a.Shape.Select((s, d) => nd.Contains(d) ? 1 : s).ToArray();
        var groups = new List<double>[Numel(kept)];
        for (int i = 0; i < groups.Length; i++) groups[i] = [];
        for (int i = 0; i < a.Numel; i++)
        {
            var idx = Arr.Unflat(i, a.Shape);
            for (int d = 0; d < idx.Length; d++) if (nd.Contains(d)) idx[d] = 0;
            groups[new Arr([], kept).Flat(idx)].Add(a.Data[i]);
        }
        var shape = keep ? kept : a.Shape.Where((s, d) => !nd.Contains(d)).ToArray();
        return new Arr(groups.Select(f).ToArray(), shape);
    }

    public static Arr MatMul(Arr a, Arr b)
    {
        // Batched with broadcast batch dims; both at least 2-D here.
        int m = a.Shape[^2], k = a.Shape[^1], n = b.Shape[^1];
        var batch = BroadcastShape(a.Shape[..^2], b.Shape[..^2]);
        var shape = batch.Concat([m, n]).ToArray();
        var y = new double[Numel(shape)];
        for (int i = 0; i < y.Length; i++)
        {
            var idx = Arr.Unflat(i, shape);
            double s = 0;
            for (int p = 0; p < k; p++)
            {
                var ia = idx[..^2].Concat(new[] { idx[^2], p }).ToArray();
                var ib = idx[..^2].Concat(new[] { p, idx[^1] }).ToArray();
                s += At(a, ia) * At(b, ib);
            }
            y[i] = s;
        }
        return new Arr(y, shape);
    }

    public static Arr Softmax(Arr a, int dim, bool log)
    {
        dim = dim < 0 ? dim + a.Shape.Length : dim;
        var y = new double[a.Numel];
        for (int i = 0; i < a.Numel; i++)
        {
            var idx = Arr.Unflat(i, a.Shape);
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < a.Shape[dim]; j++) { idx[dim] = j; max = Math.Max(max, a.Data[a.Flat(idx)]); }
            for (int j = 0; j < a.Shape[dim]; j++) { idx[dim] = j; sum += Math.Exp(a.Data[a.Flat(idx)] - max); }
            double v = a.Data[i] - max;
            y[i] = log ? v - Math.Log(sum) : Math.Exp(v) / sum;
        }
        return new Arr(y, a.Shape);
    }

    public static Arr Permute(Arr a, int[] dims)
    {
        var shape = dims.Select(d => a.Shape[d]).ToArray();
        var y = new double[a.Numel];
        for (int i = 0; i < y.Length; i++)
        {
            var idx = Arr.Unflat(i, shape);
            var src = new int[idx.Length];
            for (int d = 0; d < dims.Length; d++) src[dims[d]] = idx[d];
            y[i] = a.Data[a.Flat(src)];
        }
        return new Arr(y, shape);
    }

    public static Arr Slice(Arr a, int dim, int start, int end, int step)
    {
        var shape = (int[])a.Shape.Clone();
        shape[dim] = (end - start + step - 1) / step;
        var y = new double[Numel(shape)];
        for (int i = 0; i < y.Length; i++)
        {
            var idx = Arr.Unflat(i, shape);
            idx[dim] = start + idx[dim] * step;
            y[i] = a.Data[a.Flat(idx)];
        }
        return new Arr(y, shape);
    }

    public static Arr Concat(Arr[] xs, int dim)
    {
        var shape = (int[])xs[0].Shape.Clone();
        shape[dim] = xs.Sum(x => x.Shape[dim]);
        var y = new double[Numel(shape)];
        for (int i = 0; i < y.Length; i++)
        {
            var idx = Arr.Unflat(i, shape);
            int k = 0, at = idx[dim];
            while (at >= xs[k].Shape[dim]) { at -= xs[k].Shape[dim]; k++; }
            idx[dim] = at;
            y[i] = xs[k].Data[xs[k].Flat(idx)];
        }
        return new Arr(y, shape);
    }

    public static Arr Gather(Arr a, int dim, int[] index, int[] indexShape)
    {
        var y = new double[index.Length];
        for (int i = 0; i < y.Length; i++)
        {
            var idx = Arr.Unflat(i, indexShape);
            idx[dim] = index[i];
            y[i] = a.Data[a.Flat(idx)];
        }
        return new Arr(y, indexShape);
    }

    public static Arr IndexSelect(Arr a, int dim, int[] index)
    {
        var shape = (int[])a.Shape.Clone();
        shape[dim] = index.Length;
        var y = new double[Numel(shape)];
        for (int i = 0; i < y.Length; i++)
        {
            var idx = Arr.Unflat(i, shape);
            idx[dim] = index[idx[dim]];
            y[i] = a.Data[a.Flat(idx)];
        }
        return new Arr(y, shape);
    }

    public static Arr Expand(Arr a, int[] shape)
    {
        var y = new double[Numel(shape)];
        for (int i = 0; i < y.Length; i++) y[i] = At(a, Arr.Unflat(i, shape));
        return new Arr(y, shape);
    }
}
