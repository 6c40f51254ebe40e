"""What the encoder–decoder tasks (``dates``, ``translate``) share: vocabularies, padded
batches, the masked loss, decoding, and the attention heat-map.

A subclass gives ``pairs(rng)``: the "train", "valid" and "test" lists of (source tokens,
target tokens); everything else comes from here. Each split becomes five arrays, padded
with PAD: the source ids and lengths, the decoder's input BOS y_1 … y_T, the targets
y_1 … y_T EOS, and each row's number in ``self.examples`` (for its reference text).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

import minigrad as mg
from minigrad.nn.seq2seq import BOS, EOS, PAD, Seq2Seq, pad, sequence_loss
from minigrad.task import option

UNK = 3  # a token the vocabulary does not know
RESERVED = ["<pad>", "<bos>", "<eos>", "<unk>"]


class Vocabulary:
    """Tokens <-> ids, the first four ids reserved (PAD, BOS, EOS, UNK); tokens seen fewer than
    ``min_count`` times in ``tokens`` are left out (they read as UNK)."""

    def __init__(self, tokens: Sequence[str], min_count: int = 1):
        counts = Counter(tokens)
        self.tokens = RESERVED + sorted(t for t, n in counts.items() if n >= min_count and t not in RESERVED)
        self.ids = {token: i for i, token in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.ids.get(token, UNK) for token in tokens]

    def decode(self, ids: Sequence[int]) -> list[str]:
        return [self.tokens[i] for i in ids if i not in (PAD, BOS, EOS)]


class EncoderDecoderTask(mg.Task):
    """Base of the seq2seq tasks: a subclass defines ``pairs``, ``join`` and ``evaluate``'s metric."""

    @dataclass
    class Config(mg.TaskConfig):
        cell: str = option("gru", "the recurrent cell: a registered name")
        hidden_size: int = option(64, "units in the encoder's and the decoder's recurrent layers")
        embedding_size: int = option(32, "size of each token's learned vector")
        context: Literal["attention", "every-step", "init"] = option(
            "attention",
            "how the decoder sees c: every-step (the lecture's first structure), init (its second), or attention",
        )
        summary: Literal["last", "map-last", "map-mean"] = option(
            "last",
            "what c is: last (c = h_T), map-last (c = tanh(W h_T + b)), map-mean (c = tanh(W mean(h_1 … h_T) + b))",
        )
        teacher_forcing: float = option(
            1.0, "the share of decoder steps fed the true previous token (the rest: the model's own guess)"
        )
        beam: int = option(1, "beam width at evaluation (1: greedy)")
        max_length: int = option(30, "the longest output decoding may write")
        batch_size: int = option(64, "pairs per update")
        lr: float = option(0.005, "Adam's learning rate")
        epochs: int = option(30, "passes over the training data (at most, with early stopping)")
        patience: int = option(4, "stop after this many epochs without a better validation metric (0: never)")
        min_count: int = option(1, "target tokens seen fewer times in training become <unk>")
        unused_options = ("steps", "bidirectional")  # sequences are as long as they are; the decoder reads left to right

        def __post_init__(self) -> None:
            super().__post_init__()
            for name in ("embedding_size", "beam", "max_length", "min_count"):
                mg.task.require(self, name, getattr(self, name) > 0, "a positive number")
            mg.task.require(self, "teacher_forcing", 0 <= self.teacher_forcing <= 1, "between 0 and 1")
            mg.task.require(self, "bidirectional", not self.bidirectional, "off: the decoder writes left to right")

    def __init__(self, config=None):
        super().__init__(config)
        self.splits = self.pairs(np.random.default_rng([self.config.seed, 3]))
        self.examples = [pair for name in ("train", "valid", "test") for pair in self.splits[name]]
        sources, targets = zip(*self.splits["train"])
        self.source_vocab = Vocabulary([t for s in sources for t in s])
        self.target_vocab = Vocabulary([t for s in targets for t in s], self.config.min_count)

    # -- what a subclass gives ----------------------------------------------------------------------
    def pairs(self, rng: np.random.Generator) -> dict[str, list[tuple[list[str], list[str]]]]:
        raise NotImplementedError

    def join(self, tokens: list[str]) -> str:
        """Tokens back into text (characters: joined; words: with spaces)."""
        return "".join(tokens)

    # -- data -------------------------------------------------------------------------------------
    def encode_pairs(self, pairs, first_row=0):
        sources, lengths = pad([self.source_vocab.encode(s) for s, _ in pairs])
        targets = [self.target_vocab.encode(t) for _, t in pairs]
        target_in, _ = pad([[BOS, *t] for t in targets])
        target_out, _ = pad([[*t, EOS] for t in targets])
        return sources, lengths, target_in, target_out, np.arange(first_row, first_row + len(pairs))

    def make_data(self, rng):
        data, first_row = {}, 0
        for name in ("train", "valid", "test"):
            data[name] = self.encode_pairs(self.splits[name], first_row)
            first_row += len(self.splits[name])
        return data

    def build_model(self):
        c = self.config
        return Seq2Seq(len(self.source_vocab), len(self.target_vocab), c.embedding_size, c.hidden_size,
                       cell=c.cell, num_layers=c.num_layers, context=c.context, summary=c.summary)  # fmt: skip

    def loss(self, model, batch):
        sources, lengths, target_in, target_out = _trimmed(batch)
        return sequence_loss(model(sources, lengths, target_in, self.config.teacher_forcing), target_out)

    # -- decoding -----------------------------------------------------------------------------------
    def translate(self, model, split, beam=None):
        """Decoded outputs of a whole split as token lists, and the attention of each."""
        sources, lengths = split[0], split[1]
        outputs, attention = [], []
        for start in range(0, len(sources), 256):
            rows = slice(start, start + 256)
            width = int(lengths[rows].max())
            decoded = model.decode(sources[rows, :width], lengths[rows], self.config.max_length, beam or self.config.beam)
            outputs += [self.target_vocab.decode(tokens) for tokens in decoded.tokens]
            attention += decoded.attention
        return outputs, attention

    def references(self, split):
        """The true target tokens of each row, as written (words the vocabulary lacks included)."""
        return [self.examples[row][1] for row in split[4]]

    def generate(self, model, prompt, length, temperature, rng):
        """Translate ``prompt`` (greedy, or beam search with the checkpoint's ``--beam``)."""
        tokens = self.tokenize_source(prompt)
        if not tokens:
            raise ValueError(f"{self.name}: give a text to translate")
        ids = np.array([self.source_vocab.encode(tokens)])
        decoded = model.decode(ids, np.array([len(tokens)]), self.config.max_length, self.config.beam)
        return self.join(self.target_vocab.decode(decoded.tokens[0]))

    def tokenize_source(self, text: str) -> list[str]:
        return list(text)

    def write_reports(self, model, data, out_dir):
        """examples.txt: test inputs, references and outputs; attention.png: α for one of them."""
        from minigrad.io import write_atomically

        test = data["test"]
        outputs, attention = self.translate(model, tuple(a[:12] for a in test))
        references = self.references(test)
        lines = []
        for i, output in enumerate(outputs):
            source = "".join(self.source_vocab.decode(test[0][i][: test[1][i]]))  # both tasks read characters
            lines.append(f"{source}\n  reference: {self.join(references[i])}\n  output:    {self.join(output)}\n")
        write_atomically(out_dir / "examples.txt", "\n".join(lines).encode("utf-8"))
        written = [out_dir / "examples.txt"]
        if attention:
            source_tokens = self.source_vocab.decode(test[0][0][: test[1][0]])
            png = attention_heat_map(attention[0], source_tokens, [*outputs[0], "<eos>"][: len(attention[0])])
            if png is not None:
                write_atomically(out_dir / "attention.png", png)
                written.append(out_dir / "attention.png")
        return written


def attention_heat_map(weights: np.ndarray, source: list[str], output: list[str]) -> bytes | None:
    """α as an image: one row per output token, one column per source token (None without matplotlib)."""
    from minigrad.io import figure_bytes, pyplot

    plt = pyplot()
    if plt is None:
        return None
    from matplotlib import font_manager

    cjk = [f.name for f in font_manager.fontManager.ttflist if any(k in f.name for k in ("CJK", "WenQuanYi", "Hei", "Ming"))]
    if cjk:  # Chinese source characters need a font that has them
        plt.rcParams["font.family"] = [cjk[0], "DejaVu Sans"]
    figure, axis = plt.subplots(figsize=(0.45 * len(source) + 2, 0.4 * len(output) + 1.5))
    axis.imshow(weights, cmap="Greys", vmin=0, vmax=1)
    source = [token if token.strip() else "␣" for token in source]  # a space, made visible
    axis.set_xticks(range(len(source)), source, rotation=90 if max(map(len, source)) > 1 else 0)
    axis.set_yticks(range(len(output)), output)
    axis.set(xlabel="source", ylabel="output", title="attention α_tj")
    with warnings.catch_warnings():  # without a CJK font, Chinese labels are drawn as boxes: no need to say so per glyph
        warnings.simplefilter("ignore", UserWarning)
        figure.tight_layout()
        return figure_bytes(figure)


def _trimmed(batch):
    """A batch cut to its own longest source and target: columns of padding only are skipped."""
    sources, lengths, target_in, target_out, _ = batch
    width = int((target_out != PAD).sum(axis=1).max())
    return sources[:, : int(lengths.max())], lengths, target_in[:, :width], target_out[:, :width]
