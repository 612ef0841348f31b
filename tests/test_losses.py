"""Losses: values vs float64 NumPy, derivatives vs central differences and torch autograd,
every backend vs serial, thread-count determinism, label forms, extremes and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _runtime

BACKENDS = _runtime.capabilities()


# ------------------------------------------------------------ float64 references


def ref_mse(a, p):
    a, p = np.float64(a), np.float64(p)
    return np.mean((p - a) ** 2), 2 * (p - a) / p.size


def ref_mae(a, p):
    a, p = np.float64(a), np.float64(p)
    return np.mean(np.abs(p - a)), np.sign(p - a) / p.size


def ref_bce(a, p):
    a, p = np.float64(a), np.float64(p)
    with np.errstate(divide="ignore"):
        lp = np.maximum(np.log(p), -100)
        l1p = np.maximum(np.log1p(-p), -100)
    loss = np.mean((a - 1) * l1p - a * lp)
    grad = (p - a) / np.maximum((1 - p) * p, 1e-12) / p.size
    return loss, grad


def ref_xent(target, z):
    """target: (rows, C) distribution; z: (rows, C) logits; mean over rows."""
    z = np.float64(z)
    t = np.float64(target)
    m = z.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    loss = np.sum(t * (lse - z)) / z.shape[0]
    sm = np.exp(z - lse)
    grad = (sm * t.sum(axis=1, keepdims=True) - t) / z.shape[0]
    return loss, grad


def onehot(labels, c):
    out = np.zeros((len(labels), c), np.float32)
    out[np.arange(len(labels)), labels] = 1
    return out


ELEM = {
    "mse": (rc.mse_loss, rc.mse_deriv, ref_mse),
    "mae": (rc.mae_loss, rc.mae_deriv, ref_mae),
    "bce": (rc.binary_cross_entropy, rc.binary_cross_entropy_deriv, ref_bce),
}


def elem_data(kind, shape, rng):
    if kind == "bce":
        a = rng.uniform(0, 1, shape).astype(np.float32)
        a[..., ::3] = np.round(a[..., ::3])  # hard labels mixed with soft ones
        p = rng.uniform(0.02, 0.98, shape).astype(np.float32)
    else:
        a = rng.standard_normal(shape).astype(np.float32)
        p = rng.standard_normal(shape).astype(np.float32)
    return a, p


SHAPES = [(1,), (7,), (16,), (33,), (3, 17), (2, 5, 19), (100_003,)]


# -------------------------------------------------------------------- values


@pytest.mark.parametrize("kind", sorted(ELEM))
@pytest.mark.parametrize("shape", SHAPES)
def test_elementwise_value_and_grad_vs_float64(kind, shape, rng):
    loss_fn, deriv_fn, ref = ELEM[kind]
    a, p = elem_data(kind, shape, rng)
    want_v, want_g = ref(a, p)
    got_v = loss_fn(a, p)
    assert isinstance(got_v, float)
    assert got_v == pytest.approx(want_v, rel=1e-6, abs=1e-9)
    g = deriv_fn(a, p)
    assert isinstance(g, rc.RamTensor)
    assert g.shape == rc.tensor(p).shape
    np.testing.assert_allclose(
        np.asarray(g).reshape(shape), want_g, rtol=2e-6, atol=1e-7 * np.abs(want_g).max()
    )


@pytest.mark.parametrize(
    "rows,cols", [(1, 1), (1, 5), (4, 3), (7, 16), (5, 37), (300, 10), (3, 1000)]
)
def test_cross_entropy_vs_float64(rows, cols, rng):
    z = (rng.standard_normal((rows, cols)) * 4).astype(np.float32)
    labels = rng.integers(0, cols, rows)
    want_v, want_g = ref_xent(onehot(labels, cols), z)
    for actual in (
        labels,
        list(map(int, labels)),
        onehot(labels, cols),
        rc.tensor(onehot(labels, cols)),
    ):
        v = rc.cross_entropy_loss(actual, z)
        g = rc.cross_entropy_deriv(actual, z)
        assert v == pytest.approx(want_v, rel=2e-6, abs=1e-6)
        np.testing.assert_allclose(np.asarray(g)[0], want_g, rtol=1e-5, atol=1e-8)


def test_cross_entropy_soft_targets(rng):
    z = rng.standard_normal((9, 21)).astype(np.float32)
    t = rng.uniform(0, 1, (9, 21)).astype(np.float32)
    t /= t.sum(axis=1, keepdims=True)
    t[2] *= 3  # an unnormalised row: gradient uses sum_c t_c
    want_v, want_g = ref_xent(t, z)
    v, g = rc.losses.get("cross_entropy").value_and_grad(t, z)
    assert v == pytest.approx(want_v, rel=2e-6)
    np.testing.assert_allclose(np.asarray(g)[0], want_g, rtol=1e-5, atol=1e-8)


def test_cross_entropy_labels_and_onehot_give_identical_bits(rng):
    z = rng.standard_normal((2, 50, 13)).astype(np.float32)
    lab = rng.integers(0, 13, 100)
    oh = onehot(lab, 13).reshape(2, 50, 13)
    v1, g1 = rc.losses.CrossEntropy().value_and_grad(lab, z)
    v2, g2 = rc.losses.CrossEntropy().value_and_grad(oh, z)
    assert v1 == v2
    assert g1.equals(g2)


def test_cross_entropy_label_forms(rng):
    z = rng.standard_normal((3, 4, 5)).astype(np.float32)  # 3 layers x 4 rows
    lab = rng.integers(0, 5, 12)
    want_v, want_g = ref_xent(onehot(lab, 5), z.reshape(12, 5))
    for form in (
        lab,
        lab.astype(np.int32),
        lab.astype(np.uint8),
        lab.astype(np.float32),
        rc.tensor(lab.astype(np.float32)),
        lab.reshape(3, 4),
        list(map(int, lab)),
    ):
        assert rc.cross_entropy_loss(form, z) == pytest.approx(want_v, rel=2e-6)
    # R labels shared by every layer
    lab4 = lab[:4]
    want_v, _ = ref_xent(onehot(np.tile(lab4, 3), 5), z.reshape(12, 5))
    assert rc.cross_entropy_loss(lab4, z) == pytest.approx(want_v, rel=2e-6)
    g = rc.cross_entropy_deriv(lab, rc.tensor(z))
    np.testing.assert_allclose(np.asarray(g).reshape(12, 5), want_g, rtol=1e-5, atol=1e-8)


# ----------------------------------------------------------- finite differences


def central_diff(f, x, h):
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = f(x)
        flat[i] = old - h
        fm = f(x)
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * h)
    return g


@pytest.mark.parametrize("kind", sorted(ELEM))
def test_elementwise_deriv_vs_central_differences(kind, rng):
    _, deriv_fn, ref = ELEM[kind]
    a, p = elem_data(kind, (3, 7), rng)
    if kind == "mae":  # keep away from the kink at p == a
        p = np.where(np.abs(p - a) < 0.05, a + 0.1, p).astype(np.float32)
    fd = central_diff(lambda x: ref(a, x)[0], np.float64(p), 1e-6)
    np.testing.assert_allclose(np.asarray(deriv_fn(a, p))[0], fd, rtol=1e-5, atol=1e-9)


def test_cross_entropy_deriv_vs_central_differences(rng):
    z = rng.standard_normal((4, 6)).astype(np.float32)
    lab = rng.integers(0, 6, 4)
    t = onehot(lab, 6)
    fd = central_diff(lambda x: ref_xent(t, x)[0], np.float64(z), 1e-6)
    np.testing.assert_allclose(
        np.asarray(rc.cross_entropy_deriv(lab, z))[0], fd, rtol=1e-5, atol=1e-8
    )


# --------------------------------------------------------------------- torch


def test_losses_vs_torch_autograd(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    shape = (2, 9, 11)
    cases = {
        "mse": (F.mse_loss, rc.losses.MSE()),
        "mae": (F.l1_loss, rc.losses.MAE()),
        "bce": (F.binary_cross_entropy, rc.losses.BinaryCrossEntropy()),
    }
    for kind, (tf, ours) in cases.items():
        a, p = elem_data(kind, shape, rng)
        tp = torch.tensor(p, requires_grad=True)
        tl = tf(tp, torch.tensor(a))
        tl.backward()
        v, g = ours.value_and_grad(a, p)
        assert v == pytest.approx(tl.item(), rel=2e-6), kind
        np.testing.assert_allclose(np.asarray(g), tp.grad.numpy(), rtol=1e-5, atol=1e-9)
    # cross-entropy: labels and probabilities, logits (N, C)
    z = (rng.standard_normal((64, 10)) * 5).astype(np.float32)
    lab = rng.integers(0, 10, 64)
    soft = rng.uniform(0, 1, (64, 10)).astype(np.float32)
    soft /= soft.sum(axis=1, keepdims=True)
    for target, ttarget in ((lab, torch.tensor(lab)), (soft, torch.tensor(soft))):
        tz = torch.tensor(z, requires_grad=True)
        tl = F.cross_entropy(tz, ttarget)
        tl.backward()
        v, g = rc.losses.get("cross_entropy").value_and_grad(target, z)
        assert v == pytest.approx(tl.item(), rel=2e-6)
        np.testing.assert_allclose(np.asarray(g)[0], tz.grad.numpy(), rtol=1e-5, atol=1e-8)


def test_bce_saturated_vs_torch():
    torch = pytest.importorskip("torch")
    a = np.array([0, 1, 1, 0, 1, 0, 0.5, 0.5], np.float32)
    p = np.array([0, 1, 0, 1, 1e-30, 1 - 1e-7, 0, 1], np.float32)
    tp = torch.tensor(p, requires_grad=True)
    tl = torch.nn.functional.binary_cross_entropy(tp, torch.tensor(a))
    tl.backward()
    v, g = rc.losses.get("bce").value_and_grad(a, p)
    assert math.isfinite(v) and np.isfinite(np.asarray(g)).all()
    assert v == pytest.approx(tl.item(), rel=1e-6)
    np.testing.assert_allclose(np.asarray(g)[0, 0], tp.grad.numpy(), rtol=1e-5)


# ---------------------------------------------------- backends and threads


def _all_losses(a, p, z, lab, bce_a, bce_p):
    out = []
    for loss in ("mse", "mae"):
        out.append(rc.losses.get(loss).value_and_grad(a, p))
    out.append(rc.losses.get("bce").value_and_grad(bce_a, bce_p))
    out.append(rc.losses.get("cross_entropy").value_and_grad(lab, z))
    out.append(rc.losses.get("cross_entropy").value_and_grad(onehot(lab, z.shape[1]) * 0.5, z))
    return out


@pytest.mark.parametrize("n", [37, 300_001])
def test_every_backend_and_thread_count_matches_serial_bitwise(n, rng, restore):
    a, p = elem_data("mse", (n,), rng)
    ba, bp = elem_data("bce", (n,), rng)
    cols = 29
    z = (rng.standard_normal((max(1, n // cols), cols)) * 3).astype(np.float32)
    lab = rng.integers(0, cols, z.shape[0])
    _runtime.set_backend("serial")
    rc.set_num_threads(1)
    ref = _all_losses(a, p, z, lab, ba, bp)
    for backend in BACKENDS:
        _runtime.set_backend(backend)
        for threads in (1, 2, 5):
            rc.set_num_threads(threads)
            got = _all_losses(a, p, z, lab, ba, bp)
            for (v0, g0), (v1, g1) in zip(ref, got, strict=True):
                assert v0 == v1, (backend, threads)
                assert g0.equals(g1), (backend, threads)


# ------------------------------------------------------------------- extremes


def test_cross_entropy_extreme_logits():
    z = np.array(
        [[1e4, 0, -1e4], [-1e4, -1e4, -1e4], [1e30, -1e30, 0], [88.0, 89.0, 90.0]], np.float32
    )
    lab = [0, 1, 2, 0]
    v, g = rc.losses.get("ce").value_and_grad(lab, z)
    want_v, want_g = ref_xent(onehot(lab, 3), z)
    assert math.isfinite(v)
    assert v == pytest.approx(want_v, rel=1e-6)
    np.testing.assert_allclose(np.asarray(g)[0], want_g, rtol=1e-5, atol=1e-8)


def test_cross_entropy_minus_inf_on_other_classes_is_finite():
    z = np.array([[0.0, -np.inf, 2.0]], np.float32)
    v, g = rc.losses.get("ce").value_and_grad(onehot([2], 3), z)
    assert math.isfinite(v) and np.isfinite(np.asarray(g)).all()
    v2 = rc.cross_entropy_loss([2], z)
    assert v == v2


def test_nan_propagates():
    v, g = rc.losses.get("mse").value_and_grad([1.0, 2.0], [np.nan, 2.0])
    assert math.isnan(v) and math.isnan(g[0, 0, 0]) and g[0, 0, 1] == 0.0
    v, g = rc.losses.get("mae").value_and_grad([1.0, 2.0], [np.nan, 3.0])
    assert math.isnan(v) and math.isnan(g[0, 0, 0]) and g[0, 0, 1] == 0.5
    v, g = rc.losses.get("ce").value_and_grad([0], [[np.nan, 1.0]])
    assert math.isnan(v)


def test_inf_and_signed_zero():
    assert rc.mse_loss([0.0], [np.inf]) == math.inf
    assert rc.mae_loss([-0.0], [0.0]) == 0.0
    assert rc.mae_deriv([1.0], [1.0])[0, 0, 0] == 0.0


def test_empty_inputs_give_nan():
    v, g = rc.losses.get("mse").value_and_grad(rc.zeros((1, 0, 3)), rc.zeros((1, 0, 3)))
    assert math.isnan(v) and g.shape == (1, 0, 3)


# --------------------------------------------------------------------- errors


def test_shape_mismatch_names_both_shapes():
    for fn in (rc.mse_loss, rc.mae_deriv, rc.binary_cross_entropy):
        with pytest.raises(rc.ShapeError, match=r"\(1, 2, 3\).*\(1, 3, 2\)"):
            fn(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(rc.ShapeError, match=r"\(1, 4, 3\)"):
        rc.cross_entropy_loss([0, 1, 2], np.zeros((4, 3)))
    with pytest.raises(ValueError):  # ShapeError is a ValueError
        rc.cross_entropy_loss(np.zeros((4, 2)), np.zeros((4, 3)))


def test_bad_labels():
    z = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="label 4 .*row 2"):
        rc.cross_entropy_loss([0, 1, 4], z)
    with pytest.raises(ValueError, match="label -1 .*row 0"):
        rc.cross_entropy_deriv(np.array([-1, 1, 2]), z)
    with pytest.raises(ValueError, match="label 1.5"):
        rc.cross_entropy_loss(np.array([0, 1.5, 2]), z)
    with pytest.raises(ValueError, match="label 7"):
        rc.cross_entropy_loss(rc.tensor([0.0, 7.0, 1.0]), z)
    with pytest.raises(TypeError):
        rc.cross_entropy_loss("abc", z)
    with pytest.raises(TypeError):
        rc.cross_entropy_loss(None, z)


def test_get_and_objects():
    assert isinstance(rc.losses.get("MSE"), rc.losses.MSE)
    assert isinstance(rc.losses.get("binary_crossentropy"), rc.losses.BinaryCrossEntropy)
    assert isinstance(rc.losses.get("sparse_categorical_crossentropy"), rc.losses.CrossEntropy)
    loss = rc.losses.get("mae")
    assert rc.losses.get(loss) is loss
    assert repr(loss) == "MAE()"
    with pytest.raises(ValueError, match="unknown loss"):
        rc.losses.get("hinge")
    with pytest.raises(TypeError):
        rc.losses.get(3)
    a, p = [1.0, 2.0, 3.0], [1.5, 2.0, 2.0]
    v, g = loss.value_and_grad(a, p)
    assert v == loss.value(a, p) == rc.mae_loss(a, p)
    t = loss(a, p)  # calling the object gives the loss as a (1, 1, 1) tensor
    assert isinstance(t, rc.RamTensor) and t.shape == (1, 1, 1) and float(t) == v
    assert g.equals(loss.grad(a, p)) and g.equals(rc.mae_deriv(a, p))


def test_inputs_unchanged(rng):
    z = rng.standard_normal((5, 7)).astype(np.float32)
    t = onehot(rng.integers(0, 7, 5), 7)
    rz, rt = rc.tensor(z), rc.tensor(t)
    rc.losses.get("ce").value_and_grad(rt, rz)
    np.testing.assert_array_equal(np.asarray(rz)[0], z)
    np.testing.assert_array_equal(np.asarray(rt)[0], t)
