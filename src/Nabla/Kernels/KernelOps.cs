// The op enums live beside the kernels that switch on them, so Kernels need nothing from Backends; their public
// namespace stays Nabla.Backends, where IBackend's callers have always found them.
namespace Nabla.Backends;

/// <summary>Elementwise functions of one tensor. <c>p0</c>/<c>p1</c> carry scalar parameters where named.</summary>
public enum UnaryOp
{
    /// <summary>y = x (a copy).</summary>
    Identity,
    /// <summary>y = −x.</summary>
    Neg,
    /// <summary>y = eˣ.</summary>
    Exp,
    /// <summary>y = ln x.</summary>
    Log,
    /// <summary>y = √x.</summary>
    Sqrt,
    /// <summary>y = |x|.</summary>
    Abs,
    /// <summary>y = max(x, 0).</summary>
    Relu,
    /// <summary>y = 1 / (1 + e⁻ˣ).</summary>
    Sigmoid,
    /// <summary>y = tanh x.</summary>
    Tanh,
    /// <summary>y = x^p0.</summary>
    Pow,
    /// <summary>y = min(max(x, p0), p1).</summary>
    Clamp,
    /// <summary>y = x + p0.</summary>
    AddScalar,
    /// <summary>y = x · p0.</summary>
    MulScalar,
    /// <summary>y = sign(x) ∈ {−1, 0, 1}.</summary>
    Sign,
    /// <summary>y = x·Φ(x) = ½x·(1 + erf(x/√2)) (exact GELU).</summary>
    Gelu,
    /// <summary>y = ½x·(1 + tanh(√(2/π)(x + 0.044715x³))) (GELU, tanh approximation).</summary>
    GeluTanh,
    /// <summary>y = ln(1 + e^(p0·x))/p0, or x where p0·x &gt; p1 (softplus with β = p0, threshold = p1).</summary>
    Softplus,
}

/// <summary>Elementwise functions of two broadcast tensors. The "Grad"/"Mask" entries serve backward passes.</summary>
public enum BinaryOp
{
    /// <summary>a + b.</summary>
    Add,
    /// <summary>a − b.</summary>
    Sub,
    /// <summary>a · b.</summary>
    Mul,
    /// <summary>a / b.</summary>
    Div,
    /// <summary>a + p0·b with one rounding (fused multiply-add), as PyTorch's <c>add(a, b, alpha)</c>.</summary>
    AddScaled,
    /// <summary>max(a, b), NaN propagating.</summary>
    Maximum,
    /// <summary>min(a, b), NaN propagating.</summary>
    Minimum,
    /// <summary>a if b &gt; 0 else 0 (ReLU backward: a = upstream, b = input).</summary>
    ReluGrad,
    /// <summary>a · b · (1 − b) (sigmoid backward: a = upstream, b = output).</summary>
    SigmoidGrad,
    /// <summary>a · (1 − b²) (tanh backward: a = upstream, b = output).</summary>
    TanhGrad,
    /// <summary>a if p0 ≤ b ≤ p1 else 0 (clamp backward: a = upstream, b = input).</summary>
    ClampGrad,
    /// <summary>a · GELU′(b) (exact GELU backward: a = upstream, b = input).</summary>
    GeluGrad,
    /// <summary>a · GELU′(b) for the tanh approximation.</summary>
    GeluTanhGrad,
    /// <summary>a · σ(p0·b), or a where p0·b &gt; p1 (softplus backward: a = upstream, b = input).</summary>
    SoftplusGrad,
    /// <summary>1 if a &gt; b else 0.</summary>
    Greater,
    /// <summary>1 if a ≥ b else 0.</summary>
    GreaterEqual,
    /// <summary>1 if a == b else 0.</summary>
    Equal,
    /// <summary>max(a + b, 0), NaN propagating: the residual addition and the ReLU after it in one pass.</summary>
    AddRelu,
}

/// <summary>Reductions over a set of dims.</summary>
public enum ReduceOp
{
    /// <summary>Σ.</summary>
    Sum,
    /// <summary>max, NaN propagating.</summary>
    Max,
}
