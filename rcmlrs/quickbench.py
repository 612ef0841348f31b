"""``python -m rcmlrs bench``: a quick side-by-side check against NumPy (1 thread).

Ratios are NumPy time / rcmlrs time (above 1: rcmlrs is faster). The full benchmarks
live in the repository's benchmarks/ folder.
"""

from __future__ import annotations

import timeit

import rcmlrs as rc


def _best(fn, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def run() -> int:
    import numpy as np

    old = rc.get_num_threads()
    rc.set_num_threads(1)
    try:
        x = rc.random(1_000_000, -5.0, 5.0, seed=1)
        nx = x.numpy().copy()
        a, b = rc.random((3, 3), seed=2), rc.random((3, 3), seed=3)
        na, nb = a.numpy().copy(), b.numpy().copy()
        m = rc.random((256, 256), seed=4)
        nm = m.numpy()[0].copy()
        cases = [
            ("3x3 add", lambda: a + b, lambda: na + nb, 20000),
            ("add 1e6", lambda: x + x, lambda: nx + nx, 20),
            ("exp 1e6", lambda: x.exp(), lambda: np.exp(nx), 20),
            ("sum 1e6", lambda: x.sum(), lambda: nx.sum(), 20),
            ("matmul 256", lambda: m @ m, lambda: nm @ nm, 5),
        ]
        print(f"{'case':<12} {'rcmlrs':>12} {'numpy':>12} {'ratio':>7}")
        for name, ours, theirs, number in cases:
            t1, t2 = _best(ours, number), _best(theirs, number)
            print(f"{name:<12} {t1 * 1e6:10.2f}us {t2 * 1e6:10.2f}us {t2 / t1:6.2f}x")
    finally:
        rc.set_num_threads(old)
    return 0
