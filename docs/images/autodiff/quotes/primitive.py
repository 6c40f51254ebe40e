def primitive(forward: Callable[..., tuple[Any, Callable]]) -> Callable[..., Any]:
    """Turn ``forward(*arrays, **params) -> (out, backward)`` into an op on tensors. ``backward(g)``
    returns one gradient per input (None: none), output-shaped where the op broadcast (the walk sums
    it back). A tuple of outputs shares one backward that runs once (``split``; see ``Joint``)."""
    name = forward.__name__

    def op(*inputs: Any, **params: Any) -> Any:
        tensors = tuple([x if isinstance(x, Node) else Node.result_type(x) for x in inputs])  # numbers: constants
        call = forward if state.recorder is None else state.recorder(forward, params, tensors)  # mg.jit, this thread
        try:
            out, backward = call(*[t.data for t in tensors], **params)
        except (ValueError, IndexError) as error:  # NumPy's complaint, said with the op and the shapes
            raise op_error(name, [t.shape for t in tensors], error) from None
        if state.detect_anomaly:
            check_output(out, name, state.tags.get("step"), tensors)
        make = Node.result_type.from_op
        if not (state.grad_enabled and True in [t.requires_grad for t in tensors]):  # no gradient wanted: no record
            return tuple(make(piece) for piece in out) if type(out) is tuple else make(out)
        if type(out) is not tuple:
            return make(out, name, tensors, backward)
        joint = Joint(backward)  # several outputs: the op's backward runs once for all of them
        return joint.own(tuple(make(piece, name, tensors, joint) for piece in out))

    op.__name__, op.__qualname__, op.__doc__, op.__wrapped__ = name, name, forward.__doc__, forward
    return op
