"""Regression from a CSV file with rc.data.load_csv and rc.nn.

Writes a CSV of a noisy nonlinear function of three features (or reads yours with
``--csv PATH``, the target in the last column), standardises the features, trains a
small MLP with mse and reports the test error against the target's variance (R^2).

    python examples/csv_regression.py [--small] [--csv data.csv]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

import rcmlrs as rc


def write_csv(path: str, n: int, seed: int = 0) -> None:
    r = np.random.default_rng(seed)
    x = r.uniform(-1, 1, (n, 3))
    y = 2 * x[:, 0] - x[:, 1] ** 2 + np.sin(3 * x[:, 2]) + r.normal(0, 0.05, n)
    with open(path, "w") as f:
        f.write("x1,x2,x3,y\n")
        for row, t in zip(x, y, strict=True):
            f.write(",".join(f"{v:.6f}" for v in row) + f",{t:.6f}\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="tiny run (tests)")
    ap.add_argument("--csv", help="a CSV file with a header row, target in the last column")
    args = ap.parse_args(argv)
    n, epochs = (300, 20) if args.small else (3000, 60)
    with tempfile.TemporaryDirectory() as d:
        path = args.csv or os.path.join(d, "data.csv")
        if not args.csv:
            write_csv(path, n)
        x, y = rc.data.load_csv(path, target=-1, header=True)
    print(f"loaded x {x.shape}, y {y.shape} from {os.path.basename(path)}")
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)  # per feature: mean 0, std 1
    xtr, xte, ytr, yte = rc.data.train_test_split(x, y, 0.2, seed=0)
    model = rc.nn.Sequential([rc.nn.Dense(32, "tanh"), rc.nn.Dense(32, "tanh"), rc.nn.Dense(1)])
    model.compile(rc.Adam(lr=3e-3), "mse", metrics=["mae"])
    model.fit(xtr, ytr, epochs=epochs, batch_size=32, seed=0, verbose=0 if args.small else 1)
    res = model.evaluate(xte, yte)
    r2 = 1.0 - res["loss"] / float(np.var(yte))
    print(f"test mse {res['loss']:.4f}, mae {res['mae']:.4f}, R^2 {r2:.3f}")
    return 0 if r2 > (0.5 if args.small else 0.9) else 1


if __name__ == "__main__":
    sys.exit(main())
