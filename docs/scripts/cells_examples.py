"""The examples and measurements of docs/cells.md, run, their output into docs/images/cells/.

    .venv/bin/python docs/scripts/cells_examples.py      (or: make docs-images; the torch parts need torch)

The page quotes this file's code sections (``# --8<-- [start:NAME]`` ... ``[end:NAME]``) and
their output, so what it shows is what ran:

- fuse_input.txt: fused and step-by-step input projections, outputs and gradients compared;
- padding.txt: the ``lengths=`` example's output;
- unroll.txt: the ``unroll()`` example's output;
- torch_packed.txt: ``lengths=`` against torch's ``pack_padded_sequence``;
- torch_lstm.txt, torch_lstm_summary.txt: the torch LSTM loaded into ``mg.nn.LSTM``, the comparison's
  output and a sentence on it;
- torch_float32.txt, torch_others.txt: the same without ``.double()``, and for RNN and GRU.

Without torch, the torch files are left as they were and a line says so.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad.io import write_atomically

OUT = Path(__file__).resolve().parents[2] / "docs" / "images" / "cells"
HAS_TORCH = importlib.util.find_spec("torch") is not None


def write(name: str, text: str) -> None:
    write_atomically(OUT / name, (text.rstrip("\n") + "\n").encode("utf-8"))
    print(f"wrote {OUT / name}")


def printed(example: Callable[[], None]) -> str:
    """What ``example()`` prints, as the page's output block shows it."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        example()
    return buffer.getvalue()


def largest(pairs) -> float:
    """The largest absolute difference over (a, b) pairs of arrays."""
    return max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in pairs)


def states(h_n) -> list:
    """h_n, or (h_n, c_n) for an LSTM, as a list of arrays."""
    return [s.numpy() for s in h_n] if isinstance(h_n, tuple) else [h_n.numpy()]


def fuse_input() -> None:
    """The same parameters with fuse_input True and False: 2 layers, bidirectional, float64."""
    x = np.random.default_rng(0).normal(size=(4, 7, 3))
    outputs, gradients = [], []
    for cell in ("rnn", "lstm", "gru"):
        mg.manual_seed(0)
        fused = mg.nn.Recurrent(cell, 3, 5, num_layers=2, bidirectional=True, fuse_input=True)
        stepwise = mg.nn.Recurrent(cell, 3, 5, num_layers=2, bidirectional=True, fuse_input=False)
        stepwise.load_state_dict(fused.state_dict())
        results = []
        for layer in (fused, stepwise):
            output, h_n = layer(mg.tensor(x))
            (output**2).sum().backward()
            grads = {name: p.grad for name, p in layer.named_parameters()}
            results.append((output.numpy(), states(h_n), grads))
        (y1, s1, g1), (y2, s2, g2) = results
        outputs.append(largest([(y1, y2), *zip(s1, s2)]))
        gradients.append(largest((g1[name], g2[name]) for name in g1))
    output_text = "were equal to the last bit" if max(outputs) == 0 else f"agreed to {max(outputs):.1e}"
    write("fuse_input.txt",
          f"Measured on 2-layer bidirectional RNN, LSTM and GRU layers (float64, gradients of `sum(output²)`; "
          f"`docs/scripts/cells_examples.py`), the outputs {output_text} and the gradients agreed to "
          f"{max(gradients):.1e}, rounding from summing in a different order.")  # fmt: skip


def padding() -> None:
    # fmt: off
    # --8<-- [start:padding]
    mg.manual_seed(0)
    lstm = mg.nn.LSTM(3, 5, bidirectional=True)
    x = np.random.default_rng(0).normal(size=(3, 6, 3))
    lengths = [6, 2, 4]                                  # sequence 1 has 2 real steps, then padding
    output, (h_n, c_n) = lstm(mg.tensor(x), lengths=lengths)
    print(abs(output.numpy()[1, 2:]).max())              # padded steps output zeros
    x[1, 2:] = 100.0                                     # change the padding ...
    output2, (h_n2, c_n2) = lstm(mg.tensor(x), lengths=lengths)
    print(abs(output2.numpy() - output.numpy()).max(),  # ... nothing moves
          abs(h_n2.numpy() - h_n.numpy()).max(), abs(c_n2.numpy() - c_n.numpy()).max())
    # --8<-- [end:padding]
    # fmt: on


def unroll() -> None:
    # fmt: off
    # --8<-- [start:unroll]
    mg.manual_seed(0)
    rnn = mg.nn.RNN(input_size=4, hidden_size=8, num_layers=2)
    V = mg.nn.Linear(8, 4)                                 # output layer: z_t = s_t V + b_v
    x_1 = mg.tensor(np.eye(4)[[0, 2]])                     # two start symbols, one-hot: (batch 2, input 4)
    output, h_n = rnn.unroll(x_1, steps=5, next_input=lambda s: V(s).softmax(axis=1))  # a_t becomes x_{t+1}
    print(output.shape, h_n.shape)
    # --8<-- [end:unroll]
    # fmt: on


def torch_packed() -> None:
    """lengths= against torch's packed sequences: 2 layers, bidirectional, float64."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.manual_seed(0)
    t = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True).double()
    m = mg.nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    m.load_state_dict({name: w.numpy() for name, w in t.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(3, 6, 3))
    lengths = [6, 2, 4]
    packed = pack_padded_sequence(torch.tensor(x), torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    y_packed, (h_t, c_t) = t(packed)
    y_t, _ = pad_packed_sequence(y_packed, batch_first=True, total_length=x.shape[1])  # zeros after each end
    y_m, (h_m, c_m) = m(mg.tensor(x), lengths=lengths)
    difference = largest([(y_t.detach(), y_m.numpy()), (h_t.detach(), h_m.numpy()), (c_t.detach(), c_m.numpy())])
    write("torch_packed.txt",
          f"Against `torch.nn.LSTM` on a `pack_padded_sequence` of the same batch (2 layers, bidirectional, "
          f"float64) the padded output, h_n and c_n differ by at most {difference:.1e}.")  # fmt: skip


def torch_lstm() -> None:
    import torch

    def example() -> None:
        # fmt: off
        # --8<-- [start:torch-load]
        torch.manual_seed(0)
        t = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True).double()
        m = mg.nn.LSTM(3, 5, num_layers=2, bidirectional=True)
        m.load_state_dict({name: w.numpy() for name, w in t.state_dict().items()})
        x = np.random.default_rng(0).normal(size=(4, 7, 3))                  # (batch, time, input)
        (y_t, (h_t, c_t)), (y_m, (h_m, c_m)) = t(torch.tensor(x)), m(mg.tensor(x))
        # --8<-- [end:torch-load]
        # fmt: on
        # fmt: off
        # --8<-- [start:torch-compare]
        print(y_m.shape, h_m.shape, c_m.shape)
        print("output", abs(y_t.detach().numpy() - y_m.numpy()).max())
        print("h_n, c_n", abs(h_t.detach().numpy() - h_m.numpy()).max(), abs(c_t.detach().numpy() - c_m.numpy()).max())
        y_t.pow(2).sum().backward()
        (y_m ** 2).sum().backward()
        mine = dict(m.named_parameters())
        print("gradients", max(abs(p.grad.numpy() - mine[name].grad).max() for name, p in t.named_parameters()))
        # --8<-- [end:torch-compare]
        # fmt: on

    output = printed(example)
    write("torch_lstm.txt", output)
    lines = output.splitlines()[1:]  # "output D", "h_n, c_n D D", "gradients D"
    numbers = {line.split()[0]: [float(v) for v in line.split()[-2:] if v[0].isdigit()] for line in lines}
    write("torch_lstm_summary.txt",
          f"Outputs and states agree to {max(numbers['output'] + numbers['h_n,']):.1e} and gradients to "
          f"{max(numbers['gradients']):.1e}: float64 rounding (torch {torch.__version__.split('+')[0]}, CPU).")  # fmt: skip


def torch_float32() -> None:
    """The same LSTM with torch in float32 (no .double()); minigrad loads the float32 weights."""
    import torch

    torch.manual_seed(0)
    t = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    m = mg.nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    m.load_state_dict({name: w.numpy() for name, w in t.state_dict().items()})  # kept float64 in minigrad
    x = np.random.default_rng(0).normal(size=(4, 7, 3))
    y_t, _ = t(torch.tensor(x, dtype=torch.float32))
    y_m, _ = m(mg.tensor(x))
    write("torch_float32.txt",
          f"without it torch computes in float32 and the outputs differ by up to "
          f"{largest([(y_t.detach().numpy(), y_m.numpy())]):.1e}, float32's rounding.")  # fmt: skip


def torch_others() -> None:
    """torch.nn.RNN (tanh, relu) and GRU loaded likewise: 2 layers, bidirectional, gradients of sum(output)."""
    import torch

    layers = [(torch.nn.RNN, mg.nn.RNN, {"nonlinearity": "tanh"}), (torch.nn.RNN, mg.nn.RNN, {"nonlinearity": "relu"}),
              (torch.nn.GRU, mg.nn.GRU, {})]  # fmt: skip
    outputs, gradients = [], []
    for torch_layer, mg_layer, options in layers:
        torch.manual_seed(0)
        t = torch_layer(3, 5, num_layers=2, bidirectional=True, batch_first=True, **options).double()
        m = mg_layer(3, 5, num_layers=2, bidirectional=True, **options)
        m.load_state_dict({name: w.numpy() for name, w in t.state_dict().items()})
        x = np.random.default_rng(0).normal(size=(4, 7, 3))
        (y_t, h_t), (y_m, h_m) = t(torch.tensor(x)), m(mg.tensor(x))
        outputs.append(largest([(y_t.detach(), y_m.numpy()), (h_t.detach(), h_m.numpy())]))
        y_t.sum().backward()
        y_m.sum().backward()
        mine = dict(m.named_parameters())
        gradients.append(largest((p.grad, mine[name].grad) for name, p in t.named_parameters()))
    write("torch_others.txt",
          f"measured likewise (2 layers, bidirectional, gradients of `sum(output)`), their outputs agree to "
          f"{max(outputs):.1e} and their gradients to {max(gradients):.1e}.")  # fmt: skip


def main() -> None:
    fuse_input()
    write("padding.txt", printed(padding))
    write("unroll.txt", printed(unroll))
    if not HAS_TORCH:  # torch is not a dependency: make docs-images goes on
        print("cells_examples.py: torch is not installed, docs/images/cells/torch_*.txt left as they were")
        return
    torch_packed()
    torch_lstm()
    torch_float32()
    torch_others()


if __name__ == "__main__":
    main()
