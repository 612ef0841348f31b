"""rc.nn gradients against finite differences (always) and against torch autograd (same
weights; those tests skip one by one when torch is missing)."""

import sys

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import nn


@pytest.fixture(autouse=True)
def _seeded():
    rc.seed(1234)  # fixed initial weights: no probe lands on a kink by chance
    yield


def _rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _np(t):
    return np.array(t.numpy(), copy=True)


def _fd_check(layer, x, r, params_and_grads, eps=1e-2, rtol=3e-2, atol=3e-3, n_probe=6):
    """Central differences of L = sum(forward(x) * r) against the analytic gradients."""
    rng = np.random.default_rng(0)
    for p, g in params_and_grads:
        pv = p.numpy().reshape(-1)
        gv = g.numpy().reshape(-1)
        for i in rng.choice(pv.size, size=min(n_probe, pv.size), replace=False):
            old = float(pv[i])
            pv[i] = old + eps
            lp = float((layer.forward(x, False).numpy().astype(np.float64) * r).sum())
            pv[i] = old - eps
            lm = float((layer.forward(x, False).numpy().astype(np.float64) * r).sum())
            pv[i] = old
            num = (lp - lm) / (2 * eps)
            assert abs(num - gv[i]) <= atol + rtol * abs(num), (i, num, gv[i])


ACTIVATIONS = list(nn.activations.NAMES)  # every activation a Dense layer accepts


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_dense_finite_differences(act):
    layer = nn.Dense(5, activation=act)
    x = rc.tensor(_rand((7, 4), 1))
    y = layer.forward(x, True)
    r = _rand(y.shape, 2)
    dx = layer.backward(rc.tensor(r))
    g = [(layer.W, rc.tensor(_np(layer.dW))), (layer.b, rc.tensor(_np(layer.db)))]
    eps = 1e-3 if "relu" in act else 1e-2  # piecewise-linear: stay off the kink
    _fd_check(layer, x, r.astype(np.float64), g + [(x, dx)], eps=eps)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM])
@pytest.mark.parametrize("ret_seq", [False, True])
def test_recurrent_finite_differences(cls, ret_seq):
    layer = cls(6, return_sequences=ret_seq)
    x = rc.tensor(_rand((5, 3, 4), 3))  # (time, batch, features)
    y = layer.forward(x, True)
    r = _rand(y.shape, 4)
    dx = layer.backward(rc.tensor(r))
    saved = [(p, rc.tensor(_np(g))) for p, g in zip(layer.params, layer.grads, strict=True)]
    _fd_check(layer, x, r.astype(np.float64), saved + [(x, dx)])


def _torch():
    return pytest.importorskip("torch")


def _torch_act(name):
    torch = _torch()
    F = torch.nn.functional
    return {
        "linear": lambda z: z,
        "relu": torch.relu,
        "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "swish": F.silu,
        "gelu": lambda z: F.gelu(z, approximate="tanh"),
        "gelu_erf": lambda z: F.gelu(z, approximate="none"),
        "softmax": lambda z: torch.softmax(z, dim=-1),
    }[name]


def _t(a, grad=False):
    return _torch().tensor(np.asarray(a, dtype=np.float32), requires_grad=grad)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_dense_vs_torch(act):
    layer = nn.Dense(9, activation=act)
    x = _rand((16, 12), 5)
    y = layer.forward(rc.tensor(x), True)
    r = _rand((16, 9), 6)
    dx = layer.backward(rc.tensor(r))
    W, b, xt = _t(_np(layer.W)[0], True), _t(_np(layer.b)[0, 0], True), _t(x, True)
    yt = _torch_act(act)(xt @ W + b)
    (yt * _t(r)).sum().backward()
    np.testing.assert_allclose(_np(y)[0], yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(dx)[0], xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np(layer.dW)[0], W.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np(layer.db)[0, 0], b.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("ret_seq", [False, True])
# one step (no recurrent product), a few, and T*B over one k block of the weight
# gradients' product (their [x | h_{t-1}] rows: two blocks)
@pytest.mark.parametrize("dims", [(1, 3, 4, 5), (7, 4, 3, 8), (7, 48, 5, 20)])
def test_rnn_vs_torch(ret_seq, dims):
    torch = _torch()
    T, B, I, H = dims
    layer = nn.RNN(H, return_sequences=ret_seq)
    x = _rand((T, B, I), 7)
    y = layer.forward(rc.tensor(x), True)
    ref = torch.nn.RNN(I, H, nonlinearity="tanh")
    with torch.no_grad():
        ref.weight_ih_l0.copy_(_t(_np(layer.Wx)[0].T))
        ref.weight_hh_l0.copy_(_t(_np(layer.Wh)[0].T))
        ref.bias_ih_l0.copy_(_t(_np(layer.b)[0, 0]))
        ref.bias_hh_l0.zero_()
    xt = _t(x, True)
    out, _ = ref(xt)
    out = out if ret_seq else out[-1:]
    r = _rand(tuple(out.shape), 8)
    dx = layer.backward(rc.tensor(r))
    (out * _t(r)).sum().backward()
    np.testing.assert_allclose(_np(y), out.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(dx), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        _np(layer.dWx)[0], ref.weight_ih_l0.grad.numpy().T, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        _np(layer.dWh)[0], ref.weight_hh_l0.grad.numpy().T, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        _np(layer.db)[0, 0], ref.bias_ih_l0.grad.numpy(), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("ret_seq", [False, True])
# one step (no recurrent product), a few, and T*B over one k block of the weight
# gradients' product (their [x | h_{t-1}] rows: two blocks)
@pytest.mark.parametrize("dims", [(1, 3, 4, 5), (6, 3, 4, 5), (7, 48, 5, 20)])
def test_lstm_vs_torch(ret_seq, dims):
    torch = _torch()
    T, B, I, H = dims
    layer = nn.LSTM(H, return_sequences=ret_seq)
    x = _rand((T, B, I), 9)
    y = layer.forward(rc.tensor(x), True)
    ref = torch.nn.LSTM(I, H)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(_t(_np(layer.W)[0].T))
        ref.weight_hh_l0.copy_(_t(_np(layer.U)[0].T))
        ref.bias_ih_l0.copy_(_t(_np(layer.b)[0, 0]))
        ref.bias_hh_l0.zero_()
    xt = _t(x, True)
    out, _ = ref(xt)
    out = out if ret_seq else out[-1:]
    r = _rand(tuple(out.shape), 10)
    dx = layer.backward(rc.tensor(r))
    (out * _t(r)).sum().backward()
    np.testing.assert_allclose(_np(y), out.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(dx), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        _np(layer.dW)[0], ref.weight_ih_l0.grad.numpy().T, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        _np(layer.dU)[0], ref.weight_hh_l0.grad.numpy().T, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        _np(layer.db)[0, 0], ref.bias_ih_l0.grad.numpy(), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("labels", [True, False])
def test_softmax_cross_entropy_vs_torch(labels):
    """Softmax + cross-entropy fused in the model (the loss takes the last layer's logits,
    the layer runs backward_from_logits) against torch's cross_entropy."""
    torch = _torch()
    model = nn.Sequential([nn.Dense(6, activation="tanh"), nn.Dense(4, activation="softmax")])
    model.compile("sgd", "cross_entropy")
    model.build((5,), seed=3)
    x = _rand((11, 5), 11)
    cls = np.random.default_rng(12).integers(0, 4, 11)
    onehot = np.eye(4, dtype=np.float32)[cls]
    target = cls if labels else rc.tensor(onehot)
    out = model._forward(rc.tensor(x), True)
    loss, grad = model._loss_fn.value_and_grad(target, model._loss_input(out))
    model._backward(grad)
    l1, l2 = model.layers
    W1, b1 = _t(_np(l1.W)[0], True), _t(_np(l1.b)[0, 0], True)
    W2, b2 = _t(_np(l2.W)[0], True), _t(_np(l2.b)[0, 0], True)
    logits = torch.tanh(_t(x) @ W1 + b1) @ W2 + b2
    ref = torch.nn.functional.cross_entropy(logits, torch.tensor(cls))
    ref.backward()
    assert abs(loss - ref.item()) < 1e-5
    np.testing.assert_allclose(
        _np(out)[0], torch.softmax(logits, -1).detach().numpy(), rtol=1e-5, atol=1e-6
    )
    for ours, theirs in ((l1.dW, W1), (l1.db, b1), (l2.dW, W2), (l2.db, b2)):
        np.testing.assert_allclose(
            _np(ours).reshape(theirs.shape), theirs.grad.numpy(), rtol=1e-4, atol=1e-6
        )


def test_sigmoid_binary_cross_entropy_fused_finite_differences():
    """Sigmoid + binary cross-entropy: the model hands the loss the logits; the weight
    gradients equal central differences of the loss (no torch needed)."""
    model = nn.Sequential([nn.Dense(4, "tanh"), nn.Dense(1, "sigmoid")])
    model.compile("sgd", "binary_cross_entropy")
    model.build((3,), seed=5)
    x = rc.tensor(_rand((9, 3), 21))
    y = rc.tensor((np.arange(9) % 2).astype(np.float32).reshape(1, 9, 1))

    def loss_value():
        out = model._forward(x, False)
        return model._loss_fn.value_and_grad(y, model._loss_input(out))[0]

    out = model._forward(x, True)
    _, grad = model._loss_fn.value_and_grad(y, model._loss_input(out))
    model._backward(grad)
    analytic = [_np(g) for g in model.grads]
    eps = 1e-2
    for p, g in zip(model.params, analytic, strict=True):
        pv, gv = p.numpy().reshape(-1), g.reshape(-1)
        for i in range(min(4, pv.size)):
            old = float(pv[i])
            pv[i] = old + eps
            lp = loss_value()
            pv[i] = old - eps
            lm = loss_value()
            pv[i] = old
            num = (lp - lm) / (2 * eps)
            assert abs(num - gv[i]) <= 2e-3 + 3e-2 * abs(num), (i, num, gv[i])


@pytest.mark.parametrize("name", ["mse", "mae", "binary_cross_entropy"])
def test_regression_losses_vs_torch(name):
    torch = _torch()
    p = np.random.default_rng(13).uniform(0.05, 0.95, (1, 8, 3)).astype(np.float32)
    t = np.random.default_rng(14).uniform(0, 1, (1, 8, 3)).astype(np.float32)
    loss, grad = rc.losses.get(name).value_and_grad(rc.tensor(t), rc.tensor(p))
    pt = _t(p, True)
    fn = {
        "mse": torch.nn.functional.mse_loss,
        "mae": torch.nn.functional.l1_loss,
        "binary_cross_entropy": torch.nn.functional.binary_cross_entropy,
    }[name]
    ref = fn(pt, _t(t))
    ref.backward()
    assert abs(loss - ref.item()) < 1e-5
    np.testing.assert_allclose(_np(grad), pt.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_finite_differences_run_without_torch(monkeypatch):
    """Only the torch comparisons skip when torch is missing."""
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(pytest.skip.Exception):
        _torch()
    test_dense_finite_differences("gelu")
    test_recurrent_finite_differences(nn.LSTM, False)
