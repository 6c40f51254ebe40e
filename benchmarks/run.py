"""minigrad's benchmarks: `make bench` (all) or `python benchmarks/run.py --quick`.

Never part of `make test`. Each figure is a ratio against a baseline timed in the same
process, alternately, as the median of repeated runs: absolute times drift on a shared
machine, ratios measured together hold. Writes benchmarks/results.md.

The training step measured everywhere: forward through a one-layer recurrent layer,
mean squared error of the last step's output, backward through time, the weights'
gradients read. The floor is benchmarks/baselines.py; where the reference floor
../shared/bench/floor.py (from the repository's root) is present, ours is timed against
it first and the run fails if ours is more than 5 % slower. glibc's malloc is tuned as the
`minigrad` command tunes it; the eager step is also timed with glibc's defaults, in a process
of its own.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad.allocator import tune_malloc

sys.path.insert(0, str(Path(__file__).parent))
from baselines import FLOORS, Floor, tanh_sigmoid_

INPUT = 8
ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "bench" / "floor.py"  # ../shared/bench/floor.py, not part of this repository
REFERENCE_SLACK = 1.05  # our floor may be at most this much slower than the reference
REFERENCE_ROUNDS = 15
TRAINING_ROUNDS = 21  # rounds of the training-step table (the median of their per-round ratios)
REFERENCE_NAMES = {"weight_ih_l0": "W_ih", "weight_hh_l0": "W_hh", "bias_ih_l0": "b_ih", "bias_hh_l0": "b_hh"}


def blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info

        return ", ".join(f"{i['internal_api']} {i.get('num_threads')} threads" for i in threadpool_info())
    except ImportError:
        return f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset (all cores)')}"


def alternate(functions: list[Callable[[], object]], budget: float = 1.0, rounds: int = 5) -> list[float]:
    """Median seconds per call of each function, timed in turn, round after round."""
    return [float(np.median(times)) for times in timed_rounds(functions, budget, rounds)]


def timed_rounds(functions: list[Callable[[], object]], budget: float, rounds: int) -> list[list[float]]:
    """Seconds per call of each function in each round; in a round each is timed in turn."""
    for f in functions:
        f()  # warm up
    start = time.perf_counter()
    functions[0]()
    once = max(time.perf_counter() - start, 1e-6)
    inner = max(1, int(budget / rounds / len(functions) / once))
    samples: list[list[float]] = [[] for _ in functions]
    for _ in range(rounds):
        for f, times in zip(functions, samples):
            start = time.perf_counter()
            for _ in range(inner):
                f()
            times.append((time.perf_counter() - start) / inner)
    return samples


# -- the training step ------------------------------------------------------------------


def minigrad_step(cell: str, x: np.ndarray, y: np.ndarray, dtype: type) -> tuple[Callable[[], dict], mg.nn.Module]:
    mg.manual_seed(0)
    layer = mg.nn.Recurrent(cell, x.shape[2], y.shape[1])
    if dtype == np.float32:
        layer.float()
    x_tensor = mg.tensor(x)
    params = dict(layer.named_parameters())  # looked up once, as the floor's buffers are made once

    def step() -> dict:
        layer.zero_grad()
        output, _ = layer(x_tensor)
        mg.nn.mse_loss(output[:, -1], y).backward()
        return {name: p.grad for name, p in params.items()}

    return step, layer


def jitted_step(layer: mg.nn.Module, x: np.ndarray, y: np.ndarray) -> Callable[[], dict] | None:
    """The same training step through ``mg.jit``: recorded on its first call, replayed after."""
    if not hasattr(mg, "jit"):
        return None
    x_tensor = mg.tensor(x)

    @mg.jit
    def train_step(inputs: mg.Tensor) -> mg.Tensor:
        layer.zero_grad()
        output, _ = layer(inputs)
        loss = mg.nn.mse_loss(output[:, -1], y)
        loss.backward()
        return loss

    params = dict(layer.named_parameters())

    def step() -> dict:
        train_step(x_tensor)
        return {name: p.grad for name, p in params.items()}

    trusted(train_step, lambda inputs: (inputs,), x)
    step.jitted = train_step  # type: ignore[attr-defined]
    return step


def trusted(jitted: Callable, arguments: Callable[[mg.Tensor], tuple], x: np.ndarray) -> None:
    """Record ``jitted`` on ``x``, then pass its trial (a call with other values: replay and
    eager compared bit for bit), so that every timed call is a replay."""
    jitted(*arguments(mg.tensor(x)))
    jitted(*arguments(mg.tensor((x + 1).astype(x.dtype))))
    if not jitted.entries or not all(entry.trusted for entry in jitted.entries.values()):
        raise SystemExit(f"mg.jit did not come to replay {jitted.__name__}: {jitted.warned or 'no reason given'}")


def floor_for(cell: str, layer: mg.nn.Module, x: np.ndarray, y: np.ndarray, **options: object) -> Floor:
    """Our hand-written floor on the layer's weights (its buffers allocated here, not in the step)."""
    w = {name: p.data for name, p in layer.named_parameters()}
    return FLOORS[cell](w["weight_ih_l0"], w["weight_hh_l0"], w["bias_ih_l0"], w["bias_hh_l0"], x, y, **options)


def torch_steps(cell: str, layer: mg.nn.Module, x: np.ndarray, y: np.ndarray, dtype: type) -> dict[str, Callable]:
    """PyTorch's fused layer and its cell in a Python loop, on the same weights."""
    try:
        import torch
    except ImportError:
        return {}
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "")
    torch.set_num_threads(int(threads) if threads.isdigit() else os.cpu_count() or 1)  # as many as NumPy's BLAS
    kind = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    cell_kind = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[cell]
    torch_dtype = torch.float32 if dtype == np.float32 else torch.float64
    fused = kind(x.shape[2], y.shape[1], batch_first=True, dtype=torch_dtype)
    fused.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in layer.state_dict().items()})
    looped = cell_kind(x.shape[2], y.shape[1], dtype=torch_dtype)
    looped.load_state_dict({k.removesuffix("_l0"): torch.from_numpy(v.copy()) for k, v in layer.state_dict().items()})
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def run_fused() -> None:
        fused.zero_grad()
        output, _ = fused(xt)
        torch.nn.functional.mse_loss(output[:, -1], yt).backward()

    def run_looped() -> None:
        looped.zero_grad()
        h = torch.zeros(x.shape[0], y.shape[1], dtype=torch_dtype)
        state = (h, h.clone()) if cell == "lstm" else h
        for t in range(x.shape[1]):
            state = looped(xt[:, t], state)
        last = state[0] if cell == "lstm" else state
        torch.nn.functional.mse_loss(last, yt).backward()

    weights = [p.detach().clone().requires_grad_(True) for p in looped.parameters()]  # w_ih, w_hh, b_ih, b_hh

    def run_ops() -> None:
        for w in weights:
            w.grad = None
        h = torch.zeros(x.shape[0], y.shape[1], dtype=torch_dtype)
        state = (h, h.clone()) if cell == "lstm" else h
        for t in range(x.shape[1]):
            state = TORCH_OPS_STEP[cell](torch, xt[:, t], state, *weights)
        last = state[0] if cell == "lstm" else state
        torch.nn.functional.mse_loss(last, yt).backward()

    return {
        "torch fused layer": run_fused,
        "torch cell in a Python loop": run_looped,
        "torch ops in a Python loop": run_ops,
    }


def _torch_rnn_step(torch, x, h, w_ih, w_hh, b_ih, b_hh):
    return torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)


def _torch_lstm_step(torch, x, state, w_ih, w_hh, b_ih, b_hh):
    h, c = state
    i, f, g, o = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _torch_gru_step(torch, x, h, w_ih, w_hh, b_ih, b_hh):
    x_r, x_z, x_n = (x @ w_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ w_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return n + z * (h - n)


# The equations written with torch's elementary ops, one step at a time: define-by-run at
# the granularity minigrad records, the nearest PyTorch peer.
TORCH_OPS_STEP = {"rnn": _torch_rnn_step, "lstm": _torch_lstm_step, "gru": _torch_gru_step}


TORCH_NAMES = ("torch fused layer", "torch cell in a Python loop", "torch ops in a Python loop")


def _row_command(flag: str, cell: str, dtype: type, batch: int, steps: int, hidden: int) -> list[str]:
    """This script, run to time one configuration in a process of its own."""
    return [sys.executable, __file__, flag, cell, np.dtype(dtype).name, str(batch), str(steps), str(hidden)]


def torch_ratios(cell: str, dtype: type, batch: int, steps: int, hidden: int, floor_seconds: float) -> dict:
    """PyTorch's ratios to the floor timed in this process, torch measured in a process of its
    own: once torch has run, its idle OpenMP threads keep spinning and slow NumPy's BLAS
    threads in the same process, the floor's included."""
    import subprocess

    command = _row_command("--torch-row", cell, dtype, batch, steps, hidden)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not result.stdout.strip():
        return {}
    timings = [line.rsplit(" ", 1) for line in result.stdout.strip().splitlines()]
    return {name: float(seconds) / floor_seconds for name, seconds in timings}


def torch_row_here(cell: str, dtype_name: str, batch: int, steps: int, hidden: int) -> None:
    """Print each PyTorch version's seconds per training step, one per line."""
    dtype = np.float32 if dtype_name == "float32" else np.float64
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, steps, INPUT)).astype(dtype)
    y = rng.normal(size=(batch, hidden)).astype(dtype)
    _, layer = minigrad_step(cell, x, y, dtype)
    extra = torch_steps(cell, layer, x, y, dtype)
    if extra:
        for name, seconds in zip(extra, alternate(list(extra.values()), budget=1.5)):
            print(f"{name} {seconds}")


def untuned_ratio(cell: str, dtype: type, batch: int, steps: int, hidden: int) -> float | None:
    """minigrad's eager step over the floor with glibc's malloc as a script of one's own has it,
    timed in a process of its own: this one's malloc is tuned, and in any process a plan's build
    (large buffers allocated, then freed) raises glibc's thresholds for good."""
    import subprocess

    command = _row_command("--untuned-row", cell, dtype, batch, steps, hidden)
    result = subprocess.run(command, capture_output=True, text=True)
    return float(result.stdout) if result.returncode == 0 and result.stdout.strip() else None


def untuned_row_here(cell: str, dtype_name: str, batch: int, steps: int, hidden: int) -> None:
    """Print the eager step's time over the floor's, both timed here (glibc's malloc untouched)."""
    dtype = np.float32 if dtype_name == "float32" else np.float64
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, steps, INPUT)).astype(dtype)
    y = rng.normal(size=(batch, hidden)).astype(dtype)
    eager, layer = minigrad_step(cell, x, y, dtype)
    floor = floor_for(cell, layer, x, y)
    samples = np.array(timed_rounds([floor.step, eager], budget=3.0 if hidden < 512 else 8.0, rounds=TRAINING_ROUNDS))
    print(float(np.median(samples[1] / samples[0])))


def check_same_gradients(ours: dict, expected: dict, dtype: type, label: str) -> None:
    """Stop the run if a gradient differs from the expected one by more than rounding (relative to its largest)."""
    tolerance = 1e-10 if dtype == np.float64 else 1e-4
    for name, grad in expected.items():
        scale = float(np.max(np.abs(grad))) or 1.0
        error = float(np.max(np.abs(ours[name] - grad))) / scale
        if not error <= tolerance:
            raise SystemExit(f"{label}: gradient of {name} differs by {error:.2e} (relative; allowed {tolerance:.0e})")


def training_rows(configs: list[tuple], with_torch: bool) -> list[str]:
    """One row per configuration: the floor's milliseconds and every other step's time over it."""
    rows = []
    for cell, dtype, batch, steps, hidden in configs:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(batch, steps, INPUT)).astype(dtype)
        y = rng.normal(size=(batch, hidden)).astype(dtype)
        eager, layer = minigrad_step(cell, x, y, dtype)
        floor = floor_for(cell, layer, x, y)
        label = f"{cell} {np.dtype(dtype).name} B={batch} T={steps} H={hidden}"
        expected = floor.torch_grads(floor.step())
        check_same_gradients(eager(), expected, dtype, f"{label}: minigrad against the floor")
        steps_timed = [floor.step, eager]
        jitted = jitted_step(layer, x, y)
        if jitted is not None:
            check_same_gradients(jitted(), expected, dtype, f"{label}: mg.jit against the floor")
            check_same_gradients(jitted(), expected, dtype, f"{label}: mg.jit replayed against the floor")
            steps_timed.append(jitted)
        # Short rounds, many of them, and the median of each round's own ratio: the machine's speed
        # drifts from second to second, and a ratio taken within one round cancels the drift.
        samples = np.array(timed_rounds(steps_timed, budget=3.0 if hidden < 512 else 8.0, rounds=TRAINING_ROUNDS))
        floor_seconds = float(np.median(samples[0]))
        ratios = [float(np.median(samples[k] / samples[0])) for k in range(len(steps_timed))]
        jit_text = f"**{ratios[2]:.2f}x**" if jitted is not None else "-"
        untuned = untuned_ratio(cell, dtype, batch, steps, hidden)
        untuned_text = f"{untuned:.2f}x" if untuned is not None else "-"
        torch = torch_ratios(cell, dtype, batch, steps, hidden, floor_seconds) if with_torch else {}
        torch_text = " | ".join(f"{torch[name]:.2f}x" if name in torch else "-" for name in TORCH_NAMES)
        rows.append(
            f"| {cell} | {np.dtype(dtype).name} | {batch} | {hidden} | {floor_seconds * 1e3:.2f} | "
            f"**{ratios[1]:.2f}x** | {untuned_text} | {jit_text} | {torch_text} |"
        )
        print(rows[-1], flush=True)
    return rows


# -- where a replay's time goes ----------------------------------------------------------


def sigmoid_rows() -> list[str]:
    """LSTM and GRU at batch 32, hidden 128: the floor, the floor with minigrad's sigmoid
    ((1 + tanh(a/2)) / 2, which a replay must compute as eager does) and mg.jit, timed in turn."""
    rows = []
    for cell in ("lstm", "gru"):
        for dtype in (np.float32, np.float64):
            rng = np.random.default_rng(0)
            x = rng.normal(size=(32, 32, INPUT)).astype(dtype)
            y = rng.normal(size=(32, 128)).astype(dtype)
            _, layer = minigrad_step(cell, x, y, dtype)
            floor = floor_for(cell, layer, x, y)
            with_tanh = floor_for(cell, layer, x, y, sigmoid_=tanh_sigmoid_)
            expected = floor.torch_grads(floor.step())
            label = f"{cell} {np.dtype(dtype).name}: the floor with minigrad's sigmoid"
            check_same_gradients(with_tanh.torch_grads(with_tanh.step()), expected, dtype, label)
            jitted = jitted_step(layer, x, y)
            samples = np.array(timed_rounds([floor.step, with_tanh.step, jitted], budget=3.0, rounds=TRAINING_ROUNDS))
            tanh_ratio = float(np.median(samples[1] / samples[0]))
            jit_ratio = float(np.median(samples[2] / samples[0]))
            jit_tanh_ratio = float(np.median(samples[2] / samples[1]))
            rows.append(
                f"| {cell} | {np.dtype(dtype).name} | {tanh_ratio:.2f}x | {jit_ratio:.2f}x | {jit_tanh_ratio:.2f}x |"
            )
            print(rows[-1], flush=True)
    return rows


# -- our floor against the reference floor ---------------------------------------------


def load_reference() -> object | None:
    """The reference floor, imported from its path (it is not ours to copy), or None if absent."""
    if not REFERENCE.is_file():
        return None
    spec = importlib.util.spec_from_file_location("reference_floor", REFERENCE)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def reference_rows(reference: object, configs: list[tuple]) -> tuple[list[str], list[str]]:
    """Our LSTM floor against the reference's, on the same weights and data, alternating in one
    process; the median of the per-round ratios and its interquartile range. Returns the rows
    and the labels of the configurations where ours is more than 5 % slower."""
    rows, slow = [], []
    for dtype, batch, steps, hidden in configs:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(batch, steps, INPUT)).astype(dtype)
        y = rng.normal(size=(batch, hidden)).astype(dtype)
        _, layer = minigrad_step("lstm", x, y, dtype)
        ours = floor_for("lstm", layer, x, y)
        weights = {REFERENCE_NAMES[name]: p.data for name, p in layer.named_parameters()}
        x_time_major = np.ascontiguousarray(x.transpose(1, 0, 2))
        theirs, to_torch = reference.lstm_floor(weights, x_time_major, y)  # type: ignore[attr-defined]
        # Its loss is sum((h_T - y)^2) / (2 B), ours mean((h_T - y)^2): its gradients times 2 / H are ours.
        their_grads = to_torch(theirs())
        expected = {name: their_grads[key] * (2 / hidden) for name, key in REFERENCE_NAMES.items()}
        label = f"lstm {np.dtype(dtype).name} B={batch} T={steps} H={hidden}"
        check_same_gradients(
            ours.torch_grads(ours.step()), expected, dtype, f"{label}: our floor against the reference"
        )
        budget, verdict = (3.0 if hidden < 512 else 8.0), "ok"
        their_times, our_times = timed_rounds([theirs, ours.step], budget, REFERENCE_ROUNDS)
        low, median, high = np.percentile(np.array(our_times) / np.array(their_times), [25, 50, 75])
        if median > REFERENCE_SLACK:  # other work on the machine can tip one measurement: once more, longer
            their_times, our_times = timed_rounds([theirs, ours.step], 2 * budget, 2 * REFERENCE_ROUNDS)
            low, median, high = np.percentile(np.array(our_times) / np.array(their_times), [25, 50, 75])
            verdict = "ok (measured twice)"
        if median > REFERENCE_SLACK:
            verdict = "**ours more than 5 % slower**"
            slow.append(f"{label}: {median:.2f}x")
        rows.append(
            f"| lstm | {np.dtype(dtype).name} | {batch} | {steps} | {hidden} | {np.median(their_times) * 1e3:.2f} | "
            f"{np.median(our_times) * 1e3:.2f} | **{median:.3f}x** ({low:.3f}-{high:.3f}) | {verdict} |"
        )
        print(rows[-1], flush=True)
    return rows, slow


# -- per-op overhead and long sequences -----------------------------------------------------


def per_op_overhead() -> dict[str, float]:
    """Elementwise add of two 4x4 arrays, forward and backward: NumPy by hand, minigrad, mg.jit."""
    a_data, b_data = np.random.rand(4, 4), np.random.rand(4, 4)
    seed = np.ones((4, 4))

    def by_hand() -> None:
        out = a_data + b_data
        grad_a, grad_b = seed.copy(), seed.copy()  # what add's backward hands each input

    a = mg.tensor(a_data, requires_grad=True)
    b = mg.tensor(b_data, requires_grad=True)

    def add_backward(a: mg.Tensor, b: mg.Tensor) -> None:
        (a + b).backward(seed)

    def with_minigrad() -> None:
        a.grad = b.grad = None
        add_backward(a, b)

    functions = {"NumPy by hand": by_hand, "minigrad": with_minigrad}
    if hasattr(mg, "jit"):
        jitted = mg.jit(add_backward)
        trusted(jitted, lambda t: (mg.tensor(t.data, requires_grad=True), b), a_data)

        def with_jit() -> None:
            a.grad = b.grad = None
            jitted(a, b)

        functions["mg.jit"] = with_jit
    return dict(zip(functions, alternate(list(functions.values()), budget=2.0, rounds=7)))


def peak_bytes(run: Callable[[], object]) -> int:
    """Peak memory traced while ``run`` runs (tracemalloc sees NumPy's array buffers)."""
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def replay_bytes(step: Callable[[], object], builds: int = 3) -> int:
    """What a replayed step holds: the plan's buffers, which stay from one replay to the next
    (traced as what is left once the plan is built anew, by a replay), plus a replay's own peak.
    Building allocates every buffer before sharing their memory out: a first-call cost, like
    the recording's eager step, left out here. A build may also grow one of the interpreter's
    own tables for good (its dictionary of interned strings: 0.9 MiB, once in a process), which
    is not the plan's: the smallest of three builds counts."""
    resident = None
    for _ in range(builds):
        for entry in step.jitted.entries.values():  # type: ignore[attr-defined]
            entry.program.plan = None
        gc.collect()
        tracemalloc.start()
        step()
        gc.collect()
        left = tracemalloc.get_traced_memory()[0]
        resident = left if resident is None else min(resident, left)
        tracemalloc.stop()
    return resident + peak_bytes(step)


def sequence_step(cell: str, batch: int, steps: int, hidden: int) -> dict[str, tuple[float, int]]:
    """One training step over ``steps`` steps: seconds (median of 3 untraced runs: tracemalloc
    slows every allocation) and peak memory, for the floor, minigrad and mg.jit. The floor's
    memory counts its buffers, made when it is built: building is part of its traced run."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, steps, INPUT))
    y = np.zeros((batch, hidden))
    eager, layer = minigrad_step(cell, x, y, np.float64)
    runs = {"floor": lambda: floor_for(cell, layer, x, y).step(), "minigrad": eager}
    floor = floor_for(cell, layer, x, y)
    timed = {"floor": floor.step, "minigrad": eager}
    jitted = jitted_step(layer, x, y)
    if jitted is not None:  # recorded and trusted already: every call is a replay
        runs["mg.jit"] = timed["mg.jit"] = jitted
    seconds: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(3):
        for name, f in timed.items():
            start = time.perf_counter()
            f()
            seconds[name].append(time.perf_counter() - start)
    measure = {name: peak_bytes for name in timed} | ({"mg.jit": replay_bytes} if jitted is not None else {})
    return {name: (float(np.median(seconds[name])), measure[name](runs[name])) for name in timed}


LOAD_AT_START = os.getloadavg()[0]  # how busy the machine was when the run began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the headline configurations")
    parser.add_argument("--torch-row", nargs=5, metavar=("CELL", "DTYPE", "B", "T", "H"), help=argparse.SUPPRESS)
    parser.add_argument("--untuned-row", nargs=5, metavar=("CELL", "DTYPE", "B", "T", "H"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_row:
        cell, dtype_name, *sizes = args.torch_row
        torch_row_here(cell, dtype_name, *map(int, sizes))
        return
    if args.untuned_row:
        cell, dtype_name, *sizes = args.untuned_row
        untuned_row_here(cell, dtype_name, *map(int, sizes))
        return
    malloc_tuned = tune_malloc()  # as the `minigrad` command runs: minigrad's own figures, not a history's
    import importlib.metadata

    try:
        torch_version = (
            f"PyTorch {importlib.metadata.version('torch')} "
            "(timed in a process of their own with OPENBLAS_NUM_THREADS threads if set, "
            "divided by the floor timed here)"
        )
    except importlib.metadata.PackageNotFoundError:
        torch_version = "PyTorch not installed"
    if args.quick:
        configs = [("lstm", d, b, 32, 128) for d in (np.float32, np.float64) for b in (1, 32)]
        reference_configs = [(d, b, 32, 128) for d in (np.float32, np.float64) for b in (1, 32)]
    else:
        configs = [
            (c, d, b, 32, h)
            for c in ("rnn", "lstm", "gru")
            for h in (128, 512)
            for b in (1, 32)
            for d in (np.float32, np.float64)
        ]
        reference_configs = [(d, b, 32, h) for d in (np.float32, np.float64) for b in (1, 32) for h in (128, 512)]
    reference = load_reference()
    reference_header = [
        "| cell | dtype | batch | steps | hidden | reference floor ms | our floor ms | ours / reference "
        "(median, IQR) | within 5 % |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    if reference is not None:
        print(f"Our floor against the reference floor {REFERENCE}:")
        print("\n".join(reference_header), flush=True)
        checked, slow = reference_rows(reference, reference_configs)
        reference_section = [
            f"Our floor (benchmarks/baselines.py) and the reference floor (`{REFERENCE.name}` from "
            "../shared/bench, imported from its path), same weights and data, timed alternately in "
            f"this process; the median of {REFERENCE_ROUNDS} per-round ratios and its interquartile range "
            f"(a ratio above {REFERENCE_SLACK} is measured once more, with twice the rounds, before it counts). "
            "The gradients of the two are checked equal first.",
            "",
            *reference_header,
            *checked,
        ]
    else:
        slow = []
        reference_section = [f"Not checked: the reference floor {REFERENCE} is absent."]
        print(reference_section[0])
    header = [
        "| cell | dtype | batch | hidden | floor ms | minigrad / floor | minigrad, malloc untuned / floor | "
        "mg.jit / floor | " + " | ".join(f"{name} / floor" for name in TORCH_NAMES) + " |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(header), flush=True)
    rows = training_rows(configs, with_torch=True)
    sigmoid_header = [
        "| cell | dtype | floor with minigrad's sigmoid / floor | mg.jit / floor | "
        "mg.jit / floor with minigrad's sigmoid |",
        "|---|---|---|---|---|",
    ]
    print("\n".join(sigmoid_header), flush=True)
    sigmoid_table = sigmoid_rows()
    overhead = per_op_overhead()
    hand = overhead["NumPy by hand"]
    overhead_rows = [
        f"| 4x4 add, forward + backward: {name} | {seconds * 1e6:.2f} µs"
        + (f" ({seconds / hand:.1f}x by hand)" if name != "NumPy by hand" else "") + " |"
        for name, seconds in overhead.items()
    ]
    short, long = sequence_step("rnn", 8, 1_000, 32), sequence_step("rnn", 8, 10_000, 32)
    sequence_rows = [
        f"| {name} | {short[name][0]:.3f} s, {short[name][1] / 2**20:.1f} MiB | "
        f"{long[name][0]:.3f} s, {long[name][1] / 2**20:.1f} MiB | "
        f"time {long[name][0] / short[name][0]:.1f}x, memory {long[name][1] / short[name][1]:.1f}x |"
        for name in short
    ]
    memory = {cell: sequence_step(cell, 32, 128, 128) for cell in ("rnn", "lstm", "gru")}
    memory_rows = [
        f"| {cell} | " + " | ".join(
            f"{found[name][1] / 2**20:.1f} MiB ({found[name][1] / found['floor'][1]:.2f}x)" if name in found else "-"
            for name in ("floor", "minigrad", "mg.jit")
        ) + " |"
        for cell, found in memory.items()
    ]
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; Python {sys.version.split()[0]}; "
        f"NumPy {np.__version__} ({blas_threads()}); minigrad {mg.__version__}; {torch_version}; "
        f"load average {LOAD_AT_START:.1f} at the start (other work on the machine shifts the ratios).",
        f"Command: `{' '.join(['python', 'benchmarks/run.py', *sys.argv[1:]])}`. Input size {INPUT}, "
        "T = 32 steps; a training step is forward, MSE of the last step, backward through time, the weights' "
        "gradients read. Each ratio of the training-step table is the median, over "
        f"{TRAINING_ROUNDS} rounds that time the floor and the others in turn, of the ratio within a round.",
        "",
        "## The floor against the reference floor",
        "",
        *reference_section,
        "",
        "## Training step against the floor",
        "",
        "The floor is benchmarks/baselines.py (hand-written BPTT: time-major, buffers reused, `out=`). "
        "minigrad is the eager engine; mg.jit is the same step recorded once and replayed. "
        + (
            "This process tunes glibc's malloc as the `minigrad` command does (`minigrad.allocator.tune_malloc`): "
            'freed arrays stay in the process. "malloc untuned" is the eager step in a process of its own with '
            "glibc's defaults, as in a script of one's own that does not call `tune_malloc()`: there every "
            "step's large arrays are mapped and handed back, and touched again page by page (the floor "
            "allocates nothing per step; a plan's build raises glibc's thresholds in its process for good)."
            if malloc_tuned
            else "glibc's malloc is not tuned in this run (MINIGRAD_MALLOC=default, or not Linux with glibc): "
            "every column has the defaults."
        ),
        "",
        *header,
        *rows,
        "",
        "## The sigmoid's share (batch 32, hidden 128)",
        "",
        "minigrad's sigmoid is $(1 + \\tanh(a/2))/2$, the floor's $1 / (1 + e^{-a})$: the same function, "
        "computed with other NumPy calls. mg.jit must make eager's calls to give eager's bits. Here the "
        "floor is timed again with minigrad's formula (benchmarks/baselines.py `tanh_sigmoid_`), beside "
        "the floor and mg.jit, in turn; the last column is what the replay costs beyond that formula.",
        "",
        *sigmoid_header,
        *sigmoid_table,
        "",
        "## Per-op overhead",
        "",
        "| benchmark | time |",
        "|---|---|",
        *overhead_rows,
        "",
        "## 1,000 against 10,000 steps (RNN, batch 8, hidden 32, float64)",
        "",
        "| step | 1,000 steps | 10,000 steps | 10,000 / 1,000 (linear: 10x) |",
        "|---|---|---|---|",
        *sequence_rows,
        "",
        "## Peak memory of a training step (batch 32, T = 128, hidden 128, float64)",
        "",
        "Traced with tracemalloc; the floor's includes its buffers, allocated when it is built; mg.jit's is "
        "its plan's buffers, which stay between replays, plus a replay's own peak (building the plan, once, "
        "allocates every buffer before their memory is shared out). A build may also grow the interpreter's "
        "table of interned strings for good (0.9 MiB, once in a process, not the plan's): mg.jit's figure "
        "takes the smallest of three builds.",
        "",
        "| cell | floor | minigrad | mg.jit |",
        "|---|---|---|---|",
        *memory_rows,
        "",
    ]
    text = "\n".join(lines)
    print("\n".join(lines[lines.index("## Per-op overhead"):]))
    target = Path(__file__).with_name("results.md" if not args.quick else "results-quick.md")
    partial = target.with_suffix(".md.partial")
    partial.write_text(text)
    partial.replace(target)  # atomic: never a half-written results file
    print(f"wrote {target}")
    if slow:
        raise SystemExit(f"our floor is more than 5 % slower than the reference floor: {'; '.join(slow)}")


if __name__ == "__main__":
    main()
