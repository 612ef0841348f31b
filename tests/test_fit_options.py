"""fit's options: validation_split, class_weight, sample_weight (Keras semantics, checked
by hand), sources of batches, the progress line, and clear errors for bad arguments."""

from __future__ import annotations

import io
import re
import sys

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import nn


def _blobs(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = (rng.normal(size=(n, 4)) + y[:, None]).astype(np.float32)
    return x, y


def _mlp(dropout=False):
    layers = [nn.Dense(8, "relu")] + ([nn.Dropout(0.3)] if dropout else []) + [nn.Dense(3)]
    m = nn.Sequential(layers)
    m.compile(rc.Adam(lr=1e-2), "cross_entropy", metrics=["accuracy"])
    m.build((4,), seed=0)
    return m


def _same(a, b):
    return all(
        p.numpy().tobytes() == q.numpy().tobytes()
        for p, q in zip(a.weights, b.weights, strict=True)
    )


# ---------------------------------------------------------------------- validation_split


def test_validation_split_holds_out_the_last_samples_before_shuffling():
    x, y = _blobs(100)
    a = _mlp(dropout=True)
    h = a.fit(x, y, epochs=3, batch_size=16, validation_split=0.3, seed=5, verbose=0)
    # trained on exactly the first 70 samples (shuffled among themselves) ...
    b = _mlp(dropout=True)
    hb = b.fit(x[:70], y[:70], epochs=3, batch_size=16, seed=5, verbose=0)
    assert _same(a, b) and h.history["loss"] == hb.history["loss"]
    # ... and validated on the last 30 (floor(100 * 0.3)), as evaluate sees them
    ev = a.evaluate(x[70:], y[70:])
    assert h.history["val_loss"][-1] == ev["loss"]
    assert h.history["val_accuracy"][-1] == ev["accuracy"]
    # validation_data takes precedence
    c = _mlp()
    hc = c.fit(x, y, epochs=1, validation_split=0.5, validation_data=(x[:10], y[:10]), verbose=0)
    assert hc.history["val_loss"][0] == c.evaluate(x[:10], y[:10])["loss"]


# ---------------------------------------------------------------------- weights


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_weighted_batch_loss_and_gradient_match_a_hand_computation(loss):
    # one batch, SGD lr=1: the update is minus the gradient of sum_i w_i l_i / n
    rng = np.random.default_rng(1)
    n = 12
    x = rng.normal(size=(n, 5)).astype(np.float32)
    labels = rng.integers(0, 3, n)
    y = labels if loss == "cross_entropy" else rng.normal(size=(n, 3)).astype(np.float32)
    w = rng.uniform(0.0, 3.0, n).astype(np.float32)
    m = nn.Sequential([nn.Dense(3)])
    m.compile(rc.SGD(lr=1.0), loss)
    m.build((5,), seed=2)
    W0, b0 = (t.numpy()[0].astype(np.float64) for t in m.get_weights())
    h = m.fit(x, y, epochs=1, batch_size=n, sample_weight=w, shuffle=False, verbose=0)
    z = x.astype(np.float64) @ W0 + b0
    if loss == "cross_entropy":
        p = _softmax(z)
        terms = -np.log(p[np.arange(n), labels])
        onehot = np.eye(3)[labels]
        dz = w[:, None] * (p - onehot) / n
    else:
        terms = ((z - y) ** 2).mean(axis=1)
        dz = w[:, None] * 2 * (z - y) / (3 * n)
    expect = float((w * terms).sum() / n)  # Keras: divided by the batch size, not sum(w)
    assert h.history["loss"][0] == pytest.approx(expect, rel=1e-5)
    W1, b1 = (t.numpy()[0] for t in m.get_weights())
    np.testing.assert_allclose(W1, W0 - x.T.astype(np.float64) @ dz, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b1[0], b0[0] - dz.sum(axis=0), rtol=1e-5, atol=1e-6)


def test_sample_weight_of_ones_is_no_weight_bit_for_bit():
    x, y = _blobs()
    a, b = _mlp(dropout=True), _mlp(dropout=True)
    ha = a.fit(x, y, epochs=2, batch_size=16, seed=1, verbose=0)
    hb = b.fit(x, y, epochs=2, batch_size=16, seed=1, verbose=0, sample_weight=np.ones(96))
    assert _same(a, b) and ha.history == hb.history
    c = _mlp(dropout=True)
    c.fit(x, y, epochs=2, batch_size=16, seed=1, verbose=0, class_weight={0: 1, 1: 1.0})
    assert _same(a, c)


@pytest.mark.parametrize("target", ["labels", "onehot"])
def test_class_weight_equals_the_equivalent_sample_weight(target):
    x, labels = _blobs()
    y = labels if target == "labels" else np.eye(3, dtype=np.float32)[labels]
    cw = {0: 0.5, 1: 2.0}  # class 2 unlisted: weight 1
    sw = np.array([cw.get(int(k), 1.0) for k in labels], dtype=np.float32)
    a, b = _mlp(dropout=True), _mlp(dropout=True)
    ha = a.fit(x, y, epochs=2, batch_size=16, seed=4, verbose=0, class_weight=cw)
    hb = b.fit(x, y, epochs=2, batch_size=16, seed=4, verbose=0, sample_weight=sw)
    assert _same(a, b) and ha.history == hb.history
    # given both, they multiply
    c, d = _mlp(), _mlp()
    extra = np.linspace(0.5, 1.5, 96).astype(np.float32)
    c.fit(x, y, epochs=1, seed=4, verbose=0, class_weight=cw, sample_weight=extra)
    d.fit(x, y, epochs=1, seed=4, verbose=0, sample_weight=extra * sw)
    assert _same(c, d)


def test_class_weight_for_a_single_sigmoid_unit_and_zero_weights():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)

    def model():
        m = nn.Sequential([nn.Dense(1, "sigmoid")])
        m.compile(rc.SGD(lr=0.1), "binary_cross_entropy")
        m.build((3,), seed=0)
        return m

    a, b = model(), model()
    a.fit(x, y, epochs=2, batch_size=8, seed=0, verbose=0, class_weight={1: 3.0})
    b.fit(x, y, epochs=2, batch_size=8, seed=0, verbose=0, sample_weight=np.where(y == 1, 3, 1))
    assert _same(a, b)
    # weight 0 for every sample: no gradient, the weights do not move
    c = model()
    before = [t.numpy().copy() for t in c.weights]
    c.fit(x, y, epochs=1, verbose=0, sample_weight=np.zeros(40))
    assert all(np.array_equal(t.numpy(), u) for t, u in zip(c.weights, before, strict=True))


def test_weights_on_the_tape_path_match_the_fused_path():
    class Net(nn.Model):
        def __init__(self):
            super().__init__()
            self.d1 = nn.Dense(8, "relu")
            self.d2 = nn.Dense(3)

        def call(self, x, training=False):
            return self.d2(self.d1(x))

    x, y = _blobs()
    w = np.linspace(0.1, 2.0, 96).astype(np.float32)
    net = Net()
    net.compile(rc.Adam(lr=1e-2), "cross_entropy")
    net.build((4,), seed=0)
    seq = _mlp()
    seq.set_weights(net.get_weights())
    hn = net.fit(x, y, epochs=2, batch_size=16, seed=1, verbose=0, sample_weight=w)
    hs = seq.fit(x, y, epochs=2, batch_size=16, seed=1, verbose=0, sample_weight=w)
    np.testing.assert_allclose(hn.history["loss"], hs.history["loss"], rtol=1e-6)
    for p, q in zip(net.weights, seq.weights, strict=True):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- sources of batches


def _batches(x, y, bs, w=None):
    out = []
    for s in range(0, len(x), bs):
        b = (x[s : s + bs], y[s : s + bs])
        out.append(b if w is None else (*b, w[s : s + bs]))
    return out


def test_a_source_of_batches_trains_as_the_same_arrays():
    x, y = _blobs()
    ref = _mlp(dropout=True)
    href = ref.fit(x, y, epochs=3, batch_size=16, shuffle=False, seed=2, verbose=0)
    batches = _batches(x, y, 16)

    class Seq:  # a keras.utils.Sequence-style object
        ends = 0

        def __len__(self):
            return len(batches)

        def __getitem__(self, i):
            return batches[i]

        def on_epoch_end(self):
            Seq.ends += 1

    def gen():
        while True:
            yield from batches

    sources = {
        "list": dict(x=batches),
        "function": dict(x=lambda: iter(batches)),
        "sequence": dict(x=Seq()),
        "generator": dict(x=gen(), steps_per_epoch=len(batches)),
    }
    for name, kw in sources.items():
        m = _mlp(dropout=True)
        h = m.fit(epochs=3, seed=2, verbose=0, **kw)
        assert _same(m, ref), name
        assert h.history == href.history, name
        assert h.params["steps"] == (None if name == "function" else len(batches)), name
    assert Seq.ends == 3


def test_a_source_with_sample_weights_and_validation():
    x, y = _blobs()
    w = np.linspace(0.2, 2.0, 96).astype(np.float32)
    ref = _mlp()
    href = ref.fit(
        x,
        y,
        epochs=2,
        batch_size=32,
        shuffle=False,
        sample_weight=w,
        verbose=0,
        validation_data=(x[:20], y[:20]),
    )
    m = _mlp()
    h = m.fit(_batches(x, y, 32, w), epochs=2, verbose=0, validation_data=(x[:20], y[:20]))
    assert _same(m, ref) and h.history == href.history
    # a one-epoch generator (read once) needs no steps_per_epoch
    m = _mlp()
    m.fit((b for b in _batches(x, y, 32, w)), epochs=1, verbose=0)
    r1 = _mlp()
    r1.fit(x, y, epochs=1, shuffle=False, sample_weight=w, verbose=0)
    assert _same(m, r1)


def test_source_errors():
    x, y = _blobs()
    batches = _batches(x, y, 32)
    m = _mlp()
    with pytest.raises(ValueError, match="read only once.*steps_per_epoch"):
        m.fit((b for b in batches), epochs=2, verbose=0)
    with pytest.raises(
        ValueError, match="ran out after 1 of the steps_per_epoch=2 batches of epoch 2"
    ):
        m.fit((b for b in batches), epochs=2, steps_per_epoch=2, verbose=0)
    with pytest.raises(TypeError, match="y must be None"):
        m.fit(iter(batches), y, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        m.fit(batches, validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="in the batches"):
        m.fit(batches, sample_weight=np.ones(96), verbose=0)
    with pytest.raises(TypeError, match="tuple"):
        m.fit(lambda: iter([x]), verbose=0)
    with pytest.raises(ValueError, match="empty"):
        m.fit(lambda: iter([]), verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch is for a source"):
        m.fit(x, y, steps_per_epoch=2, verbose=0)
    with pytest.raises(TypeError, match="y .* is missing"):
        m.fit(x, verbose=0)


# ---------------------------------------------------------------------- progress


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_on_a_terminal_redraws_in_place(monkeypatch):
    from rcmlrs.nn.progress import Progress

    buf = _Tty()
    p = Progress(10, stream=buf, prefix="Epoch 1/2")
    p.begin()
    p.samples = 96
    p.update(3, {"loss": 1.0})
    p.samples = 320
    p.finish({"loss": 0.25})
    text = buf.getvalue()
    assert text.startswith("Epoch 1/2\n\r 3/10 [========>.....................] - ETA: ")
    assert re.search(r"ETA: \d+s - [\d.]+[kM]? samples/s - loss: 1\.0000\r10/10 \[=+\] - ", text)
    assert re.search(r"\d+s \d+[mu]s/step - [\d.]+[kM]? samples/s - loss: 0\.2500\n$", text)
    # fit on a terminal: the prefix on its own line, the epoch's line ends with "\r...\n"
    x, y = _blobs()
    monkeypatch.setattr(sys, "stdout", _Tty())
    m = _mlp()
    m.fit(x, y, epochs=2, batch_size=32, verbose=1)
    out = sys.stdout.getvalue()
    monkeypatch.undo()
    assert out.count("\n") == 4 and out.startswith("Epoch 1/2\n")
    assert re.search(r"\r3/3 \[={30}\] - \d+s \d+[mu]s/step - [\d.]+[kM]? samples/s - loss: ", out)


def test_progress_elsewhere_prints_one_line_per_epoch(capsys):
    x, y = _blobs()
    m = _mlp()
    m.fit(x, y, epochs=3, batch_size=32, verbose=1, validation_split=0.25)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines):
        assert "\r" not in line
        assert re.fullmatch(
            rf"Epoch {i + 1}/3 - 3/3 \[={{30}}\] - \d+s \d+[mu]s/step - [\d.]+[kM]? "
            r"samples/s - loss: [\d.]+ - accuracy: [\d.]+ - val_loss: [\d.]+ - "
            r"val_accuracy: [\d.]+",
            line,
        ), line
    # verbose=2: one line per epoch even on a terminal
    buf = _Tty()
    sys_stdout = sys.stdout
    sys.stdout = buf
    try:
        m.fit(x, y, epochs=2, verbose=2)
    finally:
        sys.stdout = sys_stdout
    assert buf.getvalue().count("\n") == 2 and "\r" not in buf.getvalue()


def test_progress_of_a_source_without_length_counts_steps():
    from rcmlrs.nn.progress import Progress

    buf = _Tty()
    p = Progress(None, stream=buf)
    p.update(5, {"loss": 2.0})
    p.finish({"loss": 1.0}, done=7)
    text = buf.getvalue()
    assert re.match(r"\r5/\? - \d+s - [\d.]+[kM]? steps/s - loss: 2\.0000\r7/7 - ", text)
    x, y = _blobs()
    out = io.StringIO()
    sys_stdout, sys.stdout = sys.stdout, out
    try:
        _mlp().fit((b for b in _batches(x, y, 32)), verbose=1)
    finally:
        sys.stdout = sys_stdout
    assert re.fullmatch(
        r"Epoch 1/1 - 3/3 - .* samples/s - loss: [\d.]+ - accuracy: [\d.]+\n", out.getvalue()
    )


# ---------------------------------------------------------------------- bad arguments


def test_bad_arguments_are_clear_errors():
    x, y = _blobs()
    m = _mlp()
    with pytest.raises(ValueError, match=r"validation_split must be in \[0, 1\), got 1\.5"):
        m.fit(x, y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match=r"class_weight names class 5, but the model has 3"):
        m.fit(x, y, class_weight={5: 2.0}, verbose=0)
    with pytest.raises(TypeError, match="class_weight keys must be int"):
        m.fit(x, y, class_weight={"cat": 2.0}, verbose=0)
    with pytest.raises(TypeError, match="class_weight must be a dict"):
        m.fit(x, y, class_weight=[1.0, 2.0], verbose=0)
    with pytest.raises(ValueError, match=r"class_weight\[0\] must be finite and >= 0"):
        m.fit(x, y, class_weight={0: -1.0}, verbose=0)
    with pytest.raises(
        rc.ShapeError, match=r"one weight per sample, shape \(96,\), got shape \(95,\)"
    ):
        m.fit(x, y, sample_weight=np.ones(95), verbose=0)
    with pytest.raises(ValueError, match="finite and >= 0, got nan at sample 3"):
        m.fit(x, y, sample_weight=np.where(np.arange(96) == 3, np.nan, 1.0), verbose=0)
    with pytest.raises(TypeError, match="verbose"):
        m.fit(x, y, verbose="yes")
    seq = nn.Sequential([nn.LSTM(4, return_sequences=True), nn.Dense(3)])
    seq.compile("adam", "cross_entropy")
    xs = np.zeros((8, 5, 2), np.float32)
    with pytest.raises(ValueError, match="class_weight needs one class per sample"):
        seq.fit(xs, np.zeros((8, 5), np.int64), class_weight={0: 2.0}, verbose=0)
    nll = nn.Sequential([nn.Dense(3)])
    nll.compile("adam", "nll")
    with pytest.raises(ValueError, match="per-sample weights"):
        nll.fit(x, y, sample_weight=np.full(96, 2.0), verbose=0)
