"""An open rc.nn: the model speaks to layers only through the Layer protocol, a user layer
of one class trains inside Sequential, and ``trainable = False`` freezes a layer."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import nn

NN = pathlib.Path(nn.__file__).resolve().parent


def _blobs(n=240, seed=0):
    r = np.random.default_rng(seed)
    y = r.integers(0, 3, n)
    centers = np.array([[2, 0], [-2, 1], [0, -2]], dtype=np.float32)
    return (centers[y] + r.normal(0, 0.5, (n, 2))).astype(np.float32), y


class Scale(nn.Layer):
    """y = x * w + c per feature, written with tensor ops only (a user's layer)."""

    kind = "scale"

    def build(self, input_shape, seeds=None):
        super().build(input_shape, seeds)
        f = input_shape[-1]
        self.w = self.add_weight((1, 1, f), "ones", seeds)
        self.c = self.add_weight((1, 1, f), "zeros", seeds)
        return self.output_shape

    def forward(self, x, training=False):
        self._x = x
        return x * self.w + self.c

    def backward(self, grad):
        # a new list each time: the model reads grads after every backward
        self.grads = [(grad * self._x).sum(axis=1), grad.sum(axis=1)]
        return grad * self.w


class Square(nn.Layer):
    """A weightless user layer that changes nothing about shapes: y = x^2."""

    def forward(self, x, training=False):
        self._x = x
        return x * x

    def backward(self, grad):
        return grad * self._x * 2.0


def test_user_layer_trains_inside_sequential(tmp_path):
    x, y = _blobs()
    model = nn.Sequential([nn.Dense(8, "tanh"), Scale(), nn.Dense(3)])
    model.compile(rc.Adam(lr=2e-2), "cross_entropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=15, batch_size=16, seed=0, verbose=0)
    scale = model.layers[1]
    assert scale.name == "scale" and len(model.weights) == 6
    assert not np.array_equal(scale.w.numpy(), np.ones((1, 1, 8), np.float32))
    assert h.history["loss"][-1] < 0.5 * h.history["loss"][0]
    assert model.evaluate(x, y)["accuracy"] > 0.95
    assert "scale (Scale)" in model.summary() and "Total params: 67" in model.summary()
    # saved and loaded with the class named in custom_objects; resumes like the rest
    path = tmp_path / "m.rcm"
    model.save(path)
    with pytest.raises(rc.FormatError, match="unknown layer class 'Scale'"):
        nn.load_model(path)
    back = nn.load_model(path, custom_objects={"Scale": Scale})
    assert np.array_equal(back.predict(x), model.predict(x))


def test_user_layer_gradient_matches_finite_differences():
    """The model's backward chain through a user layer is the true gradient."""
    x, y = _blobs(32)
    model = nn.Sequential([nn.Dense(4, "tanh"), Square(), Scale(), nn.Dense(3)])
    model.compile("sgd", "cross_entropy")
    model.build((2,), seed=1)
    xt = rc.tensor(x)

    def loss():
        out = model._forward(xt, False)
        return model._loss_fn.value_and_grad(y, model._loss_input(out))[0]

    out = model._forward(xt, True)
    model._backward(model._loss_fn.value_and_grad(y, model._loss_input(out))[1])
    grads = [np.array(g.numpy(), copy=True) for g in model.grads]
    for p, g in zip(model.params, grads, strict=True):
        pv = p.numpy().reshape(-1)
        for i in range(min(3, pv.size)):
            old = float(pv[i])
            pv[i] = old + 1e-2
            lp = loss()
            pv[i] = old - 1e-2
            lm = loss()
            pv[i] = old
            num = (lp - lm) / 2e-2
            assert abs(num - g.reshape(-1)[i]) <= 2e-3 + 3e-2 * abs(num)


def test_model_uses_only_the_protocol():
    """No isinstance on concrete layers and no private layer state in the model files."""
    concrete = {"Dense", "RNN", "LSTM", "Dropout", "Flatten"}
    for name in ("model.py", "batches.py", "saving.py", "progress.py"):
        tree = ast.parse((NN / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
                names = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
                names |= {n.attr for n in ast.walk(node.args[1]) if isinstance(n, ast.Attribute)}
                assert not names & concrete, f"{name}:{node.lineno} isinstance on a layer"
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                base = node.value
                owner = base.id if isinstance(base, ast.Name) else None
                ok = owner in {"self", "_b", "_L", "_losses", "_optim", "model", "opt"}
                assert ok or node.attr.startswith("__"), (
                    f"{name}:{node.lineno} reaches into {ast.unparse(node)}"
                )
        text = (NN / name).read_text()
        assert "_fused_output" not in text and "._z" not in text


def test_dense_backward_math_is_not_switched_by_the_model():
    """With softmax + cross-entropy the model calls backward_from_logits; the layer's own
    backward keeps the softmax Jacobian whatever the model did."""
    x = rc.tensor(np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32))
    g = rc.tensor(np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32))
    model = nn.Sequential([nn.Dense(4, "softmax")])
    model.compile("adam", "cross_entropy")
    model.build((3,), seed=0)
    alone = nn.Dense(4, "softmax")
    alone.build((3,))
    alone.set_weights(model.layers[0].get_weights())
    model.layers[0].compute_input_grad = True
    a = model.layers[0]
    a.forward(x, True)
    alone.forward(x, True)
    assert a.backward(g).equals(alone.backward(g))
    assert a.output_activation == "softmax" and a.logits.shape == (1, 5, 4)
    # backward_from_logits skips the activation: the input gradient is g @ W^T
    dx = a.backward_from_logits(g)
    assert np.allclose(dx.numpy(), (g @ a.W.transpose()).numpy(), atol=1e-6)


def test_custom_last_layer_hands_the_loss_its_output():
    """A layer without an output activation is not fused: cross-entropy gets its output
    as logits (and no check refuses it)."""
    x, y = _blobs(96)
    model = nn.Sequential([nn.Dense(3), Scale()])
    model.compile(rc.Adam(lr=5e-2), "cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=10, batch_size=16, seed=0, verbose=0)
    assert model.evaluate(x, y)["accuracy"] > 0.9


def test_frozen_layer_keeps_its_weights():
    x, y = _blobs()
    model = nn.Sequential([nn.Dense(8, "relu"), nn.Dense(8, "relu"), nn.Dense(3)])
    model.compile(rc.Adam(lr=1e-2), "cross_entropy")
    model.build((2,), seed=0)
    model.layers[1].trainable = False
    before = model.get_weights()
    model.fit(x, y, epochs=3, batch_size=16, seed=0, verbose=0)
    after = model.get_weights()
    assert after[2].equals(before[2]) and after[3].equals(before[3])  # frozen
    assert not after[0].equals(before[0]) and not after[4].equals(before[4])
    steps = [st["step"] for st in model.optimizer.state]
    assert steps[2] == steps[3] == 0 and steps[0] == steps[4] > 0
    s = model.summary()
    assert "Trainable params: 51" in s and "Non-trainable params: 72" in s
    assert "dense_1 (Dense) [frozen]" in s
    # unfreezing takes effect at the next fit
    model.layers[1].trainable = True
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert not model.get_weights()[2].equals(before[2])


def test_trainable_in_constructor_and_saved(tmp_path):
    x, y = _blobs(64)
    model = nn.Sequential([nn.Dense(4, "tanh", trainable=False), nn.Dense(3)])
    model.compile("sgd", "cross_entropy")
    model.build((2,), seed=0)
    w0 = model.layers[0].get_weights()
    model.fit(x, y, epochs=2, verbose=0)
    assert all(a.equals(b) for a, b in zip(model.layers[0].get_weights(), w0, strict=True))
    path = tmp_path / "frozen.rcm"
    model.save(path)
    back = nn.load_model(path)
    assert back.layers[0].trainable is False and back.layers[1].trainable is True
    with pytest.raises(TypeError, match="trainable"):
        nn.Dense(3, trainable="no")


def test_layer_protocol_hooks_of_builtin_layers():
    d, r, f, drop = nn.Dense(5), nn.RNN(4), nn.Flatten(), nn.Dropout(0.5)
    assert d.weight_shapes((3,)) == [(1, 3, 5), (1, 1, 5)]
    assert nn.LSTM(4).weight_shapes((7, 3)) == [(1, 3, 16), (1, 4, 16), (1, 1, 16)]
    assert d.input_layout((3,)) == "rows" and r.input_layout((7, 3)) == "time_major"
    assert f.input_layout((4, 4, 3)) == "rows" and drop.input_layout((3,)) is None
    assert f.compute_output_shape((4, 4, 3)) == (48,)
    assert r.uses_sample_axes and f.uses_sample_axes and not d.uses_sample_axes
    assert nn.Dense(2, use_bias=False).weight_shapes((3,)) == [(1, 3, 2)]
    with pytest.raises(rc.ShapeError, match="Flatten"):
        d.compute_output_shape((4, 4, 3))


def test_dense_without_bias_trains():
    x, y = _blobs(96)
    model = nn.Sequential([nn.Dense(8, "relu"), nn.Dense(3, use_bias=False)])
    model.compile(rc.Adam(lr=2e-2), "cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=10, batch_size=16, seed=0, verbose=0)
    assert len(model.weights) == 3 and model.evaluate(x, y)["accuracy"] > 0.9
