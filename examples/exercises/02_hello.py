"""Page 2, exercise: the lecture's character model of "hello", many-to-many, then generating.

The lecture: for the word "hello", given h compute the probability that the next letter is e,
and so on: the input is "hell", the output "ello". After the first l the answer is l, after the
second it is o. Train a small RNN on that one word and see whether it tells the two l apart;
give it h alone and feed each letter it writes back in as the next input (the one-to-many
loop). Then train the same cell with its state reset to zero before every step, a net that sees
only the current letter, and compare.

    .venv/bin/python examples/exercises/02_hello.py
"""

import os

import numpy as np

import minigrad as mg

LETTERS = "helo"
HIDDEN = 8
UPDATES = 150 if os.environ.get("MINIGRAD_SMOKE") == "1" else 300


def one_hot(text: str) -> np.ndarray:
    """'hell' -> (1, 4, 4): one row per letter, a 1 in its column of LETTERS."""
    return np.eye(len(LETTERS))[[LETTERS.index(c) for c in text]][None]


def run(rnn: mg.nn.RNN, out: mg.nn.Linear, x: np.ndarray, memory: bool) -> mg.Tensor:
    """Logits at every step; without memory every step starts again from s_{t-1} = 0."""
    if memory:
        states, _ = rnn(mg.tensor(x))
        return out(states)
    cell = rnn.cells[0]
    return mg.stack([out(cell(mg.tensor(x[:, t]), cell.init_state(len(x)))[0]) for t in range(x.shape[1])], axis=1)


def train(memory: bool) -> tuple[mg.nn.RNN, mg.nn.Linear, np.ndarray]:
    """Train on "hell" -> "ello"; return the net and its probabilities for the 4 letters at each step."""
    mg.manual_seed(0)
    rnn, out = mg.nn.RNN(len(LETTERS), HIDDEN), mg.nn.Linear(HIDDEN, len(LETTERS))
    optimizer = mg.optim.Adam(list(rnn.parameters()) + list(out.parameters()), lr=0.05)
    x, target = one_hot("hell"), np.array([[LETTERS.index(c) for c in "ello"]])
    for _ in range(UPDATES):
        optimizer.zero_grad()
        loss = mg.nn.cross_entropy(run(rnn, out, x, memory), target)  # softmax over the letters, every step
        loss.backward()
        optimizer.step()
    with mg.no_grad():
        return rnn, out, run(rnn, out, x, memory).softmax(axis=-1).data[0]


def show(title: str, probability: np.ndarray) -> str:
    answer = "".join(LETTERS[i] for i in probability.argmax(axis=-1))
    print(f"{title}: answers {' '.join(answer)}")
    for c, row in zip("hell", probability):
        print(f"  after {c}: " + "  ".join(f"p({n}) {p:.2f}" for n, p in zip(LETTERS, row)))
    return answer


rnn, out, probability = train(memory=True)
assert show("with its state", probability) == "ello"  # both l right: the state knows which l it is at

# One-to-many with the same parameters: h in, then each step's letter becomes the next input.
with mg.no_grad():
    written, _ = rnn.unroll(
        mg.tensor(one_hot("h")[0]),
        steps=4,
        next_input=lambda s: mg.tensor(np.eye(len(LETTERS))[out(s).data.argmax(axis=-1)]),
    )
generated = "h" + "".join(LETTERS[i] for i in out(written).data[0].argmax(axis=-1))
print("generated from h alone:", generated)
assert generated == "hello"

_, _, forgetful = train(memory=False)
show("state reset before every step", forgetful)
after_l = forgetful[2]
assert np.allclose(forgetful[2], forgetful[3])  # the same letter in, the same answer out
assert abs(after_l[LETTERS.index("l")] - 0.5) < 0.05 and abs(after_l[LETTERS.index("o")] - 0.5) < 0.05
print("without a state the best it can do after l is a coin toss between l and o")
