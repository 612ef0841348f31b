"""Convolutions (issue 12): rc.conv2d / rc.conv1d, their tape rules and the rc.nn
Conv2D / Conv1D layers against torch.nn.functional (float64), finite differences,
bitwise determinism across threads and backends, saving, training, bad input."""

import math

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _conv, _runtime
from rcmlrs.autograd import gradcheck

BACKENDS = _runtime.capabilities()


def _same_pads(size, k, s):
    out = math.ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _torch_conv2d(x, w, b, ks, st, padding, g):
    """torch float64 reference: x (B, H, W, C), w (kh*kw*C, F) rows (kh, kw, C), g the
    upstream gradient (B, Ho, Wo, F). Returns y, dx, dw (rows (kh, kw, C)), db as NumPy."""
    torch = pytest.importorskip("torch")
    F_ = torch.nn.functional
    kh, kw = ks
    C, F = x.shape[3], w.shape[1]
    xt = torch.tensor(x, dtype=torch.float64).permute(0, 3, 1, 2).requires_grad_(True)
    wt = torch.tensor(w.reshape(kh, kw, C, F), dtype=torch.float64)
    wt = wt.permute(3, 2, 0, 1).contiguous().requires_grad_(True)
    bt = torch.tensor(b, dtype=torch.float64).requires_grad_(True)
    xp = xt
    if padding == "same":
        top, bottom = _same_pads(x.shape[1], kh, st[0])
        left, right = _same_pads(x.shape[2], kw, st[1])
        xp = F_.pad(xt, (left, right, top, bottom))
    y = F_.conv2d(xp, wt, bt, stride=st)
    y.backward(torch.tensor(g, dtype=torch.float64).permute(0, 3, 1, 2))
    dw = wt.grad.permute(2, 3, 1, 0).reshape(kh * kw * C, F)
    return (
        y.permute(0, 2, 3, 1).detach().numpy(),
        xt.grad.permute(0, 2, 3, 1).numpy(),
        dw.numpy(),
        bt.grad.numpy(),
    )


def _torch_conv1d(x, w, b, k, s, padding, g):
    """x (n, T, C), w (k*C, F), g (n, To, F); returns y, dx, dw, db (NumPy, samples first)."""
    torch = pytest.importorskip("torch")
    F_ = torch.nn.functional
    C, F = x.shape[2], w.shape[1]
    xt = torch.tensor(x, dtype=torch.float64).permute(0, 2, 1).requires_grad_(True)
    wt = torch.tensor(w.reshape(k, C, F), dtype=torch.float64)
    wt = wt.permute(2, 1, 0).contiguous().requires_grad_(True)
    bt = torch.tensor(b, dtype=torch.float64).requires_grad_(True)
    xp = xt
    if padding == "same":
        xp = F_.pad(xt, _same_pads(x.shape[1], k, s))
    y = F_.conv1d(xp, wt, bt, stride=s)
    y.backward(torch.tensor(g, dtype=torch.float64).permute(0, 2, 1))
    dw = wt.grad.permute(2, 1, 0).reshape(k * C, F)
    return (
        y.permute(0, 2, 1).detach().numpy(),
        xt.grad.permute(0, 2, 1).numpy(),
        dw.numpy(),
        bt.grad.numpy(),
    )


def _close(got, want, what):
    got = np.asarray(got, np.float64).reshape(np.shape(want))
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5 * scale, err_msg=what)


# (B, H, W, C, F, kernel, strides, padding)
CASES_2D = [
    (2, 7, 6, 3, 4, (3, 3), (1, 1), "valid"),
    (2, 7, 6, 3, 4, (3, 2), (2, 1), "same"),
    (1, 8, 8, 1, 6, (5, 5), (1, 1), "valid"),
    (3, 9, 7, 2, 5, (3, 3), (2, 2), "same"),
    (2, 6, 6, 2, 3, (4, 4), (3, 3), "same"),  # even kernel, asymmetric padding
    (2, 5, 5, 4, 3, (1, 1), (1, 1), "valid"),
    (2, 7, 5, 2, 3, (2, 3), (2, 2), "valid"),  # stride leaves a remainder
    (1, 3, 3, 2, 2, (5, 5), (1, 1), "same"),  # kernel larger than the image: all padding
    # >= 32 filters and kw*C >= Wo: the untransposed im2col form
    (2, 6, 6, 5, 33, (3, 3), (1, 1), "same"),
    (2, 7, 7, 4, 32, (3, 2), (2, 2), "valid"),
    (1, 6, 5, 6, 40, (2, 2), (1, 3), "same"),
    # one channel: transposed patches, with few and with many filters
    (2, 6, 7, 1, 32, (3, 3), (1, 2), "same"),
    (2, 9, 8, 1, 3, (4, 3), (2, 1), "same"),
    # several channels and kw*C < Wo: transposed patches read from channel planes;
    # several blocks whose input rows cross images, a strided one, few filters
    (3, 32, 32, 3, 32, (3, 3), (1, 1), "same"),
    (2, 9, 30, 2, 33, (3, 3), (2, 2), "valid"),
    (2, 8, 40, 5, 8, (3, 3), (1, 1), "same"),
    # the direct form (stride 1, no padding, few filters, patch length <= 64): one and
    # several channels, 1x1 "same", an image narrower than a vector, a row of one pixel
    (2, 9, 7, 3, 5, (3, 3), (1, 1), "valid"),
    (3, 12, 12, 2, 16, (5, 5), (1, 1), "valid"),
    (2, 5, 5, 4, 3, (1, 1), (1, 1), "same"),
    (2, 4, 3, 1, 2, (2, 3), (1, 1), "valid"),
    (1, 30, 20, 1, 31, (5, 5), (1, 1), "valid"),
]


def _rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _conv2d_tape(x, w, b, hw, ks, st, pad, g):
    """rc.conv2d under a tape: (y, dx, dw, db) for the upstream gradient g."""
    tx, tw, tb, tg = (rc.from_numpy(a) for a in (x, w, b, g))
    with rc.autograd.Tape() as tape:
        for t in (tx, tw, tb):
            tape.watch(t)
        y = rc.conv2d(tx, tw, hw, ks, st, pad, bias=tb)
        loss = (y * tg).sum(axis=(0, 1, 2))
    return (y, *tape.gradient(loss, [tx, tw, tb]))


@pytest.mark.parametrize("case", CASES_2D)
def test_conv2d_against_torch(case):
    B, H, W, C, F, ks, st, pad = case
    rng = np.random.default_rng(1)
    x = _rand(rng, B, H, W, C)
    w = _rand(rng, ks[0] * ks[1] * C, F)
    b = _rand(rng, F)
    Ho, Wo = rc.conv_output_size((H, W), ks, st, pad)
    g = _rand(rng, B, Ho, Wo, F)
    want = _torch_conv2d(x, w, b, ks, st, pad, g)
    assert want[0].shape == (B, Ho, Wo, F)
    y, dx, dw, db = _conv2d_tape(
        x.reshape(B, H * W, C),
        w.reshape(1, -1, F),
        b.reshape(1, 1, F),
        (H, W),
        ks,
        st,
        pad,
        g.reshape(B, Ho * Wo, F),
    )
    assert y.shape == (B, Ho * Wo, F)
    for got, ref, what in zip((y, dx, dw, db), want, ("y", "dx", "dW", "db"), strict=True):
        _close(got.numpy(), ref, f"{case} {what}")


@pytest.mark.parametrize(
    "case",
    [
        (3, 9, 2, 4, 3, 1, "valid"),
        (2, 8, 3, 2, 4, 3, "same"),
        (4, 5, 1, 3, 2, 2, "valid"),
        (2, 6, 2, 3, 4, 2, "same"),
        (1, 4, 2, 2, 6, 1, "same"),
    ],
)
def test_conv1d_against_torch(case):
    n, T, C, F, k, s, pad = case
    rng = np.random.default_rng(2)
    x = _rand(rng, n, T, C)
    w = _rand(rng, k * C, F)
    b = _rand(rng, F)
    To = rc.conv_output_size(T, k, s, pad)
    g = _rand(rng, n, To, F)
    want = _torch_conv1d(x, w, b, k, s, pad, g)
    tx = rc.from_numpy(np.ascontiguousarray(x.transpose(1, 0, 2)))  # time-major
    tw, tb = rc.from_numpy(w.reshape(1, -1, F)), rc.from_numpy(b.reshape(1, 1, F))
    tg = rc.from_numpy(np.ascontiguousarray(g.transpose(1, 0, 2)))
    with rc.autograd.Tape() as tape:
        for t in (tx, tw, tb):
            tape.watch(t)
        y = rc.conv1d(tx, tw, k, s, pad, bias=tb)
        loss = (y * tg).sum(axis=(0, 1, 2))
    dx, dw, db = tape.gradient(loss, [tx, tw, tb])
    assert y.shape == (To, n, F)
    _close(y.numpy().transpose(1, 0, 2), want[0], "y")
    _close(dx.numpy().transpose(1, 0, 2), want[1], "dx")
    _close(dw.numpy(), want[2], "dW")
    _close(db.numpy(), want[3], "db")


def test_conv2d_matches_numpy_float64_without_bias():
    """A direct float64 loop (no torch): forward of a strided "same" conv, no bias."""
    rng = np.random.default_rng(3)
    B, H, W, C, F, (kh, kw), (sh, sw) = 2, 5, 6, 2, 3, (3, 2), (2, 2)
    x = _rand(rng, B, H, W, C)
    w = _rand(rng, kh * kw * C, F)
    Ho, Wo = math.ceil(H / sh), math.ceil(W / sw)
    pt, pl = _same_pads(H, kh, sh)[0], _same_pads(W, kw, sw)[0]
    want = np.zeros((B, Ho, Wo, F))
    wk = w.astype(np.float64).reshape(kh, kw, C, F)
    for oi in range(Ho):
        for oj in range(Wo):
            for ki in range(kh):
                for kj in range(kw):
                    i, j = oi * sh - pt + ki, oj * sw - pl + kj
                    if 0 <= i < H and 0 <= j < W:
                        want[:, oi, oj] += x[:, i, j].astype(np.float64) @ wk[ki, kj]
    y = rc.conv2d(
        rc.from_numpy(x.reshape(B, H * W, C)), rc.from_numpy(w), (H, W), (kh, kw), (sh, sw), "same"
    )
    _close(y.numpy(), want.reshape(B, Ho * Wo, F), "y")


def test_gradcheck_conv2d_and_conv1d():
    rng = np.random.default_rng(4)
    x = rc.from_numpy(_rand(rng, 2, 4 * 5, 2))
    w = rc.from_numpy(_rand(rng, 1, 3 * 2 * 2, 3))
    b = rc.from_numpy(_rand(rng, 1, 1, 3))
    assert gradcheck(lambda x, w, b: rc.conv2d(x, w, (4, 5), (3, 2), (2, 1), "same", b), [x, w, b])
    x1 = rc.from_numpy(_rand(rng, 6, 2, 2))
    w1 = rc.from_numpy(_rand(rng, 1, 3 * 2, 2))
    assert gradcheck(lambda x, w, b: rc.conv1d(x, w, 3, 2, "same", b[:, :, :2]), [x1, w1, b])
    # the direct form (stride 1, valid), two channels
    x2 = rc.from_numpy(_rand(rng, 2, 5 * 6, 2))
    w2 = rc.from_numpy(_rand(rng, 1, 2 * 3 * 2, 3))
    assert gradcheck(lambda x, w, b: rc.conv2d(x, w, (5, 6), (2, 3), 1, "valid", b), [x2, w2, b])


def _layer_2d(act="relu", **kw):
    rng = np.random.default_rng(5)
    layer = rc.nn.Conv2D(
        4, (3, 2), strides=(2, 1), padding="same", activation=act, input_shape=(7, 6, 3), **kw
    )
    layer.build((7, 6, 3))
    layer.set_weights([_rand(rng, 1, 18, 4), _rand(rng, 1, 1, 4)])
    x = rc.from_numpy(_rand(rng, 3, 42, 3))
    return layer, x, rng


def test_conv2d_layer_equals_function_and_tape_bitwise():
    layer, x, rng = _layer_2d("relu")
    W, b = layer.params
    y = layer(x)
    z = rc.conv2d(x, W, (7, 6), (3, 2), (2, 1), "same", bias=b)
    np.testing.assert_array_equal(y.numpy(), z.relu().numpy())
    np.testing.assert_array_equal(layer.logits.numpy(), z.numpy())
    # linear: layer backward == tape gradient of rc.conv2d, bit for bit
    lin, x, rng = _layer_2d(None)
    g = rc.from_numpy(_rand(rng, *lin(x).shape))
    dx = lin.backward(g)
    W, b = lin.params
    with rc.autograd.Tape() as tape:
        for t in (x, W, b):
            tape.watch(t)
        out = rc.conv2d(x, W, (7, 6), (3, 2), (2, 1), "same", bias=b)
        loss = (out * g).sum(axis=(0, 1, 2))
    tdx, tdw, tdb = tape.gradient(loss, [x, W, b])
    np.testing.assert_array_equal(tdx.numpy(), dx.numpy())
    np.testing.assert_array_equal(tdw.numpy(), lin.grads[0].numpy())
    np.testing.assert_array_equal(tdb.numpy(), lin.grads[1].numpy())
    # the layer recorded on a tape: its own backward
    layer, x, rng = _layer_2d("tanh")
    g = rc.from_numpy(_rand(rng, *layer(x).shape))
    dx = layer.backward(g)
    W, b = layer.params
    with rc.autograd.Tape() as tape:
        for t in (x, W, b):
            tape.watch(t)
        loss = (layer(x) * g).sum(axis=(0, 1, 2))
    tdx, tdw, tdb = tape.gradient(loss, [x, W, b])
    np.testing.assert_array_equal(tdx.numpy(), dx.numpy())
    np.testing.assert_array_equal(tdw.numpy(), layer.grads[0].numpy())


def test_conv2d_layer_against_torch_with_activation():
    torch = pytest.importorskip("torch")
    layer, x, rng = _layer_2d("tanh")
    W, b = (p.numpy().copy() for p in layer.params)
    y = layer(x)
    g = _rand(rng, *y.shape)
    dx = layer.backward(rc.from_numpy(g))
    xn = x.numpy().reshape(3, 7, 6, 3)
    # tanh'(z) g as the upstream gradient of the linear conv
    z_ref = _torch_conv2d(
        xn,
        W.reshape(18, 4),
        b.reshape(4),
        (3, 2),
        (2, 1),
        "same",
        np.zeros((3, 4, 6, 4), np.float32),
    )[0]
    gz = g.reshape(3, 4, 6, 4) * (1 - np.tanh(z_ref) ** 2)
    _, rdx, rdw, rdb = _torch_conv2d(xn, W.reshape(18, 4), b.reshape(4), (3, 2), (2, 1), "same", gz)
    _close(y.numpy(), np.tanh(z_ref).reshape(3, 24, 4), "y")
    _close(dx.numpy(), rdx.reshape(3, 42, 3), "dx")
    _close(layer.grads[0].numpy(), rdw, "dW")
    _close(layer.grads[1].numpy(), rdb, "db")
    assert torch is not None


def test_conv1d_layer_equals_function():
    rng = np.random.default_rng(6)
    layer = rc.nn.Conv1D(3, 2, strides=1, padding="valid", activation="relu", input_shape=(5, 2))
    layer.build((5, 2))
    layer.set_weights([_rand(rng, 1, 4, 3), _rand(rng, 1, 1, 3)])
    x = rc.from_numpy(_rand(rng, 5, 4, 2))
    y = layer(x)
    W, b = layer.params
    np.testing.assert_array_equal(y.numpy(), rc.conv1d(x, W, 2, bias=b).relu().numpy())
    assert layer.compute_output_shape((5, 2)) == (4, 3)
    assert layer.compute_output_shape((None, 2)) == (None, 3)


def _fwd_bwd_all(x, w, b, g, geom):
    z, y = _conv._conv_forward(x, w, b, *geom, rc._tensor._act_id("relu"), 0.0)
    dw, db = rc.zeros(w.shape), rc.zeros(b.shape)
    dx = _conv._conv_backward(x, w, z, y, g, dw, db, *geom, rc._tensor._act_id("relu"), 0.0, True)
    return [t.numpy().copy() for t in (y, dx, dw, db)]


def _big_inputs():
    """Shapes with several blocks and several dW units (so chunking matters)."""
    rng = np.random.default_rng(7)
    cases = []
    # conv2d: 4 images 32x32x3 -> 8, 3x3 same (4096 output rows: several blocks)
    x = rc.from_numpy(_rand(rng, 4, 32 * 32, 3))
    w = rc.from_numpy(_rand(rng, 1, 27, 8))
    b = rc.from_numpy(_rand(rng, 1, 1, 8))
    g = rc.from_numpy(_rand(rng, 4, 32 * 32, 8))
    cases.append((x, w, b, g, (32, 32, 3, 3, 1, 1, True, False)))
    # strided, many channels: K = 288 -> small blocks, many units
    x = rc.from_numpy(_rand(rng, 3, 16 * 16, 32))
    w = rc.from_numpy(_rand(rng, 1, 288, 5))
    b = rc.from_numpy(_rand(rng, 1, 1, 5))
    g = rc.from_numpy(_rand(rng, 3, 8 * 8, 5))
    cases.append((x, w, b, g, (16, 16, 3, 3, 2, 2, True, False)))
    # one channel (transposed patches), LeNet's first layer on 3 images
    x = rc.from_numpy(_rand(rng, 3, 28 * 28, 1))
    w = rc.from_numpy(_rand(rng, 1, 25, 6))
    b = rc.from_numpy(_rand(rng, 1, 1, 6))
    g = rc.from_numpy(_rand(rng, 3, 24 * 24, 6))
    cases.append((x, w, b, g, (28, 28, 5, 5, 1, 1, False, False)))
    # many filters and channels (untransposed form), stride 1 and stride 2
    x = rc.from_numpy(_rand(rng, 3, 20 * 20, 8))
    w = rc.from_numpy(_rand(rng, 1, 72, 32))
    b = rc.from_numpy(_rand(rng, 1, 1, 32))
    g = rc.from_numpy(_rand(rng, 3, 20 * 20, 32))
    cases.append((x, w, b, g, (20, 20, 3, 3, 1, 1, True, False)))
    g = rc.from_numpy(_rand(rng, 3, 10 * 10, 32))
    cases.append((x, w, b, g, (20, 20, 3, 3, 2, 2, True, False)))
    # conv1d, time-major (T=300, B=16, C=4), k=5 valid
    x = rc.from_numpy(_rand(rng, 300, 16, 4))
    w = rc.from_numpy(_rand(rng, 1, 20, 6))
    b = rc.from_numpy(_rand(rng, 1, 1, 6))
    g = rc.from_numpy(_rand(rng, 296, 16, 6))
    cases.append((x, w, b, g, (0, 0, 5, 1, 1, 1, False, True)))
    # the direct form on wide images: several blocks of output rows per image, 2 channels
    x = rc.from_numpy(_rand(rng, 3, 40 * 70, 2))
    w = rc.from_numpy(_rand(rng, 1, 18, 7))
    b = rc.from_numpy(_rand(rng, 1, 1, 7))
    g = rc.from_numpy(_rand(rng, 3, 38 * 68, 7))
    cases.append((x, w, b, g, (40, 70, 3, 3, 1, 1, False, False)))
    return cases


def _at_threads(n, fn):
    old = rc.get_num_threads()
    rc.set_num_threads(n)
    try:
        return fn()
    finally:
        rc.set_num_threads(old)


def test_bitwise_across_threads_and_backends():
    cases = _big_inputs()
    old = _runtime.get_backend()
    try:
        _runtime.set_backend("serial")
        ref = [_fwd_bwd_all(*c) for c in cases]
        for name in BACKENDS:
            _runtime.set_backend(name)
            per_threads = [
                _at_threads(n, lambda: [_fwd_bwd_all(*c) for c in cases]) for n in (1, 2, 3)
            ]
            for res in per_threads[1:]:
                for a, bb in zip(per_threads[0], res, strict=True):
                    for u, v in zip(a, bb, strict=True):
                        np.testing.assert_array_equal(u, v, err_msg=f"{name} threads")
            for got, want in zip(per_threads[0], ref, strict=True):
                for u, v, what in zip(got, want, ("y", "dx", "dW", "db"), strict=True):
                    _close(u, v.astype(np.float64), f"{name} vs serial {what}")
    finally:
        _runtime.set_backend(old)


def test_direct_form_with_infinite_input_matches_torch():
    """The direct form's dW skips the wide grid's dropped columns for a non-finite input
    (no 0 * inf = NaN where no output read the pixel): finite where torch is finite."""
    rng = np.random.default_rng(11)
    x = _rand(rng, 2, 7, 8, 1)
    x[0, 2, 7, 0] = np.inf  # the last column: read by tap kj = 2 only at oj = 5
    w = _rand(rng, 9, 3)
    b = _rand(rng, 3)
    g = _rand(rng, 2, 5, 6, 3)
    want = _torch_conv2d(x, w, b, (3, 3), (1, 1), "valid", g)
    got = _conv2d_tape(
        x.reshape(2, 56, 1),
        w.reshape(1, 9, 3),
        b.reshape(1, 1, 3),
        (7, 8),
        3,
        1,
        "valid",
        g.reshape(2, 30, 3),
    )
    for u, v, what in zip(got[:3], want[:3], ("y", "dx", "dW"), strict=True):
        u = np.asarray(u.numpy(), np.float64).reshape(v.shape)
        np.testing.assert_array_equal(np.isfinite(u), np.isfinite(v), err_msg=what)
        fin = np.isfinite(v)
        assert fin.any()
        np.testing.assert_allclose(u[fin], v[fin], rtol=2e-5, atol=1e-4, err_msg=what)


def _digits_like(n, seed):
    """8x8 one-channel images: class 0 has a bright row, class 1 a bright column."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.3, (n, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 2, n)
    pos = rng.integers(1, 7, n)
    for i in range(n):
        if y[i] == 0:
            x[i, pos[i], :, 0] += 1.0
        else:
            x[i, :, pos[i], 0] += 1.0
    return x, y


def _small_cnn():
    return rc.nn.Sequential(
        [
            rc.nn.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
            rc.nn.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
            rc.nn.Flatten(),
            rc.nn.Dense(2, activation="softmax"),
        ]
    )


def test_small_cnn_trains_and_round_trips(tmp_path):
    x, y = _digits_like(256, 0)
    model = _small_cnn()
    model.compile(optimizer=rc.Adam(lr=0.01), loss="cross_entropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=8, batch_size=32, seed=1, verbose=0)
    loss = hist.history["loss"]
    assert loss[-1] < 0.5 * loss[0]
    xt, yt = _digits_like(128, 1)
    pred = model.predict(xt)
    assert pred.shape == (128, 2)
    assert (pred.argmax(1) == yt).mean() > 0.9
    path = tmp_path / "cnn.rcml"
    model.save(path)
    loaded = rc.nn.load_model(path)
    np.testing.assert_array_equal(loaded.predict(xt), pred)
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    assert loaded.layers[1].get_config()["strides"] == (2, 2)


def test_conv1d_model_trains():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((128, 12, 2)).astype(np.float32)
    y = (0.5 * x[:, :-1, 0] - x[:, 1:, 1]).sum(1, keepdims=True).astype(np.float32)
    model = rc.nn.Sequential(
        [
            rc.nn.Conv1D(4, 2, padding="same", input_shape=(12, 2)),
            rc.nn.Flatten(),
            rc.nn.Dense(1),
        ]
    )
    model.compile(optimizer=rc.Adam(lr=0.01), loss="mse")
    hist = model.fit(x, y, epochs=10, batch_size=32, seed=0, verbose=0)
    assert hist.history["loss"][-1] < 0.1 * hist.history["loss"][0]
    assert model.predict(x).shape == (128, 1)


def test_flatten_of_images_is_hwc_order():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    flat = rc.nn.Flatten()
    flat.build((3, 4, 5))
    out = flat(rc.from_numpy(x.reshape(2, 12, 5)))
    assert out.shape == (1, 2, 60)
    np.testing.assert_array_equal(out.numpy()[0], x.reshape(2, 60))
    back = flat.backward(out)
    np.testing.assert_array_equal(back.numpy(), x.reshape(2, 12, 5))


def test_bad_input_errors():
    x = rc.zeros((2, 9, 1))
    w = rc.zeros((1, 25, 2))
    with pytest.raises(rc.ShapeError, match="larger than"):
        rc.conv2d(x, w, (3, 3), 5)
    for s in (0, -1):
        with pytest.raises(ValueError, match="strides"):
            rc.conv2d(x, rc.zeros((1, 4, 2)), (3, 3), 2, strides=s)
        with pytest.raises(ValueError, match="strides"):
            rc.nn.Conv2D(2, 3, strides=s)
        with pytest.raises(ValueError, match="strides"):
            rc.conv1d(rc.zeros((4, 2, 1)), rc.zeros((1, 2, 1)), 2, strides=s)
    with pytest.raises(ValueError, match="kernel_size"):
        rc.nn.Conv1D(2, 0)
    with pytest.raises(ValueError, match="padding"):
        rc.conv2d(x, rc.zeros((1, 4, 2)), (3, 3), 2, padding="full")
    with pytest.raises(TypeError, match="kernel_size"):
        rc.nn.Conv2D(2, 2.5)
    # wrong channel count: a kernel for 3 channels on a 1-channel image
    with pytest.raises(rc.ShapeError, match="channels"):
        rc.conv2d(x, rc.zeros((1, 27, 2)), (3, 3), 3)
    with pytest.raises(rc.ShapeError, match="images"):
        rc.conv2d(x, w, (4, 3), 2)  # 9 rows are not 4x3 pixels
    layer = rc.nn.Conv2D(2, 3, input_shape=(5, 5, 3))
    layer.build((5, 5, 3))
    with pytest.raises(rc.ShapeError, match="channels"):
        layer(rc.zeros((2, 25, 1)))
    # kernel larger than the image, from the model's build
    model = rc.nn.Sequential([rc.nn.Conv2D(2, 5, input_shape=(3, 3, 1)), rc.nn.Flatten()])
    with pytest.raises(rc.ShapeError, match="larger than"):
        model.build((3, 3, 1))
    # (n, H, W) without a channel axis: the message says how to add it
    model = rc.nn.Sequential([rc.nn.Conv2D(2, 3), rc.nn.Flatten(), rc.nn.Dense(2)])
    model.compile(loss="mse")
    with pytest.raises(rc.ShapeError, match=r"x\[\.\.\., None\]"):
        model.fit(np.zeros((4, 6, 6), np.float32), np.zeros((4, 2), np.float32), verbose=0)
    with pytest.raises(rc.ShapeError, match="input_shape"):
        rc.nn.Conv2D(2, 3)(rc.zeros((2, 36, 1)))


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("filters", [4, 32])
@pytest.mark.parametrize("act", ["relu", "softmax", "gelu", None])
def test_layer_activation_equals_tensor_api(filters, act, padding):
    """Every kernel form (few filters: transposed, or direct when "valid"; 32:
    untransposed) and every kind of activation (softmax per pixel over the filters) equal
    the tensor API bit for bit."""
    rng = np.random.default_rng(9)
    layer = rc.nn.Conv2D(filters, 3, padding=padding, activation=act, input_shape=(5, 6, 4))
    layer.build((5, 6, 4))
    layer.set_weights([_rand(rng, 1, 36, filters), _rand(rng, 1, 1, filters)])
    x = rc.from_numpy(_rand(rng, 2, 30, 4))
    W, b = layer.params
    z = rc.conv2d(x, W, (5, 6), 3, padding=padding, bias=b)
    want = z if act is None else getattr(z, act)()
    np.testing.assert_array_equal(layer(x).numpy(), want.numpy())


def test_conv_glorot_counts_keras_fans():
    """Keras's fans for a (kh, kw, C, F) kernel: fan_in kh*kw*C, fan_out kh*kw*F; the
    limit of glorot_uniform follows them (Dense keeps (in, out))."""
    layer = rc.nn.Conv2D(8, 3)
    layer.build((6, 6, 2), rc.nn.seeding.Seeds(3))
    w = np.abs(layer.get_weights()[0].numpy())
    limit = math.sqrt(6.0 / (3 * 3 * 2 + 3 * 3 * 8))
    assert w.max() <= limit and w.max() > 0.9 * limit  # 144 draws from U(-limit, limit)
    dense = rc.nn.Dense(8)
    dense.build((18,), rc.nn.seeding.Seeds(3))
    wd = np.abs(dense.get_weights()[0].numpy())
    assert wd.max() > math.sqrt(6.0 / (18 + 72)) * 1.05  # the old, larger limit sqrt(6/26)


def test_clear_errors_for_images_without_channel_axis_and_bad_filters():
    m = rc.nn.Sequential(
        [rc.nn.Conv2D(2, 3, input_shape=(5, 5, 1)), rc.nn.Flatten(), rc.nn.Dense(2)]
    )
    m.compile(optimizer="adam", loss="mse")
    with pytest.raises(rc.ShapeError, match=r"x\[\.\.\., None\]"):
        m.fit(np.zeros((4, 5, 5)), np.zeros((4, 2)), verbose=0)
    with pytest.raises(ValueError, match="filters must be a positive int"):
        rc.nn.Conv2D(0, 3)


def test_declared_input_shape_builds_for_predict_and_evaluate():
    """As in Keras, a model whose first layer declares input_shape has weights at once:
    predict gives samples-first images (n, Ho, Wo, F); without a declared shape it raises."""
    m = rc.nn.Sequential(
        [rc.nn.Conv2D(4, 3, padding="same", input_shape=(6, 5, 2)), rc.nn.MaxPool2D(2)]
    )
    out = m.predict(np.ones((3, 6, 5, 2), np.float32))
    assert out.shape == (3, 3, 2, 4) and np.isfinite(out).all()
    m.compile(optimizer="adam", loss="mse")
    assert set(m.evaluate(np.ones((3, 6, 5, 2)), np.zeros((3, 3, 2, 4)))) == {"loss"}
    with pytest.raises(RuntimeError, match="not built"):
        rc.nn.Sequential([rc.nn.Conv2D(4, 3)]).predict(np.ones((3, 6, 5, 2)))
