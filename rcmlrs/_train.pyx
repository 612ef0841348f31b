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

# reductions, in the order of rcml_reduction_t
_REDUCTIONS = ("mean", "sum", "none")


cdef const float *_weights(object weight, Py_ssize_t n, str per, str what) except? NULL:
    """The address of ``weight`` (None, or a C-contiguous float32 buffer of n values: the
    caller has already broadcast it), after checking its length; NULL for None."""
    cdef const float[::1] w
    if weight is None:
        return NULL
    w = weight
    if w.shape[0] != n:
        raise ShapeError(f"{what}: weight has {w.shape[0]} values, expected {n} ({per})")
    if n == 0:
        return NULL
    return &w[0]


cdef _check_reduction(int reduction, str what):
    if reduction < RCML_REDUCE_MEAN or reduction > RCML_REDUCE_NONE:
        raise ValueError(f"{what}: unknown reduction code {reduction}")


cdef const int64_t *_label_ptr(object labels, RamTensor z, str whose, str what) except? NULL:
    """The address of ``labels`` (a C-contiguous int64 buffer of one class index per row
    of z), after checking the count and the range 0..C-1."""
    cdef const int64_t[::1] lab = labels
    cdef Py_ssize_t i, rows = z.L * z.R, C = z.C
    cdef int64_t c
    if lab.shape[0] != rows:
        raise ShapeError(f"{what}: {lab.shape[0]} labels for {whose} of shape {z.shape} "
                         f"({rows} rows)")
    for i in range(rows):
        c = lab[i]
        if c < 0 or c >= C:
            raise ValueError(f"{what}: label {c} (row {i}) is out of range for "
                             f"{C} classes (valid: 0..{C - 1})")
    return &lab[0] if rows else NULL


def _elem_loss(int kind, actual, predicted, bint want_value, bint want_grad, str what,
               weight=None, int reduction=RCML_REDUCE_MEAN):
    """(loss or None, d loss / d predicted or None) for mse (0), mae (1), bce (2), bce from
    logits (3). ``weight``: None or one float32 weight per element (C-contiguous; the
    caller broadcasts per-row weights). ``reduction`` 0 mean (over the count), 1 sum, 2
    none: the loss is then a tensor of the terms (predicted's shape) and the gradient that
    of their sum."""
    cdef RamTensor a = _as_tensor(actual, what)
    cdef RamTensor p = _as_tensor(predicted, what)
    cdef RamTensor g = None
    cdef RamTensor o = None
    cdef float *gp = NULL
    cdef float *op = NULL
    cdef const float *wp = NULL
    cdef double val = 0.0
    if kind < _LOSS_MSE or kind > _LOSS_BCE_LOGITS:
        raise ValueError(f"{what}: unknown loss kind {kind}")
    _check_reduction(reduction, what)
    if a.L != p.L or a.R != p.R or a.C != p.C:
        raise ShapeError(f"{what}: shapes differ: actual {a.shape} vs predicted {p.shape}")
    wp = _weights(weight, p.n, "one per element", what)
    if want_grad:
        g = _empty(p.L, p.R, p.C)
        gp = g.data
    if want_value and reduction == RCML_REDUCE_NONE:
        o = _empty(p.L, p.R, p.C)
        op = o.data
    if a.n >= NOGIL_MIN:
        with nogil:
            val = rcml_elem_loss_f32(kind, a.data, p.data, wp, a.n, reduction, gp, op)
    else:
        val = rcml_elem_loss_f32(kind, a.data, p.data, wp, a.n, reduction, gp, op)
    if not want_value:
        return None, g
    return (o if o is not None else val), g


def _xent(logits, target, labels, bint want_value, bint want_grad, str what, weight=None,
          int reduction=RCML_REDUCE_MEAN, double label_smoothing=0.0):
    """Softmax cross-entropy over rows of ``logits`` viewed as (L*R, C). Exactly one of
    ``target`` (same shape as logits) and ``labels`` (a C-contiguous int64 array of L*R
    class indices) is given. ``weight``: None or one float32 weight per row; the mean is
    then sum(w l) / sum(w). ``reduction`` as in _elem_loss (none: an (L, R, 1) tensor of
    row losses); ``label_smoothing`` in [0, 1]. Returns (loss or None, grad or None)."""
    cdef RamTensor z = _as_tensor(logits, what)
    cdef RamTensor t = None
    cdef RamTensor g = None
    cdef RamTensor o = None
    cdef float *gp = NULL
    cdef float *op = NULL
    cdef const float *tp = NULL
    cdef const float *wp = NULL
    cdef const int64_t *lp = NULL
    cdef Py_ssize_t rows = z.L * z.R
    cdef double val = 0.0
    cdef float eps = <float>label_smoothing
    if (target is None) == (labels is None):
        raise TypeError(f"{what}: give exactly one of target and labels")
    _check_reduction(reduction, what)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{what}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if target is not None:
        t = _as_tensor(target, what)
        if t.L != z.L or t.R != z.R or t.C != z.C:
            raise ShapeError(f"{what}: shapes differ: actual {t.shape} vs logits {z.shape}")
        tp = t.data
    else:
        lp = _label_ptr(labels, z, "logits", what)
    wp = _weights(weight, rows, "one per row", what)
    if want_grad:
        g = _empty(z.L, z.R, z.C)
        gp = g.data
    if want_value and reduction == RCML_REDUCE_NONE:
        o = _empty(z.L, z.R, 1)
        op = o.data
    with nogil:
        val = rcml_cross_entropy_ex_f32(z.data, tp, lp, wp, rows, z.C, eps, reduction, gp, op)
    if not want_value:
        return None, g
    return (o if o is not None else val), g


def _nll(log_probs, labels, bint want_value, bint want_grad, str what, weight=None,
         int reduction=RCML_REDUCE_MEAN):
    """Negative log-likelihood over rows of ``log_probs`` viewed as (L*R, C) at
    ``labels`` (a C-contiguous int64 array of L*R class indices). ``weight``: None or one
    float32 weight per CLASS (C of them, torch's nll_loss weight); the mean is then
    sum(w[y] l) / sum(w[y]). ``reduction`` as in _xent. Returns (loss or None, grad or
    None)."""
    cdef RamTensor z = _as_tensor(log_probs, what)
    cdef RamTensor g = None
    cdef RamTensor o = None
    cdef float *gp = NULL
    cdef float *op = NULL
    cdef const float *wp = NULL
    cdef const int64_t *lp = NULL
    cdef Py_ssize_t rows = z.L * z.R
    cdef double val = 0.0
    _check_reduction(reduction, what)
    lp = _label_ptr(labels, z, "log_probs", what)
    wp = _weights(weight, z.C, "one per class", what)
    if want_grad:
        g = _empty(z.L, z.R, z.C)
        gp = g.data
    if want_value and reduction == RCML_REDUCE_NONE:
        o = _empty(z.L, z.R, 1)
        op = o.data
    with nogil:
        val = rcml_nll_loss_f32(z.data, lp, wp, rows, z.C, reduction, gp, op)
    if not want_value:
        return None, g
    return (o if o is not None else val), g


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


cdef RamTensor _param_for(object param, str what):
    if not isinstance(param, RamTensor):
        raise TypeError(f"{what}: param must be a RamTensor (it is updated in place), "
                        f"got {type(param).__name__}")
    return <RamTensor>param


cdef list _states(RamTensor p, list pairs, str what):
    """Checked state tensors (None entries kept) that share memory neither with param nor
    with each other."""
    cdef list out = []
    cdef RamTensor s, o
    for x, name in pairs:
        if x is None:
            out.append(None)
            continue
        s = _state_tensor(x, p, name, what)
        for o in out:
            if o is not None and s.n and _overlaps(s, o):
                raise ValueError(f"{what}: {name} shares memory with another state tensor")
        out.append(s)
    return out


cdef RamTensor _grad_apart(RamTensor g, list states):
    """grad, copied when it shares memory with a state tensor the kernel writes."""
    cdef RamTensor s
    for s in states:
        if s is not None and g.n and _overlaps(g, s):
            return g.copy()
    return g


cdef inline float *_ptr(RamTensor t):
    return t.data if t is not None else NULL


def _rmsprop_step(param, grad, square_avg, grad_avg, buf, double lr, double alpha, double eps,
                  double weight_decay, double momentum, str what):
    """One fused RMSprop step on one tensor, in place (see rcml_rmsprop_f32); grad_avg is
    None unless centered, buf None unless momentum > 0."""
    cdef RamTensor p = _param_for(param, what)
    cdef RamTensor g = _grad_for(grad, p, what)
    if momentum > 0.0 and buf is None:
        raise ValueError(f"{what}: momentum {momentum} needs a momentum buffer")
    cdef list st = _states(p, [(square_avg, "square_avg"), (grad_avg, "grad_avg"),
                               (buf, "momentum buffer")], what)
    g = _grad_apart(g, st)
    cdef RamTensor sq = st[0]
    cdef float *gap = _ptr(st[1])
    cdef float *bp = _ptr(st[2])
    p._version += 1
    if p.n >= NOGIL_MIN:
        with nogil:
            rcml_rmsprop_f32(g.data, p.data, sq.data, gap, bp, p.n, lr, alpha, eps,
                             weight_decay, momentum)
    else:
        rcml_rmsprop_f32(g.data, p.data, sq.data, gap, bp, p.n, lr, alpha, eps, weight_decay,
                         momentum)


def _adagrad_step(param, grad, state_sum, int64_t step, double lr, double lr_decay, double eps,
                  double weight_decay, str what):
    """One fused Adagrad step on one tensor, in place (see rcml_adagrad_f32)."""
    cdef RamTensor p = _param_for(param, what)
    cdef RamTensor g = _grad_for(grad, p, what)
    cdef list st = _states(p, [(state_sum, "sum")], what)
    g = _grad_apart(g, st)
    cdef RamTensor s = st[0]
    p._version += 1
    if p.n >= NOGIL_MIN:
        with nogil:
            rcml_adagrad_f32(g.data, p.data, s.data, p.n, step, lr, lr_decay, eps, weight_decay)
    else:
        rcml_adagrad_f32(g.data, p.data, s.data, p.n, step, lr, lr_decay, eps, weight_decay)


def _nadam_step(param, grad, m, v, int64_t step, float mu_product, double lr, double beta1,
                double beta2, double eps, double weight_decay, double momentum_decay,
                bint decoupled, str what):
    """One fused NAdam step on one tensor, in place (see rcml_nadam_f32). Returns the new
    float32 running product of the momentum cache (mu_product before the step: 1.0 at
    the first)."""
    cdef RamTensor p = _param_for(param, what)
    cdef RamTensor g = _grad_for(grad, p, what)
    cdef list st = _states(p, [(m, "m"), (v, "v")], what)
    g = _grad_apart(g, st)
    cdef RamTensor tm = st[0]
    cdef RamTensor tv = st[1]
    cdef float prod = mu_product
    p._version += 1
    if p.n >= NOGIL_MIN:
        with nogil:
            rcml_nadam_f32(g.data, p.data, tm.data, tv.data, p.n, step, &prod, lr, beta1,
                           beta2, eps, weight_decay, momentum_decay, decoupled)
    else:
        rcml_nadam_f32(g.data, p.data, tm.data, tv.data, p.n, step, &prod, lr, beta1, beta2,
                       eps, weight_decay, momentum_decay, decoupled)
    return <double>prod


def _sumsq(t):
    """sum(x^2) over every element, in double (the variance kernel about 0): the squared
    L2 norm that gradient clipping compares with clipnorm."""
    cdef RamTensor s = _as_tensor(t, "_sumsq")
    cdef double r = 0.0
    if s.n == 0:
        return 0.0
    with nogil:
        r = rcml_sumsqdev_f32(s.data, s.n, 0.0)
    return r
