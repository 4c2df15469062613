using System.Globalization;
using System.Text;
using Nabla.Autograd;
using Nabla.Backends;

namespace Nabla;

/// <summary>
/// An n-dimensional array of float32 values: a view (shape, strides, offset) over a <see cref="Storage"/>,
/// with PyTorch's define-by-run autograd. Ops never modify their inputs; views (reshape of a contiguous tensor,
/// permute, transpose, narrow, slice, squeeze, unsqueeze, expand) share storage instead of copying.
/// </summary>
/// <remarks>Shapes are row-major, the last dimension fastest. A rank-0 tensor is a scalar of shape ().</remarks>
public sealed partial class Tensor
{
    internal readonly int[] shape;
    internal readonly int[] strides;
    internal readonly int offset;
    private bool _requiresGrad;
    internal Node? gradFn;
    internal bool retainsGrad;

    /// <summary>The buffer this tensor views.</summary>
    public Storage Storage { get; }

    internal Tensor(Storage storage, int[] shape, int[] strides, int offset)
    {
        Storage = storage;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
    }

    internal Tensor(Storage storage, int[] shape) : this(storage, shape, Shapes.ContiguousStrides(shape), 0) { }

    /// <summary>The sizes of each dimension, e.g. (N, features).</summary>
    public IReadOnlyList<int> Shape => shape;

    /// <summary>Elements to step in storage for one step along each dimension (0 for a broadcast dimension).</summary>
    public IReadOnlyList<int> Strides => strides;

    /// <summary>Index in storage of the first element.</summary>
    public int Offset => offset;

    /// <summary>Number of dimensions.</summary>
    public int Rank => shape.Length;

    /// <summary>Number of elements.</summary>
    public int Numel => Shapes.Numel(shape);

    /// <summary>Size of one dimension (negative dims count from the end).</summary>
    public int Size(int dim) => shape[Shapes.NormalizeDim(dim, Rank, "Size")];

    /// <summary>The backend that owns the storage and runs kernels on it.</summary>
    public IBackend Backend => Storage.Backend;

    /// <summary>The device the values live on.</summary>
    public Device Device => Storage.Device;

    /// <summary>True when the elements are laid out row-major without gaps (sizes 1 ignored).</summary>
    public bool IsContiguous
    {
        get
        {
            int expected = 1;
            if (Array.IndexOf(shape, 0) >= 0) return true;
            for (int i = shape.Length - 1; i >= 0; i--)
            {
                if (shape[i] == 1) continue;
                if (strides[i] != expected) return false;
                expected *= shape[i];
            }
            return true;
        }
    }

    // ---- autograd surface -------------------------------------------------------------------------------

    /// <summary>
    /// Whether gradients flow to this tensor. Settable on leaves only (tensors not produced by a recorded op);
    /// an op's output requires grad when any input does and grad mode is on.
    /// </summary>
    /// <exception cref="InvalidOperationException">set on a non-leaf tensor.</exception>
    public bool RequiresGrad
    {
        get => _requiresGrad || gradFn is not null;
        set
        {
            if (gradFn is not null)
                throw new InvalidOperationException(
                    $"RequiresGrad can only be changed on leaf tensors; this tensor was produced by {gradFn.Name}. Use Detach() to get a leaf.");
            _requiresGrad = value;
        }
    }

    /// <summary>The accumulated gradient ∂L/∂this after <see cref="Backward()"/>; null until then or after <see cref="ZeroGrad"/>.</summary>
    public Tensor? Grad
    {
        get => _grad;
        set
        {
            _grad = value;
            CaptureSession.Current?.GradAssigned(this);   // a replay puts the captured step's gradient back here
        }
    }

    private Tensor? _grad;

    /// <summary>The op that produced this tensor in the recorded graph; null for leaves.</summary>
    public Node? GradFn => gradFn;

    /// <summary>True for tensors created by the user (not by a recorded op).</summary>
    public bool IsLeaf => gradFn is null;

    /// <summary>Fluent form of setting <see cref="RequiresGrad"/>; returns this tensor.</summary>
    public Tensor RequiresGrad_(bool requiresGrad = true)
    {
        RequiresGrad = requiresGrad;
        return this;
    }

    /// <summary>Keep <see cref="Grad"/> for this non-leaf tensor during backward (as torch's retain_grad).</summary>
    public Tensor RetainGrad()
    {
        retainsGrad = true;
        return this;
    }

    /// <summary>Clears <see cref="Grad"/> (PyTorch's set-to-None behaviour).</summary>
    public void ZeroGrad() => Grad = null;

    /// <summary>Backpropagates from this scalar: accumulates ∂this/∂leaf into every leaf's <see cref="Grad"/>.</summary>
    /// <exception cref="InvalidOperationException">the tensor is not a scalar, or does not require grad.</exception>
    public void Backward() => Engine.Backward(this, null, retainGraph: false);

    /// <summary>
    /// Backpropagates with an explicit upstream gradient ∂L/∂this of this tensor's shape (a vector–Jacobian
    /// product). With <paramref name="retainGraph"/> the graph can be walked again.
    /// </summary>
    public void Backward(Tensor? gradient, bool retainGraph = false) => Engine.Backward(this, gradient, retainGraph);

    /// <summary>A leaf sharing this tensor's values, cut from the graph (no gradient flows through it).</summary>
    public Tensor Detach() => new(Storage, shape, strides, offset);

    // ---- element access ---------------------------------------------------------------------------------

    /// <summary>The values, row-major, copied to a new array.</summary>
    public float[] ToArray()
    {
        var result = new float[Numel];
        Backend.ToHost(this, result);
        return result;
    }

    /// <summary>The value of a one-element tensor.</summary>
    /// <exception cref="InvalidOperationException">the tensor holds more than one element.</exception>
    public float Item()
    {
        if (Numel != 1)
            throw new InvalidOperationException($"Item: only a one-element tensor converts to a float; this one has shape {Shapes.Format(shape)}.");
        Span<float> one = stackalloc float[1];   // no array: the trainer reads a loss every step
        Backend.ToHost(this, one);
        return one[0];
    }

    /// <summary>The element at a full multi-index (negative indices count from the end).</summary>
    [System.Runtime.CompilerServices.IndexerName("Element")]
    public float this[params int[] index]
    {
        get
        {
            if (index.Length != Rank)
                throw new ArgumentException($"Indexer: {index.Length} indices given for a tensor of shape {Shapes.Format(shape)}.", nameof(index));
            int flat = offset;
            for (int i = 0; i < index.Length; i++)
            {
                int k = index[i] < 0 ? index[i] + shape[i] : index[i];
                if ((uint)k >= (uint)shape[i])
                    throw new IndexOutOfRangeException($"Indexer: index {index[i]} is out of range for dimension {i} of size {shape[i]} (shape {Shapes.Format(shape)}).");
                flat += k * strides[i];
            }
            return new Tensor(Storage, [], [], flat).Item();
        }
    }

    /// <summary>Shape and the leading values, e.g. <c>Tensor(2, 3) [1, 2, 3, 4, 5, 6]</c>.</summary>
    public override string ToString()
    {
        var values = ToArray();
        var sb = new StringBuilder("Tensor").Append(Shapes.Format(shape)).Append(" [");
        int shown = Math.Min(values.Length, 16);
        for (int i = 0; i < shown; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(values[i].ToString("G6", CultureInfo.InvariantCulture));
        }
        if (values.Length > shown) sb.Append(", …");
        sb.Append(']');
        if (gradFn is not null) sb.Append(" grad_fn=").Append(gradFn.Name);
        else if (_requiresGrad) sb.Append(" requires_grad");
        return sb.ToString();
    }

    // Attaches a node to a freshly computed leaf (ops that compute their output without recording sub-ops).
    internal Tensor WithGradFn(Node node)
    {
        gradFn = node;
        return this;
    }

    /// <summary>
    /// The one accessor host-side code (datasets, transforms, metrics) uses to read or write a contiguous tensor's
    /// values in place: true with the values when they live in host memory, false otherwise (copy with
    /// <see cref="ToArray"/> then). Reading in the middle of a captured step ends the capture, as any host read does.
    /// </summary>
    internal bool TryHostMemory(out Memory<float> values)
    {
        if (IsContiguous && Storage.HostArray is { } array)
        {
            CaptureSession.Current?.Fail($"host code reads a tensor of shape {Shapes.Format(shape)} in place before the step ends");
            values = array.AsMemory(offset, Numel);
            return true;
        }
        values = default;
        return false;
    }

    internal Tensor View(int[] newShape, int[] newStrides, int newOffset) => new(Storage, newShape, newStrides, newOffset);

    internal static Tensor Empty(IBackend backend, int[] shape) => new(backend.Allocate(Shapes.Numel(shape)), shape);

    // An output the kernel writes in full: its (pooled) buffer is not zeroed first.
    internal static Tensor Uninitialized(IBackend backend, int[] shape) => new(backend.AllocateUninitialized(Shapes.Numel(shape)), shape);

    internal Tensor EmptyLike(int[]? newShape = null) => Empty(Backend, newShape ?? (int[])shape.Clone());
}
