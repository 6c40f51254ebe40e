"""Deliberately broken variants of the MGU cell, for page 9's contract section.

Not a script to run: docs/scripts/lecture_09_plugin.py checks each with mg.testing.check_cell,
and installs this module as a throwaway plugin to run `minigrad gradcheck` on the named ones.
Each variant breaks one rule of the cell contract and keeps the rest of MGUCell.
"""

import numpy as np
from minigrad_mgu import MGUCell

import minigrad as mg


class WrongShape(MGUCell):
    """Returns one unit of h instead of hidden_size."""

    name = "wrong-shape"

    def forward(self, x, h):
        h, _ = super().forward(x, h)
        return h[:, :1], h


class Unseeded(MGUCell):
    """Draws weight_hh from NumPy's own generator, which mg.manual_seed does not reach."""

    name = "unseeded"

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__(input_size, hidden_size, bias)
        self.weight_hh = mg.nn.Parameter(np.random.default_rng().normal(size=(2 * hidden_size, hidden_size)))


class CrashCell(MGUCell):
    """Its forward step raises."""

    name = "crash"

    def forward(self, x, h):
        raise TypeError("oops")


# --8<-- [start:detached]
class DetachedMGU(MGUCell):
    """Cuts the incoming state off the tape: BPTT silently truncated to one step."""

    name = "mgu-detached"

    def forward(self, x, h):
        return super().forward(x, h.detach())


class LeakyCell(MGUCell):
    """Clips its output through NumPy: the result is off the tape, its gradient 0."""

    name = "leaky"

    def forward(self, x, h):
        h, _ = super().forward(x, h)
        h = mg.tensor(np.clip(h.data, -0.5, 0.5))
        return h, h


# --8<-- [end:detached]


VARIANTS = [WrongShape, Unseeded, CrashCell, DetachedMGU, LeakyCell]


@mg.hookimpl
def minigrad_cells():
    return VARIANTS
