# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""Losses and optimizer steps: thin, checked wrappers over csrc/loss.c and csrc/optim.c
(train_body.h). Private: the public API lives in rcmlrs/losses.py and rcmlrs/optim.py,
which check the meaning (hyperparameters, label forms); these check every buffer and size
the C side reads and run the kernels without the GIL."""

from libc.stdint cimport int64_t

from rcmlrs._kernels cimport *
from rcmlrs._tensor cimport NOGIL_MIN, RamTensor, _as_tensor, _empty, _overlaps

from rcmlrs._tensor import ShapeError

# The kernels live once, in rcmlrs._tensor; this module reaches them through its C API
# capsule (csrc/rcmlrs_capi.h), so it shares their backend choice and thread pool.
rcml_capi_import()


cdef enum:
    _LOSS_MSE = 0
    _LOSS_MAE = 1
    _LOSS_BCE = 2
    _LOSS_BCE_LOGITS = 3


cdef inline double _elem_kernel(int kind, const float *a, const float *p, size_t n,
                                float *g) noexcept nogil:
    if kind == _LOSS_MSE:
        return rcml_mse_f32(a, p, n, g)
    if kind == _LOSS_MAE:
        return rcml_mae_f32(a, p, n, g)
    if kind == _LOSS_BCE:
        return rcml_binary_cross_entropy_f32(a, p, n, g)
    return rcml_binary_cross_entropy_logits_f32(a, p, n, g)


def _elem_loss(int kind, actual, predicted, bint want_value, bint want_grad, str what):
    """(mean loss or None, d loss / d predicted or None) for mse (0), mae (1), bce (2),
    bce from logits (3)."""
    cdef RamTensor a = _as_tensor(actual, what)
    cdef RamTensor p = _as_tensor(predicted, what)
    cdef RamTensor g = None
    cdef float *gp = NULL
    cdef double val = 0.0
    if kind < _LOSS_MSE or kind > _LOSS_BCE_LOGITS:
        raise ValueError(f"{what}: unknown loss kind {kind}")
    if a.L != p.L or a.R != p.R or a.C != p.C:
        raise ShapeError(f"{what}: shapes differ: actual {a.shape} vs predicted {p.shape}")
    if want_grad:
        g = _empty(p.L, p.R, p.C)
        gp = g.data
    if a.n >= NOGIL_MIN:
        with nogil:
            val = _elem_kernel(kind, a.data, p.data, a.n, gp)
    else:
        val = _elem_kernel(kind, a.data, p.data, a.n, gp)
    return (val if want_value else None), g


def _xent(logits, target, labels, bint want_value, bint want_grad, str what):
    """Softmax cross-entropy over rows of ``logits`` viewed as (L*R, C), mean over rows.
    Exactly one of ``target`` (same shape as logits) and ``labels`` (a C-contiguous
    int64 array of L*R class indices) is given. Returns (loss or None, grad or None)."""
    cdef RamTensor z = _as_tensor(logits, what)
    cdef RamTensor t = None
    cdef RamTensor g = None
    cdef float *gp = NULL
    cdef const int64_t[::1] lab
    cdef const int64_t *lp = NULL
    cdef Py_ssize_t rows = z.L * z.R, i
    cdef int64_t c
    cdef double val = 0.0
    if (target is None) == (labels is None):
        raise TypeError(f"{what}: give exactly one of target and labels")
    if target is not None:
        t = _as_tensor(target, what)
        if t.L != z.L or t.R != z.R or t.C != z.C:
            raise ShapeError(f"{what}: shapes differ: actual {t.shape} vs logits {z.shape}")
    else:
        lab = labels
        if lab.shape[0] != rows:
            raise ShapeError(f"{what}: {lab.shape[0]} labels for logits of shape {z.shape} "
                             f"({rows} rows)")
        for i in range(rows):
            c = lab[i]
            if c < 0 or c >= z.C:
                raise ValueError(f"{what}: label {c} (row {i}) is out of range for "
                                 f"{z.C} classes (valid: 0..{z.C - 1})")
        if rows:
            lp = &lab[0]
    if want_grad:
        g = _empty(z.L, z.R, z.C)
        gp = g.data
    with nogil:
        if lp != NULL or t is None:
            val = rcml_cross_entropy_labels_f32(z.data, lp, rows, z.C, gp)
        else:
            val = rcml_cross_entropy_f32(z.data, t.data, rows, z.C, gp)
    return (val if want_value else None), g


cdef RamTensor _state_tensor(object x, RamTensor param, str name, str what):
    """An optimizer state buffer: a RamTensor of param's shape (updated in place)."""
    if not isinstance(x, RamTensor):
        raise TypeError(f"{what}: {name} must be a RamTensor (it is updated in place), "
                        f"got {type(x).__name__}")
    cdef RamTensor s = <RamTensor>x
    if s.L != param.L or s.R != param.R or s.C != param.C:
        raise ShapeError(f"{what}: {name} has shape {s.shape} but param has shape {param.shape}")
    if s is param or (s.n and _overlaps(s, param)):
        raise ValueError(f"{what}: {name} shares memory with param")
    return s


cdef RamTensor _grad_for(object grad, RamTensor param, str what):
    cdef RamTensor g = _as_tensor(grad, what)
    if g.L != param.L or g.R != param.R or g.C != param.C:
        raise ShapeError(f"{what}: grad shape {g.shape} does not match param shape {param.shape}")
    if g.n and _overlaps(g, param):
        g = g.copy()  # the kernel reads grad while writing param: read a snapshot
    return g


def _adam_step(param, grad, m, v, vmax, int64_t step, double lr, double beta1, double beta2,
               double eps, double weight_decay, bint decoupled, str what):
    """One fused Adam/AdamW/AMSGrad step on one tensor, in place (see rcml_adam_f32)."""
    if not isinstance(param, RamTensor):
        raise TypeError(f"{what}: param must be a RamTensor (it is updated in place), "
                        f"got {type(param).__name__}")
    cdef RamTensor p = <RamTensor>param
    cdef RamTensor g = _grad_for(grad, p, what)
    cdef RamTensor tm = _state_tensor(m, p, "m", what)
    cdef RamTensor tv = _state_tensor(v, p, "v", what)
    cdef RamTensor tx = None
    cdef float *xp = NULL
    if tm.n and _overlaps(tm, tv):
        raise ValueError(f"{what}: m and v share memory")
    if vmax is not None:
        tx = _state_tensor(vmax, p, "vmax", what)
        if tx.n and (_overlaps(tx, tm) or _overlaps(tx, tv)):
            raise ValueError(f"{what}: vmax shares memory with m or v")
        xp = tx.data
    if g.n and (_overlaps(g, tm) or _overlaps(g, tv) or (tx is not None and _overlaps(g, tx))):
        g = g.copy()
    p._version += 1
    if p.n >= NOGIL_MIN:
        with nogil:
            rcml_adam_f32(g.data, p.data, tm.data, tv.data, xp, p.n, step, lr, beta1, beta2,
                          eps, weight_decay, decoupled)
    else:
        rcml_adam_f32(g.data, p.data, tm.data, tv.data, xp, p.n, step, lr, beta1, beta2, eps,
                      weight_decay, decoupled)


def _sgd_step(param, grad, buf, double lr, double momentum, double dampening,
              double weight_decay, bint nesterov, bint first, str what):
    """One fused SGD step on one tensor, in place (see rcml_sgd_f32); buf may be None
    when momentum == 0."""
    if not isinstance(param, RamTensor):
        raise TypeError(f"{what}: param must be a RamTensor (it is updated in place), "
                        f"got {type(param).__name__}")
    cdef RamTensor p = <RamTensor>param
    cdef RamTensor g = _grad_for(grad, p, what)
    cdef RamTensor b = None
    cdef float *bp = NULL
    if buf is not None:
        b = _state_tensor(buf, p, "momentum buffer", what)
        bp = b.data
        if g.n and _overlaps(g, b):
            g = g.copy()
    elif momentum != 0.0:
        raise ValueError(f"{what}: momentum {momentum} needs a momentum buffer")
    p._version += 1
    if p.n >= NOGIL_MIN:
        with nogil:
            rcml_sgd_f32(g.data, p.data, bp, p.n, lr, momentum, dampening, weight_decay,
                         nesterov, first)
    else:
        rcml_sgd_f32(g.data, p.data, bp, p.n, lr, momentum, dampening, weight_decay, nesterov,
                     first)


def _empty_like(t):
    """A new tensor of t's shape with uninitialised contents (optimizer state that a
    kernel fully writes before reading)."""
    cdef RamTensor s = _as_tensor(t, "_empty_like")
    return _empty(s.L, s.R, s.C)
