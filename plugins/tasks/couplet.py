"""对联, the couplet: many-to-many of equal length, an output at every input step.

Given an upper line (上联) the model writes a lower line (下联) of the same length, one
character per position: the lower line's t-th character answers the upper line's t-th
(天 to 地, 雨 to 风), so the lecture's equal-length many-to-many network fits as it stands,
as a sequence labeller. x_t = E[c_t] (a row of the embedding table); a bidirectional
recurrent layer reads the upper line both ways, so s_t (forwards) and s'_t (backwards)
together have seen the whole line; z_t = [s_t, s'_t] V + b_v, and softmax(z_t) is the
guess at the lower line's t-th character.

Lines have 4 to 10 characters: a batch is padded to its longest line, ``lengths=`` keeps
the padding out of every state, and a mask keeps it out of the loss, so padding changes
nothing. ``minigrad generate couplet --checkpoint F 春风送暖`` prints a lower line of the
same length (temperature 0: the likeliest character at each position; otherwise sampled).

Data: the shipped 11,824 training couplets (a seeded tenth held out for validation) and
1,122 test couplets whose upper lines are not among them (``corpora.read_couplets``).
``--data FILE`` learns your own ``upper<TAB>lower`` lines instead, split 80/10/10, seeded.
Metrics on the test couplets: per-character accuracy, perplexity exp(mean -log p(lower_t |
upper line)), and the perplexity of a unigram model (training-set frequencies of lower-line
characters, blind to the upper line) for comparison.
"""

from dataclasses import dataclass

import numpy as np

import minigrad as mg
from minigrad.task import option
from minigrad_plugins.tasks.corpora import frequent_characters, read_couplets

PAD, UNKNOWN = 0, 1  # token 0 fills the steps after a line's end; 1 stands for any character not kept
SAMPLES = 20  # test couplets written to samples.txt after training


class CoupletModel(mg.nn.Module):
    def __init__(self, config, vocabulary):
        super().__init__()
        directions = 2 if config.bidirectional else 1
        self.embed = mg.nn.Embedding(vocabulary, config.embedding_size)  # E: x_t = E[c_t]
        self.dropout = mg.nn.Dropout(config.dropout)
        self.rnn = mg.nn.Recurrent(
            config.cell, config.embedding_size, config.hidden_size, config.num_layers, config.bidirectional
        )
        self.out = mg.nn.Linear(config.hidden_size * directions, vocabulary)  # V: a score per character

    def forward(self, tokens, lengths):
        output, _ = self.rnn(self.dropout(self.embed(tokens)), lengths=lengths)
        batch, steps, features = output.shape
        # all steps' rows in one 2-D matmul: NumPy multiplies a 3-D array by a matrix several times slower
        z = self.out(self.dropout(output).reshape(batch * steps, features))
        return z.reshape(batch, steps, -1)  # z_t at every step: (batch, steps, vocabulary)


class Couplet(mg.Task):
    name = "couplet"
    main_metric = "accuracy"

    @dataclass
    class Config(mg.TaskConfig):
        data: str = option("", "your own file of upper<TAB>lower lines (empty: the shipped couplets)")
        cell: str = option("gru", "the recurrent cell: a registered name")
        hidden_size: int = option(128, "units in each recurrent layer")
        bidirectional: bool = option(True, "read the upper line both ways")
        embedding_size: int = option(64, "the length of each character's vector")
        min_count: int = option(2, "keep characters seen this often in training; the rest are <unk>")
        dropout: float = option(0.5, "in training, the share of embedding and output entries zeroed")
        steps: int = option(10, "the longest line; shorter ones are padded and masked")
        batch_size: int = option(32, "couplets per update")
        lr: float = option(0.005, "Adam's learning rate")
        epochs: int = option(12, "passes over the training data (at most, with early stopping)")
        patience: int = option(3, "stop after this many epochs without a better validation metric (0: never)")

        def __post_init__(self):
            super().__post_init__()
            mg.task.require(self, "embedding_size", self.embedding_size > 0, "a positive number")
            mg.task.require(self, "min_count", self.min_count > 0, "a positive number")
            mg.task.require(self, "dropout", 0 <= self.dropout < 1, "in [0, 1)")

    def __init__(self, config=None):
        super().__init__(config)
        # The splits are fixed here, not in make_data: the vocabulary, and so the model's shape,
        # comes from the training couplets, and generate rebuilds the model without any data.
        rng = np.random.default_rng([self.config.seed, 1])
        if self.config.data:
            pairs = read_couplets(path=self.config.data)
            if len(pairs) < 10:  # so that validation and test each hold at least one couplet
                raise ValueError(f"couplet: --data {self.config.data}: needs at least 10 couplets, got {len(pairs)}")
            order = rng.permutation(len(pairs))
            cut_valid, cut_test = int(0.8 * len(pairs)), int(0.9 * len(pairs))
            self.pairs = {"train": [pairs[i] for i in order[:cut_valid]],
                          "valid": [pairs[i] for i in order[cut_valid:cut_test]],
                          "test": [pairs[i] for i in order[cut_test:]]}  # fmt: skip
        else:
            train = read_couplets("train")
            order = rng.permutation(len(train))
            cut = int(0.9 * len(train))
            self.pairs = {"train": [train[i] for i in order[:cut]], "valid": [train[i] for i in order[cut:]],
                          "test": read_couplets("test")}  # fmt: skip
        longest = max(len(upper) for split in self.pairs.values() for upper, _ in split)
        mg.task.require(self.config, "steps", longest <= self.config.steps, f"at least {longest}, the longest line")
        kept = frequent_characters((upper + lower for upper, lower in self.pairs["train"]), self.config.min_count)
        self.vocabulary = ["<pad>", "<unk>", *kept]  # token id -> character
        self.index = {c: i for i, c in enumerate(self.vocabulary)}
        self.unigram = self.unigram_probabilities([lower for _, lower in self.pairs["train"]])

    def encode(self, lines):
        """Token ids (lines, steps), <pad> after each line's end, and the lengths (lines,)."""
        tokens = np.full((len(lines), self.config.steps), PAD, dtype=np.int64)
        for row, line in enumerate(lines):
            tokens[row, : len(line)] = [self.index.get(c, UNKNOWN) for c in line]
        return tokens, np.array([len(line) for line in lines], dtype=np.int64)

    def unigram_probabilities(self, lines):
        """p(character) from its count in the training lower lines, add-one smoothed so that
        no test character has probability 0 (<pad> is never a target)."""
        tokens, lengths = self.encode(lines)
        real = np.arange(self.config.steps) < lengths[:, None]
        counts = np.bincount(tokens[real], minlength=len(self.vocabulary)) + 1.0
        counts[PAD] = 0
        return counts / counts.sum()

    def make_data(self, rng):
        # rng is not needed: the splits were fixed in __init__ from the same seed
        data = {}
        for name, pairs in self.pairs.items():
            upper, lengths = self.encode([upper for upper, _ in pairs])
            lower, _ = self.encode([lower for _, lower in pairs])
            data[name] = (upper, lengths, lower)
        return data

    def build_model(self):
        # float32: the output layer, a score for each of ~3,000 characters, takes most of the time
        return CoupletModel(self.config, len(self.vocabulary)).float()

    def scores(self, model, upper, lengths):
        """z_t for the steps up to the batch's longest line (later steps would be all padding)."""
        longest = int(lengths.max())
        return model(upper[:, :longest], lengths)

    def loss(self, model, batch):
        upper, lengths, lower = batch
        logits = self.scores(model, upper, lengths)
        steps = logits.shape[1]
        mask = (np.arange(steps) < lengths[:, None]).astype(logits.dtype)  # 1 on real characters, 0 on padding
        losses = mg.nn.cross_entropy(logits, lower[:, :steps], reduction="none")
        return (losses * mg.tensor(mask, dtype=logits.dtype)).sum() / mask.sum()

    def evaluate(self, model, split, name):
        upper, lengths, lower = split
        losses, correct = [], []
        for start in range(0, len(upper), 512):  # in parts: the scores are (couplets, steps, vocabulary)
            part = slice(start, start + 512)
            logits = self.scores(model, upper[part], lengths[part])
            steps = logits.shape[1]
            real = np.arange(steps) < lengths[part, None]
            target = lower[part, :steps]
            losses.append(mg.nn.cross_entropy(logits, target, reduction="none").data[real])
            correct.append(((logits.data.argmax(axis=-1) == target) & (target != UNKNOWN))[real])
        real = np.arange(self.config.steps) < lengths[:, None]
        return {
            "accuracy": float(np.mean(np.concatenate(correct))),  # a correctly guessed <unk> does not count
            "perplexity": float(np.exp(np.mean(np.concatenate(losses)))),
            "unigram_perplexity": float(np.exp(-np.mean(np.log(self.unigram[lower[real]])))),
        }

    def answer(self, model, upper_lines, temperature, rng):
        """A lower line for each upper line: at every position the likeliest character
        (temperature 0) or one drawn from softmax(z_t / temperature); never <pad> or <unk>."""
        upper, lengths = self.encode(upper_lines)
        logits = self.scores(model, upper, lengths).data.copy()
        logits[..., [PAD, UNKNOWN]] = -np.inf
        if temperature <= 0:
            chosen = logits.argmax(axis=-1)
        else:
            p = np.exp((logits - logits.max(axis=-1, keepdims=True)) / temperature)
            p /= p.sum(axis=-1, keepdims=True)
            chosen = np.array([[rng.choice(p.shape[-1], p=q) for q in row] for row in p])
        return ["".join(self.vocabulary[i] for i in row[:n]) for row, n in zip(chosen, lengths)]

    def generate(self, model, prompt, length, temperature, rng):
        """The lower line for the upper line ``prompt``, of the same length (``length`` is not
        used). Characters outside the vocabulary are read as <unk>."""
        prompt = prompt.strip()
        if not prompt or len(prompt) > self.config.steps or not set(prompt) & set(self.index):
            raise ValueError(
                f"couplet: the prompt must be an upper line of 1 to {self.config.steps} characters of the "
                f"couplets (e.g. 春风送暖), got {prompt!r}"
            )
        return self.answer(model, [prompt], temperature, rng)[0]

    def write_reports(self, model, data, out_dir):
        """samples.txt: the first test couplets with the model's lower lines (temperature 0)."""
        from minigrad.io import write_atomically

        pairs = self.pairs["test"][:SAMPLES]
        answers = self.answer(model, [upper for upper, _ in pairs], 0.0, None)
        lines = ["upper line / the couplet's lower line / the model's (temperature 0)"]
        lines += [f"{upper}  {lower}  {answer}" for (upper, lower), answer in zip(pairs, answers)]
        write_atomically(out_dir / "samples.txt", ("\n".join(lines) + "\n").encode("utf-8"))
        return [out_dir / "samples.txt"]


@mg.hookimpl
def minigrad_tasks():
    return [Couplet]
