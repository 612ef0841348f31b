# Private helpers behind rc.nn (included at the end of _tensor.pyx, so they see the
# RamTensor fields). Each one checks the sizes it relies on, allocates its outputs and
# calls one fused kernel of csrc/nn_kernels.c: a training step is a handful of calls.
# Names start with _nn_; they are not public API and may change.

cdef enum:
    NN_NOGIL_WORK = 32768  # multiply-adds above which a product runs without the GIL


cdef inline Py_ssize_t _nn_rows(RamTensor t) noexcept:
    return t.L * t.R


cdef int _nn_check(bint ok, str what) except -1:
    if not ok:
        raise ShapeError(what)
    return 0


def _nn_dense_forward(RamTensor x, RamTensor W, RamTensor b, int act, float slope):
    """z = x @ W + b, y = act(z) over the L*R rows of x; returns (z, y) (y is z when linear)."""
    cdef Py_ssize_t m = _nn_rows(x), k = x.C, n = W.C
    _nn_check(W.L == 1 and W.R == k and b.n == n,
              f"Dense: input of shape {x.shape} does not fit kernel {W.shape} / bias {b.shape}")
    cdef RamTensor z = _empty(x.L, x.R, n)
    cdef RamTensor y = z if act == RCML_NN_LINEAR else _empty(x.L, x.R, n)
    if m * n * k > NN_NOGIL_WORK:
        with nogil:
            rcml_nn_gemm_f32(0, m, n, k, x.data, W.data, 0.0, z.data)
            rcml_nn_bias_act_f32(act, slope, m, n, b.data, z.data, y.data)
    else:
        rcml_nn_gemm_f32(0, m, n, k, x.data, W.data, 0.0, z.data)
        rcml_nn_bias_act_f32(act, slope, m, n, b.data, z.data, y.data)
    return z, y


def _nn_dense_backward(RamTensor x, RamTensor W, RamTensor z, RamTensor y, RamTensor g,
                       RamTensor dW, RamTensor db, int act, float slope, bint need_dx,
                       float beta=0.0):
    """dz = g * act'(z); dW = beta dW + x^T dz; db = beta db + colsum(dz);
    dx = dz @ W^T (None unless need_dx)."""
    cdef Py_ssize_t m = _nn_rows(x), k = x.C, n = W.C
    _nn_check(W.L == 1 and W.R == k and z.n == m * n and y.n == z.n and g.n == z.n
              and dW.n == W.n and db.n == n,
              f"Dense.backward: gradient of shape {g.shape} does not fit input {x.shape} "
              f"and kernel {W.shape}")
    cdef RamTensor dz = _empty(z.L, z.R, n)
    cdef RamTensor dx = None
    if need_dx:
        dx = _empty(x.L, x.R, k)
    with nogil:
        rcml_nn_act_backward_f32(act, slope, m, n, z.data, y.data, g.data, dz.data)
        rcml_nn_gemm_f32(1, k, n, m, x.data, dz.data, beta, dW.data)
        rcml_nn_colsum_f32(m, n, dz.data, beta, db.data)
        if need_dx:
            rcml_gemm_f32(0, 1, m, k, n, 1.0, dz.data, W.data, 0.0, dx.data)
    return dx


def _nn_activation(RamTensor x, int act, float slope):
    """act(x) as a new tensor (softmax per row)."""
    cdef RamTensor y = _empty(x.L, x.R, x.C)
    if x.n:
        memcpy(y.data, x.data, x.n * 4)
        rcml_nn_bias_act_f32(act, slope, _nn_rows(x), x.C, NULL, y.data, y.data)
    return y


def _nn_activation_backward(RamTensor z, RamTensor y, RamTensor g, int act, float slope):
    """g * act'(z) (softmax: the Jacobian-vector product per row)."""
    _nn_check(z.n == y.n and z.n == g.n, "activation backward: shapes differ")
    cdef RamTensor dz = _empty(g.L, g.R, g.C)
    rcml_nn_act_backward_f32(act, slope, _nn_rows(z), z.C, z.data, y.data, g.data, dz.data)
    return dz


def _nn_loss(int kind, RamTensor pred, RamTensor target, bint labels, bint want_grad):
    """(mean loss, gradient w.r.t. pred or None). kind: 0 softmax cross-entropy on logits,
    1 mse, 2 mae, 3 binary cross-entropy on logits, 4 binary cross-entropy on probabilities.
    Cross-entropy averages over rows, the others over elements."""
    cdef Py_ssize_t m = _nn_rows(pred), n = pred.C, i
    cdef RamTensor grad = None
    cdef float *gp = NULL
    cdef double total
    cdef float scale
    cdef float c
    if labels:
        _nn_check(target.n == m, f"loss: {target.n} labels for {m} predictions")
        if kind == 0:
            for i in range(m):
                c = target.data[i]
                if not (c >= 0 and c < n and c == <float>(<Py_ssize_t>c)):
                    raise ValueError(f"cross_entropy: label {c} at row {i} is not a class "
                                     f"index in [0, {n})")
    else:
        _nn_check(target.n == pred.n, f"loss: target of shape {target.shape} does not match "
                                      f"predictions of shape {pred.shape}")
    if want_grad:
        grad = _empty(pred.L, pred.R, pred.C)
        gp = grad.data
    if pred.n == 0:
        return 0.0, grad
    if kind == 0:
        scale = 1.0 / m
        with nogil:
            total = rcml_nn_softmax_xent_f32(m, n, pred.data, target.data, labels, scale, gp)
        return total / m, grad
    scale = 1.0 / pred.n
    with nogil:
        if kind == 1:
            total = rcml_nn_mse_f32(pred.n, target.data, pred.data, scale, gp)
        elif kind == 2:
            total = rcml_nn_mae_f32(pred.n, target.data, pred.data, scale, gp)
        else:
            total = rcml_nn_bce_f32(pred.n, target.data, pred.data, kind == 3, scale, gp)
    return total / pred.n, grad


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


def _nn_rnn_forward(RamTensor x, RamTensor Wx, RamTensor Wh, RamTensor b, int act):
    """Every hidden state (T, B, H) of h_t = act(x_t Wx + h_{t-1} Wh + b)."""
    cdef Py_ssize_t T = x.L, B = x.R, I = x.C, H = Wh.C
    _nn_check(Wx.n == I * H and Wh.n == H * H and b.n == H and Wx.R == I,
              f"RNN: input of shape {x.shape} does not fit kernel {Wx.shape}")
    cdef RamTensor hs = _empty(T, B, H)
    if hs.n:
        with nogil:
            rcml_nn_rnn_forward_f32(act, T, B, I, H, x.data, Wx.data, Wh.data, b.data, hs.data)
    return hs


def _nn_rnn_backward(int act, RamTensor x, RamTensor Wx, RamTensor Wh, RamTensor hs,
                     RamTensor dhs, RamTensor dWx, RamTensor dWh, RamTensor db, bint need_dx):
    """BPTT; dhs (T, B, H) holds dL/dh_t and is overwritten. Returns dx or None."""
    cdef Py_ssize_t T = x.L, B = x.R, I = x.C, H = Wh.C
    _nn_check(hs.n == T * B * H and dhs.n == hs.n and dWx.n == I * H and dWh.n == H * H
              and db.n == H and Wx.n == I * H, "RNN.backward: shapes do not fit")
    cdef RamTensor WxT = _empty(1, H, I), WhT = _empty(1, H, H)
    cdef RamTensor dx = _empty(T, B, I) if need_dx else None
    with nogil:
        rcml_transpose_f32(Wx.data, 1, I, H, WxT.data)
        rcml_transpose_f32(Wh.data, 1, H, H, WhT.data)
        rcml_nn_rnn_backward_f32(act, T, B, I, H, x.data, WxT.data, WhT.data, hs.data,
                                 dhs.data, dWx.data, dWh.data, db.data,
                                 dx.data if need_dx else NULL)
    return dx


def _nn_lstm_forward(RamTensor x, RamTensor W, RamTensor U, RamTensor b):
    """(G, Cs, Hs): gate activations (T, B, 4H), cell and hidden states (T, B, H)."""
    cdef Py_ssize_t T = x.L, B = x.R, I = x.C, H = U.R
    _nn_check(W.n == I * 4 * H and U.n == H * 4 * H and b.n == 4 * H and W.R == I,
              f"LSTM: input of shape {x.shape} does not fit kernel {W.shape}")
    cdef RamTensor G = _empty(T, B, 4 * H), Cs = _empty(T, B, H), Hs = _empty(T, B, H)
    if Hs.n:
        with nogil:
            rcml_nn_lstm_forward_f32(T, B, I, H, x.data, W.data, U.data, b.data, G.data,
                                     Cs.data, Hs.data)
    return G, Cs, Hs


def _nn_lstm_backward(RamTensor x, RamTensor W, RamTensor U, RamTensor G, RamTensor Cs,
                      RamTensor Hs, RamTensor dhs, RamTensor dW, RamTensor dU, RamTensor db,
                      bint need_dx):
    cdef Py_ssize_t T = x.L, B = x.R, I = x.C, H = U.R
    _nn_check(Hs.n == T * B * H and Cs.n == Hs.n and dhs.n == Hs.n and G.n == 4 * Hs.n
              and dW.n == W.n and dU.n == U.n and db.n == 4 * H and W.n == I * 4 * H,
              "LSTM.backward: shapes do not fit")
    cdef RamTensor WT = _empty(1, 4 * H, I), UT = _empty(1, 4 * H, H)
    cdef RamTensor dG = _empty(T, B, 4 * H), dc = _empty(1, B, H)
    cdef RamTensor dx = _empty(T, B, I) if need_dx else None
    with nogil:
        rcml_transpose_f32(W.data, 1, I, 4 * H, WT.data)
        rcml_transpose_f32(U.data, 1, H, 4 * H, UT.data)
        rcml_nn_lstm_backward_f32(T, B, I, H, x.data, WT.data, UT.data, G.data, Cs.data,
                                  Hs.data, dhs.data, dG.data, dc.data, dW.data, dU.data,
                                  db.data, dx.data if need_dx else NULL)
    return dx


def _nn_gemm(RamTensor a, RamTensor b, RamTensor c, bint trans_a, float beta):
    """c = beta c + op(a) @ b in place over 2-D views (rows = layers * rows)."""
    cdef Py_ssize_t m, k
    if trans_a:
        k, m = _nn_rows(a), a.C
    else:
        m, k = _nn_rows(a), a.C
    _nn_check(_nn_rows(b) == k and c.n == m * b.C and (beta == 0.0 or beta == 1.0),
              f"_nn_gemm: shapes {a.shape}, {b.shape}, {c.shape} do not fit")
    with nogil:
        rcml_nn_gemm_f32(trans_a, m, b.C, k, a.data, b.data, beta, c.data)
    return c
