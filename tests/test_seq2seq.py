"""The encoder–decoder: the three contexts c, gradients, masks, teacher forcing, greedy and beam
decoding, attention."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.nn.seq2seq import BOS, CONTEXTS, EOS, PAD, SUMMARIES, Seq2Seq, pad, sequence_loss

CELLS = ["rnn", "lstm", "gru", "mgu"]


def tiny(context="attention", cell="gru", decoder_cell=None, seed=0, source_vocab=7, target_vocab=6, hidden=4,
         summary="last", num_layers=1):  # fmt: skip
    mg.manual_seed(seed)
    return Seq2Seq(source_vocab, target_vocab, 3, hidden, cell=cell, decoder_cell=decoder_cell, context=context,
                   summary=summary, num_layers=num_layers)  # fmt: skip


def batch(seed, sources=3, source_vocab=7, target_vocab=6):
    """Random sources of lengths 1..4 and targets of lengths 1..3 (ids above the reserved 0-2)."""
    rng = np.random.default_rng(seed)
    source = [list(rng.integers(3, source_vocab, rng.integers(1, 5))) for _ in range(sources)]
    target = [list(rng.integers(3, target_vocab, rng.integers(1, 4))) for _ in range(sources)]
    ids, lengths = pad(source)
    target_in, _ = pad([[BOS, *t] for t in target])
    target_out, _ = pad([[*t, EOS] for t in target])
    return ids, lengths, target_in, target_out


@settings(max_examples=12, deadline=None)
@given(
    st.sampled_from(CONTEXTS),
    st.sampled_from(SUMMARIES),
    st.sampled_from(CELLS),
    st.sampled_from([None, *CELLS]),
    st.integers(0, 1000),
)
def test_gradients_through_the_encoder_decoder_match_finite_differences(context, summary, cell, decoder_cell, seed):
    """Every parameter's gradient of the masked loss, embeddings and attention included, in float64."""
    model = tiny(context, cell, decoder_cell, seed, summary=summary)
    ids, lengths, target_in, target_out = batch(seed)
    params = list(model.parameters())
    assert mg.gradcheck(lambda *_: sequence_loss(model(ids, lengths, target_in), target_out), params)


@pytest.mark.parametrize("summary", ["map-last", "map-mean"])
@pytest.mark.parametrize("context", CONTEXTS)
def test_gradients_reach_the_learned_context_map(context, summary):
    """Each learned c with each decoder structure, two LSTM layers (the memory cell is handed
    over beside c): gradcheck over every parameter, and g's own gradient is not zero."""
    model = tiny(context, "lstm", seed=7, summary=summary, num_layers=2)
    ids, lengths, target_in, target_out = batch(7, sources=4)
    assert mg.gradcheck(lambda *_: sequence_loss(model(ids, lengths, target_in), target_out), list(model.parameters()))
    model.zero_grad()
    sequence_loss(model(ids, lengths, target_in), target_out).backward()
    assert np.abs(model.g.weight.grad).sum() > 0


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_each_summary_computes_the_context_the_lecture_names(cell):
    """c = h_S, c = tanh(W_g h_S + b_g) and c = tanh(W_g mean_j h_j + b_g) with the mean over each
    source's real positions only; the decoder's first state holds c."""
    ids, lengths, _, _ = batch(11, sources=4)
    assert len(set(lengths)) > 1  # padding present, so the mean's divisor matters
    for summary in SUMMARIES:
        model = tiny("init", cell, seed=3, summary=summary)
        memory = model.encode(ids, lengths)
        h = memory.outputs.data
        last = h[np.arange(len(ids)), lengths - 1]  # h_S at each source's own end
        mean = np.stack([h[i, :n].mean(axis=0) for i, n in enumerate(lengths)])
        if summary == "last":
            expected = last
            assert model.g is None  # no new parameters: checkpoints from before load as they were
        else:
            g = model.g
            expected = np.tanh((last if summary == "map-last" else mean) @ g.weight.data.T + g.bias.data)
        np.testing.assert_allclose(memory.context.data, expected, atol=1e-12)
        start = model.initial_state(memory)[-1]
        np.testing.assert_allclose((start[0] if isinstance(start, tuple) else start).data, expected, atol=1e-12)


def test_the_attention_model_has_the_additive_score_parameters():
    names = set(dict(tiny("attention").named_parameters()))
    assert {"attention.query.weight", "attention.key.weight", "attention.score.weight"} <= names
    assert not any(name.startswith("attention") for name in dict(tiny("every-step").named_parameters()))


def test_encoder_decoder_and_their_cells_are_sub_modules():
    """named_modules() reaches the encoder's and decoder's cells and the attention; eval() turns
    training off in every one of them; parameters are labelled by where they sit."""
    model = Seq2Seq(7, 6, 3, 4, cell="lstm", num_layers=2)
    modules = dict(model.named_modules())
    assert {"encoder.cells.0", "encoder.cells.1", "decoder.cells.1", "attention.query", "out"} <= set(modules)
    assert modules["decoder.cells.1"] is model.decoder.cells[1]
    model.eval()
    assert not any(m.training for m in model.modules())
    names = [name for name, _ in model.named_parameters()]
    assert "encoder.weight_hh_l1" in names and "decoder.bias_ih_l0" in names
    assert [p.name for p in model.parameters()] == names


@pytest.mark.parametrize("summary", SUMMARIES)
@pytest.mark.parametrize("context", CONTEXTS)
def test_padding_changes_nothing(context, summary):
    """Extra PAD columns on the sources and the targets: the same loss and the same gradients."""
    model = tiny(context, "lstm", summary=summary)
    ids, lengths, target_in, target_out = batch(3)
    widened = [np.pad(a, ((0, 0), (0, 3)), constant_values=PAD) for a in (ids, target_in, target_out)]

    def loss_and_grads(ids, target_in, target_out):
        model.zero_grad()
        loss = sequence_loss(model(ids, lengths, target_in), target_out)
        loss.backward()
        return loss.item(), {n: p.grad.copy() for n, p in model.named_parameters()}

    loss, grads = loss_and_grads(ids, target_in, target_out)
    loss_wide, grads_wide = loss_and_grads(*widened)
    assert loss_wide == pytest.approx(loss, abs=1e-12)
    for name in grads:
        np.testing.assert_allclose(grads_wide[name], grads[name], atol=1e-12, err_msg=name)


def test_sequence_loss_is_the_mean_over_real_tokens_only():
    rng = np.random.default_rng(0)
    logits = mg.tensor(rng.normal(size=(2, 3, 5)), requires_grad=True)
    targets = np.array([[3, 4, EOS], [4, EOS, PAD]])
    loss = sequence_loss(logits, targets)
    log_p = logits.data - np.log(np.exp(logits.data).sum(axis=2, keepdims=True))
    real = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    assert loss.item() == pytest.approx(-np.mean([log_p[b, t, targets[b, t]] for b, t in real]), rel=1e-12)
    loss.backward()
    assert np.all(logits.grad[1, 2] == 0)  # the padded position gets no gradient


@pytest.mark.parametrize("context", CONTEXTS)
def test_attention_weights_sum_to_one_and_skip_padding(context):
    model = tiny("attention")
    ids, lengths, _, _ = batch(5, sources=4)
    decoded = model.decode(ids, lengths, max_length=5)
    for weights, length in zip(decoded.attention, lengths):
        assert weights.shape[1] == length  # cut to the real source
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-12)
    memory = model.encode(ids, lengths)
    states = model.initial_state(memory)
    _, _, alpha = model.step(np.full(len(ids), BOS), states, memory)
    assert np.all(alpha.data[np.arange(ids.shape[1])[None, :] >= lengths[:, None]] == 0)
    if context != "attention":
        assert tiny(context).decode(ids, lengths, 5).attention == []


def score(model, source, length, tokens):
    """Summed log-probability of ``tokens`` (+ EOS when shorter than the limit) under teacher forcing."""
    target_in = np.array([[BOS, *tokens]])
    with mg.no_grad():
        logits = model(source, length, target_in).data[0]
    logits[:, [PAD, BOS]] = -np.inf
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return sum(log_p[t, token] for t, token in enumerate(tokens))


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(CONTEXTS), st.sampled_from(CELLS), st.integers(0, 10_000))
def test_greedy_equals_beam_one(context, cell, seed):
    model = tiny(context, cell, seed=seed)
    ids, lengths, _, _ = batch(seed, sources=3)
    greedy = model.decode(ids, lengths, 6, beam=1)
    # the beam-search code path with a beam of 1, one sentence at a time
    for i in range(len(ids)):
        memory = model.encode(ids[i : i + 1], lengths[i : i + 1])
        with mg.no_grad():
            tokens, _ = model._beam_search(memory, 1, 6)
        assert tokens == greedy.tokens[i]


@settings(max_examples=8, deadline=None)
@given(st.sampled_from(CONTEXTS), st.integers(0, 10_000))
@example("every-step", 2654)  # the best is cut off at max_length while a worse one has finished
def test_a_beam_as_wide_as_every_sequence_finds_the_likeliest(context, seed):
    """Target vocabulary {EOS, 3, 4}, at most 3 tokens: a beam of 9 keeps every partial
    sequence, so it must return the best-scoring one of all (checked by enumeration), including
    one cut off at max_length."""
    model = tiny(context, seed=seed, target_vocab=5)
    ids, lengths, _, _ = batch(seed, sources=1)
    candidates = [list(c) + [EOS] for n in range(3) for c in itertools.product([3, 4], repeat=n)]
    candidates += [list(c) for c in itertools.product([3, 4], repeat=3)]  # cut off at max_length
    scored = {tuple(c): score(model, ids, lengths, c) for c in candidates}
    best = max(scored, key=scored.get)
    found = model.decode(ids, lengths, 3, beam=9).tokens[0]
    assert tuple(found + ([EOS] if len(found) < 3 else [])) == best


def test_teacher_forcing_feeds_the_truth_or_the_models_own_guess():
    """Ratio 1: the decoder reads the given inputs. Ratio 0: it reads its own greedy guesses,
    so its logits are those of a ratio-1 run fed greedy decoding's output."""
    model = tiny("attention", "gru", seed=4)
    ids, lengths, target_in, _ = batch(4, sources=1)
    with mg.no_grad():
        forced = model(ids, lengths, target_in, teacher_forcing=1.0).data
        own = model(ids, lengths, target_in, teacher_forcing=0.0).data
        steps = target_in.shape[1]
        greedy = model.decode(ids, lengths, steps).tokens[0]
        fed = np.array([[BOS, *(greedy + [EOS] * steps)[: steps - 1]]])
        replay = model(ids, lengths, fed, teacher_forcing=1.0).data
    shared = min(steps, len(greedy) + 1)  # after EOS greedy stops; the ratio-0 run keeps guessing
    np.testing.assert_allclose(own[:, :shared], replay[:, :shared], atol=1e-12)
    np.testing.assert_allclose(forced[:, 0], own[:, 0], atol=1e-12)  # the first step always reads BOS
    if not np.array_equal(fed, target_in):
        assert not np.allclose(forced, own)


def test_a_mixed_ratio_uses_both_and_repeats_with_the_seed():
    model = tiny("every-step", seed=1)
    ids, lengths, target_in, _ = batch(1, sources=2)
    runs = []
    for _ in range(2):
        mg.manual_seed(9)
        with mg.no_grad():
            runs.append(model(ids, lengths, target_in, teacher_forcing=0.5).data)
    np.testing.assert_array_equal(runs[0], runs[1])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="context must be one of"):
        Seq2Seq(5, 5, 2, 2, context="sometimes")
    with pytest.raises(ValueError, match="summary must be one of last, map-last, map-mean"):
        Seq2Seq(5, 5, 2, 2, summary="first")
    model = tiny()
    ids, lengths, target_in, _ = batch(0)
    with pytest.raises(TypeError, match="source token ids must be integers"):
        model(ids.astype(float), lengths, target_in)
    with pytest.raises(ValueError, match="beam must be"):
        model.decode(ids, lengths, 4, beam=0)


def test_decoding_writes_neither_pad_nor_bos():
    model = tiny(seed=2)
    model.out.bias.data[[PAD, BOS]] = 100.0  # an untrained model that would love to write them
    ids, lengths, _, _ = batch(2)
    for beam in (1, 3):
        for tokens in model.decode(ids, lengths, 5, beam=beam).tokens:
            assert PAD not in tokens and BOS not in tokens


def test_pad_returns_ids_and_lengths():
    ids, lengths = pad([[5, 6, 7], [8]])
    np.testing.assert_array_equal(ids, [[5, 6, 7], [8, PAD, PAD]])
    np.testing.assert_array_equal(lengths, [3, 1])
