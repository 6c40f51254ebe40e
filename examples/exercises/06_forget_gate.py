"""Page 6, exercise 2: the forget gate sets how much gradient the cell-state road carries.

Along the road c_t = f_t ⊙ c_{t-1} + ..., one step back multiplies dL/dc_t by f_t alone. From the
last step back to the first that is the product f_T ⊙ ... ⊙ f_2: with PyTorch's initialisation
f_t ≈ σ(0) = 0.5, with the forget bias opened to 2, f_t ≈ σ(2). This script builds the LSTM of
page 6's experiment at initialisation (remember-the-first-input, the same seed, sizes and
probe batch as examples/06_lstm_gru.py), steps the cell by hand to keep every c_t and f_t, and
compares three things for each bias:

    the typical forget gate, mean f_t
    the road's own product, ∏ f_t over the steps, averaged over the units and the batch
    the measured ratio ‖dL/dc_1‖ / ‖dL/dc_T‖ (every path, from mg.gradients)

The measured ratio also counts the paths through s_t and W, so it sits above the road's product;
the jump from one bias to the other is the road's.

    python examples/exercises/06_forget_gate.py
"""

import numpy as np

import minigrad as mg
from minigrad.gradflow import RememberFirst, remember_first_data

STEPS, HIDDEN = 30, 16  # page 6's experiment: see docs/images/06/gradflow.txt


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def at_init(forget_bias: float | None) -> tuple[float, float, float]:
    """Mean f_t, mean ∏ f_t, and ‖dL/dc_1‖ / ‖dL/dc_T‖ for the untrained model."""
    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    model = RememberFirst("lstm", STEPS, HIDDEN)
    cell = model.rnn.cells[0]
    forget = slice(HIDDEN, 2 * HIDDEN)  # the blocks are stacked i, f, g, o
    if forget_bias is not None:
        cell.bias_ih.data[forget], cell.bias_hh.data[forget] = 0.0, forget_bias
    x, target = remember_first_data(rng, 32, STEPS)  # the example's probe batch

    state, cs, fs = cell.init_state(len(x)), [], []
    for t in range(STEPS):
        projected = cell.input_projection(mg.tensor(x[:, t]))
        h_prev = state[0].data
        # f_t, recomputed from the same numbers the cell adds up (its forget block)
        fs.append(sigmoid(projected.data[:, forget] + h_prev @ cell.weight_hh.data[forget].T))
        output, state = cell.recurrence(projected, state)
        cs.append(state[1])
    loss = mg.nn.cross_entropy(model.readout(output), target)
    grads = mg.gradients(loss, cs)

    road = np.prod(fs[1:], axis=0)  # f_2 ⊙ ... ⊙ f_T: from c_T back to c_1 along the road
    return float(np.mean(fs)), float(road.mean()), float(np.linalg.norm(grads[0]) / np.linalg.norm(grads[-1]))


print(f"{'':<26}{'mean f_t':>9}{'road ∏ f_t':>12}{'‖dL/dc_1‖/‖dL/dc_T‖':>22}")
results = {}
for label, bias in (("PyTorch's init (bias ≈ 0)", None), ("forget bias 2", 2.0)):
    results[label] = mean_f, road, measured = at_init(bias)
    print(f"{label:<26}{mean_f:9.3f}{road:12.1e}{measured:22.1e}")
closed, opened = results.values()
assert abs(closed[0] - sigmoid(0)) < 0.05 and abs(opened[0] - sigmoid(2)) < 0.05, "f_t sits near σ(bias)"
assert opened[2] > 1e4 * closed[2], "opening the gate lets orders of magnitude more gradient reach step 1"
assert closed[2] > closed[1] and opened[2] > opened[1], "the other paths (through h and W) only add"
road_jump, measured_jump = opened[1] / closed[1], opened[2] / closed[2]
print(
    f"opening the gate multiplies the road's product by {road_jump:.1e} and the measured ratio by {measured_jump:.1e}"
)
assert 0.1 < measured_jump / road_jump < 10, "the road accounts for the jump"
print("the measured ratio is above the road's product (other paths add to it), and the jump")
print("between the two biases is the road's: opening the forget gate opens the road")
