"""Every private layer binding (rcmlrs._layers) checks each size its C kernel reads.

The review found the RNN/LSTM backward bindings skipping size checks and the old network
loss reading past its target buffer; a binding handed tensors of the wrong size must raise
ShapeError (or ValueError for a bad id), never read or write out of bounds.
"""

from __future__ import annotations

import pytest

import rcmlrs as rc
from rcmlrs import _layers as L
from rcmlrs._tensor import _act_id

TANH = _act_id("tanh")
T, B, I, H = 4, 3, 2, 5


def z(*shape):
    return rc.zeros(shape)


def test_dense_forward_and_backward_check_sizes():
    x, W, b = z(1, B, I), z(1, I, H), z(1, 1, H)
    zz, y = L._nn_dense_forward(x, W, b, TANH, 0.0)
    with pytest.raises(rc.ShapeError):
        L._nn_dense_forward(x, z(1, I + 1, H), b, TANH, 0.0)
    with pytest.raises(rc.ShapeError):
        L._nn_dense_forward(x, W, z(1, 1, H + 1), TANH, 0.0)
    with pytest.raises(ValueError, match="activation id"):
        L._nn_dense_forward(x, W, b, 12345, 0.0)
    good = dict(x=x, W=W, z=zz, y=y, g=z(1, B, H), dW=z(1, I, H), db=z(1, 1, H))
    for key, bad in [
        ("g", z(1, B, H - 1)),
        ("dW", z(1, I, H - 1)),
        ("db", z(1, 1, 1)),
        ("y", z(1, 1, 1)),
        ("z", z(1, B + 1, H)),
    ]:
        args = dict(good, **{key: bad})
        with pytest.raises(rc.ShapeError):
            L._nn_dense_backward(*args.values(), TANH, 0.0, True)


def test_activation_bindings_check_sizes():
    with pytest.raises(rc.ShapeError):
        L._nn_activation_backward(z(1, 2, 3), z(1, 2, 3), z(1, 2, 4), TANH, 0.0)
    with pytest.raises(ValueError):
        L._nn_activation(z(1, 2, 3), -1, 0.0)


def test_rnn_bindings_check_sizes():
    x, Wx, Wh, b = z(T, B, I), z(1, I, H), z(1, H, H), z(1, 1, H)
    hs = L._nn_rnn_forward(x, Wx, Wh, b, TANH)
    with pytest.raises(rc.ShapeError):
        L._nn_rnn_forward(x, z(1, I, H + 1), Wh, b, TANH)
    with pytest.raises(ValueError, match="tanh, sigmoid, relu or linear"):
        L._nn_rnn_forward(x, Wx, Wh, b, _act_id("gelu"))
    good = [x, Wx, Wh, hs, z(T, B, H), z(1, I, H), z(1, H, H), z(1, 1, H)]
    for k, bad in [
        (2, z(1, H + 1, H)),  # a recurrent kernel that is not H x H
        (3, z(T - 1, B, H)),
        (4, z(T, B, H - 1)),
        (5, z(1, I, 1)),
        (6, z(1, H, 1)),
        (7, z(1, 1, H + 1)),
    ]:
        args = list(good)
        args[k] = bad
        with pytest.raises(rc.ShapeError):
            L._nn_rnn_backward(TANH, *args, True)


def test_lstm_bindings_check_sizes():
    x, W, U, b = z(T, B, I), z(1, I, 4 * H), z(1, H, 4 * H), z(1, 1, 4 * H)
    G, Cs, Hs = L._nn_lstm_forward(x, W, U, b)
    with pytest.raises(rc.ShapeError):
        L._nn_lstm_forward(x, W, U, z(1, 1, 4 * H - 1))
    good = [x, W, U, G, Cs, Hs, z(T, B, H), z(1, I, 4 * H), z(1, H, 4 * H), z(1, 1, 4 * H)]
    for k, bad in [
        (1, z(1, I + 1, 4 * H)),
        (2, z(1, H + 1, 4 * H)),
        (3, z(T, B, 4 * H - 1)),
        (4, z(T, B, 1)),
        (5, z(T, 1, H)),
        (6, z(T, B, H + 1)),
        (7, z(1, I, 1)),
        (8, z(1, 1, 4 * H)),
        (9, z(1, 1, 4)),
    ]:
        args = list(good)
        args[k] = bad
        with pytest.raises(rc.ShapeError):
            L._nn_lstm_backward(*args, True)


def test_gather_and_count_bindings_check_ranges():
    import numpy as np

    src = z(1, 4, 3)
    with pytest.raises(IndexError):
        L._nn_gather_rows(src, 3, np.array([0, 4], np.int64), 0, 2)
    with pytest.raises(rc.ShapeError):
        L._nn_gather_rows(src, 3, np.array([0, 1], np.int64), 1, 2)
    with pytest.raises(rc.ShapeError):
        L._nn_count_correct(z(1, 4, 3), z(1, 1, 3), True, 0.5)
