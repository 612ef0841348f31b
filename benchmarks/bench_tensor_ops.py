"""rcmlrs vs NumPy on issue 14's tensor surface, 1 thread, same process.

Ratio = NumPy time / rcmlrs time: above 1 means rcmlrs is faster. Covers the new
elementwise ops (comparisons, where, maximum, tensor powers, mod), reductions over several
axes, logsumexp, cumsum, indexing/shape ops (slices, fancy indices, flip, tile) and transposes.
Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_tensor_ops.py
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import best_times, row, single_thread  # noqa: E402

import rcmlrs as rc  # noqa: E402


def _lse(a: np.ndarray, axis: int) -> np.ndarray:
    m = a.max(axis=axis, keepdims=True)
    return m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True))


def main() -> None:
    single_thread(rc)
    shape = (16, 256, 256)  # 1M floats
    x = rc.random(shape, -3.0, 3.0, seed=1)
    y = rc.random(shape, 0.5, 2.0, seed=2)
    nx, ny = np.asarray(x).copy(), np.asarray(y).copy()
    idx = np.random.default_rng(0).integers(0, 256, 128)
    small = rc.random((4, 8, 8), seed=3)
    nsmall = np.asarray(small).copy()
    # transposes (a copy in rcmlrs; NumPy's view made contiguous): power-of-two strides
    sq, tall = rc.random((1024, 1024), seed=4), rc.random((4096, 32), seed=5)
    wide, mid = rc.random((3200, 1024), seed=6), rc.random((64, 1000), seed=7)
    nsq, ntall = np.asarray(sq)[0].copy(), np.asarray(tall)[0].copy()
    nwide, nmid = np.asarray(wide)[0].copy(), np.asarray(mid)[0].copy()
    cases = [
        ("x < y (1M)", lambda: x < y, lambda: (nx < ny).astype(np.float32)),
        ("where (1M)", lambda: rc.where(x > 0, x, y), lambda: np.where(nx > 0, nx, ny)),
        ("maximum(x, y) (1M)", lambda: x.maximum(y), lambda: np.maximum(nx, ny)),
        ("x % y (1M)", lambda: x % y, lambda: np.mod(nx, ny)),
        ("y ** x (1M)", lambda: y**x, lambda: ny**nx),
        ("2.0 ** x (1M)", lambda: 2.0**x, lambda: np.float32(2.0) ** nx),
        ("sum axis (0, 2) (1M)", lambda: x.sum(axis=(0, 2)), lambda: nx.sum((0, 2), keepdims=True)),
        ("sum axis (1, 2) (1M)", lambda: x.sum(axis=(1, 2)), lambda: nx.sum((1, 2), keepdims=True)),
        # over the rows of a wide matrix: an LSTM's bias gradient (T*B x 4H), column tiles
        ("sum rows 3200x1024 (3.3M)", lambda: wide.sum(axis=1), lambda: nwide.sum(0)),
        ("logsumexp axis 2 (1M)", lambda: x.logsumexp(axis=2), lambda: _lse(nx, 2)),
        ("cumsum axis 2 (1M)", lambda: x.cumsum(axis=2), lambda: nx.cumsum(axis=2)),
        ("t[:, ::2, 1:-1] (1M)", lambda: x[:, ::2, 1:-1], lambda: nx[:, ::2, 1:-1].copy()),
        ("t[:, idx] 128 rows (1M)", lambda: x[:, idx], lambda: nx[:, idx]),
        ("flip axis 2 (1M)", lambda: x.flip(2), lambda: np.flip(nx, 2).copy()),
        ("tile (1, 2, 2) (1M)", lambda: x.tile((1, 2, 2)), lambda: np.tile(nx, (1, 2, 2))),
        ("x.T (16, 256, 256) (1M)", lambda: x.T, lambda: np.ascontiguousarray(nx.swapaxes(1, 2))),
        ("x.T 1024 x 1024 (1M)", lambda: sq.T, lambda: np.ascontiguousarray(nsq.T)),
        ("x.T 4096 x 32 (131K)", lambda: tall.T, lambda: np.ascontiguousarray(ntall.T)),
        ("x.T 3200 x 1024 (3.3M)", lambda: wide.T, lambda: np.ascontiguousarray(nwide.T)),
        ("x.T 64 x 1000 (64K)", lambda: mid.T, lambda: np.ascontiguousarray(nmid.T)),
        ("t[1:3, 2:6] small (per call)", lambda: small[1:3, 2:6], lambda: nsmall[1:3, 2:6].copy()),
        ("t[l] small (per call)", lambda: small[2], lambda: nsmall[2:3].copy()),
    ]
    for name, ours, theirs in cases:
        t = best_times({"rcmlrs": ours, "numpy": theirs}, rounds=5)
        print(row(name, t["rcmlrs"], {"numpy": t["numpy"]}))


if __name__ == "__main__":
    main()
