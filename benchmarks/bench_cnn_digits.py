"""A small CNN epoch on the 8x8 digits, and 2-D pooling: rcmlrs vs PyTorch CPU, 1 thread.

1. The CNN of examples/cnn_digits.py (Conv2D(16, 3, same, relu) - MaxPool2D(2) -
   Conv2D(32, 3, same, relu) - Flatten - Dense(10)), cross-entropy, Adam 1e-3, batch 32,
   one epoch over scikit-learn's bundled digits (80 % train split, 1437 images 8x8x1,
   shuffled each epoch): rcmlrs ``model.fit(epochs=1)`` against the equal torch model
   (nn.Conv2d(padding=1), nn.MaxPool2d, nn.Linear, torch.optim.Adam) in a plain loop.
   Target (DESIGN.md): ratio >= 2.
2. Pooling forward + backward, batch 64 of 32x32x32 images, 2x2 windows: max and average
   (rcmlrs (B, H*W, C) images; torch channels-last NCHW, its fastest CPU layout here).

Side by side in one process, alternating rounds; medians.
Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. python benchmarks/bench_cnn_digits.py
Prints a Markdown table; ratio = torch time / rcmlrs time (> 1: rcmlrs is faster).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import rcmlrs as rc  # noqa: E402


def digits_images():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[..., None]  # (n, 8, 8, 1)
    y = d.target.astype(np.int64)
    idx = np.random.default_rng(0).permutation(len(x))
    tr = idx[: int(0.8 * len(x))]
    return np.ascontiguousarray(x[tr]), y[tr]


def rcmlrs_epoch(x, y):
    model = rc.nn.Sequential(
        [
            rc.nn.Conv2D(16, 3, padding="same", activation="relu"),
            rc.nn.MaxPool2D(2),
            rc.nn.Conv2D(32, 3, padding="same", activation="relu"),
            rc.nn.Flatten(),
            rc.nn.Dense(10),
        ]
    )
    model.compile(rc.Adam(lr=1e-3), "cross_entropy")
    model.build((8, 8, 1), seed=0)
    return lambda: model.fit(x, y, epochs=1, batch_size=32, verbose=0)


def torch_epoch(x, y):
    import torch

    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()  # NCHW
    yt = torch.from_numpy(y)
    n = len(x)

    def run():
        perm = torch.randperm(n)
        for s in range(0, n, 32):
            idx = perm[s : s + 32]
            opt.zero_grad()
            loss = lossf(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()

    return run


def pool_steps(mode):
    """(rcmlrs, torch) forward + backward of 2x2 pooling on 64 images 32x32x32."""
    import torch

    B, H, W, C = 64, 32, 32, 32
    r = np.random.default_rng(0)
    x4 = r.standard_normal((B, H, W, C)).astype(np.float32)
    g4 = r.standard_normal((B, H // 2, W // 2, C)).astype(np.float32)
    x = rc.tensor(x4.reshape(B, H * W, C))
    g = rc.tensor(g4.reshape(B, -1, C))
    fn = rc.max_pool2d if mode == "max" else rc.avg_pool2d
    layer = (rc.nn.MaxPool2D if mode == "max" else rc.nn.AveragePooling2D)(2)
    layer.build((H, W, C))

    def ours():
        layer.forward(x)
        layer.backward(g)

    tf = torch.nn.functional.max_pool2d if mode == "max" else torch.nn.functional.avg_pool2d
    xt = torch.from_numpy(x4).permute(0, 3, 1, 2).requires_grad_(True)  # channels-last
    gt = torch.from_numpy(g4).permute(0, 3, 1, 2)

    def theirs():
        torch.autograd.grad(tf(xt, 2), xt, gt)

    assert fn(x, (H, W)).shape == (B, H * W // 4, C)
    return ours, theirs


def alternate(fns, rounds):
    """Median seconds of each callable, timed in alternating rounds (one warm-up each)."""
    for f in fns:
        f()
    ts = [[] for _ in fns]
    for _ in range(rounds):
        for i, f in enumerate(fns):
            t = time.perf_counter()
            f()
            ts[i].append(time.perf_counter() - t)
    return [statistics.median(t) for t in ts]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--quick", action="store_true", help="few rounds (smoke test)")
    args = ap.parse_args(argv)
    rounds = 2 if args.quick else args.rounds
    rc.set_num_threads(1)
    import torch

    torch.set_num_threads(1)
    rows = []
    x, y = digits_images()
    ours, theirs = alternate([rcmlrs_epoch(x, y), torch_epoch(x, y)], rounds)
    rows.append(("CNN epoch, 8x8 digits, batch 32 (1437 images)", ours, theirs))
    for mode in ("max", "avg"):
        o, t = alternate(list(pool_steps(mode)), rounds * 5)
        rows.append((f"{mode} pool 2x2 fwd+bwd, 64x32x32x32", o, t))
    print(
        f"rcmlrs {rc.__version__} (backend {rc._runtime.get_backend()}), torch "
        f"{torch.__version__}, 1 thread, medians of {rounds} alternating rounds"
    )
    print("| work | rcmlrs (ms) | torch (ms) | ratio torch / rcmlrs |")
    print("| --- | ---: | ---: | ---: |")
    for work, o, t in rows:
        print(f"| {work} | {o * 1e3:.2f} | {t * 1e3:.2f} | {t / o:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
