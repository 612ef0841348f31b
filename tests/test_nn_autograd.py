"""rc.nn on rc.autograd: every layer is one fused tape op (bit for bit its own backward),
a layer with only ``forward`` trains in Sequential, ``compile(loss=fn)``, ``rc.nn.Model``
subclasses (residual, two inputs), weight sharing, and thread-count determinism."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _runtime, nn
from rcmlrs.nn.autodiff import loss_on_tape
from rcmlrs.nn.seeding import MASK64, layer_seed

ACTS = ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "swish", "gelu"]


class Recorder:
    """An optimizer that keeps copies of the gradients ``fit`` hands it and updates
    nothing: what one training step computes, read through the optimizer protocol."""

    def __init__(self) -> None:
        self.params: list = []
        self.steps: list[list] = []

    def add_params(self, params) -> None:
        self.params.extend(params)

    def step(self, grads) -> None:
        self.steps.append([None if g is None else g.copy() for g in grads])


def fit_grads(model, x, y, seed=5):
    """The gradients of ``fit``'s first step on all of (x, y) as one batch."""
    model.fit(x, y, epochs=1, batch_size=len(y), shuffle=False, seed=seed, verbose=0)
    return model.optimizer.steps[-1]


def tape_grads(model, xb, actual, seed=5):
    """The gradients of the model's loss on one batch through a tape (dropout masks of
    ``fit``'s first epoch with ``seed``)."""
    for i, layer in enumerate(model.layers):
        layer.reseed(layer_seed(seed & MASK64, i, 0))
    params = model.params
    with rc.autograd.Tape() as tape:
        tape.watch(params)
        out = model(xb, training=True)
        loss = loss_on_tape(model.loss, actual, out)
    return tape.gradient(loss, params), tape


def same_bits(a, b):
    assert len(a) == len(b)
    for i, (u, v) in enumerate(zip(a, b, strict=True)):
        assert u.shape == v.shape, i
        assert np.array_equal(u.numpy().view(np.uint32), v.numpy().view(np.uint32)), i


def close(a, b, tol):
    for i, (u, v) in enumerate(zip(a, b, strict=True)):
        u = u.numpy() if isinstance(u, rc.RamTensor) else np.asarray(u)
        v = v.numpy() if isinstance(v, rc.RamTensor) else np.asarray(v)
        np.testing.assert_allclose(u.reshape(v.shape), v, rtol=tol, atol=tol, err_msg=str(i))


def rows(n, f, seed):
    return np.random.default_rng(seed).normal(size=(n, f)).astype(np.float32)


def seqs(n, t, f, seed):
    return np.random.default_rng(seed).normal(size=(n, t, f)).astype(np.float32)


def time_major(x):
    return rc.tensor(np.ascontiguousarray(np.swapaxes(x, 0, 1)))


# ---------------------------------------------------------------- fused layers, bit for bit


@pytest.mark.parametrize("act", ACTS)
def test_dense_tape_gradient_is_fits_backward(act):
    x, y = rows(12, 5, 0), rows(12, 3, 1)
    model = nn.Sequential([nn.Dense(7, act), nn.Dense(3, act)])
    model.compile(Recorder(), "mse")
    model.build((5,), seed=2)
    taped, tape = tape_grads(model, rc.tensor(x), rc.tensor(y))
    assert [e[0] for e in tape.entries] == ["Dense", "Dense", "mse"]
    same_bits(taped, fit_grads(model, x, y))


def test_dense_cross_entropy_on_logits_is_bit_identical():
    x, labels = rows(16, 4, 0), np.arange(16) % 3
    model = nn.Sequential([nn.Dense(6, "relu"), nn.Dense(3)])
    model.compile(Recorder(), "cross_entropy")
    model.build((4,), seed=1)
    taped, _ = tape_grads(model, rc.tensor(x), labels)
    same_bits(taped, fit_grads(model, x, labels))


@pytest.mark.parametrize("cell", ["RNN", "LSTM"])
@pytest.mark.parametrize("ret_seq", [False, True])
def test_recurrent_tape_gradient_is_fits_backward(cell, ret_seq):
    x = seqs(6, 5, 3, 0)
    layers = [getattr(nn, cell)(4, return_sequences=ret_seq), nn.Dense(2)]
    y = seqs(6, 5, 2, 1) if ret_seq else rows(6, 2, 1)
    model = nn.Sequential(layers)
    model.compile(Recorder(), "mse")
    model.build((5, 3), seed=3)
    actual = time_major(y) if ret_seq else rc.tensor(y)
    taped, tape = tape_grads(model, time_major(x), actual)
    assert [e[0] for e in tape.entries] == [cell, "Dense", "mse"]
    same_bits(taped, fit_grads(model, x, y))


def test_dropout_and_flatten_tape_gradient_is_fits_backward():
    """Dropout's tape entry uses the mask of its own call (the one fit draws)."""
    x, y = seqs(8, 4, 3, 0), rows(8, 2, 1)
    model = nn.Sequential([nn.Flatten(), nn.Dense(6, "tanh"), nn.Dropout(0.5), nn.Dense(2)])
    model.compile(Recorder(), "mse")
    model.build((4, 3), seed=4)
    xb = rc.tensor(x.reshape(1, 8, 12))  # Flatten as first layer gathers rows
    taped, tape = tape_grads(model, xb, rc.tensor(y))
    names = [e[0] for e in tape.entries]
    assert names == ["Dense", "Dropout", "Dense", "mse"]  # a flat Flatten is the identity
    same_bits(taped, fit_grads(model, x, y))
    # a time-major batch through Flatten is one recorded op too
    flat = nn.Flatten()
    t = time_major(x)
    with rc.autograd.Tape() as tape:
        tape.watch(t)
        out = flat(t)
        loss = (out * out).sum(axis=2).sum(axis=1)
    (dt,) = tape.gradient(loss, [t])
    assert [e[0] for e in tape.entries][0] == "Flatten"
    assert np.array_equal(dt.numpy(), 2 * t.numpy())


def test_softmax_cross_entropy_model_on_the_tape_matches_fused_path():
    """A Sequential with a forward-only layer runs on the tape: the softmax layer then
    records its logits (backward_from_logits), so the gradients are those of the fused
    path bit for bit."""

    class Identity(nn.Layer):
        def forward(self, x, training=False):
            return x

    x, labels = rows(20, 4, 0), np.arange(20) % 3
    fused = nn.Sequential([nn.Dense(6, "relu"), nn.Dense(3, "softmax")])
    taped = nn.Sequential([nn.Dense(6, "relu"), Identity(), nn.Dense(3, "softmax")])
    for m in (fused, taped):
        m.compile(Recorder(), "cross_entropy")
        m.build((4,), seed=1)
    same_bits(fit_grads(taped, x, labels), fit_grads(fused, x, labels))


# ---------------------------------------------------------------- forward-only layers


class TanhDense(nn.Layer):
    """``tanh(x @ W + b)`` with tensor ops only: no backward."""

    kind = "tanh_dense"

    def __init__(self, units, **kw):
        super().__init__(**kw)
        self.units = units

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def build(self, input_shape, seeds=None):
        super().build(input_shape, seeds)
        self.W = self.add_weight((1, input_shape[-1], self.units), "glorot_uniform", seeds)
        self.b = self.add_weight((1, 1, self.units), "glorot_uniform", seeds)
        return self.output_shape

    def forward(self, x, training=False):
        return (x @ self.W + self.b).tanh()

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _pair():
    custom = nn.Sequential([TanhDense(8), nn.Dense(2)])
    dense = nn.Sequential([nn.Dense(8, "tanh"), nn.Dense(2)])
    custom.build((3,), seed=0)
    dense.build((3,), seed=1)
    dense.set_weights(custom.get_weights())
    return custom, dense


def test_forward_only_layer_gradient_matches_dense_and_torch():
    x, y = rows(10, 3, 0), rows(10, 2, 1)
    custom, dense = _pair()
    for m in (custom, dense):
        m.compile(Recorder(), "mse")
    gc, gd = fit_grads(custom, x, y), fit_grads(dense, x, y)
    close(gc, gd, 1e-6)

    torch = pytest.importorskip("torch")
    w = [torch.tensor(p.numpy()[0], requires_grad=True) for p in custom.params]
    w1, b1, w2, b2 = w
    out = torch.tanh(torch.from_numpy(x) @ w1 + b1) @ w2 + b2
    torch.nn.functional.mse_loss(out, torch.from_numpy(y)).backward()
    close(gc, [t.grad.numpy() for t in w], 1e-6)


def test_forward_only_layer_trains_in_sequential():
    r = np.random.default_rng(0)
    x = r.normal(size=(128, 3)).astype(np.float32)
    y = np.sin(x @ np.array([[1.0], [-1.0], [0.5]], np.float32))
    model = nn.Sequential([TanhDense(16), nn.Dense(1)])
    model.compile(rc.Adam(lr=2e-2), "mse")
    h = model.fit(x, y, epochs=30, batch_size=32, seed=0, verbose=0)
    assert h.history["loss"][-1] < 0.1 * h.history["loss"][0]
    assert model.layers[0].name == "tanh_dense"
    assert "tanh_dense (TanhDense)" in model.summary()
    # the same as Dense(tanh) trained the same way
    dense = nn.Sequential([nn.Dense(16, "tanh"), nn.Dense(1)])
    dense.compile(rc.Adam(lr=2e-2), "mse")
    dense.build((3,), seed=1)
    custom = nn.Sequential([TanhDense(16), nn.Dense(1)])
    custom.compile(rc.Adam(lr=2e-2), "mse")
    custom.build((3,), seed=0)
    dense.set_weights(custom.get_weights())
    for m in (custom, dense):
        m.fit(x, y, epochs=2, batch_size=32, seed=3, verbose=0)
    close(custom.get_weights(), dense.get_weights(), 1e-5)


def test_forward_only_layer_saves_and_loads(tmp_path):
    x, y = rows(32, 3, 0), rows(32, 2, 1)
    model = nn.Sequential([TanhDense(4), nn.Dense(2)])
    model.compile("adam", "mse")
    model.fit(x, y, epochs=2, seed=0, verbose=0)
    model.save(tmp_path / "m.rcm")
    back = nn.load_model(tmp_path / "m.rcm", custom_objects={"TanhDense": TanhDense})
    assert np.array_equal(back.predict(x), model.predict(x))
    back.fit(x, y, epochs=1, verbose=0)


def test_sequential_call_records_and_builds():
    model = nn.Sequential([nn.Dense(4, "relu"), TanhDense(2)])
    x = rc.tensor(rows(5, 3, 0))
    out = model(x)  # builds from the batch
    assert model.built and model.input_shape == (3,) and out.shape == (1, 5, 2)
    with rc.autograd.Tape() as tape:
        tape.watch(model.params)
        out = model(x, training=True)
    names = [e[0] for e in tape.entries]
    assert names[0] == "Dense" and "tanh" in names and "matmul" in names
    assert "fused backward" in tape.listing()


# ---------------------------------------------------------------- compile(loss=fn)


def my_mse(actual, predicted):
    d = predicted - actual
    return (d * d).mean(axis=0).mean(axis=1).mean(axis=2)


def test_function_loss_trains_like_the_named_loss():
    x, y = rows(96, 3, 0), rows(96, 2, 1)
    a = nn.Sequential([nn.Dense(8, "tanh"), nn.Dense(2)])
    b = nn.Sequential([nn.Dense(8, "tanh"), nn.Dense(2)])
    a.compile(rc.Adam(lr=1e-2), my_mse)
    b.compile(rc.Adam(lr=1e-2), "mse")
    ha = a.fit(x, y, epochs=4, batch_size=16, seed=0, verbose=0)
    hb = b.fit(x, y, epochs=4, batch_size=16, seed=0, verbose=0)
    close(a.get_weights(), b.get_weights(), 1e-6)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-5)
    assert abs(a.evaluate(x, y)["loss"] - b.evaluate(x, y)["loss"]) < 1e-6
    assert "my_mse" in repr(a.loss)


def test_function_loss_must_return_a_size_one_tensor():
    x, y = rows(8, 3, 0), rows(8, 2, 1)
    model = nn.Sequential([nn.Dense(2)])
    model.compile("sgd", lambda a, p: rc.mse_loss(a, p))  # a float: no tape
    with pytest.raises(TypeError, match="size-1 RamTensor"):
        model.fit(x, y, verbose=0)
    with pytest.raises(TypeError):
        model.compile("sgd", 3)


def test_function_loss_save_warns_and_loads_with_custom_objects(tmp_path):
    x, y = rows(32, 3, 0), rows(32, 2, 1)
    model = nn.Sequential([nn.Dense(2)])
    model.compile("adam", my_mse)
    model.fit(x, y, epochs=1, seed=0, verbose=0)
    path = tmp_path / "fn.rcm"
    with pytest.warns(UserWarning, match="my_mse"):
        model.save(path)
    with pytest.warns(UserWarning, match="uncompiled"):
        bare = nn.load_model(path)
    assert bare.loss is None and np.array_equal(bare.predict(x), model.predict(x))
    back = nn.load_model(path, custom_objects={"my_mse": my_mse})
    assert back.loss.fn is my_mse and back.optimizer.t == model.optimizer.t
    # resumes exactly like the original
    model.fit(x, y, epochs=1, verbose=0)
    back.fit(x, y, epochs=1, verbose=0)
    same_bits(back.get_weights(), model.get_weights())


# ---------------------------------------------------------------- subclassed models


class Res(nn.Model):
    def __init__(self, hidden=16):
        super().__init__()
        self.d1 = nn.Dense(hidden, "tanh")
        self.d2 = nn.Dense(3)

    def call(self, x, training=False):
        h = self.d1(x)
        return self.d2(h) + x


class TwoInputs(nn.Model):
    def __init__(self):
        super().__init__(name="two")
        self.a = nn.Dense(8, "tanh")
        self.b = nn.Dense(8, "tanh")
        self.out = nn.Dense(1)

    def call(self, inputs, training=False):
        x1, x2 = inputs
        return self.out(self.a(x1) * self.b(x2))


def _res_data(n=160):
    x = rows(n, 3, 0)
    return x, (x + 0.5 * np.tanh(x[:, ::-1] * 1.5)).astype(np.float32)


def _two_data(n=200):
    x1, x2 = rows(n, 3, 0), rows(n, 2, 1)
    return x1, x2, (np.tanh(x1[:, :1]) * x2[:, :1] + 0.1 * x1[:, 1:2]).astype(np.float32)


def test_residual_model_trains_and_matches_torch():
    x, y = _res_data()
    model = Res()
    model.compile(rc.Adam(lr=1e-2), "mse")
    h = model.fit(x, y, epochs=40, batch_size=32, seed=0, verbose=0)
    assert h.history["loss"][-1] < 0.02 * h.history["loss"][0]
    assert model.evaluate(x, y)["loss"] < 5e-3
    assert [layer.name for layer in model.layers] == ["dense", "dense_1"]
    assert model.predict(x).shape == (160, 3)

    torch = pytest.importorskip("torch")
    rec = Res()
    rec.compile(Recorder(), "mse")
    rec.build((3,), seed=1)
    grads = fit_grads(rec, x[:20], y[:20])
    w1, b1, w2, b2 = [torch.tensor(p.numpy()[0], requires_grad=True) for p in rec.params]
    xt = torch.from_numpy(x[:20])
    out = torch.tanh(xt @ w1 + b1) @ w2 + b2 + xt
    torch.nn.functional.mse_loss(out, torch.from_numpy(y[:20])).backward()
    close(grads, [w1.grad, b1.grad, w2.grad, b2.grad], 1e-5)


def test_two_input_model_trains_and_matches_torch():
    x1, x2, y = _two_data()
    model = TwoInputs()
    model.compile(rc.Adam(lr=2e-2), "mse")
    h = model.fit([x1, x2], y, epochs=60, batch_size=32, seed=0, verbose=0)
    assert h.history["loss"][-1] < 0.1 * h.history["loss"][0]
    assert model.evaluate([x1, x2], y)["loss"] < 0.03
    assert model.predict([x1, x2]).shape == (200, 1)
    assert model.input_shape == [(3,), (2,)] and model.name == "two"
    with pytest.raises(ValueError, match="2 input"):
        model.predict(x1)

    torch = pytest.importorskip("torch")
    rec = TwoInputs()
    rec.compile(Recorder(), "mse")
    rec.build([(3,), (2,)], seed=2)
    grads = fit_grads(rec, [x1[:16], x2[:16]], y[:16])
    ts = [torch.tensor(p.numpy()[0], requires_grad=True) for p in rec.params]
    wa, ba, wb, bb, wo, bo = ts
    a = torch.tanh(torch.from_numpy(x1[:16]) @ wa + ba)
    b = torch.tanh(torch.from_numpy(x2[:16]) @ wb + bb)
    out = (a * b) @ wo + bo
    torch.nn.functional.mse_loss(out, torch.from_numpy(y[:16])).backward()
    close(grads, [t.grad for t in ts], 1e-5)


def test_subclassed_model_summary_weights_and_save(tmp_path):
    x, y = _res_data(64)
    model = Res(hidden=5)
    assert "not built" in model.summary()
    model.compile("adam", "mse")
    model.fit(x, y, epochs=2, seed=0, verbose=0)
    s = model.summary()
    assert 'Model: "res"' in s and "dense_1 (Dense)" in s and "Total params: 38" in s
    assert repr(model).startswith("Res(name='res', layers=[Dense(")
    with pytest.raises(NotImplementedError, match="save_weights"):
        model.save(tmp_path / "res.rcm")
    path = tmp_path / "res.weights"
    model.save_weights(path)
    fresh = Res(hidden=5)
    fresh.load_weights(path)  # kept until the first build
    assert np.array_equal(fresh.predict(x), model.predict(x))
    other = Res(hidden=6)
    other.build((3,))
    with pytest.raises(rc.ShapeError, match="load_weights"):
        other.load_weights(path)
    with pytest.raises(rc.FormatError, match="save_weights"):
        rc.save_tensors_binary(tmp_path / "plain.bin", [rc.zeros((1, 1, 1))])
        fresh.load_weights(tmp_path / "plain.bin")


def test_subclassed_model_call_is_recorded_and_seeded():
    a, b = Res(), Res()
    a.build((3,), seed=7)
    b.build((3,), seed=7)
    same_bits(a.get_weights(), b.get_weights())
    x = rc.tensor(rows(4, 3, 0))
    with rc.autograd.Tape() as tape:
        tape.watch(a.params)
        out = a(x)
    assert [e[0] for e in tape.entries] == ["Dense", "Dense", "add"]
    assert out.shape == (1, 4, 3)


def test_subclassed_model_errors():
    class Early(nn.Model):
        def __init__(self):
            self.d = nn.Dense(2)  # before super().__init__()

    with pytest.raises(RuntimeError, match="super"):
        Early()

    class Empty(nn.Model):
        pass

    with pytest.raises(ValueError, match="no layers"):
        Empty().build((3,))

    class Soft(nn.Model):
        def __init__(self):
            super().__init__()
            self.d = nn.Dense(3, "softmax")

        def call(self, x, training=False):
            return self.d(x)

    m = Soft()
    m.compile("adam", "cross_entropy")
    with pytest.raises(ValueError, match="logits"):
        m.fit(rows(6, 2, 0), np.arange(6) % 3, verbose=0)
    with pytest.raises(ValueError, match="already in the model"):
        d = nn.Dense(2)
        nn.Sequential([d, d])


# ---------------------------------------------------------------- weight sharing


def test_shared_builtin_layer_gives_the_true_gradient():
    """A built-in layer keeps each call's state on the tape (cache_attrs): calling it
    twice under one tape gives the gradient of both uses."""

    class Twice(nn.Model):
        def __init__(self):
            super().__init__()
            self.d = nn.Dense(3, "tanh")

        def call(self, x, training=False):
            return self.d(self.d(x))

    model = Twice()
    model.build((3,), seed=0)
    x = rc.tensor(rows(5, 3, 1))
    W, b = model.params
    with rc.autograd.Tape() as tape:
        tape.watch(W, b)
        out = model(x)
        loss = (out * out).sum(axis=2).sum(axis=1)
    fused = tape.gradient(loss, [W, b])
    with rc.autograd.Tape() as tape:
        tape.watch(W, b)
        h = ((x @ W + b).tanh() @ W + b).tanh()
        loss = (h * h).sum(axis=2).sum(axis=1)
    close(fused, tape.gradient(loss, [W, b]), 1e-6)


def test_shared_layer_without_cache_attrs_raises():
    """A user layer with its own backward and no cache_attrs cannot give the first call
    its gradient after a second call: RuntimeError, never a wrong gradient."""

    class Scale(nn.Layer):
        def build(self, input_shape, seeds=None):
            super().build(input_shape, seeds)
            self.w = self.add_weight((1, 1, input_shape[-1]), "ones", seeds)
            return self.output_shape

        def forward(self, x, training=False):
            self._x = x
            return x * self.w

        def backward(self, grad):
            self.grads = [(grad * self._x).sum(axis=1)]
            return grad * self.w

    layer = Scale()
    x = rc.tensor(rows(4, 3, 0))
    with rc.autograd.Tape() as tape:
        tape.watch(x)
        out = layer(layer(x))
    with pytest.raises(RuntimeError, match="ran again"):
        tape.gradient(out, [x])
    # one call is fine, and is the layer's own backward
    with rc.autograd.Tape() as tape:
        tape.watch(x)
        out = layer(x)
    (dx,) = tape.gradient(out, [x])
    assert np.array_equal(dx.numpy(), np.broadcast_to(layer.w.numpy(), (1, 4, 3)))


# ---------------------------------------------------------------- determinism


def test_tape_training_is_bitwise_identical_for_1_and_2_threads():
    x1, x2, y = _two_data(96)
    before = _runtime.get_num_threads()
    weights = []
    try:
        for n in (1, 2):
            _runtime.set_num_threads(n)
            model = TwoInputs()
            model.compile(rc.Adam(lr=1e-2), "mse")
            model.fit([x1, x2], y, epochs=3, batch_size=16, seed=4, verbose=0)
            custom = nn.Sequential([TanhDense(8), nn.Dropout(0.3), nn.Dense(1)])
            custom.compile(rc.Adam(lr=1e-2), my_mse)
            custom.fit(x1, y, epochs=3, batch_size=16, seed=4, verbose=0)
            weights.append(model.get_weights() + custom.get_weights())
    finally:
        _runtime.set_num_threads(before)
    same_bits(weights[0], weights[1])


def test_no_warning_from_a_plain_model():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = nn.Sequential([nn.Dense(2)])
        model.compile("adam", "mse")
        model.fit(rows(8, 3, 0), rows(8, 2, 1), verbose=0)


# ---------------------------------------------------------------- the tape's fast paths


def test_tape_gradient_of_some_sources_and_nested_tapes():
    """The plan walk (sources that are not every watched tensor), two active tapes (the
    recorder path) and the in-place check, after the tape's bookkeeping was slimmed."""
    a, b = rc.tensor(rows(3, 4, 0)), rc.tensor(rows(4, 2, 1))
    with rc.autograd.Tape() as outer:
        outer.watch(a, b)
        with rc.autograd.Tape() as inner:
            inner.watch(b)
            y = (a @ b).tanh() * 2.0
            loss = (y * y).sum(axis=2).sum(axis=1)
    (db_inner,) = inner.gradient(loss, [b])
    da, db = outer.gradient(loss, [a, b])
    (db_only,) = outer.gradient(loss, [b])  # a is watched but not a source: the plan walk
    same_bits([db_inner, db_only], [db, db])
    assert len(inner) == len(outer) == 6
    torch = pytest.importorskip("torch")
    ta = torch.tensor(a.numpy()[0], requires_grad=True)
    tb = torch.tensor(b.numpy()[0], requires_grad=True)
    ((torch.tanh(ta @ tb) * 2.0) ** 2).sum().backward()
    close([da, db], [ta.grad, tb.grad], 1e-5)
    assert "_, dw0 += matmul'(dt0)" in inner.listing(loss, [b])
    assert "_, dw1 += matmul'(dt0)" in outer.listing(loss, [b])  # a pruned, shown as _
    b += 1.0  # an input modified in place after it was recorded
    with pytest.raises(RuntimeError, match="modified in place"):
        outer.gradient(loss, [a])
