"""Chinese -> English translation: the encoder–decoder on real sentences.

16,013 short sentence pairs from Tatoeba (English of at most 6 words; CC BY 2.0 FR, see
``data/SOURCES.md``), split 80/10/10 with the seed. The encoder reads the Chinese one
character at a time; the decoder writes lower-cased English one word (or punctuation
mark) at a time, words seen fewer than twice in training becoming ``<unk>``. The metric
is corpus BLEU on the held-out 10%, scored by sacreBLEU (the ``translate`` extra:
``pip install 'minigrad[translate]'``) on the lower-cased references.

``--context init``, ``every-step`` and ``attention`` train the lecture's variants (a) and
(b) and Bahdanau attention on the same data, for comparison.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


import minigrad as mg
from minigrad.task import option
from minigrad_plugins.tasks.corpora import read_translation_pairs
from minigrad_plugins.tasks.encoder_decoder import EncoderDecoderTask

WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")
NO_SPACE_BEFORE = {".", ",", "!", "?", ":", ";"}


def english_tokens(sentence: str) -> list[str]:
    """"Tom's here." -> ["tom's", "here", "."]: lower-cased words and single punctuation marks."""
    return WORD.findall(sentence.lower())


def join_english(tokens: list[str]) -> str:
    """["tom's", "here", "."] -> "tom's here.": spaces between words, none before punctuation."""
    text = ""
    for token in tokens:
        text += token if (not text or token in NO_SPACE_BEFORE) else " " + token
    return text


def chinese_tokens(sentence: str) -> list[str]:
    return [c for c in sentence if not c.isspace()]


class Translate(EncoderDecoderTask):
    name = "translate"
    main_metric = "bleu"

    @dataclass
    class Config(EncoderDecoderTask.Config):
        data: str = option("", "a TAB file of English<TAB>Chinese pairs to learn instead of the shipped Tatoeba subset")
        hidden_size: int = option(128, "units in the encoder's and the decoder's recurrent layers")
        embedding_size: int = option(64, "size of each token's learned vector")
        max_length: int = option(16, "the longest output decoding may write")
        epochs: int = option(25, "passes over the training pairs (at most, with early stopping)")
        lr: float = option(0.003, "Adam's learning rate")
        min_count: int = option(2, "English words seen fewer times in training become <unk>")

    def pairs(self, rng):
        pairs = [(chinese_tokens(zh), english_tokens(en)) for zh, en in read_translation_pairs(self.config.data or None)]
        pairs = [(zh, en) for zh, en in pairs if zh and en]
        if len(pairs) < 10:
            raise ValueError(f"translate: {len(pairs)} usable pairs; at least 10 are needed")
        order = rng.permutation(len(pairs))
        cut_valid, cut_test = int(0.8 * len(pairs)), int(0.9 * len(pairs))
        chosen = lambda rows: [pairs[i] for i in rows]  # noqa: E731
        return {"train": chosen(order[:cut_valid]), "valid": chosen(order[cut_valid:cut_test]), "test": chosen(order[cut_test:])}

    def join(self, tokens):
        return join_english(tokens)

    def tokenize_source(self, text):
        return chinese_tokens(text)

    def evaluate(self, model, split, name):
        try:
            import sacrebleu
        except ImportError:
            raise ImportError("translate: BLEU needs sacreBLEU: pip install 'minigrad[translate]'") from None
        outputs, _ = self.translate(model, split)
        references = [self.join(words) for words in self.references(split)]
        bleu = sacrebleu.corpus_bleu([self.join(o) for o in outputs], [references])
        return {"bleu": round(float(bleu.score), 2)}


@mg.hookimpl
def minigrad_tasks():
    return [Translate]
