"""BatchNormalization / LayerNormalization and rc.batch_norm / rc.layer_norm (issue 12).

References: torch.nn.functional.batch_norm / layer_norm (float64 autograd for the
gradients), the Keras moving-statistics formula in NumPy float64, finite differences
(rc.autograd.gradcheck). Bitwise: layer == function == tape, 1/2/3 threads, every backend
against serial, save/load.
"""

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _runtime
from rcmlrs._tensor import ShapeError
from rcmlrs.nn import BatchNormalization, Dense, Flatten, LayerNormalization, Sequential

EPS = 1e-3
# rows (1, B, C), time-major (T, B, C), images (B, H*W, C); 600 channels take the
# wide-row path of the column sums (column tiles instead of row chunks)
SHAPES = [(1, 16, 5), (4, 3, 6), (2, 9, 4), (2, 20, 600)]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _t(a):
    return rc.tensor(np.ascontiguousarray(a, dtype=np.float32))


def _data(shape, seed, scale=2.0, shift=0.7):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * scale + shift).astype(np.float32)
    c = shape[-1]
    gamma = rng.uniform(0.5, 1.5, (1, 1, c)).astype(np.float32)
    beta = rng.standard_normal((1, 1, c)).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    return x, gamma, beta, g


def _bits(a, b):
    np.testing.assert_array_equal(np.asarray(a).view(np.uint32), np.asarray(b).view(np.uint32))


def _tape_grads(fn, x, gamma, beta, g):
    """dx, dgamma, dbeta of sum(fn(x, gamma, beta) * g) from the tape."""
    tx, tg, tb = _t(x), _t(gamma), _t(beta)
    with rc.autograd.Tape() as tape:
        tape.watch([tx, tg, tb])
        y = fn(tx, tg, tb)
    grads = tape.gradient(y, [tx, tg, tb], output_gradient=_t(g))
    return y, [gr.numpy() for gr in grads]


# ------------------------------------------------------------------ batch norm vs torch
@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_training_forward_backward_vs_torch(torch, shape):
    x, gamma, beta, g = _data(shape, 1)
    c = shape[-1]
    F = torch.nn.functional
    mm0 = np.random.default_rng(2).standard_normal((1, 1, c)).astype(np.float32)
    mv0 = np.random.default_rng(3).uniform(0.5, 2, (1, 1, c)).astype(np.float32)
    mm, mv = _t(mm0), _t(mv0)
    y, (dx, dgamma, dbeta) = _tape_grads(
        lambda a, b, d: rc.batch_norm(a, b, d, mm, mv, training=True, momentum=0.9),
        x,
        gamma,
        beta,
        g,
    )
    x64 = torch.tensor(x.reshape(-1, c), dtype=torch.float64, requires_grad=True)
    w64 = torch.tensor(gamma.reshape(c), dtype=torch.float64, requires_grad=True)
    b64 = torch.tensor(beta.reshape(c), dtype=torch.float64, requires_grad=True)
    ref = F.batch_norm(x64, None, None, w64, b64, training=True, eps=EPS)
    ref.backward(torch.tensor(g.reshape(-1, c), dtype=torch.float64))
    np.testing.assert_allclose(y.numpy().reshape(-1, c), ref.detach().numpy(), rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(dx.reshape(-1, c), x64.grad.numpy(), rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(dgamma.reshape(c), w64.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dbeta.reshape(c), b64.grad.numpy(), rtol=1e-5, atol=1e-5)
    # Keras's moving-statistics update with the biased batch variance, in float64
    xs = x.reshape(-1, c).astype(np.float64)
    want_mm = mm0.reshape(c) * 0.9 + xs.mean(0) * (1 - 0.9)
    want_mv = mv0.reshape(c) * 0.9 + xs.var(0) * (1 - 0.9)
    np.testing.assert_allclose(mm.numpy().reshape(c), want_mm, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(mv.numpy().reshape(c), want_mv, rtol=1e-6, atol=1e-6)
    # a second call under the same tape setup sees the updated statistics only in inference
    assert not np.array_equal(mm.numpy(), mm0)


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_inference_forward_backward_vs_torch(torch, shape):
    x, gamma, beta, g = _data(shape, 4)
    c = shape[-1]
    F = torch.nn.functional
    rng = np.random.default_rng(5)
    mm0 = rng.standard_normal((1, 1, c)).astype(np.float32)
    mv0 = rng.uniform(0.5, 2, (1, 1, c)).astype(np.float32)
    mm, mv = _t(mm0), _t(mv0)
    y, (dx, dgamma, dbeta) = _tape_grads(
        lambda a, b, d: rc.batch_norm(a, b, d, mm, mv, training=False), x, gamma, beta, g
    )
    _bits(mm.numpy(), mm0)  # inference leaves the moving statistics alone
    _bits(mv.numpy(), mv0)
    x64 = torch.tensor(x.reshape(-1, c), dtype=torch.float64, requires_grad=True)
    w64 = torch.tensor(gamma.reshape(c), dtype=torch.float64, requires_grad=True)
    b64 = torch.tensor(beta.reshape(c), dtype=torch.float64, requires_grad=True)
    rm = torch.tensor(mm0.reshape(c), dtype=torch.float64)
    rv = torch.tensor(mv0.reshape(c), dtype=torch.float64)
    ref = F.batch_norm(x64, rm, rv, w64, b64, training=False, eps=EPS)
    ref.backward(torch.tensor(g.reshape(-1, c), dtype=torch.float64))
    np.testing.assert_allclose(y.numpy().reshape(-1, c), ref.detach().numpy(), rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(dx.reshape(-1, c), x64.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dgamma.reshape(c), w64.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dbeta.reshape(c), b64.grad.numpy(), rtol=1e-5, atol=1e-5)
    # gradients w.r.t. the moving statistics (inputs of the inference formula), against
    # torch autograd of that formula written out
    tm, tv, tx = _t(mm0), _t(mv0), _t(x)
    with rc.autograd.Tape() as tape:
        tape.watch([tm, tv])
        out = rc.batch_norm(tx, _t(gamma), _t(beta), tm, tv)
    dmm, dmv = tape.gradient(out, [tm, tv], output_gradient=_t(g))
    rm.requires_grad_(True)
    rv.requires_grad_(True)
    ref2 = (x64.detach() - rm) / torch.sqrt(rv + EPS) * w64.detach() + b64.detach()
    ref2.backward(torch.tensor(g.reshape(-1, c), dtype=torch.float64))
    np.testing.assert_allclose(dmm.numpy().reshape(c), rm.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dmv.numpy().reshape(c), rv.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_batch_norm_images_match_torch_nchw(torch):
    """(B, H*W, C) images: the statistics are torch's over (N, H, W) of an NCHW batch."""
    B, H, W, C = 3, 4, 5, 6
    x, gamma, beta, _ = _data((B, H * W, C), 6)
    y = rc.batch_norm(_t(x), _t(gamma), _t(beta), training=True)
    nchw = torch.tensor(x.reshape(B, H, W, C)).permute(0, 3, 1, 2).double()
    ref = torch.nn.functional.batch_norm(
        nchw,
        None,
        None,
        torch.tensor(gamma.reshape(C)).double(),
        torch.tensor(beta.reshape(C)).double(),
        training=True,
        eps=EPS,
    )
    ref = ref.permute(0, 2, 3, 1).reshape(B, H * W, C).numpy()
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-5, atol=2e-6)


# ------------------------------------------------------------------ layer norm vs torch
@pytest.mark.parametrize("shape", SHAPES + [(1, 3, 1), (2, 2, 300), (1, 5, 1100)])
def test_layer_norm_forward_backward_vs_torch(torch, shape):
    x, gamma, beta, g = _data(shape, 7)
    c = shape[-1]
    y, (dx, dgamma, dbeta) = _tape_grads(rc.layer_norm, x, gamma, beta, g)
    x64 = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    w64 = torch.tensor(gamma.reshape(c), dtype=torch.float64, requires_grad=True)
    b64 = torch.tensor(beta.reshape(c), dtype=torch.float64, requires_grad=True)
    ref = torch.nn.functional.layer_norm(x64, (c,), w64, b64, eps=EPS)
    ref.backward(torch.tensor(g, dtype=torch.float64))
    np.testing.assert_allclose(y.numpy(), ref.detach().numpy(), rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(dx, x64.grad.numpy(), rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(dgamma.reshape(c), w64.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dbeta.reshape(c), b64.grad.numpy(), rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ finite differences
def test_gradcheck_batch_norm_training_and_inference():
    x, gamma, beta, _ = _data((2, 5, 3), 8, scale=1.0, shift=0.2)
    mv = _t(np.full((1, 1, 3), 0.8, np.float32))
    mm = _t(np.full((1, 1, 3), 0.1, np.float32))
    assert rc.autograd.gradcheck(
        lambda a, b, d: rc.batch_norm(a, b, d, training=True), [_t(x), _t(gamma), _t(beta)]
    )
    assert rc.autograd.gradcheck(
        lambda a, b, d: rc.batch_norm(a, b, d, mm, mv), [_t(x), _t(gamma), _t(beta)]
    )
    # inference depends on the moving statistics too: their gradients, not silent zeros
    assert rc.autograd.gradcheck(
        lambda a, b, d, m, v: rc.batch_norm(a, b, d, m, v),
        [_t(x), _t(gamma), _t(beta), mm.copy(), mv.copy()],
    )


def test_gradcheck_layer_norm():
    x, gamma, beta, _ = _data((2, 3, 6), 9, scale=1.0, shift=0.2)
    assert rc.autograd.gradcheck(rc.layer_norm, [_t(x), _t(gamma), _t(beta)])


def test_gradcheck_can_fail_on_a_wrong_rule():
    """The finite-difference check above is not vacuous: a rule that drops the batch
    statistics' part of dx (the inference formula in training) is caught."""
    from rcmlrs.autograd import registry

    x, gamma, beta, _ = _data((1, 6, 2), 10, scale=1.0)
    good = registry.RULES["batch_norm"]

    def wrong(g, out, inputs, attrs, needs):
        return good(g, out, inputs, dict(attrs, training=False), needs)

    registry.RULES["batch_norm"] = wrong
    try:
        with pytest.raises(rc.autograd.GradcheckError):
            rc.autograd.gradcheck(
                lambda a, b, d: rc.batch_norm(a, b, d, training=True), [_t(x), _t(gamma), _t(beta)]
            )
    finally:
        registry.RULES["batch_norm"] = good


# ------------------------------------------------------------------ layer == function == tape
def _built(layer, c, weights=None):
    layer.build((c,))
    if weights is not None:
        layer.set_weights(weights)
    return layer


def test_batch_norm_layer_equals_function_and_tape_bitwise():
    x, gamma, beta, g = _data((3, 7, 4), 11)
    mm0 = np.full((1, 1, 4), 0.3, np.float32)
    mv0 = np.full((1, 1, 4), 1.7, np.float32)
    for training in (True, False):
        layer = _built(BatchNormalization(momentum=0.8), 4, [gamma, beta, mm0, mv0])
        y_layer = layer.forward(_t(x), training=training)
        dx_layer = layer.backward(_t(g))
        dgamma_layer, dbeta_layer = (t.numpy().copy() for t in layer.grads)
        mm, mv = _t(mm0), _t(mv0)
        y_fn, (dx, dgamma, dbeta) = _tape_grads(
            lambda a, b, d, tr=training, mm=mm, mv=mv: rc.batch_norm(a, b, d, mm, mv, tr, 0.8),
            x,
            gamma,
            beta,
            g,
        )
        _bits(y_layer.numpy(), y_fn.numpy())
        _bits(dx_layer.numpy(), dx)
        _bits(dgamma_layer, dgamma)
        _bits(dbeta_layer, dbeta)
        _bits(layer.moving_mean.numpy(), mm.numpy())
        _bits(layer.moving_variance.numpy(), mv.numpy())
        # the layer called under a tape is one op whose rule is its backward
        layer2 = _built(BatchNormalization(momentum=0.8), 4, [gamma, beta, mm0, mv0])
        tx = _t(x)
        with rc.autograd.Tape() as tape:
            tape.watch([tx, *layer2.params])
            y2 = layer2(tx, training)
        grads = tape.gradient(y2, [tx, *layer2.params], output_gradient=_t(g))
        _bits(y2.numpy(), y_fn.numpy())
        for got, want in zip(grads, [dx, dgamma, dbeta], strict=True):
            _bits(got.numpy(), want)


def test_layer_norm_layer_equals_function_and_tape_bitwise():
    x, gamma, beta, g = _data((2, 5, 7), 12)
    layer = _built(LayerNormalization(), 7, [gamma, beta])
    y_layer = layer.forward(_t(x))
    dx_layer = layer.backward(_t(g))
    y_fn, (dx, dgamma, dbeta) = _tape_grads(rc.layer_norm, x, gamma, beta, g)
    _bits(y_layer.numpy(), y_fn.numpy())
    _bits(dx_layer.numpy(), dx)
    _bits(layer.grads[0].numpy(), dgamma)
    _bits(layer.grads[1].numpy(), dbeta)
    tx = _t(x)
    with rc.autograd.Tape() as tape:
        tape.watch([tx, *layer.params])
        y2 = layer(tx)
    grads = tape.gradient(y2, [tx, *layer.params], output_gradient=_t(g))
    for got, want in zip(grads, [dx, dgamma, dbeta], strict=True):
        _bits(got.numpy(), want)


def test_center_scale_off_and_weights_layout():
    bn = _built(BatchNormalization(center=False, scale=False), 3)
    assert bn.params == [] and len(bn.get_weights()) == 2
    assert [w.shape for w in bn.get_weights()] == [(1, 1, 3)] * 2
    x, _, _, _ = _data((1, 6, 3), 13)
    y = bn.forward(_t(x), training=True)
    ref = rc.batch_norm(_t(x), rc.ones((1, 1, 3)), rc.zeros((1, 1, 3)), training=True)
    _bits(y.numpy(), ref.numpy())
    full = _built(BatchNormalization(), 3)
    names = [w.shape for w in full.get_weights()]
    assert names == [(1, 1, 3)] * 4 and len(full.params) == 2
    assert len(full.non_trainable_weights) == 2 and len(full.grads) == 2
    np.testing.assert_array_equal(full.get_weights()[3].numpy(), 1.0)  # moving variance
    ln = _built(LayerNormalization(center=False), 3)
    assert len(ln.params) == 1 and len(ln.get_weights()) == 1


# ------------------------------------------------------------------ determinism
def _big_run():
    rng = np.random.default_rng(14)
    out = []
    # several row chunks per pass; several column tiles (wide rows)
    for shape in [(4, 9000, 3), (2, 1500, 70), (1, 300, 1000)]:
        x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
        c = shape[-1]
        gamma = rng.uniform(0.5, 1.5, (1, 1, c)).astype(np.float32)
        beta = rng.standard_normal((1, 1, c)).astype(np.float32)
        g = rng.standard_normal(shape).astype(np.float32)
        mm, mv = rc.zeros((1, 1, c)), rc.ones((1, 1, c))
        y, (dx, dgamma, dbeta) = _tape_grads(
            lambda a, b, d, mm=mm, mv=mv: rc.batch_norm(a, b, d, mm, mv, training=True),
            x,
            gamma,
            beta,
            g,
        )
        out += [y.numpy(), dx, dgamma, dbeta, mm.numpy(), mv.numpy()]
        y, (dx, dgamma, dbeta) = _tape_grads(rc.layer_norm, x, gamma, beta, g)
        out += [y.numpy(), dx, dgamma, dbeta]
    return out


def test_bitwise_across_thread_counts(threads):
    rc.set_num_threads(1)
    want = _big_run()
    for n in (2, 3):
        rc.set_num_threads(n)
        for w, got in zip(want, _big_run(), strict=True):
            _bits(got, w)


@pytest.mark.parametrize("name", [b for b in _runtime.capabilities() if b != "serial"])
def test_backends_match_serial_bitwise(name, threads):
    old = _runtime.get_backend()
    try:
        rc.set_num_threads(2)
        _runtime.set_backend("serial")
        want = _big_run()
        _runtime.set_backend(name)
        for w, got in zip(want, _big_run(), strict=True):
            _bits(got, w)
    finally:
        _runtime.set_backend(old)


# ------------------------------------------------------------------ in a model
def _blobs(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[4.0, 40.0], [6.0, 44.0], [5.0, 36.0]])
    x = centers[y] + 0.4 * rng.standard_normal((n, 2))
    return x.astype(np.float32), y


def _mlp(momentum=0.9):
    return Sequential(
        [
            Dense(16, input_shape=(2,)),
            BatchNormalization(momentum=momentum),
            Dense(16, activation="relu"),
            Dense(3, activation="softmax"),
        ]
    )


def test_dense_bn_dense_trains_and_predicts_with_moving_stats():
    x, y = _blobs(300, 15)
    model = _mlp()
    model.compile("adam", "cross_entropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=15, batch_size=32, seed=1, verbose=0)
    loss = hist.history["loss"]
    assert loss[-1] < 0.5 * loss[0]
    assert model.evaluate(x, y)["accuracy"] > 0.9
    bn = model.layers[1]
    assert not np.array_equal(bn.moving_mean.numpy(), 0.0)
    # predict = the moving statistics, computed here in float64 from the weights
    w = [t.numpy().astype(np.float64) for t in model.get_weights()]
    assert len(w) == 10  # 2 + (gamma, beta, moving mean, moving variance) + 2 + 2
    h = x.astype(np.float64) @ w[0][0] + w[1][0]
    h = (h - w[4][0]) / np.sqrt(w[5][0] + EPS) * w[2][0] + w[3][0]
    h = np.maximum(h @ w[6][0] + w[7][0], 0) @ w[8][0] + w[9][0]
    p = np.exp(h - h.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict(x), p, rtol=1e-4, atol=1e-5)
    # predict and evaluate leave the moving statistics alone
    before = [t.numpy().copy() for t in bn.non_trainable_weights]
    model.predict(x)
    model.evaluate(x, y)
    for b, t in zip(before, bn.non_trainable_weights, strict=True):
        _bits(t.numpy(), b)


def test_summary_counts_moving_stats_as_non_trainable():
    model = _mlp()
    model.build((2,))
    text = model.summary()
    total = 2 * 16 + 16 + 4 * 16 + 16 * 16 + 16 + 16 * 3 + 3
    assert f"Total params: {total:,}" in text
    assert f"Trainable params: {total - 32:,}" in text
    assert "Non-trainable params: 32" in text
    assert model.count_params() == total and len(model.params) == 8
    assert len(model.weights) == 10


def test_frozen_bn_uses_moving_stats_in_fit():
    x, y = _blobs(64, 16)
    model = _mlp()
    model.layers[1].trainable = False
    model.compile("sgd", "cross_entropy")
    model.build((2,))
    before = [t.numpy().copy() for t in model.layers[1].weights]
    model.fit(x, y, epochs=1, batch_size=16, seed=2, verbose=0)
    for b, t in zip(before, model.layers[1].weights, strict=True):
        _bits(t.numpy(), b)


def test_images_bn_after_reshape_trains():
    """(n, H, W, C) images: BN over (batch, H*W, C) rows per channel, then Flatten-Dense."""
    rng = np.random.default_rng(17)
    n, H, W, C = 96, 4, 4, 3
    y = rng.integers(0, 2, n)
    x = rng.standard_normal((n, H, W, C)).astype(np.float32) * 3 + 10
    x[..., 1] += (y * 2.0)[:, None, None]  # the label lives in channel 1
    model = Sequential(
        [
            BatchNormalization(momentum=0.8, input_shape=(H, W, C)),
            Flatten(),
            Dense(2, activation="softmax"),
        ]
    )
    model.compile(rc.nn.Adam(learning_rate=0.01), "cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=20, batch_size=16, seed=3, verbose=0)
    assert model.evaluate(x, y)["accuracy"] > 0.85
    bn = model.layers[0]
    # the layer on an engine image batch == the function on (B, H*W, C)
    xb = _t(x[:8].reshape(8, H * W, C))
    ref = rc.batch_norm(xb, bn.gamma, bn.beta, bn.moving_mean.copy(), bn.moving_variance.copy())
    _bits(bn.forward(xb, training=False).numpy(), ref.numpy())
    mm = bn.moving_mean.numpy().reshape(C)
    assert abs(mm[0] - 10) < 1.0  # the moving mean has followed the data's 10


def test_time_major_layer_norm_in_a_model():
    """(n, T, f) samples: LayerNormalization first gets the time-major (T, batch, f) batch
    and normalizes every time step's features; Flatten then Dense."""
    rng = np.random.default_rng(18)
    x = (rng.standard_normal((40, 5, 3)) * 2 + 1).astype(np.float32)
    model = Sequential([LayerNormalization(input_shape=(5, 3)), Flatten(), Dense(2)])
    model.build((5, 3))
    ln, d = model.layers[0], model.layers[2]
    ln.set_weights([rng.uniform(0.5, 1.5, (1, 1, 3)), rng.standard_normal((1, 1, 3))])
    out = model.predict(x)
    xt = _t(np.ascontiguousarray(x.transpose(1, 0, 2)))  # time-major (T, B, f)
    h = rc.layer_norm(xt, ln.gamma, ln.beta).numpy().transpose(1, 0, 2).reshape(40, 15)
    np.testing.assert_allclose(out, h @ d.W.numpy()[0] + d.b.numpy()[0], rtol=1e-5, atol=1e-5)
    # and against the definition in float64
    x64 = x.astype(np.float64)
    ref = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + EPS)
    ref = ref * ln.gamma.numpy().reshape(3) + ln.beta.numpy().reshape(3)
    np.testing.assert_allclose(h.reshape(40, 5, 3), ref, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ save / load
def test_save_load_keeps_moving_stats_and_resumes_exactly(tmp_path):
    x, y = _blobs(128, 19)
    a = _mlp()
    a.compile("adam", "cross_entropy")
    a.fit(x, y, epochs=2, batch_size=32, seed=4, verbose=0)
    path = tmp_path / "bn.rcml"
    a.save(path)
    b = rc.nn.load_model(path)
    assert isinstance(b.layers[1], BatchNormalization) and b.layers[1].momentum == 0.9
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        _bits(wb.numpy(), wa.numpy())
    _bits(b.predict(x), a.predict(x))
    a.fit(x, y, epochs=2, batch_size=32, verbose=0)
    b.fit(x, y, epochs=2, batch_size=32, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        _bits(wb.numpy(), wa.numpy())
    # weights only
    wpath = tmp_path / "bn.weights"
    a.save_weights(wpath)
    c = _mlp()
    c.load_weights(wpath)
    c.build((2,))
    _bits(c.predict(x), a.predict(x))


def test_load_rejects_missing_moving_stats(tmp_path):
    a = _mlp()
    a.build((2,))
    a.save(tmp_path / "m.rcml")
    tensors, meta = rc.io.load_binary_with_metadata(tmp_path / "m.rcml")
    keep = {"rcmlrs_model": meta["rcmlrs_model"]}
    rc.save_tensors_binary(tmp_path / "bad.rcml", tensors[:-1], metadata=keep)
    rc.nn.load_model(tmp_path / "m.rcml")  # the intact file loads
    with pytest.raises(rc.FormatError):
        rc.nn.load_model(tmp_path / "bad.rcml")


def test_set_weights_counts_the_moving_stats():
    model = _mlp()
    model.build((2,))
    w = model.get_weights()
    with pytest.raises(ValueError):
        model.set_weights(w[:-1])
    w[4] = rc.full((1, 1, 16), 2.5)
    model.set_weights(w)
    np.testing.assert_array_equal(model.layers[1].moving_mean.numpy(), 2.5)


# ------------------------------------------------------------------ bad input
def test_bad_input():
    x = rc.randn((1, 4, 3), seed=0)
    one, zero = rc.ones((1, 1, 3)), rc.zeros((1, 1, 3))
    with pytest.raises(ShapeError, match="gamma has 2 values"):
        rc.batch_norm(x, rc.ones((1, 1, 2)), zero, training=True)
    with pytest.raises(ShapeError, match="channels"):
        rc.layer_norm(x, one, rc.zeros((1, 1, 4)))
    for m in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="momentum"):
            rc.batch_norm(x, one, zero, training=True, momentum=m)
        with pytest.raises(ValueError, match="momentum"):
            BatchNormalization(momentum=m)
    for e in (0.0, -1e-3, float("inf")):
        with pytest.raises(ValueError, match="epsilon"):
            rc.batch_norm(x, one, zero, training=True, epsilon=e)
        with pytest.raises(ValueError, match="epsilon"):
            rc.layer_norm(x, one, zero, epsilon=e)
        with pytest.raises(ValueError, match="epsilon"):
            LayerNormalization(epsilon=e)
    with pytest.raises(TypeError, match="momentum"):
        BatchNormalization(momentum="high")
    with pytest.raises(ValueError, match="moving_mean and moving_variance"):
        rc.batch_norm(x, one, zero)
    with pytest.raises(ValueError, match="at least one row"):
        rc.batch_norm(rc.zeros((1, 0, 3)), one, zero, training=True)
    bn = _built(BatchNormalization(), 3)
    with pytest.raises(ShapeError, match="built for 3 channels"):
        bn.forward(rc.randn((1, 4, 5), seed=1), training=True)
    model = Sequential([BatchNormalization(input_shape=(3,)), Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ShapeError):
        model.fit(np.zeros((4, 5), np.float32), np.zeros((4, 1), np.float32), verbose=0)


def test_tape_training_path_equals_fused_fit_bitwise():
    """A forward-only layer sends the whole model through rc.autograd: BN is then one
    recorded op whose rule is its backward, so training gives the fused path's weights
    and moving statistics bit for bit."""

    class Identity(rc.nn.Layer):
        def forward(self, x, training=False):
            return x

    x, y = _blobs(96, 20)
    models = []
    for extra in ([], [Identity()]):
        m = Sequential(
            [Dense(8, input_shape=(2,)), BatchNormalization(momentum=0.7), *extra, Dense(3)]
        )
        m.compile("sgd", "mse")
        m.build((2,), seed=7)
        m.fit(x, np.eye(3, dtype=np.float32)[y], epochs=2, batch_size=16, seed=8, verbose=0)
        models.append(m)
    fused, taped = models
    assert len(fused.get_weights()) == 8
    for wa, wb in zip(fused.get_weights(), taped.get_weights(), strict=True):
        _bits(wb.numpy(), wa.numpy())


@pytest.mark.parametrize("shape", [(4, 9000, 3), (1, 300, 1000)])
def test_batch_norm_statistics_accurate_on_large_offset_batches(shape):
    """Mean 1000, spread 0.5: the two-pass double statistics (chunked or tiled) keep the
    variance exact to float32, where a one-pass E[x^2] - E[x]^2 in float would not."""
    rng = np.random.default_rng(21)
    x = (rng.standard_normal(shape) * 0.5 + 1000).astype(np.float32)
    c = shape[-1]
    mm, mv = rc.zeros((1, 1, c)), rc.zeros((1, 1, c))
    y = rc.batch_norm(_t(x), rc.ones((1, 1, c)), rc.zeros((1, 1, c)), mm, mv, True, 0.0)
    xs = x.reshape(-1, c).astype(np.float64)
    np.testing.assert_allclose(mm.numpy().reshape(c), xs.mean(0), rtol=1e-7)
    np.testing.assert_allclose(mv.numpy().reshape(c), xs.var(0), rtol=1e-6)
    ref = (xs - xs.mean(0)) / np.sqrt(xs.var(0) + EPS)
    np.testing.assert_allclose(y.numpy().reshape(-1, c), ref, atol=2e-4)
    ln = rc.layer_norm(_t(x), rc.ones((1, 1, c)), rc.zeros((1, 1, c))).numpy().reshape(-1, c)
    want = (xs - xs.mean(1, keepdims=True)) / np.sqrt(xs.var(1, keepdims=True) + EPS)
    np.testing.assert_allclose(ln, want, atol=2e-3)
