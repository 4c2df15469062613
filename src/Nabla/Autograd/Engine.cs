using Nabla.Backends;

namespace Nabla.Autograd;

/// <summary>Reverse-mode traversal of the recorded graph: topological order, chain rule, accumulation.</summary>
internal static class Engine
{
    public static void Backward(Tensor root, Tensor? gradient, bool retainGraph)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException(
                $"Backward: the tensor of shape {Shapes.Format(root.shape)} does not require grad and has no GradFn; set RequiresGrad on an input leaf before computing it.");
        if (gradient is null)
        {
            if (root.Numel != 1)
                throw new InvalidOperationException(
                    $"Backward: grad can be implicitly created only for scalar outputs, but the tensor has shape {Shapes.Format(root.shape)}; pass an explicit gradient of that shape.");
            gradient = Tensor.OnesLike(root);
        }
        else if (!Shapes.Equal(gradient.shape, root.shape))
            throw new ArgumentException(
                $"Backward: gradient has shape {Shapes.Format(gradient.shape)} but the tensor has shape {Shapes.Format(root.shape)}.", nameof(gradient));

        using var _ = GradMode.NoGrad();
        if (root.gradFn is null)
        {
            Accumulate(root, gradient);
            return;
        }

        var order = TopologicalOrder(root);
        var pending = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance) { [root] = gradient };
        // Gradients the engine summed itself; only these may be added to in place (others can be shared).
        var owned = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var t = order[i];
            if (!pending.Remove(t, out var g)) continue;
            if (t.retainsGrad) Accumulate(t, g);
            var node = t.gradFn!;
            if (node.Released) throw new InvalidOperationException(node.FreedMessage);
            var inputs = node.InputArray;
            var inputGrads = new Tensor?[inputs.Length];
            node.Backward(g, inputGrads);
            for (int k = 0; k < inputs.Length; k++)
            {
                var input = inputs[k];
                var ig = inputGrads[k];
                if (ig is null || !input.RequiresGrad) continue;
                if (!Shapes.Equal(ig.shape, input.shape))
                    throw new InvalidOperationException(
                        $"{node.Name} backward returned a gradient of shape {Shapes.Format(ig.shape)} for input {k} of shape {Shapes.Format(input.shape)}.");
                if (input.gradFn is null) Accumulate(input, ig, node.GradientsAreFresh);
                else if (pending.TryGetValue(input, out var existing))
                {
                    if (owned.Contains(existing)) existing.Backend.Binary(BinaryOp.Add, existing, ig, existing);
                    else
                    {
                        var sum = existing + ig;
                        owned.Add(sum);
                        pending[input] = sum;
                    }
                }
                else pending[input] = ig;
            }
        }
        if (!retainGraph)
            foreach (var t in order) t.gradFn!.Release();
    }

    // Iterative DFS post-order over non-leaf tensors: deep graphs must not overflow the stack.
    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor tensor, int next)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var node = t.gradFn!;
            if (node.Released) throw new InvalidOperationException(node.FreedMessage);
            var inputs = node.InputArray;
            if (next < inputs.Length)
            {
                stack.Push((t, next + 1));
                var child = inputs[next];
                if (child.gradFn is not null && visited.Add(child)) stack.Push((child, 0));
            }
            else order.Add(t);
        }
        return order;
    }

    // The first gradient is copied, so later accumulation in place never touches a tensor someone else holds; a
    // fresh contiguous one (a node's own new result, held by nobody else) is kept as it is.
    private static void Accumulate(Tensor t, Tensor g, bool fresh = false)
    {
        var acc = t.Grad;
        if (acc is null) t.Grad = fresh && g.IsContiguous && !g.RequiresGrad ? g : g.Clone();
        else if (acc.IsContiguous && Shapes.Equal(acc.shape, g.shape) && !acc.RequiresGrad)
            acc.Backend.Binary(BinaryOp.Add, acc, g, acc);
        else t.Grad = acc + g;
    }
}
