/* act_body.h - THE activation math: every activation, derivative, fused backward, softmax
 * and normalization kernel, and the layer forms (bias + activation per row, backward from
 * z or y) that rc.nn layers and the recurrent bodies use. One source, compiled once per
 * ISA through isa_body.h (RCML_SFX and RCML_LOOP defined by the includer).
 *
 * Per-element functions are branch-free (selects via rcml_self) so every loop below
 * vectorises; every sum runs in a fixed order (16 lanes combined pairwise, or one
 * column at a time), and mathf.h uses exact fused multiply-adds, so all backends give
 * identical bits.
 */
#include "rcmlrs.h"
#include "kernels.h"
#include "mathf.h"

#define RCML_NINF (-(rcml_as_float(0x7f800000u)))

/* ------------------------------------------------------------ per element */

RCML_INLINE float act_relu(float x) { return rcml_self(x <= 0.0f, 0.0f, x); } /* NaN stays */

RCML_INLINE float act_nanfix(float x, float r) { return rcml_self(x != x, x, r); }

/* e^{-k x^2} with x^2 split exactly (hi + lo) so large |x| keeps full accuracy */
RCML_INLINE float act_gauss(float x, float k) {
    float hi = x * x;
    int fin = hi < 1e30f;
    float lo = rcml_self(fin, RCML_FMAF(x, x, -hi), 0.0f);
    float z = rcml_exp_neg(-(k * rcml_self(fin, hi, 1e30f)));
    return RCML_FMAF(-z, k * lo, z);
}

RCML_INLINE float act_gelu(float x) {
    float u2 = x * RCML_FMAF(0.07135481627260025f, x * x, 1.5957691216057308f);
    float r = x * rcml_sigmoidf(u2);
    return rcml_self(x == RCML_NINF, -0.0f, r); /* -inf * 0 */
}

RCML_INLINE float act_gelu_d(float x) {
    float z = x * x;
    float u2 = x * RCML_FMAF(0.07135481627260025f, z, 1.5957691216057308f);
    float du2 = RCML_FMAF(0.21406444881780076f, z, 1.5957691216057308f);
    float s, sm;
    rcml_sigmoid2f(u2, &s, &sm);
    float t = rcml_self(sm == 0.0f, 0.0f, (x * du2) * sm); /* x -> +inf: inf * 0 */
    float d = s * (1.0f + t);
    d = rcml_self(s == 0.0f, -0.0f, d); /* x -> -inf: 0 * -inf */
    return act_nanfix(x, d);
}

RCML_INLINE float act_gelu_erf(float x) {
    float r = x * (0.5f * rcml_erfcf(x * -0.7071067811865475f));
    return rcml_self(x == RCML_NINF, -0.0f, r);
}

RCML_INLINE float act_gelu_erf_d(float x) {
    float cdf = 0.5f * rcml_erfcf(x * -0.7071067811865475f);
    float pdf = 0.3989422804014327f * act_gauss(x, 0.5f);
    float t = rcml_self(pdf == 0.0f, 0.0f, x * pdf);
    return act_nanfix(x, cdf + t);
}

RCML_INLINE float act_swish(float x) {
    float r = x * rcml_sigmoidf(x);
    return rcml_self(x == RCML_NINF, -0.0f, r);
}

RCML_INLINE float act_swish_d(float x) {
    float s, sm;
    rcml_sigmoid2f(x, &s, &sm);
    float t = rcml_self(sm == 0.0f, 0.0f, x * sm);
    float d = s * (1.0f + t);
    d = rcml_self(s == 0.0f, -0.0f, d);
    return act_nanfix(x, d);
}

RCML_INLINE float act_sigmoid_d(float x) {
    float s, sm;
    rcml_sigmoid2f(x, &s, &sm);
    return s * sm; /* NaN propagates through both */
}

/* derivatives from the output y = f(x), where f' is a function of y (what layers keep) */
RCML_INLINE float act_sigmoid_dy(float y) { return y * (1.0f - y); }
RCML_INLINE float act_tanh_dy(float y) { return 1.0f - y * y; }

/* tanh' = 1 - tanh^2 = 4e / (1 + e)^2 with e = e^{-2|x|}: no cancellation in the tails */
RCML_INLINE float act_tanh_d(float x) {
    float ax = rcml_absf(x);
    float e = rcml_exp_neg(-(ax + ax));
    float r = 1.0f / (1.0f + e);
    return ((4.0f * e) * r) * r;
}

/* ---------------------------------------------------------------- kernels */

static void RCML_SFX(act)(int act, const float *x, float a, float *out, size_t n) {
    size_t i;
    switch (act) {
    case RCML_ACT_LINEAR:
        if (out != x) memmove(out, x, n * sizeof(float));
        break;
    case RCML_ACT_RELU: RCML_LOOP for (i = 0; i < n; i++) out[i] = act_relu(x[i]); break;
    case RCML_ACT_LEAKY_RELU:
        RCML_LOOP for (i = 0; i < n; i++) out[i] = rcml_self(x[i] > 0.0f, x[i], x[i] * a);
        break;
    case RCML_ACT_SIGMOID: RCML_LOOP for (i = 0; i < n; i++) out[i] = rcml_sigmoidf(x[i]); break;
    case RCML_ACT_TANH: RCML_LOOP for (i = 0; i < n; i++) out[i] = rcml_tanhf(x[i]); break;
    case RCML_ACT_SWISH: RCML_LOOP for (i = 0; i < n; i++) out[i] = act_swish(x[i]); break;
    case RCML_ACT_GELU: RCML_LOOP for (i = 0; i < n; i++) out[i] = act_gelu(x[i]); break;
    case RCML_ACT_GELU_ERF: RCML_LOOP for (i = 0; i < n; i++) out[i] = act_gelu_erf(x[i]); break;
    case RCML_ACT_ERF: RCML_LOOP for (i = 0; i < n; i++) out[i] = rcml_erff(x[i]); break;
    default: break;
    }
}

static void RCML_SFX(deriv)(int act, const float *x, float a, float *out, size_t n) {
    size_t i;
    switch (act) {
    case RCML_ACT_LINEAR: RCML_LOOP for (i = 0; i < n; i++) out[i] = act_nanfix(x[i], 1.0f); break;
    case RCML_ACT_RELU:
        RCML_LOOP for (i = 0; i < n; i++) out[i] =
            act_nanfix(x[i], rcml_self(x[i] > 0.0f, 1.0f, 0.0f));
        break;
    case RCML_ACT_LEAKY_RELU:
        RCML_LOOP for (i = 0; i < n; i++) out[i] =
            act_nanfix(x[i], rcml_self(x[i] > 0.0f, 1.0f, a));
        break;
    case RCML_ACT_SIGMOID: RCML_LOOP for (i = 0; i < n; i++) out[i] = act_sigmoid_d(x[i]); break;
    case RCML_ACT_TANH: RCML_LOOP for (i = 0; i < n; i++) out[i] = act_tanh_d(x[i]); break;
    case RCML_ACT_SWISH: RCML_LOOP for (i = 0; i < n; i++) out[i] = act_swish_d(x[i]); break;
    case RCML_ACT_GELU: RCML_LOOP for (i = 0; i < n; i++) out[i] = act_gelu_d(x[i]); break;
    case RCML_ACT_GELU_ERF: RCML_LOOP for (i = 0; i < n; i++) out[i] = act_gelu_erf_d(x[i]); break;
    case RCML_ACT_ERF:
        RCML_LOOP for (i = 0; i < n; i++) out[i] =
            act_nanfix(x[i], 1.1283791670955126f * act_gauss(x[i], 1.0f));
        break;
    default: break;
    }
}

static void RCML_SFX(backward)(int act, const float *x, const float *g, float a, float *out,
                               size_t n) {
    size_t i;
    switch (act) {
    case RCML_ACT_LINEAR: RCML_LOOP for (i = 0; i < n; i++) out[i] = act_nanfix(x[i], g[i]); break;
    case RCML_ACT_RELU:
        RCML_LOOP for (i = 0; i < n; i++) out[i] =
            act_nanfix(x[i], rcml_self(x[i] > 0.0f, g[i], 0.0f));
        break;
    case RCML_ACT_LEAKY_RELU:
        RCML_LOOP for (i = 0; i < n; i++) out[i] =
            act_nanfix(x[i], rcml_self(x[i] > 0.0f, g[i], g[i] * a));
        break;
    case RCML_ACT_SIGMOID:
        RCML_LOOP for (i = 0; i < n; i++) out[i] = g[i] * act_sigmoid_d(x[i]);
        break;
    case RCML_ACT_TANH: RCML_LOOP for (i = 0; i < n; i++) out[i] = g[i] * act_tanh_d(x[i]); break;
    case RCML_ACT_SWISH: RCML_LOOP for (i = 0; i < n; i++) out[i] = g[i] * act_swish_d(x[i]); break;
    case RCML_ACT_GELU: RCML_LOOP for (i = 0; i < n; i++) out[i] = g[i] * act_gelu_d(x[i]); break;
    case RCML_ACT_GELU_ERF:
        RCML_LOOP for (i = 0; i < n; i++) out[i] = g[i] * act_gelu_erf_d(x[i]);
        break;
    case RCML_ACT_ERF:
        RCML_LOOP for (i = 0; i < n; i++) out[i] =
            g[i] * act_nanfix(x[i], 1.1283791670955126f * act_gauss(x[i], 1.0f));
        break;
    default: break;
    }
}

/* grad * f'(x) from the saved forward output y = f(x) (what a layer keeps anyway):
 * memory-bound, no transcendental. Only for activations whose derivative is a function
 * of y: relu / leaky relu (y > 0 iff x > 0 for a positive slope), sigmoid y (1 - y),
 * tanh 1 - y^2, linear. The others fall back to nothing (the entry point checks). */
static void RCML_SFX(backward_out)(int act, const float *y, const float *g, float a, float *out,
                                   size_t n) {
    size_t i;
    switch (act) {
    case RCML_ACT_LINEAR: RCML_LOOP for (i = 0; i < n; i++) out[i] = act_nanfix(y[i], g[i]); break;
    case RCML_ACT_RELU:
        RCML_LOOP for (i = 0; i < n; i++) out[i] =
            act_nanfix(y[i], rcml_self(y[i] > 0.0f, g[i], 0.0f));
        break;
    case RCML_ACT_LEAKY_RELU:
        RCML_LOOP for (i = 0; i < n; i++) out[i] =
            act_nanfix(y[i], rcml_self(y[i] > 0.0f, g[i], g[i] * a));
        break;
    case RCML_ACT_SIGMOID:
        RCML_LOOP for (i = 0; i < n; i++) out[i] = g[i] * act_sigmoid_dy(y[i]);
        break;
    case RCML_ACT_TANH: RCML_LOOP for (i = 0; i < n; i++) out[i] = g[i] * act_tanh_dy(y[i]); break;
    default: break;
    }
}

/* -------------------------------------------------------------- softmax */

/* 16 partial sums combined pairwise: the order every backend uses */
RCML_INLINE float act_fold16(float *acc) {
    size_t j, k;
    for (j = 8; j >= 1; j >>= 1)
        for (k = 0; k < j; k++) acc[k] += acc[k + j];
    return acc[0];
}

/* running max for the column form: a lane takes v when v > acc or v is NaN, and a NaN
 * lane never changes again (rows use rcml_max_f32, which has SIMD variants; a max is
 * exact in any order, so every backend still gets the same bits) */
RCML_INLINE float act_max_nan(float a, float v) { return rcml_self((v > a) | (v != v), v, a); }

/* out = e^(x - m) (when store), returns the sum in the fixed 16-lane order; x - m <= 0
 * (or NaN), so the cheaper exp for non-positive arguments applies */
static float RCML_SFX(row_expsum)(const float *x, float m, float *out, int store, size_t n) {
    float acc[16] = {0};
    size_t i = 0, j;
    if (store) {
        for (; i + 16 <= n; i += 16) {
            RCML_LOOP for (j = 0; j < 16; j++) {
                float e = rcml_exp_neg(x[i + j] - m);
                out[i + j] = e;
                acc[j] += e;
            }
        }
        for (; i < n; i++) {
            float e = rcml_exp_neg(x[i] - m);
            out[i] = e;
            acc[i & 15] += e;
        }
    } else {
        for (; i + 16 <= n; i += 16) {
            RCML_LOOP for (j = 0; j < 16; j++) acc[j] += rcml_exp_neg(x[i + j] - m);
        }
        for (; i < n; i++) acc[i & 15] += rcml_exp_neg(x[i] - m);
    }
    return act_fold16(acc);
}

static void RCML_SFX(softmax_row)(int mode, const float *x, const float *g, size_t n, float *out) {
    size_t i, j;
    float m = RCML_SFX(max)(x, n); /* ew_body.h, this ISA */
    if (mode == RCML_SMX_LOG) {
        float s = RCML_SFX(row_expsum)(x, m, out, 0, n);
        float ls = rcml_logf(s);
        RCML_LOOP for (i = 0; i < n; i++) out[i] = (x[i] - m) - ls;
        return;
    }
    float inv = 1.0f / RCML_SFX(row_expsum)(x, m, out, 1, n);
    if (mode == RCML_SMX_SOFTMAX) {
        RCML_LOOP for (i = 0; i < n; i++) out[i] = out[i] * inv;
        return;
    }
    float acc[16] = {0};
    i = 0;
    if (mode == RCML_SMX_LOG_BACKWARD) {
        /* log_softmax backward: y = e * inv (softmax's bits), sg = sum g, out = g - y sg */
        for (; i + 16 <= n; i += 16) {
            RCML_LOOP for (j = 0; j < 16; j++) {
                out[i + j] = out[i + j] * inv;
                acc[j] += g[i + j];
            }
        }
        for (; i < n; i++) {
            out[i] = out[i] * inv;
            acc[i & 15] += g[i];
        }
        float sg = act_fold16(acc);
        RCML_LOOP for (i = 0; i < n; i++) out[i] = g[i] - out[i] * sg;
        return;
    }
    /* backward: y = e * inv, dot = sum g*y, out = y * (g - dot) */
    for (; i + 16 <= n; i += 16) {
        RCML_LOOP for (j = 0; j < 16; j++) {
            float y = out[i + j] * inv;
            out[i + j] = y;
            acc[j] += g[i + j] * y;
        }
    }
    for (; i < n; i++) {
        float y = out[i] * inv;
        out[i] = y;
        acc[i & 15] += g[i] * y;
    }
    float dot = act_fold16(acc);
    RCML_LOOP for (i = 0; i < n; i++) out[i] = out[i] * (g[i] - dot);
}

#define RCML_SMX_BLOCK 64

/* one (len, inner) slice, a block of nb <= 64 columns at a time: every column is
 * reduced in order j = 0..len-1, the loops over the block vectorise */
static void RCML_SFX(softmax_cols)(int mode, const float *x, const float *g, size_t len,
                                   size_t inner, float *out) {
    float m[RCML_SMX_BLOCK], s[RCML_SMX_BLOCK];
    size_t i0, j, b;
    for (i0 = 0; i0 < inner; i0 += RCML_SMX_BLOCK) {
        size_t nb = RCML_MIN((size_t)RCML_SMX_BLOCK, inner - i0);
        const float *xb = x + i0;
        float *ob = out + i0;
        for (b = 0; b < nb; b++) {
            m[b] = RCML_NINF;
            s[b] = 0.0f;
        }
        for (j = 0; j < len; j++) {
            const float *xr = xb + j * inner;
            RCML_LOOP for (b = 0; b < nb; b++) m[b] = act_max_nan(m[b], xr[b]);
        }
        for (j = 0; j < len; j++) {
            const float *xr = xb + j * inner;
            float *orow = ob + j * inner;
            if (mode == RCML_SMX_LOG) {
                RCML_LOOP for (b = 0; b < nb; b++) s[b] += rcml_exp_neg(xr[b] - m[b]);
            } else {
                RCML_LOOP for (b = 0; b < nb; b++) {
                    float e = rcml_exp_neg(xr[b] - m[b]);
                    orow[b] = e;
                    s[b] += e;
                }
            }
        }
        if (mode == RCML_SMX_LOG) {
            RCML_LOOP for (b = 0; b < nb; b++) s[b] = rcml_logf(s[b]);
            for (j = 0; j < len; j++) {
                const float *xr = xb + j * inner;
                float *orow = ob + j * inner;
                RCML_LOOP for (b = 0; b < nb; b++) orow[b] = (xr[b] - m[b]) - s[b];
            }
            continue;
        }
        RCML_LOOP for (b = 0; b < nb; b++) s[b] = 1.0f / s[b];
        if (mode == RCML_SMX_SOFTMAX) {
            for (j = 0; j < len; j++) {
                float *orow = ob + j * inner;
                RCML_LOOP for (b = 0; b < nb; b++) orow[b] = orow[b] * s[b];
            }
            continue;
        }
        /* backward; m now holds the dot products (log_softmax: the sums of g) */
        for (b = 0; b < nb; b++) m[b] = 0.0f;
        if (mode == RCML_SMX_LOG_BACKWARD) {
            for (j = 0; j < len; j++) {
                const float *gr = g + i0 + j * inner;
                float *orow = ob + j * inner;
                RCML_LOOP for (b = 0; b < nb; b++) {
                    orow[b] = orow[b] * s[b];
                    m[b] += gr[b];
                }
            }
            for (j = 0; j < len; j++) {
                const float *gr = g + i0 + j * inner;
                float *orow = ob + j * inner;
                RCML_LOOP for (b = 0; b < nb; b++) orow[b] = gr[b] - orow[b] * m[b];
            }
            continue;
        }
        for (j = 0; j < len; j++) {
            const float *gr = g + i0 + j * inner;
            float *orow = ob + j * inner;
            RCML_LOOP for (b = 0; b < nb; b++) {
                float y = orow[b] * s[b];
                orow[b] = y;
                m[b] += gr[b] * y;
            }
        }
        for (j = 0; j < len; j++) {
            const float *gr = g + i0 + j * inner;
            float *orow = ob + j * inner;
            RCML_LOOP for (b = 0; b < nb; b++) orow[b] = orow[b] * (gr[b] - m[b]);
        }
    }
}

static void RCML_SFX(softmax)(int mode, const float *x, const float *g, size_t outer, size_t len,
                              size_t inner, float *out) {
    size_t o, stride = len * inner;
    for (o = 0; o < outer; o++) {
        const float *go = g ? g + o * stride : NULL;
        if (inner == 1)
            RCML_SFX(softmax_row)(mode, x + o * stride, go, len, out + o * stride);
        else
            RCML_SFX(softmax_cols)(mode, x + o * stride, go, len, inner, out + o * stride);
    }
}

/* ------------------------------------------------------------ layer forms */

/* 1 when backward_out gives grad * f'(x) from y = f(x): f' is a function of y (leaky relu
 * only for a positive slope, where y > 0 iff x > 0). The tensor API's
 * ``x.<f>_backward(g, output=y)`` makes the same choice, so layers match it bit for bit. */
RCML_INLINE int act_from_output(int act, float a) {
    return act == RCML_ACT_LINEAR || act == RCML_ACT_RELU || act == RCML_ACT_SIGMOID ||
           act == RCML_ACT_TANH || (act == RCML_ACT_LEAKY_RELU && a > 0.0f);
}

/* Per row of n: z += bias (bias may be NULL), then y = f(z) with f an elementwise
 * activation or RCML_ACT_SOFTMAX (the row softmax of x.softmax()); y may equal z. The bias
 * add is the single rounding of the tensor API's broadcast add, so the result equals
 * (x @ W + b).<f>() bit for bit. */
static void RCML_SFX(bias_act)(int act, float a, size_t m, size_t n, const float *bias, float *z,
                               float *y) {
    size_t r, j;
    for (r = 0; r < m; r++) {
        float *zr = z + r * n, *yr = y + r * n;
        if (bias) {
            RCML_LOOP for (j = 0; j < n; j++) zr[j] = zr[j] + bias[j];
        }
        if (act == RCML_ACT_SOFTMAX)
            RCML_SFX(softmax_row)(RCML_SMX_SOFTMAX, zr, NULL, n, yr);
        else
            RCML_SFX(act)(act, zr, a, yr, n);
    }
}

/* dz = g * f'(z) over m rows of n: from y = f(z) where act_from_output, else from z;
 * softmax: J(z)^T g per row. dz may equal g except for softmax. */
static void RCML_SFX(layer_backward)(int act, float a, size_t m, size_t n, const float *z,
                                     const float *y, const float *g, float *dz) {
    size_t r;
    if (act == RCML_ACT_SOFTMAX) {
        for (r = 0; r < m; r++)
            RCML_SFX(softmax_row)(RCML_SMX_BACKWARD, z + r * n, g + r * n, n, dz + r * n);
    } else if (y && act_from_output(act, a)) {
        RCML_SFX(backward_out)(act, y, g, a, dz, m * n);
    } else {
        RCML_SFX(backward)(act, z, g, a, dz, m * n);
    }
}

/* ---------------------------------------------------------- normalization */

static void RCML_SFX(norm_apply)(const float *x, size_t outer, size_t len, size_t inner,
                                 const float *sub, const float *div, float *out) {
    size_t o, j, i;
    if (inner == 1) { /* one value per row of len: the long loop runs along the row */
        for (o = 0; o < outer; o++) {
            const float s0 = sub[o], d0 = div[o];
            const float *xr = x + o * len;
            float *orow = out + o * len;
            RCML_LOOP for (j = 0; j < len; j++) orow[j] =
                rcml_self(d0 == 0.0f, 0.0f, (xr[j] - s0) / d0);
        }
        return;
    }
    for (o = 0; o < outer; o++) {
        const float *so = sub + o * inner, *dv = div + o * inner;
        for (j = 0; j < len; j++) {
            const float *xr = x + (o * len + j) * inner;
            float *orow = out + (o * len + j) * inner;
            RCML_LOOP for (i = 0; i < inner; i++) orow[i] =
                rcml_self(dv[i] == 0.0f, 0.0f, (xr[i] - so[i]) / dv[i]);
        }
    }
}

const rcml_act_table_t RCML_SFX(rcml_act) = {
    RCML_SFX(act),     RCML_SFX(deriv),      RCML_SFX(backward), RCML_SFX(backward_out),
    RCML_SFX(softmax), RCML_SFX(norm_apply), RCML_SFX(bias_act), RCML_SFX(layer_backward),
};
