"""An Elman RNN written by hand from tensor primitives, with explicit backprop.

Everything rc.nn.RNN does in one fused kernel, spelled out step by step:

    forward    z_t = x_t @ Wx + h_{t-1} @ Wh + b ;  h_t = tanh(z_t) ;  y = h_T @ Wy + by
    backward   dz_t = z_t.tanh_backward(dh_t)   (dh_t * tanh'(z_t), one fused pass)
               dWx += x_t^T dz_t ; dWh += h_{t-1}^T dz_t ; db += sum_rows(dz_t)
               dh_{t-1} = dz_t @ Wh^T

Task: predict the next value of a sine wave. At the end the hand-written gradients are
compared with rc.nn.RNN's fused BPTT for the same weights.

    python examples/rnn_from_primitives.py [--small]
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import cast

import numpy as np

import rcmlrs as rc


def sine_batch(batch: int, steps: int, seed: int) -> tuple[rc.RamTensor, rc.RamTensor]:
    r = np.random.default_rng(seed)
    phase = r.uniform(0, 2 * math.pi, batch)
    t = np.arange(steps + 1) * 0.2
    s = np.sin(phase[:, None] + t[None, :]).astype(np.float32)
    x = np.ascontiguousarray(s[:, :steps].T[:, :, None])  # time-major (steps, batch, 1)
    return rc.tensor(x), rc.tensor(s[:, steps:])  # target (1, batch, 1)


class HandRNN:
    def __init__(self, inputs: int, hidden: int, seed: int = 0) -> None:
        lim_x = math.sqrt(6 / (inputs + hidden))
        lim_y = math.sqrt(6 / (hidden + 1))
        self.Wx = rc.random((inputs, hidden), -lim_x, lim_x, seed=seed)
        self.Wh = rc.randn((hidden, hidden), std=1 / math.sqrt(hidden), seed=seed + 1)
        self.b = rc.zeros((1, hidden))
        self.Wy = rc.random((hidden, 1), -lim_y, lim_y, seed=seed + 2)
        self.by = rc.zeros((1, 1))
        self.params = [self.Wx, self.Wh, self.b, self.Wy, self.by]

    def forward(self, x: rc.RamTensor) -> rc.RamTensor:
        """Keep every pre-activation z_t and state h_t for the backward pass."""
        steps, batch, _ = x.shape
        self.x = x
        self.hs = [rc.zeros((1, batch, self.Wh.rows))]
        self.zs: list[rc.RamTensor] = []
        for t in range(steps):
            z = x[t].matmul(self.Wx) + self.hs[-1].matmul(self.Wh) + self.b
            self.zs.append(z)
            self.hs.append(z.tanh())
        return self.hs[-1].matmul(self.Wy) + self.by

    def backward(self, dy: rc.RamTensor) -> list[rc.RamTensor]:
        """Gradients of the loss for every parameter, from dL/dy."""
        dWy = self.hs[-1].matmul(dy, transpose_a=True)
        dby = dy.sum(axis=1)
        dh = dy.matmul(self.Wy, transpose_b=True)
        dWx, dWh, db = rc.zeros(self.Wx.shape), rc.zeros(self.Wh.shape), rc.zeros(self.b.shape)
        for t in reversed(range(len(self.zs))):
            dz = self.zs[t].tanh_backward(dh)
            dWx += self.x[t].matmul(dz, transpose_a=True)
            dWh += self.hs[t].matmul(dz, transpose_a=True)
            db += dz.sum(axis=1)
            dh = dz.matmul(self.Wh, transpose_b=True)
        return [dWx, dWh, db, dWy, dby]


def compare_with_fused(model: HandRNN, x: rc.RamTensor, dy: rc.RamTensor) -> float:
    """Max |difference| between the hand-written and rc.nn.RNN's fused gradients."""
    layer = rc.nn.RNN(model.Wh.rows)
    layer.build((x.layers, x.cols))
    layer.set_weights([model.Wx, model.Wh, model.b])
    mine = model.backward(dy)
    layer.forward(x, training=True)
    layer.backward(dy.matmul(model.Wy, transpose_b=True))
    diffs = [
        (a.numpy().ravel() - b.numpy().ravel()) for a, b in zip(mine[:3], layer.grads, strict=True)
    ]
    return max(float(np.abs(d).max()) for d in diffs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="tiny run (tests)")
    args = ap.parse_args(argv)
    steps, hidden, batch, iters = (10, 8, 16, 150) if args.small else (20, 16, 32, 600)
    model = HandRNN(1, hidden, seed=0)
    opt = rc.Adam(model.params, lr=1e-2)
    first: float | None = None
    last: float | None = None
    for it in range(iters):
        x, target = sine_batch(batch, steps, seed=it)
        y = model.forward(x)
        loss = rc.mse_loss(target, y)
        opt.step(model.backward(rc.mse_deriv(target, y)))
        first = loss if first is None else first
        last = loss
        if not args.small and it % 100 == 0:
            print(f"iteration {it:4d}  mse {loss:.5f}")
    x, target = sine_batch(256, steps, seed=10**6)
    test = rc.mse_loss(target, model.forward(x))
    diff = compare_with_fused(model, x, rc.mse_deriv(target, model.forward(x)))
    print(f"mse: first batch {first:.4f}, last batch {last:.5f}, held-out {test:.5f}")
    print(f"hand-written vs fused rc.nn.RNN gradients: max |diff| = {diff:.2e}")
    return 0 if (test < cast(float, first) and diff < 1e-4) else 1


if __name__ == "__main__":
    sys.exit(main())
