"""Which language is a surname from? Many-to-one classification of variable-length sequences.

4,400 surnames in 10 languages (the textbook's section 19.5). Each name is a sequence of
one-hot characters; names have 2 to 17 letters, so a batch is padded to its longest
name and ``lengths=`` tells the recurrent layer where each one ends: padding changes no
state and no gradient. The class is read from the state after each name's last letter.
The split is 80/20, stratified by language and seeded; the test 20% is never trained on.
"""

from dataclasses import dataclass
from importlib import resources

import numpy as np

import minigrad as mg
from minigrad.task import option
from minigrad_plugins.tasks.corpora import read_user_file, tab_rows


def read_names(path: str = "") -> tuple[list[str], list[str]]:
    """The shipped names, or a user's file in the same ``name<TAB>language`` format."""
    if not path:
        text = resources.files("minigrad_plugins.tasks").joinpath("data/name_language.txt").read_text("utf-8")
        rows = [line.split("\t") for line in text.splitlines() if line.strip()]
    else:
        rows = [fields for _, fields in tab_rows(read_user_file(path), str(path), (2,), "name<TAB>language")]
        if len({language for _, language in rows}) < 2 or len(rows) < 10:
            raise ValueError(f"{path}: needs at least 10 names in at least 2 languages, got {len(rows)}")
    return [name.lower() for name, _ in rows], [language for _, language in rows]


class NamesModel(mg.nn.Module):
    def __init__(self, config, alphabet, classes):
        super().__init__()
        self.directions = 2 if config.bidirectional else 1
        self.rnn = mg.nn.Recurrent(config.cell, alphabet, config.hidden_size, config.num_layers, config.bidirectional)
        self.drop = mg.nn.Dropout(config.dropout)
        self.out = mg.nn.Linear(config.hidden_size * self.directions, classes)

    def forward(self, x, lengths):
        _, h_n = self.rnn(x, lengths=lengths)
        h_n = h_n[0] if isinstance(h_n, tuple) else h_n  # an LSTM's state is (h, c)
        last = [h_n[-d] for d in range(self.directions, 0, -1)]  # the top layer's final state(s)
        return self.out(self.drop(last[0] if len(last) == 1 else mg.concat(last, axis=1)))


class Names(mg.Task):
    name = "names"
    main_metric = "accuracy"

    @dataclass
    class Config(mg.TaskConfig):
        cell: str = option("gru", "the recurrent cell: a registered name")
        hidden_size: int = option(128, "units in each recurrent layer")
        bidirectional: bool = option(True, "read each name both ways")
        steps: int = option(17, "the longest name; shorter ones are padded and masked")
        batch_size: int = option(32, "names per update")
        lr: float = option(0.002, "Adam's learning rate")
        epochs: int = option(30, "passes over the training data (at most, with early stopping)")
        patience: int = option(8, "stop after this many epochs without a better validation metric (0: never)")
        weight_decay: float = option(
            0.01, "shrink every weight by lr * this per step, apart from the gradient (AdamW; 0: plain Adam)"
        )
        dropout: float = option(0.3, "the share of the final state's units zeroed in training (a regulariser)")
        data: str = option("", "a UTF-8 file of name<TAB>language lines to learn instead of the shipped names")

        def __post_init__(self):
            super().__post_init__()
            mg.task.require(self, "dropout", 0 <= self.dropout < 1, "in [0, 1)")

    def __init__(self, config=None):
        super().__init__(config)
        self.names, self.languages = read_names(self.config.data)
        self.classes = sorted(set(self.languages))
        self.alphabet = sorted(set("".join(self.names)))

    def encode(self, names):
        x = np.zeros((len(names), self.config.steps, len(self.alphabet)))
        index = {c: i for i, c in enumerate(self.alphabet)}
        for row, name in enumerate(names):
            for t, char in enumerate(name[: self.config.steps]):
                x[row, t, index[char]] = 1.0
        lengths = np.array([min(len(n), self.config.steps) for n in names])
        return x, lengths

    def make_data(self, rng):
        labels = np.array([self.classes.index(language) for language in self.languages])
        train, valid, test = [], [], []
        for label in range(len(self.classes)):  # stratified: 80/20 per language, a tenth of the 80 for validation
            members = rng.permutation(np.flatnonzero(labels == label))
            cut = int(round(0.8 * len(members)))
            keep = int(round(0.9 * cut))
            train += list(members[:keep])
            valid += list(members[keep:cut])
            test += list(members[cut:])

        def split(rows):
            x, lengths = self.encode([self.names[i] for i in rows])
            return x, lengths, labels[rows]

        return {"train": split(train), "valid": split(valid), "test": split(test)}

    def build_model(self):
        return NamesModel(self.config, len(self.alphabet), len(self.classes))

    def loss(self, model, batch):
        x, lengths, y = batch
        return mg.nn.cross_entropy(model(mg.tensor(x), lengths), y)

    def predict(self, model, split):
        x, lengths, _ = split
        return model(mg.tensor(x), lengths).data.argmax(axis=1)

    def evaluate(self, model, split, name):
        return {"accuracy": float(np.mean(self.predict(model, split) == split[2]))}

    def write_reports(self, model, data, out_dir):
        """confusion.png: for each language, where its test names were put."""
        from minigrad.io import pyplot, save_figure

        plt = pyplot()
        if plt is None:
            return []
        predicted, truth = self.predict(model, data["test"]), data["test"][2]
        counts = np.zeros((len(self.classes), len(self.classes)))
        np.add.at(counts, (truth, predicted), 1)
        shares = counts / counts.sum(axis=1, keepdims=True)
        figure, axis = plt.subplots(figsize=(6.5, 5.5))
        image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        axis.set_xticks(range(len(self.classes)), self.classes, rotation=60, ha="right")
        axis.set_yticks(range(len(self.classes)), self.classes)
        axis.set(xlabel="predicted", ylabel="true language", title="names: test set, share of each row")
        for (i, j), share in np.ndenumerate(shares):
            if share >= 0.05:
                axis.text(j, i, f"{share:.2f}", ha="center", va="center", fontsize=7,
                          color="white" if share > 0.5 else "black")  # fmt: skip
        figure.colorbar(image)
        figure.tight_layout()
        return [save_figure(figure, out_dir / "confusion.png")]


@mg.hookimpl
def minigrad_tasks():
    return [Names]
