"""Layers, losses and the Module system: ``mg.nn``, shaped like ``torch.nn``."""

from minigrad.nn.cell import Cell
from minigrad.nn.clip import clip_grad_norm_
from minigrad.nn.layers import Dropout, Embedding, Linear, linear
from minigrad.nn.losses import bce_with_logits, cross_entropy, mse_loss
from minigrad.nn.module import Module, ModuleList, Parameter
from minigrad.nn.recurrent import GRU, LSTM, RNN, Recurrent
from minigrad.nn.seq2seq import AdditiveAttention, Seq2Seq, sequence_loss

__all__ = [
    "Module",
    "ModuleList",
    "Parameter",
    "Linear",
    "linear",
    "Cell",
    "Recurrent",
    "RNN",
    "LSTM",
    "GRU",
    "Seq2Seq",
    "AdditiveAttention",
    "sequence_loss",
    "Embedding",
    "Dropout",
    "mse_loss",
    "bce_with_logits",
    "cross_entropy",
    "clip_grad_norm_",
]
