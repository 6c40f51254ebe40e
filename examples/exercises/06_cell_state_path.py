"""Page 6, exercise 1: when is a backward without the cell-state path still right?

The textbook's LSTM backward leaves out dL/dc_{t-1} = dL/dc_t ⊙ f_t, the road from c_t back to
c_{t-1}. For a sequence of one step there is no c_{t+1}, so nothing is left out: the gradients
are right. From two steps on they are wrong, and not everywhere equally: the last step's input
gradient dL/dx_T needs no later step and stays right; every earlier step's is off.

This script writes the LSTM's backward in NumPy (the lecture's notation: h_t = x_t·U + s_{t-1}·W + b,
blocks i, f, g, o), with a switch for the cell-state path, as a minigrad primitive, and checks it
with mg.gradcheck and against backward() through mg.nn.LSTM.

    python examples/exercises/06_cell_state_path.py
"""

import numpy as np

import minigrad as mg


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def lstm_op(cell_state_path: bool):
    """An LSTM over a whole sequence as one op: (x, U, W, b) -> s_1 ... s_T, (batch, T, H)."""

    @mg.primitive
    def lstm(x, U, W, b):
        batch, steps, _ = x.shape
        H = W.shape[0]
        s, c, gates = [np.zeros((batch, H))], [np.zeros((batch, H))], []
        for t in range(steps):
            h = x[:, t] @ U + s[-1] @ W + b
            i, f, o = sigmoid(h[:, :H]), sigmoid(h[:, H : 2 * H]), sigmoid(h[:, 3 * H :])
            g = np.tanh(h[:, 2 * H : 3 * H])
            c.append(f * c[-1] + i * g)
            s.append(o * np.tanh(c[-1]))
            gates.append((i, f, g, o))

        def backward(grad):
            dx, dU, dW, db = np.zeros_like(x), np.zeros_like(U), np.zeros_like(W), np.zeros_like(b)
            ds_next, dc_next = np.zeros((batch, H)), np.zeros((batch, H))
            for t in reversed(range(steps)):
                i, f, g, o = gates[t]
                ds = grad[:, t] + ds_next  # from the loss at step t, and from step t+1 through W
                dc = ds * o * (1 - np.tanh(c[t + 1]) ** 2)  # through s_t = o ⊙ tanh(c_t)
                if cell_state_path:
                    dc = dc + dc_next  # through c_{t+1} = f_{t+1} ⊙ c_t + ...
                dh = np.concatenate(
                    [
                        dc * g * i * (1 - i),
                        dc * c[t] * f * (1 - f),
                        dc * i * (1 - g**2),
                        ds * np.tanh(c[t + 1]) * o * (1 - o),
                    ],
                    axis=1,
                )
                dx[:, t] = dh @ U.T
                dU, dW, db = dU + x[:, t].T @ dh, dW + s[t].T @ dh, db + dh.sum(axis=0)
                ds_next, dc_next = dh @ W.T, dc * f
            return dx, dU, dW, db

        return np.stack(s[1:], axis=1), backward

    return lstm


def check(steps: int, cell_state_path: bool) -> tuple[bool, np.ndarray]:
    """gradcheck's verdict, and per step the largest error of dL/dx_t against backward() through mg.nn.LSTM."""
    mg.manual_seed(0)
    reference = mg.nn.LSTM(2, 3)
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.normal(size=(2, steps, 2)), requires_grad=True)
    Y = mg.tensor(rng.uniform(-0.5, 0.5, size=(2, steps, 3)))
    U = mg.tensor(reference.weight_ih_l0.data.T, requires_grad=True)  # the lecture's layout: PyTorch's, transposed
    W = mg.tensor(reference.weight_hh_l0.data.T, requires_grad=True)
    b = mg.tensor(reference.bias_ih_l0.data + reference.bias_hh_l0.data, requires_grad=True)
    op = lstm_op(cell_state_path)

    def loss(x, U, W, b):
        diff = op(x, U, W, b) - Y
        return (diff * diff).sum() * 0.5

    try:
        passed = mg.gradcheck(loss, [x, U, W, b])
    except mg.GradcheckError:
        passed = False
    hand = mg.gradients(loss(x, U, W, b), [x])[0]
    output, _ = reference(x)
    true = mg.gradients((((output - Y) ** 2).sum() * 0.5), [x])[0]
    return passed, np.abs(hand - true).max(axis=(0, 2))  # one number per step


for steps in (1, 4):
    for path in (True, False):
        passed, error = check(steps, path)
        errors = " ".join(f"{e:.0e}" for e in error)
        print(
            f"T = {steps}, {'with' if path else 'without':>7} the c path: gradcheck {'passes' if passed else 'fails '}"
            f"   |dL/dx_t error| for t = 1 ... T: {errors}"
        )
        if path or steps == 1:
            assert passed and error.max() < 1e-9, "this backward should be right"
        else:
            assert not passed, "gradcheck should catch the missing path"
            assert error[-1] < 1e-9 and (error[:-1] > 1e-4).all(), "only the last step's dL/dx_t should survive"
print("one step: nothing is missing; more steps: every step but the last gets a wrong input gradient")
