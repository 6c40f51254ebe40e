"""Page 7, exercise: how many numbers does a 2-layer bidirectional RNN learn, input 1, hidden 8?

Each layer and direction has its own U (hidden × input), W (hidden × hidden) and two biases
(bias_ih and bias_hh, PyTorch's layout). Layer 0 reads x_t (1 number); layer 1 reads the joined
states of both directions of layer 0 (2 × 8 = 16 numbers). So per direction:
layer 0: 8·1 + 8·8 + 8 + 8 = 88, layer 1: 8·16 + 8·8 + 8 + 8 = 208; both directions: 2 × (88 + 208).

    .venv/bin/python examples/exercises/07_parameter_count.py
"""

import minigrad as mg


def predicted(input_size: int, hidden: int, layers: int, directions: int) -> int:
    """U, W and two biases per layer and direction; layers above the first read directions·hidden."""
    total = 0
    for layer in range(layers):
        reads = input_size if layer == 0 else directions * hidden
        total += directions * (hidden * reads + hidden * hidden + 2 * hidden)
    return total


for layers, bidirectional in ((1, False), (2, False), (1, True), (2, True)):
    rnn = mg.nn.RNN(1, 8, num_layers=layers, bidirectional=bidirectional)
    counted = sum(p.data.size for p in rnn.parameters())
    expected = predicted(1, 8, layers, 2 if bidirectional else 1)
    print(
        f"{layers} layer(s), {'both directions' if bidirectional else 'forward only':<15}: "
        f"{counted:4d} parameters (predicted {expected})"
    )
    assert counted == expected

rnn = mg.nn.RNN(1, 8, num_layers=2, bidirectional=True)
shapes = {name: p.shape for name, p in rnn.named_parameters()}
print("layer 1's U reads both directions of layer 0:", "weight_ih_l1", shapes["weight_ih_l1"])
assert shapes["weight_ih_l1"] == (8, 16) and shapes["weight_ih_l1_reverse"] == (8, 16)
