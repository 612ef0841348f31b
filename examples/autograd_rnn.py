"""The RNN from primitives again, but the tape does the backpropagation through time.

``rnn_from_primitives.py`` writes the backward pass by hand. Here the forward pass is the
same tensor code, run inside ``rc.autograd.Tape``; ``tape.gradient`` walks the recorded
ops backwards (each rule is the same fused kernel the hand-written version calls:
``tanh_backward``, ``matmul`` with transpose flags, sums over broadcast axes):

    forward    z_t = x_t @ Wx + h_{t-1} @ Wh + b ;  h_t = tanh(z_t) ;  y = h_T @ Wy + by
    loss       mean((y - target)^2)            (tensor ops: recorded too)
    backward   tape.gradient(loss, params)

Task: predict the next value of a sine wave. At the end the tape's gradients are
compared with the hand-written BPTT of rnn_from_primitives.py, and one step's tape is
printed with ``tape.listing()``.

    python examples/autograd_rnn.py [--small]
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import sys

import numpy as np

import rcmlrs as rc


def _hand_rnn_module():
    """examples/rnn_from_primitives.py (its HandRNN and the sine data)."""
    path = pathlib.Path(__file__).with_name("rnn_from_primitives.py")
    spec = importlib.util.spec_from_file_location("rnn_from_primitives", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def forward(params: list[rc.RamTensor], x: rc.RamTensor) -> rc.RamTensor:
    """Plain tensor code: no cache, no backward; the tape records every op."""
    Wx, Wh, b, Wy, by = params
    h = rc.zeros((1, x.rows, Wh.rows))
    for t in range(x.layers):
        h = (x[t] @ Wx + h @ Wh + b).tanh()
    return h @ Wy + by


def loss_and_grads(params, x, target):
    with rc.autograd.Tape() as tape:
        tape.watch(params)
        y = forward(params, x)
        loss = ((y - target) ** 2).mean(axis=1)  # (1, 1, 1): a differentiable target
    return loss, tape.gradient(loss, params), tape


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="tiny run (tests)")
    args = ap.parse_args(argv)
    steps, hidden, batch, iters = (10, 8, 16, 150) if args.small else (20, 16, 32, 600)
    hand = _hand_rnn_module()
    model = hand.HandRNN(1, hidden, seed=0)  # only for its initial weights
    params = model.params
    opt = rc.Adam(params, lr=1e-2)
    first = last = None
    for it in range(iters):
        x, target = hand.sine_batch(batch, steps, seed=it)
        loss, grads, _ = loss_and_grads(params, x, target)
        opt.step(grads)
        first = float(loss) if first is None else first
        last = float(loss)
        if not args.small and it % 100 == 0:
            print(f"iteration {it:4d}  mse {last:.5f}")
    x, target = hand.sine_batch(256, steps, seed=10**6)
    test = rc.mse_loss(target, forward(params, x))

    # the tape's BPTT against the hand-written one, on the trained weights
    x, target = hand.sine_batch(8, 3, seed=7)
    _, tape_grads, tape = loss_and_grads(params, x, target)
    y = model.forward(x)  # HandRNN shares the same parameter tensors
    manual = model.backward(rc.mse_deriv(target, y))
    diff = max(
        float(np.abs(np.asarray(a) - np.asarray(b)).max())
        for a, b in zip(tape_grads, manual, strict=True)
    )
    print(f"mse: first batch {first:.4f}, last batch {last:.5f}, held-out {test:.5f}")
    print(f"tape vs hand-written BPTT gradients: max |diff| = {diff:.2e}")
    listing = tape.listing()
    print(f"the tape of a 3-step batch ({len(tape)} ops), first lines:")
    print("\n".join(listing.splitlines()[:12]))
    return 0 if (test < first and diff < 1e-5) else 1


if __name__ == "__main__":
    sys.exit(main())
