"""One MLP training step's matrix products, back to back: rcmlrs vs PyTorch, 1 and 2 threads.

The 11 products of a step of the issue-15 MLP (784-1024-1024-1024-10, batch 256): each
layer's forward X @ W, weight gradient X^T @ dY (A transposed) and, past the first layer,
input gradient dY @ W^T (B transposed). Every product has its own operands, as in training,
so together they are more than an L3 holds and most operands come from memory; each is
also timed alone in a hot loop, where its operands stay in cache. The gap between the two
tells how much of a training step's GEMM time goes to operands from memory, which a
per-shape benchmark (bench_shapes.py) does not show.

rcmlrs (``_gemm_into``) and PyTorch (``torch.matmul(out=)``) alternate in rounds; 1 thread is
timed by the thread's CPU time, 2 threads by the wall clock after 0.3 s of sleep (the other
library's workers stop spinning). Medians over the rounds with the min-max spread, and
ratio = PyTorch time / rcmlrs time (> 1: rcmlrs is faster).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. python benchmarks/bench_step_gemms.py
    (--rounds N, --threads 1 or 2)
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import rcmlrs as rc
from rcmlrs import _tensor

BATCH = 256
DIMS = (784, 1024, 1024, 1024, 10)


def step_shapes() -> list[tuple[int, int, int, bool, bool]]:
    """(m, k, n, transpose_a, transpose_b) of one training step's products."""
    shapes = []
    for i in range(len(DIMS) - 1):
        k, n = DIMS[i], DIMS[i + 1]
        shapes.append((BATCH, k, n, False, False))  # forward: X @ W
        shapes.append((k, BATCH, n, True, False))  # weight gradient: X^T @ dY
        if i > 0:
            shapes.append((BATCH, n, k, False, True))  # input gradient: dY @ W^T
    return shapes


def contenders(shapes, torch):  # noqa: ANN001, ANN201
    """Per shape, (rcmlrs call, PyTorch call), each on its own operands and output."""
    rng = np.random.default_rng(0)
    calls = []
    for m, k, n, ta, tb in shapes:
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
        ra, rb = rc.from_numpy(a), rc.from_numpy(b)
        ro = rc.from_numpy(np.zeros((m, n), np.float32))
        xa, xb = torch.from_numpy(a), torch.from_numpy(b)
        xa, xb = (xa.t() if ta else xa), (xb.t() if tb else xb)
        xo = torch.zeros((m, n))
        calls.append(
            (
                lambda ro=ro, ra=ra, rb=rb, ta=ta, tb=tb: _tensor._gemm_into(
                    ro, ra, rb, 1.0, 0.0, ta, tb
                ),
                lambda xa=xa, xb=xb, xo=xo: torch.matmul(xa, xb, out=xo),
            )
        )
    return calls


def in_order(fs):  # noqa: ANN001, ANN201
    """One call that runs fs one after another."""

    def run():
        for f in fs:
            f()

    return run


def rounds_ms(fns, threads, rounds, reps):  # noqa: ANN001, ANN201
    """Milliseconds per run of each of fns (a pair), alternated over rounds."""
    clock = time.thread_time if threads == 1 else time.perf_counter
    out = ([], [])
    for fn in fns:
        fn()
    for _ in range(rounds):
        for fn, acc in zip(fns, out, strict=True):
            if threads > 1:
                time.sleep(0.3)
                fn()
            t = clock()
            for _ in range(reps):
                fn()
            acc.append((clock() - t) / reps * 1e3)
    return out


def cell(ms: list[float], flop: float) -> str:
    med = statistics.median(ms)
    return f"{med:.2f} [{min(ms):.2f}-{max(ms):.2f}] ({flop / med / 1e6:.1f} GF/s)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    args = ap.parse_args(argv)
    import torch

    shapes = step_shapes()
    calls = contenders(shapes, torch)
    print(
        f"rcmlrs {rc.__version__}, backend {rc._runtime.get_backend()}, torch {torch.__version__}"
    )
    print("median [min-max] ms (GFLOP/s); ratio = PyTorch / rcmlrs")
    print("| products | threads | rcmlrs | PyTorch | ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for threads in args.threads:
        rc.set_num_threads(threads)
        torch.set_num_threads(threads)
        rows = [("the step's 11, back to back", shapes, calls)]
        for (m, k, n, ta, tb), c in zip(shapes, calls, strict=True):
            name = f"{m}x{k}x{n}{' ta' if ta else ''}{' tb' if tb else ''} alone"
            rows.append((name, [(m, k, n, ta, tb)], [c]))
        for name, shp, pairs in rows:
            flop = sum(2.0 * m * k * n for m, k, n, _, _ in shp)
            runs = tuple(in_order([p[i] for p in pairs]) for i in (0, 1))
            a, b = rounds_ms(runs, threads, args.rounds, 3 if len(shp) > 1 else 5)
            ratio = statistics.median(b) / statistics.median(a)
            print(
                f"| {name} | {threads} | {cell(a, flop)} | {cell(b, flop)} | {ratio:.2f}x |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
