"""藏头诗, the acrostic poem: one-to-many generation from a character language model.

The model is the lecture's language model over characters c_t: x_t = E[c_t] (a row of
the embedding table), s_t = f(x_t U + s_{t-1} W), z_t = s_t V + b_v, and softmax(z_t) is
its guess at c_{t+1}. It learns 3,702 five-character Tang quatrains (五言绝句), each read
as one sequence of 25 tokens: a begin marker, then 4 lines of 5 characters, each closed
by its punctuation -- ``<s>春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。``.

``minigrad generate acrostic --checkpoint F 春夏秋冬`` writes a quatrain whose lines begin
with the 4 given characters. Decoding keeps the form: at a line's first step the given
character is forced instead of sampled, at the next 4 steps a character is sampled from
softmax(z_t / temperature) (never punctuation or a marker), at the 6th ，or 。 is forced.
Every token, forced or sampled, is fed back as the next input, so the model continues
from the character it was given.

Poems are split 80/10/10 (train, validation, test), seeded. Metrics on held-out poems:
perplexity exp(mean -log p(c_{t+1} | c_1..c_t)) over their 24 predicted tokens, beside the
perplexity of a unigram model (training-set frequencies, no context); next-character
accuracy; and ``form_rate``, the share of lines that keep the form (5 characters, the given
first one) in 50 acrostics written from held-out poems' first characters.
``--data FILE`` learns your own file of quatrains, one a line (``corpora.read_quatrains``).
"""

from dataclasses import dataclass

import numpy as np

import minigrad as mg
from minigrad.task import option
from minigrad_plugins.tasks.corpora import HAN_ONLY, frequent_characters, read_quatrains

BEGIN, UNKNOWN = 0, 1  # token ids of the begin marker <s> and of <unk>, any character not kept
SPECIALS = ["<s>", "<unk>", "，", "。"]  # the line ends: ，after lines 1 and 3, 。after lines 2 and 4
LINE_ENDS = [2, 3, 2, 3]  # the token closing each of the 4 lines
LINE = 6  # tokens per line: 5 characters and the punctuation
FORM_SAMPLES = 50  # acrostics written at evaluation time to measure form_rate


def sample(scores, allowed, temperature, rng):
    """One token per row of ``scores`` (batch, tokens), from softmax(scores / temperature)
    over the ``allowed`` tokens only; temperature 0 takes the likeliest."""
    scores = np.where(allowed, scores, -np.inf)
    if temperature <= 0:
        return scores.argmax(axis=1)
    p = np.exp((scores - scores.max(axis=1, keepdims=True)) / temperature)
    p /= p.sum(axis=1, keepdims=True)
    return np.array([rng.choice(len(row), p=row) for row in p])


def keeps_form(line, head):
    """A line (without its punctuation) of the form: 5 Chinese characters, the first one ``head``."""
    return len(line) == 5 and line[0] == head and HAN_ONLY.match(line) is not None


class PoemModel(mg.nn.Module):
    def __init__(self, config, vocabulary):
        super().__init__()
        self.embed = mg.nn.Embedding(vocabulary, config.embedding_size)  # E: x_t = E[c_t]
        self.dropout = mg.nn.Dropout(config.dropout)
        self.rnn = mg.nn.Recurrent(config.cell, config.embedding_size, config.hidden_size, config.num_layers)
        self.out = mg.nn.Linear(config.hidden_size, vocabulary)  # V: a score per token

    def forward(self, tokens, state=None):
        output, state = self.rnn(self.dropout(self.embed(tokens)), state)
        batch, steps, hidden = output.shape
        # all steps' rows in one 2-D matmul: NumPy multiplies a 3-D array by a matrix several times slower
        z = self.out(self.dropout(output).reshape(batch * steps, hidden))
        return z.reshape(batch, steps, -1), state  # z_t at every step: (batch, steps, vocabulary)


class Acrostic(mg.Task):
    name = "acrostic"
    main_metric = "neg_perplexity"  # -perplexity on validation poems: the trainer keeps the highest

    @dataclass
    class Config(mg.TaskConfig):
        data: str = option("", "your own file of quatrains, one a line (empty: the shipped Tang quatrains)")
        cell: str = option("gru", "the recurrent cell: a registered name")
        hidden_size: int = option(256, "units in each recurrent layer")
        embedding_size: int = option(64, "the length of each character's vector")
        min_count: int = option(2, "keep characters seen this often in training; the rest are <unk>")
        dropout: float = option(0.4, "in training, the share of embedding and output entries zeroed")
        steps: int = option(24, "tokens predicted per poem: 4 lines of 5 characters and punctuation (fixed)")
        batch_size: int = option(32, "poems per update")
        lr: float = option(0.005, "Adam's learning rate")
        epochs: int = option(10, "passes over the training data (at most, with early stopping)")
        patience: int = option(3, "stop after this many epochs without a better validation metric (0: never)")

        def __post_init__(self):
            super().__post_init__()
            mg.task.require(self, "bidirectional", not self.bidirectional, "off: a poem is written left to right")
            mg.task.require(self, "steps", self.steps == 4 * LINE, f"{4 * LINE}: the length of a quatrain")
            mg.task.require(self, "embedding_size", self.embedding_size > 0, "a positive number")
            mg.task.require(self, "min_count", self.min_count > 0, "a positive number")
            mg.task.require(self, "dropout", 0 <= self.dropout < 1, "in [0, 1)")

    def __init__(self, config=None):
        super().__init__(config)
        self.poems = read_quatrains(self.config.data or None)
        if len(self.poems) < 10:  # so that validation and test each hold at least one poem
            raise ValueError(f"acrostic: --data {self.config.data}: needs at least 10 poems, got {len(self.poems)}")
        # The split is drawn here, not in make_data: the vocabulary, and so the model's shape,
        # comes from the training poems, and generate rebuilds the model without any data.
        order = np.random.default_rng([self.config.seed, 1]).permutation(len(self.poems))
        cut_valid, cut_test = int(0.8 * len(order)), int(0.9 * len(order))
        self.rows = {"train": order[:cut_valid], "valid": order[cut_valid:cut_test], "test": order[cut_test:]}
        lines = (line for i in self.rows["train"] for line in self.poems[i])
        self.vocabulary = SPECIALS + frequent_characters(lines, self.config.min_count)  # token id -> token
        self.index = {token: i for i, token in enumerate(self.vocabulary)}
        self.unigram = self.unigram_probabilities(self.encode([self.poems[i] for i in self.rows["train"]]))

    def encode(self, poems):
        """Token ids (poems, 25): <s>, then each line's characters and its punctuation."""
        rows = []
        for poem in poems:
            row = [BEGIN]
            for line, end in zip(poem, LINE_ENDS):
                row += [self.index.get(c, UNKNOWN) for c in line] + [end]
            rows.append(row)
        return np.array(rows, dtype=np.int64).reshape(len(poems), 1 + 4 * LINE)

    def unigram_probabilities(self, tokens):
        """p(token) from its count among the training targets, add-one smoothed so that no
        held-out token has probability 0 (the begin marker is never a target)."""
        counts = np.bincount(tokens[:, 1:].ravel(), minlength=len(self.vocabulary)) + 1.0
        counts[BEGIN] = 0
        return counts / counts.sum()

    def make_data(self, rng):
        # rng is not needed: the split was drawn in __init__ from the same seed
        return {name: (self.encode([self.poems[i] for i in rows]),) for name, rows in self.rows.items()}

    def build_model(self):
        # float32: the output layer, a score for each of ~3,000 characters, takes most of the time
        return PoemModel(self.config, len(self.vocabulary)).float()

    def loss(self, model, batch):
        (tokens,) = batch
        logits, _ = model(tokens[:, :-1])  # read <s> c_1 ... c_23, predict c_1 ... c_24
        return mg.nn.cross_entropy(logits, tokens[:, 1:])

    def evaluate(self, model, split, name):
        (tokens,) = split
        losses, correct = [], []
        for start in range(0, len(tokens), 256):  # in parts: the scores are (poems, 24, vocabulary)
            part = tokens[start : start + 256]
            logits, _ = model(part[:, :-1])
            losses.append(mg.nn.cross_entropy(logits, part[:, 1:], reduction="none").data)
            correct.append((logits.data.argmax(axis=-1) == part[:, 1:]) & (part[:, 1:] != UNKNOWN))
        perplexity = float(np.exp(np.mean(np.concatenate(losses))))
        return {
            "neg_perplexity": -perplexity,
            "perplexity": perplexity,
            "unigram_perplexity": float(np.exp(-np.mean(np.log(self.unigram[tokens[:, 1:]])))),
            "accuracy": float(np.mean(np.concatenate(correct))),  # a correctly guessed <unk> does not count
            "form_rate": self.form_rate(model, tokens),
        }

    def form_rate(self, model, tokens):
        """The share of lines keeping the form in acrostics (sampled at temperature 1) on the
        first characters of up to 50 of these poems."""
        rng = np.random.default_rng(0)  # the same acrostics at every evaluation
        heads = tokens[:FORM_SAMPLES, 1 : 1 + 4 * LINE : LINE]
        known = rng.integers(len(SPECIALS), len(self.vocabulary), heads.shape)
        heads = np.where(heads == UNKNOWN, known, heads)  # a head not in the vocabulary: any character that is
        poems = self.write(model, heads, 1.0, rng)
        lines = [(line[:-1], self.vocabulary[head]) for poem, row in zip(poems, heads) for line, head in
                 zip(poem.split("\n"), row)]  # fmt: skip
        return float(np.mean([keeps_form(line, head) for line, head in lines]))

    def write(self, model, heads, temperature, rng):
        """One quatrain per row of ``heads`` (batch, 4 token ids), each line forced to start
        with its head and to end with its punctuation; the 4 characters between are sampled."""
        characters = np.arange(len(self.vocabulary)) >= len(SPECIALS)  # never a marker or punctuation
        batch = len(heads)
        chosen = np.zeros((batch, 4 * LINE), dtype=np.int64)
        token, state = np.full((batch, 1), BEGIN), None
        for t in range(4 * LINE):
            logits, state = model(token, state)  # one step: the state carries the poem so far
            line, position = divmod(t, LINE)
            if position == 0:
                chosen[:, t] = heads[:, line]  # forced: the acrostic's character
            elif position == LINE - 1:
                chosen[:, t] = LINE_ENDS[line]  # forced: ，or 。
            else:
                chosen[:, t] = sample(logits.data[:, -1], characters, temperature, rng)
            token = chosen[:, t : t + 1]
        return ["\n".join("".join(self.vocabulary[i] for i in row[s : s + LINE]) for s in range(0, 4 * LINE, LINE))
                for row in chosen]  # fmt: skip

    def generate(self, model, prompt, length, temperature, rng):
        """A quatrain whose 4 lines start with the 4 characters of ``prompt`` (``length`` is
        not used: the form fixes it)."""
        prompt = prompt.strip()
        if len(prompt) != 4:
            raise ValueError(
                f"acrostic: the prompt must be 4 characters, one to begin each line (e.g. 春夏秋冬), got {prompt!r}"
            )
        unknown = [c for c in prompt if self.index.get(c, UNKNOWN) < len(SPECIALS)]
        if unknown:
            raise ValueError(f"acrostic: {''.join(unknown)!r} not in the poems' vocabulary; choose other characters")
        heads = np.array([[self.index[c] for c in prompt]])
        return self.write(model, heads, temperature, rng)[0]


@mg.hookimpl
def minigrad_tasks():
    return [Acrostic]
