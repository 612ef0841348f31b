"""Training speed: rcmlrs vs PyTorch (CPU) vs scikit-learn, 1 thread, same machine.

1. MLP 64-128-64-10 (relu), cross-entropy, Adam 1e-3, batch 32 on scikit-learn's
   bundled digits (80 % train split, 1437 samples): ms per epoch (shuffled each epoch).
2. RNN hidden 32, 50 steps, batch 16, 1 input feature, Dense(1) on the last state,
   sine next-value MSE, Adam: ms per training step (and the same with an LSTM).

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. python benchmarks/bench_train.py
Prints a Markdown table; ratio = rival time / rcmlrs time (> 1: rcmlrs is faster).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import rcmlrs as rc  # noqa: E402


def _median_time(fn, repeats):
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def digits_data():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    idx = np.random.default_rng(0).permutation(len(x))
    tr = idx[: int(0.8 * len(x))]
    return x[tr], y[tr]


def bench_mlp_rcmlrs(x, y, epochs, repeats):
    model = rc.nn.Sequential([rc.nn.Dense(128, "relu"), rc.nn.Dense(64, "relu"), rc.nn.Dense(10)])
    model.compile(rc.Adam(lr=1e-3), "cross_entropy")
    model.build((64,), seed=0)
    return (
        _median_time(lambda: model.fit(x, y, epochs=epochs, batch_size=32, verbose=0), repeats)
        / epochs
    )


def bench_mlp_torch(x, y, epochs, repeats):
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    n = len(x)

    def run():
        for _ in range(epochs):
            perm = torch.randperm(n)
            for s in range(0, n, 32):
                idx = perm[s : s + 32]
                opt.zero_grad()
                loss = lossf(model(xt[idx]), yt[idx])
                loss.backward()
                opt.step()

    return _median_time(run, repeats) / epochs


def bench_mlp_sklearn(x, y, epochs, repeats):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    def run():
        clf = MLPClassifier(
            hidden_layer_sizes=(128, 64),
            activation="relu",
            solver="adam",
            learning_rate_init=1e-3,
            batch_size=32,
            max_iter=epochs,
            tol=0.0,
            n_iter_no_change=10**9,
            shuffle=True,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(x, y)

    return _median_time(run, repeats) / epochs


def sine_data(n, T=50):
    r = np.random.default_rng(0)
    ph = r.uniform(0, 2 * np.pi, n)
    t = np.arange(T + 1) * 0.1
    s = np.sin(ph[:, None] + t[None, :]).astype(np.float32)
    return np.ascontiguousarray(s[:, :T, None]), np.ascontiguousarray(s[:, T:])


def bench_rnn_rcmlrs(x, y, steps, repeats, cell="RNN"):
    model = rc.nn.Sequential([getattr(rc.nn, cell)(32), rc.nn.Dense(1)])
    model.compile(rc.Adam(lr=1e-3), "mse")
    model.build((50, 1), seed=0)
    xs, ys = x[: 16 * steps], y[: 16 * steps]
    return (
        _median_time(
            lambda: model.fit(xs, ys, epochs=1, batch_size=16, shuffle=False, verbose=0), repeats
        )
        / steps
    )


def bench_rnn_torch(x, y, steps, repeats, cell="RNN"):
    import torch

    torch.manual_seed(0)
    rnn = getattr(torch.nn, cell)(1, 32)  # time-major (seq, batch, feature)
    head = torch.nn.Linear(32, 1)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)
    lossf = torch.nn.MSELoss()
    xb = [
        torch.from_numpy(np.ascontiguousarray(x[i * 16 : (i + 1) * 16].transpose(1, 0, 2)))
        for i in range(steps)
    ]
    yb = [torch.from_numpy(y[i * 16 : (i + 1) * 16]) for i in range(steps)]

    def run():
        for i in range(steps):
            opt.zero_grad()
            out, _ = rnn(xb[i])
            loss = lossf(head(out[-1]), yb[i])
            loss.backward()
            opt.step()

    return _median_time(run, repeats) / steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer repeats (smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.epochs, args.steps, args.repeats = 1, 5, 1
    rc.set_num_threads(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    x, y = digits_data()
    rows = []
    ours = bench_mlp_rcmlrs(x, y, args.epochs, args.repeats)
    rows.append(("MLP 64-128-64-10 digits, ms/epoch", "rcmlrs", ours, None))
    if torch is not None:
        t = bench_mlp_torch(x, y, args.epochs, args.repeats)
        rows.append(("", "PyTorch", t, t / ours))
    try:
        s = bench_mlp_sklearn(x, y, args.epochs, args.repeats)
        rows.append(("", "scikit-learn MLPClassifier", s, s / ours))
    except ImportError:
        pass
    xs, ys = sine_data(16 * args.steps)
    ours = bench_rnn_rcmlrs(xs, ys, args.steps, args.repeats)
    rows.append(("RNN h32 seq50 batch16, ms/step", "rcmlrs", ours, None))
    if torch is not None:
        t = bench_rnn_torch(xs, ys, args.steps, args.repeats)
        rows.append(("", "torch.nn.RNN", t, t / ours))
    ours = bench_rnn_rcmlrs(xs, ys, args.steps, args.repeats, "LSTM")
    rows.append(("LSTM h32 seq50 batch16, ms/step", "rcmlrs", ours, None))
    if torch is not None:
        t = bench_rnn_torch(xs, ys, args.steps, args.repeats, "LSTM")
        rows.append(("", "torch.nn.LSTM", t, t / ours))
    print(f"rcmlrs {rc.__version__}, backend {rc._runtime.get_backend()}, 1 thread")
    print("| work | library | time (ms) | ratio (rival / rcmlrs) |")
    print("| --- | --- | ---: | ---: |")
    for work, lib, sec, ratio in rows:
        r = "" if ratio is None else f"{ratio:.2f}x"
        print(f"| {work} | {lib} | {sec * 1e3:.3f} | {r} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
