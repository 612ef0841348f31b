/* layers.c - public entry points of the recurrent layers (rnn_body.h, dispatched through
 * the one kernel table), plus the layer helpers that do no arithmetic worth vectorising
 * (metrics, batch gathering, dropout masks). Dense needs nothing here: it is the GEMM plus
 * act_body.h's layer forms (rcml_bias_act_f32, rcml_act_layer_backward_f32).
 *
 * Results are bitwise identical for any thread count (fixed-order loops on the calling
 * thread; products through the packed GEMM, which splits work independently of it).
 */
#include "rcmlrs.h"
#include "kernels.h"

#include <string.h>

void rcml_rnn_forward_f32(int act, size_t T, size_t B, size_t I, size_t H, const float *X,
                          const float *Wx, const float *Wh, const float *b, float *Hs) {
    rcml_kernels()->rnn->rnn_forward(act, T, B, I, H, X, Wx, Wh, b, Hs);
}

void rcml_rnn_backward_f32(int act, size_t T, size_t B, size_t I, size_t H, const float *X,
                           const float *WxT, const float *WhT, const float *Hs, float *dHs,
                           float *dWx, float *dWh, float *dX) {
    rcml_kernels()->rnn->rnn_backward(act, T, B, I, H, X, WxT, WhT, Hs, dHs, dWx, dWh, dX);
}

void rcml_lstm_forward_f32(size_t T, size_t B, size_t I, size_t H, const float *X, const float *W,
                           const float *U, const float *b, float *G, float *Cs, float *Hs) {
    rcml_kernels()->rnn->lstm_forward(T, B, I, H, X, W, U, b, G, Cs, Hs);
}

void rcml_lstm_backward_f32(size_t T, size_t B, size_t I, size_t H, const float *X, const float *WT,
                            const float *UT, const float *G, const float *Cs, const float *Hs,
                            float *dHs, float *dG, float *dc, float *dW, float *dU, float *dX) {
    rcml_kernels()->rnn->lstm_backward(T, B, I, H, X, WT, UT, G, Cs, Hs, dHs, dG, dc, dW, dU, dX);
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
void rcml_nn_gather_rows_f32(const float *src, size_t row_len, const int64_t *idx, size_t count,
                             float *dst) {
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

/* ------------------------------------------------------------------ GRU */
void rcml_gru_forward_f32(size_t T, size_t B, size_t I, size_t H, const float *X, const float *W,
                          const float *U, const float *b, float *G, float *Gh, float *Hs) {
    rcml_kernels()->rnn->gru_forward(T, B, I, H, X, W, U, b, G, Gh, Hs);
}

void rcml_gru_backward_f32(size_t T, size_t B, size_t I, size_t H, const float *X, const float *WT,
                           const float *UT, const float *G, const float *Gh, const float *Hs,
                           float *dHs, float *dGx, float *dGh, float *dW, float *dU, float *dX) {
    rcml_kernels()->rnn->gru_backward(T, B, I, H, X, WT, UT, G, Gh, Hs, dHs, dGx, dGh, dW, dU, dX);
}
