# The hot path of rcmlrs.autograd in C: recording an op, walking the tape backwards, and
# the rules of the ops every network runs (add/sub/mul/div, matmul, the activations,
# sum/mean). Included by _tensor.pyx so the rules call the kernels' Cython entry points
# (_matmul, _binary_op, _reduce) directly instead of through Python method calls; they
# are registered by name in rcmlrs/autograd/rules.py like every other rule, and
# rcmlrs/autograd/tape.py builds the Tape on _TapeCore.

from cpython.pythread cimport PyThread_get_thread_ident


@cython.auto_pickle(False)  # a tape holds live tensors and closures: not picklable
cdef class _TapeCore:
    """Recording and the backward walk of an rcmlrs.autograd.Tape (see tape.py)."""

    cdef public list _entries   # (name, out, inputs, attrs, needs, backward, versions)
    cdef public dict _tracked   # id -> tensor (kept alive, so ids stay unique)
    cdef public unsigned long _thread

    def __cinit__(self):
        self._entries = []
        self._tracked = {}
        self._thread = PyThread_get_thread_ident()

    cpdef record(self, name, out, inputs, attrs=None, backward=None):
        """Append one op when one of its inputs is tracked (called by every
        differentiable op while this tape is active)."""
        if PyThread_get_thread_ident() != self._thread:
            return
        cdef tuple ins = inputs if type(inputs) is tuple else tuple(inputs)
        cdef Py_ssize_t n = len(ins), i
        cdef dict tracked = self._tracked
        cdef bint hit = False
        cdef list needs = [False] * n
        cdef list versions = [-1] * n
        for i in range(n):
            x = ins[i]
            if isinstance(x, RamTensor):
                versions[i] = (<RamTensor>x)._version
                if id(x) in tracked:
                    needs[i] = True
                    hit = True
        if not hit:
            return
        self._entries.append((name, out, ins, attrs, tuple(needs), backward, tuple(versions)))
        tracked[id(out)] = out

    def _walk(self, list plan, dict grads, set keep, dict rules):
        """Run the rules of ``plan`` (entries, last first) from the seed in ``grads``,
        accumulating each input's gradient in a fixed order; returns ``grads``."""
        cdef set owned = set()
        cdef tuple e, inputs, needs, versions, gs
        cdef Py_ssize_t i, n
        cdef RamTensor gi, x
        for e in plan:
            name, out, inputs, attrs, needs, backward, versions = e
            ko = id(out)
            g = grads.get(ko)
            if g is None:
                continue
            n = len(inputs)
            for i in range(n):
                if <long long>versions[i] >= 0 and (<RamTensor>inputs[i])._version != versions[i]:
                    raise RuntimeError(
                        f"Tape.gradient: input {i} (shape {inputs[i].shape}) of op {name!r} "
                        f"was modified in place after it was recorded; compute on a copy "
                        f"instead")
            if backward is not None:
                gs = tuple(backward(g, needs))
            else:
                rule = rules.get(name)
                if rule is None:
                    raise NotImplementedError(f"Tape.gradient: op {name!r} has no gradient rule")
                gs = tuple(rule(g, out, inputs, attrs, needs))
            if len(gs) != n:
                raise ValueError(f"Tape.gradient: the rule of {name!r} returned {len(gs)} "
                                 f"gradients for {n} inputs")
            if ko not in keep:
                del grads[ko]  # its consumers are all done: free it
            for i in range(n):
                if not needs[i] or gs[i] is None:
                    continue
                gi = <RamTensor?>gs[i]
                x = <RamTensor>inputs[i]
                if gi.L != x.L or gi.R != x.R or gi.C != x.C:
                    raise ShapeError(f"Tape.gradient: the rule of {name!r} returned a gradient "
                                     f"of shape {gi.shape} for an input of shape {x.shape}")
                k = id(x)
                prev = grads.get(k)
                if prev is None:
                    grads[k] = gi  # may alias g or another gradient: copied before +=
                elif k in owned:
                    _inplace_op(<RamTensor>prev, gi, RCML_ADD, "gradient")
                else:
                    grads[k] = _binary_op(<RamTensor>prev, gi, RCML_ADD, "gradient")
                    owned.add(k)
        return grads


# ------------------------------------------------------------------ shared rule helpers

cdef RamTensor _unbroadcast(RamTensor g, Py_ssize_t L, Py_ssize_t R, Py_ssize_t C):
    if g.L == L and g.R == R and g.C == C:
        return g
    if L == 1 and g.L != 1:
        g = _reduce(g, RCML_RED_SUM, 0, 0.0, "unbroadcast")
    if R == 1 and g.R != 1:
        g = _reduce(g, RCML_RED_SUM, 1, 0.0, "unbroadcast")
    if C == 1 and g.C != 1:
        g = _reduce(g, RCML_RED_SUM, 2, 0.0, "unbroadcast")
    if g.L != L or g.R != R or g.C != C:
        raise ShapeError(f"unbroadcast: gradient {g.shape} does not reduce to {(L, R, C)}")
    return g


def unbroadcast(grad, shape):
    """Sum a gradient of a broadcast result back to ``shape`` (the axes where ``shape``
    has 1 and ``grad`` does not), in a fixed order: axis 0, then 1, then 2."""
    L, R, C = shape
    return _unbroadcast(_as_tensor(grad, "unbroadcast"), L, R, C)


cdef inline object _ub(object g, object x):
    cdef RamTensor t = <RamTensor>x
    return _unbroadcast(<RamTensor>g, t.L, t.R, t.C)


def expand(g, shape):
    """``g`` (size-1 on some axes) broadcast to ``shape``, as a new tensor."""
    cdef RamTensor t = _as_tensor(g, "expand")
    L, R, C = shape
    if t.L == L and t.R == R and t.C == C:
        return t
    cdef RamTensor z = _empty(L, R, C)
    rcml_fill_f32(0.0, z.data, z.n)
    return _binary_op(z, t, RCML_ADD, "expand")


# ------------------------------------------------------------------ the hot rules

def _rule_add(g, out, tuple inputs, attrs, tuple needs):
    """da = g, db = g (summed over broadcast axes)"""
    return (_ub(g, inputs[0]) if needs[0] else None, _ub(g, inputs[1]) if needs[1] else None)


def _rule_sub(g, out, tuple inputs, attrs, tuple needs):
    """da = g, db = -g"""
    return (_ub(g, inputs[0]) if needs[0] else None,
            _ub(_unary(<RamTensor>g, RCML_NEG, 0.0, 0.0), inputs[1]) if needs[1] else None)


def _rule_rsub(g, out, tuple inputs, attrs, tuple needs):
    """out = b - a: da = -g, db = g"""
    return (_ub(_unary(<RamTensor>g, RCML_NEG, 0.0, 0.0), inputs[0]) if needs[0] else None,
            _ub(g, inputs[1]) if needs[1] else None)


def _rule_mul(g, out, tuple inputs, attrs, tuple needs):
    """da = g * b, db = g * a"""
    cdef RamTensor gt = <RamTensor>g
    return (_ub(_binary_op(gt, inputs[1], RCML_MUL, "mul"), inputs[0]) if needs[0] else None,
            _ub(_binary_op(gt, inputs[0], RCML_MUL, "mul"), inputs[1]) if needs[1] else None)


def _rule_div(g, out, tuple inputs, attrs, tuple needs):
    """da = g / b, db = -g * out / b"""
    cdef RamTensor gt = <RamTensor>g
    da = db = None
    if needs[0]:
        da = _ub(_binary_op(gt, inputs[1], RCML_DIV, "div"), inputs[0])
    if needs[1]:
        t = _unary(<RamTensor>_binary_op(gt, out, RCML_MUL, "div"), RCML_NEG, 0.0, 0.0)
        db = _ub(_binary_op(t, inputs[1], RCML_DIV, "div"), inputs[1])
    return da, db


def _rule_rdiv(g, out, tuple inputs, attrs, tuple needs):
    """out = b / a: da = -g * out / a, db = g / a"""
    cdef RamTensor gt = <RamTensor>g
    da = db = None
    if needs[0]:
        t = _unary(<RamTensor>_binary_op(gt, out, RCML_MUL, "rdiv"), RCML_NEG, 0.0, 0.0)
        da = _ub(_binary_op(t, inputs[0], RCML_DIV, "rdiv"), inputs[0])
    if needs[1]:
        db = _ub(_binary_op(gt, inputs[0], RCML_DIV, "rdiv"), inputs[1])
    return da, db


def _rule_matmul(g, out, tuple inputs, attrs, tuple needs):
    """dA = g @ B^T, dB = A^T @ g (transposes folded into the GEMM flags)"""
    cdef RamTensor a = <RamTensor>inputs[0], b = <RamTensor>inputs[1], gt = <RamTensor>g
    cdef bint ta = attrs["transpose_a"], tb = attrs["transpose_b"]
    da = db = None
    if needs[0]:
        # d op(A) = g op(B)^T; with A used transposed, dA is its transpose op(B) g^T
        da = _matmul(gt, b, False, not tb) if not ta else _matmul(b, gt, tb, True)
        da = _ub(da, a)
    if needs[1]:
        db = _matmul(a, gt, not ta, False) if not tb else _matmul(gt, a, True, ta)
        db = _ub(db, b)
    return da, db


def _rule_act(g, out, tuple inputs, attrs, tuple needs):
    """dx = g * f'(x), the activation's fused backward kernel"""
    return (_act_backward(<RamTensor>inputs[0], g, attrs["act"], attrs["param"], "backward",
                          out),)


def _rule_sum(g, out, tuple inputs, attrs, tuple needs):
    """dx = g broadcast back over the reduced axes"""
    return (expand(g, (<RamTensor>inputs[0]).shape),)


def _rule_mean(g, out, tuple inputs, attrs, tuple needs):
    """dx = g / N broadcast back"""
    cdef RamTensor x = <RamTensor>inputs[0]
    cdef Py_ssize_t count = 1
    for a in attrs["axis"]:
        count *= x.shape_[a]
    return (expand(_binary_op(<RamTensor>g, <double>count, RCML_DIV, "mean"), x.shape),)
