"""``python -m rcmlrs demo``: tensor basics and a tiny hand-written training loop."""

from __future__ import annotations

import time

import rcmlrs as rc


def run() -> int:
    t0 = time.perf_counter()
    rc.show_config()
    print()
    a = rc.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    print("a =", a)
    print("a.scale(2).add(1).sum(axis=2) =", a.scale(2).add(1).sum(axis=2))
    print("a @ a.transpose() =", a @ a.transpose())

    # Linear regression y = 3x - 1 by gradient descent, every step explicit.
    rc.seed(0)
    x = rc.random((256, 1), -1.0, 1.0)
    y = x * 3.0 - 1.0
    w, b = rc.zeros((1, 1)), rc.zeros((1, 1))
    lr = 0.5
    for step in range(200):
        pred = x @ w + b
        err = pred - y
        loss = (err * err).mean()
        grad_w = (x.transpose() @ err).scale(2.0 / x.rows)
        grad_b = err.mean() * 2.0
        w -= grad_w * lr
        b -= grad_b * lr
        if step % 50 == 0:
            print(f"step {step:3d}  loss {loss:.6f}")
    print(f"learned w = {w.to_scalar():.4f}, b = {b.to_scalar():.4f} (target 3, -1)")
    ok = abs(w.to_scalar() - 3.0) < 1e-3 and abs(b.to_scalar() + 1.0) < 1e-3
    print(f"demo {'ok' if ok else 'FAILED'} in {time.perf_counter() - t0:.2f} s")
    return 0 if ok else 1
