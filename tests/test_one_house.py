"""One copy of the math: rc.nn layers compute with exactly the tensor API's kernels.

Each activation and loss is pinned layer == tensor API bit for bit (the review found the
network stack on a second copy that disagreed: BCE 66.9 vs 10.9 on the same input, Dense
gelu 35 % off at x = -5 and 0 below -6, Dense softmax differing from ``t.softmax()`` in
312 of 640 elements, Dense swish(-inf) NaN where the tensor gives -0). Tails are checked
against float64 references.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _layers as _L
from rcmlrs import _runtime, nn
from rcmlrs import _tensor as _T
from rcmlrs.nn.seeding import Seeds

ACTIVATIONS = ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "swish", "gelu", "softmax"]


def _tensor_act(t, name):
    """The tensor API's spelling of each layer activation."""
    return t if name == "linear" else getattr(t, name)()


def _bits(t):
    return np.asarray(t).view(np.uint32).copy()


def _dense(units, act, x, seed=0):
    layer = nn.Dense(units, activation=act)
    layer.build((x.shape[-1],), Seeds(seed))
    W, b = layer.params
    # a non-zero bias, so the bias path is exercised
    b.numpy()[...] = np.linspace(-0.5, 0.5, units, dtype=np.float32)
    return layer, W, b


@pytest.fixture
def x():
    rng = np.random.default_rng(7)
    a = rng.normal(0.0, 3.0, (1, 33, 19)).astype(np.float32)
    a[0, 0, :4] = [-np.inf, np.inf, -1e4, 1e4]  # saturation and +-inf in the first row
    return rc.tensor(a)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_dense_forward_equals_tensor_api_bit_for_bit(act, x):
    layer, W, b = _dense(10, act, x)
    y = layer.forward(x, training=True)
    ref = _tensor_act(x @ W + b, act)
    assert np.array_equal(_bits(y), _bits(ref)), act


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_dense_backward_equals_tensor_api_bit_for_bit(act):
    rng = np.random.default_rng(3)
    x = rc.tensor(rng.normal(0.0, 2.0, (1, 17, 6)).astype(np.float32))
    g = rc.tensor(rng.normal(0.0, 1.0, (1, 17, 5)).astype(np.float32))
    layer, W, b = _dense(5, act, x)
    y = layer.forward(x, training=True)
    dx = layer.backward(g)
    dW, db = layer.grads
    z = x @ W + b
    if act == "linear":
        dz = g
    elif act == "softmax":
        dz = z.softmax_backward(g)
    elif act in ("relu", "leaky_relu", "sigmoid", "tanh"):  # f' is a function of y
        dz = getattr(z, act + "_backward")(g, output=y)
    else:
        dz = getattr(z, act + "_backward")(g)
    assert np.array_equal(_bits(dW), _bits(x.matmul(dz, transpose_a=True))), act
    assert np.array_equal(_bits(db), _bits(dz.sum(axis=1))), act
    assert np.array_equal(_bits(dx), _bits(dz.matmul(W, transpose_b=True))), act


def _identity_dense(act):
    """Dense(1) with W = 1, b = 0: its output is act(x) exactly."""
    layer = nn.Dense(1, activation=act)
    layer.build((1,), Seeds(0))
    layer.set_weights([rc.ones((1, 1, 1)), rc.zeros((1, 1, 1))])
    return layer


def test_dense_gelu_tail_matches_float64():
    xs = np.array([-5.0, -6.0, -7.0, -8.0, -9.0, -10.0, -3.0, 2.5], dtype=np.float32)
    y = np.asarray(_identity_dense("gelu").forward(rc.tensor(xs.reshape(1, -1, 1)))).ravel()
    x64 = xs.astype(np.float64)
    u2 = 2.0 * math.sqrt(2.0 / math.pi) * (x64 + 0.044715 * x64**3)
    ref = x64 / (1.0 + np.exp(-u2))  # 0.5 x (1 + tanh u) = x sigmoid(2u), no cancellation
    assert np.all(y != 0.0)  # the old copy returned 0 below -6
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=0.0)  # a few ulp


def test_dense_swish_at_minus_inf_is_minus_zero():
    y = np.asarray(_identity_dense("swish").forward(rc.tensor([[[-np.inf]]])))
    assert y.item() == 0.0 and math.copysign(1.0, y.item()) == -1.0


def test_activation_names_come_from_one_table():
    for name in ACTIVATIONS:
        assert nn.activations.act_id(nn.activations.canonical(name)) == _T._act_id(name)
    assert _T._act_id("SiLU") == _T._act_id("swish")
    assert _T._act_id("LReLU") == _T._act_id("leaky_relu")
    assert _T._act_id(None) == _T._act_id("linear")
    assert len({_T._act_id(n) for n in ACTIVATIONS}) == len(ACTIVATIONS)


def _model(act, loss):
    model = nn.Sequential([_identity_dense(act)])
    model.build((1,))
    model.layers[0].set_weights([rc.ones((1, 1, 1)), rc.zeros((1, 1, 1))])
    model.compile(optimizer="sgd", loss=loss)
    return model


def test_network_bce_equals_rc_binary_cross_entropy():
    # the reported case: rc.binary_cross_entropy gave 66.9, the network loss 10.9
    a = np.array([1.0, 0.0, 1.0], dtype=np.float32)
    p = np.array([0.0, 1.0, 0.5], dtype=np.float32)
    want = rc.binary_cross_entropy(rc.tensor(a), rc.tensor(p))
    assert want == pytest.approx((100.0 + 100.0 + math.log(2.0)) / 3.0, rel=1e-6)
    got = _model(None, "binary_cross_entropy").evaluate(p.reshape(3, 1), a, batch_size=3)
    assert got["loss"] == pytest.approx(want, rel=1e-12)


def test_network_bce_after_sigmoid_uses_the_logits_form():
    z = np.array([-30.0, -2.0, 0.0, 3.0, 40.0], dtype=np.float32)
    a = np.array([1.0, 0.0, 1.0, 1.0, 0.0], dtype=np.float32)
    got = _model("sigmoid", "binary_cross_entropy").evaluate(z.reshape(-1, 1), a, batch_size=5)
    want = rc.binary_cross_entropy_with_logits(rc.tensor(a), rc.tensor(z))
    assert got["loss"] == pytest.approx(want, rel=1e-12)
    z64, a64 = z.astype(np.float64), a.astype(np.float64)
    ref = np.mean(np.maximum(z64, 0) - z64 * a64 + np.log1p(np.exp(-np.abs(z64))))
    assert want == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("loss", ["mse", "mae"])
def test_network_regression_losses_equal_rc_losses(loss):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(9, 1)).astype(np.float32)
    y = rng.normal(size=(9,)).astype(np.float32)
    got = _model(None, loss).evaluate(x, y, batch_size=9)["loss"]
    fn = rc.mse_loss if loss == "mse" else rc.mae_loss
    assert got == pytest.approx(fn(rc.tensor(y), rc.tensor(x.ravel())), rel=1e-12)


def test_compile_accepts_loss_objects():
    model = _model(None, rc.losses.MSE())
    assert model.evaluate(np.ones((2, 1), np.float32), np.zeros(2, np.float32))["loss"] == 1.0


def test_binary_cross_entropy_with_logits_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    z = rng.normal(0.0, 3.0, 40).astype(np.float64)
    a = rng.uniform(0.0, 1.0, 40).astype(np.float64)
    _, g = rc.losses.BinaryCrossEntropy(from_logits=True).value_and_grad(
        rc.tensor(a.astype(np.float32)), rc.tensor(z.astype(np.float32))
    )

    def f(zz):
        return np.mean(np.maximum(zz, 0) - zz * a + np.log1p(np.exp(-np.abs(zz))))

    h = 1e-6
    fd = np.array([(f(z + h * e) - f(z - h * e)) / (2 * h) for e in np.eye(40)])
    np.testing.assert_allclose(np.asarray(g).ravel(), fd, rtol=2e-4, atol=1e-7)


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu", "linear"])
def test_rnn_first_step_equals_tensor_api(act):
    rng = np.random.default_rng(2)
    x = rc.tensor(rng.normal(size=(1, 4, 3)).astype(np.float32))  # T = 1, time-major
    layer = nn.RNN(6, activation=act)
    layer.build((1, 3), Seeds(0))
    Wx, _, b = layer.params
    b.numpy()[...] = 0.25
    h = layer.forward(x, training=True)
    assert np.array_equal(_bits(h), _bits(_tensor_act(x @ Wx + b, act)))


def test_layer_kernels_agree_across_backends():
    """Every family has a serial reference: the layer forms are bit-identical on every
    backend, the recurrent loops agree within GEMM rounding."""
    rng = np.random.default_rng(9)
    z = rc.tensor(rng.normal(0, 4, (3, 5, 37)).astype(np.float32))
    g = rc.tensor(rng.normal(0, 1, (3, 5, 37)).astype(np.float32))
    x = rc.tensor(rng.normal(size=(6, 4, 5)).astype(np.float32))
    lstm = nn.LSTM(7, return_sequences=True)
    lstm.build((6, 5), Seeds(1))
    old = _runtime.get_backend()
    results = {}
    try:
        for isa in _runtime.capabilities():
            _runtime.set_backend(isa)
            out = []
            for name in ACTIVATIONS:
                code = _T._act_id(name)
                y = _L._nn_activation(z, code, 0.01)
                out.append(_bits(y))
                out.append(_bits(_L._nn_activation_backward(z, y, g, code, 0.01)))
            hs = np.asarray(lstm.forward(x, training=True)).copy()
            results[isa] = (out, hs)
    finally:
        _runtime.set_backend(old)
    ref_bits, ref_hs = results["serial"]
    for isa, (bits, hs) in results.items():
        for a, b in zip(ref_bits, bits, strict=True):
            assert np.array_equal(a, b), isa
        np.testing.assert_allclose(hs, ref_hs, rtol=1e-5, atol=1e-6)
