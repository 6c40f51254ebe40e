@primitive
def mul(a, b):
    def backward(g):
        return g * b, g * a

    return a * b, backward


@primitive
def tanh(a):
    out = np.tanh(a)

    def backward(g):
        slope = 1 - out * out  # tanh' = 1 - tanh²
        slope *= g  # in place: no third array
        return (slope,)

    return out, backward
