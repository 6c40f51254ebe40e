"""Page 8, exercise: look inside one attention step. For a batch of two sources of different
lengths, check that each α_t is a distribution over the source (positive, summing to 1) that
gives padded positions exactly 0, and that c_t is the α-weighted mean of the encoder states h_j.
Then fix the weights at α_tj = 1/S: the result is the mean of h_1 … h_S that the lecture's third
context, c = g(h_1, …, h_S), reads (summary="map-mean").

    .venv/bin/python examples/exercises/08_attention_weights.py
"""

import numpy as np

import minigrad as mg
from minigrad.nn.seq2seq import BOS, Seq2Seq, pad

mg.manual_seed(0)
model = Seq2Seq(10, 10, embed_size=3, hidden_size=4, cell="gru", context="attention").double()
ids, lengths = pad([[5, 6, 7, 8, 9], [4, 5]])  # the second source is padded with 3 PAD
memory = model.encode(ids, lengths)
h = memory.outputs.data  # (batch, S, hidden): h_j, zero past each source's end

states = model.initial_state(memory)
previous = np.full(len(ids), BOS)
for t in (1, 2):
    c_t, alpha = model.attention(states[-1], memory.keys, memory.outputs, memory.mask_bias)  # query s'_{t-1}
    _, states, weights = model.step(previous, states, memory, t)  # the decoder's own step t: the same α_t
    a = alpha.data
    print(f"step {t}: α_t = {np.round(a, 4).tolist()}  (untrained: close to uniform)")
    assert np.allclose(a, weights.data)
    assert np.all(a >= 0) and np.allclose(a.sum(axis=1), 1.0)
    assert np.all(a[1, lengths[1] :] == 0.0), "padded positions get weight exactly 0"
    assert np.allclose(c_t.data, np.einsum("bs,bsh->bh", a, h)), "c_t = Σ_j α_tj h_j"
    previous = np.array([6, 6])  # as if y_1 were token 6 in both rows

# Fixed weights 1/S over the real positions: the mean of h_1 … h_S, which map-mean feeds to g.
fixed = (np.arange(ids.shape[1])[None, :] < lengths[:, None]) / lengths[:, None]
mean = np.einsum("bs,bsh->bh", fixed, h)
mg.manual_seed(0)
mean_model = Seq2Seq(10, 10, embed_size=3, hidden_size=4, cell="gru", context="every-step", summary="map-mean").double()
mean_model.encoder.load_state_dict(model.encoder.state_dict())
mean_model.source_embedding.load_state_dict(model.source_embedding.state_dict())
c = mean_model.encode(ids, lengths).context.data
expected = np.tanh(mean @ mean_model.g.weight.data.T + mean_model.g.bias.data)
print(f"c = g(mean of h_1 … h_S) for the two sources: {np.round(c, 3).tolist()}")
assert np.allclose(c, expected), "map-mean's c is g of attention's c_t with α fixed at 1/S"
