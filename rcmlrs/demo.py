"""``python -m rcmlrs demo``: a tour in a few seconds, no downloads.

0. Tensor basics: a (layers, rows, cols) tensor, chained methods, a true matrix product.
1. A small MLP learns two interleaved spirals (generated here).
2. An RNN learns to predict the next value of sine waves.
3. A small CNN (Conv2D, MaxPool2D) learns scikit-learn's bundled 8x8 digits as (n, 8, 8, 1)
   images (without scikit-learn: generated striped images).
4. The models are saved, loaded back and checked to predict bit for bit the same.

A few lines per part (final loss and accuracy, timing); ``run(verbose=1)`` adds the
per-epoch progress lines.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from typing import Any


def two_spirals(n_per_class: int = 500, noise: float = 0.2, seed: int = 0) -> tuple[Any, Any]:
    """Two interleaved spirals in the plane: x (2n, 2) float32, y (2n,) in {0, 1}."""
    import numpy as np

    r = np.random.default_rng(seed)
    t = np.sqrt(r.uniform(0.0, 1.0, n_per_class)) * 3.0 * math.pi  # denser near the centre
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3.0 * math.pi)
    x = np.concatenate([arm, -arm]) + r.normal(0.0, noise / (3.0 * math.pi), (2 * n_per_class, 2))
    y = np.concatenate([np.zeros(n_per_class), np.ones(n_per_class)]).astype(np.int64)
    return x.astype(np.float32), y


def sine_waves(n: int, steps: int = 20, seed: int = 0) -> tuple[Any, Any]:
    """n windows of sine waves with random phase and frequency: x (n, steps, 1) and the
    next value y (n, 1)."""
    import numpy as np

    r = np.random.default_rng(seed)
    phase = r.uniform(0, 2 * math.pi, n)
    freq = r.uniform(0.5, 1.5, n)
    t = np.arange(steps + 1) * 0.1
    s = np.sin(phase[:, None] + freq[:, None] * t[None, :]).astype(np.float32)
    return np.ascontiguousarray(s[:, :steps, None]), np.ascontiguousarray(s[:, steps:])


def stripe_images(n: int, size: int = 8, seed: int = 0) -> tuple[Any, Any]:
    """n noisy striped images (n, size, size, 1) float32 and labels (n,) int64: 0
    horizontal, 1 vertical, 2 diagonal stripes (random period and phase)."""
    import numpy as np

    r = np.random.default_rng(seed)
    y = r.integers(0, 3, n)
    ii, jj = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    t = np.stack([ii, jj, ii + jj])[y]  # (n, size, size): the coordinate across the stripes
    period = r.uniform(2.5, 4.0, (n, 1, 1))
    phase = r.uniform(0.0, 2 * math.pi, (n, 1, 1))
    x = np.sin(2 * math.pi * t / period + phase) + r.normal(0.0, 0.3, (n, size, size))
    return x[..., None].astype(np.float32), y.astype(np.int64)


def digit_images() -> tuple[Any, Any, str]:
    """scikit-learn's bundled digits as (n, 8, 8, 1) images in [0, 1] and labels, or
    (without scikit-learn) 1500 striped images; with a one-word name of the set."""
    import numpy as np

    try:
        from sklearn.datasets import load_digits  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        x, y = stripe_images(1500)
        return x, y, "striped images"
    d = load_digits()
    return (d.images / 16.0).astype(np.float32)[..., None], d.target.astype(np.int64), "digits"


def _check_roundtrip(model: Any, x: Any, folder: str, name: str) -> bool:
    """Save, load, and compare predictions bit for bit; one line."""
    import numpy as np

    import rcmlrs as rc

    path = os.path.join(folder, name)
    model.save(path)
    back = rc.nn.load_model(path)
    same = bool(np.array_equal(back.predict(x), model.predict(x)))
    size = os.path.getsize(path)
    print(
        f"   {name}: {size:,} bytes (weights + optimizer state), loaded back: predictions "
        f"{'identical' if same else 'DIFFER'}"
    )
    return same


def _fit(model: Any, x: Any, y: Any, epochs: int, batch_size: int, verbose: int) -> float:
    """Train; returns the seconds it took. Quiet unless verbose (one line per epoch)."""
    t = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=batch_size, seed=0, verbose=verbose)
    return time.perf_counter() - t


def run(epochs_mlp: int = 30, epochs_rnn: int = 8, verbose: int = 0, epochs_cnn: int = 6) -> int:
    """The tour; a few lines per part (``verbose=1`` adds the per-epoch progress)."""
    import numpy as np

    import rcmlrs as rc

    t0 = time.perf_counter()
    rc.seed(2024)
    print(
        f"rcmlrs {rc.__version__} demo (backend {rc._runtime.get_backend()}, "
        f"{rc.get_num_threads()} threads)"
    )

    a = rc.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    print(f"0) tensors: a = {a.tolist()[0]}, shape {a.shape}")
    print(f"   a.scale(2).add(1).sum(axis=2) = {a.scale(2).add(1).sum(axis=2).tolist()[0]}")
    print(f"   a @ a.transpose() = {(a @ a.transpose()).tolist()[0]}")

    x, y = two_spirals()
    order = rc.random((len(x),), seed=1).numpy().ravel().argsort()
    tr, te = order[: int(0.8 * len(x))], order[int(0.8 * len(x)) :]
    mlp = rc.nn.Sequential([rc.nn.Dense(64, "relu"), rc.nn.Dense(64, "relu"), rc.nn.Dense(2)])
    mlp.compile(rc.Adam(lr=1e-2), "cross_entropy", metrics=["accuracy"])
    secs = _fit(mlp, x[tr], y[tr], epochs_mlp, 32, verbose)
    res = mlp.evaluate(x[te], y[te])
    guess = np.argmax(mlp.predict(x[te]), axis=1)  # predict gives NumPy (n, 2)
    print(
        f"1) MLP 2-64-64-2 on two spirals ({len(tr)} points, {mlp.count_params():,} params, "
        f"Adam, cross-entropy)\n"
        f"   {epochs_mlp} epochs in {secs:.2f} s ({secs / max(epochs_mlp, 1) * 1e3:.1f} ms/epoch):"
        f" test accuracy {res['accuracy']:.3f}, loss {res['loss']:.4f}"
        f" ({int((guess == y[te]).sum())}/{len(te)} right)"
    )

    xs, ys = sine_waves(768)
    xv, yv = sine_waves(256, seed=1)
    rnn = rc.nn.Sequential([rc.nn.RNN(32), rc.nn.Dense(1)])
    rnn.compile(rc.Adam(lr=5e-3), "mse", metrics=["mae"])
    secs = _fit(rnn, xs, ys, epochs_rnn, 16, verbose)
    rres = rnn.evaluate(xv, yv)
    print(
        f"2) RNN (32 tanh units) on sine waves: 20 steps -> next value, {len(xs)} windows\n"
        f"   {epochs_rnn} epochs in {secs:.2f} s: validation mse {rres['loss']:.5f},"
        f" mae {rres['mae']:.4f}"
    )

    xi, yi, what = digit_images()
    xtr, xte, ytr, yte = rc.data.train_test_split(xi, yi, 0.2, seed=0)
    cnn = rc.nn.Sequential(
        [
            rc.nn.Conv2D(8, 3, padding="same", activation="relu"),
            rc.nn.MaxPool2D(2),
            rc.nn.Conv2D(16, 3, padding="same", activation="relu"),
            rc.nn.Flatten(),
            rc.nn.Dense(10),
        ]
    )
    cnn.compile(rc.Adam(lr=3e-3), "cross_entropy", metrics=["accuracy"])
    secs = _fit(cnn, xtr, ytr, epochs_cnn, 32, verbose)
    cres = cnn.evaluate(xte, yte)
    print(
        f"3) CNN Conv2D(8) - MaxPool2D - Conv2D(16) - Dense(10) on {len(xtr)} {what} 8x8x1\n"
        f"   {epochs_cnn} epochs in {secs:.2f} s: test accuracy {cres['accuracy']:.3f}"
    )

    print("4) save -> load -> predict")
    with tempfile.TemporaryDirectory() as d:
        ok = _check_roundtrip(mlp, x[te], d, "spirals.rcm")
        ok = _check_roundtrip(rnn, xv, d, "sine.rcm") and ok
        ok = _check_roundtrip(cnn, xte, d, "cnn.rcm") and ok
    print(f"done in {time.perf_counter() - t0:.1f} s" + ("" if ok else " (FAILED)"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(run())
