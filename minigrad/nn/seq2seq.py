"""Encoder–decoder (seq2seq): many-to-many of unequal length, built from any registered cell.

The encoder reads the source x_1 … x_S and leaves states h_1 … h_S. Its summary of the
source is the context c (the lecture's 语义编码向量); the lecture gives three ways to get it
(``summary=``):

- ``"last"``: c = h_S, the last state as it is;
- ``"map-last"``: c = g(h_S) = tanh(W_g h_S + b_g), a learned map of the last state;
- ``"map-mean"``: c = g(h_1 … h_S) = tanh(W_g mean_j h_j + b_g), a learned map of all of them.

The decoder then writes the target one token at a time, each step fed the previous token
y_{t−1}, its first state s'_0 = c. How it sees c afterwards (``context=``): the lecture's two
structures, and attention beyond them:

- ``"every-step"`` (the lecture's first structure): c also enters every step,
  s'_t = f(y_{t−1}, s'_{t−1}, c), and the output layer sees it: z_t = V [s'_t; c];
- ``"init"`` (its second structure): c only initialises the state, then s'_t = f(y_{t−1}, s'_{t−1});
- ``"attention"`` (Bahdanau et al. 2015, not in the lecture): every step gets its own context
  c_t = Σ_j α_tj h_j, a weighted mean of all encoder outputs, the weights α_t a softmax
  of how well s'_{t−1} matches each h_j.

Token ids 0, 1 and 2 are reserved in every vocabulary: ``PAD`` fills sequences out to the
batch's longest, ``BOS`` starts the decoder's input and ``EOS`` ends each target. Padding
never reaches the loss or a gradient: the encoder stops at each source's length (its outputs
there are 0, and the mean divides by the real length), the attention gives padded positions
weight 0, and ``sequence_loss`` masks padded targets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from minigrad.errors import ShapeError
from minigrad.grad_mode import no_grad, time_step
from minigrad.nn.cell import Cell, State
from minigrad.nn.layers import Embedding, Linear, integer_ids
from minigrad.nn.losses import cross_entropy
from minigrad.nn.module import Module
from minigrad.nn.recurrent import Recurrent
from minigrad.rng import default_rng
from minigrad.tensor import Tensor, concat, stack

PAD, BOS, EOS = 0, 1, 2
Context = Literal["init", "every-step", "attention"]
CONTEXTS: tuple[str, ...] = ("init", "every-step", "attention")
Summary = Literal["last", "map-last", "map-mean"]
SUMMARIES: tuple[str, ...] = ("last", "map-last", "map-mean")


class AdditiveAttention(Module):
    """Bahdanau's additive attention: e_tj = vᵀ tanh(W_a s'_{t−1} + U_a h_j),
    α_t = softmax_j(e_t) over the real source positions, c_t = Σ_j α_tj h_j."""

    def __init__(self, query_size: int, key_size: int, attention_size: int):
        super().__init__()
        self.query = Linear(query_size, attention_size, bias=False)  # W_a
        self.key = Linear(key_size, attention_size)  # U_a (and a bias)
        self.score = Linear(attention_size, 1, bias=False)  # vᵀ

    def keys(self, encoder_outputs: Tensor) -> Tensor:
        """U_a h_j for every source position: computed once per sentence, used at every step."""
        return self.key(encoder_outputs)

    def forward(self, query: Tensor, keys: Tensor, values: Tensor, mask_bias: Tensor) -> tuple[Tensor, Tensor]:
        """query s'_{t−1} (batch, hidden), keys (batch, S, attention), values h (batch, S, hidden),
        mask_bias (batch, S): 0 at real positions, −1e9 at padding. Returns (c_t, α_t)."""
        batch, steps, size = keys.shape
        scores = self.score((keys + self.query(query).reshape(batch, 1, size)).tanh()).reshape(batch, steps)
        weights = (scores + mask_bias).softmax(axis=1)  # exp(−1e9) is exactly 0: padding gets no weight
        context = (weights.reshape(batch, steps, 1) * values).sum(axis=1)
        return context, weights


@dataclass
class Memory:
    """What the decoder reads from the encoder: its outputs h_1 … h_S, its final state,
    the context c (h_S of the top layer, or a learned map of it or of the mean), and (for attention) the keys and padding mask."""

    outputs: Tensor
    final: State
    context: Tensor
    keys: Tensor | None = None
    mask_bias: Tensor | None = None

    def repeat(self, times: int) -> Memory:
        """Each sentence's memory ``times`` times in a row (one copy per beam)."""
        def rows(t: Tensor | None, axis: int = 0) -> Tensor | None:
            return None if t is None else Tensor(np.repeat(t.data, times, axis=axis))

        final = tuple(rows(s, 1) for s in self.final) if isinstance(self.final, tuple) else rows(self.final, 1)
        return Memory(rows(self.outputs), final, rows(self.context), rows(self.keys), rows(self.mask_bias))


@dataclass
class Decoded:
    """One decoded batch: the token ids of each sequence (``EOS`` dropped) and, with
    attention, each sequence's weights α (target step × source position)."""

    tokens: list[list[int]]
    attention: list[np.ndarray] = field(default_factory=list)


class Seq2Seq(Module):
    """An encoder–decoder of any registered cells (``cell`` for the encoder, ``decoder_cell``
    for the decoder, the same by default), with embeddings and a linear + softmax head.
    ``summary`` chooses what c is and ``context`` how the decoder sees it (module docstring).

    ``model(source, lengths, target_in)`` returns the logits z_t for every target step
    (batch, T, target_vocab), the decoder fed ``target_in`` = BOS y_1 … y_{T−1} (teacher
    forcing); with ``teacher_forcing < 1`` each step instead gets, with probability
    1 − teacher_forcing, the model's own previous guess. ``decode`` translates greedily
    (``beam=1``) or with beam search.
    """

    def __init__(
        self,
        source_vocab: int,
        target_vocab: int,
        embed_size: int,
        hidden_size: int,
        cell: str | type[Cell] = "gru",
        decoder_cell: str | type[Cell] | None = None,
        num_layers: int = 1,
        context: Context = "attention",
        summary: Summary = "last",
    ):
        super().__init__()
        if context not in CONTEXTS:
            raise ValueError(f"Seq2Seq: context must be one of {', '.join(CONTEXTS)}; got {context!r}")
        if summary not in SUMMARIES:
            raise ValueError(f"Seq2Seq: summary must be one of {', '.join(SUMMARIES)}; got {summary!r}")
        self.context_mode, self.summary, self.hidden_size, self.num_layers = context, summary, hidden_size, num_layers
        self.source_embedding = Embedding(source_vocab, embed_size)
        self.target_embedding = Embedding(target_vocab, embed_size)
        self.encoder = Recurrent(cell, embed_size, hidden_size, num_layers)
        extra = 0 if context == "init" else hidden_size  # c (or c_t) enters each step and the head
        self.decoder = Recurrent(decoder_cell or cell, embed_size + extra, hidden_size, num_layers)
        self.attention = AdditiveAttention(hidden_size, hidden_size, hidden_size) if context == "attention" else None
        self.out = Linear(hidden_size + extra, target_vocab)  # V
        self.g = None if summary == "last" else Linear(hidden_size, hidden_size)  # W_g, b_g of c = tanh(W_g … + b_g)
        self.label_parameters()  # pictures name each parameter by where it sits: encoder.weight_ih_l0

    # -- the encoder -------------------------------------------------------------------------------
    def encode(self, source: np.ndarray, lengths: np.ndarray) -> Memory:
        """Read the padded source ids (batch, S) up to each ``lengths``: h_1 … h_S and c."""
        source, lengths = integer_ids(source, "Seq2Seq: source token ids"), np.asarray(lengths)
        with time_step(None, direction="encoder"):
            embedded = self.source_embedding(source)
        outputs, final = self.encoder(embedded, lengths=lengths)
        context = (final[0] if isinstance(final, tuple) else final)[self.num_layers - 1]  # h_S
        if self.g is not None:
            with time_step(None, direction="encoder"):  # once per sentence: drawn outside the steps
                if self.summary == "map-mean":  # outputs past a source's end are 0: divide by the real length
                    context = outputs.sum(axis=1) * Tensor((1.0 / lengths)[:, None].astype(outputs.dtype))
                    context.name = "mean h"
                context = self.g(context).tanh()
        context.name = "c"
        memory = Memory(outputs, final, context)
        if self.attention is not None:
            with time_step(None, direction="encoder"):
                memory.keys = self.attention.keys(outputs)
            padding = np.arange(source.shape[1])[None, :] >= lengths[:, None]
            memory.mask_bias = Tensor(np.where(padding, -1e9, 0.0).astype(outputs.dtype))
        return memory

    def initial_state(self, memory: Memory) -> list[State]:
        """s'_0 of each decoder layer: the encoder's final state of that layer when both cells
        keep the same kind of state; otherwise the decoder's zeros with h replaced by the encoder's h.
        With a learned c, the top layer's h is c instead (an LSTM's memory cell stays the encoder's)."""
        batch = memory.context.shape[0]
        states = []
        for layer, cell in enumerate(self.decoder.cells):
            start = cell.init_state(batch)
            final = memory.final
            if isinstance(final, tuple) == isinstance(start, tuple) and (
                not isinstance(start, tuple) or len(start) == len(final)
            ):
                states.append(tuple(f[layer] for f in final) if isinstance(final, tuple) else final[layer])
            else:
                h = (final[0] if isinstance(final, tuple) else final)[layer]
                states.append((h, *start[1:]) if isinstance(start, tuple) else h)
        if self.g is not None:  # s'_0 = c; with c = h_S the states above hold it already
            top = states[-1]
            states[-1] = (memory.context, *top[1:]) if isinstance(top, tuple) else memory.context
        return states

    # -- one decoder step ----------------------------------------------------------------------------
    def step(self, previous: np.ndarray, states: list[State], memory: Memory, t: int = 1) -> tuple[Tensor, list[State], Tensor | None]:
        """Decoder step t: from y_{t−1} (batch,) ids and s'_{t−1}, the logits z_t (batch, vocab),
        the new states and (with attention) the weights α_t (batch, S)."""
        with time_step(t, direction="decoder"):
            x = self.target_embedding(previous)
            weights, context = None, None
            if self.context_mode == "every-step":
                context = memory.context
            elif self.attention is not None:
                top = states[-1][0] if isinstance(states[-1], tuple) else states[-1]
                context, weights = self.attention(top, memory.keys, memory.outputs, memory.mask_bias)
                context.name, weights.name = "c_t", "α_t"
            h = x if context is None else concat([x, context], axis=1)
            new_states = []
            for cell, state in zip(self.decoder.cells, states):
                h, state = cell(h, state)
                new_states.append(state)
            features = h if context is None else concat([h, context], axis=1)
            logits = self.out(features)
            logits.name = "z_t"
        return logits, new_states, weights

    # -- training --------------------------------------------------------------------------------------
    def forward(self, source: Any, lengths: Any, target_in: Any, teacher_forcing: float = 1.0) -> Tensor:
        """Logits for every target step, (batch, T, target_vocab), the decoder fed ``target_in``
        (BOS y_1 … y_{T−1}), or its own last guess with probability 1 − teacher_forcing per step."""
        target_in = integer_ids(target_in, "Seq2Seq: target_in token ids")
        memory = self.encode(source, lengths)
        if target_in.ndim != 2 or target_in.shape[0] != memory.context.shape[0]:
            raise ShapeError(f"Seq2Seq: target_in must be (batch, T) ids for {memory.context.shape[0]} sources, got {target_in.shape}")
        states, logits = self.initial_state(memory), []
        previous = target_in[:, 0]
        for t in range(target_in.shape[1]):
            if t > 0:
                gold = target_in[:, t]
                own = default_rng().random() >= teacher_forcing if teacher_forcing < 1 else False
                previous = _never_pad_or_bos(logits[-1].data).argmax(axis=1) if own else gold  # ids: no gradient
            z, states, _ = self.step(previous, states, memory, t + 1)
            logits.append(z)
        return stack(logits, axis=1)

    # -- inference -----------------------------------------------------------------------------------
    def decode(self, source: Any, lengths: Any, max_length: int, beam: int = 1) -> Decoded:
        """Translate each source: greedy (``beam=1``: each step's likeliest token) or beam search
        (the ``beam`` likeliest partial sequences kept at every step). Stops at EOS or ``max_length``."""
        if beam < 1:
            raise ValueError(f"Seq2Seq.decode: beam must be 1 or more, got {beam}")
        source, lengths = integer_ids(source, "Seq2Seq: source token ids"), np.asarray(lengths)
        with no_grad():
            if beam == 1:
                decoded = self._greedy(self.encode(source, lengths), len(source), max_length)
                decoded.attention = [a[:, :n] for a, n in zip(decoded.attention, lengths)]
                return decoded
            results = [self._beam_search(self.encode(source[i : i + 1], lengths[i : i + 1]), beam, max_length)
                       for i in range(len(source))]  # fmt: skip
        attention = [r[1][:, :n] for r, n in zip(results, lengths)] if self.attention is not None else []
        return Decoded([r[0] for r in results], attention)

    def _greedy(self, memory: Memory, batch: int, max_length: int) -> Decoded:
        states, previous = self.initial_state(memory), np.full(batch, BOS)
        tokens, weights = np.full((batch, max_length), EOS), []
        running = np.ones(batch, dtype=bool)
        for t in range(max_length):
            logits, states, alpha = self.step(previous, states, memory, t + 1)
            previous = _never_pad_or_bos(logits.data).argmax(axis=1)
            tokens[running, t] = previous[running]
            if alpha is not None:
                weights.append(alpha.data)
            running &= previous != EOS
            if not running.any():
                break
        kept = [list(row[: _eos_index(row)]) for row in tokens]
        steps = np.stack(weights, axis=1) if weights else None  # (batch, steps run, S)
        attention = [steps[i, : len(kept[i]) + 1] for i in range(batch)] if weights else []
        return Decoded([[int(t) for t in row] for row in kept], attention)

    def _beam_search(self, memory: Memory, beam: int, max_length: int) -> tuple[list[int], np.ndarray]:
        """One sentence. Scores are summed log-probabilities; as they only fall, the search ends
        once ``beam`` hypotheses have finished or the best finished one beats every one alive."""
        memory = memory.repeat(beam)
        states = self.initial_state(memory)
        sequences, scores, histories = [[BOS]], np.zeros(1), [[]]
        finished: list[tuple[float, list[int], list[np.ndarray]]] = []
        for t in range(max_length):
            alive = len(sequences)
            previous = np.array([s[-1] for s in sequences] + [BOS] * (beam - alive))
            logits, states, alpha = self.step(previous, states, memory, t + 1)
            z = _never_pad_or_bos(logits.data[:alive])
            log_probs = Tensor(z).log_softmax(axis=1).data
            totals = (scores[:, None] + log_probs).ravel()
            order = np.argsort(-totals, kind="stable")[: 2 * beam]  # ties: the lower id, as argmax
            keep, vocab = [], log_probs.shape[1]
            for rank, flat in enumerate(order):
                row, token = divmod(int(flat), vocab)
                history = histories[row] + ([alpha.data[row]] if alpha is not None else [])
                if token != EOS and len(keep) < beam:
                    keep.append((row, token, history))
                elif token == EOS and rank < beam:  # an ending among the best ``beam``: a finished hypothesis
                    finished.append((float(totals[flat]), sequences[row][1:], history))
            best_alive = totals[keep[0][0] * vocab + keep[0][1]] if keep else -np.inf
            if len(finished) >= beam or (finished and max(f[0] for f in finished) >= best_alive):
                break
            rows = np.array([row for row, _, _ in keep] + [keep[0][0]] * (beam - len(keep)))
            states = [_pick_rows(s, rows) for s in states]
            sequences = [sequences[row] + [token] for row, token, _ in keep]
            scores = np.array([totals[row * vocab + token] for row, token, _ in keep])
            histories = [history for _, _, history in keep]
        else:  # max_length reached: the ones still going are cut off here and compete with the finished
            finished += [(float(scores[i]), sequences[i][1:], histories[i]) for i in range(len(sequences))]
        _, tokens, history = max(finished, key=lambda f: f[0])
        return [int(t) for t in tokens], (np.stack(history) if history else np.zeros((0, memory.outputs.shape[1])))


def sequence_loss(logits: Tensor, targets: Any) -> Tensor:
    """Mean cross-entropy over the real target tokens: ``targets`` (batch, T) ids, ``PAD``
    where a sequence has ended. Padded positions are multiplied by 0, so they add nothing
    to the loss or to any gradient."""
    targets = integer_ids(targets, "sequence_loss: target token ids")
    mask = (targets != PAD).astype(logits.dtype)
    losses = cross_entropy(logits, targets, reduction="none")
    return (losses * Tensor(mask)).sum() / max(float(mask.sum()), 1.0)


def pad(sequences: list[list[int]], length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Lists of ids -> (ids padded with PAD to the longest (or ``length``), the lengths)."""
    lengths = np.array([len(s) for s in sequences])
    width = int(lengths.max()) if length is None else length
    ids = np.full((len(sequences), width), PAD)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = sequence[:width]
    return ids, np.minimum(lengths, width)


def _eos_index(row: np.ndarray) -> int:
    ends = np.flatnonzero(row == EOS)
    return int(ends[0]) if len(ends) else len(row)


def _never_pad_or_bos(z: np.ndarray) -> np.ndarray:
    """Logits with PAD and BOS ruled out: the decoder writes neither."""
    z = z.copy()
    z[:, [PAD, BOS]] = -np.inf
    return z


def _pick_rows(state: State, rows: np.ndarray) -> State:
    if isinstance(state, tuple):
        return tuple(Tensor(s.data[rows]) for s in state)
    return Tensor(state.data[rows])
