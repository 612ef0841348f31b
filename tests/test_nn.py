"""rc.nn: the Keras-style API, training results, reproducibility, save/load, errors."""

import io
import math
import sys

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import nn


def _sine(n, T=20, seed=0):
    r = np.random.default_rng(seed)
    ph = r.uniform(0, 2 * np.pi, n)
    fr = r.uniform(0.5, 1.5, n)
    t = np.arange(T + 1) * 0.1
    s = np.sin(ph[:, None] + fr[:, None] * t[None, :]).astype(np.float32)
    return s[:, :T, None], s[:, T:]


def _blobs(n=200, seed=0):
    r = np.random.default_rng(seed)
    y = r.integers(0, 3, n)
    centers = np.array([[2, 0], [-2, 1], [0, -2]], dtype=np.float32)
    x = centers[y] + r.normal(0, 0.5, (n, 2)).astype(np.float32)
    return x.astype(np.float32), y


def _mlp(out=3, act=None):
    return nn.Sequential([nn.Dense(16, activation="relu"), nn.Dense(out, activation=act)])


# ------------------------------------------------------------------ results


def test_digits_mlp_reaches_95_percent():
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target
    idx = np.random.default_rng(0).permutation(len(x))
    tr, te = idx[:1437], idx[1437:]
    model = nn.Sequential([nn.Dense(128, "relu"), nn.Dense(64, "relu"), nn.Dense(10)])
    model.compile(rc.Adam(lr=1e-3), "cross_entropy", metrics=["accuracy"])
    hist = model.fit(x[tr], y[tr], epochs=20, batch_size=32, seed=0, verbose=0)
    assert len(hist.history["loss"]) == 20
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    res = model.evaluate(x[te], y[te])
    assert res["accuracy"] >= 0.95, res


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM])
def test_recurrent_learns_sine(cls):
    x, y = _sine(512, T=20)
    xv, yv = _sine(128, T=20, seed=1)
    model = nn.Sequential([cls(32), nn.Dense(1)])
    model.compile(rc.Adam(lr=5e-3), "mse")
    model.fit(x, y, epochs=8, batch_size=16, seed=0, verbose=0)
    assert model.evaluate(xv, yv)["loss"] < 0.01


def test_return_sequences_and_stacking():
    x, y = _sine(64, T=10)
    yseq = np.concatenate([x[:, 1:, :], y[:, None, :]], axis=1)  # next value at every step
    model = nn.Sequential(
        [nn.LSTM(8, return_sequences=True), nn.RNN(8, return_sequences=True), nn.Dense(1)]
    )
    model.compile("adam", "mse", metrics=["mae"])
    h = model.fit(x, yseq, epochs=2, batch_size=16, seed=0, verbose=0)
    assert set(h.history) == {"loss", "mae"}
    p = model.predict(x)
    assert p.shape == (64, 10, 1)
    flat = nn.Sequential([nn.RNN(4, return_sequences=True), nn.Flatten(), nn.Dense(2)])
    flat.compile("adam", "cross_entropy", metrics=["accuracy"])
    flat.fit(x, (y[:, 0] > 0).astype(int), epochs=1, verbose=0, seed=1)
    assert flat.predict(x).shape == (64, 2)


def test_binary_cross_entropy_and_dropout():
    x, y3 = _blobs(300)
    y = (y3 == 0).astype(np.float32)
    model = nn.Sequential([nn.Dense(16, "tanh"), nn.Dropout(0.2), nn.Dense(1, "sigmoid")])
    model.compile("adam", "binary_cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=15, batch_size=16, seed=0, verbose=0)
    assert model.evaluate(x, y)["accuracy"] > 0.95
    p = model.predict(x)
    assert isinstance(p, np.ndarray) and p.shape == (300, 1) and p.dtype == np.float32
    assert p.min() >= 0 and p.max() <= 1


def test_sgd_string_and_one_hot_targets():
    x, y = _blobs()
    onehot = np.eye(3, dtype=np.float32)[y]
    model = _mlp(3, "softmax")
    model.compile(rc.SGD(lr=0.1, momentum=0.9), "categorical_crossentropy", metrics=["acc"])
    model.fit(x, onehot, epochs=10, seed=0, verbose=0)
    res = model.evaluate(x, onehot)
    assert res["accuracy"] > 0.95
    probs = model.predict(x)
    assert (np.argmax(probs, axis=1) == y).mean() > 0.95
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


# ------------------------------------------------------------------ API surface


def test_history_progress_and_quiet(capsys):
    x, y = _blobs(64)
    model = _mlp()
    model.compile("adam", "cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert capsys.readouterr().out == ""
    h = model.fit(x, y, epochs=2, batch_size=16, verbose=1, validation_data=(x, y))
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "4/4 [==============================]" in out
    assert (
        "loss:" in out
        and "accuracy:" in out
        and "val_loss:" in out
        and "ms/step" in out
        or "us/step" in out
    )
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert h.epoch == [0, 1] and all(len(v) == 2 for v in h.history.values())


def test_summary_weights_and_shapes():
    model = nn.Sequential()
    model.add(nn.Dense(128, activation="ReLU", input_shape=(64,)))
    model.add(nn.Dense(64, "relu"))
    model.add(nn.Dense(10))
    s = model.summary()
    assert "dense (Dense)" in s and "dense_2 (Dense)" in s
    assert "(None, 128)" in s and "8320" in s and "Total params: 17,226" in s
    assert len(model.weights) == 6
    assert model.weights[0].shape == (1, 64, 128) and model.weights[1].shape == (1, 1, 128)
    r = nn.Sequential([nn.LSTM(8, input_shape=(5, 3)), nn.Dense(2)])
    assert "(None, 8)" in r.summary()
    assert r.weights[0].shape == (1, 3, 32) and r.weights[1].shape == (1, 8, 32)


def test_initialisation():
    rc.seed(5)
    lstm = nn.LSTM(6)
    lstm.build((4, 3))
    b = lstm.b.numpy()[0, 0]
    assert np.all(b[6:12] == 1.0) and np.all(b[:6] == 0) and np.all(b[12:] == 0)
    u = lstm.U.numpy()[0]  # orthonormal rows
    np.testing.assert_allclose(u @ u.T, np.eye(6), atol=1e-5)
    rnn = nn.RNN(5)
    rnn.build((4, 3))
    wh = rnn.Wh.numpy()[0]
    np.testing.assert_allclose(wh @ wh.T, np.eye(5), atol=1e-5)
    d = nn.Dense(50)
    d.build((30,))
    lim = math.sqrt(6 / 80)
    w = d.W.numpy()
    assert w.min() >= -lim and w.max() <= lim and w.std() > lim / 3
    assert np.all(d.b.numpy() == 0)


def test_seeded_and_thread_count_reproducible():
    x, y = _blobs(200)
    xs, ys = _sine(64, T=12)
    xw = np.random.default_rng(1).standard_normal((512, 96)).astype(np.float32)
    yw = np.arange(512) % 3

    def run(threads):
        rc.set_num_threads(threads)
        try:
            m = nn.Sequential([nn.Dense(32, "relu"), nn.Dropout(0.1), nn.Dense(3)])
            m.compile("adam", "cross_entropy")
            m.fit(x, y, epochs=3, batch_size=16, seed=42, verbose=0)
            r = nn.Sequential([nn.LSTM(8, return_sequences=True), nn.RNN(8), nn.Dense(1)])
            r.compile("adam", "mse")
            r.fit(xs, ys, epochs=2, batch_size=8, seed=42, verbose=0)
            # wide enough that the packed GEMM splits its work over the threads
            w = nn.Sequential([nn.Dense(384, "gelu"), nn.Dense(384, "tanh"), nn.Dense(3)])
            w.compile("adam", "cross_entropy")
            w.fit(xw, yw, epochs=1, batch_size=256, seed=42, verbose=0)
            return [t.numpy().copy() for t in m.weights + r.weights + w.weights]
        finally:
            rc.set_num_threads(2)

    a, b, c = run(1), run(2), run(1)
    for u, v, w in zip(a, b, c, strict=True):
        assert u.tobytes() == v.tobytes() == w.tobytes()
    rc.seed(3)
    m1 = _mlp()
    m1.build((2,))
    rc.seed(3)
    m2 = _mlp()
    m2.build((2,))
    assert all(p.equals(q) for p, q in zip(m1.weights, m2.weights, strict=True))


def test_save_and_load_model(tmp_path):
    x, y = _sine(32, T=8)
    model = nn.Sequential(
        [
            nn.LSTM(6, return_sequences=True),
            nn.Dropout(0.1),
            nn.RNN(5),
            nn.Dense(4, "tanh"),
            nn.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    model.fit(x, y, epochs=1, verbose=0, seed=0)
    path = tmp_path / "m.rcm"
    model.save(path)
    back = nn.load_model(path)
    assert np.array_equal(back.predict(x), model.predict(x))
    assert back.summary() == model.summary()
    assert back.evaluate(x, y) == model.evaluate(x, y)
    back.fit(x, y, epochs=1, verbose=0)  # compiled again from the file
    # the file is a plain tensor container too: the weights, then the optimizer state
    plain = rc.load_state_binary(path)
    assert len(plain) > len(model.weights)
    assert all(a.equals(b) for a, b in zip(plain, model.weights, strict=False))


def test_load_model_rejects_plain_tensor_file(tmp_path):
    p = tmp_path / "t.bin"
    rc.save_tensors_binary(p, [rc.ones((2, 2))])
    with pytest.raises(rc.FormatError, match="architecture"):
        nn.load_model(p)


def test_layers_usable_by_hand():
    layer = nn.Dense(3, activation="tanh")
    x = rc.tensor(np.ones((4, 5), np.float32))
    y = layer(x)
    assert y.shape == (1, 4, 3)
    dx = layer.backward(rc.ones((1, 4, 3)))
    assert dx.shape == (1, 4, 5) and layer.grads[0].shape == layer.params[0].shape
    seq = rc.tensor(np.ones((6, 4, 2), np.float32))  # (time, batch, features)
    r = nn.RNN(3)
    assert r.forward(seq).shape == (1, 4, 3)
    assert r.backward(rc.ones((1, 4, 3))).shape == (6, 4, 2)
    f = nn.Flatten()
    out = f.forward(seq)
    assert out.shape == (1, 4, 12)
    assert f.backward(out).equals(seq)
    d = nn.Dropout(0.5)
    assert d.forward(seq, training=False) is seq
    z = d.forward(rc.ones((1, 100, 100)), training=True).numpy()
    assert set(np.unique(z)) <= {0.0, 2.0} and 0.4 < (z == 0).mean() < 0.6


def test_rnn_activation_option():
    r = nn.RNN(4, activation="ReLU")
    out = r.forward(rc.tensor(np.ones((3, 2, 2), np.float32)))
    assert out.numpy().min() >= 0
    with pytest.raises(ValueError, match="tanh"):
        nn.RNN(4, activation="softmax")


# ------------------------------------------------------------------ bad input


def test_unknown_names():
    with pytest.raises(ValueError, match="relu, leaky_relu, sigmoid, tanh"):
        nn.Dense(3, activation="relux")
    with pytest.raises(TypeError):
        nn.Dense(3, activation=3)
    with pytest.raises(ValueError, match="units"):
        nn.Dense(0)
    m = _mlp()
    with pytest.raises(ValueError, match="unknown loss .*cross_entropy"):
        m.compile("adam", "hinge")
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'.*adam, sgd"):
        m.compile("adamw", "mse")
    with pytest.raises(ValueError, match="unknown metric"):
        m.compile("adam", "mse", metrics=["f2"])
    with pytest.raises(ValueError, match="rate"):
        nn.Dropout(1.0)


def test_bad_data():
    x, y = _blobs(50)
    m = _mlp()
    with pytest.raises(RuntimeError, match="compile"):
        m.fit(x, y)
    m.compile("adam", "cross_entropy", metrics=["accuracy"])
    with pytest.raises(rc.ShapeError, match="50 samples but y has 49"):
        m.fit(x, y[:49], verbose=0)
    with pytest.raises(ValueError, match="label 3 is out of range.*0..2"):
        m.fit(x, np.where(y == 2, 3, y), verbose=0)
    with pytest.raises(ValueError, match="label -1"):
        m.fit(x, y - 1, verbose=0)
    with pytest.raises(ValueError, match="integer"):
        m.fit(x, y + 0.5, verbose=0)
    m.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(rc.ShapeError, match=r"expects samples of shape \(2,\)"):
        m.predict(np.ones((4, 3), np.float32))
    with pytest.raises(rc.ShapeError, match=r"expects samples of shape \(2,\)"):
        m.evaluate(np.ones((4, 5), np.float32), np.zeros(4))
    with pytest.raises(TypeError):
        m.fit(np.array([["a", "b"]]), [0], verbose=0)
    r = nn.Sequential([nn.RNN(4), nn.Dense(1)])
    r.compile("adam", "mse")
    with pytest.raises(rc.ShapeError, match="timesteps"):
        r.fit(np.ones((8, 3), np.float32), np.ones(8), verbose=0)
    reg = nn.Sequential([nn.Dense(2)])
    reg.compile("adam", "mse")
    with pytest.raises(rc.ShapeError, match="output shape"):
        reg.fit(np.ones((8, 3), np.float32), np.ones((8, 3)), verbose=0)
    with pytest.raises(ValueError, match="epochs"):
        reg.fit(np.ones((8, 3), np.float32), np.ones((8, 2)), epochs=-1)


def test_nan_loss_names_epoch_and_batch():
    x, y = _blobs(64)
    x[40, 0] = np.nan  # lands in some batch of the first epoch (no shuffle)
    m = _mlp()
    m.compile("adam", "cross_entropy")
    with pytest.raises(nn.NonFiniteLossError, match=r"epoch 1/3, batch 3/4"):
        m.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    with pytest.raises(ArithmeticError):
        m.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)


def test_optimizer_instance_shared_between_models_is_refused():
    opt = rc.Adam(lr=1e-2)
    x, y = _blobs(20)
    a = _mlp()
    a.compile(opt, "cross_entropy")
    a.fit(x, y, verbose=0)
    b = _mlp()
    with pytest.raises(ValueError, match="already holds"):
        b.compile(opt, "cross_entropy")
        b.fit(x, y, verbose=0)


def test_progress_line_format():
    from rcmlrs.nn.progress import Progress

    buf = io.StringIO()
    p = Progress(45, stream=buf)
    p.finish({"loss": 0.5, "accuracy": 0.875})
    line = buf.getvalue()
    assert line.startswith("45/45 [" + "=" * 30 + "] - ")
    assert line.rstrip().endswith("loss: 0.5000 - accuracy: 0.8750")
    assert sys.stdout is not buf


def test_edge_cases():
    x = np.random.default_rng(0).random((10, 4)).astype(np.float32)
    y = np.arange(10) % 3
    m = nn.Sequential([nn.Dense(8, "gelu"), nn.Dropout(0.3), nn.Dense(3, "softmax")])
    m.compile("adam", "cross_entropy", metrics=["accuracy"])
    m.fit(x, y, epochs=1, batch_size=64, verbose=0)  # batch larger than the data
    assert m.predict(np.zeros((0, 4), np.float32)).shape == (0, 3)
    assert m.predict(x[:1]).shape == (1, 3)
    # tensors in the library's own layouts are accepted as data
    a = m.evaluate(rc.tensor(x), rc.tensor(y.astype(np.float32)))
    assert a == m.evaluate(x, y)
    assert np.array_equal(m.predict(rc.tensor(x)), m.predict(x))
    with pytest.raises(ValueError, match="softmax or no activation"):
        nn.Sequential([nn.Dense(2, "relu")]).compile("adam", "cross_entropy")
    with pytest.raises(TypeError, match="expected a layer"):
        nn.Sequential().add("dense")
    r = nn.Sequential([nn.LSTM(4), nn.Dense(1)])
    r.compile("adam", "mse")
    r.fit(np.ones((8, 5, 2), np.float32), np.ones((8, 1), np.float32), verbose=0)
    assert r.predict(np.ones((3, 9, 2), np.float32)).shape == (3, 1)  # any length
    with pytest.raises(rc.ShapeError, match=r"\(5, 2\)"):
        r.predict(np.ones((3, 9, 3), np.float32))


def test_global_seed_reproduces_fit_without_seed():
    x, y = _blobs(64)

    def run():
        rc.seed(11)
        m = nn.Sequential([nn.Dense(8, "relu"), nn.Dropout(0.5), nn.Dense(3)])
        m.compile("adam", "cross_entropy")
        m.fit(x, y, epochs=2, batch_size=16, verbose=0)
        return [w.numpy().copy() for w in m.weights]

    assert all(a.tobytes() == b.tobytes() for a, b in zip(run(), run(), strict=True))


def test_progress_redraws_in_place_on_a_terminal(monkeypatch):
    from rcmlrs.nn.progress import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    buf = Tty()
    p = Progress(10, stream=buf)
    p.last_draw = -1.0
    assert p.due()
    p.update(3, {"loss": 1.0})
    p.finish({"loss": 0.25})
    text = buf.getvalue()
    assert text.startswith("\r 3/10 [========>")
    assert "ETA" in text and text.endswith("loss: 0.2500\n") and "\r10/10 [" in text
