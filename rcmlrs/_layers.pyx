# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""Layer kernels behind rc.nn. Each helper checks every size the C side reads, allocates
its outputs and calls the SAME kernels as the tensor methods: the packed GEMM of ``@``,
the layer forms of csrc/act_body.h (bias + activation, backward from z or y) and the
reductions. A training step is a handful of calls. Names start with _nn_; they are not
public API. Activation ids are the one table's (rcmlrs._tensor._act_id)."""

from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy

from rcmlrs._kernels cimport *
from rcmlrs._tensor cimport RamTensor, _empty

from rcmlrs._tensor import ShapeError

# The kernels live once, in rcmlrs._tensor; this module reaches them through its C API
# capsule (csrc/rcmlrs_capi.h), so it shares their backend choice and thread pool.
rcml_capi_import()


cdef enum:
    NN_NOGIL_WORK = 32768  # multiply-adds above which a product runs without the GIL


cdef inline Py_ssize_t _nn_rows(RamTensor t) noexcept:
    return t.L * t.R


cdef int _nn_check(bint ok, str what) except -1:
    if not ok:
        raise ShapeError(what)
    return 0


cdef int _nn_act_check(int act, str what) except -1:
    if not ((0 <= act < RCML_ACT_COUNT) or act == RCML_ACT_SOFTMAX):
        raise ValueError(f"{what}: unknown activation id {act}")
    return 0


cdef void _nn_zero_grads(RamTensor a, RamTensor b, RamTensor c, RamTensor dx,
                         bint need_dx) noexcept nogil:
    """The gradients of a layer that saw no rows (or no steps) are zeros."""
    rcml_fill_f32(0.0, a.data, a.n)
    rcml_fill_f32(0.0, b.data, b.n)
    rcml_fill_f32(0.0, c.data, c.n)
    if need_dx:
        rcml_fill_f32(0.0, dx.data, dx.n)


def _nn_dense_forward(RamTensor x, RamTensor W, RamTensor b, int act, float param):
    """z = x @ W + b, y = act(z) over the L*R rows of x; returns (z, y) (y is z when linear).
    The product is the tensor ``x @ W`` call (one shared weight layer), the bias and
    activation the layer form of the tensor kernels: y == (x @ W + b).<act>() bit for bit.
    b None: no bias (z is x @ W itself; y == (x @ W).<act>() bit for bit)."""
    _nn_act_check(act, "Dense")
    cdef Py_ssize_t m = _nn_rows(x), k = x.C, n = W.C
    _nn_check(W.L == 1 and W.R == k and (b is None or b.n == n),
              f"Dense: input of shape {x.shape} does not fit kernel {W.shape} / bias "
              f"{None if b is None else b.shape}")
    cdef const float *bias = NULL if b is None else b.data
    cdef RamTensor z = _empty(x.L, x.R, n)
    cdef RamTensor y = z if act == RCML_ACT_LINEAR else _empty(x.L, x.R, n)
    if m == 0 or n == 0:
        return z, y
    if m * n * k > NN_NOGIL_WORK:
        with nogil:
            rcml_gemm_batched_f32(x.L, 0, 0, x.R, n, k, 1.0, x.data, x.R * k, W.data, 0,
                                  0.0, z.data)
            rcml_bias_act_f32(act, param, m, n, bias, z.data, y.data)
    else:
        rcml_gemm_batched_f32(x.L, 0, 0, x.R, n, k, 1.0, x.data, x.R * k, W.data, 0, 0.0,
                              z.data)
        rcml_bias_act_f32(act, param, m, n, bias, z.data, y.data)
    return z, y


def _nn_dense_backward(RamTensor x, RamTensor W, RamTensor z, RamTensor y, RamTensor g,
                       RamTensor dW, RamTensor db, int act, float param, bint need_dx):
    """dz = g * act'(z) (the tensor's ``z.<act>_backward(g, output=y)``); dW = x^T dz;
    db = dz summed over rows (the tensor reduction; skipped when db is None: no bias);
    dx = dz @ W^T (None unless need_dx)."""
    _nn_act_check(act, "Dense.backward")
    cdef Py_ssize_t m = _nn_rows(x), k = x.C, n = W.C
    _nn_check(W.L == 1 and W.R == k and z.n == m * n and y.n == z.n and g.n == z.n
              and dW.n == W.n and (db is None or db.n == n),
              f"Dense.backward: gradient of shape {g.shape} does not fit input {x.shape} "
              f"and kernel {W.shape}")
    cdef bint has_db = db is not None
    cdef float *dbp = db.data if has_db else NULL
    cdef RamTensor dz = _empty(z.L, z.R, n)
    cdef RamTensor dx = None
    if need_dx:
        dx = _empty(x.L, x.R, k)
    with nogil:
        if m == 0 or n == 0:
            # nothing flows back: the gradients of a product over no rows are zeros
            rcml_fill_f32(0.0, dW.data, dW.n)
            if has_db:
                rcml_fill_f32(0.0, dbp, n)
            if need_dx:
                rcml_fill_f32(0.0, dx.data, dx.n)
        else:
            rcml_act_layer_backward_f32(act, param, m, n, z.data, y.data, g.data, dz.data)
            rcml_gemm_f32(1, 0, k, n, m, 1.0, x.data, dz.data, 0.0, dW.data)
            if has_db:
                rcml_reduce_axis_f32(RCML_RED_SUM, dz.data, 1, m, n, 0.0, dbp)
            if need_dx:
                rcml_gemm_f32(0, 1, m, k, n, 1.0, dz.data, W.data, 0.0, dx.data)
    return dx


def _nn_activation(RamTensor x, int act, float param):
    """act(x) as a new tensor over rows of x (softmax: per row), the tensor's kernels."""
    _nn_act_check(act, "activation")
    cdef RamTensor y = _empty(x.L, x.R, x.C)
    if x.n:
        memcpy(y.data, x.data, x.n * 4)
        rcml_bias_act_f32(act, param, _nn_rows(x), x.C, NULL, y.data, y.data)
    return y


def _nn_activation_backward(RamTensor z, RamTensor y, RamTensor g, int act, float param):
    """g * act'(z) (softmax: the Jacobian-vector product per row)."""
    _nn_act_check(act, "activation backward")
    _nn_check(z.n == y.n and z.n == g.n and z.C == g.C,
              f"activation backward: shapes differ: z {z.shape}, y {y.shape}, "
              f"grad {g.shape}")
    cdef RamTensor dz = _empty(g.L, g.R, g.C)
    if z.n:
        rcml_act_layer_backward_f32(act, param, _nn_rows(z), z.C, z.data, y.data, g.data,
                                    dz.data)
    return dz


def _nn_count_correct(RamTensor pred, RamTensor target, bint labels, float threshold):
    cdef Py_ssize_t m = _nn_rows(pred), n = pred.C, i
    cdef float c
    if labels or n == 1:
        _nn_check(target.n == m, f"accuracy: {target.n} targets for {m} predictions")
        if n > 1:
            for i in range(m):
                c = target.data[i]
                if not (c >= 0 and c < n):
                    raise ValueError(f"accuracy: label {c} at row {i} is out of range [0, {n})")
    else:
        _nn_check(target.n == pred.n, "accuracy: target and prediction shapes differ")
    if m == 0:
        return 0
    return rcml_nn_count_correct_f32(m, n, pred.data, target.data, labels, threshold)


def _nn_gather_rows(RamTensor src, Py_ssize_t row_len, const int64_t[::1] idx,
                    Py_ssize_t start, Py_ssize_t count):
    """(1, count, row_len): rows idx[start:start+count] of src viewed as (N, row_len)."""
    cdef Py_ssize_t N = src.n // row_len if row_len else 0, i
    _nn_check(start >= 0 and count >= 0 and start + count <= idx.shape[0],
              "gather: index window out of range")
    for i in range(start, start + count):
        if idx[i] < 0 or idx[i] >= N:
            raise IndexError(f"gather: sample index {idx[i]} out of range for {N} samples")
    cdef RamTensor out = _empty(1, count, row_len)
    if count and row_len:
        rcml_nn_gather_rows_f32(src.data, row_len, &idx[start], count, out.data)
    return out


def _nn_gather_seq(RamTensor src, const int64_t[::1] idx, Py_ssize_t start, Py_ssize_t count):
    """Time-major batch (T, count, F) from the sample-major src (N, T, F)."""
    cdef Py_ssize_t N = src.L, i
    _nn_check(start >= 0 and count >= 0 and start + count <= idx.shape[0],
              "gather: index window out of range")
    for i in range(start, start + count):
        if idx[i] < 0 or idx[i] >= N:
            raise IndexError(f"gather: sample index {idx[i]} out of range for {N} samples")
    cdef RamTensor out = _empty(src.R, count, src.C)
    if out.n:
        rcml_nn_gather_seq_f32(src.data, src.R, src.C, &idx[start], count, out.data)
    return out


def _nn_swap01(RamTensor x):
    """(A, B, F) -> (B, A, F): time-major <-> sample-major."""
    cdef RamTensor out = _empty(x.R, x.L, x.C)
    if out.n:
        rcml_nn_swap01_f32(x.L, x.R, x.C, x.data, out.data)
    return out


def _nn_dropout(RamTensor x, float rate, uint64_t seed_, uint64_t offset):
    """(y, mask): mask = (u >= rate) / (1 - rate) with u from the counter-based stream."""
    cdef RamTensor mask = _empty(x.L, x.R, x.C)
    cdef RamTensor y = _empty(x.L, x.R, x.C)
    if x.n:
        rcml_random_uniform_f32(seed_, offset, 0.0, 1.0, mask.data, x.n)
        rcml_nn_dropout_f32(x.n, rate, mask.data, x.data, mask.data, y.data)
    return y, mask


cdef int _nn_rnn_act_check(int act) except -1:
    if act not in (RCML_ACT_TANH, RCML_ACT_SIGMOID, RCML_ACT_RELU, RCML_ACT_LINEAR):
        raise ValueError(f"RNN: activation id {act} is not tanh, sigmoid, relu or linear")
    return 0


def _nn_rnn_forward(RamTensor x, RamTensor Wx, RamTensor Wh, RamTensor b, int act):
    """Every hidden state (T, B, H) of h_t = act(x_t Wx + h_{t-1} Wh + b)."""
    _nn_rnn_act_check(act)
    cdef Py_ssize_t T = x.L, B = x.R, I = x.C, H = Wh.C
    _nn_check(Wx.L == 1 and Wx.R == I and Wx.C == H and Wh.L == 1 and Wh.R == H
              and b.n == H, f"RNN: input of shape {x.shape} does not fit kernels "
              f"{Wx.shape}, {Wh.shape} and bias {b.shape}")
    cdef RamTensor hs = _empty(T, B, H)
    if hs.n:
        with nogil:
            rcml_rnn_forward_f32(act, T, B, I, H, x.data, Wx.data, Wh.data, b.data, hs.data)
    return hs


def _nn_rnn_backward(int act, RamTensor x, RamTensor Wx, RamTensor Wh, RamTensor hs,
                     RamTensor dhs, RamTensor dWx, RamTensor dWh, RamTensor db, bint need_dx):
    """BPTT; dhs (T, B, H) holds dL/dh_t and is overwritten (with dL/dz_t). Fills dWx,
    dWh, db (the column sum of dL/dz, the tensor reduction). Returns dx or None."""
    _nn_rnn_act_check(act)
    cdef Py_ssize_t T = x.L, B = x.R, I = x.C, H = Wh.C
    _nn_check(Wx.L == 1 and Wx.R == I and Wx.C == H and Wh.L == 1 and Wh.R == H
              and hs.L == T and hs.R == B and hs.C == H and dhs.n == hs.n
              and dWx.n == Wx.n and dWh.n == Wh.n and db.n == H,
              f"RNN.backward: shapes do not fit: x {x.shape}, kernels {Wx.shape} "
              f"{Wh.shape}, states {hs.shape}, grads {dhs.shape}")
    cdef RamTensor WxT = _empty(1, H, I), WhT = _empty(1, H, H)
    cdef RamTensor dx = _empty(T, B, I) if need_dx else None
    with nogil:
        if hs.n == 0:
            _nn_zero_grads(dWx, dWh, db, dx, need_dx)
        else:
            rcml_transpose_f32(Wx.data, 1, I, H, WxT.data)
            rcml_transpose_f32(Wh.data, 1, H, H, WhT.data)
            rcml_rnn_backward_f32(act, T, B, I, H, x.data, WxT.data, WhT.data, hs.data,
                                  dhs.data, dWx.data, dWh.data,
                                  dx.data if need_dx else NULL)
            rcml_reduce_axis_f32(RCML_RED_SUM, dhs.data, 1, T * B, H, 0.0, db.data)
    return dx


def _nn_lstm_forward(RamTensor x, RamTensor W, RamTensor U, RamTensor b):
    """(G, Cs, Hs): gate activations (T, B, 4H), cell and hidden states (T, B, H)."""
    cdef Py_ssize_t T = x.L, B = x.R, I = x.C, H = U.R
    _nn_check(W.L == 1 and W.R == I and W.C == 4 * H and U.L == 1 and U.C == 4 * H
              and b.n == 4 * H, f"LSTM: input of shape {x.shape} does not fit kernels "
              f"{W.shape}, {U.shape} and bias {b.shape}")
    cdef RamTensor G = _empty(T, B, 4 * H), Cs = _empty(T, B, H), Hs = _empty(T, B, H)
    if Hs.n:
        with nogil:
            rcml_lstm_forward_f32(T, B, I, H, x.data, W.data, U.data, b.data, G.data,
                                  Cs.data, Hs.data)
    return G, Cs, Hs


def _nn_lstm_backward(RamTensor x, RamTensor W, RamTensor U, RamTensor G, RamTensor Cs,
                      RamTensor Hs, RamTensor dhs, RamTensor dW, RamTensor dU, RamTensor db,
                      bint need_dx):
    """BPTT; dhs (T, B, H) holds dL/dh_t and is overwritten. Fills dW, dU, db (the column
    sum of the gate gradients). Returns dx or None."""
    cdef Py_ssize_t T = x.L, B = x.R, I = x.C, H = U.R
    _nn_check(W.L == 1 and W.R == I and W.C == 4 * H and U.L == 1 and U.C == 4 * H
              and Hs.L == T and Hs.R == B and Hs.C == H and Cs.n == Hs.n
              and dhs.n == Hs.n and G.L == T and G.R == B and G.C == 4 * H
              and dW.n == W.n and dU.n == U.n and db.n == 4 * H,
              f"LSTM.backward: shapes do not fit: x {x.shape}, kernels {W.shape} {U.shape}, "
              f"states {Hs.shape}, grads {dhs.shape}")
    cdef RamTensor WT = _empty(1, 4 * H, I), UT = _empty(1, 4 * H, H)
    cdef RamTensor dG = _empty(T, B, 4 * H), dc = _empty(1, B, H)
    cdef RamTensor dx = _empty(T, B, I) if need_dx else None
    with nogil:
        if Hs.n == 0:
            _nn_zero_grads(dW, dU, db, dx, need_dx)
        else:
            rcml_transpose_f32(W.data, 1, I, 4 * H, WT.data)
            rcml_transpose_f32(U.data, 1, H, 4 * H, UT.data)
            rcml_lstm_backward_f32(T, B, I, H, x.data, WT.data, UT.data, G.data, Cs.data,
                                   Hs.data, dhs.data, dG.data, dc.data, dW.data, dU.data,
                                   dx.data if need_dx else NULL)
            rcml_reduce_axis_f32(RCML_RED_SUM, dG.data, 1, T * B, 4 * H, 0.0, db.data)
    return dx


cdef int _nn_gru_check(RamTensor x, RamTensor W, RamTensor U, RamTensor b,
                       str what) except -1:
    cdef Py_ssize_t I = x.C, H = U.R
    _nn_check(W.L == 1 and W.R == I and W.C == 3 * H and U.L == 1 and U.C == 3 * H
              and b.L * b.R == 2 and b.C == 3 * H,
              f"{what}: input of shape {x.shape} does not fit kernels {W.shape}, "
              f"{U.shape} and bias {b.shape} (expected kernel (1, {I}, 3 units), "
              f"recurrent (1, units, 3 units), bias (1, 2, 3 units))")
    return 0


def _nn_gru_forward(RamTensor x, RamTensor W, RamTensor U, RamTensor b):
    """(G, Gh, Hs): gate activations [z | r | n] (T, B, 3H), the recurrent products
    h_{t-1} U + b[1] (T, B, 3H) and every hidden state (T, B, H) of the GRU over the
    time-major x (T, B, I); W (1, I, 3H), U (1, H, 3H), b (1, 2, 3H)."""
    _nn_gru_check(x, W, U, b, "GRU")
    cdef Py_ssize_t T = x.L, B = x.R, I = x.C, H = U.R
    cdef RamTensor G = _empty(T, B, 3 * H), Gh = _empty(T, B, 3 * H), Hs = _empty(T, B, H)
    if Hs.n:
        with nogil:
            rcml_gru_forward_f32(T, B, I, H, x.data, W.data, U.data, b.data, G.data,
                                 Gh.data, Hs.data)
    return G, Gh, Hs


def _nn_gru_backward(RamTensor x, RamTensor W, RamTensor U, RamTensor G, RamTensor Gh,
                     RamTensor Hs, RamTensor dhs, RamTensor dW, RamTensor dU, RamTensor db,
                     bint need_dx):
    """BPTT of the GRU; dhs (T, B, H) holds dL/dh_t and is overwritten. Fills dW (1, I, 3H),
    dU (1, H, 3H) and db (1, 2, 3H) (row 0 the column sum of the input-side gate gradients,
    row 1 of the recurrent-side ones: the tensor reduction). Returns dx (T, B, I) or None."""
    cdef Py_ssize_t T = x.L, B = x.R, I = x.C, H = U.R
    _nn_check(W.L == 1 and W.R == I and W.C == 3 * H and U.L == 1 and U.C == 3 * H
              and Hs.L == T and Hs.R == B and Hs.C == H and dhs.n == Hs.n
              and G.L == T and G.R == B and G.C == 3 * H and Gh.n == G.n
              and dW.n == W.n and dU.n == U.n and db.L * db.R == 2 and db.C == 3 * H,
              f"GRU.backward: shapes do not fit: x {x.shape}, kernels {W.shape} {U.shape}, "
              f"states {Hs.shape}, grads {dhs.shape}")
    cdef RamTensor WT = _empty(1, 3 * H, I), UT = _empty(1, 3 * H, H)
    cdef RamTensor dGx = _empty(T, B, 3 * H), dGh = _empty(T, B, 3 * H)
    cdef RamTensor dx = _empty(T, B, I) if need_dx else None
    with nogil:
        if Hs.n == 0:
            _nn_zero_grads(dW, dU, db, dx, need_dx)
        else:
            rcml_transpose_f32(W.data, 1, I, 3 * H, WT.data)
            rcml_transpose_f32(U.data, 1, H, 3 * H, UT.data)
            rcml_gru_backward_f32(T, B, I, H, x.data, WT.data, UT.data, G.data, Gh.data,
                                  Hs.data, dhs.data, dGx.data, dGh.data, dW.data, dU.data,
                                  dx.data if need_dx else NULL)
            rcml_reduce_axis_f32(RCML_RED_SUM, dGx.data, 1, T * B, 3 * H, 0.0, db.data)
            rcml_reduce_axis_f32(RCML_RED_SUM, dGh.data, 1, T * B, 3 * H, 0.0,
                                 db.data + 3 * H)
    return dx
