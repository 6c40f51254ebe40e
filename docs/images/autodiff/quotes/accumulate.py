def accumulate(pending: dict, node: Node, grad: Any, sender: Node) -> None:
    """Add ``grad`` (``sender``'s backward sent it) to what ``node`` received, summed to its shape."""
    if grad.shape != node.data.shape:
        grad = unbroadcast(resolve(grad), node.data.shape)
        if grad.shape != node.data.shape:  # a bug in an op's backward, not the user's
            raise RuntimeError(f"backward: a gradient of shape {grad.shape} for a tensor of shape {node.data.shape}")
    if state.detect_anomaly:
        check_gradient(resolve(grad), sender, node)
    earlier = pending.get(node)
    pending[node] = grad if earlier is None else earlier + grad  # Deferred sums stay factored (deferred.py)
