/* nn_kernels.c - fused kernels behind rc.nn: small GEMM, bias + activation, activation
 * backward, bias gradient, losses with their gradient in one pass, metrics, batch
 * gathering, dropout, and whole-sequence RNN/LSTM forward and backward
 * (BPTT) so a recurrent layer costs one call per batch instead of one per time step.
 *
 * Everything here runs on the calling thread in a fixed order, so results are bitwise
 * identical for any thread count (and the GEMM gives the same bits on every backend).
 */
#include "rcmlrs.h"
#include "internal.h"
#include "mathf.h"

#include <math.h>

/* ------------------------------------------------------------ GEMM variants */
#define RCML_NN_SFX(name) name##_base
#include "nn_gemm_body.h"
#undef RCML_NN_SFX

#ifdef RCML_HAVE_X86_TARGETS
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define RCML_NN_SFX(name) name##_avx2
#include "nn_gemm_body.h"
#undef RCML_NN_SFX
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#endif
#define RCML_NN_SFX(name) name##_avx512
#include "nn_gemm_body.h"
#undef RCML_NN_SFX
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif

void rcml_nn_gemm_f32(int trans_a, size_t m, size_t n, size_t k, const float *A,
                      const float *B, float beta, float *C) {
    if (m == 0 || n == 0) return;
#ifdef RCML_HAVE_X86_TARGETS
    if (rcml_active_isa == RCML_ISA_AVX512) {
        nn_gemm_avx512(trans_a, m, n, k, A, B, beta, C);
        return;
    }
    if (rcml_active_isa == RCML_ISA_AVX2) {
        nn_gemm_avx2(trans_a, m, n, k, A, B, beta, C);
        return;
    }
#endif
    nn_gemm_base(trans_a, m, n, k, A, B, beta, C);
}

/* ------------------------------------------------------------ activations */
RCML_INLINE float nn_sigmoid(float x) { return 1.0f / (1.0f + rcml_expf(-x)); }

#define RCML_GELU_K 0.7978845608028654f /* sqrt(2 / pi) */
#define RCML_GELU_C 0.044715f

static void nn_act_row(int act, float slope, const float *z, float *y, size_t n) {
    size_t j;
    switch (act) {
    case RCML_NN_LINEAR:
        if (y != z) memcpy(y, z, n * sizeof(float));
        break;
    case RCML_NN_RELU:
        for (j = 0; j < n; j++) y[j] = z[j] < 0.0f ? 0.0f : z[j]; /* NaN passes */
        break;
    case RCML_NN_LEAKY_RELU:
        for (j = 0; j < n; j++) y[j] = z[j] < 0.0f ? slope * z[j] : z[j];
        break;
    case RCML_NN_SIGMOID:
        for (j = 0; j < n; j++) y[j] = nn_sigmoid(z[j]);
        break;
    case RCML_NN_TANH:
        for (j = 0; j < n; j++) y[j] = rcml_tanhf(z[j]);
        break;
    case RCML_NN_SWISH:
        for (j = 0; j < n; j++) y[j] = z[j] * nn_sigmoid(z[j]);
        break;
    case RCML_NN_GELU:
        for (j = 0; j < n; j++) {
            float x = z[j];
            y[j] = 0.5f * x * (1.0f + rcml_tanhf(RCML_GELU_K * (x + RCML_GELU_C * x * x * x)));
        }
        break;
    case RCML_NN_SOFTMAX: {
        /* shift by the row max so exp never overflows */
        float mx = z[0], s = 0.0f;
        for (j = 1; j < n; j++) mx = z[j] > mx ? z[j] : mx;
        for (j = 0; j < n; j++) {
            y[j] = rcml_expf(z[j] - mx);
            s += y[j];
        }
        s = 1.0f / s;
        for (j = 0; j < n; j++) y[j] *= s;
        break;
    }
    default: break;
    }
}

void rcml_nn_bias_act_f32(int act, float slope, size_t m, size_t n, const float *bias,
                          float *z, float *y) {
    size_t i, j;
    for (i = 0; i < m; i++) {
        float *zr = z + i * n;
        if (bias)
            for (j = 0; j < n; j++) zr[j] = zr[j] + bias[j];
        nn_act_row(act, slope, zr, y + i * n, n);
    }
}

void rcml_nn_act_backward_f32(int act, float slope, size_t m, size_t n, const float *z,
                              const float *y, const float *g, float *dz) {
    size_t i, j, N = m * n;
    switch (act) {
    case RCML_NN_LINEAR:
        if (dz != g) memcpy(dz, g, N * sizeof(float));
        break;
    case RCML_NN_RELU:
        for (j = 0; j < N; j++) dz[j] = z[j] > 0.0f ? g[j] : 0.0f;
        break;
    case RCML_NN_LEAKY_RELU:
        for (j = 0; j < N; j++) dz[j] = z[j] > 0.0f ? g[j] : slope * g[j];
        break;
    case RCML_NN_SIGMOID:
        for (j = 0; j < N; j++) dz[j] = g[j] * (y[j] * (1.0f - y[j]));
        break;
    case RCML_NN_TANH:
        for (j = 0; j < N; j++) dz[j] = g[j] * (1.0f - y[j] * y[j]);
        break;
    case RCML_NN_SWISH:
        for (j = 0; j < N; j++) {
            float s = nn_sigmoid(z[j]);
            dz[j] = g[j] * (s + z[j] * s * (1.0f - s));
        }
        break;
    case RCML_NN_GELU:
        for (j = 0; j < N; j++) {
            float x = z[j];
            float t = rcml_tanhf(RCML_GELU_K * (x + RCML_GELU_C * x * x * x));
            float d = 0.5f * (1.0f + t) +
                      0.5f * x * (1.0f - t * t) * RCML_GELU_K * (1.0f + 3.0f * RCML_GELU_C * x * x);
            dz[j] = g[j] * d;
        }
        break;
    case RCML_NN_SOFTMAX:
        /* J^T g per row: y * (g - <g, y>) */
        for (i = 0; i < m; i++) {
            const float *yr = y + i * n, *gr = g + i * n;
            float *dr = dz + i * n;
            float s = 0.0f;
            for (j = 0; j < n; j++) s += gr[j] * yr[j];
            for (j = 0; j < n; j++) dr[j] = yr[j] * (gr[j] - s);
        }
        break;
    default: break;
    }
}

void rcml_nn_colsum_f32(size_t m, size_t n, const float *g, float beta, float *out) {
    size_t i, j;
    if (beta == 0.0f)
        for (j = 0; j < n; j++) out[j] = 0.0f;
    for (i = 0; i < m; i++) {
        const float *gr = g + i * n;
        for (j = 0; j < n; j++) out[j] = out[j] + gr[j];
    }
}

/* ----------------------------------------------------------------- losses */
double rcml_nn_softmax_xent_f32(size_t m, size_t n, const float *logits, const float *target,
                                int labels, float grad_scale, float *grad) {
    double total = 0.0;
    size_t i, j;
    for (i = 0; i < m; i++) {
        const float *z = logits + i * n;
        float mx = z[0], s = 0.0f;
        for (j = 1; j < n; j++) mx = z[j] > mx ? z[j] : mx;
        for (j = 0; j < n; j++) s += rcml_expf(z[j] - mx);
        float lse = mx + rcml_logf(s);
        if (labels) {
            size_t c = (size_t)target[i];
            total += (double)(lse - z[c]);
            if (grad) {
                float *gr = grad + i * n;
                for (j = 0; j < n; j++) gr[j] = rcml_expf(z[j] - lse) * grad_scale;
                gr[c] -= grad_scale;
            }
        } else {
            const float *t = target + i * n;
            float row = 0.0f, tsum = 0.0f;
            for (j = 0; j < n; j++) {
                row += t[j] * (lse - z[j]);
                tsum += t[j];
            }
            total += (double)row;
            if (grad) {
                float *gr = grad + i * n;
                for (j = 0; j < n; j++) gr[j] = (tsum * rcml_expf(z[j] - lse) - t[j]) * grad_scale;
            }
        }
    }
    return total;
}

double rcml_nn_mse_f32(size_t n, const float *t, const float *p, float grad_scale, float *grad) {
    double total = 0.0;
    size_t i;
    for (i = 0; i < n; i++) {
        float d = p[i] - t[i];
        total += (double)(d * d);
        if (grad) grad[i] = 2.0f * d * grad_scale;
    }
    return total;
}

double rcml_nn_mae_f32(size_t n, const float *t, const float *p, float grad_scale, float *grad) {
    double total = 0.0;
    size_t i;
    for (i = 0; i < n; i++) {
        float d = p[i] - t[i];
        total += (double)(d < 0.0f ? -d : d);
        if (grad) grad[i] = (d > 0.0f ? grad_scale : (d < 0.0f ? -grad_scale : 0.0f));
    }
    return total;
}

double rcml_nn_bce_f32(size_t n, const float *t, const float *p, int from_logits,
                       float grad_scale, float *grad) {
    double total = 0.0;
    size_t i;
    const float eps = 1e-7f;
    for (i = 0; i < n; i++) {
        if (from_logits) {
            /* max(z, 0) - z t + log(1 + e^-|z|): stable for any z */
            float z = p[i], az = z < 0.0f ? -z : z;
            total += (double)((z > 0.0f ? z : 0.0f) - z * t[i] + rcml_logf(1.0f + rcml_expf(-az)));
            if (grad) grad[i] = (nn_sigmoid(z) - t[i]) * grad_scale;
        } else {
            float q = p[i] < eps ? eps : (p[i] > 1.0f - eps ? 1.0f - eps : p[i]);
            total -= (double)(t[i] * rcml_logf(q) + (1.0f - t[i]) * rcml_logf(1.0f - q));
            if (grad) grad[i] = (q - t[i]) / (q * (1.0f - q)) * grad_scale;
        }
    }
    return total;
}

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

/* --------------------------------------------------------------- recurrent */
/* y-based derivative of the recurrent activations (tanh, sigmoid, relu, linear) */
static void nn_rec_deriv(int act, const float *y, float *d, size_t n) {
    size_t j;
    switch (act) {
    case RCML_NN_TANH:
        for (j = 0; j < n; j++) d[j] = d[j] * (1.0f - y[j] * y[j]);
        break;
    case RCML_NN_SIGMOID:
        for (j = 0; j < n; j++) d[j] = d[j] * (y[j] * (1.0f - y[j]));
        break;
    case RCML_NN_RELU:
        for (j = 0; j < n; j++) d[j] = y[j] > 0.0f ? d[j] : 0.0f;
        break;
    default: break;
    }
}

void rcml_nn_rnn_forward_f32(int act, size_t T, size_t B, size_t I, size_t H, const float *X,
                             const float *Wx, const float *Wh, const float *b, float *Hs) {
    size_t t;
    const size_t BH = B * H;
    /* all input projections at once, then the recurrence one step at a time */
    rcml_nn_gemm_f32(0, T * B, H, I, X, Wx, 0.0f, Hs);
    for (t = 0; t < T; t++) {
        float *h = Hs + t * BH;
        if (t > 0) rcml_nn_gemm_f32(0, B, H, H, h - BH, Wh, 1.0f, h);
        rcml_nn_bias_act_f32(act, 0.0f, B, H, b, h, h);
    }
}

void rcml_nn_rnn_backward_f32(int act, size_t T, size_t B, size_t I, size_t H, const float *X,
                              const float *WxT, const float *WhT, const float *Hs, float *dHs,
                              float *dWx, float *dWh, float *db, float *dX) {
    size_t t;
    const size_t BH = B * H;
    for (t = T; t-- > 0;) {
        float *dz = dHs + t * BH;
        nn_rec_deriv(act, Hs + t * BH, dz, BH);
        if (t > 0) rcml_nn_gemm_f32(0, B, H, H, dz, WhT, 1.0f, dz - BH);
    }
    /* dHs now holds dL/dz_t for every step */
    if (T > 1)
        rcml_nn_gemm_f32(1, H, H, (T - 1) * B, Hs, dHs + BH, 0.0f, dWh);
    else
        memset(dWh, 0, H * H * sizeof(float));
    rcml_nn_gemm_f32(1, I, H, T * B, X, dHs, 0.0f, dWx);
    rcml_nn_colsum_f32(T * B, H, dHs, 0.0f, db);
    if (dX) rcml_nn_gemm_f32(0, T * B, I, H, dHs, WxT, 0.0f, dX);
}

void rcml_nn_lstm_forward_f32(size_t T, size_t B, size_t I, size_t H, const float *X,
                              const float *W, const float *U, const float *b, float *G,
                              float *Cs, float *Hs) {
    size_t t, r, j;
    const size_t H4 = 4 * H, BH = B * H, BG = B * H4;
    rcml_nn_gemm_f32(0, T * B, H4, I, X, W, 0.0f, G);
    for (t = 0; t < T; t++) {
        float *g = G + t * BG;
        if (t > 0) rcml_nn_gemm_f32(0, B, H4, H, Hs + (t - 1) * BH, U, 1.0f, g);
        for (r = 0; r < B; r++) {
            float *gr = g + r * H4;
            float *c = Cs + t * BH + r * H;
            float *h = Hs + t * BH + r * H;
            const float *cp = t > 0 ? Cs + (t - 1) * BH + r * H : NULL;
            for (j = 0; j < H4; j++) gr[j] = gr[j] + b[j];
            for (j = 0; j < H; j++) {
                float ig = nn_sigmoid(gr[j]);
                float fg = nn_sigmoid(gr[H + j]);
                float gg = rcml_tanhf(gr[2 * H + j]);
                float og = nn_sigmoid(gr[3 * H + j]);
                gr[j] = ig;
                gr[H + j] = fg;
                gr[2 * H + j] = gg;
                gr[3 * H + j] = og;
                float cv = (cp ? fg * cp[j] : 0.0f) + ig * gg;
                c[j] = cv;
                h[j] = og * rcml_tanhf(cv);
            }
        }
    }
}

void rcml_nn_lstm_backward_f32(size_t T, size_t B, size_t I, size_t H, const float *X,
                               const float *WT, const float *UT, const float *G,
                               const float *Cs, const float *Hs, float *dHs, float *dG,
                               float *dc, float *dW, float *dU, float *db, float *dX) {
    size_t t, r, j;
    const size_t H4 = 4 * H, BH = B * H, BG = B * H4;
    memset(dc, 0, BH * sizeof(float));
    for (t = T; t-- > 0;) {
        for (r = 0; r < B; r++) {
            const float *gr = G + t * BG + r * H4;
            const float *c = Cs + t * BH + r * H;
            const float *cp = t > 0 ? Cs + (t - 1) * BH + r * H : NULL;
            const float *dh = dHs + t * BH + r * H;
            float *dcr = dc + r * H;
            float *dg = dG + t * BG + r * H4;
            for (j = 0; j < H; j++) {
                float ig = gr[j], fg = gr[H + j], gg = gr[2 * H + j], og = gr[3 * H + j];
                float tc = rcml_tanhf(c[j]);
                float dcv = dcr[j] + dh[j] * og * (1.0f - tc * tc);
                float cpv = cp ? cp[j] : 0.0f;
                dg[j] = dcv * gg * (ig * (1.0f - ig));
                dg[H + j] = dcv * cpv * (fg * (1.0f - fg));
                dg[2 * H + j] = dcv * ig * (1.0f - gg * gg);
                dg[3 * H + j] = dh[j] * tc * (og * (1.0f - og));
                dcr[j] = dcv * fg;
            }
        }
        if (t > 0) rcml_nn_gemm_f32(0, B, H, H4, dG + t * BG, UT, 1.0f, dHs + (t - 1) * BH);
    }
    if (T > 1)
        rcml_nn_gemm_f32(1, H, H4, (T - 1) * B, Hs, dG + BG, 0.0f, dU);
    else
        memset(dU, 0, H * H4 * sizeof(float));
    rcml_nn_gemm_f32(1, I, H4, T * B, X, dG, 0.0f, dW);
    rcml_nn_colsum_f32(T * B, H4, dG, 0.0f, db);
    if (dX) rcml_nn_gemm_f32(0, T * B, I, H4, dG, WT, 0.0f, dX);
}
