"""2-D pooling (rc.max_pool2d, rc.avg_pool2d, rc.global_avg_pool2d and the rc.nn layers)
against torch, a NumPy float64 twin, finite differences; bitwise across threads/backends."""

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _runtime
from rcmlrs._tensor import ShapeError
from rcmlrs.autograd import Tape, gradcheck

# (H, W, pool, strides): square, overlapping, non-square, stride > pool, odd sizes
CASES = [
    (6, 6, 2, None),
    (7, 5, 3, 2),
    (5, 8, (2, 3), (1, 2)),
    (9, 7, (3, 2), (2, 3)),
    (4, 4, 1, 3),
    (8, 8, (4, 4), 1),
]


def _images(rng, B, H, W, C, distinct=False):
    """(B, H, W, C) float32; distinct: a shuffled ladder of values 0.05 apart (no ties, and
    a finite-difference step cannot reorder them)."""
    if distinct:
        v = rng.permutation(B * H * W * C).astype(np.float32) * 0.05 - 1.0
        return v.reshape(B, H, W, C)
    return rng.standard_normal((B, H, W, C)).astype(np.float32)


def _rc(x4):
    B, H, W, C = x4.shape
    return rc.tensor(x4.reshape(B, H * W, C))


def _to_nhwc(t, B, H, W, C):
    return t.numpy().reshape(B, H, W, C)


def _same_pads(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2


def _ref_pool(x4, pool, strides, padding, mode, g4=None):
    """float64 twin: forward (g4 None) or the input gradient for dL/dy = g4. Windows are
    clipped to the image (padding never chosen, never counted); max takes the first
    maximum in (row, col) order."""
    B, H, W, C = x4.shape
    ph, pw = (pool, pool) if isinstance(pool, int) else pool
    strides = pool if strides is None else strides
    sh, sw = (strides, strides) if isinstance(strides, int) else strides
    if padding == "same":
        Ho, pt = _same_pads(H, ph, sh)
        Wo, pl = _same_pads(W, pw, sw)
    else:
        Ho, Wo, pt, pl = (H - ph) // sh + 1, (W - pw) // sw + 1, 0, 0
    x = x4.astype(np.float64)
    y = np.zeros((B, Ho, Wo, C))
    dx = np.zeros_like(x)
    for oi in range(Ho):
        i0, i1 = max(oi * sh - pt, 0), min(oi * sh - pt + ph, H)
        for oj in range(Wo):
            j0, j1 = max(oj * sw - pl, 0), min(oj * sw - pl + pw, W)
            win = x[:, i0:i1, j0:j1, :].reshape(B, -1, C)
            if mode == "max":
                k = win.argmax(axis=1)  # the first maximum in scan order
                y[:, oi, oj] = win.max(axis=1)
                if g4 is not None:
                    wi, wj = np.divmod(k, j1 - j0)
                    for b in range(B):
                        for c in range(C):
                            dx[b, i0 + wi[b, c], j0 + wj[b, c], c] += g4[b, oi, oj, c]
            else:
                y[:, oi, oj] = win.mean(axis=1)
                if g4 is not None:
                    dx[:, i0:i1, j0:j1, :] += g4[:, oi, oj, None, None, :] / win.shape[1]
    return y if g4 is None else dx


def _fn(mode):
    return rc.max_pool2d if mode == "max" else rc.avg_pool2d


def _tape_grad(f, x, g):
    with Tape() as tape:
        tape.watch(x)
        y = f(x)
        loss = (y * g).sum(axis=(0, 1, 2))
    return y, tape.gradient(loss, [x])[0]


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("H,W,pool,strides", CASES)
def test_valid_matches_torch(mode, H, W, pool, strides):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(H * 10 + W)
    B, C = 3, 5
    x4 = _images(rng, B, H, W, C)
    x = _rc(x4)
    f = _fn(mode)
    y0 = f(x, (H, W), pool, strides)
    Ho, Wo = (y0.rows, 1)
    g = rc.tensor(rng.standard_normal(y0.shape).astype(np.float32))
    y, dx = _tape_grad(lambda t: f(t, (H, W), pool, strides), x, g)

    xt = torch.tensor(x4).permute(0, 3, 1, 2).requires_grad_(True)
    tf = F.max_pool2d if mode == "max" else F.avg_pool2d
    kw = {} if strides is None else {"stride": strides}
    yt = tf(xt, pool, **kw)
    Ho, Wo = yt.shape[2], yt.shape[3]
    assert y.shape == (B, Ho * Wo, C)
    gt = torch.tensor(g.numpy().reshape(B, Ho, Wo, C)).permute(0, 3, 1, 2)
    yt.backward(gt)
    want_y = yt.detach().permute(0, 2, 3, 1).numpy()
    want_dx = xt.grad.permute(0, 2, 3, 1).numpy()
    if mode == "max":  # exact: a selection, and the same first-maximum choice
        np.testing.assert_array_equal(_to_nhwc(y, B, Ho, Wo, C), want_y)
    else:
        np.testing.assert_allclose(_to_nhwc(y, B, Ho, Wo, C), want_y, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(_to_nhwc(dx, B, H, W, C), want_dx, rtol=1e-6, atol=1e-6)


def test_ties_go_to_the_first_element_like_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    B, H, W, C = 2, 6, 6, 4
    x4 = rng.integers(0, 2, (B, H, W, C)).astype(np.float32)  # ties everywhere
    x4[0, :, :, 0] = 1.0  # a window of equal values
    x = _rc(x4)
    g = rc.tensor(rng.standard_normal((B, 9, C)).astype(np.float32))
    _, dx = _tape_grad(lambda t: rc.max_pool2d(t, (H, W), 3, 2, "same"), x, g)
    want = _ref_pool(x4, 3, 2, "same", "max", g.numpy().reshape(B, 3, 3, C))
    np.testing.assert_array_equal(_to_nhwc(dx, B, H, W, C), want.astype(np.float32))
    # valid windows against torch: the gradient lands on the first maximum in (row, col)
    xt = torch.tensor(x4).permute(0, 3, 1, 2).requires_grad_(True)
    yt = torch.nn.functional.max_pool2d(xt, 2)
    gv = rng.standard_normal(yt.shape).astype(np.float32)
    yt.backward(torch.tensor(gv))
    _, dxv = _tape_grad(
        lambda t: rc.max_pool2d(t, (H, W), 2),
        x,
        rc.tensor(gv.transpose(0, 2, 3, 1).reshape(B, 9, C)),
    )
    np.testing.assert_array_equal(_to_nhwc(dxv, B, H, W, C), xt.grad.permute(0, 2, 3, 1).numpy())
    assert _to_nhwc(dxv, B, H, W, C)[0, 0, 0, 0] == gv[0, 0, 0, 0]  # top-left of the ones


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize(
    "H,W,pool,strides", [(5, 5, 2, None), (7, 6, 3, 2), (5, 9, (2, 4), (3, 2)), (3, 3, 3, 1)]
)
def test_same_padding_matches_float64_twin(mode, H, W, pool, strides):
    rng = np.random.default_rng(7)
    B, C = 2, 3
    x4 = _images(rng, B, H, W, C)
    x = _rc(x4)
    f = _fn(mode)
    ph = pool if isinstance(pool, int) else pool[0]
    sh = ph if strides is None else (strides if isinstance(strides, int) else strides[0])
    pw = pool if isinstance(pool, int) else pool[1]
    sw = pw if strides is None else (strides if isinstance(strides, int) else strides[1])
    Ho, Wo = -(-H // sh), -(-W // sw)
    g4 = rng.standard_normal((B, Ho, Wo, C)).astype(np.float32)
    y, dx = _tape_grad(
        lambda t: f(t, (H, W), pool, strides, "same"), x, rc.tensor(g4.reshape(B, -1, C))
    )
    assert y.shape == (B, Ho * Wo, C)
    want_y = _ref_pool(x4, pool, strides, "same", mode)
    want_dx = _ref_pool(x4, pool, strides, "same", mode, g4.astype(np.float64))
    np.testing.assert_allclose(_to_nhwc(y, B, Ho, Wo, C), want_y, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(_to_nhwc(dx, B, H, W, C), want_dx, rtol=1e-6, atol=1e-6)


def test_same_max_matches_torch_with_minus_inf_padding():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    B, H, W, C = 2, 7, 6, 3
    x4 = _images(rng, B, H, W, C)
    y = rc.max_pool2d(_rc(x4), (H, W), 3, 2, "same")  # Ho = 4, pad rows 1+1; Wo = 3, 0+1
    xt = torch.tensor(x4).permute(0, 3, 1, 2)
    xp = torch.nn.functional.pad(xt, (0, 1, 1, 1), value=float("-inf"))
    want = torch.nn.functional.max_pool2d(xp, 3, 2).permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(_to_nhwc(y, B, 4, 3, C), want)


def test_global_avg_pool_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    B, H, W, C = 3, 5, 7, 4
    x4 = _images(rng, B, H, W, C)
    x = _rc(x4)
    g = rc.tensor(rng.standard_normal((1, B, C)).astype(np.float32))
    y, dx = _tape_grad(rc.global_avg_pool2d, x, g)
    assert y.shape == (1, B, C)
    xt = torch.tensor(x4).permute(0, 3, 1, 2).requires_grad_(True)
    yt = xt.mean(dim=(2, 3))
    yt.backward(torch.tensor(g.numpy()[0]))
    np.testing.assert_allclose(y.numpy()[0], yt.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        _to_nhwc(dx, B, H, W, C), xt.grad.permute(0, 2, 3, 1).numpy(), rtol=1e-6, atol=1e-7
    )


def test_nan_propagates_through_max():
    x4 = np.zeros((1, 4, 4, 2), np.float32)
    x4[0, 1, 1, 0] = np.nan
    y = rc.max_pool2d(_rc(x4), (4, 4), 2).numpy().reshape(2, 2, 2)
    assert np.isnan(y[0, 0, 0]) and not np.isnan(y).sum() > 1


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: rc.max_pool2d(t, (5, 4), 2, 1),
        lambda t: rc.max_pool2d(t, (5, 4), 3, 2, "same"),
        lambda t: rc.avg_pool2d(t, (5, 4), (2, 3), 1),
        lambda t: rc.avg_pool2d(t, (5, 4), 3, 2, "same"),
        rc.global_avg_pool2d,
    ],
)
def test_gradcheck(fn):
    rng = np.random.default_rng(5)
    x = _rc(_images(rng, 2, 5, 4, 3, distinct=True))
    assert gradcheck(fn, [x], eps=1e-3, atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize(
    "layer,fn",
    [
        (lambda: rc.nn.MaxPool2D(3, 2, "same"), lambda t: rc.max_pool2d(t, (7, 6), 3, 2, "same")),
        (lambda: rc.nn.MaxPooling2D((2, 3)), lambda t: rc.max_pool2d(t, (7, 6), (2, 3))),
        (lambda: rc.nn.AveragePooling2D(2, 1), lambda t: rc.avg_pool2d(t, (7, 6), 2, 1)),
        (
            lambda: rc.nn.AvgPool2D(3, padding="same"),
            lambda t: rc.avg_pool2d(t, (7, 6), 3, None, "same"),
        ),
        (lambda: rc.nn.GlobalAveragePooling2D(), rc.global_avg_pool2d),
    ],
)
def test_layer_equals_function_and_tape_bitwise(layer, fn):
    rng = np.random.default_rng(11)
    B, H, W, C = 3, 7, 6, 4
    x = _rc(_images(rng, B, H, W, C))
    lay = layer()
    lay.build((H, W, C))
    y = lay.forward(x)
    yf = fn(x)
    assert y.shape == yf.shape
    np.testing.assert_array_equal(y.numpy(), yf.numpy())
    assert y.shape[1:] == (yf.shape[1:]) and lay.compute_output_shape((H, W, C))
    g = rc.tensor(rng.standard_normal(y.shape).astype(np.float32))
    dx = lay.backward(g)
    _, dxt = _tape_grad(fn, x, g)
    np.testing.assert_array_equal(dx.numpy(), dxt.numpy())
    # the layer called under a tape records its own backward: the same bits again
    with Tape() as tape:
        tape.watch(x)
        loss = (lay(x) * g).sum(axis=(0, 1, 2))
    np.testing.assert_array_equal(tape.gradient(loss, [x])[0].numpy(), dx.numpy())
    lay.compute_input_grad = False
    assert lay.backward(g) is None


def _all_outputs(x, g_small, g_same, g_glob):
    outs = []
    for f in (rc.max_pool2d, rc.avg_pool2d):
        for args, g in (((3, 2), g_small), ((3, 2, "same"), g_same)):
            y, dx = _tape_grad(lambda t, f=f, args=args: f(t, (17, 15), *args), x, g)
            outs += [y.numpy().copy(), dx.numpy().copy()]
    y, dx = _tape_grad(rc.global_avg_pool2d, x, g_glob)
    return outs + [y.numpy().copy(), dx.numpy().copy()]


def test_bitwise_across_threads_and_backends():
    rng = np.random.default_rng(13)
    B, H, W, C = 9, 17, 15, 37  # C not a multiple of any vector width; > 1 chunk of images
    x4 = rng.standard_normal((B, H, W, C)).astype(np.float32)
    x4[:, ::3, ::2, ::5] = 0.5  # ties
    x = _rc(x4)
    g_small = rc.tensor(rng.standard_normal((B, 8 * 7, C)).astype(np.float32))
    g_same = rc.tensor(rng.standard_normal((B, 9 * 8, C)).astype(np.float32))
    g_glob = rc.tensor(rng.standard_normal((1, B, C)).astype(np.float32))
    old_b, old_t = _runtime.get_backend(), rc.get_num_threads()
    try:
        _runtime.set_backend("serial")
        rc.set_num_threads(1)
        want = _all_outputs(x, g_small, g_same, g_glob)
        for backend in _runtime.capabilities():
            _runtime.set_backend(backend)
            for n in (1, 2, 3):
                rc.set_num_threads(n)
                got = _all_outputs(x, g_small, g_same, g_glob)
                for w, o in zip(want, got, strict=True):
                    np.testing.assert_array_equal(o, w, err_msg=f"{backend} threads={n}")
    finally:
        _runtime.set_backend(old_b)
        rc.set_num_threads(old_t)


def test_layers_in_a_model_train_and_save(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8, 8, 2)).astype(np.float32)
    y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype(np.int64)
    m = rc.nn.Sequential(
        [
            rc.nn.MaxPool2D(2, input_shape=(8, 8, 2)),
            rc.nn.AveragePooling2D(3, 1, padding="same"),
            rc.nn.Flatten(),
            rc.nn.Dense(2, activation="softmax"),
        ]
    )
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert [lay.output_shape for lay in m.layers][:2] == [(4, 4, 2), (4, 4, 2)]
    m.save(tmp_path / "m.rcm")
    m2 = rc.nn.load_model(tmp_path / "m.rcm")
    np.testing.assert_array_equal(m2.predict(x), m.predict(x))
    cfg = m2.layers[1].get_config()
    assert cfg["pool_size"] == [3, 3] and cfg["strides"] == [1, 1] and cfg["padding"] == "same"
    g = rc.nn.Sequential([rc.nn.GlobalAveragePooling2D(input_shape=(8, 8, 2)), rc.nn.Dense(2)])
    g.build((8, 8, 2))
    assert g.predict(x[:5]).shape == (5, 2)


def test_bad_input():
    x = rc.zeros((2, 9, 3))
    with pytest.raises(ShapeError, match="larger than the 3x3 image"):
        rc.max_pool2d(x, (3, 3), 4)
    with pytest.raises(ValueError, match="strides must be positive"):
        rc.avg_pool2d(x, (3, 3), 2, 0)
    with pytest.raises(ValueError, match="pool_size must be positive"):
        rc.avg_pool2d(x, (3, 3), 0)
    with pytest.raises(ShapeError, match="not a batch of 4x4 images"):
        rc.max_pool2d(x, (4, 4))
    with pytest.raises(ShapeError, match="reshape"):
        rc.max_pool2d(np.zeros((2, 3, 3, 3), np.float32), (3, 3))
    with pytest.raises(ValueError, match="padding"):
        rc.max_pool2d(x, (3, 3), padding="full")
    with pytest.raises(TypeError, match="pool_size"):
        rc.max_pool2d(x, (3, 3), pool_size=2.0)
    with pytest.raises(TypeError, match="pool_size"):
        rc.nn.MaxPool2D(True)
    with pytest.raises(ValueError, match="strides must be positive"):
        rc.nn.AveragePooling2D(2, strides=0)
    with pytest.raises(ShapeError, match=r"\(height, width, channels\).*x\[\.\.\., None\]"):
        rc.nn.MaxPool2D().compute_output_shape((8, 8))
    with pytest.raises(ShapeError, match="height, width, channels"):
        rc.nn.GlobalAveragePooling2D().compute_output_shape((64,))
    with pytest.raises(ShapeError, match="larger than the 2x5 image"):
        rc.nn.MaxPool2D(3).compute_output_shape((2, 5, 1))
    lay = rc.nn.MaxPool2D(2, input_shape=(4, 4, 3))
    lay.build((4, 4, 3))
    with pytest.raises(ShapeError, match="expected a batch of 4x4 images with 3 channels"):
        lay.forward(rc.zeros((2, 16, 2)))
    with pytest.raises(ShapeError, match="input_shape"):
        rc.nn.MaxPool2D().forward(rc.zeros((2, 12, 3)))  # 12 pixels: not a square image
    from rcmlrs import _pool

    with pytest.raises(ShapeError, match="gradient of shape"):
        _pool._pool2d_backward(x, rc.zeros((2, 2, 3)), _pool.POOL_MAX, 3, 3, 2, 2, 2, 2, False)
    with pytest.raises(ValueError, match="unknown pooling mode"):
        _pool._pool2d_forward(x, 7, 3, 3, 2, 2, 2, 2, False)


def test_global_pool_of_images_without_pixels_is_a_clear_error():
    with pytest.raises(rc.ShapeError, match="no pixels"):
        rc.global_avg_pool2d(rc.zeros((2, 0, 3)))
