"""Training speed: rcmlrs vs PyTorch (CPU) vs scikit-learn, 1 thread, same machine.

1. MLP 64-128-64-10 (relu), cross-entropy, Adam 1e-3, batch 32 on scikit-learn's
   bundled digits (80 % train split, 1437 samples): ms per epoch (shuffled each epoch).
2. RNN hidden 32, 50 steps, batch 16, 1 input feature, Dense(1) on the last state,
   sine next-value MSE, Adam: ms per training step (and the same with an LSTM).

3. (--big) the issue-15 sizes at 1 and 2 threads: MLP 784-1024-1024-1024-10 (relu),
   cross-entropy, Adam, batch 256 on 4096 random samples (ms per epoch), and LSTM hidden
   256, 32 input features, batch 64, seq 50, Dense(1), MSE, Adam (ms per training step).
   rcmlrs and PyTorch alternate in rounds; medians with the min-max spread, and the
   median of the per-round ratios (each round's two runs share the host's load). Each
   row also gives both contenders' sustained GFLOP/s (the work's matrix products counted
   by _mlp_flops / _lstm_flops) and what 1.5x PyTorch (issue 15's target) would take,
   as GFLOP/s and as a fraction of the FMA peak that bench_shapes.py measures: a
   figure at or above what the GEMMs alone reach there (its %pk column) is beyond any
   code that runs the same products (benchmarks/bench_mlp_bound.py splits the epoch).

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. python benchmarks/bench_train.py
     (add --big for 3)
Prints a Markdown table; ratio = rival time / rcmlrs time (> 1: rcmlrs is faster).
"""

from __future__ import annotations

import argparse
import itertools
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


MLP_SIZES = (784, 1024, 1024, 1024, 10)
MLP_SAMPLES, MLP_BATCH = 4096, 256
LSTM_T, LSTM_B, LSTM_I, LSTM_H = 50, 64, 32, 256


def _mlp_flops(sizes=MLP_SIZES, samples=MLP_SAMPLES):
    """Floating-point operations (2 per multiply-add) of one epoch's matrix products:
    each layer's forward x W and weight gradient x^T dy, and the input gradient
    dy W^T of every layer but the first (its input needs none). Bias, activations,
    loss and Adam are left out (a few per element, against ~1000 per output here).
    Equals torch.profiler's with_flops count of the PyTorch step (addmm + mm), times
    the steps of an epoch."""
    pairs = list(itertools.pairwise(sizes))
    macs = 2 * sum(i * o for i, o in pairs) + sum(i * o for i, o in pairs[1:])
    return 2 * samples * macs


def _lstm_flops(T=LSTM_T, B=LSTM_B, I=LSTM_I, H=LSTM_H):  # noqa: E741
    """Floating-point operations of one LSTM training step's matrix products: the
    input projection x W and its gradient x^T dG at each of T steps, and at the T - 1
    steps with a previous state the recurrent product h U, its weight gradient h^T dG
    and the state gradient dG U^T (gates 4H wide). The input gradient (first layer),
    the Dense(1) head and the elementwise cell math are left out."""
    G = 4 * H
    return 2 * (2 * T * B * I * G + 3 * (T - 1) * B * H * G)


def mlp_data():
    """The issue-15 MLP's samples: x (MLP_SAMPLES, 784) float32 normal, y int64 labels."""
    r = np.random.default_rng(0)
    x = r.standard_normal((MLP_SAMPLES, MLP_SIZES[0])).astype(np.float32)
    y = r.integers(0, MLP_SIZES[-1], MLP_SAMPLES).astype(np.int64)
    return x, y


def rcmlrs_mlp():
    """The issue-15 MLP in rcmlrs, compiled (Adam 1e-4, cross-entropy) and built."""
    hidden = [rc.nn.Dense(h, "relu") for h in MLP_SIZES[1:-1]]
    model = rc.nn.Sequential([*hidden, rc.nn.Dense(MLP_SIZES[-1])])
    model.compile(rc.Adam(lr=1e-4), "cross_entropy")
    model.build((MLP_SIZES[0],), seed=0)
    return model


def torch_mlp_epoch(x, y):
    """A function that trains the issue-15 MLP in PyTorch for one shuffled epoch on (x, y)."""
    import torch

    mods = []
    for i, o in itertools.pairwise(MLP_SIZES):
        mods += [torch.nn.Linear(i, o), torch.nn.ReLU()]
    tm = torch.nn.Sequential(*mods[:-1])
    opt = torch.optim.Adam(tm.parameters(), lr=1e-4)
    lossf = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def epoch():
        perm = torch.randperm(len(xt))
        for s in range(0, len(xt), MLP_BATCH):
            idx = perm[s : s + MLP_BATCH]
            opt.zero_grad()
            lossf(tm(xt[idx]), yt[idx]).backward()
            opt.step()

    return epoch


def _big_mlp(threads, rounds):
    """(rcmlrs ms list, torch ms list) per epoch of the 784-1024x3-10 MLP, batch 256."""
    x, y = mlp_data()
    model = rcmlrs_mlp()
    theirs = torch_mlp_epoch(x, y)

    def ours():
        model.fit(x, y, epochs=1, batch_size=MLP_BATCH, verbose=0)

    return _alternate(ours, theirs, threads, rounds)


def _big_lstm(threads, rounds, steps=4):
    """(rcmlrs ms list, torch ms list) per training step, LSTM h256 b64 seq50, 32 inputs."""
    import torch

    r = np.random.default_rng(0)
    T, B, I, H = LSTM_T, LSTM_B, LSTM_I, LSTM_H
    x = r.standard_normal((B * steps, T, I)).astype(np.float32)
    y = r.standard_normal((B * steps, 1)).astype(np.float32)
    model = rc.nn.Sequential([rc.nn.LSTM(H), rc.nn.Dense(1)])
    model.compile(rc.Adam(lr=1e-4), "mse")
    model.build((T, I), seed=0)
    lstm, head = torch.nn.LSTM(I, H), torch.nn.Linear(H, 1)
    opt = torch.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=1e-4)
    lossf = torch.nn.MSELoss()
    xb = [
        torch.from_numpy(np.ascontiguousarray(x[i * B : (i + 1) * B].transpose(1, 0, 2)))
        for i in range(steps)
    ]
    yb = [torch.from_numpy(y[i * B : (i + 1) * B]) for i in range(steps)]

    def ours():
        model.fit(x, y, epochs=1, batch_size=B, shuffle=False, verbose=0)

    def theirs():
        for i in range(steps):
            opt.zero_grad()
            out, _ = lstm(xb[i])
            lossf(head(out[-1]), yb[i]).backward()
            opt.step()

    a, b = _alternate(ours, theirs, threads, rounds)
    return [v / steps for v in a], [v / steps for v in b]


def _alternate(ours, theirs, threads, rounds):
    import torch

    rc.set_num_threads(threads)
    torch.set_num_threads(threads)
    ours()
    theirs()
    a, b = [], []
    for _ in range(rounds):
        for fn, acc in ((ours, a), (theirs, b)):
            # let the other library's spinning workers fall asleep (OpenBLAS spins up to
            # 2^28 cycles, ~0.1 s, after a call)
            time.sleep(0.3)
            t = time.perf_counter()
            fn()
            acc.append((time.perf_counter() - t) * 1e3)
    return a, b


def _fma_peak():
    """bench_shapes.py's measured FMA peak per core (GFLOP/s, how), or (None, why)."""
    try:
        from bench_shapes import measure_fma_peak
    except ImportError as e:  # run from elsewhere than benchmarks/
        return None, f"bench_shapes not importable ({e})"
    return measure_fma_peak()


def main_big(rounds):
    """The issue-15 training rows (1 and 2 threads), printed as a Markdown table."""
    peak, how = _fma_peak()
    print(f"rcmlrs {rc.__version__}, backend {rc._runtime.get_backend()}; median [min-max] ms")
    print(f"FMA peak per core: {peak:.1f} GFLOP/s, {how}" if peak else f"FMA peak: n/a ({how})")
    print(
        "| work | threads | rcmlrs | PyTorch | ratio (PyTorch / rcmlrs) "
        "| paired ratio: median of the rounds' ratios [min-max] "
        "| GFLOP/s rcmlrs / PyTorch | 1.5x PyTorch needs GFLOP/s (% of peak) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, fn, flops in (
        ("MLP 784-1024x3-10 b256, ms/epoch (4096 samples)", _big_mlp, _mlp_flops()),
        ("LSTM h256 b64 seq50 in32, ms/step", _big_lstm, _lstm_flops()),
    ):
        for threads in (1, 2):
            a, b = fn(threads, rounds)
            ma, mb = statistics.median(a), statistics.median(b)
            # each round times rcmlrs and then PyTorch back to back: a round's ratio is
            # paired (both ran under about the same load from the host's other tenants)
            pr = [theirs / ours for ours, theirs in zip(a, b, strict=True)]
            # ms -> GFLOP/s; 1.5x PyTorch = PyTorch's rate times 1.5
            ga, gb = flops / ma / 1e6, flops / mb / 1e6
            need = f"{1.5 * gb:.1f}"
            if peak:
                need += f" ({100 * 1.5 * gb / (peak * threads):.0f}%)"
            print(
                f"| {name} | {threads} | {ma:.1f} [{min(a):.1f}-{max(a):.1f}] | "
                f"{mb:.1f} [{min(b):.1f}-{max(b):.1f}] | {mb / ma:.2f}x | "
                f"{statistics.median(pr):.2f}x [{min(pr):.2f}-{max(pr):.2f}] | "
                f"{ga:.1f} / {gb:.1f} | {need} |",
                flush=True,
            )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer repeats (smoke test)")
    ap.add_argument("--big", action="store_true", help="only the issue-15 MLP / LSTM rows")
    args = ap.parse_args(argv)
    if args.big:
        main_big(3 if args.quick else 7)
        return 0
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
