/* nn_body.h - the kernels behind rc.nn, ONE source compiled once per backend
 * (nn_baseline.c, nn_avx2.c, nn_avx512.c), like ew_body.h/act_body.h: each includer
 * defines RCML_NN_SFX(name) and the target ISA first, and this file fills that
 * backend's rcml_nn_table_t. Including mathf.h here (after the target pragma) lets
 * the FMA-based transcendentals compile to the hardware instruction on AVX2/AVX-512.
 *
 * Elementwise work runs on the calling thread in a fixed order, and matrix products go
 * through the library's packed GEMM (rcml_gemm_f32), whose bits do not depend on the
 * thread count either: results are bitwise identical for any thread count; the recurrent layers run their whole time loop
 * here, so a batch costs one call from Python.
 */
#include "rcmlrs.h"
#include "nn_internal.h"
#include "mathf.h"

#include <math.h>
#include <string.h>

/* C = beta C + op(A) @ B with the library's packed GEMM (tiny direct path, packed
 * micro-kernels, thread-count independent bits). */
#define NN_GEMM(ta, m, n, k, A, B, beta, C) \
    rcml_gemm_f32((ta), 0, (m), (n), (k), 1.0f, (A), (B), (beta), (C))

/* ------------------------------------------------------------ activations */

#ifndef RCML_GELU_K
#define RCML_GELU_K 0.7978845608028654f /* sqrt(2 / pi) */
#define RCML_GELU_C 0.044715f
#endif

static void RCML_NN_SFX(nn_act_row)(int act, float slope, const float *z, float *y, size_t n) {
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
        for (j = 0; j < n; j++) y[j] = rcml_sigmoidf(z[j]);
        break;
    case RCML_NN_TANH:
        for (j = 0; j < n; j++) y[j] = rcml_tanhf(z[j]);
        break;
    case RCML_NN_SWISH:
        for (j = 0; j < n; j++) y[j] = z[j] * rcml_sigmoidf(z[j]);
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

static void RCML_NN_SFX(nn_bias_act)(int act, float slope, size_t m, size_t n, const float *bias,
                          float *z, float *y) {
    size_t i, j;
    for (i = 0; i < m; i++) {
        float *zr = z + i * n;
        if (bias)
            for (j = 0; j < n; j++) zr[j] = zr[j] + bias[j];
        RCML_NN_SFX(nn_act_row)(act, slope, zr, y + i * n, n);
    }
}

static void RCML_NN_SFX(nn_act_backward)(int act, float slope, size_t m, size_t n, const float *z,
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
            float s = rcml_sigmoidf(z[j]);
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

static void RCML_NN_SFX(nn_colsum)(size_t m, size_t n, const float *g, float beta, float *out) {
    size_t i, j;
    if (beta == 0.0f)
        for (j = 0; j < n; j++) out[j] = 0.0f;
    for (i = 0; i < m; i++) {
        const float *gr = g + i * n;
        for (j = 0; j < n; j++) out[j] = out[j] + gr[j];
    }
}

/* ----------------------------------------------------------------- losses */
static double RCML_NN_SFX(nn_softmax_xent)(size_t m, size_t n, const float *logits, const float *target,
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

static double RCML_NN_SFX(nn_mse)(size_t n, const float *t, const float *p, float grad_scale, float *grad) {
    double total = 0.0;
    size_t i;
    for (i = 0; i < n; i++) {
        float d = p[i] - t[i];
        total += (double)(d * d);
        if (grad) grad[i] = 2.0f * d * grad_scale;
    }
    return total;
}

static double RCML_NN_SFX(nn_mae)(size_t n, const float *t, const float *p, float grad_scale, float *grad) {
    double total = 0.0;
    size_t i;
    for (i = 0; i < n; i++) {
        float d = p[i] - t[i];
        total += (double)(d < 0.0f ? -d : d);
        if (grad) grad[i] = (d > 0.0f ? grad_scale : (d < 0.0f ? -grad_scale : 0.0f));
    }
    return total;
}

static double RCML_NN_SFX(nn_bce)(size_t n, const float *t, const float *p, int from_logits,
                       float grad_scale, float *grad) {
    double total = 0.0;
    size_t i;
    const float eps = 1e-7f;
    for (i = 0; i < n; i++) {
        if (from_logits) {
            /* max(z, 0) - z t + log(1 + e^-|z|): stable for any z */
            float z = p[i], az = z < 0.0f ? -z : z;
            total += (double)((z > 0.0f ? z : 0.0f) - z * t[i] + rcml_logf(1.0f + rcml_expf(-az)));
            if (grad) grad[i] = (rcml_sigmoidf(z) - t[i]) * grad_scale;
        } else {
            float q = p[i] < eps ? eps : (p[i] > 1.0f - eps ? 1.0f - eps : p[i]);
            total -= (double)(t[i] * rcml_logf(q) + (1.0f - t[i]) * rcml_logf(1.0f - q));
            if (grad) grad[i] = (q - t[i]) / (q * (1.0f - q)) * grad_scale;
        }
    }
    return total;
}

/* --------------------------------------------------------------- recurrent */
/* y-based derivative of the recurrent activations (tanh, sigmoid, relu, linear) */
static void RCML_NN_SFX(nn_rec_deriv)(int act, const float *y, float *d, size_t n) {
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

static void RCML_NN_SFX(nn_rnn_forward)(int act, size_t T, size_t B, size_t I, size_t H, const float *X,
                             const float *Wx, const float *Wh, const float *b, float *Hs) {
    size_t t;
    const size_t BH = B * H;
    /* all input projections at once, then the recurrence one step at a time */
    NN_GEMM(0, T * B, H, I, X, Wx, 0.0f, Hs);
    for (t = 0; t < T; t++) {
        float *h = Hs + t * BH;
        if (t > 0) NN_GEMM(0, B, H, H, h - BH, Wh, 1.0f, h);
        RCML_NN_SFX(nn_bias_act)(act, 0.0f, B, H, b, h, h);
    }
}

static void RCML_NN_SFX(nn_rnn_backward)(int act, size_t T, size_t B, size_t I, size_t H, const float *X,
                              const float *WxT, const float *WhT, const float *Hs, float *dHs,
                              float *dWx, float *dWh, float *db, float *dX) {
    size_t t;
    const size_t BH = B * H;
    for (t = T; t-- > 0;) {
        float *dz = dHs + t * BH;
        RCML_NN_SFX(nn_rec_deriv)(act, Hs + t * BH, dz, BH);
        if (t > 0) NN_GEMM(0, B, H, H, dz, WhT, 1.0f, dz - BH);
    }
    /* dHs now holds dL/dz_t for every step */
    if (T > 1)
        NN_GEMM(1, H, H, (T - 1) * B, Hs, dHs + BH, 0.0f, dWh);
    else
        memset(dWh, 0, H * H * sizeof(float));
    NN_GEMM(1, I, H, T * B, X, dHs, 0.0f, dWx);
    RCML_NN_SFX(nn_colsum)(T * B, H, dHs, 0.0f, db);
    if (dX) NN_GEMM(0, T * B, I, H, dHs, WxT, 0.0f, dX);
}

/* One LSTM step's gate nonlinearities and state update for one row. Separate simple
 * loops over restrict pointers so each one vectorises. */
static void RCML_NN_SFX(nn_lstm_cell)(size_t H, const float *RCML_RESTRICT b,
                                      float *RCML_RESTRICT gr, const float *RCML_RESTRICT cp,
                                      float *RCML_RESTRICT c, float *RCML_RESTRICT h) {
    size_t j;
    for (j = 0; j < 4 * H; j++) gr[j] = gr[j] + b[j];
    for (j = 0; j < 2 * H; j++) gr[j] = rcml_sigmoidf(gr[j]); /* i, f */
    for (j = 2 * H; j < 3 * H; j++) gr[j] = rcml_tanhf(gr[j]); /* g */
    for (j = 3 * H; j < 4 * H; j++) gr[j] = rcml_sigmoidf(gr[j]); /* o */
    const float *ig = gr, *fg = gr + H, *gg = gr + 2 * H, *og = gr + 3 * H;
    if (cp)
        for (j = 0; j < H; j++) c[j] = fg[j] * cp[j] + ig[j] * gg[j];
    else
        for (j = 0; j < H; j++) c[j] = ig[j] * gg[j];
    for (j = 0; j < H; j++) h[j] = og[j] * rcml_tanhf(c[j]);
}

static void RCML_NN_SFX(nn_lstm_forward)(size_t T, size_t B, size_t I, size_t H, const float *X,
                              const float *W, const float *U, const float *b, float *G,
                              float *Cs, float *Hs) {
    size_t t, r;
    const size_t H4 = 4 * H, BH = B * H, BG = B * H4;
    NN_GEMM(0, T * B, H4, I, X, W, 0.0f, G);
    for (t = 0; t < T; t++) {
        float *g = G + t * BG;
        if (t > 0) NN_GEMM(0, B, H4, H, Hs + (t - 1) * BH, U, 1.0f, g);
        for (r = 0; r < B; r++)
            RCML_NN_SFX(nn_lstm_cell)(H, b, g + r * H4,
                                      t > 0 ? Cs + (t - 1) * BH + r * H : NULL,
                                      Cs + t * BH + r * H, Hs + t * BH + r * H);
    }
}

/* Gate gradients of one row at one step; dc (in: from step t+1, out: to step t-1). */
static void RCML_NN_SFX(nn_lstm_cell_backward)(size_t H, const float *RCML_RESTRICT gr,
                                               const float *RCML_RESTRICT c,
                                               const float *RCML_RESTRICT cp,
                                               const float *RCML_RESTRICT dh,
                                               float *RCML_RESTRICT dcr,
                                               float *RCML_RESTRICT dg) {
    size_t j;
    const float *ig = gr, *fg = gr + H, *gg = gr + 2 * H, *og = gr + 3 * H;
    float *di = dg, *df = dg + H, *dgg = dg + 2 * H, *dout = dg + 3 * H;
    for (j = 0; j < H; j++) {
        float tc = rcml_tanhf(c[j]);
        float dcv = dcr[j] + dh[j] * og[j] * (1.0f - tc * tc);
        dout[j] = dh[j] * tc * (og[j] * (1.0f - og[j]));
        di[j] = dcv * gg[j] * (ig[j] * (1.0f - ig[j]));
        dgg[j] = dcv * ig[j] * (1.0f - gg[j] * gg[j]);
        df[j] = dcv; /* times c_{t-1} f (1 - f) below */
        dcr[j] = dcv * fg[j];
    }
    if (cp)
        for (j = 0; j < H; j++) df[j] = df[j] * cp[j] * (fg[j] * (1.0f - fg[j]));
    else
        for (j = 0; j < H; j++) df[j] = 0.0f; /* c_{-1} = 0 */
}

static void RCML_NN_SFX(nn_lstm_backward)(size_t T, size_t B, size_t I, size_t H, const float *X,
                               const float *WT, const float *UT, const float *G,
                               const float *Cs, const float *Hs, float *dHs, float *dG,
                               float *dc, float *dW, float *dU, float *db, float *dX) {
    size_t t, r;
    const size_t H4 = 4 * H, BH = B * H, BG = B * H4;
    memset(dc, 0, BH * sizeof(float));
    for (t = T; t-- > 0;) {
        for (r = 0; r < B; r++)
            RCML_NN_SFX(nn_lstm_cell_backward)(H, G + t * BG + r * H4, Cs + t * BH + r * H,
                                               t > 0 ? Cs + (t - 1) * BH + r * H : NULL,
                                               dHs + t * BH + r * H, dc + r * H,
                                               dG + t * BG + r * H4);
        if (t > 0) NN_GEMM(0, B, H, H4, dG + t * BG, UT, 1.0f, dHs + (t - 1) * BH);
    }
    if (T > 1)
        NN_GEMM(1, H, H4, (T - 1) * B, Hs, dG + BG, 0.0f, dU);
    else
        memset(dU, 0, H * H4 * sizeof(float));
    NN_GEMM(1, I, H4, T * B, X, dG, 0.0f, dW);
    RCML_NN_SFX(nn_colsum)(T * B, H4, dG, 0.0f, db);
    if (dX) NN_GEMM(0, T * B, I, H4, dG, WT, 0.0f, dX);
}

const rcml_nn_table_t RCML_NN_SFX(rcml_nn_table) = {
    RCML_NN_SFX(nn_bias_act),     RCML_NN_SFX(nn_act_backward),
    RCML_NN_SFX(nn_colsum),       RCML_NN_SFX(nn_softmax_xent), RCML_NN_SFX(nn_mse),
    RCML_NN_SFX(nn_mae),          RCML_NN_SFX(nn_bce),         RCML_NN_SFX(nn_rnn_forward),
    RCML_NN_SFX(nn_rnn_backward), RCML_NN_SFX(nn_lstm_forward), RCML_NN_SFX(nn_lstm_backward),
};
