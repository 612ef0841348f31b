"""rcmlrs vs NumPy (and PyTorch if installed) on elementwise work, 1 thread, same process.

Ratio = rival time / rcmlrs time: above 1 means rcmlrs is faster.
Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_elementwise.py
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import best_times, row, single_thread  # noqa: E402

import rcmlrs as rc  # noqa: E402


def main() -> None:
    torch = single_thread(rc)

    n = 1_000_000
    x = rc.random(n, -5.0, 5.0, seed=1)
    y = rc.random(n, -5.0, 5.0, seed=2)
    nx, ny = x.numpy().ravel().copy(), y.numpy().ravel().copy()
    k = np.float32(1.7)
    cases = [
        ("add 1e6", lambda: x + y, lambda: nx + ny),
        ("scalar multiply 1e6", lambda: x * 1.7, lambda: nx * k),
        ("exp 1e6", lambda: x.exp(), lambda: np.exp(nx)),
    ]
    if hasattr(x, "tanh"):
        cases.append(("tanh 1e6", lambda: x.tanh(), lambda: np.tanh(nx)))
    cases += [
        ("sum 1e6", lambda: x.sum(), lambda: nx.sum()),
        ("max 1e6", lambda: x.max(), lambda: nx.max()),
    ]
    for name, ours, theirs in cases:
        t = best_times({"rcmlrs": ours, "numpy": theirs})
        print(row(name, t["rcmlrs"], {"numpy": t["numpy"]}))

    a, b = rc.random((3, 3), seed=3), rc.random((3, 3), seed=4)
    na, nb = a.numpy()[0].copy(), b.numpy()[0].copy()
    fns = {"rcmlrs": lambda: a + b, "numpy": lambda: na + nb}
    if torch is not None:
        ta, tb = torch.from_numpy(na), torch.from_numpy(nb)
        fns["torch"] = lambda: ta + tb
    t = best_times(fns)
    ours = t.pop("rcmlrs")
    print(row("3x3 a + b (per call)", ours, t))


if __name__ == "__main__":
    main()
