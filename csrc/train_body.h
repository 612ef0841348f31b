/* train_body.h - THE loss and optimizer math (what rc.losses, rc.optim and rc.nn use),
 * ONE source compiled once per ISA through isa_body.h (RCML_SFX, RCML_LOOP and the target
 * ISA defined by the includer).
 * Elementwise results are IEEE-exact per element (no contraction, sqrt and division are
 * correctly rounded), and every sum uses a fixed lane layout (16 double accumulators,
 * combined pairwise), so all backends give identical bits.
 */
#include "rcmlrs.h"
#include "kernels.h"
#include "mathf.h"

#include <math.h>

/* log1p(x) for x > -1 without a branch: log(u) * x / (u - 1) with u = 1 + x corrects the
 * rounding of 1 + x (Goldberg), so log1p(-p) keeps full relative precision for tiny p. */
RCML_INLINE float RCML_SFX(tr_log1pf)(float x) {
    float u = 1.0f + x;
    float d = u - 1.0f;
    float r = rcml_logf(u) * (x / (d == 0.0f ? 1.0f : d));
    return d == 0.0f ? x : r;
}

#if defined(__GNUC__) && !defined(__clang__)
#define RCML_TR_NOUNROLL _Pragma("GCC unroll 1")
#else
#define RCML_TR_NOUNROLL
#endif

/* Combine 16 double lanes pairwise (fixed order) and add the tail. */
RCML_INLINE double RCML_SFX(tr_fold)(double *acc, double tail) {
    size_t j, k;
    for (j = 8; j >= 1; j >>= 1) {
        for (k = 0; k < j; k++) acc[k] += acc[k + j];
    }
    return acc[0] + tail;
}

/* ------------------------------------------------------------------- losses */

/* sum (p-a)^2; grad = scale * (p - a) */
static double RCML_SFX(mse)(const float *a, const float *p, size_t n, float scale,
                            float *grad) {
    double acc[16] = {0}, tail = 0.0;
    size_t i = 0, j;
    if (grad) {
        for (; i + 16 <= n; i += 16) {
            RCML_LOOP for (j = 0; j < 16; j++) {
                float d = p[i + j] - a[i + j];
                grad[i + j] = scale * d;
                acc[j] += (double)d * (double)d;
            }
        }
    } else {
        for (; i + 16 <= n; i += 16) {
            RCML_LOOP for (j = 0; j < 16; j++) {
                float d = p[i + j] - a[i + j];
                acc[j] += (double)d * (double)d;
            }
        }
    }
    for (; i < n; i++) {
        float d = p[i] - a[i];
        if (grad) grad[i] = scale * d;
        tail += (double)d * (double)d;
    }
    return RCML_SFX(tr_fold)(acc, tail);
}

/* sign(d) * s with sign(0) = 0 and NaN kept */
RCML_INLINE float RCML_SFX(tr_sign_scaled)(float d, float s) {
    float r = d > 0.0f ? s : 0.0f;
    r = d < 0.0f ? -s : r;
    return d != d ? d : r;
}

/* sum |p-a|; grad = scale * sign(p - a) */
static double RCML_SFX(mae)(const float *a, const float *p, size_t n, float scale,
                            float *grad) {
    double acc[16] = {0}, tail = 0.0;
    size_t i = 0, j;
    if (grad) {
        for (; i + 16 <= n; i += 16) {
            RCML_LOOP for (j = 0; j < 16; j++) {
                float d = p[i + j] - a[i + j];
                grad[i + j] = RCML_SFX(tr_sign_scaled)(d, scale);
                acc[j] += (double)fabsf(d);
            }
        }
    } else {
        for (; i + 16 <= n; i += 16) {
            RCML_LOOP for (j = 0; j < 16; j++) {
                float d = p[i + j] - a[i + j];
                acc[j] += (double)fabsf(d);
            }
        }
    }
    for (; i < n; i++) {
        float d = p[i] - a[i];
        if (grad) grad[i] = RCML_SFX(tr_sign_scaled)(d, scale);
        tail += (double)fabsf(d);
    }
    return RCML_SFX(tr_fold)(acc, tail);
}

/* one BCE term, torch's clamped form: (a - 1) * max(log1p(-p), -100) - a * max(log p, -100).
 * The clamps make p = 0 and p = 1 finite; NaN (from p outside [0, 1]) passes through. */
RCML_INLINE float RCML_SFX(tr_bce_term)(float a, float p) {
    float lp = rcml_logf(p);
    float l1p = RCML_SFX(tr_log1pf)(-p);
    lp = lp < -100.0f ? -100.0f : lp;
    l1p = l1p < -100.0f ? -100.0f : l1p;
    return (a - 1.0f) * l1p - a * lp;
}

/* (p - a) / max((1 - p) p, 1e-12) * scale */
RCML_INLINE float RCML_SFX(tr_bce_grad)(float a, float p, float scale) {
    float den = (1.0f - p) * p;
    den = den < 1e-12f ? 1e-12f : den;
    return ((p - a) / den) * scale;
}

/* one BCE-with-logits term, max(z, 0) - z a + log1p(e^-|z|): stable for any finite z (no
 * log of 0, no overflow), the form of torch's binary_cross_entropy_with_logits */
RCML_INLINE float RCML_SFX(tr_bcel_term)(float a, float z) {
    float az = rcml_absf(z);
    return ((z > 0.0f ? z : 0.0f) - z * a) + RCML_SFX(tr_log1pf)(rcml_exp_neg(-az));
}

/* Binary cross-entropy of probabilities p (logits == 0) or of sigmoid(z) from the logits
 * (grad (sigmoid(z) - a) * scale). Two passes per block of 256: the per-element terms (two
 * logs, a division) go through a plain loop the vectoriser handles like any unary kernel,
 * then the block is added into the 16 double lanes. Fusing both into one 16-lane loop
 * defeated GCC's vectoriser (scalar code, ~40x slower). The block is a multiple of 16, so
 * lanes stay aligned. */
#define RCML_TR_BLK 256
static double RCML_SFX(bce_any)(int logits, const float *a, const float *p, size_t n,
                                float scale, float *grad) {
    float term[RCML_TR_BLK];
    double acc[16] = {0}, tail = 0.0;
    size_t b, i, j, len;
    for (b = 0; b < n; b += RCML_TR_BLK) {
        len = RCML_MIN((size_t)RCML_TR_BLK, n - b);
        const float *ab = a + b, *pb = p + b;
        float *gb = grad ? grad + b : NULL;
        if (logits) {
            RCML_LOOP for (i = 0; i < len; i++) term[i] = RCML_SFX(tr_bcel_term)(ab[i], pb[i]);
            if (gb) {
                RCML_LOOP for (i = 0; i < len; i++) gb[i] = (rcml_sigmoidf(pb[i]) - ab[i]) * scale;
            }
        } else {
            RCML_LOOP for (i = 0; i < len; i++) term[i] = RCML_SFX(tr_bce_term)(ab[i], pb[i]);
            if (gb) {
                RCML_LOOP for (i = 0; i < len; i++) gb[i] = RCML_SFX(tr_bce_grad)(ab[i], pb[i], scale);
            }
        }
        for (i = 0; i + 16 <= len; i += 16) {
            RCML_LOOP for (j = 0; j < 16; j++) acc[j] += (double)term[i + j];
        }
        for (; i < len; i++) tail += (double)term[i];
    }
    return RCML_SFX(tr_fold)(acc, tail);
}

static double RCML_SFX(bce)(const float *a, const float *p, size_t n, float scale,
                            float *grad) {
    return RCML_SFX(bce_any)(0, a, p, n, scale, grad);
}

static double RCML_SFX(bce_logits)(const float *a, const float *z, size_t n, float scale,
                                   float *grad) {
    return RCML_SFX(bce_any)(1, a, z, n, scale, grad);
}

/* Row maximum with a fixed 16-lane layout (max is exact, so only NaN handling matters:
 * a NaN row gives NaN later through exp). */
static float RCML_SFX(tr_rowmax)(const float *z, size_t cols) {
    float acc[16];
    size_t i = 0, j;
    float m = z[0];
    if (cols >= 16) {
        for (j = 0; j < 16; j++) acc[j] = z[j];
        for (i = 16; i + 16 <= cols; i += 16) {
            const float *zi = z + i;
            /* kept as a 16-wide loop (not unrolled into 16 scalar chains) so GCC emits
             * one vector max per block */
            RCML_TR_NOUNROLL RCML_LOOP for (j = 0; j < 16; j++) {
                float x = zi[j], y = acc[j];
                acc[j] = x > y ? x : y;
            }
        }
        for (j = 0; j < 16; j++) m = acc[j] > m ? acc[j] : m;
    }
    for (; i < cols; i++) m = z[i] > m ? z[i] : m;
    return m;
}

/* Sum of e^(z - m) over a row in 16 float lanes, storing each e in `e` (the gradient
 * buffer) when non-NULL. */
static float RCML_SFX(tr_rowsumexp)(const float *z, size_t cols, float m, float *e) {
    float acc[16] = {0}, tail = 0.0f;
    size_t i = 0, j;
    if (e) {
        for (; i + 16 <= cols; i += 16) {
            RCML_LOOP for (j = 0; j < 16; j++) {
                float x = rcml_expf(z[i + j] - m);
                e[i + j] = x;
                acc[j] += x;
            }
        }
    } else {
        for (; i + 16 <= cols; i += 16) {
            RCML_LOOP for (j = 0; j < 16; j++) acc[j] += rcml_expf(z[i + j] - m);
        }
    }
    for (; i < cols; i++) {
        float x = rcml_expf(z[i] - m);
        if (e) e[i] = x;
        tail += x;
    }
    for (j = 8; j >= 1; j >>= 1) {
        size_t k;
        for (k = 0; k < j; k++) acc[k] += acc[k + j];
    }
    return acc[0] + tail;
}

/* Sum over rows of the cross-entropy row loss; see rcml_cross_entropy_f32. */
static double RCML_SFX(xent)(const float *zall, const float *target, const int64_t *labels,
                             size_t rows, size_t cols, float scale, float *gall) {
    double total = 0.0;
    size_t r, c, j;
    for (r = 0; r < rows; r++) {
        const float *z = zall + r * cols;
        float *g = gall ? gall + r * cols : NULL;
        float m = RCML_SFX(tr_rowmax)(z, cols);
        float s = RCML_SFX(tr_rowsumexp)(z, cols, m, g);
        float logs = rcml_logf(s);
        if (labels) {
            size_t lab = (size_t)labels[r];
            /* lse - z_label, with m - z_label exact in double */
            total += ((double)m - (double)z[lab]) + (double)logs;
            if (g) {
                float inv = s;
                RCML_LOOP for (c = 0; c < cols; c++) {
                    float q = g[c] / inv;
                    q = c == lab ? q - 1.0f : q;
                    g[c] = q * scale;
                }
            }
        } else {
            const float *t = target + r * cols;
            double acc[16] = {0}, tail = 0.0, tsum_d;
            float tacc[16] = {0}, ttail = 0.0f, tsum;
            c = 0;
            for (; c + 16 <= cols; c += 16) {
                RCML_LOOP for (j = 0; j < 16; j++) {
                    float tc = t[c + j];
                    double d = (double)tc * ((double)m - (double)z[c + j]);
                    acc[j] += tc == 0.0f ? 0.0 : d;
                    tacc[j] += tc;
                }
            }
            for (; c < cols; c++) {
                float tc = t[c];
                double d = (double)tc * ((double)m - (double)z[c]);
                tail += tc == 0.0f ? 0.0 : d;
                ttail += tc;
            }
            for (j = 8; j >= 1; j >>= 1) {
                size_t k;
                for (k = 0; k < j; k++) tacc[k] += tacc[k + j];
            }
            tsum = tacc[0] + ttail;
            tsum_d = RCML_SFX(tr_fold)(acc, tail);
            /* sum_c t_c (lse - z_c) = sum_c t_c (m - z_c) + (sum_c t_c) log s */
            total += tsum_d + (double)tsum * (double)logs;
            if (g) {
                float inv = s;
                RCML_LOOP for (c = 0; c < cols; c++) {
                    float q = (g[c] / inv) * tsum;
                    g[c] = (q - t[c]) * scale;
                }
            }
        }
    }
    return total;
}

/* --------------------------------------------------------------- optimizers */

/* One Adam element; L2 and AMS are compile-time constants at every call site, so each
 * combination becomes its own vectorised loop. */
#define RCML_ADAM_BODY(L2, AMS)                                                    \
    RCML_LOOP for (i = 0; i < n; i++) {                                            \
        float pi = p[i] * decay; /* AdamW decay; decay == 1 is exact */            \
        float gi = g[i];                                                           \
        if (L2) gi = gi + wd * pi;                                                 \
        float mi = m[i];                                                           \
        /* torch's lerp: self + w (end - self) for w < 0.5, else end - (end - self)(1 - w) */ \
        float lo = mi + w1 * (gi - mi);                                            \
        float hi = gi - (gi - mi) * w1c;                                           \
        mi = lerp_hi ? hi : lo;                                                    \
        m[i] = mi;                                                                 \
        float vi = v[i] * beta2 + (w2 * gi) * gi;                                  \
        v[i] = vi;                                                                 \
        if (AMS) {                                                                 \
            float vm = vmax[i];                                                    \
            /* torch.maximum: NaN in either operand gives NaN */                   \
            vm = (vi > vm || vi != vi) ? vi : vm;                                  \
            vmax[i] = vm;                                                          \
            vi = vm;                                                               \
        }                                                                          \
        float den = sqrtf(vi) * ibc2s + eps;                                        \
        p[i] = pi + (nss * mi) / den;                                              \
    }

static void RCML_SFX(adam)(const float *RCML_RESTRICT g, float *RCML_RESTRICT p,
                           float *RCML_RESTRICT m, float *RCML_RESTRICT v,
                           float *RCML_RESTRICT vmax, size_t n, const rcml_adam_hp_t *hp) {
    const float decay = hp->decay, wd = hp->wd, w1 = hp->w1, w1c = hp->w1c;
    const float beta2 = hp->beta2, w2 = hp->w2, ibc2s = hp->ibc2s, eps = hp->eps;
    const float nss = hp->nss;
    const int lerp_hi = hp->lerp_hi;
    size_t i;
    if (hp->l2) {
        if (vmax) {
            RCML_ADAM_BODY(1, 1)
        } else {
            RCML_ADAM_BODY(1, 0)
        }
    } else {
        if (vmax) {
            RCML_ADAM_BODY(0, 1)
        } else {
            RCML_ADAM_BODY(0, 0)
        }
    }
}
#undef RCML_ADAM_BODY

static void RCML_SFX(sgd)(const float *RCML_RESTRICT g, float *RCML_RESTRICT p,
                          float *RCML_RESTRICT buf, size_t n, const rcml_sgd_hp_t *hp) {
    const float nlr = hp->nlr, wd = hp->wd, mom = hp->momentum, damp1 = hp->damp1;
    const int l2 = hp->l2;
    size_t i;
    if (!hp->use_buf) {
        if (l2) {
            RCML_LOOP for (i = 0; i < n; i++) p[i] = p[i] + nlr * (g[i] + wd * p[i]);
        } else {
            RCML_LOOP for (i = 0; i < n; i++) p[i] = p[i] + nlr * g[i];
        }
        return;
    }
    if (hp->first) {
        /* torch clones the (decayed) gradient into the buffer on the first step */
        RCML_LOOP for (i = 0; i < n; i++) {
            float gi = g[i];
            gi = l2 ? gi + wd * p[i] : gi;
            buf[i] = gi;
            float u = hp->nesterov ? gi + mom * gi : gi;
            p[i] = p[i] + nlr * u;
        }
        return;
    }
    if (hp->nesterov) {
        RCML_LOOP for (i = 0; i < n; i++) {
            float gi = g[i];
            gi = l2 ? gi + wd * p[i] : gi;
            float b = buf[i] * mom + damp1 * gi;
            buf[i] = b;
            p[i] = p[i] + nlr * (gi + mom * b);
        }
    } else {
        RCML_LOOP for (i = 0; i < n; i++) {
            float gi = g[i];
            gi = l2 ? gi + wd * p[i] : gi;
            float b = buf[i] * mom + damp1 * gi;
            buf[i] = b;
            p[i] = p[i] + nlr * b;
        }
    }
}

const rcml_train_table_t RCML_SFX(rcml_train) = {
    RCML_SFX(mse),  RCML_SFX(mae), RCML_SFX(bce),
    RCML_SFX(bce_logits), RCML_SFX(xent), RCML_SFX(adam), RCML_SFX(sgd),
};
