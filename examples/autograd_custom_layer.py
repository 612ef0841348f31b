"""A layer with only a forward pass, trained in rc.nn.Sequential through rc.autograd.

``Gated`` computes ``tanh(x @ W + b) * sigmoid(x @ V + c)`` (a gated linear unit) with
tensor ops and defines no ``backward``: the model notices and runs each training step on
an ``rc.autograd.Tape``, which records the layer's tensor ops and every built-in layer
as one fused op, then differentiates the loss. The script prints the recorded program of
one step (``tape.listing()``), trains on a noisy 2-D function, and checks the tape's
gradient against central finite differences.

    python examples/autograd_custom_layer.py [--small]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import rcmlrs as rc
from rcmlrs import nn
from rcmlrs.nn.autodiff import loss_on_tape


class Gated(nn.Layer):
    """``tanh(x @ W + b) * sigmoid(x @ V + c)``: forward only, the tape does the rest."""

    kind = "gated"

    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def build(self, input_shape, seeds=None):
        super().build(input_shape, seeds)
        shape = (1, input_shape[-1], self.units)
        self.W = self.add_weight(shape, "glorot_uniform", seeds)
        self.b = self.add_weight((1, 1, self.units), "zeros", seeds)
        self.V = self.add_weight(shape, "glorot_uniform", seeds)
        self.c = self.add_weight((1, 1, self.units), "zeros", seeds)
        return self.output_shape

    def forward(self, x, training=False):
        return (x @ self.W + self.b).tanh() * (x @ self.V + self.c).sigmoid()

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    r = np.random.default_rng(seed)
    x = r.uniform(-2, 2, (n, 2)).astype(np.float32)
    y = np.sin(x[:, :1]) * np.cos(x[:, 1:]) + 0.05 * r.normal(size=(n, 1))
    return x, y.astype(np.float32)


def one_step_listing(model: nn.Sequential, x: np.ndarray, y: np.ndarray) -> str:
    """The program of one training step, recorded the way ``fit`` records it."""
    params = model.params
    with rc.autograd.Tape() as tape:
        tape.watch(params)
        out = model(rc.tensor(x), training=True)
        loss = loss_on_tape(model.loss, rc.tensor(y), out)
    return tape.listing(loss, params)


def finite_difference_error(model: nn.Sequential, x: np.ndarray, y: np.ndarray) -> float:
    """max |tape gradient - central difference| over a few entries of every weight."""
    xb, yb = rc.tensor(x), rc.tensor(y)
    params = model.params
    with rc.autograd.Tape() as tape:
        tape.watch(params)
        loss = loss_on_tape(model.loss, yb, model(xb))
    grads = tape.gradient(loss, params)
    worst, h = 0.0, 1e-2
    for p, g in zip(params, grads, strict=True):
        flat = p.numpy().reshape(-1)
        for i in range(min(3, flat.size)):
            old = float(flat[i])
            flat[i] = old + h
            up = rc.mse_loss(yb, model(xb))
            flat[i] = old - h
            down = rc.mse_loss(yb, model(xb))
            flat[i] = old
            worst = max(worst, abs((up - down) / (2 * h) - float(g.numpy().reshape(-1)[i])))
    return worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="a few-second run")
    args = ap.parse_args(argv)
    n, epochs = (400, 30) if args.small else (2000, 60)
    x, y = make_data(n, seed=0)
    model = nn.Sequential([Gated(16), nn.Dense(16, "tanh"), nn.Dense(1)])
    model.compile(rc.Adam(lr=1e-2), "mse")
    model.build((2,), seed=0)
    print(model.summary())
    print("\none training step on the tape (Dense is one fused op, Gated its tensor ops):")
    print(one_step_listing(model, x[:8], y[:8]))
    h = model.fit(x, y, epochs=epochs, batch_size=32, seed=0, verbose=0)
    first, last = h.history["loss"][0], h.history["loss"][-1]
    xt, yt = make_data(500, seed=1)
    test = model.evaluate(xt, yt)["loss"]
    err = finite_difference_error(model, xt[:64], yt[:64])
    print(f"\nmse: epoch 1 {first:.4f}, epoch {epochs} {last:.4f}, held-out {test:.4f}")
    print(f"tape gradient vs central differences: max |diff| = {err:.1e}")
    return 0 if (test < 0.5 * first and err < 1e-2) else 1


if __name__ == "__main__":
    sys.exit(main())
