def topological_order(root: Node) -> list[Node]:
    """Every tensor ``root`` depends on that requires grad, inputs before outputs: found with an
    explicit stack (a 10,000-step sequence needs no recursion limit), sorted by creation."""
    found, stack = {root}, [root]
    while stack:
        for parent in stack.pop().parents:
            if parent.requires_grad and parent not in found:
                found.add(parent)
                stack.append(parent)
    return sorted(found, key=lambda node: node._created)
