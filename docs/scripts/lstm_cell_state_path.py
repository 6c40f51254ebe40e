"""Why the LSTM's cell-state path matters for gradients (docs/cells.md).

A small LSTM (2 inputs, 3 hidden units, batch 2, 6 steps) with the loss
L = sum_t 1/2 |s_t - y_t|^2. Its gradients are computed three ways:

1. ``loss.backward()`` on minigrad's LSTM, checked by ``mg.gradcheck``;
2. a hand-written BPTT in NumPy, in the lecture's notation, that carries
   dL/dc_{t-1} = dL/dc_t * f_t back to the previous step;
3. the same hand-written BPTT *without* that term, as the textbook's
   ``LSTMCell_1_2.backward`` does: dc_t is computed from dL/ds_t alone and only
   dL/ds_{t-1} is passed back.

(2) agrees with backward() to rounding error; (3) does not, and finite
differences side with backward().

    .venv/bin/python docs/scripts/lstm_cell_state_path.py
"""

import numpy as np

import minigrad as mg

INPUT, HIDDEN, BATCH, STEPS = 2, 3, 2, 6

mg.manual_seed(0)
lstm = mg.nn.LSTM(INPUT, HIDDEN)
rng = np.random.default_rng(1)
X = rng.normal(size=(BATCH, STEPS, INPUT))
Y = rng.uniform(-0.5, 0.5, size=(BATCH, STEPS, HIDDEN))
NAMES = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
params = dict(lstm.named_parameters())


def loss_fn(x, *_params):
    output, _ = lstm(x)                       # output[:, t] is s_t
    diff = output - mg.tensor(Y)
    return (diff * diff).sum() * 0.5


# --- 1. backward(), derived from the forward pass --------------------------
x = mg.tensor(X, requires_grad=True, name="x")
print("mg.gradcheck(loss, [x, *parameters]):", mg.gradcheck(loss_fn, [x, *params.values()]))
lstm.zero_grad()
x.grad = None
loss_fn(x).backward()
autodiff = {name: params[name].grad.copy() for name in NAMES}
autodiff["x"] = x.grad.copy()


# --- 2 and 3. hand-written BPTT in the lecture's notation ------------------
def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def hand_written_bptt(cell_state_path):
    U = params["weight_ih_l0"].data.T         # (input, 4H), column blocks i | f | g | o
    W = params["weight_hh_l0"].data.T         # (H, 4H)
    b = params["bias_ih_l0"].data + params["bias_hh_l0"].data  # the lecture's single bias b_u
    H = HIDDEN
    # forward: h_t = x_t U + s_{t-1} W + b_u, split into the four gates
    s, c = [np.zeros((BATCH, H))], [np.zeros((BATCH, H))]
    gates = []
    for t in range(STEPS):
        h = X[:, t] @ U + s[-1] @ W + b
        i, f, g, o = sigmoid(h[:, :H]), sigmoid(h[:, H:2 * H]), np.tanh(h[:, 2 * H:3 * H]), sigmoid(h[:, 3 * H:])
        c.append(f * c[-1] + i * g)
        s.append(o * np.tanh(c[-1]))
        gates.append((i, f, g, o))
    # backward, last step first
    dU, dW, db = np.zeros_like(U), np.zeros_like(W), np.zeros_like(b)
    dX = np.zeros_like(X)
    ds_next = np.zeros((BATCH, H))            # dL/ds_t arriving from step t+1 through W
    dc_next = np.zeros((BATCH, H))            # dL/dc_t arriving from step t+1 through f_{t+1} * c_t
    for t in reversed(range(STEPS)):
        i, f, g, o = gates[t]
        s_t, c_t, c_prev, s_prev = s[t + 1], c[t + 1], c[t], s[t]
        ds = (s_t - Y[:, t]) + ds_next
        dc = ds * o * (1 - np.tanh(c_t) ** 2)
        if cell_state_path:
            dc = dc + dc_next
        dh = np.concatenate([
            dc * g * i * (1 - i),             # input gate
            dc * c_prev * f * (1 - f),        # forget gate
            dc * i * (1 - g ** 2),            # candidate
            ds * np.tanh(c_t) * o * (1 - o),  # output gate
        ], axis=1)
        dU += X[:, t].T @ dh
        dW += s_prev.T @ dh
        db += dh.sum(axis=0)
        dX[:, t] = dh @ U.T
        ds_next = dh @ W.T
        dc_next = dc * f                      # the cell-state path: c_t = f_t * c_{t-1} + ...
    # back to PyTorch's layout: weight_ih = U^T, weight_hh = W^T; both biases get db
    return {"weight_ih_l0": dU.T, "weight_hh_l0": dW.T, "bias_ih_l0": db, "bias_hh_l0": db, "x": dX}


full = hand_written_bptt(cell_state_path=True)
dropped = hand_written_bptt(cell_state_path=False)

print()
print(f"{'gradient':<14}{'|autodiff|max':>14}{'with c path':>14}{'without c path':>16}")
for name in NAMES + ["x"]:
    a = autodiff[name]
    print(f"{name:<14}{np.abs(a).max():>14.3g}{np.abs(full[name] - a).max():>14.1e}"
          f"{np.abs(dropped[name] - a).max():>16.1e}")
print("(the last two columns: max |hand-written - backward()|)")

# --- a finite-difference witness for one forget-gate weight ----------------
# row H + 0 of weight_hh is the forget gate's first unit, column 0 the first s_{t-1} unit
index = (HIDDEN, 0)
weight = params["weight_hh_l0"]
eps = 1e-6
with mg.no_grad():
    original = weight.data[index]
    weight.data[index] = original + eps
    above = loss_fn(mg.tensor(X)).item()
    weight.data[index] = original - eps
    below = loss_fn(mg.tensor(X)).item()
    weight.data[index] = original
numeric = (above - below) / (2 * eps)
print()
print(f"dL/d weight_hh_l0{list(index)} (forget gate): numeric {numeric:.8f}, backward() "
      f"{autodiff['weight_hh_l0'][index]:.8f},")
print(f"  hand-written with c path {full['weight_hh_l0'][index]:.8f}, "
      f"without c path {dropped['weight_hh_l0'][index]:.8f}")
