/* nn_kernels.c - public entry points of the rc.nn kernels: dispatch to the active
 * backend's table (nn_body.h compiled per ISA), plus the kernels that do no arithmetic
 * worth vectorising (metrics, batch gathering, dropout masks).
 *
 * Results are bitwise identical for any thread count (fixed-order loops on the calling
 * thread; products through the packed GEMM, which splits work independently of it).
 */
#include "rcmlrs.h"
#include "internal.h"
#include "nn_internal.h"

#include <string.h>

static const rcml_nn_table_t *nn_table(void) {
#ifdef RCML_HAVE_X86_TARGETS
    if (rcml_active_isa == RCML_ISA_AVX512) return &rcml_nn_table_avx512;
    if (rcml_active_isa == RCML_ISA_AVX2) return &rcml_nn_table_avx2;
#endif
    return &rcml_nn_table_base;
}

void rcml_nn_gemm_f32(int trans_a, size_t m, size_t n, size_t k, const float *A,
                      const float *B, float beta, float *C) {
    if (m == 0 || n == 0) return;
    rcml_gemm_f32(trans_a, 0, m, n, k, 1.0f, A, B, beta, C);
}

void rcml_nn_bias_act_f32(int act, float slope, size_t m, size_t n, const float *bias,
                          float *z, float *y) {
    nn_table()->bias_act(act, slope, m, n, bias, z, y);
}

void rcml_nn_act_backward_f32(int act, float slope, size_t m, size_t n, const float *z,
                              const float *y, const float *g, float *dz) {
    nn_table()->act_backward(act, slope, m, n, z, y, g, dz);
}

void rcml_nn_colsum_f32(size_t m, size_t n, const float *g, float beta, float *out) {
    nn_table()->colsum(m, n, g, beta, out);
}

double rcml_nn_softmax_xent_f32(size_t m, size_t n, const float *logits, const float *target,
                                int labels, float grad_scale, float *grad) {
    return nn_table()->softmax_xent(m, n, logits, target, labels, grad_scale, grad);
}

double rcml_nn_mse_f32(size_t n, const float *t, const float *p, float grad_scale, float *grad) {
    return nn_table()->mse(n, t, p, grad_scale, grad);
}

double rcml_nn_mae_f32(size_t n, const float *t, const float *p, float grad_scale, float *grad) {
    return nn_table()->mae(n, t, p, grad_scale, grad);
}

double rcml_nn_bce_f32(size_t n, const float *t, const float *p, int from_logits,
                       float grad_scale, float *grad) {
    return nn_table()->bce(n, t, p, from_logits, grad_scale, grad);
}

void rcml_nn_rnn_forward_f32(int act, size_t T, size_t B, size_t I, size_t H, const float *X,
                             const float *Wx, const float *Wh, const float *b, float *Hs) {
    nn_table()->rnn_forward(act, T, B, I, H, X, Wx, Wh, b, Hs);
}

void rcml_nn_rnn_backward_f32(int act, size_t T, size_t B, size_t I, size_t H, const float *X,
                              const float *WxT, const float *WhT, const float *Hs, float *dHs,
                              float *dWx, float *dWh, float *db, float *dX) {
    nn_table()->rnn_backward(act, T, B, I, H, X, WxT, WhT, Hs, dHs, dWx, dWh, db, dX);
}

void rcml_nn_lstm_forward_f32(size_t T, size_t B, size_t I, size_t H, const float *X,
                              const float *W, const float *U, const float *b, float *G,
                              float *Cs, float *Hs) {
    nn_table()->lstm_forward(T, B, I, H, X, W, U, b, G, Cs, Hs);
}

void rcml_nn_lstm_backward_f32(size_t T, size_t B, size_t I, size_t H, const float *X,
                               const float *WT, const float *UT, const float *G,
                               const float *Cs, const float *Hs, float *dHs, float *dG,
                               float *dc, float *dW, float *dU, float *db, float *dX) {
    nn_table()->lstm_backward(T, B, I, H, X, WT, UT, G, Cs, Hs, dHs, dG, dc, dW, dU, db, dX);
}

/* ------------------------------------------------------------------ metrics */
size_t rcml_nn_count_correct_f32(size_t m, size_t n, const float *pred, const float *target,
                                 int labels, float threshold) {
    size_t i, j, hits = 0;
    for (i = 0; i < m; i++) {
        const float *p = pred + i * n;
        if (n == 1) {
            int yp = p[0] >= threshold, yt = target[i] >= 0.5f;
            hits += (size_t)(yp == yt);
            continue;
        }
        size_t best = 0, tb = 0;
        for (j = 1; j < n; j++)
            if (p[j] > p[best]) best = j;
        if (labels) {
            tb = (size_t)target[i];
        } else {
            const float *t = target + i * n;
            for (j = 1; j < n; j++)
                if (t[j] > t[tb]) tb = j;
        }
        hits += (size_t)(best == tb);
    }
    return hits;
}


/* --------------------------------------------------------------- batching */
void rcml_nn_gather_rows_f32(const float *src, size_t row_len, const int64_t *idx,
                             size_t count, float *dst) {
    size_t i;
    for (i = 0; i < count; i++)
        memcpy(dst + i * row_len, src + (size_t)idx[i] * row_len, row_len * sizeof(float));
}

void rcml_nn_gather_seq_f32(const float *src, size_t T, size_t F, const int64_t *idx, size_t B,
                            float *dst) {
    size_t t, b;
    for (t = 0; t < T; t++)
        for (b = 0; b < B; b++)
            memcpy(dst + (t * B + b) * F, src + ((size_t)idx[b] * T + t) * F, F * sizeof(float));
}

void rcml_nn_swap01_f32(size_t A, size_t B, size_t F, const float *src, float *dst) {
    size_t a, b;
    for (a = 0; a < A; a++)
        for (b = 0; b < B; b++)
            memcpy(dst + (b * A + a) * F, src + (a * B + b) * F, F * sizeof(float));
}

void rcml_nn_dropout_f32(size_t n, float rate, const float *u, const float *x, float *mask,
                         float *y) {
    const float keep = 1.0f / (1.0f - rate);
    size_t i;
    for (i = 0; i < n; i++) {
        float mk = u[i] >= rate ? keep : 0.0f;
        mask[i] = mk;
        y[i] = x[i] * mk;
    }
}

