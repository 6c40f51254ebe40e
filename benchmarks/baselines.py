"""The floor: backpropagation through time written out by hand in NumPy, for RNN, LSTM and GRU.

minigrad's training step is timed against this: what a careful person writes without
autodiff. The training step is the benchmark's: forward over T steps, the mean squared
error of the last state h_T against a target y, backward through time, the weight and
bias gradients. The care taken:

- arrays are time-major, (T, B, ...): the data of step t is one contiguous block;
- every buffer is allocated once, when the floor is built, and reused by every step:
  ufuncs write into it with ``out=`` instead of making temporaries;
- weights are stored transposed, so that a step computes ``x @ W``; the LSTM's gates are
  reordered to (i, f, o, g), so that its three sigmoids are one contiguous block;
- what does not depend on the recursion is done for all T*B rows at once: the input
  projection of every step, the local derivatives of the nonlinearities, and each weight
  gradient are one matmul or one ufunc; the loops over time keep only what is sequential.

Each builder takes PyTorch's weights -- w_ih (G*H, I), w_hh (G*H, H), b_ih and b_hh (G*H,),
for G gates -- x batch first (B, T, I) and y (B, H), and returns a ``Floor``: ``step()``
runs one training step and returns the gradients in the floor's own layout, which
``torch_grads`` converts to PyTorch's names and layout (outside the timed step).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

Grads = dict[str, np.ndarray]


class Floor(NamedTuple):
    """One cell's hand-written training step, its buffers bound in."""

    step: Callable[[], Grads]  # one training step; its gradients, overwritten by the next step
    torch_grads: Callable[[Grads], Grads]  # the gradients as PyTorch's weight_ih_l0, ...


def _time_major(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(1, 0, 2))


def _transposed(w: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(w.T)


def _sigmoid_(a: np.ndarray) -> None:
    """a <- 1 / (1 + exp(-a)), in place."""
    np.negative(a, out=a)
    np.exp(a, out=a)
    a += 1
    np.reciprocal(a, out=a)


def tanh_sigmoid_(a: np.ndarray) -> None:
    """a <- (1 + tanh(a / 2)) / 2, in place: the same function as ``_sigmoid_``, computed as
    minigrad's ``sigmoid`` computes it. Not the floor's: run.py times a floor with this one to
    show what eager's formula costs a replay, which must make eager's calls."""
    np.multiply(a, 0.5, out=a)
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5


def _loss_grad(h_last: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    """dL/dh_T of L = mean((h_T - y)^2), into ``out``."""
    np.subtract(h_last, y, out=out)
    out *= 2 / out.size


def _torch_layout(
    w_x: np.ndarray, w_h: np.ndarray, b_x: np.ndarray, b_h: np.ndarray, order: np.ndarray | None = None
) -> Grads:
    """Gradients of the floor's transposed weights, with their gate rows in ``order``, as PyTorch's."""
    back = slice(None) if order is None else np.argsort(order)  # the floor's rows -> PyTorch's
    grads = {"weight_ih_l0": w_x.T, "weight_hh_l0": w_h.T, "bias_ih_l0": b_x, "bias_hh_l0": b_h}
    return {name: np.array(g[back]) for name, g in grads.items()}


def rnn_floor(
    w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray, x: np.ndarray, y: np.ndarray
) -> Floor:
    """tanh RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)."""
    xs = _time_major(x)
    steps, batch, inputs = xs.shape
    hidden, dtype = w_hh.shape[0], x.dtype
    x_rows = xs.reshape(steps * batch, inputs)
    w_x, w_h = _transposed(w_ih), _transposed(w_hh)
    w_h_back = w_h.T  # a view: d_h_{t-1} = d_pre_t @ W_hh
    bias = b_ih + b_hh
    hs = np.zeros((steps + 1, batch, hidden), dtype)  # hs[t + 1] = h after step t; hs[0] = 0
    h_rows = hs[1:].reshape(steps * batch, hidden)
    d_pre = np.empty((steps, batch, hidden), dtype)  # dL/d(pre-activation) of every step
    d_pre_rows = d_pre.reshape(steps * batch, hidden)
    recurrent = np.empty((batch, hidden), dtype)
    d_h = np.empty((batch, hidden), dtype)
    grads = {"w_x": np.empty_like(w_x), "w_h": np.empty_like(w_h), "b": np.empty_like(bias)}

    def step() -> Grads:
        np.matmul(x_rows, w_x, out=h_rows)  # every step's input projection, in place of its state
        np.add(h_rows, bias, out=h_rows)
        for t in range(steps):
            np.matmul(hs[t], w_h, out=recurrent)
            h = hs[t + 1]
            h += recurrent
            np.tanh(h, out=h)
        _loss_grad(hs[steps], y, d_h)
        np.multiply(hs[1:], hs[1:], out=d_pre)  # tanh' = 1 - h^2, for every step at once
        np.subtract(1, d_pre, out=d_pre)
        for t in reversed(range(steps)):
            d = d_pre[t]
            d *= d_h
            if t:
                np.matmul(d, w_h_back, out=d_h)
        np.matmul(x_rows.T, d_pre_rows, out=grads["w_x"])
        np.matmul(hs[:-1].reshape(steps * batch, hidden).T, d_pre_rows, out=grads["w_h"])
        np.sum(d_pre_rows, axis=0, out=grads["b"])
        return grads

    return Floor(step, lambda g: _torch_layout(g["w_x"], g["w_h"], g["b"], g["b"]))


def lstm_floor(
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    sigmoid_: Callable[[np.ndarray], None] = _sigmoid_,
) -> Floor:
    """LSTM: i, f, o = sigmoid(.), g = tanh(.) of x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh;
    c_t = f c_{t-1} + i g; h_t = o tanh(c_t)."""
    xs = _time_major(x)
    steps, batch, inputs = xs.shape
    hidden, dtype = w_hh.shape[1], x.dtype
    h1, h2, h3, h4 = hidden, 2 * hidden, 3 * hidden, 4 * hidden
    order = np.r_[0:h2, h3:h4, h2:h3]  # PyTorch's gate rows (i, f, g, o) -> ours (i, f, o, g)
    x_rows = xs.reshape(steps * batch, inputs)
    w_x, w_h = _transposed(w_ih[order]), _transposed(w_hh[order])
    w_h_back = w_h.T
    bias = (b_ih + b_hh)[order]
    acts = np.empty((steps, batch, h4), dtype)  # pre-activations, then the gates, in place
    acts_rows = acts.reshape(steps * batch, h4)
    cs = np.zeros((steps + 1, batch, hidden), dtype)  # cs[t + 1] = c after step t; cs[0] = 0
    hs = np.zeros((steps + 1, batch, hidden), dtype)
    tanh_c = np.empty((steps, batch, hidden), dtype)
    c_from_h = np.empty((steps, batch, hidden), dtype)  # dh_t/dc_t = o (1 - tanh(c_t)^2)
    d_pre = np.empty((steps, batch, h4), dtype)  # local derivatives, then dL/d(pre-activations)
    d_pre_rows = d_pre.reshape(steps * batch, h4)
    recurrent = np.empty((batch, h4), dtype)
    upstream = np.empty((batch, h4), dtype)  # dL/d(gate activations) of one step
    up_i, up_f, up_o, up_g = upstream[:, :h1], upstream[:, h1:h2], upstream[:, h2:h3], upstream[:, h3:]
    d_h, d_c, product = (np.empty((batch, hidden), dtype) for _ in range(3))
    grads = {"w_x": np.empty_like(w_x), "w_h": np.empty_like(w_h), "b": np.empty_like(bias)}

    def step() -> Grads:
        np.matmul(x_rows, w_x, out=acts_rows)
        np.add(acts_rows, bias, out=acts_rows)
        for t in range(steps):
            a = acts[t]
            np.matmul(hs[t], w_h, out=recurrent)
            a += recurrent
            sigmoid_(a[:, :h3])
            i, f, o, g = a[:, :h1], a[:, h1:h2], a[:, h2:h3], a[:, h3:]
            np.tanh(g, out=g)
            c = cs[t + 1]
            np.multiply(f, cs[t], out=c)
            np.multiply(i, g, out=product)
            c += product
            np.tanh(c, out=tanh_c[t])
            np.multiply(o, tanh_c[t], out=hs[t + 1])

        # Everything the backward walk multiplies by that does not depend on it, for all steps at once.
        np.multiply(tanh_c, tanh_c, out=c_from_h)
        np.subtract(1, c_from_h, out=c_from_h)
        np.multiply(c_from_h, acts[:, :, h2:h3], out=c_from_h)
        np.multiply(acts, acts, out=d_pre)
        np.subtract(acts[:, :, :h3], d_pre[:, :, :h3], out=d_pre[:, :, :h3])  # sigmoid' = s - s^2
        np.subtract(1, d_pre[:, :, h3:], out=d_pre[:, :, h3:])  # tanh' = 1 - g^2

        _loss_grad(hs[steps], y, d_h)
        d_c.fill(0)
        for t in reversed(range(steps)):
            a = acts[t]
            i, f, g = a[:, :h1], a[:, h1:h2], a[:, h3:]
            np.multiply(d_h, tanh_c[t], out=up_o)  # dL/do = dL/dh_t tanh(c_t)
            np.multiply(d_h, c_from_h[t], out=product)
            np.add(d_c, product, out=d_c)  # dL/dc_t: through h_t, and (already in d_c) through c_{t+1}
            np.multiply(d_c, g, out=up_i)  # c_t = f c_{t-1} + i g
            np.multiply(d_c, cs[t], out=up_f)
            np.multiply(d_c, i, out=up_g)
            np.multiply(d_c, f, out=d_c)  # c_{t-1}'s share
            d = d_pre[t]
            d *= upstream  # through the gates' nonlinearities
            if t:
                np.matmul(d, w_h_back, out=d_h)
        np.matmul(x_rows.T, d_pre_rows, out=grads["w_x"])
        np.matmul(hs[:-1].reshape(steps * batch, hidden).T, d_pre_rows, out=grads["w_h"])
        np.sum(d_pre_rows, axis=0, out=grads["b"])
        return grads

    return Floor(step, lambda g: _torch_layout(g["w_x"], g["w_h"], g["b"], g["b"], order))


def gru_floor(
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    sigmoid_: Callable[[np.ndarray], None] = _sigmoid_,
) -> Floor:
    """GRU, PyTorch's equations: r, z = sigmoid(x_t W_i.^T + b_i. + h_{t-1} W_h.^T + b_h.) for
    their gate rows, n = tanh(x_t W_in^T + b_in + r (h_{t-1} W_hn^T + b_hn)), h_t = (1 - z) n + z h_{t-1}."""
    xs = _time_major(x)
    steps, batch, inputs = xs.shape
    hidden, dtype = w_hh.shape[1], x.dtype
    h1, h2, h3 = hidden, 2 * hidden, 3 * hidden
    x_rows = xs.reshape(steps * batch, inputs)
    w_x, w_h = _transposed(w_ih), _transposed(w_hh)
    w_h_back = w_h.T
    bias = b_ih.copy()
    bias[:h2] += b_hh[:h2]  # r's and z's two biases add up; n's b_hn is multiplied by r, so stays apart
    b_hn = b_hh[h2:]
    acts = np.empty((steps, batch, h3), dtype)  # x-side pre-activations, then r, z, n in place
    acts_rows = acts.reshape(steps * batch, h3)
    hidden_n = np.empty((steps, batch, hidden), dtype)  # h_{t-1} W_hn^T + b_hn
    hs = np.zeros((steps + 1, batch, hidden), dtype)
    recurrent = np.empty((batch, h3), dtype)
    d_hh = np.empty((steps, batch, h3), dtype)  # dL/d(h_{t-1} W_hh^T + b_hh), gates r, z, n
    d_hh_rows = d_hh.reshape(steps * batch, h3)
    d_n_pre = np.empty((steps, batch, hidden), dtype)  # dL/d(n's pre-activation); r's and z's are d_hh's
    d_n_rows = d_n_pre.reshape(steps * batch, hidden)
    local = np.empty((steps, batch, h3), dtype)  # sigmoid'(r, z) and (1 - z) tanh'(n)
    d_h, product = np.empty((batch, hidden), dtype), np.empty((batch, hidden), dtype)
    grads = {
        "w_x": np.empty_like(w_x),
        "w_h": np.empty_like(w_h),
        "b_x": np.empty_like(b_ih),
        "b_h": np.empty_like(b_hh),
    }

    def step() -> Grads:
        np.matmul(x_rows, w_x, out=acts_rows)
        np.add(acts_rows, bias, out=acts_rows)
        for t in range(steps):
            a, h_prev, h = acts[t], hs[t], hs[t + 1]
            np.matmul(h_prev, w_h, out=recurrent)
            a[:, :h2] += recurrent[:, :h2]
            sigmoid_(a[:, :h2])
            r, z, n = a[:, :h1], a[:, h1:h2], a[:, h2:]
            np.add(recurrent[:, h2:], b_hn, out=hidden_n[t])
            np.multiply(r, hidden_n[t], out=product)
            n += product
            np.tanh(n, out=n)
            np.subtract(h_prev, n, out=h)  # h = n + z (h_prev - n)
            h *= z
            h += n

        rz, z, n = acts[:, :, :h2], acts[:, :, h1:h2], acts[:, :, h2:]
        np.multiply(rz, rz, out=local[:, :, :h2])
        np.subtract(rz, local[:, :, :h2], out=local[:, :, :h2])  # sigmoid' = s - s^2
        local_n = local[:, :, h2:]
        np.multiply(n, n, out=local_n)
        np.subtract(1, local_n, out=local_n)  # tanh'(n) ...
        np.subtract(1, z, out=d_n_pre)  # d_n_pre is free until the loop below
        local_n *= d_n_pre  # ... times dh_t/dn_t = 1 - z

        _loss_grad(hs[steps], y, d_h)
        for t in reversed(range(steps)):
            a, d, h_prev, d_n = acts[t], d_hh[t], hs[t], d_n_pre[t]
            r, z, n = a[:, :h1], a[:, h1:h2], a[:, h2:]
            np.multiply(d_h, local[t, :, h2:], out=d_n)
            np.subtract(h_prev, n, out=d[:, h1:h2])  # dL/dz = d_h (h_prev - n)
            d[:, h1:h2] *= d_h
            np.multiply(d_n, hidden_n[t], out=d[:, :h1])  # dL/dr
            d[:, :h2] *= local[t, :, :h2]  # through the sigmoids
            np.multiply(d_n, r, out=d[:, h2:])
            if t:
                np.multiply(d_h, z, out=d_h)  # h_{t-1}'s direct share, and through the gates:
                np.matmul(d, w_h_back, out=product)
                np.add(d_h, product, out=d_h)
        np.matmul(x_rows.T, d_hh_rows[:, :h2], out=grads["w_x"][:, :h2])
        np.matmul(x_rows.T, d_n_rows, out=grads["w_x"][:, h2:])
        np.matmul(hs[:-1].reshape(steps * batch, hidden).T, d_hh_rows, out=grads["w_h"])
        np.sum(d_hh_rows, axis=0, out=grads["b_h"])
        grads["b_x"][:h2] = grads["b_h"][:h2]
        np.sum(d_n_rows, axis=0, out=grads["b_x"][h2:])
        return grads

    return Floor(step, lambda g: _torch_layout(g["w_x"], g["w_h"], g["b_x"], g["b_h"]))


FLOORS: dict[str, Callable[..., Floor]] = {"rnn": rnn_floor, "lstm": lstm_floor, "gru": gru_floor}
