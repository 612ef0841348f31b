"""Layers' initializers, use_bias and weight regularizers (issue 13, item 3): values,
configs through model.save/load_model, and the penalty in the loss and the gradient on
the fused path and the tape path, by hand and against torch."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require

import rcmlrs as rc
from rcmlrs import nn
from rcmlrs.nn import initializers as I
from rcmlrs.nn import regularizers as R

# ---------------------------------------------------------------- initializers


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("glorot_uniform", lambda w, fi, fo: np.abs(w).max() <= np.sqrt(6 / (fi + fo))),
        ("he_uniform", lambda w, fi, fo: np.abs(w).max() <= np.sqrt(6 / fi)),
        ("lecun_uniform", lambda w, fi, fo: np.abs(w).max() <= np.sqrt(3 / fi)),
        ("glorot_normal", lambda w, fi, fo: np.abs(w).max() <= 2 * np.sqrt(2 / (fi + fo)) + 1e-6),
        ("he_normal", lambda w, fi, fo: np.abs(w).max() <= 2 * np.sqrt(2 / fi) + 1e-6),
        ("lecun_normal", lambda w, fi, fo: np.abs(w).max() <= 2 * np.sqrt(1 / fi) + 1e-6),
        ("zeros", lambda w, fi, fo: (w == 0).all()),
        ("ones", lambda w, fi, fo: (w == 1).all()),
    ],
)
def test_named_initializers_in_dense(name, check):
    layer = nn.Dense(40, kernel_initializer=name)
    layer.build((30,), rc.nn.seeding.Seeds(3))
    w = layer.W.numpy()[0]
    assert w.shape == (30, 40) and check(w, 30, 40)
    # a name and its class give the same tensor for the same seed
    cls = {
        "glorot_uniform": I.GlorotUniform,
        "he_uniform": I.HeUniform,
        "lecun_uniform": I.LecunUniform,
        "glorot_normal": I.GlorotNormal,
        "he_normal": I.HeNormal,
        "lecun_normal": I.LecunNormal,
        "zeros": I.Zeros,
        "ones": I.Ones,
    }[name]
    other = nn.Dense(40, kernel_initializer=cls())
    other.build((30,), rc.nn.seeding.Seeds(3))
    np.testing.assert_array_equal(other.W.numpy(), layer.W.numpy())


def test_uniform_spread_matches_the_limit():
    w = I.he_uniform((1, 200, 300), 7).numpy()
    lim = np.sqrt(6 / 200)
    assert abs(w.std() - lim / np.sqrt(3)) < 0.02 * lim


@pytest.mark.parametrize("shape", [(1, 6, 6), (1, 4, 9), (1, 9, 4), (1, 1, 5)])
def test_orthogonal_is_orthogonal_with_gain(shape):
    w = I.Orthogonal(gain=2.0)(shape, 11).numpy()[0].astype(np.float64)
    r, c = w.shape
    g = w @ w.T if r <= c else w.T @ w
    np.testing.assert_allclose(g, 4.0 * np.eye(min(r, c)), atol=1e-5)


def test_orthogonal_sign_fix_matches_the_qr_definition():
    # torch/Keras: q, r = qr(a); q *= sign(diag(r)) for the seeded normal a
    a = rc.randn((6, 4), seed=5).numpy()[0].astype(np.float64)
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    np.testing.assert_allclose(I.orthogonal((1, 6, 4), 5).numpy()[0], q, atol=1e-6)
    np.testing.assert_allclose(I.orthogonal((1, 4, 6), 5).numpy()[0], q.T, atol=1e-6)


def test_random_initializers_with_args_and_own_seed():
    n = I.RandomNormal(mean=1.0, stddev=0.1)((1, 100, 100), 1).numpy()
    assert abs(n.mean() - 1.0) < 0.01 and abs(n.std() - 0.1) < 0.005
    u = I.RandomUniform(-0.2, 0.3)((1, 100, 100), 1).numpy()
    assert u.min() >= -0.2 and u.max() <= 0.3 and abs(u.mean() - 0.05) < 0.01
    # a seed given to the object wins over the layer's
    fixed = I.RandomNormal(seed=42)
    np.testing.assert_array_equal(fixed((1, 3, 3), 1).numpy(), fixed((1, 3, 3), 2).numpy())
    assert I.get("random_normal") == I.RandomNormal()
    assert (I.Constant(0.5)((1, 2, 2), 0).numpy() == 0.5).all()
    with pytest.raises(ValueError, match="stddev"):
        I.RandomNormal(stddev=-1.0)
    with pytest.raises(ValueError, match="unknown initializer"):
        nn.Dense(2, kernel_initializer="zeroes")
    with pytest.raises(TypeError, match="kernel_initializer"):
        nn.Dense(2, kernel_initializer=3)


def test_recurrent_initializers_and_lstm_forget_bias():
    rnn = nn.RNN(5, kernel_initializer="zeros", recurrent_initializer=I.Orthogonal(gain=0.5))
    rnn.build((4, 3))
    assert (rnn.Wx.numpy() == 0).all()
    wh = rnn.Wh.numpy()[0].astype(np.float64)
    np.testing.assert_allclose(wh @ wh.T, 0.25 * np.eye(5), atol=1e-5)
    lstm = nn.LSTM(3, bias_initializer="ones")
    lstm.build((2, 4))
    np.testing.assert_array_equal(lstm.b.numpy()[0, 0], np.ones(12, np.float32))
    lstm = nn.LSTM(3, bias_initializer=I.Constant(0.25))
    lstm.build((2, 4))
    want = np.full(12, 0.25, np.float32)
    want[3:6] = 1.0  # unit_forget_bias (Keras): the forget gate starts at 1
    np.testing.assert_array_equal(lstm.b.numpy()[0, 0], want)
    lstm = nn.LSTM(3, unit_forget_bias=False)
    lstm.build((2, 4))
    assert (lstm.b.numpy() == 0).all()


# ---------------------------------------------------------------- use_bias


@pytest.mark.parametrize("act", [None, "relu", "tanh", "sigmoid", "softmax"])
def test_dense_without_bias_is_x_at_w_bit_for_bit(act):
    layer = nn.Dense(5, act, use_bias=False)
    x = rc.randn((1, 7, 4), seed=1)
    x.numpy()[0, 0] = 0.0  # a zero row: x @ W keeps its signed zeros
    y = layer(x)
    assert len(layer.params) == 1 and layer.get_weights()[0].shape == (1, 4, 5)
    z = x @ layer.W
    want = z if act is None else getattr(z, act)()
    assert y.numpy().tobytes() == want.numpy().tobytes()
    # backward: dW = x^T dz, no bias gradient anywhere
    g = rc.randn((1, 7, 5), seed=2)
    layer.backward(g)
    assert len(layer.grads) == 1


def test_recurrent_without_bias_matches_a_zero_bias():
    x = rc.randn((4, 3, 2), seed=3)
    for cls in (nn.RNN, nn.LSTM):
        a, b = cls(5, use_bias=False), cls(5, unit_forget_bias=False) if cls is nn.LSTM else cls(5)
        a.build((4, 2), rc.nn.seeding.Seeds(9))
        b.build((4, 2), rc.nn.seeding.Seeds(9))
        assert len(a.params) == 2 and len(b.params) == 3
        np.testing.assert_array_equal(a.params[0].numpy(), b.params[0].numpy())
        b.params[2].numpy()[:] = 0.0
        b.params[1].numpy()[:] = a.params[1].numpy()
        np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
        a.backward(rc.ones((1, 3, 5)))
        b.backward(rc.ones((1, 3, 5)))
        for ga, gb in zip(a.grads, b.grads[:2], strict=True):
            np.testing.assert_array_equal(ga.numpy(), gb.numpy())


def test_configs_round_trip_through_save_and_load(tmp_path):
    model = nn.Sequential(
        [
            nn.LSTM(
                4,
                return_sequences=True,
                use_bias=False,
                kernel_initializer=I.RandomUniform(-0.3, 0.3),
                recurrent_initializer="glorot_normal",
                recurrent_regularizer=R.L2(1e-3),
                input_shape=(5, 3),
            ),
            nn.RNN(3, "relu", kernel_regularizer="l1", bias_initializer="ones"),
            nn.Dense(
                2,
                use_bias=False,
                kernel_initializer=I.Orthogonal(gain=1.5, seed=4),
                kernel_regularizer=R.L1L2(l1=1e-4, l2=2e-4),
            ),
        ]
    )
    model.compile("sgd", "mse")
    x = rc.randn((1, 8, 15), seed=1).numpy().reshape(8, 5, 3)
    model.fit(x, np.zeros((8, 2), np.float32), epochs=1, seed=0, verbose=0)
    path = tmp_path / "m.rcml"
    model.save(path)
    back = nn.load_model(path)
    for a, b in zip(model.layers, back.layers, strict=True):
        assert a.get_config() == b.get_config()
    lstm, rnn, dense = back.layers
    assert lstm.kernel_initializer == I.RandomUniform(-0.3, 0.3)
    assert lstm.recurrent_regularizer == R.L2(1e-3) and not lstm.use_bias
    assert rnn.kernel_regularizer == R.L1(0.01) and rnn.bias_initializer == "ones"
    assert dense.kernel_initializer == I.Orthogonal(gain=1.5, seed=4)
    assert dense.kernel_regularizer == R.L1L2(1e-4, 2e-4)
    np.testing.assert_array_equal(back.predict(x), model.predict(x))
    assert back.evaluate(x, np.zeros((8, 2)))["loss"] == model.evaluate(x, np.zeros((8, 2)))["loss"]


def test_a_plain_function_initializer_cannot_be_saved():
    layer = nn.Dense(2, kernel_initializer=lambda shape, seed: rc.zeros(shape))
    with pytest.raises(TypeError, match="cannot be saved"):
        layer.get_config()


# ---------------------------------------------------------------- regularizers


def test_regularizer_values_and_gradients_by_hand():
    w = rc.tensor(np.array([[[0.5, -2.0, 0.0], [1.5, -0.25, 3.0]]], np.float32))
    a = np.abs(w.numpy()).sum()
    s = (w.numpy().astype(np.float64) ** 2).sum()
    assert R.L1(0.1)(w) == pytest.approx(0.1 * a, rel=1e-6)
    assert R.L2(0.2)(w) == pytest.approx(0.2 * s, rel=1e-6)  # no 1/2 (Keras)
    assert R.L1L2(0.1, 0.2)(w) == pytest.approx(0.1 * a + 0.2 * s, rel=1e-6)
    g = R.L1L2(0.1, 0.2).gradient(w).numpy()
    np.testing.assert_allclose(g, 0.1 * np.sign(w.numpy()) + 0.4 * w.numpy(), rtol=1e-6)
    assert R.L1L2()(w) == 0.0 and (R.L1L2().gradient(w).numpy() == 0).all()
    assert R.get("l1_l2") == R.L1L2(0.01, 0.01)
    with pytest.raises(ValueError, match="l2"):
        R.L2(-1.0)
    with pytest.raises(ValueError, match="unknown regularizer"):
        nn.Dense(2, kernel_regularizer="l3")


def _mlp(tape_layer: bool, reg_kernel, reg_bias=None):
    layers = [
        nn.Dense(6, "tanh", kernel_regularizer=reg_kernel, bias_regularizer=reg_bias),
        nn.Dense(3, kernel_regularizer=reg_kernel, bias_initializer="ones"),
    ]
    if tape_layer:  # a layer with only forward: the whole step runs on the tape
        layers.insert(1, _Identity())
    return nn.Sequential(layers)


class _Identity(nn.Layer):
    def forward(self, x, training=False):
        return x * 1.0


def _data():
    r = np.random.default_rng(0)
    return r.normal(size=(10, 4)).astype(np.float32), r.normal(size=(10, 3)).astype(np.float32)


@pytest.mark.parametrize("tape", [False, True])
def test_penalty_enters_loss_and_gradient_by_hand(tape):
    x, y = _data()
    reg = R.L1L2(l1=0.01, l2=0.05)
    model = _mlp(tape, reg, R.L2(0.1))
    model.compile(rc.SGD(lr=0.1), "mse")
    model.build((4,), seed=1)
    w0 = [p.numpy().copy() for p in model.params]
    plain = _mlp(tape, None)
    plain.compile(rc.SGD(lr=0.1), "mse")
    plain.build((4,), seed=1)
    h = model.fit(x, y, epochs=1, batch_size=10, shuffle=False, verbose=0)
    hp = plain.fit(x, y, epochs=1, batch_size=10, shuffle=False, verbose=0)
    W1, b1, W2 = (w.astype(np.float64) for w in w0[:3])
    pen = (
        0.01 * np.abs(W1).sum()
        + 0.05 * (W1**2).sum()
        + 0.1 * (b1**2).sum()
        + 0.01 * np.abs(W2).sum()
        + 0.05 * (W2**2).sum()
    )
    assert h.history["loss"][0] == pytest.approx(hp.history["loss"][0] + pen, rel=1e-5)
    # one SGD step: the difference of the updates is lr * the penalty's gradient
    dpen = [
        0.01 * np.sign(W1) + 0.1 * W1,
        0.2 * b1,
        0.01 * np.sign(W2) + 0.1 * W2,
        np.zeros_like(w0[3]),
    ]
    for p, q, w, d in zip(model.params, plain.params, w0, dpen, strict=True):
        np.testing.assert_allclose(w - p.numpy(), (w - q.numpy()) + 0.1 * d, atol=2e-6)
    # evaluate reports the penalty too (Keras): the plain model on the same weights + it
    pen_now = sum(layer.regularization_loss() for layer in model.layers)
    assert pen_now > 0
    plain.set_weights(model.get_weights())
    want = plain.evaluate(x, y)["loss"] + pen_now
    assert model.evaluate(x, y)["loss"] == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("tape", [False, True])
def test_penalty_gradient_matches_torch_autograd(tape):
    torch = require("torch")
    x, y = _data()
    model = _mlp(tape, R.L1L2(l1=0.02, l2=0.03), R.L1(0.05))
    model.compile(rc.SGD(lr=1.0), "mse")
    model.build((4,), seed=2)
    w0 = [torch.tensor(p.numpy()[0].astype(np.float64), requires_grad=True) for p in model.params]
    W1, b1, W2, b2 = w0
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    out = torch.tanh(xt @ W1 + b1) @ W2 + b2
    loss = ((out - yt) ** 2).mean()
    loss = loss + 0.02 * W1.abs().sum() + 0.03 * (W1**2).sum() + 0.05 * b1.abs().sum()
    loss = loss + 0.02 * W2.abs().sum() + 0.03 * (W2**2).sum()
    loss.backward()
    h = model.fit(x, y, epochs=1, batch_size=10, shuffle=False, verbose=0)
    assert h.history["loss"][0] == pytest.approx(loss.item(), rel=1e-5)
    for p, t in zip(model.params, w0, strict=True):  # lr 1: new = old - grad
        got = t.detach().numpy() - p.numpy()[0]
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_recurrent_regularizer_gradient_matches_torch():
    torch = require("torch")
    r = np.random.default_rng(1)
    x = r.normal(size=(6, 5, 2)).astype(np.float32)
    y = r.normal(size=(6, 3)).astype(np.float32)
    model = nn.Sequential(
        [nn.RNN(3, kernel_regularizer=R.L2(0.1), recurrent_regularizer=R.L1(0.05))]
    )
    model.compile(rc.SGD(lr=1.0), "mse")
    model.build((5, 2), seed=3)
    Wx, Wh, b = (torch.tensor(p.numpy()[0, ...], dtype=torch.float64) for p in model.params)
    for t in (Wx, Wh, b):
        t.requires_grad_(True)
    h = torch.zeros(6, 3, dtype=torch.float64)
    xt = torch.tensor(x, dtype=torch.float64)
    for step in range(5):
        h = torch.tanh(xt[:, step] @ Wx + h @ Wh + b)
    loss = ((h - torch.tensor(y, dtype=torch.float64)) ** 2).mean()
    loss = loss + 0.1 * (Wx**2).sum() + 0.05 * Wh.abs().sum()
    loss.backward()
    before = [p.numpy()[0].copy() for p in model.params]
    hist = model.fit(x, y, epochs=1, batch_size=6, shuffle=False, verbose=0)
    assert hist.history["loss"][0] == pytest.approx(loss.item(), rel=1e-5)
    for p, w, t in zip(model.params, before, (Wx, Wh, b), strict=True):
        np.testing.assert_allclose(w - p.numpy()[0], t.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_frozen_layers_are_not_penalized():
    layer = nn.Dense(2, kernel_regularizer=R.L2(1.0))
    layer.build((3,))
    assert layer.regularization_loss() > 0
    layer.trainable = False
    assert layer.regularization_loss() == 0.0 and layer.regularization_penalty() is None
