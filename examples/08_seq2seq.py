"""Page 8: sequence to sequence (序列到序列): an encoder, a decoder, and attention between them.

1. The graphs, with a plain RNN cell of 2 hidden units on the shortest kind of date, "1/2/03":
   the encoder–decoder with context variant (a) (c only starts the decoder) and (b) (c enters
   every decoder step), and one decoding step with attention: what its context c_2 is computed
   from, as `minigrad graph dates --attention-step 2` draws it.
2. The dates task ("27 Nov 2026" -> "2026-11-27"), small: 3,000 training dates, a GRU of 32
   hidden units, 8 epochs, once per context variant; exact match on 300 held-out dates.
3. The attention weights α of the trained attention model for one date, as a heat map.
4. Greedy decoding against beam search, for the three models.
5. The lecture's three contexts c = h_T, g(h_T), g(h_1 … h_T), each with either decoder structure,
   and attention: seven models on 5,000 training dates, a GRU of 64 units, 8 epochs each (about
   three minutes of the script's run); exact match on 1,000 held-out dates and seconds of training.

    .venv/bin/python examples/08_seq2seq.py [--out DIR] [--smoke]
"""

# %%
import datetime
import time

import numpy as np
from _common import Example, plt

import minigrad as mg
from minigrad import cli
from minigrad.nn.seq2seq import Seq2Seq, sequence_loss
from minigrad_plugins.tasks.dates import Dates, formats
from minigrad_plugins.tasks.encoder_decoder import attention_heat_map

ex = Example(8, __doc__)
CONTEXTS = {"init": "(a) init", "every-step": "(b) every-step", "attention": "attention"}

# %%
# The task gives the data: written dates and their ISO form, as token ids, padded with PAD.
task = Dates(Dates.Config(samples=ex.pick(3000, 300)))
data = task.make_data(np.random.default_rng([0, 1]))
test = tuple(a[:300] for a in data["test"])  # 300 of the 2,000 held-out dates
source_vocab, target_vocab = len(task.source_vocab), len(task.target_vocab)


# %% [markdown]
# ## 1. The graphs


# %%
def small_model(context):
    """Seq2Seq with a plain RNN cell, 2 hidden units and 2-number embeddings: small enough to read."""
    mg.manual_seed(0)
    model = Seq2Seq(source_vocab, target_vocab, 2, 2, cell="rnn", context=context)
    for module in model.modules():  # x_t·U inside every step, as the lecture draws it (as `minigrad graph` does)
        if isinstance(module, mg.nn.Recurrent):
            module.fuse_input = False
    return model


# %%
one = task.encode_pairs([(list("1/2/03"), list("2003-01-02"))])  # source ids, lengths, BOS y…, y… EOS
for context in ("init", "every-step"):
    model = small_model(context)
    # the first 3 of the 11 decoding steps ("200"), so that the picture stays readable
    loss = sequence_loss(model(one[0], one[1], one[2][:, :3]), one[3][:, :3])
    loss.name = "loss"
    ex.graph(mg.viz.draw(loss), f"encoder_decoder_{context}.svg")

model = small_model("attention")
loss = sequence_loss(model(one[0], one[1], one[2][:, :3]), one[3][:, :3])
c_2 = cli.attention_context(loss, 2, "dates")  # the tensor named c_t at decoding step 2
ex.graph(mg.viz.draw(c_2), "attention_step.svg")


# %% [markdown]
# ## 2. The dates task, once per context variant


# %%
def evaluate(model, split):
    """Exact match (the whole date right), and the share right at each of the 10 positions of yyyy-mm-dd."""
    outputs, _ = task.translate(model, split)
    references = task.references(split)
    exact = np.mean([o == r for o, r in zip(outputs, references)])
    positions = np.mean([[i < len(o) and o[i] == r[i] for i in range(10)] for o, r in zip(outputs, references)], axis=0)
    return float(exact), positions


def train(context, epochs):
    mg.manual_seed(0)
    # --8<-- [start:model]
    model = Seq2Seq(source_vocab, target_vocab, embed_size=16, hidden_size=32, cell="gru", context=context)
    # --8<-- [end:model]
    optimizer = mg.optim.Adam(list(model.parameters()), lr=0.01)
    shuffle, curve = np.random.default_rng(0), []
    for _ in range(epochs):
        for sources, lengths, target_in, target_out, _ in task.batches(data["train"], 64, shuffle):
            sources = sources[:, : lengths.max()]  # the batch's longest date: no step of padding only
            # --8<-- [start:train]
            optimizer.zero_grad()
            logits = model(sources, lengths, target_in)  # teacher forcing: the decoder reads BOS y_1 … y_T
            loss = sequence_loss(logits, target_out)  # against y_1 … y_T EOS; PAD positions count 0
            loss.backward()
            # --8<-- [end:train]
            mg.nn.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        with mg.no_grad():
            curve.append(evaluate(model, test)[0])
    return model, curve


# %%
EPOCHS = ex.pick(8, 1)
models, curves, seconds = {}, {}, {}
for context in CONTEXTS:
    start = time.perf_counter()
    models[context], curves[context] = train(context, EPOCHS)
    seconds[context] = time.perf_counter() - start

# %%
with ex.transcript("dates.txt"):
    print(f"dates: {len(data['train'][0]):,} training dates, GRU with 32 hidden units, {EPOCHS} epoch{'s' * (EPOCHS > 1)} "
          f"(Adam, lr 0.01, batch 64); {len(test[0])} held-out dates, greedy decoding")  # fmt: skip
    results = {}
    for context in CONTEXTS:
        with mg.no_grad():
            results[context] = evaluate(models[context], test)
    print(f"{'context':<15} {'exact match':>12} {'characters right':>17} {'training':>9}")
    for context, label in CONTEXTS.items():
        exact, positions = results[context]
        print(f"{label:<15} {exact:12.3f} {positions.mean():17.3f} {seconds[context]:8.1f} s")
    print("\nshare right at each position of the output")
    print(" " * 15 + "".join(f"{c:>5}" for c in "yyyy-mm-dd"))
    for context, label in CONTEXTS.items():
        print(f"{label:<15}" + "".join(f"{p:5.2f}" for p in results[context][1]))

# %%
figure, axis = plt.subplots(figsize=(6, 3.2))
for context, label in CONTEXTS.items():
    axis.plot(range(1, EPOCHS + 1), curves[context], "o-", label=label)
axis.set(xlabel="epoch", ylabel="exact match (300 held-out dates)", ylim=(-0.03, 1.03), title="dates, small")
axis.legend(fontsize=8)
ex.figure(figure, "dates_training.png")

# %% [markdown]
# ## 3. The attention weights of one date

# %%
written = formats(datetime.date(2026, 11, 27))[-1]  # "Friday, November 27, 2026"
# --8<-- [start:decode]
ids = np.array([task.source_vocab.encode(list(written))])
decoded = models["attention"].decode(ids, np.array([len(written)]), max_length=12, beam=1)
output = task.target_vocab.decode(decoded.tokens[0])  # the characters written, EOS dropped
alpha = decoded.attention[0]  # (decoding steps, source characters): row t is α_t
# --8<-- [end:decode]
source = [c if c != " " else "␣" for c in written]
png = attention_heat_map(alpha, source, [*output, "<eos>"][: len(alpha)])
(ex.out / "attention.png").write_bytes(png)
print(f"wrote {ex.out / 'attention.png'}  ({written} -> {''.join(output)})")
ex.show("attention.png")  # in a notebook: the heat map under this cell

# %% [markdown]
# ## 4. Greedy against beam search

# %%
with ex.transcript("beam.txt"):
    print(f"exact match on the same {len(test[0])} held-out dates, greedy and beam search (width 3)")
    print(f"{'context':<15} {'greedy':>7} {'beam 3':>7}")
    greedy, beam, references = {}, {}, task.references(test)
    for context, label in CONTEXTS.items():
        with mg.no_grad():
            greedy[context], _ = task.translate(models[context], test, beam=1)
            beam[context], _ = task.translate(models[context], test, beam=3)
        scores = [np.mean([o == r for o, r in zip(outputs, references)]) for outputs in (greedy[context], beam[context])]
        print(f"{label:<15} {scores[0]:7.3f} {scores[1]:7.3f}")
    print("\n(b) every-step: the first dates where the two differ")
    print(f"{'written':<28} {'reference':<12} {'greedy':<12} beam 3")
    shown = 0
    for row, (g, b) in enumerate(zip(greedy["every-step"], beam["every-step"])):
        if g != b and shown < 6:
            shown += 1
            text = task.join(task.source_vocab.decode(test[0][row][: test[1][row]]))
            marks = ["" if o != references[row] else " ✓" for o in (g, b)]
            print(f"{text:<28} {task.join(references[row]):<12} {task.join(g) + marks[0]:<12} {task.join(b) + marks[1]}")
    if not shown:
        print("(none: greedy and beam search wrote the same dates)")

# %% [markdown]
# ## 5. The lecture's three contexts, each with either decoder structure, and attention
#
# c = h_T, c = g(h_T) or c = g(h_1 … h_T) (summary=); the lecture's first structure hands c to every
# decoder step, its second only starts the decoder with it (context=). One budget and one seed for all.

# %%
PAIRS = {  # (context, summary): (what c is, the decoder structure)
    ("every-step", "last"): ("c = h_T", "1st: c at every step"),
    ("init", "last"): ("c = h_T", "2nd: c as s'_0 only"),
    ("every-step", "map-last"): ("c = g(h_T)", "1st: c at every step"),
    ("init", "map-last"): ("c = g(h_T)", "2nd: c as s'_0 only"),
    ("every-step", "map-mean"): ("c = g(h_1 … h_T)", "1st: c at every step"),
    ("init", "map-mean"): ("c = g(h_1 … h_T)", "2nd: c as s'_0 only"),
    ("attention", "last"): ("c_t = Σ_j α_tj h_j", "attention (beyond)"),
}
larger = Dates(Dates.Config(samples=ex.pick(5000, 300)))
larger_data = larger.make_data(np.random.default_rng([0, 1]))
held_out = tuple(a[: ex.pick(1000, 50)] for a in larger_data["test"])
HIDDEN, EPOCHS_5 = 64, ex.pick(8, 1)


def train_pair(context, summary):
    """A GRU encoder–decoder of 64 units for EPOCHS_5 epochs; the seconds are the training loop's only."""
    mg.manual_seed(0)
    # --8<-- [start:contexts]
    model = Seq2Seq(len(larger.source_vocab), len(larger.target_vocab), embed_size=16, hidden_size=HIDDEN,
                    cell="gru", context=context, summary=summary)  # summary: last, map-last or map-mean
    # --8<-- [end:contexts]
    optimizer = mg.optim.Adam(list(model.parameters()), lr=0.01)
    shuffle, start = np.random.default_rng(0), time.perf_counter()
    for _ in range(EPOCHS_5):
        for sources, lengths, target_in, target_out, _ in larger.batches(larger_data["train"], 64, shuffle):
            optimizer.zero_grad()
            sequence_loss(model(sources[:, : lengths.max()], lengths, target_in), target_out).backward()
            mg.nn.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
    seconds = time.perf_counter() - start
    with mg.no_grad():
        outputs, _ = larger.translate(model, held_out)
    exact = np.mean([o == r for o, r in zip(outputs, larger.references(held_out))])
    return float(exact), seconds


# %%
with ex.transcript("contexts.txt"):
    print(f"dates: {len(larger_data['train'][0]):,} training dates, GRU with {HIDDEN} hidden units, "
          f"{EPOCHS_5} epoch{'s' * (EPOCHS_5 > 1)} (Adam, lr 0.01, batch 64, seed 0); "
          f"exact match on {len(held_out[0]):,} held-out dates, greedy decoding")  # fmt: skip
    print(f"{'c':<19} {'decoder structure':<22} {'selected by':<40} {'exact match':>11} {'seconds':>8}")
    for (context, summary), (what, structure) in PAIRS.items():
        exact, seconds = train_pair(context, summary)
        options = f"--context {context}" + ("" if context == "attention" else f" --summary {summary}")
        print(f"{what:<19} {structure:<22} {options:<40} {exact:11.3f} {seconds:8.1f}")
ex.done()
