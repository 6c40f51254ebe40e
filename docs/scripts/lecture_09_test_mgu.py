"""The MGU plugin's own test suite, as page 9 shows it. Not a script to run:
docs/scripts/lecture_09_plugin.py copies the section below to tests/test_mgu.py in a temporary
folder and runs pytest on it."""

# --8<-- [start:tests]
# tests/test_mgu.py
from minigrad_mgu import MGUCell

import minigrad as mg


def test_mgu_keeps_the_contract():
    mg.testing.check_cell(MGUCell)


def test_mgu_is_registered():
    assert mg.cells()["mgu"] is MGUCell


# --8<-- [end:tests]
