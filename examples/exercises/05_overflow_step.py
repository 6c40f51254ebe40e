"""Page 5, exercise 3: predict the step where float32 overflows, from ρ alone.

In the overflow section every state stays at 0, so tanh' = 1 and each step back multiplies the
gradient by Wᵀ, whose singular values are all ρ: ‖dL/ds_t‖ = ‖v‖ · ρ^(T - t) exactly. The norm
passes float32's largest number F when ρ^(T - t) > F / ‖v‖, that is k = T - t steps back with

    k > log(F / ‖v‖) / log ρ

The script's transcript (docs/images/05/anomaly.txt) names the state whose gradient first holds
an entry beyond F. The largest entry lies between the norm / √32 and the norm, so that state is
the norm's crossing or at most log(√32) / log ρ steps further back.

    python examples/exercises/05_overflow_step.py
"""

import math
import re
from pathlib import Path

import numpy as np

TRANSCRIPT = Path(__file__).resolve().parents[2] / "docs" / "images" / "05" / "anomaly.txt"
HIDDEN = 32

text = TRANSCRIPT.read_text(encoding="utf-8")
rho = float(re.search(r"ρ = ([\d.]+)", text).group(1))
steps = int(re.search(r"(\d+) steps of zero input", text).group(1))
named = int(re.search(r"backward into s_(\d+)", text).group(1))  # the state detect_anomaly names

v = np.random.default_rng(2).normal(0, 1, (1, HIDDEN))  # the script's L = s_T·vᵀ
largest = float(np.finfo(np.float32).max)
k = math.floor(math.log(largest / np.linalg.norm(v)) / math.log(rho)) + 1  # the first k with ‖v‖ρ^k > F
predicted = steps - k

print(f"ρ = {rho}, T = {steps}, ‖v‖ = {np.linalg.norm(v):.3f}, float32's largest number {largest:.2e}")
print(f"the norm passes it {k} steps back from the loss: at t = {predicted}")
print(
    f"detect_anomaly names s_{named}: {predicted - named} step(s) further back, where the largest entry passes it too"
)
slack = math.log(math.sqrt(HIDDEN)) / math.log(rho)  # steps from ‖g‖ > F to max|g_j| > F, at most
print(f"at most {slack:.1f} steps apart, since the largest entry of a {HIDDEN}-vector is at least its norm / √{HIDDEN}")
assert predicted - slack <= named <= predicted, "the named state is not where the norm predicts"
