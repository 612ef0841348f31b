"""Embedding (rc.embedding, rc.nn.Embedding): forward and the table gradient (repeated
ids) against torch.nn.functional.embedding and NumPy, determinism, bad ids, and an
Embedding -> GRU -> Dense model that learns a toy task."""

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _runtime, nn


def _np(t):
    return np.array(t.numpy(), copy=True)


def _ids(B, T, V, seed):
    return np.random.default_rng(seed).integers(0, V, (B, T))


def _table(V, d, seed):
    return rc.tensor(np.random.default_rng(seed).standard_normal((1, V, d)).astype(np.float32))


def test_forward_and_table_gradient_match_torch():
    torch = pytest.importorskip("torch")
    B, T, V, d = 5, 7, 6, 4  # 35 ids over 6 rows: every row repeats
    ids = _ids(B, T, V, 1)
    table = _table(V, d, 2)
    g = np.random.default_rng(3).standard_normal((T, B, d)).astype(np.float32)
    with rc.autograd.Tape() as tape:
        tape.watch(table)
        out = rc.embedding(ids, table)
    (dtable,) = tape.gradient(out, [table], output_gradient=g)
    tt = torch.tensor(_np(table)[0].astype(np.float64), requires_grad=True)
    ref = torch.nn.functional.embedding(torch.tensor(ids.T), tt)  # time-major (T, B, d)
    (ref * torch.tensor(g.astype(np.float64))).sum().backward()
    assert out.shape == (T, B, d)
    assert np.array_equal(_np(out), ref.detach().numpy().astype(np.float32))
    np.testing.assert_allclose(_np(dtable)[0], tt.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_gradient_sums_repeats_in_order_like_numpy():
    """np.add.at adds in index order in float32: the same sums, bit for bit."""
    B, T, V, d = 3, 50, 4, 5
    ids = _ids(B, T, V, 4)
    g = np.random.default_rng(5).standard_normal((T, B, d)).astype(np.float32)
    table = _table(V, d, 6)
    with rc.autograd.Tape() as tape:
        tape.watch(table)
        out = rc.embedding(ids, table)
    (dtable,) = tape.gradient(out, [table], output_gradient=g)
    want = np.zeros((V, d), np.float32)
    np.add.at(want, ids.T.reshape(-1), g.reshape(-1, d))  # (t, b) order
    assert np.array_equal(_np(dtable)[0], want)


def test_gradient_bitwise_across_threads_and_backends(threads):
    """Large enough to be split over column blocks on the pool."""
    B, T, V, d = 64, 80, 10, 96  # 5120 ids on 10 rows
    ids = _ids(B, T, V, 7)
    g = rc.tensor(np.random.default_rng(8).standard_normal((T, B, d)).astype(np.float32))
    table = _table(V, d, 9)

    def run():
        with rc.autograd.Tape() as tape:
            tape.watch(table)
            out = rc.embedding(ids, table)
        return _np(out), _np(tape.gradient(out, [table], output_gradient=g)[0])

    old = _runtime.get_backend()
    results = []
    try:
        for name in _runtime.capabilities():
            _runtime.set_backend(name)
            for n in (1, 2, 3):
                rc.set_num_threads(n)
                results.append(run())
    finally:
        _runtime.set_backend(old)
    for out, dt in results[1:]:
        assert np.array_equal(out, results[0][0]) and np.array_equal(dt, results[0][1])
    want = np.zeros((V, d), np.float64)
    np.add.at(want, ids.T.reshape(-1), _np(g).reshape(-1, d).astype(np.float64))
    np.testing.assert_allclose(results[0][1][0], want, rtol=1e-5, atol=1e-5)


def test_layer_equals_function_and_tape():
    layer = nn.Embedding(9, 3)
    ids = _ids(4, 6, 9, 10)
    x = rc.tensor(ids.astype(np.float32)[None])  # the rows layout (1, B, T)
    y = layer.forward(x, True)
    assert y.shape == (6, 4, 3) and layer.output_shape == (6, 3)
    (table,) = layer.params
    assert table.shape == (1, 9, 3)
    assert np.all(np.abs(_np(table)) <= 0.05) and np.std(_np(table)) > 0.01  # U(-0.05, 0.05)
    assert np.array_equal(_np(y), _np(rc.embedding(x, table)))
    g = rc.tensor(np.random.default_rng(11).standard_normal(y.shape).astype(np.float32))
    dx = layer.backward(g)
    assert np.array_equal(_np(dx), np.zeros(x.shape, np.float32))  # ids: no gradient
    with rc.autograd.Tape() as tape:
        tape.watch(x, table)
        out = rc.embedding(x, table)
    dids, dtable = tape.gradient(out, [x, table], output_gradient=g)
    assert np.array_equal(_np(layer.grads[0]), _np(dtable))
    assert not np.any(_np(dids))


def test_bad_ids_name_the_id_and_its_position():
    table = _table(5, 2, 12)
    with pytest.raises(ValueError, match=r"id 5\.0 at sample 1, step 2"):
        rc.embedding(np.array([[0, 1, 2], [3, 4, 5]]), table)
    with pytest.raises(ValueError, match=r"id -1 at sample 0, step 1"):
        rc.embedding(np.array([[0, -1, 2]]), table)
    with pytest.raises(ValueError, match=r"id 1\.5 at sample 0, step 0"):
        rc.embedding(np.array([[1.5, 1.0]]), table)
    with pytest.raises(ValueError, match="nan at sample 0, step 1"):
        rc.embedding(rc.tensor([[[0.0, float("nan")]]]), table)
    with pytest.raises(TypeError):
        rc.embedding(np.array([["a"]]), table)
    with pytest.raises(rc.ShapeError):
        rc.embedding(rc.zeros((2, 2, 2)), table)
    layer = nn.Embedding(5, 2)
    with pytest.raises(ValueError, match="id 7.0 at sample 0, step 0"):
        layer.forward(rc.tensor([[[7.0]]]))
    for bad in (0, -3, 1.5, True, 2**24 + 1):
        with pytest.raises(ValueError, match="input_dim"):
            nn.Embedding(bad, 2)
    model = nn.Sequential([nn.Embedding(5, 2), nn.GRU(3)])
    model.build((2,), seed=0)
    with pytest.raises(ValueError, match="id 9.0 at sample 1, step 0"):
        model.predict(np.array([[1, 2], [9, 0]]))


def test_embedding_gru_dense_learns_and_round_trips(tmp_path):
    """Does token 1 appear in the sequence? Embedding -> GRU -> Dense learns it."""
    rng = np.random.default_rng(13)
    x = rng.integers(2, 10, (400, 10))
    has = rng.random(400) < 0.5
    x[has, rng.integers(0, 10, has.sum())] = 1
    y = has.astype(np.float32)[:, None]
    model = nn.Sequential(
        [nn.Embedding(10, 8, input_length=10), nn.GRU(16), nn.Dense(1, activation="sigmoid")]
    )
    model.compile(optimizer=rc.Adam(lr=0.01), loss="binary_cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=20, batch_size=32, seed=2, verbose=0)
    assert model.evaluate(x, y)["accuracy"] > 0.95
    path = tmp_path / "emb.rcml"
    model.save(path)
    back = nn.load_model(path)
    assert isinstance(back.layers[0], nn.Embedding)
    assert np.array_equal(back.predict(x), model.predict(x))


def test_chains_with_flatten_and_dense():
    """The time-major output feeds Flatten (steps in order) and Dense."""
    table = _table(6, 3, 14)
    ids = _ids(4, 5, 6, 15)
    emb = nn.Embedding(6, 3)
    emb.build((5,))
    emb.set_weights([table])
    flat = nn.Flatten()
    y = flat(emb(rc.tensor(ids.astype(np.float32)[None])))
    want = _np(table)[0][ids].reshape(4, 15)
    assert np.array_equal(_np(y)[0], want)
    model = nn.Sequential([nn.Embedding(6, 3), nn.Dense(2)])
    model.build((5,), seed=0)
    assert model.predict(ids).shape == (4, 5, 2)
