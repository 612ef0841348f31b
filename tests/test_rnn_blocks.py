"""Recurrent layers in row blocks: with two or more threads, the batch's rows are split
into blocks that each run the whole time loop on one thread (rnn_block_rows in
csrc/rnn_body.h). Every output and gradient must keep the bits of one thread stepping the
whole batch, on every backend, for any block split: blocks of 16 and a last block of 5 or
1 row, a recurrent product of several k blocks (H = 300: k = 4H = 1200 backward), and
batches too small to split (B = 12)."""

from __future__ import annotations

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _layers as L
from rcmlrs import _runtime
from rcmlrs._tensor import _act_id

# (T, B, I, H). The recurrent weights are packed (and rows may be split) only when the
# step product is big enough: k x n > 64K with B > 32, or > 512K with B > 16.
SHAPES = [(4, 37, 12, 300), (3, 17, 8, 400), (5, 40, 6, 136), (4, 12, 5, 300)]


def _t(rng, *shape, scale=0.3):
    return rc.from_numpy((rng.standard_normal(shape) * scale).astype(np.float32))


def _lstm(rng, T, B, I, H):
    x, W, U, b = _t(rng, T, B, I), _t(rng, 1, I, 4 * H), _t(rng, 1, H, 4 * H), _t(rng, 1, 1, 4 * H)
    dh = (rng.standard_normal((T, B, H))).astype(np.float32)

    def run():
        G, Cs, Hs = L._nn_lstm_forward(x, W, U, b)
        dW, dU, db = rc.zeros((1, I, 4 * H)), rc.zeros((1, H, 4 * H)), rc.zeros((1, 1, 4 * H))
        dx = L._nn_lstm_backward(x, W, U, G, Cs, Hs, rc.from_numpy(dh.copy()), dW, dU, db, True)
        return [o.numpy().copy() for o in (G, Cs, Hs, dW, dU, db, dx)]

    return run


def _gru(rng, T, B, I, H):
    x, W, U, b = _t(rng, T, B, I), _t(rng, 1, I, 3 * H), _t(rng, 1, H, 3 * H), _t(rng, 1, 2, 3 * H)
    dh = (rng.standard_normal((T, B, H))).astype(np.float32)

    def run():
        G, Gh, Hs = L._nn_gru_forward(x, W, U, b)
        dW, dU, db = rc.zeros((1, I, 3 * H)), rc.zeros((1, H, 3 * H)), rc.zeros((1, 2, 3 * H))
        dx = L._nn_gru_backward(x, W, U, G, Gh, Hs, rc.from_numpy(dh.copy()), dW, dU, db, True)
        return [o.numpy().copy() for o in (G, Gh, Hs, dW, dU, db, dx)]

    return run


def _rnn(rng, T, B, I, H):
    tanh = _act_id("tanh")
    x, Wx, Wh, b = _t(rng, T, B, I), _t(rng, 1, I, H), _t(rng, 1, H, H), _t(rng, 1, 1, H)
    dh = (rng.standard_normal((T, B, H))).astype(np.float32)

    def run():
        hs = L._nn_rnn_forward(x, Wx, Wh, b, tanh)
        dWx, dWh, db = rc.zeros((1, I, H)), rc.zeros((1, H, H)), rc.zeros((1, 1, H))
        dhs = rc.from_numpy(dh.copy())
        dx = L._nn_rnn_backward(tanh, x, Wx, Wh, hs, dhs, dWx, dWh, db, True)
        return [o.numpy().copy() for o in (hs, dhs, dWx, dWh, db, dx)]

    return run


@pytest.mark.parametrize("make", [_lstm, _gru, _rnn], ids=["lstm", "gru", "rnn"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_row_blocks_keep_the_bits_of_one_thread(restore, make, shape):
    run = make(np.random.default_rng(sum(shape)), *shape)
    for name in _runtime.capabilities():
        if name == "serial":
            continue  # no packed GEMM: never split
        _runtime.set_backend(name)
        rc.set_num_threads(1)
        want = run()
        for threads in (2, 3, 4):
            rc.set_num_threads(threads)
            for i, (w, g) in enumerate(zip(want, run(), strict=True)):
                np.testing.assert_array_equal(g, w, err_msg=f"{name}, {threads} threads, out {i}")


def test_row_blocks_match_float64_reference(restore):
    """The blocked LSTM forward against a float64 NumPy loop (not only against itself)."""
    T, B, I, H = 4, 37, 12, 300
    rng = np.random.default_rng(5)
    x, W, U, b = _t(rng, T, B, I), _t(rng, 1, I, 4 * H), _t(rng, 1, H, 4 * H), _t(rng, 1, 1, 4 * H)
    rc.set_num_threads(2)
    _, Cs, Hs = L._nn_lstm_forward(x, W, U, b)
    xd, Wd, Ud, bd = (t.numpy().astype(np.float64) for t in (x, W, U, b))
    h = np.zeros((B, H))
    c = np.zeros((B, H))

    def sig(v):
        return 1.0 / (1.0 + np.exp(-v))

    for t in range(T):
        g = xd[t] @ Wd[0] + h @ Ud[0] + bd[0, 0]
        i, f, gg, o = (
            sig(g[:, :H]),
            sig(g[:, H : 2 * H]),
            np.tanh(g[:, 2 * H : 3 * H]),
            sig(g[:, 3 * H :]),
        )
        c = f * c + i * gg
        h = o * np.tanh(c)
        np.testing.assert_allclose(Cs.numpy()[t], c, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(Hs.numpy()[t], h, rtol=1e-4, atol=1e-5)
