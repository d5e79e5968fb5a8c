"""The backward engine: reverse-mode differentiation over the recorded graph.

The graph is made of ``Function`` nodes.  Each node keeps ``next_edges``, one
per input: ``(node, output_index)`` when the input was made by another
function, ``(leaf_tensor, None)`` when it is a leaf that requires grad, and
``None`` when the input needs no gradient.  For ``L = loss(...)``::

    x ──► Mul ──► Add ──► Sum ──► L        backward visits Sum, Add, Mul
    w ──┘                                  (reverse topological order) and
                                           leaves dL/dx in x.grad, dL/dw in w.grad

1. **Order.**  An iterative depth-first search lists every node reachable from
   the output after all the nodes that consume its results (reverse post-order).
   No recursion, so a 10,000-op chain is fine.
2. **Accumulate.**  Gradients flowing into one output of a node from several
   consumers (a tensor used twice: the "diamond") are summed before the node
   runs, since dL/dx = sum over uses of dL/d(use) * d(use)/dx.
3. **Leaves.**  A leaf receives ``grad``; across backward calls it accumulates
   (``x.grad += new``), as in PyTorch, until the user zeroes it.
4. **Release.**  After a node's backward ran, its saved arrays are freed unless
   ``retain_graph=True``; a second backward through it then raises.
"""
from __future__ import annotations

from .. import backend


def topological_order(root):
    """Nodes reachable from ``root``, each before the nodes it feeds from.

    Iterative DFS: a node is emitted after all its inputs' nodes (post-order);
    reversing that list puts every consumer before its producers.
    """
    order, seen = [], {root}
    stack = [(root, iter(root.next_edges))]
    while stack:
        node, edges = stack[-1]
        for edge in edges:
            if edge is None or edge[1] is None:  # no grad needed, or a leaf
                continue
            child = edge[0]
            if child not in seen:
                seen.add(child)
                stack.append((child, iter(child.next_edges)))
                break
        else:
            stack.pop()
            order.append(node)
    order.reverse()
    return order


def backward(tensor, grad, retain_graph=False):
    """Propagate ``grad`` (= dL/d tensor, an array) through the graph of ``tensor``."""
    root = tensor.grad_fn
    if root is None:  # backward on a leaf: its gradient is grad itself
        accumulate_leaf_grad(tensor, grad)
        return
    order = topological_order(root)
    for node in order:  # check before anything changes
        if node.released:
            raise RuntimeError(
                f"backward through the graph a second time: {node.name} already freed "
                "its saved arrays. Call backward(retain_graph=True) the first time if "
                "you need to backpropagate twice."
            )

    pending = {root: {tensor._output_nr: grad}}  # node -> {output index: dL/d output}
    for node in order:
        grads_by_output = pending.pop(node, None)
        if grads_by_output is None:  # nothing reached this node
            continue
        try:
            if len(grads_by_output) == 1 and 0 in grads_by_output:
                input_grads = node.backward(grads_by_output[0])
            else:
                count = 1 + max(grads_by_output)
                input_grads = node.backward(*(grads_by_output.get(i) for i in range(count)))
        except backend.OUT_OF_MEMORY_ERRORS as exc:
            raise_out_of_memory(f"{node.name}.backward", list(grads_by_output.values()), exc)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        for edge, g in zip(node.next_edges, input_grads):
            if edge is None or g is None:
                continue
            target, index = edge
            if index is None:
                accumulate_leaf_grad(target, g)
                continue
            slots = pending.get(target)
            if slots is None:
                pending[target] = {index: g}
            elif index in slots:
                slots[index] = slots[index] + g  # a tensor used more than once
            else:
                slots[index] = g
        if not retain_graph:
            node.release()


def accumulate_leaf_grad(leaf, g):
    """``leaf.grad += g`` (a fresh copy the first time, so no two leaves share one
    array and in-place edits of one ``.grad`` never touch another)."""
    if g.shape != leaf.data.shape:
        raise RuntimeError(
            f"internal error: gradient of shape {g.shape} for a leaf of shape {leaf.data.shape}"
        )
    if leaf.grad is None:
        leaf.grad = Tensor._wrap(g.astype(leaf.data.dtype, copy=True), None, 0)
    else:
        leaf.grad.data = leaf.grad.data + g


from .function import raise_out_of_memory  # noqa: E402
from .tensor import Tensor  # noqa: E402
