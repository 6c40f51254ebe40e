"""Page 2, exercise: which losses send gradient to which state?

In the many-to-many structure every step has a loss. For each loss_k and each state s_t, compute
d loss_k / d s_t with mg.gradients and mark where it is not zero. Then, in the encoder-decoder,
cut the one edge from the encoder to the decoder (s_3.detach()) and see what the encoder's
weights still learn from the decoder's losses.

    .venv/bin/python examples/exercises/02_gradient_sources.py      (no training: one forward pass each)
"""

import numpy as np

import minigrad as mg

STEPS, HIDDEN = 3, 2


def cell_and_head() -> tuple[mg.nn.Cell, mg.nn.Linear]:
    """One step of mg.nn.RNN (no biases, as page 2) and the output layer V."""
    return mg.nn.RNN(1, HIDDEN, bias=False).cells[0], mg.nn.Linear(HIDDEN, 1)


def many_to_many(x: np.ndarray, y: np.ndarray) -> tuple[list[mg.Tensor], list[mg.Tensor]]:
    """The states s_1 ... s_T and the losses loss_1 ... loss_T, one per step."""
    cell, head = cell_and_head()
    s, states, losses = cell.init_state(1), [], []
    for t in range(STEPS):
        s, _ = cell(mg.tensor(x[:, t]), s)
        states.append(s)
        losses.append(mg.nn.bce_with_logits(head(s), y[:, t]))
    return states, losses


mg.manual_seed(0)
rng = np.random.default_rng(0)
x, y = rng.uniform(0, 1, (1, STEPS, 1)), np.array([[[1.0], [0.0], [1.0]]])
states, losses = many_to_many(x, y)
reaches = np.array([[np.abs(g).sum() > 0 for g in mg.gradients(loss, states, retain_graph=True)] for loss in losses])
print("d loss_k / d s_t is not zero (x) or zero (.):")
print("         " + "  ".join(f"s_{t + 1}" for t in range(STEPS)))
for k, row in enumerate(reaches):
    print(f"  loss_{k + 1}  " + "    ".join("x" if r else "." for r in row))
for t in range(STEPS):
    print(f"s_{t + 1} hears from {reaches[:, t].sum()} loss(es)")
assert np.array_equal(reaches, np.tril(np.ones((STEPS, STEPS), dtype=bool)))  # loss_k reaches s_1 ... s_k only

# Encoder-decoder: read 3 steps with one cell, write 2 with another that starts from s_3.
for cut in (False, True):
    mg.manual_seed(0)
    (encoder, _), (decoder, head) = cell_and_head(), cell_and_head()
    s = encoder.init_state(1)
    for t in range(STEPS):
        s, _ = encoder(mg.tensor(x[:, t]), s)
    if cut:
        s = s.detach()  # the context no longer links the two halves
    losses = []
    for t, previous in enumerate([0.0, y[0, 0, 0]]):  # a start symbol, then the right answer (teacher forcing)
        s, _ = decoder(mg.tensor([[previous]]), s)
        losses.append(mg.nn.bce_with_logits(head(s), y[:, t]))
    mg.stack(losses).sum().backward()
    grads = [p.grad for p in (encoder.weight_ih, encoder.weight_hh)]  # None: backward never reached it
    norm = sum(0.0 if g is None else np.linalg.norm(g) for g in grads)
    print(
        f"encoder-decoder, {'s_3 detached' if cut else 's_3 carried'}: |gradient of the encoder's U and W| = {norm:.4f}"
    )
    assert (norm == 0) == cut  # everything the encoder learns from the decoder's losses comes through s_3
