"""The NumPy-shaped boundary of rc.nn: samples-first arrays of natural rank in, NumPy out;
one meaning per shape whether NumPy or RamTensor; batch sizes checked everywhere."""

from __future__ import annotations

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import nn


def _blobs(n=120, seed=0):
    r = np.random.default_rng(seed)
    y = r.integers(0, 3, n)
    centers = np.array([[2, 0], [-2, 1], [0, -2]], dtype=np.float32)
    return (centers[y] + r.normal(0, 0.5, (n, 2))).astype(np.float32), y


def _fitted(x, y, layers=None, epochs=3):
    m = nn.Sequential(layers or [nn.Dense(8, "relu"), nn.Dense(3)])
    m.compile(rc.Adam(lr=1e-2), "cross_entropy", metrics=["accuracy"])
    m.fit(x, y, epochs=epochs, batch_size=16, seed=0, verbose=0)
    return m


def test_predict_is_numpy_samples_first():
    x, y = _blobs()
    m = _fitted(x, y, epochs=10)
    p = m.predict(x)
    assert type(p) is np.ndarray and p.dtype == np.float32 and p.shape == (120, 3)
    assert p.flags.c_contiguous
    pred = np.argmax(p, axis=1)
    assert (pred == y).mean() == m.evaluate(x, y)["accuracy"]
    metrics = pytest.importorskip("sklearn.metrics")
    assert metrics.accuracy_score(y, pred) > 0.9
    # batch boundaries do not show (beyond the GEMM's size-dependent rounding)
    np.testing.assert_allclose(m.predict(x, batch_size=7), p, rtol=1e-6, atol=1e-6)


def test_predict_sequences_are_samples_first():
    r = np.random.default_rng(0)
    x = r.normal(size=(10, 6, 2)).astype(np.float32)
    m = nn.Sequential([nn.LSTM(4, return_sequences=True), nn.Dense(3)])
    m.compile("adam", "mse")
    m.fit(x, r.normal(size=(10, 6, 3)), epochs=1, verbose=0, seed=0)
    p = m.predict(x)
    assert p.shape == (10, 6, 3) and p.dtype == np.float32
    # sample 4 alone gives the same rows
    np.testing.assert_allclose(m.predict(x[4:5])[0], p[4], rtol=1e-6, atol=1e-6)
    assert m.predict(x[:, :2]).shape == (10, 2, 3)  # any number of timesteps


def test_one_meaning_for_one_shape():
    """(1, n, f) means n samples of f features, as a RamTensor and as an array."""
    x, y = _blobs()
    m = _fitted(x, y)
    ref = m.predict(x)
    t = rc.tensor(x)  # (1, 120, 2)
    assert t.shape == (1, 120, 2)
    assert np.array_equal(m.predict(t), ref)
    assert np.array_equal(m.predict(np.asarray(t)), ref)
    assert m.evaluate(np.asarray(t), y) == m.evaluate(x, y) == m.evaluate(t, rc.tensor(y))
    # a model trained on the (1, n, f) array learns from n samples, not one sequence
    a = _fitted(np.asarray(t), y)
    b = _fitted(x, y)
    assert all(u.equals(v) for u, v in zip(a.weights, b.weights, strict=True))


def test_rank3_input_to_a_plain_mlp_is_a_shape_error():
    """(k, n, f) with k > 1 into a model without RNN/LSTM/Flatten is not silently read as
    sequences; it says what to do."""
    x, y = _blobs(60)
    m = nn.Sequential([nn.Dense(8, "relu"), nn.Dense(3)])
    m.compile("adam", "cross_entropy")
    seqs = np.zeros((60, 5, 2), np.float32)
    with pytest.raises(rc.ShapeError, match=r"\(60, 5, 2\).*Flatten\(\)"):
        m.fit(seqs, y, verbose=0)
    assert not m.built
    m.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(rc.ShapeError, match=r"\(60, 5, 2\).*Flatten\(\)"):
        m.predict(seqs)
    with pytest.raises(rc.ShapeError, match="Flatten"):
        m.predict(rc.tensor(seqs))  # the same shape as a tensor: the same answer
    with pytest.raises(rc.ShapeError, match="Flatten"):
        m.predict(np.zeros((4, 3, 3, 1), np.float32))  # images, too
    # starting with Flatten makes the same array n samples of 10 features
    f = _fitted(seqs, y, [nn.Flatten(), nn.Dense(3)], epochs=1)
    assert f.predict(seqs).shape == (60, 3)


def test_shape_error_messages_name_both_shapes():
    """The old message read "expects (442, 10), got (442, 10)"."""
    x = np.random.default_rng(0).normal(size=(442, 10)).astype(np.float32)
    y = x.sum(axis=1)
    m = nn.Sequential([nn.Dense(4, "relu"), nn.Dense(1)])
    m.compile("adam", "mse")
    m.fit(x, y, epochs=1, verbose=0, seed=0)
    with pytest.raises(rc.ShapeError) as e:
        m.predict(x[:, :9])
    assert "(10,)" in str(e.value) and "(442, 9)" in str(e.value)
    with pytest.raises(rc.ShapeError) as e:
        m.predict(np.stack([x, x]))
    assert "(2, 442, 10)" in str(e.value) and "(442, 10)" in str(e.value)
    assert np.array_equal(m.predict(x[None]), m.predict(x))  # (1, 442, 10): 442 samples


def test_images_flatten_in_hwc_order():
    """(n, H, W, C) behind Flatten trains exactly like the same pixels as (n, H*W*C)."""
    r = np.random.default_rng(1)
    imgs = r.uniform(size=(40, 4, 3, 2)).astype(np.float32)
    y = r.integers(0, 2, 40)
    a = _fitted(imgs, y, [nn.Flatten(), nn.Dense(5, "relu"), nn.Dense(2)])
    b = _fitted(imgs.reshape(40, -1), y, [nn.Dense(5, "relu"), nn.Dense(2)])
    assert all(u.equals(v) for u, v in zip(a.weights, b.weights, strict=True))
    assert np.array_equal(a.predict(imgs), b.predict(imgs.reshape(40, -1)))
    assert np.array_equal(a.predict(imgs.reshape(40, -1)), a.predict(imgs))  # flat also fits
    assert a.summary().count("(None, 24)") == 1
    with pytest.raises(rc.ShapeError, match=r"\(4, 3, 2\)"):
        a.predict(np.zeros((3, 3, 4, 2), np.float32))
    # a sequence model behind Flatten: each sample's steps in order
    s = r.normal(size=(20, 3, 2)).astype(np.float32)
    c = _fitted(s, y[:20], [nn.RNN(4, return_sequences=True), nn.Flatten(), nn.Dense(2)])
    assert c.predict(s).shape == (20, 2)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "8", None])
def test_batch_size_is_validated_everywhere(bad):
    x, y = _blobs(20)
    m = _fitted(x, y, epochs=1)
    for call in (
        lambda: m.fit(x, y, batch_size=bad, verbose=0),
        lambda: m.evaluate(x, y, batch_size=bad),
        lambda: m.predict(x, batch_size=bad),
    ):
        with pytest.raises(ValueError, match="batch_size"):
            call()
    with pytest.raises(ValueError, match="batch_size"):
        list(rc.data.batches(x, y, batch_size=bad))


def test_evaluate_and_predict_edge_sizes():
    x, y = _blobs(20)
    m = _fitted(x, y, epochs=1)
    with pytest.raises(ValueError, match="no samples"):
        m.evaluate(x[:0], y[:0])
    assert m.predict(x[:0]).shape == (0, 3)
    assert m.evaluate(x, y, batch_size=1) == pytest.approx(m.evaluate(x, y, batch_size=10**6))


def test_validation_split_holds_out_the_last_samples():
    x, y = _blobs(100)
    m = nn.Sequential([nn.Dense(8, "relu"), nn.Dense(3)])
    m.compile(rc.Adam(lr=1e-2), "cross_entropy", metrics=["accuracy"])
    h = m.fit(x, y, epochs=2, validation_split=0.25, seed=0, verbose=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert h.history["val_loss"][-1] == pytest.approx(m.evaluate(x[75:], y[75:])["loss"])
    with pytest.raises(ValueError, match="validation_split"):
        m.fit(x, y, validation_split=1.0, verbose=0)


def test_labels_of_any_integer_dtype_and_sequence_labels():
    x, y = _blobs(48)
    for dtype in (np.int64, np.int32, np.uint8, np.float32):
        m = _fitted(x, y.astype(dtype), epochs=1)
        assert m.evaluate(x, y.astype(dtype))["loss"] > 0
    r = np.random.default_rng(0)
    s = r.normal(size=(12, 5, 2)).astype(np.float32)
    labels = r.integers(0, 3, (12, 5))  # a class per sample and step
    m = nn.Sequential([nn.RNN(6, return_sequences=True), nn.Dense(3)])
    m.compile("adam", "cross_entropy", metrics=["accuracy"])
    h = m.fit(s, labels, epochs=2, batch_size=4, seed=0, verbose=0)
    assert 0.0 <= h.history["accuracy"][-1] <= 1.0
    p = m.predict(s)
    acc = (np.argmax(p, axis=2) == labels).mean()
    assert m.evaluate(s, labels)["accuracy"] == pytest.approx(acc)


def test_declared_input_shape_and_seed():
    """A first layer with input_shape builds at fit with fit's seed (reproducible)."""
    x, y = _blobs(40)

    def run():
        m = nn.Sequential([nn.Dense(4, "tanh", input_shape=(2,)), nn.Dense(3)])
        m.compile("adam", "cross_entropy")
        m.fit(x, y, epochs=1, seed=9, verbose=0)
        return m.get_weights()

    assert all(a.equals(b) for a, b in zip(run(), run(), strict=True))
    m = nn.Sequential([nn.Dense(4, input_shape=(3,))])
    m.compile("adam", "mse")
    with pytest.raises(rc.ShapeError, match=r"expects samples of shape \(3,\)"):
        m.fit(x, y, verbose=0)
