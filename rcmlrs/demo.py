"""``python -m rcmlrs demo``: a tour in a few seconds, no downloads.

0. Tensor basics: a (layers, rows, cols) tensor, chained methods, a true matrix product.
1. A small MLP learns two interleaved spirals (generated here) with a progress line.
2. An RNN learns to predict the next value of sine waves.
3. Both models are saved, loaded back and checked to predict bit for bit the same.
"""

from __future__ import annotations

import math
import os
import tempfile
import time


def two_spirals(n_per_class=500, noise=0.2, seed=0):
    """Two interleaved spirals in the plane: x (2n, 2) float32, y (2n,) in {0, 1}."""
    import numpy as np

    r = np.random.default_rng(seed)
    t = np.sqrt(r.uniform(0.0, 1.0, n_per_class)) * 3.0 * math.pi  # denser near the centre
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3.0 * math.pi)
    x = np.concatenate([arm, -arm]) + r.normal(0.0, noise / (3.0 * math.pi), (2 * n_per_class, 2))
    y = np.concatenate([np.zeros(n_per_class), np.ones(n_per_class)]).astype(np.int64)
    return x.astype(np.float32), y


def sine_waves(n, steps=20, seed=0):
    """n windows of sine waves with random phase and frequency: x (n, steps, 1) and the
    next value y (n, 1)."""
    import numpy as np

    r = np.random.default_rng(seed)
    phase = r.uniform(0, 2 * math.pi, n)
    freq = r.uniform(0.5, 1.5, n)
    t = np.arange(steps + 1) * 0.1
    s = np.sin(phase[:, None] + freq[:, None] * t[None, :]).astype(np.float32)
    return np.ascontiguousarray(s[:, :steps, None]), np.ascontiguousarray(s[:, steps:])


def _check_roundtrip(model, x, folder, name):
    import rcmlrs as rc

    path = os.path.join(folder, name)
    model.save(path)
    back = rc.nn.load_model(path)
    same = back.predict(x).equals(model.predict(x))
    size = os.path.getsize(path)
    print(
        f"  saved {name} ({size:,} bytes), loaded back: predictions "
        f"{'identical' if same else 'DIFFER'}"
    )
    return same


def run(epochs_mlp=30, epochs_rnn=8, verbose=1) -> int:
    import rcmlrs as rc

    t0 = time.perf_counter()
    rc.seed(2024)
    print(
        f"rcmlrs {rc.__version__} demo (backend {rc._runtime.get_backend()}, "
        f"{rc.get_num_threads()} threads)\n"
    )

    a = rc.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    print("0) tensors: a =", a.tolist()[0], "shape", a.shape)
    print("   a.scale(2).add(1).sum(axis=2) =", a.scale(2).add(1).sum(axis=2).tolist()[0])
    print("   a @ a.transpose() =", (a @ a.transpose()).tolist()[0], "\n")

    print("1) MLP on two spirals (2 -> 64 -> 64 -> 2, relu, Adam, cross-entropy)")
    x, y = two_spirals()
    order = rc.random((len(x),), seed=1).numpy().ravel().argsort()
    tr, te = order[: int(0.8 * len(x))], order[int(0.8 * len(x)) :]
    mlp = rc.nn.Sequential([rc.nn.Dense(64, "relu"), rc.nn.Dense(64, "relu"), rc.nn.Dense(2)])
    mlp.compile(rc.Adam(lr=1e-2), "cross_entropy", metrics=["accuracy"])
    mlp.fit(
        x[tr],
        y[tr],
        epochs=epochs_mlp,
        batch_size=32,
        seed=0,
        verbose=verbose,
        validation_data=(x[te], y[te]),
    )
    res = mlp.evaluate(x[te], y[te])
    print(f"  test accuracy {res['accuracy']:.3f}, test loss {res['loss']:.4f}\n")
    print(mlp.summary())
    print()

    print("2) RNN on sine waves (20 steps -> next value, 32 tanh units, Adam, mse)")
    xs, ys = sine_waves(768)
    xv, yv = sine_waves(256, seed=1)
    rnn = rc.nn.Sequential([rc.nn.RNN(32), rc.nn.Dense(1)])
    rnn.compile(rc.Adam(lr=5e-3), "mse", metrics=["mae"])
    rnn.fit(xs, ys, epochs=epochs_rnn, batch_size=16, seed=0, verbose=verbose)
    rres = rnn.evaluate(xv, yv)
    print(f"  validation mse {rres['loss']:.5f}, mae {rres['mae']:.4f}\n")

    print("3) save -> load -> predict")
    with tempfile.TemporaryDirectory() as d:
        ok = _check_roundtrip(mlp, x[te], d, "spirals.rcm")
        ok = _check_roundtrip(rnn, xv, d, "sine.rcm") and ok
    print(f"\ndone in {time.perf_counter() - t0:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(run())
