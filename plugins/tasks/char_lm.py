"""A character language model: the lecture's many-to-many example of equal length.

Trained on "hello", the network reads "hell" and predicts "ello": at every step t the
output z_t is a guess at character t + 1. ``--corpus shakespeare`` learns Tiny Shakespeare
(shipped with the package) and ``--data FILE`` any UTF-8 text; of a long text the last 10%
is held out (5% validation, then 5% test). ``minigrad generate char-lm --checkpoint F h``
then writes new text one character at a time, each sample fed back as the next input
(one-to-many), at a chosen temperature.

A long text is cut in one of two ways:

- independent windows of ``--steps`` characters, shuffled, each starting from s_0 = 0;
- ``--bptt K``, truncated backpropagation through time: the text is cut into
  ``--batch-size`` parallel streams, and each update reads the next K characters of every
  stream, in order. The last state s_K of one window is the first state of the next,
  detached: the network remembers across windows, but the gradient flows back through K
  steps only. The lecture's BPTT through a whole stream would keep the whole text on the tape.
  The task keeps no state: the trainer carries it from window to window (``loss_and_state``).

Metrics: the accuracy of the likeliest next character, perplexity e^L and bpc = L / ln 2
(bits per character), L being the mean cross-entropy in nats; and ``unigram_bpc``, what a
model that only counts the training text's characters scores, for scale.
"""

import gzip
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np

import minigrad as mg
from minigrad.task import option

CORPORA = ("hello", "shakespeare")


def read_shakespeare():
    """Tiny Shakespeare (karpathy/char-rnn, 1,115,394 characters), shipped gzip-compressed; see data/SOURCES.md."""
    packed = resources.files("minigrad_plugins.tasks").joinpath("data/tinyshakespeare.txt.gz").read_bytes()
    return gzip.decompress(packed).decode("ascii")


def read_text(path):
    """A user's ``--data`` file, as UTF-8 text."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"char-lm: --data {path}: no such file")
    try:
        return path.read_text("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"char-lm: --data {path}: not UTF-8 text") from None


def held_out(codes, window):
    """The first 90% of the text for training, the next 5% for validation, the last 5% for the
    test. A text of fewer than 20 windows (the lecture's "hello") is learned and tested whole."""
    if len(codes) <= 20 * window:
        return {"train": codes, "valid": codes, "test": codes}
    cut_valid, cut_test = int(0.9 * len(codes)), int(0.95 * len(codes))
    return {"train": codes[:cut_valid], "valid": codes[cut_valid:cut_test], "test": codes[cut_test:]}


def windows(codes, steps):
    """Independent windows of ``steps`` characters: x_t and y_t = x_{t+1}, one window a row."""
    index = np.arange(0, len(codes) - steps, steps)[:, None] + np.arange(steps)
    return codes[index], codes[index + 1]


def streams(codes, count):
    """The text cut into ``count`` parallel streams, one a row: row i is the i-th stretch of the
    text and y its next characters."""
    length = (len(codes) - 1) // count
    x = codes[: count * length].reshape(count, length)
    y = codes[1 : count * length + 1].reshape(count, length)  # each character's successor
    return x, y


def stream_windows(split, steps):
    """Truncated BPTT's batches: the next ``steps`` characters of every stream, window after
    window, in the order of the text."""
    x, y = split
    return [(x[:, s : s + steps], y[:, s : s + steps]) for s in range(0, x.shape[1], steps)]


def unigram_bits(counts, targets):
    """Bits per character of a model that knows only how often each character occurs
    (the training text's counts, plus one so no character has probability 0)."""
    p = (counts + 1) / (counts + 1).sum()
    return float(-np.mean(np.log2(p[targets])))


class CharModel(mg.nn.Module):
    def __init__(self, config, vocabulary):
        super().__init__()
        self.rnn = mg.nn.Recurrent(config.cell, vocabulary, config.hidden_size, config.num_layers)
        self.out = mg.nn.Linear(config.hidden_size, vocabulary)  # V: a score per character

    def forward(self, x, state=None):
        output, state = self.rnn(x, state)
        return self.out(output), state  # z_t at every step: (batch, steps, vocabulary)


class CharLM(mg.Task):
    name = "char-lm"
    main_metric = "accuracy"

    @dataclass
    class Config(mg.TaskConfig):
        corpus: Literal["hello", "shakespeare"] = option(
            "hello", "the shipped text: the lecture's word, or Tiny Shakespeare"
        )
        data: str = option("", "your own UTF-8 text file to learn instead")
        bptt: int = option(0, "truncated BPTT: K-character windows of --batch-size streams, state carried (0: off)")
        dtype: Literal["float64", "float32"] = option(
            "float64", "float32 trains faster; float64 is minigrad's default"
        )
        lr_decay: float = option(1.0, "the learning rate is multiplied by this after every epoch (1: constant)")
        hidden_size: int = option(16, "units in each recurrent layer")
        steps: int = option(4, "characters per training window (without --bptt)")
        epochs: int = option(500, "passes over the text (at most, with early stopping)")
        lr: float = option(0.02, "Adam's learning rate (of the first epoch, with --lr-decay)")
        patience: int = option(0, "stop after this many epochs without a better validation accuracy (0: never)")

        def __post_init__(self):
            super().__post_init__()
            require = mg.task.require
            require(self, "bidirectional", not self.bidirectional, "off: a language model reads left to right")
            require(self, "corpus", self.corpus in CORPORA, " or ".join(CORPORA))
            require(self, "data", not (self.data and self.corpus != "hello"), f"left out with --corpus {self.corpus}")
            require(self, "bptt", self.bptt >= 0, "zero or more")
            require(self, "dtype", self.dtype in ("float64", "float32"), "float64 or float32")
            require(self, "lr_decay", 0 < self.lr_decay <= 1, "above 0 and at most 1")

    def __init__(self, config=None):
        super().__init__(config)
        if self.config.data:
            self.text = read_text(self.config.data)
        else:
            self.text = read_shakespeare() if self.config.corpus == "shakespeare" else "hello"
        window = self.config.bptt or self.config.steps
        if len(self.text) <= window:
            option = "--bptt" if self.config.bptt else "--steps"
            raise ValueError(f"char-lm: the text has {len(self.text)} characters; {option} must be smaller")
        self.alphabet = sorted(set(self.text))
        self.index = {c: i for i, c in enumerate(self.alphabet)}
        codes = np.fromiter((self.index[c] for c in self.text), dtype=np.int64, count=len(self.text))
        self.parts = held_out(codes, window)
        if self.config.bptt and min(len(part) for part in self.parts.values()) <= self.config.batch_size:
            raise ValueError(f"char-lm: --bptt cuts each split into --batch-size {self.config.batch_size} "
                             f"streams; the text is too short for that many")  # fmt: skip
        self.counts = np.bincount(self.parts["train"], minlength=len(self.alphabet))

    def one_hot(self, codes):
        return mg.tensor(np.eye(len(self.alphabet), dtype=self.config.dtype)[codes])

    def make_data(self, rng):
        """Each split as (x, y): character codes, one window or stream a row, and each one's next
        character. Nothing is random: the text decides the data."""
        if self.config.bptt:
            return {name: streams(part, self.config.batch_size) for name, part in self.parts.items()}
        return {name: windows(part, self.config.steps) for name, part in self.parts.items()}

    def batches(self, split, batch_size, rng):
        """With ``--bptt K``: the streams' windows of K characters, in order (never shuffled,
        since each window continues the one before). Otherwise shuffled windows, as any task."""
        if self.config.bptt:
            return stream_windows(split, self.config.bptt)
        return super().batches(split, batch_size, rng)

    def learning_rate(self, epoch):
        """lr, lr * decay, lr * decay², ...: big steps while the text is new, smaller ones later."""
        return self.config.lr * self.config.lr_decay ** (epoch - 1)

    def build_model(self):
        model = CharModel(self.config, len(self.alphabet))
        return model.float() if self.config.dtype == "float32" else model

    def loss(self, model, batch):
        """Mean cross-entropy of the next characters, every row begun at s_0 = 0."""
        return self.loss_and_state(model, batch, None)[0]

    def loss_and_state(self, model, batch, state):
        """The loss of a window begun in ``state`` (None: s_0 = 0) and the state it ended in. With
        ``--bptt`` the trainer hands each window the state the previous one ended in, detached, and
        None at the first window of an epoch; without, windows are shuffled and independent, so
        nothing is carried."""
        x, y = batch
        logits, final = model(self.one_hot(x), state)
        return mg.nn.cross_entropy(logits, y), (final if self.config.bptt else None)

    def evaluate(self, model, split, name):
        """Metrics over a whole split. Each row runs in one go, so along a held-out stream the
        state is carried through all of it (under no_grad nothing is kept for a backward pass)."""
        x, y = split
        logits, _ = model(self.one_hot(x))
        loss = mg.nn.cross_entropy(logits, y).item()  # nats per character
        return {
            "accuracy": float(np.mean(logits.data.argmax(axis=-1) == y)),
            "perplexity": float(np.exp(loss)),
            "bpc": loss / math.log(2),
            "unigram_bpc": unigram_bits(self.counts, y),
        }

    def generate(self, model, prompt, length, temperature, rng):
        """``prompt`` and ``length`` more characters, each drawn from softmax(z_t / temperature)
        (temperature 0: always the likeliest) and fed back as the next input."""
        unknown = sorted(set(prompt) - set(self.alphabet))
        if not prompt or unknown:
            raise ValueError(f"char-lm: the prompt must be characters of the text ({''.join(self.alphabet)!r})")
        codes = [self.index[c] for c in prompt]
        state = None
        if len(codes) > 1:  # read the prompt up to its last character
            _, state = model(self.one_hot(np.array([codes[:-1]])))
        drawn = []

        def sample(h):
            scores = model.out(h).data[0].astype(np.float64)
            if temperature <= 0:
                choice = int(scores.argmax())
            else:
                p = np.exp((scores - scores.max()) / temperature)
                choice = int(rng.choice(len(p), p=p / p.sum()))
            drawn.append(choice)
            return self.one_hot(np.array([choice]))

        output, _ = model.rnn.unroll(self.one_hot(np.array([codes[-1]])), length, sample, state)
        sample(output[:, -1])  # the last step's output gives the last character
        return prompt + "".join(self.alphabet[c] for c in drawn)


@mg.hookimpl
def minigrad_tasks():
    return [CharLM]
