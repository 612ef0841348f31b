"""GRU training step: rcmlrs vs torch.nn.GRU (CPU), 1 thread each, one process.

GRU hidden 32, 50 steps, batch 16, 1 input feature, Dense(1) on the last state, sine
next-value MSE, Adam 1e-3: one step is forward + backward + Adam update. rcmlrs runs
``model.fit`` over ``--steps`` batches (the fused rc.nn path); torch the equivalent loop.
The two alternate round by round (so a burst of load hits both alike); the medians of
the per-step times and their ratio are printed (ratio = torch / rcmlrs: > 1, rcmlrs is
faster; the target is >= 2).

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. python benchmarks/bench_gru.py
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

T, B, H = 50, 16, 32


def sine_data(n):
    r = np.random.default_rng(0)
    ph = r.uniform(0, 2 * np.pi, n)
    t = np.arange(T + 1) * 0.1
    s = np.sin(ph[:, None] + t[None, :]).astype(np.float32)
    return np.ascontiguousarray(s[:, :T, None]), np.ascontiguousarray(s[:, T:])


def rcmlrs_step(x, y):
    """A function running ``steps`` training steps of the rcmlrs model."""
    model = rc.nn.Sequential([rc.nn.GRU(H), rc.nn.Dense(1)])
    model.compile(rc.Adam(lr=1e-3), "mse")
    model.build((T, 1), seed=0)
    return lambda: model.fit(x, y, epochs=1, batch_size=B, shuffle=False, verbose=0)


def torch_step(torch, x, y, steps):
    """The same for torch.nn.GRU + Linear + Adam (batches pre-cut, time-major)."""
    torch.manual_seed(0)
    gru = torch.nn.GRU(1, H)
    head = torch.nn.Linear(H, 1)
    opt = torch.optim.Adam(list(gru.parameters()) + list(head.parameters()), lr=1e-3)
    lossf = torch.nn.MSELoss()
    xb = [
        torch.from_numpy(np.ascontiguousarray(x[i * B : (i + 1) * B].transpose(1, 0, 2)))
        for i in range(steps)
    ]
    yb = [torch.from_numpy(y[i * B : (i + 1) * B]) for i in range(steps)]

    def run():
        for i in range(steps):
            opt.zero_grad()
            out, _ = gru(xb[i])
            loss = lossf(head(out[-1]), yb[i])
            loss.backward()
            opt.step()

    return run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20, help="training steps per round")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="few rounds (smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.rounds = 3, 2
    rc.set_num_threads(1)
    x, y = sine_data(B * args.steps)
    fns = {"rcmlrs": rcmlrs_step(x, y)}
    try:
        import torch

        torch.set_num_threads(1)
        fns["torch.nn.GRU"] = torch_step(torch, x, y, args.steps)
    except ImportError:
        torch = None
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(args.rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) / args.steps)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"rcmlrs {rc.__version__}, backend {rc._runtime.get_backend()}, 1 thread"
        + (f", torch {torch.__version__}" if torch else " (torch not installed)")
    )
    print(
        f"GRU h{H} seq{T} batch{B} train step (forward + backward + Adam), median of "
        f"{args.rounds} rounds of {args.steps} steps"
    )
    print("| library | ms/step | ratio (torch / rcmlrs) |")
    print("| --- | ---: | ---: |")
    for name, s in med.items():
        r = "" if name == "rcmlrs" or "rcmlrs" not in med else f"{s / med['rcmlrs']:.2f}x"
        print(f"| {name} | {s * 1e3:.3f} | {r} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
