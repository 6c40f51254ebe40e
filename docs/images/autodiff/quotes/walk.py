def backward_walk(
    root: Node, grad: Any, retain_graph: bool = False, wanted: set | None = None, watch: Callable | None = None
) -> dict:
    """From ``root`` to the leaves, each node after everything computed from it: BPTT.

    With ``wanted=None`` leaves add their gradient into ``.grad``; otherwise the gradients of the
    ``wanted`` tensors are returned and no ``.grad`` changes. ``watch(node, g, sent)`` sees each op
    the walk reaches: the gradient reaching it and those its backward sends (the explorer's view).
    """
    pending, found = {root: grad}, {}  # gradients received and not yet handed on; those asked for

    def take(node: Node) -> np.ndarray | None:  # everything ``node`` received, as one array, or None
        g = resolve(pending.pop(node, None))  # a sum kept factored until now gets its value
        if wanted is not None and g is not None and node in wanted:
            found[node] = g
        return g

    for node in reversed(topological_order(root)):
        g = take(node)
        if g is None:  # nothing downstream depends on this node
            continue
        if node.op is None:  # a leaf keeps its gradient and adds to it, as in PyTorch (zero_grad() clears)
            if wanted is None and node.grad is None:
                node.grad = np.array(g, dtype=node.data.dtype)  # its own copy: ops may hand out shared arrays
            elif wanted is None:
                node.grad += g
            continue
        backward = node._backward
        if backward is None:
            raise GraphFreedError(f"backward: the graph through {node.op!r} was freed by an earlier backward(); "
                                  "pass retain_graph=True to the first backward() to walk it again")  # fmt: skip
        if type(backward) is Joint:  # one of several outputs: gather all of theirs, run the op's backward once
            g, backward = backward.gather(node, g, take), backward.backward
        sent = backward(g)
        if watch is not None:
            watch(node, g, sent)
        for parent, parent_grad in zip(node.parents, sent):
            if parent_grad is not None and parent.requires_grad:
                accumulate(pending, parent, parent_grad, node)
        if not retain_graph:
            node._backward = None  # drop the saved arrays; `op` and `parents` stay for pictures
    return found
