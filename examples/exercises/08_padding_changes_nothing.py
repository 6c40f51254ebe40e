"""Page 8, exercise: pad a batch further (more PAD columns after every source and target) and
show that neither the loss nor any gradient changes, for each context and summary.

The three masks see to it: the encoder carries its state unchanged past each source's end
(so c is the state at the last real token, and the mean divides by the real length), attention
adds -1e9 to padded positions' scores, and sequence_loss gives padded targets weight 0.

    .venv/bin/python examples/exercises/08_padding_changes_nothing.py
"""

import numpy as np

import minigrad as mg
from minigrad.nn.seq2seq import PAD, Seq2Seq, pad, sequence_loss

BOS, EOS = 1, 2
sources = [[5, 6, 7, 8], [9, 5]]  # two sources of different lengths (ids 3 and up are tokens)
targets = [[4, 5, 6], [7]]


def loss_and_gradients(model, extra):
    """The loss and every parameter's gradient, with ``extra`` more PAD columns than needed."""
    ids, lengths = pad(sources, max(map(len, sources)) + extra)
    target_in, _ = pad([[BOS, *t] for t in targets], 4 + extra)
    target_out, _ = pad([[*t, EOS] for t in targets], 4 + extra)
    model.zero_grad()
    loss = sequence_loss(model(ids, lengths, target_in), target_out)
    loss.backward()
    return loss.item(), {name: p.grad.copy() for name, p in model.named_parameters() if p.grad is not None}


for context, summary in (("init", "last"), ("every-step", "map-mean"), ("attention", "last")):
    mg.manual_seed(0)
    model = Seq2Seq(10, 10, embed_size=3, hidden_size=4, cell="gru", context=context, summary=summary).double()
    loss, grads = loss_and_gradients(model, 0)
    loss_padded, grads_padded = loss_and_gradients(model, 3)
    worst = max(float(np.max(np.abs(grads[n] - grads_padded[n]))) for n in grads)
    print(
        f"{context:<10} {summary:<8}: loss {loss:.6f} -> {loss_padded:.6f} with 3 more PAD columns; "
        f"{len(grads)} gradients, largest change {worst:.1e}"
    )
    assert grads.keys() == grads_padded.keys()
    assert abs(loss - loss_padded) < 1e-12 and worst < 1e-12
assert PAD == 0
