"""A character language model: the lecture's many-to-many example of equal length.

Trained on "hello", the network reads "hell" and predicts "ello": at every step t the
output z_t is a guess at character t + 1. With ``--text FILE`` it learns any text,
cut into windows of ``--steps`` characters. ``minigrad generate char-lm --checkpoint F h``
then writes new text one character at a time, each sample fed back as the next input
(one-to-many), at a chosen temperature.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import minigrad as mg


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
        text: str = ""  # a UTF-8 text file to learn (default: the lecture's "hello")
        hidden_size: int = 16
        steps: int = 4  # characters per training window
        epochs: int = 500
        lr: float = 0.02
        patience: int = 0

        def __post_init__(self):
            super().__post_init__()
            mg.task.require(self, "bidirectional", not self.bidirectional, "off: a language model reads left to right")

    def __init__(self, config=None):
        super().__init__(config)
        if self.config.text:
            path = Path(self.config.text)
            if not path.is_file():
                raise FileNotFoundError(f"char-lm: --text {path}: no such file")
            self.text = path.read_text("utf-8")
        else:
            self.text = "hello"
        if len(self.text) <= self.config.steps:
            raise ValueError(f"char-lm: the text has {len(self.text)} characters; --steps must be smaller")
        self.alphabet = sorted(set(self.text))

    def one_hot(self, indices):
        return np.eye(len(self.alphabet))[indices]

    def make_data(self, rng):
        codes = np.array([self.alphabet.index(c) for c in self.text])
        steps = self.config.steps
        starts = np.arange(0, len(codes) - steps, steps)
        x = self.one_hot(np.stack([codes[s : s + steps] for s in starts]))
        y = np.stack([codes[s + 1 : s + steps + 1] for s in starts])  # each input's next character
        if len(starts) < 20:  # "hello": one window, learned and tested as the lecture does
            return {"train": (x, y), "valid": (x, y), "test": (x, y)}
        cut_valid, cut_test = int(0.9 * len(starts)), int(0.95 * len(starts))  # the text's end is held out
        return {"train": (x[:cut_valid], y[:cut_valid]), "valid": (x[cut_valid:cut_test], y[cut_valid:cut_test]),
                "test": (x[cut_test:], y[cut_test:])}  # fmt: skip

    def build_model(self):
        return CharModel(self.config, len(self.alphabet))

    def loss(self, model, batch):
        x, y = batch
        logits, _ = model(mg.tensor(x))
        return mg.nn.cross_entropy(logits, y)

    def evaluate(self, model, split):
        x, y = split
        logits, _ = model(mg.tensor(x))
        loss = mg.nn.cross_entropy(logits, y).item()
        accuracy = float(np.mean(logits.data.argmax(axis=-1) == y))
        return {"accuracy": accuracy, "perplexity": float(np.exp(loss))}

    def generate(self, model, prompt, length, temperature, rng):
        """``prompt`` and ``length`` more characters, each drawn from softmax(z_t / temperature)
        (temperature 0: always the likeliest) and fed back as the next input."""
        unknown = sorted(set(prompt) - set(self.alphabet))
        if not prompt or unknown:
            raise ValueError(f"char-lm: the prompt must be characters of the text ({''.join(self.alphabet)!r})")
        codes = [self.alphabet.index(c) for c in prompt]
        state = None
        if len(codes) > 1:  # read the prompt up to its last character
            _, state = model(mg.tensor(self.one_hot(np.array([codes[:-1]]))))
        drawn = []

        def sample(h):
            scores = model.out(h).data[0]
            if temperature <= 0:
                choice = int(scores.argmax())
            else:
                p = np.exp((scores - scores.max()) / temperature)
                choice = int(rng.choice(len(p), p=p / p.sum()))
            drawn.append(choice)
            return mg.tensor(self.one_hot(np.array([choice])))

        output, _ = model.rnn.unroll(mg.tensor(self.one_hot(np.array([codes[-1]]))), length, sample, state)
        sample(output[:, -1])  # the last step's output gives the last character
        return prompt + "".join(self.alphabet[c] for c in drawn)


@mg.hookimpl
def minigrad_tasks():
    return [CharLM]
