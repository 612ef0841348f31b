"""Loss options (issue 14): ``reduction``, ``weight``, ``label_smoothing``, ``nll_loss``,
``log_softmax_backward`` and Loss objects as tensors.

Every loss x reduction x weight (x label_smoothing for cross-entropy) is checked against a
float64 NumPy reference (always) and against torch.nn.functional with torch autograd for
the gradients (skipped without torch). Semantics checked here:

- elementwise losses (mse, mae, bce, bce with logits): ``weight`` is one per row (sample),
  broadcast over the columns; the weighted mean divides by the element COUNT (torch's
  ``binary_cross_entropy(weight=w[:, None])``, Keras's ``sample_weight``);
- cross-entropy: ``weight`` one per row, weighted mean sum(w l) / sum(w) (torch's
  weighted cross_entropy); nll: ``weight`` one per CLASS, mean sum(w[y] l) / sum(w[y])
  (torch's nll_loss);
- "none" gives every term (elementwise: predicted's shape; rows: (L, R, 1)) and the
  derivative of their sum.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import require

import rcmlrs as rc
from rcmlrs import _runtime

REDUCTIONS = ["mean", "sum", "none"]
SHAPE = (2, 5, 7)  # layers x rows x cols: 10 rows (samples) of 7
ROWS, COLS = SHAPE[0] * SHAPE[1], SHAPE[2]

ELEM_FNS = {
    "mse": (rc.mse_loss, rc.mse_deriv),
    "mae": (rc.mae_loss, rc.mae_deriv),
    "bce": (rc.binary_cross_entropy, rc.binary_cross_entropy_deriv),
    "bce_logits": (rc.binary_cross_entropy_with_logits, rc.binary_cross_entropy_with_logits_deriv),
}
ELEM_OBJS = {
    "mse": rc.losses.MSE,
    "mae": rc.losses.MAE,
    "bce": rc.losses.BinaryCrossEntropy,
    "bce_logits": lambda **kw: rc.losses.BinaryCrossEntropy(from_logits=True, **kw),
}


def _np(x):
    return np.asarray(x, dtype=np.float64)


def _data(kind, rng, shape=SHAPE):
    if kind == "bce":
        a = rng.uniform(0, 1, shape).astype(np.float32)
        a[..., ::3] = np.round(a[..., ::3])
        p = rng.uniform(0.02, 0.98, shape).astype(np.float32)
    elif kind == "bce_logits":
        a = rng.uniform(0, 1, shape).astype(np.float32)
        p = (rng.standard_normal(shape) * 3).astype(np.float32)
    else:
        a = rng.standard_normal(shape).astype(np.float32)
        p = rng.standard_normal(shape).astype(np.float32)
        if kind == "mae":  # no kinks within reach of rounding
            p = np.where(np.abs(p - a) < 1e-3, a + 0.1, p).astype(np.float32)
    return a, p


def _row_weights(rng, rows=ROWS):
    return rng.uniform(0.1, 2.0, rows).astype(np.float32)


# ------------------------------------------------------------ float64 references


def _elem_terms(kind, a, p):
    """(terms, d term / dp) in float64."""
    a, p = _np(a), _np(p)
    if kind == "mse":
        return (p - a) ** 2, 2 * (p - a)
    if kind == "mae":
        return np.abs(p - a), np.sign(p - a)
    if kind == "bce":
        lp = np.maximum(np.log(p), -100)
        l1p = np.maximum(np.log1p(-p), -100)
        return (a - 1) * l1p - a * lp, (p - a) / np.maximum((1 - p) * p, 1e-12)
    sig = 1 / (1 + np.exp(-p))
    return np.maximum(p, 0) - p * a + np.log1p(np.exp(-np.abs(p))), sig - a


def _reduce(terms, dterms, w, reduction, den):
    """value and gradient of sum(w * terms) reduced; den is the MEAN's denominator."""
    wt, wd = terms * w, dterms * w
    if reduction == "mean":
        return wt.sum() / den, wd / den
    if reduction == "sum":
        return wt.sum(), wd
    return wt, wd


def ref_elem(kind, a, p, w_row, reduction):
    terms, dterms = _elem_terms(kind, a, p)
    w = 1.0 if w_row is None else _np(w_row).reshape(SHAPE[0], SHAPE[1], 1)
    return _reduce(terms, dterms, w, reduction, terms.size)


def _smoothed(target, eps):
    return (1 - eps) * target + eps / target.shape[1]


def ref_xent(target, z, w, reduction, eps):
    """target (rows, C) one-hot or distribution; w per row; rows' mean divides by sum(w)."""
    z, t = _np(z), _smoothed(_np(target), eps)
    m = z.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    terms = (t * (lse - z)).sum(axis=1, keepdims=True)
    dterms = np.exp(z - lse) * t.sum(axis=1, keepdims=True) - t
    w = np.ones((z.shape[0], 1)) if w is None else _np(w).reshape(-1, 1)
    return _reduce(terms, dterms, w, reduction, w.sum())


def ref_nll(labels, lp, cw, reduction):
    lp = _np(lp)
    rows = np.arange(lp.shape[0])
    wy = np.ones(lp.shape[0]) if cw is None else _np(cw)[labels]
    terms = (-lp[rows, labels]).reshape(-1, 1)
    dterms = np.zeros_like(lp)
    dterms[rows, labels] = -1.0
    return _reduce(terms, dterms, wy.reshape(-1, 1), reduction, wy.sum())


def onehot(labels, c):
    out = np.zeros((len(labels), c), np.float32)
    out[np.arange(len(labels)), labels] = 1
    return out


def _close(got, want, rtol=2e-6, atol=0.0):
    if isinstance(got, rc.RamTensor):
        got = np.asarray(got)
    np.testing.assert_allclose(np.reshape(got, np.shape(want)), want, rtol=rtol, atol=atol)


def _grad_close(got, want):
    want = np.asarray(want)
    atol = 1e-7 * max(np.abs(want).max(), 1e-30)
    np.testing.assert_allclose(np.asarray(got).reshape(want.shape), want, rtol=2e-5, atol=atol)


# ------------------------------------------------------- values vs float64 NumPy


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", sorted(ELEM_FNS))
def test_elementwise_options_vs_float64(kind, weighted, reduction, rng):
    loss_fn, deriv_fn = ELEM_FNS[kind]
    a, p = _data(kind, rng)
    w = _row_weights(rng) if weighted else None
    want_v, want_g = ref_elem(kind, a, p, w, reduction)
    v = loss_fn(a, p, weight=w, reduction=reduction)
    g = deriv_fn(a, p, weight=w, reduction=reduction)
    if reduction == "none":
        assert isinstance(v, rc.RamTensor) and v.shape == SHAPE
        _close(v, want_v, rtol=2e-6, atol=1e-30)
    else:
        assert isinstance(v, float)
        assert v == pytest.approx(want_v, rel=1e-6)
    assert g.shape == SHAPE
    _grad_close(g, want_g)
    # the object form: the same value and the same bits of gradient
    obj = ELEM_OBJS[kind](reduction=reduction)
    v2, g2 = obj.value_and_grad(a, p, weight=w)
    assert g2.equals(g)
    if reduction == "none":
        assert v2.equals(v)
    else:
        assert v2 == v


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("form", ["labels", "onehot", "soft"])
def test_cross_entropy_options_vs_float64(form, eps, weighted, reduction, rng):
    z = (rng.standard_normal(SHAPE) * 3).astype(np.float32)
    labels = rng.integers(0, COLS, ROWS)
    if form == "soft":
        target = rng.uniform(0, 1, (ROWS, COLS)).astype(np.float32)
        target /= target.sum(axis=1, keepdims=True)
        actual = target.reshape(SHAPE)
    else:
        target = onehot(labels, COLS)
        actual = labels if form == "labels" else target.reshape(SHAPE)
    w = _row_weights(rng) if weighted else None
    want_v, want_g = ref_xent(target, z.reshape(ROWS, COLS), w, reduction, eps)
    kw = {"weight": w, "reduction": reduction, "label_smoothing": eps}
    v = rc.cross_entropy_loss(actual, z, **kw)
    g = rc.cross_entropy_deriv(actual, z, **kw)
    if reduction == "none":
        assert isinstance(v, rc.RamTensor) and v.shape == (SHAPE[0], SHAPE[1], 1)
        _close(v, want_v, rtol=5e-6)
    else:
        assert v == pytest.approx(want_v, rel=2e-6)
    _grad_close(g, want_g)
    obj = rc.losses.CrossEntropy(reduction=reduction, label_smoothing=eps)
    v2, g2 = obj.value_and_grad(actual, z, weight=w)
    assert g2.equals(g)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_vs_float64(weighted, reduction, rng):
    z = (rng.standard_normal(SHAPE) * 2).astype(np.float32)
    lp = rc.tensor(z).log_softmax()
    labels = rng.integers(0, COLS, ROWS)
    cw = rng.uniform(0.2, 3.0, COLS).astype(np.float32) if weighted else None
    want_v, want_g = ref_nll(labels, np.asarray(lp).reshape(ROWS, COLS), cw, reduction)
    v = rc.nll_loss(labels, lp, cw, reduction)
    g = rc.nll_deriv(labels, lp, weight=cw, reduction=reduction)
    if reduction == "none":
        assert v.shape == (SHAPE[0], SHAPE[1], 1)
        _close(v, want_v, rtol=2e-7)
    else:
        assert v == pytest.approx(want_v, rel=1e-6)
    _grad_close(g, want_g)
    v2, g2 = rc.losses.NLL(reduction=reduction).value_and_grad(labels, lp, weight=cw)
    assert g2.equals(g)


def test_nll_of_log_softmax_equals_cross_entropy(rng):
    z = (rng.standard_normal((40, 9)) * 4).astype(np.float32)
    lab = rng.integers(0, 9, 40)
    v_ce = rc.cross_entropy_loss(lab, z)
    v_nll = rc.nll_loss(lab, rc.tensor(z).log_softmax())
    assert v_nll == pytest.approx(v_ce, rel=1e-6)


# ------------------------------------------------------------- vs torch autograd


def _torch_reduce(terms, reduction, den=None):
    if reduction == "none":
        return terms
    total = terms.sum()
    return total / (terms.numel() if den is None else den) if reduction == "mean" else total


def _torch_grad(torch, out, x):
    out.backward(torch.ones_like(out))
    return x.grad.numpy()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", sorted(ELEM_FNS))
def test_elementwise_options_vs_torch(kind, weighted, reduction, rng):
    torch = require("torch")
    F = torch.nn.functional
    a, p = _data(kind, rng)
    a2, p2 = a.reshape(ROWS, COLS), p.reshape(ROWS, COLS)
    w = _row_weights(rng) if weighted else None
    tp, ta = torch.tensor(p2, requires_grad=True), torch.tensor(a2)
    tw = None if w is None else torch.tensor(w).reshape(-1, 1)  # (N, 1): per sample
    if kind in ("bce", "bce_logits"):
        f = F.binary_cross_entropy if kind == "bce" else F.binary_cross_entropy_with_logits
        out = f(tp, ta, weight=tw, reduction=reduction)  # torch's own weight and reduction
    else:
        f = F.mse_loss if kind == "mse" else F.l1_loss
        terms = f(tp, ta, reduction="none")
        out = _torch_reduce(terms if tw is None else terms * tw, reduction)  # Keras-style
    want_g = _torch_grad(torch, out, tp)
    loss = ELEM_OBJS[kind](reduction=reduction)
    v, g = loss.value_and_grad(a, p, weight=w)
    if reduction == "none":
        _close(v, out.detach().numpy().reshape(SHAPE), rtol=2e-6, atol=1e-30)
    else:
        assert v == pytest.approx(out.item(), rel=2e-6)
    _grad_close(g, want_g.reshape(SHAPE))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("eps", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("form", ["labels", "soft"])
def test_cross_entropy_options_vs_torch(form, eps, weighted, reduction, rng):
    torch = require("torch")
    F = torch.nn.functional
    z = (rng.standard_normal((ROWS, COLS)) * 3).astype(np.float32)
    labels = rng.integers(0, COLS, ROWS)
    if form == "soft":
        actual = rng.uniform(0, 1, (ROWS, COLS)).astype(np.float32)
        actual /= actual.sum(axis=1, keepdims=True)
        tt = torch.tensor(actual)
    else:
        actual, tt = labels, torch.tensor(labels)
    w = _row_weights(rng) if weighted else None
    tz = torch.tensor(z, requires_grad=True)
    if w is None:
        out = F.cross_entropy(tz, tt, reduction=reduction, label_smoothing=eps)
    else:  # per-sample weights, torch's weighted mean sum(w l) / sum(w)
        tw = torch.tensor(w)
        terms = F.cross_entropy(tz, tt, reduction="none", label_smoothing=eps) * tw
        out = _torch_reduce(terms, reduction, tw.sum())
    want_g = _torch_grad(torch, out, tz)
    loss = rc.losses.CrossEntropy(reduction=reduction, label_smoothing=eps)
    v, g = loss.value_and_grad(actual, z, weight=w)
    if reduction == "none":
        _close(v, out.detach().numpy().reshape(1, ROWS, 1), rtol=1e-5, atol=1e-6)
    else:
        assert v == pytest.approx(out.item(), rel=2e-6)
    _grad_close(g, want_g.reshape(1, ROWS, COLS))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_vs_torch(weighted, reduction, rng):
    torch = require("torch")
    lp = (rc.tensor((rng.standard_normal((ROWS, COLS)) * 2).astype(np.float32))).log_softmax()
    labels = rng.integers(0, COLS, ROWS)
    cw = rng.uniform(0.2, 3.0, COLS).astype(np.float32) if weighted else None
    tlp = torch.tensor(np.asarray(lp)[0], requires_grad=True)
    tw = None if cw is None else torch.tensor(cw)
    out = torch.nn.functional.nll_loss(tlp, torch.tensor(labels), weight=tw, reduction=reduction)
    want_g = _torch_grad(torch, out, tlp)
    v, g = rc.losses.NLL(reduction=reduction).value_and_grad(labels, lp, weight=cw)
    if reduction == "none":
        _close(v, out.detach().numpy().reshape(1, ROWS, 1), rtol=1e-6)
    else:
        assert v == pytest.approx(out.item(), rel=1e-6)
    _grad_close(g, want_g.reshape(1, ROWS, COLS))


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_log_softmax_backward_vs_torch(axis, rng):
    torch = require("torch")
    x = (rng.standard_normal((3, 4, 21)) * 3).astype(np.float32)
    g = rng.standard_normal((3, 4, 21)).astype(np.float32)
    tx = torch.tensor(x, requires_grad=True)
    torch.log_softmax(tx, dim=axis).backward(torch.tensor(g))
    got = rc.tensor(x).log_softmax_backward(rc.tensor(g), axis=axis)
    np.testing.assert_allclose(np.asarray(got), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------ log_softmax backward


@pytest.mark.parametrize(
    "shape,axis",
    [((1, 3, 1), -1), ((2, 3, 37), -1), ((2, 40, 5), 1), ((70, 2, 3), 0), ((1, 1, 0), -1)],
)
def test_log_softmax_backward_vs_float64(shape, axis, rng):
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    x64, g64 = _np(x), _np(g)
    m = x64.max(axis=axis, keepdims=True) if x.size else 0.0
    e = np.exp(x64 - m)
    sm = e / e.sum(axis=axis, keepdims=True) if x.size else e
    want = g64 - sm * g64.sum(axis=axis, keepdims=True)
    got = rc.tensor(x).log_softmax_backward(g, axis=axis)
    assert got.shape == shape
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)


def test_log_softmax_backward_is_the_softmax_bits_times_the_row_sum(rng):
    # y = softmax(x) is recomputed with softmax's own bits; a constant gradient row
    # (sum 1 * cols) makes the product exact, so out == g - y * cols bit for bit
    x = rc.tensor((rng.standard_normal((3, 33)) * 2).astype(np.float32))
    g = rc.ones((1, 3, 33))
    got = x.log_softmax_backward(g)
    want = g - x.softmax() * 33.0
    assert got.equals(want)


def test_log_softmax_backward_errors():
    x = rc.zeros((1, 2, 3))
    with pytest.raises(rc.ShapeError):
        x.log_softmax_backward(rc.zeros((1, 3, 2)))
    with pytest.raises((ValueError, IndexError)):
        x.log_softmax_backward(rc.zeros((1, 2, 3)), axis=5)


# ------------------------------------------------------------------ exact properties


@pytest.mark.parametrize("n", [37, 300_001])
def test_weights_of_one_change_no_bit(n, rng):
    a, p = _data("mse", rng, (1, n, 1))
    ba, bp = _data("bce", rng, (1, n, 1))
    ones = np.ones(n, np.float32)
    for kind, (aa, pp) in {
        "mse": (a, p),
        "mae": (a, p),
        "bce": (ba, bp),
        "bce_logits": (ba, p),
    }.items():
        obj = ELEM_OBJS[kind]()
        v0, g0 = obj.value_and_grad(aa, pp)
        v1, g1 = obj.value_and_grad(aa, pp, weight=ones)
        assert v0 == v1 and g0.equals(g1), kind
    z = (rng.standard_normal((max(1, n // 29), 29)) * 3).astype(np.float32)
    lab = rng.integers(0, 29, z.shape[0])
    ce = rc.losses.CrossEntropy()
    v0, g0 = ce.value_and_grad(lab, z)
    v1, g1 = ce.value_and_grad(lab, z, weight=np.ones(z.shape[0], np.float32))
    assert v0 == v1 and g0.equals(g1)
    lp = rc.tensor(z).log_softmax()
    v0, g0 = rc.losses.NLL().value_and_grad(lab, lp)
    v1, g1 = rc.losses.NLL().value_and_grad(lab, lp, weight=np.ones(29, np.float32))
    assert v0 == v1 and g0.equals(g1)


@pytest.mark.parametrize("eps", [0.0, 0.05, 1.0])
def test_labels_and_onehot_give_identical_bits_with_smoothing(eps, rng):
    z = (rng.standard_normal((2, 30, 19)) * 3).astype(np.float32)
    lab = rng.integers(0, 19, 60)
    w = _row_weights(rng, 60)
    ce = rc.losses.CrossEntropy(label_smoothing=eps)
    for reduction in REDUCTIONS:
        ce.reduction = reduction
        v1, g1 = ce.value_and_grad(lab, z, weight=w)
        v2, g2 = ce.value_and_grad(onehot(lab, 19).reshape(z.shape), z, weight=w)
        assert g1.equals(g2)
        assert v1.equals(v2) if reduction == "none" else v1 == v2


def test_none_terms_add_up_to_sum_and_mean(rng):
    a, p = _data("mse", rng)
    w = _row_weights(rng)
    terms = rc.mse_loss(a, p, weight=w, reduction="none")
    total = rc.mse_loss(a, p, weight=w, reduction="sum")
    mean = rc.mse_loss(a, p, weight=w, reduction="mean")
    assert total == pytest.approx(float(np.asarray(terms, np.float64).sum()), rel=1e-6)
    assert mean == pytest.approx(total / a.size, rel=1e-12)
    # "none"'s gradient is every term's derivative; "sum"'s is the same tensor
    assert rc.mse_deriv(a, p, weight=w, reduction="none").equals(
        rc.mse_deriv(a, p, weight=w, reduction="sum")
    )


def test_weight_forms(rng):
    a, p = _data("mse", rng)
    w = _row_weights(rng)
    want = rc.mse_loss(a, p, weight=w)
    per_elem = np.repeat(w, COLS).reshape(SHAPE)
    assert rc.mse_loss(a, p, weight=per_elem) == want  # one per element
    assert rc.mse_loss(a, p, weight=rc.tensor(w)) == want  # a tensor
    assert rc.mse_loss(a, p, weight=list(map(float, w))) == want  # a list
    # R weights are shared by every layer
    w5 = w[:5]
    assert rc.mse_loss(a, p, weight=w5) == rc.mse_loss(a, p, weight=np.tile(w5, 2))
    z = rng.standard_normal(SHAPE).astype(np.float32)
    lab = rng.integers(0, COLS, ROWS)
    assert rc.cross_entropy_loss(lab, z, weight=w5) == rc.cross_entropy_loss(
        lab, z, weight=np.tile(w5, 2)
    )


def test_weighted_mean_with_zero_weights_is_nan(rng):
    z = rng.standard_normal((4, 3)).astype(np.float32)
    assert math.isnan(rc.cross_entropy_loss([0, 1, 2, 0], z, weight=np.zeros(4)))
    assert rc.cross_entropy_loss([0, 1, 2, 0], z, weight=np.zeros(4), reduction="sum") == 0.0


def test_empty_inputs():
    e = rc.zeros((1, 0, 3))
    assert math.isnan(rc.mse_loss(e, e))
    assert rc.mse_loss(e, e, reduction="sum") == 0.0
    assert rc.mse_loss(e, e, reduction="none").shape == (1, 0, 3)
    assert rc.cross_entropy_loss(np.zeros(0, np.int64), e, reduction="sum") == 0.0
    assert rc.cross_entropy_loss(np.zeros(0, np.int64), e, reduction="none").shape == (1, 0, 1)
    assert rc.nll_loss(np.zeros(0, np.int64), e, reduction="none").shape == (1, 0, 1)
    assert math.isnan(rc.nll_loss(np.zeros(0, np.int64), e))


# ------------------------------------------------------------ backends and threads


def _option_results(a, p, w, z, lab, wr, cw, x, g):
    out = []
    for kind in sorted(ELEM_OBJS):
        for reduction in REDUCTIONS:
            v, gr = ELEM_OBJS[kind](reduction=reduction).value_and_grad(a, p, weight=w)
            out += [np.asarray(v).copy(), np.asarray(gr).copy()]
    for eps in (0.0, 0.2):
        for reduction in REDUCTIONS:
            ce = rc.losses.CrossEntropy(reduction=reduction, label_smoothing=eps)
            for actual in (lab, onehot(lab, z.shape[1]) * 0.5):
                v, gr = ce.value_and_grad(actual, z, weight=wr)
                out += [np.asarray(v).copy(), np.asarray(gr).copy()]
        v, gr = rc.losses.NLL(reduction="none").value_and_grad(lab, z, weight=cw)
        out += [np.asarray(v).copy(), np.asarray(gr).copy()]
    for axis in (-1, 0):
        out.append(np.asarray(x.log_softmax_backward(g, axis=axis)).copy())
    return out


@pytest.mark.parametrize("n", [37, 300_001])
def test_every_backend_and_thread_count_matches_serial_bitwise(n, rng, threads):
    a, p = _data("bce", rng, (1, n, 1))
    w = rng.uniform(0, 2, n).astype(np.float32)
    cols = 29
    z = (rng.standard_normal((max(1, n // cols), cols)) * 3).astype(np.float32)
    lab = rng.integers(0, cols, z.shape[0])
    wr = rng.uniform(0, 2, z.shape[0]).astype(np.float32)
    cw = rng.uniform(0, 2, cols).astype(np.float32)
    x = rc.tensor((rng.standard_normal((3, max(1, n // 300), 100)) * 3).astype(np.float32))
    g = rc.tensor(rng.standard_normal(x.shape).astype(np.float32))
    old = _runtime.get_backend()
    try:
        _runtime.set_backend("serial")
        rc.set_num_threads(1)
        ref = _option_results(a, p, w, z, lab, wr, cw, x, g)
        for backend in _runtime.capabilities():
            _runtime.set_backend(backend)
            for nt in (1, 2, 5):
                rc.set_num_threads(nt)
                got = _option_results(a, p, w, z, lab, wr, cw, x, g)
                for i, (r, o) in enumerate(zip(ref, got, strict=True)):
                    assert r.tobytes() == o.tobytes(), (backend, nt, i)
    finally:
        _runtime.set_backend(old)


# ------------------------------------------------------------------- Loss objects


def test_loss_objects_return_tensors(rng):
    a, p = _data("mse", rng)
    for loss in (rc.losses.MSE(), rc.losses.MAE(), rc.losses.MSE(reduction="sum")):
        t = loss(a, p)
        assert isinstance(t, rc.RamTensor) and t.shape == (1, 1, 1)
        assert float(t) == np.float32(loss.value(a, p))
    t = rc.losses.MSE(reduction="none")(a, p)
    assert t.shape == SHAPE and t.equals(rc.mse_loss(a, p, reduction="none"))
    z = rng.standard_normal(SHAPE).astype(np.float32)
    lab = rng.integers(0, COLS, ROWS)
    t = rc.losses.CrossEntropy(label_smoothing=0.1)(lab, z)
    assert t.shape == (1, 1, 1)
    assert float(t) == pytest.approx(rc.cross_entropy_loss(lab, z, label_smoothing=0.1), rel=1e-7)
    assert rc.losses.CrossEntropy(reduction="none")(lab, z).shape == (2, 5, 1)
    assert rc.losses.NLL()(lab, rc.tensor(z).log_softmax()).shape == (1, 1, 1)
    assert rc.losses.BinaryCrossEntropy(from_logits=True)(a > 0, z).shape == (1, 1, 1)


def test_loss_object_config_repr_and_get():
    ce = rc.losses.CrossEntropy(reduction="sum", label_smoothing=0.1)
    assert repr(ce) == "CrossEntropy(reduction='sum', label_smoothing=0.1)"
    cfg = ce.get_config()
    assert cfg == {"name": "cross_entropy", "reduction": "sum", "label_smoothing": 0.1}
    again = type(rc.losses.get(cfg["name"]))(**{k: v for k, v in cfg.items() if k != "name"})
    assert again.reduction == "sum" and again.label_smoothing == 0.1
    assert repr(rc.losses.MSE()) == "MSE()" and rc.losses.MSE().get_config() == {"name": "mse"}
    bce = rc.losses.BinaryCrossEntropy(from_logits=True, reduction="none")
    assert bce.get_config() == {
        "name": "binary_cross_entropy",
        "from_logits": True,
        "reduction": "none",
    }
    assert isinstance(rc.losses.get("nll"), rc.losses.NLL)
    assert isinstance(rc.losses.get("NLL_loss"), rc.losses.NLL)


def test_model_compile_with_options(rng):
    nn = rc.nn
    x = rng.standard_normal((12, 4)).astype(np.float32)
    y = rng.integers(0, 3, 12)
    model = nn.Sequential([nn.Dense(3, activation="softmax")])
    model.build((4,))
    model.compile("sgd", rc.losses.CrossEntropy(label_smoothing=0.1))
    got = model.evaluate(x, y, batch_size=12)["loss"]
    W, b = model.layers[0].params
    want = rc.cross_entropy_loss(y, rc.tensor(x) @ W + b, label_smoothing=0.1)
    assert got == pytest.approx(want, rel=1e-6)  # the fused softmax path keeps the smoothing
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    model2 = nn.Sequential([nn.Dense(3)])
    model2.build((4,))
    model2.compile("sgd", "nll")  # integer labels are accepted for nll too
    model2.evaluate(x, y, batch_size=12)
    with pytest.raises(ValueError, match="reduction"):
        model.compile("sgd", rc.losses.MSE(reduction="none"))


# --------------------------------------------------------------------------- errors


def test_bad_options_name_themselves(rng):
    a, p = _data("mse", rng)
    z = rng.standard_normal(SHAPE).astype(np.float32)
    lab = rng.integers(0, COLS, ROWS)
    for fn, args in (
        (rc.mse_loss, (a, p)),
        (rc.mae_deriv, (a, p)),
        (rc.binary_cross_entropy_with_logits, (a, p)),
        (rc.cross_entropy_loss, (lab, z)),
        (rc.nll_loss, (lab, z)),
        (rc.nll_deriv, (lab, z)),
    ):
        with pytest.raises(ValueError, match=r"reduction.*'avg'"):
            fn(*args, reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        rc.losses.MSE(reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        rc.losses.CrossEntropy(reduction=None)
    # a weight of the wrong length
    with pytest.raises(rc.ShapeError, match=r"weight.*\(3,\)"):
        rc.mse_loss(a, p, weight=[1.0, 2.0, 3.0])
    with pytest.raises(rc.ShapeError, match="weight"):
        rc.cross_entropy_loss(lab, z, weight=np.ones(11))
    with pytest.raises(rc.ShapeError, match="weight.*one per class"):
        rc.nll_loss(lab, z, weight=np.ones(ROWS))
    with pytest.raises(rc.ShapeError, match="weight"):
        rc.losses.BinaryCrossEntropy().grad(np.zeros(SHAPE), np.full(SHAPE, 0.5), weight=[1.0])
    with pytest.raises(TypeError, match="weight"):
        rc.mse_loss(a, p, weight="heavy")
    with pytest.raises(TypeError, match="weight"):
        rc.mse_loss(a, p, weight=np.array(["a"] * ROWS))
    # label_smoothing outside [0, 1]
    for eps in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="label_smoothing"):
            rc.cross_entropy_loss(lab, z, label_smoothing=eps)
        with pytest.raises(ValueError, match="label_smoothing"):
            rc.losses.CrossEntropy(label_smoothing=eps)
    with pytest.raises(TypeError, match="label_smoothing"):
        rc.cross_entropy_deriv(lab, z, label_smoothing="0.1")
    # nll: labels only, in range
    with pytest.raises(ValueError, match="label 7"):
        rc.nll_loss(np.full(ROWS, 7), z)
    with pytest.raises(rc.ShapeError, match="one label per row"):
        rc.nll_loss(np.zeros(SHAPE), z)


# ----------------------------------------------------------------- on the autograd tape


def _tape_cases(rng):
    """(loss object, actual, predicted, weight) for every loss and option."""
    a, p = _data("mse", rng)
    ba, bp = _data("bce", rng)
    la, lz = _data("bce_logits", rng)
    w = _row_weights(rng)
    z = (rng.standard_normal(SHAPE) * 3).astype(np.float32)
    lab = rng.integers(0, COLS, ROWS)
    cw = rng.uniform(0.2, 3.0, COLS).astype(np.float32)
    lp = rc.tensor(z).log_softmax()
    cases = []
    for reduction in REDUCTIONS:
        for weight in (None, w):
            cases += [
                (rc.losses.MSE(reduction=reduction), a, rc.tensor(p), weight),
                (rc.losses.MAE(reduction=reduction), a, rc.tensor(p), weight),
                (rc.losses.BinaryCrossEntropy(reduction=reduction), ba, rc.tensor(bp), weight),
                (
                    rc.losses.BinaryCrossEntropy(from_logits=True, reduction=reduction),
                    la,
                    rc.tensor(lz),
                    weight,
                ),
                (
                    rc.losses.CrossEntropy(reduction=reduction, label_smoothing=0.1),
                    lab,
                    rc.tensor(z),
                    weight,
                ),
                (rc.losses.CrossEntropy(reduction=reduction), lab, rc.tensor(z), weight),
                (
                    rc.losses.NLL(reduction=reduction),
                    lab,
                    lp.copy(),
                    None if weight is None else cw,
                ),
            ]
    return cases


def test_tape_gradient_of_a_loss_object_is_its_own_grad_bit_for_bit(rng):
    for loss, actual, pred, weight in _tape_cases(rng):
        with rc.autograd.Tape() as tape:
            tape.watch(pred)
            t = loss(actual, pred, weight=weight)
        want = loss.grad(actual, pred, weight=weight)
        (got,) = tape.gradient(t, [pred])
        assert got.equals(want), repr(loss)
        if loss.reduction == "none":  # an output gradient scales each term's derivative
            G = rc.tensor(rng.uniform(0.5, 2.0, t.shape).astype(np.float32))
            (got,) = tape.gradient(t, [pred], output_gradient=G)
            assert got.equals(want * G), repr(loss)
        else:
            assert t.shape == (1, 1, 1)
            assert float(t) == np.float32(loss.value(actual, pred, weight=weight))


def test_tape_loss_after_ops_and_gradcheck(rng):
    x = rc.tensor(rng.standard_normal((1, 6, 4)).astype(np.float32))
    w = rc.tensor(rng.standard_normal((1, 4, 5)).astype(np.float32))
    lab = rng.integers(0, 5, 6)
    rw = rng.uniform(0.5, 2.0, 6).astype(np.float32)
    ce = rc.losses.CrossEntropy(label_smoothing=0.2)
    with rc.autograd.Tape() as tape:
        tape.watch(w)
        logits = x @ w
        loss = ce(lab, logits, weight=rw)
    (dw,) = tape.gradient(loss, [w])
    # the chain: x^T (dL/dlogits), with dL/dlogits the loss's own kernel
    want = x.matmul(ce.grad(lab, x @ w, weight=rw), transpose_a=True)
    assert dw.equals(want)
    assert "cross_entropy(ndarray(6,), t0)" in tape.listing() and "fused backward" in tape.listing()
    assert rc.autograd.gradcheck(lambda w: ce(lab, x @ w, weight=rw), [w])
    t = rng.uniform(0.1, 0.9, (1, 6, 5)).astype(np.float32)
    bce = rc.losses.BinaryCrossEntropy(from_logits=True, reduction="none")
    assert rc.autograd.gradcheck(lambda w: bce(t, x @ w, weight=rw), [w])
    nll = rc.losses.NLL(reduction="sum")
    cw = rng.uniform(0.5, 2.0, 5).astype(np.float32)
    assert rc.autograd.gradcheck(lambda w: nll(lab, (x @ w).log_softmax(), weight=cw), [w])


def test_tape_log_softmax_uses_the_fused_backward(rng):
    x = rc.tensor((rng.standard_normal((2, 3, 9)) * 2).astype(np.float32))
    c = rc.tensor(rng.standard_normal((2, 3, 9)).astype(np.float32))
    for axis in (-1, 1, 0):
        with rc.autograd.Tape() as tape:
            tape.watch(x)
            y = (x.log_softmax(axis=axis) * c).sum(axis=(0, 1, 2))
        (dx,) = tape.gradient(y, [x])
        assert dx.equals(x.log_softmax_backward(c, axis=axis)), axis
    # nll of log_softmax on the tape: the cross-entropy gradient (two kernels, one rule)
    lab = rng.integers(0, 9, 6)
    with rc.autograd.Tape() as tape:
        tape.watch(x)
        loss = rc.losses.NLL()(lab, x.log_softmax())
    (dx,) = tape.gradient(loss, [x])
    np.testing.assert_allclose(
        np.asarray(dx), np.asarray(rc.cross_entropy_deriv(lab, x)), rtol=1e-5, atol=1e-7
    )
    # the backward kernel itself is not recorded (no second-order rule)
    with rc.autograd.Tape() as tape:
        tape.watch(x)
        x.log_softmax_backward(c)
    assert len(tape) == 0


def test_tape_no_gradient_for_the_targets(rng):
    a = rc.tensor(rng.standard_normal((1, 4, 3)).astype(np.float32))
    p = rc.tensor(rng.standard_normal((1, 4, 3)).astype(np.float32))
    with rc.autograd.Tape() as tape:
        tape.watch(a, p)
        loss = rc.losses.MSE()(a, p)
    with pytest.raises(NotImplementedError, match="actual"):
        tape.gradient(loss, [a, p])
    # outside a tape nothing is recorded and the call is just the value
    assert float(rc.losses.MSE()(a, p)) == np.float32(rc.mse_loss(a, p))
