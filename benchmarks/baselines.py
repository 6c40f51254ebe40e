"""The floor: BPTT written out by hand in NumPy for RNN, LSTM and GRU, PyTorch's equations.

This is what a careful person writes without autodiff: the input projection of every
step in one matmul, the weight gradients in one matmul over all T*B rows, ufuncs in
place. minigrad's training step is timed against it, and its gradients are checked
equal to minigrad's in the same run. The loss is the mean squared error of the last
step's output h_T against a target y, as in the benchmark.

Shapes: x (B, T, I), weights as PyTorch's (gates*H, I) and (gates*H, H), batch first.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(a: np.ndarray) -> np.ndarray:
    out = np.negative(a)
    np.exp(out, out=out)
    out += 1
    np.reciprocal(out, out=out)
    return out


def _projection(x: np.ndarray, w_ih: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x_t W_ih^T + b for every step at once: (B, T, gates*H)."""
    batch, steps, inputs = x.shape
    return (x.reshape(batch * steps, inputs) @ w_ih.T + b).reshape(batch, steps, -1)


def _input_grads(x: np.ndarray, w_ih: np.ndarray, d_pre: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From d(pre-activations) of every step (B, T, G): dW_ih, d(bias) and dx, one matmul each."""
    batch, steps, inputs = x.shape
    flat = d_pre.reshape(batch * steps, -1)
    return flat.T @ x.reshape(batch * steps, inputs), flat.sum(axis=0), (flat @ w_ih).reshape(x.shape)


def rnn_step(x, y, w_ih, w_hh, b_ih, b_hh):
    """Forward and backward of a tanh RNN; returns loss and gradients (as PyTorch names them)."""
    batch, steps, _ = x.shape
    hidden = w_hh.shape[0]
    pre = _projection(x, w_ih, b_ih + b_hh)
    states = np.empty((batch, steps + 1, hidden), dtype=x.dtype)  # states[:, t+1] = h_t
    states[:, 0] = 0
    w_hh_t = w_hh.T
    for t in range(steps):
        a = pre[:, t]
        a += states[:, t] @ w_hh_t
        np.tanh(a, out=states[:, t + 1])
    diff = states[:, -1] - y
    loss = float(np.mean(diff * diff))
    d_h = diff * (2 / diff.size)
    d_pre = np.empty_like(pre)
    for t in range(steps - 1, -1, -1):
        h = states[:, t + 1]
        d_a = d_pre[:, t]
        np.multiply(h, h, out=d_a)
        np.subtract(1, d_a, out=d_a)
        d_a *= d_h
        d_h = d_a @ w_hh
    flat = d_pre.reshape(batch * steps, hidden)
    d_w_hh = flat.T @ states[:, :-1].reshape(batch * steps, hidden)
    d_w_ih, d_b, d_x = _input_grads(x, w_ih, d_pre)
    return loss, {"weight_ih_l0": d_w_ih, "weight_hh_l0": d_w_hh, "bias_ih_l0": d_b, "bias_hh_l0": d_b.copy(), "x": d_x}


def lstm_step(x, y, w_ih, w_hh, b_ih, b_hh):
    """Forward and backward of an LSTM (gates i, f, g, o); returns loss and gradients."""
    batch, steps, _ = x.shape
    hidden = w_hh.shape[0] // 4
    gates = _projection(x, w_ih, b_ih + b_hh)  # pre-activations, then activations in place
    hs = np.empty((batch, steps + 1, hidden), dtype=x.dtype)
    cs = np.empty((batch, steps + 1, hidden), dtype=x.dtype)
    tanh_c = np.empty((batch, steps, hidden), dtype=x.dtype)
    hs[:, 0] = cs[:, 0] = 0
    w_hh_t = w_hh.T
    for t in range(steps):
        g_t = gates[:, t]
        g_t += hs[:, t] @ w_hh_t
        i, f, g, o = (g_t[:, k * hidden : (k + 1) * hidden] for k in range(4))
        i[...] = _sigmoid(i)
        f[...] = _sigmoid(f)
        np.tanh(g, out=g)
        o[...] = _sigmoid(o)
        c = cs[:, t + 1]
        np.multiply(f, cs[:, t], out=c)
        c += i * g
        np.tanh(c, out=tanh_c[:, t])
        np.multiply(o, tanh_c[:, t], out=hs[:, t + 1])
    diff = hs[:, -1] - y
    loss = float(np.mean(diff * diff))
    d_h = diff * (2 / diff.size)
    d_c = np.zeros((batch, hidden), dtype=x.dtype)
    d_pre = np.empty_like(gates)
    for t in range(steps - 1, -1, -1):
        g_t = gates[:, t]
        i, f, g, o = (g_t[:, k * hidden : (k + 1) * hidden] for k in range(4))
        di, df, dg, do = (d_pre[:, t, k * hidden : (k + 1) * hidden] for k in range(4))
        tc = tanh_c[:, t]
        np.multiply(d_h, tc, out=do)
        d_c += d_h * o * (1 - tc * tc)  # the cell-state path: dL/dc_t from h_t and from c_{t+1}
        np.multiply(d_c, g, out=di)
        np.multiply(d_c, cs[:, t], out=df)
        np.multiply(d_c, i, out=dg)
        d_c *= f  # carried to c_{t-1}
        di *= i * (1 - i)
        df *= f * (1 - f)
        dg *= 1 - g * g
        do *= o * (1 - o)
        d_h = d_pre[:, t] @ w_hh
    flat = d_pre.reshape(batch * steps, 4 * hidden)
    d_w_hh = flat.T @ hs[:, :-1].reshape(batch * steps, hidden)
    d_w_ih, d_b, d_x = _input_grads(x, w_ih, d_pre)
    return loss, {"weight_ih_l0": d_w_ih, "weight_hh_l0": d_w_hh, "bias_ih_l0": d_b, "bias_hh_l0": d_b.copy(), "x": d_x}


def gru_step(x, y, w_ih, w_hh, b_ih, b_hh):
    """Forward and backward of a GRU (gates r, z, n); returns loss and gradients."""
    batch, steps, _ = x.shape
    hidden = w_hh.shape[0] // 3
    xs = _projection(x, w_ih, b_ih)  # x W_ih^T + b_ih, (B, T, 3H)
    hs = np.empty((batch, steps + 1, hidden), dtype=x.dtype)
    hs[:, 0] = 0
    rz = np.empty((batch, steps, 2 * hidden), dtype=x.dtype)
    ns = np.empty((batch, steps, hidden), dtype=x.dtype)
    hn = np.empty((batch, steps, hidden), dtype=x.dtype)  # h W_hn^T + b_hn, needed for dr
    w_hh_t = w_hh.T
    for t in range(steps):
        hh = hs[:, t] @ w_hh_t + b_hh
        rz[:, t] = _sigmoid(xs[:, t, : 2 * hidden] + hh[:, : 2 * hidden])
        r, z = rz[:, t, :hidden], rz[:, t, hidden:]
        hn[:, t] = hh[:, 2 * hidden :]
        np.tanh(xs[:, t, 2 * hidden :] + r * hn[:, t], out=ns[:, t])
        n = ns[:, t]
        hs[:, t + 1] = n + z * (hs[:, t] - n)  # (1 - z) n + z h
    diff = hs[:, -1] - y
    loss = float(np.mean(diff * diff))
    d_h = diff * (2 / diff.size)
    d_x_pre = np.empty_like(xs)  # d(x W_ih^T + b_ih)
    d_h_pre = np.empty_like(xs)  # d(h W_hh^T + b_hh)
    for t in range(steps - 1, -1, -1):
        r, z, n, h_prev = rz[:, t, :hidden], rz[:, t, hidden:], ns[:, t], hs[:, t]
        d_n = d_h * (1 - z) * (1 - n * n)
        d_z = d_h * (h_prev - n) * z * (1 - z)
        d_r = d_n * hn[:, t] * r * (1 - r)
        d_x_pre[:, t, :hidden] = d_r
        d_x_pre[:, t, hidden : 2 * hidden] = d_z
        d_x_pre[:, t, 2 * hidden :] = d_n
        d_h_pre[:, t, : 2 * hidden] = d_x_pre[:, t, : 2 * hidden]
        d_h_pre[:, t, 2 * hidden :] = d_n * r
        d_h = d_h * z + d_h_pre[:, t] @ w_hh
    flat = d_h_pre.reshape(batch * steps, 3 * hidden)
    d_w_hh = flat.T @ hs[:, :-1].reshape(batch * steps, hidden)
    d_w_ih, d_b_ih, d_x = _input_grads(x, w_ih, d_x_pre)
    return loss, {"weight_ih_l0": d_w_ih, "weight_hh_l0": d_w_hh, "bias_ih_l0": d_b_ih, "bias_hh_l0": flat.sum(axis=0), "x": d_x}


BASELINES = {"rnn": rnn_step, "lstm": lstm_step, "gru": gru_step}
