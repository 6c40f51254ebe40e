"""Is a review sentence positive or negative? Many-to-one classification of word sequences.

3,000 sentences from amazon, imdb and yelp reviews (UCI "Sentiment Labelled Sentences",
Kotzias et al., KDD 2015), 500 positive and 500 negative from each site. A sentence is
lower-cased and cut into words (and the marks ! and ?); each word is a row of an embedding
table, x_t = E[word_t], so the network reads one learned vector per step. Sentences have 1
to 73 words: a batch is padded to its longest sentence and ``lengths=`` tells the recurrent
layer where each one ends, so padding changes no state and no gradient. The class is read
from the state after the last word, z = s_T V + b (with ``--bidirectional``, from both
directions' final states).

The vocabulary is the ``--words`` most frequent words of the training sentences only (the
test 20% is never looked at); every other word is ``<unk>``. The split is 80/20, stratified
by site and label and seeded; a tenth of the 80% is held out for early stopping. 2,160
training sentences are easily memorised: in training, half the entries of the word vectors
are zeroed at random (``--dropout``), so no single feature of a word can be relied on.
``--data FILE`` trains on your own ``sentence<TAB>label`` lines (label 0 or 1) instead.
"""

import gzip
import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad.task import option

SITES = ("amazon_cells", "imdb", "yelp")  # the shipped files: data/SITE_labelled.txt.gz
PAD, UNKNOWN = 0, 1  # token 0 fills the steps after a sentence's end; 1 stands for any word not kept


def words_of(sentence):
    """Lower-cased words (``don't`` stays one word) and ! and ?, which carry sentiment; other marks go."""
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?|[!?]", sentence.lower())


def parse(text, origin):
    """``sentence<TAB>label`` lines -> (sentences, labels); a bad line is named by its number."""
    sentences, labels = [], []
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines(): imdb has U+0085 inside sentences
        line = line.rstrip("\r")
        if not line.strip():
            continue
        sentence, tab, label = line.rpartition("\t")
        if not tab or label.strip() not in ("0", "1"):
            raise ValueError(f"sentiment: {origin}, line {number}: expected 'sentence<TAB>0' or 'sentence<TAB>1'")
        if not words_of(sentence):
            raise ValueError(f"sentiment: {origin}, line {number}: the sentence has no words")
        sentences.append(sentence.strip())
        labels.append(int(label))
    return sentences, labels


def read_shipped():
    """The three sites' sentences, labels and the site of each."""
    sentences, labels, sites = [], [], []
    for site in SITES:
        packed = resources.files("minigrad_plugins.tasks").joinpath(f"data/{site}_labelled.txt.gz").read_bytes()
        more, their_labels = parse(gzip.decompress(packed).decode("utf-8"), f"{site}_labelled.txt")
        sentences += more
        labels += their_labels
        sites += [site] * len(more)
    return sentences, labels, sites


def read_file(path):
    """A user's own ``--data`` file: one site, named after the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sentiment: --data {path}: no such file")
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"sentiment: --data {path}: not UTF-8 text") from None
    sentences, labels = parse(text, f"--data {path}")
    for label in (0, 1):
        if labels.count(label) < 10:  # so that validation and test each get at least one
            raise ValueError(f"sentiment: --data {path}: needs at least 10 sentences labelled {label}")
    return sentences, labels, [path.name] * len(sentences)


class SentimentModel(mg.nn.Module):
    def __init__(self, config):
        super().__init__()
        self.directions = 2 if config.bidirectional else 1
        self.embed = mg.nn.Embedding(config.words + 2, config.embedding_size)  # E: a row per word, + <pad>, <unk>
        self.dropout = mg.nn.Dropout(config.dropout)  # training only: 3,000 sentences are easy to memorise
        self.rnn = mg.nn.Recurrent(
            config.cell, config.embedding_size, config.hidden_size, config.num_layers, config.bidirectional
        )
        self.out = mg.nn.Linear(config.hidden_size * self.directions, 2)  # V: a score for negative, positive

    def forward(self, tokens, lengths):
        x = self.dropout(self.embed(tokens))  # x_t = E[word_t]: (batch, steps, embedding_size)
        _, h_n = self.rnn(x, lengths=lengths)
        h_n = h_n[0] if isinstance(h_n, tuple) else h_n  # an LSTM's state is (h, c)
        last = [h_n[-d] for d in range(self.directions, 0, -1)]  # the top layer's final state(s)
        return self.out(last[0] if len(last) == 1 else mg.concat(last, axis=1))


class Sentiment(mg.Task):
    name = "sentiment"
    main_metric = "accuracy"

    @dataclass
    class Config(mg.TaskConfig):
        data: str = option("", "your own file of sentence<TAB>label lines, label 0 or 1 (empty: the shipped reviews)")
        cell: str = option("gru", "the recurrent cell: a registered name")
        hidden_size: int = option(32, "units in each recurrent layer")
        embedding_size: int = option(32, "the length of each word's vector")
        words: int = option(1500, "the vocabulary: the most frequent training words (the rest are <unk>)")
        dropout: float = option(0.5, "in training, the share of the word vectors' entries zeroed")
        steps: int = option(80, "the longest sentence, in words (longer ones are cut)")
        batch_size: int = option(32, "sentences per update")
        lr: float = option(0.005, "Adam's learning rate")
        epochs: int = option(30, "passes over the training data (at most, with early stopping)")
        patience: int = option(5, "stop after this many epochs without a better validation metric (0: never)")

        def __post_init__(self):
            super().__post_init__()
            mg.task.require(self, "embedding_size", self.embedding_size > 0, "a positive number")
            mg.task.require(self, "words", self.words > 0, "a positive number")
            mg.task.require(self, "dropout", 0 <= self.dropout < 1, "in [0, 1)")

    def __init__(self, config=None):
        super().__init__(config)
        source = read_file(self.config.data) if self.config.data else read_shipped()
        self.sentences, self.labels, self.sites = source
        self.vocabulary = []  # token id -> word; make_data fills it from the training sentences
        self.rows = {}  # split name -> the indices of its sentences, for reports

    def encode(self, sentences):
        """Token ids (n, steps), 0 after each sentence's end, and the lengths (n,)."""
        index = {word: i for i, word in enumerate(self.vocabulary)}
        tokens = np.full((len(sentences), self.config.steps), PAD)
        lengths = np.zeros(len(sentences), dtype=int)
        for row, sentence in enumerate(sentences):
            words = words_of(sentence)[: self.config.steps]
            tokens[row, : len(words)] = [index.get(word, UNKNOWN) for word in words]
            lengths[row] = len(words)
        return tokens, lengths

    def make_data(self, rng):
        labels = np.array(self.labels)
        strata = np.array([f"{site}/{label}" for site, label in zip(self.sites, self.labels)])
        train, valid, test = [], [], []
        for stratum in sorted(set(strata)):  # 80/20 per site and label, a tenth of the 80 for validation
            members = rng.permutation(np.flatnonzero(strata == stratum))
            cut = int(round(0.8 * len(members)))
            keep = int(round(0.9 * cut))
            train += list(members[:keep])
            valid += list(members[keep:cut])
            test += list(members[cut:])
        counts = Counter(word for i in train for word in words_of(self.sentences[i]))
        ranked = sorted(counts, key=lambda word: (-counts[word], word))  # ties in alphabetical order: reproducible
        self.vocabulary = ["<pad>", "<unk>", *ranked[: self.config.words]]
        self.rows = {"train": sorted(train), "valid": sorted(valid), "test": sorted(test)}

        def split(rows):
            tokens, lengths = self.encode([self.sentences[i] for i in rows])
            return tokens, lengths, labels[rows]

        return {name: split(rows) for name, rows in self.rows.items()}

    def build_model(self):
        return SentimentModel(self.config)

    def logits(self, model, batch):
        tokens, lengths = batch[0], batch[1]
        longest = int(lengths.max())  # steps past every sentence's end would only be masked out
        return model(tokens[:, :longest], lengths)

    def loss(self, model, batch):
        return mg.nn.cross_entropy(self.logits(model, batch), batch[2])

    def evaluate(self, model, split, name):
        predicted = self.logits(model, split).data.argmax(axis=1)
        return {"accuracy": float(np.mean(predicted == split[2]))}

    def write_reports(self, model, data, out_dir):
        """misclassified.txt: the test sentences the model got wrong, the most confident mistakes first."""
        from minigrad.io import write_atomically

        labels, logits = data["test"][2], self.logits(model, data["test"])
        positive = logits.softmax(axis=1).data[:, 1]  # P(positive | sentence)
        wrong = np.flatnonzero(logits.data.argmax(axis=1) != labels)
        wrong = wrong[np.argsort(-abs(positive[wrong] - 0.5), kind="stable")]
        lines = [f"{len(wrong)} of {len(labels)} test sentences misclassified. P(positive), label, sentence:"]
        lines += [f"{positive[i]:.2f}  {labels[i]}  {self.sentences[self.rows['test'][i]]}" for i in wrong]
        write_atomically(out_dir / "misclassified.txt", ("\n".join(lines) + "\n").encode("utf-8"))
        return [out_dir / "misclassified.txt"]


@mg.hookimpl
def minigrad_tasks():
    return [Sentiment]
