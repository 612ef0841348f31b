"""Activation kernels: rcmlrs vs NumPy (and PyTorch if installed), 1 thread, same process.

Ratio = rival time / rcmlrs time: above 1 means rcmlrs is faster. Each time is the best
of several rounds (the machine may be busy). Targets (DESIGN.md): exp, tanh, relu >= 1.0x
NumPy; sigmoid, gelu, sigmoid_backward >= 3x the NumPy composition and >= 1.0x PyTorch.
Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_kernels.py
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import best_times, row, single_thread  # noqa: E402

import rcmlrs as rc  # noqa: E402


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_gelu(x):
    # the textbook composition of the tanh form, in float32
    c = np.float32(0.7978845608028654)
    return (
        np.float32(0.5)
        * x
        * (np.float32(1.0) + np.tanh(c * (x + np.float32(0.044715) * (x * x * x))))
    )


def np_sigmoid_backward(x, g):
    s = 1.0 / (1.0 + np.exp(-x))
    return g * s * (1.0 - s)


def main() -> None:
    torch = single_thread(rc)
    n = 1_000_000
    x = rc.randn(n, seed=1) * 3.0
    g = rc.randn(n, seed=2)
    nx, ng = x.numpy().ravel().copy(), g.numpy().ravel().copy()
    y = x.sigmoid()  # a layer's saved forward output
    ny = y.numpy().ravel().copy()
    if torch is not None:
        tx, tg = torch.from_numpy(nx.copy()), torch.from_numpy(ng.copy())
        ty = torch.sigmoid(tx)
    tf = torch.nn.functional if torch is not None else None

    cases = [
        ("exp 1e6", lambda: x.exp(), {"numpy": lambda: np.exp(nx)}),
        ("tanh 1e6", lambda: x.tanh(), {"numpy": lambda: np.tanh(nx)}),
        ("relu 1e6", lambda: x.relu(), {"numpy": lambda: np.maximum(nx, np.float32(0))}),
        ("sigmoid 1e6", lambda: x.sigmoid(), {"numpy": lambda: np_sigmoid(nx)}),
        ("gelu (tanh) 1e6", lambda: x.gelu(), {"numpy": lambda: np_gelu(nx)}),
        (
            "sigmoid_backward 1e6",
            lambda: x.sigmoid_backward(g),
            {"numpy": lambda: np_sigmoid_backward(nx, ng)},
        ),
        (
            "sigmoid_backward(output=y) 1e6",
            lambda: x.sigmoid_backward(g, output=y),
            {"numpy": lambda: ng * ny * (np.float32(1) - ny)},
        ),
        ("gelu_backward (tanh) 1e6", lambda: x.gelu_backward(g), {}),
        (
            "relu_backward 1e6",
            lambda: x.relu_backward(g),
            {"numpy": lambda: np.where(nx > 0, ng, np.float32(0))},
        ),
    ]
    if torch is not None:
        cases[0][2]["torch"] = lambda: torch.exp(tx)
        cases[1][2]["torch"] = lambda: torch.tanh(tx)
        cases[2][2]["torch"] = lambda: torch.relu(tx)
        cases[3][2]["torch"] = lambda: torch.sigmoid(tx)
        cases[4][2]["torch"] = lambda: tf.gelu(tx, approximate="tanh")
        # from x: torch has no x-based sigmoid backward, so it is forward + backward;
        # from the saved output y: torch's fused kernel against ours
        cases[5][2]["torch"] = lambda: torch.ops.aten.sigmoid_backward(tg, torch.sigmoid(tx))
        cases[6][2]["torch"] = lambda: torch.ops.aten.sigmoid_backward(tg, ty)
        cases[7][2]["torch"] = lambda: torch.ops.aten.gelu_backward(tg, tx, approximate="tanh")
        cases[8][2]["torch"] = lambda: torch.ops.aten.threshold_backward(tg, tx, 0.0)

    xs = rc.randn((1000, 1000), seed=3) * 3.0
    nxs = xs.numpy()[0].copy()

    def np_softmax(a):
        e = np.exp(a - a.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    smx = {"numpy": lambda: np_softmax(nxs)}
    if torch is not None:
        txs = torch.from_numpy(nxs.copy())
        smx["torch"] = lambda: torch.softmax(txs, dim=-1)
    cases.append(("softmax rows 1000x1000", lambda: xs.softmax(), smx))

    # the machine may be shared: contenders are timed in interleaved rounds and each
    # keeps its best, so a burst of load hits everyone rather than one side
    rounds = int(os.environ.get("RCMLRS_BENCH_ROUNDS", "5"))
    for name, ours, rivals in cases:
        best = best_times({"rcmlrs": ours, **rivals}, rounds=rounds)
        print(row(name, best.pop("rcmlrs"), best), flush=True)


if __name__ == "__main__":
    main()
