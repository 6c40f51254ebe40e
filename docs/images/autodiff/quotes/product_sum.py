class ProductSum(Deferred):
    """Σ_i a_iᵀ b_i, kept as the lists of a_i and b_i: the gradient of a weight used in
    ``x_i @ Wᵀ`` at every step (with a_i = g_i, b_i = x_i) is one matmul over all rows."""

    def __init__(self, left: np.ndarray, right: np.ndarray):
        self.lefts, self.rights = [left], [right]
        self.shape = (left.shape[-1], right.shape[-1])

    def merged(self, other: ProductSum) -> ProductSum:
        self.lefts += other.lefts
        self.rights += other.rights
        return self

    def value(self) -> np.ndarray:
        if len(self.lefts) == 1:
            return self.lefts[0].T @ self.rights[0]
        return np.concatenate(self.lefts).T @ np.concatenate(self.rights)
