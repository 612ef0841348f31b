"""Autograd overhead: one training step of the digits MLP, fused layers vs a tape vs torch.

The MLP 64-128-64-10 (relu, relu, softmax cross-entropy), Adam 1e-3, one batch of 32
digits (scikit-learn's bundled set; random data without scikit-learn), 1 thread:

- fused:        ``Sequential`` with its layers' own fused backward (what ``fit`` runs per
                batch, without the gather);
- tape, layers: the same model stepped on an ``rc.autograd.Tape`` (each Dense one op,
                the path of a model with a forward-only layer);
- tape, ops:    the same weights stepped through a tape of tensor ops
                (``x @ W + b``, ``relu``, ..., the cross-entropy loss object as one op),
                ``tape.gradient`` then ``Adam.step``;
- torch:        ``torch.nn.Linear``/``ReLU``/``CrossEntropyLoss`` with autograd and
                ``torch.optim.Adam``, same shapes.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. python benchmarks/bench_autograd.py
Prints the median time per step and the ratios tape/fused (target <= 1.3) and torch/tape
(target >= 3).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from _timing import fmt_time, single_thread  # noqa: E402

import rcmlrs as rc  # noqa: E402
from rcmlrs.nn.autodiff import loss_on_tape  # noqa: E402


def digits(n_max):
    try:
        from sklearn.datasets import load_digits

        d = load_digits()
        x, y = (d.data / 16.0).astype(np.float32), d.target.astype(np.int64)
    except ImportError:
        r = np.random.default_rng(0)
        x, y = r.random((n_max, 64), dtype=np.float32), r.integers(0, 10, n_max)
    return np.ascontiguousarray(x[:n_max]), np.ascontiguousarray(y[:n_max])


def fresh_model(weights=None):
    model = rc.nn.Sequential([rc.nn.Dense(128, "relu"), rc.nn.Dense(64, "relu"), rc.nn.Dense(10)])
    model.compile(rc.Adam(lr=1e-3), "cross_entropy")
    model.build((64,), seed=0)
    if weights is not None:
        model.set_weights(weights)
    return model


def fused_step(weights):
    """``fit``'s step on the layers' own fused backward (without the batch gather)."""
    model = fresh_model(weights)
    forward, apply = model._backprop_forward, model._backprop_apply

    def step(xb, yb):
        apply(forward(xb, yb)[3])

    return step


def tape_layers_step(weights):
    """The model's tape step: one tape, each Dense one fused op."""
    model = fresh_model(weights)
    model._prepare_tape()
    forward, apply = model._tape_forward, model._tape_apply

    def step(xb, yb):
        apply(forward(xb, yb)[3])

    return step


def tape_ops_step(weights):
    """The same step written with tensor ops on a tape."""
    params = [w.copy() for w in weights]
    w1, b1, w2, b2, w3, b3 = params
    opt = rc.Adam(params, lr=1e-3)
    ce = rc.losses.CrossEntropy()

    def step(xb, yb):
        with rc.autograd.Tape() as tape:
            tape.watch(params)
            h = (xb @ w1 + b1).relu()
            h = (h @ w2 + b2).relu()
            loss = loss_on_tape(ce, yb, h @ w3 + b3)
        opt.step(tape.gradient(loss, params))

    return step


def torch_step(torch, weights):
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )
    with torch.no_grad():
        for lin, w, b in zip(model[::2], weights[::2], weights[1::2], strict=True):
            lin.weight.copy_(torch.from_numpy(w.numpy()[0].T.copy()))
            lin.bias.copy_(torch.from_numpy(b.numpy().reshape(-1).copy()))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()

    def step(xb, yb):
        opt.zero_grad()
        lossf(model(xb), yb).backward()
        opt.step()

    return step


def step_times(makers, rounds):
    """Median seconds per step of each contender. A round gives every contender, in
    turn, fresh weights and optimizer (the same initial weights) and one pass over its
    batches, so the optimizer state stays young (long runs on one batch fill Adam's
    moments with subnormal numbers, which slows every contender's update). Every step is
    timed on its own and the median taken: on a shared, loaded machine a step (tens of
    microseconds) is rarely preempted, while a whole pass often is, and more so the
    longer it takes, which would tilt the comparison."""
    samples = {name: [] for name in makers}
    for _ in range(rounds):
        for name, (make, data) in makers.items():
            step = make()
            step(*data[0])  # warm-up
            clock = time.perf_counter
            for b in data:
                t = clock()
                step(*b)
                samples[name].append(clock() - t)
    return {name: statistics.median(ts) for name, ts in samples.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=40, help="batches per timed pass")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="fewer rounds (smoke test)")
    args = ap.parse_args(argv)
    rounds, steps = (2, 5) if args.quick else (args.rounds, args.steps)
    torch = single_thread(rc)
    x, y = digits(args.batch * steps)
    cuts = [slice(s, s + args.batch) for s in range(0, steps * args.batch, args.batch)]
    ours = [(rc.tensor(x[c]), y[c]) for c in cuts]
    weights = fresh_model().get_weights()
    makers = {
        "fused": (lambda: fused_step(weights), ours),
        "tape, layers": (lambda: tape_layers_step(weights), ours),
        "tape, ops": (lambda: tape_ops_step(weights), ours),
    }
    if torch is not None:
        theirs = [(torch.from_numpy(x[c]), torch.from_numpy(y[c])) for c in cuts]
        makers["torch"] = (lambda: torch_step(torch, weights), theirs)
    t = step_times(makers, rounds)
    print(f"MLP 64-128-64-10 digits, batch {args.batch}, Adam, 1 thread: time per train step")
    for name, sec in t.items():
        print(f"  {name:<14} {fmt_time(sec)}")
    print(f"tape/fused  (ops)    {t['tape, ops'] / t['fused']:5.2f}x   (target <= 1.3)")
    print(f"tape/fused  (layers) {t['tape, layers'] / t['fused']:5.2f}x")
    if torch is not None:
        print(f"torch/tape  (ops)    {t['torch'] / t['tape, ops']:5.2f}x   (target >= 3)")
        print(f"torch/fused          {t['torch'] / t['fused']:5.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
