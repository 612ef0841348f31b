"""Convolution layers forward + backward: rcmlrs vs PyTorch CPU (oneDNN), 1 thread,
batch 64, side by side in one process, alternating rounds, medians.

Shapes (issue 12): LeNet-5's conv layers (28x28x1 -> 6, 5x5 valid; 12x12x6 -> 16, 5x5
valid, i.e. conv2 after a 2x2 pool) and CIFAR-size ones (32x32x3 -> 32, 3x3 same;
16x16x32 -> 64, 3x3 same). One step: forward with bias, then dW, db and (except for the
first layer of a network, whose input needs no gradient) dX, from a fixed upstream
gradient. Both sides use the same layout conventions of their own (rcmlrs (B, H*W, C)
images, torch NCHW).

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. python benchmarks/bench_cnn.py
Prints a Markdown table; ratio = torch time / rcmlrs time (> 1: rcmlrs is faster).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import rcmlrs as rc  # noqa: E402
from rcmlrs import _conv  # noqa: E402

# name, H, W, C, F, k, padding, needs dX
SHAPES = [
    ("LeNet conv1 28x28x1->6 5x5", 28, 28, 1, 6, 5, "valid", False),
    ("LeNet conv2 12x12x6->16 5x5", 12, 12, 6, 16, 5, "valid", True),
    ("CIFAR 32x32x3->32 3x3 same", 32, 32, 3, 32, 3, "same", False),
    ("CIFAR 16x16x32->64 3x3 same", 16, 16, 32, 64, 3, "same", True),
]


def rcmlrs_step(B, H, W, C, F, k, padding, need_dx):
    rng = np.random.default_rng(0)
    x = rc.from_numpy(rng.standard_normal((B, H * W, C)).astype(np.float32))
    w = rc.from_numpy((rng.standard_normal((1, k * k * C, F)) * 0.1).astype(np.float32))
    b = rc.zeros((1, 1, F))
    Ho, Wo = rc.conv_output_size((H, W), k, 1, padding)
    g = rc.from_numpy(rng.standard_normal((B, Ho * Wo, F)).astype(np.float32))
    dw, db = rc.zeros(w.shape), rc.zeros(b.shape)
    same = padding == "same"
    lin = rc._tensor._act_id("linear")

    def step():
        z, y = _conv._conv_forward(x, w, b, H, W, k, k, 1, 1, same, False, lin, 0.0)
        _conv._conv_backward(
            x, w, z, y, g, dw, db, H, W, k, k, 1, 1, same, False, lin, 0.0, need_dx
        )

    return step


def torch_step(torch, B, H, W, C, F, k, padding, need_dx):
    conv = torch.nn.Conv2d(C, F, k, padding=padding)
    x = torch.randn(B, C, H, W, requires_grad=need_dx)
    Ho, Wo = rc.conv_output_size((H, W), k, 1, padding)
    g = torch.randn(B, F, Ho, Wo)

    def step():
        conv.zero_grad(set_to_none=True)
        if x.grad is not None:
            x.grad = None
        conv(x).backward(g)

    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    rc.set_num_threads(1)
    import torch

    torch.set_num_threads(1)
    print(
        f"rcmlrs {rc.__version__} backend={rc._runtime.get_backend()} torch {torch.__version__}"
        f", 1 thread, batch {args.batch}, median of {args.rounds} alternating rounds"
    )
    print("\n| shape | rcmlrs ms | torch ms | ratio torch/rcmlrs |\n|---|---|---|---|")
    for name, H, W, C, F, k, padding, need_dx in SHAPES:
        fns = {
            "rcmlrs": rcmlrs_step(args.batch, H, W, C, F, k, padding, need_dx),
            "torch": torch_step(torch, args.batch, H, W, C, F, k, padding, need_dx),
        }
        times: dict[str, list[float]] = {n: [] for n in fns}
        for fn in fns.values():  # warm-up
            fn()
            fn()
        for _ in range(args.rounds):
            for n, fn in fns.items():
                t = time.perf_counter()
                fn()
                times[n].append(time.perf_counter() - t)
        r, t = (statistics.median(times[n]) for n in ("rcmlrs", "torch"))
        print(
            f"| {name}{' (+dX)' if need_dx else ''} | {r * 1e3:.2f} | {t * 1e3:.2f} | {t / r:.2f} |"
        )


if __name__ == "__main__":
    main()
