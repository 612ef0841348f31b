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

/* sign(d) * s with sign(0) = 0 and NaN kept */
RCML_INLINE float RCML_SFX(tr_sign_scaled)(float d, float s) {
    float r = d > 0.0f ? s : 0.0f;
    r = d < 0.0f ? -s : r;
    return d != d ? d : r;
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

/* THE element math of the elementwise losses, written once: the term l(a, p) (as a double:
 * (p - a)^2 and |p - a| are exact there) and s * dl/dp. kind is a constant at every call
 * site, so each loop below compiles to the one loss it names. */
RCML_FORCE_INLINE double RCML_SFX(tr_term)(int kind, float a, float p) {
    float d = p - a;
    switch (kind) {
    case RCML_LOSS_MSE: return (double)d * (double)d;
    case RCML_LOSS_MAE: return (double)fabsf(d);
    case RCML_LOSS_BCE: return (double)RCML_SFX(tr_bce_term)(a, p);
    default: return (double)RCML_SFX(tr_bcel_term)(a, p);
    }
}

RCML_FORCE_INLINE float RCML_SFX(tr_grad)(int kind, float a, float p, float s) {
    switch (kind) {
    case RCML_LOSS_MSE: return s * (p - a);
    case RCML_LOSS_MAE: return RCML_SFX(tr_sign_scaled)(p - a, s);
    case RCML_LOSS_BCE: return RCML_SFX(tr_bce_grad)(a, p, s);
    default: return (rcml_sigmoidf(p) - a) * s;
    }
}

/* Elementwise loss over [0, n): returns sum_i w_i l(a_i, p_i) (w NULL: w_i = 1), writes
 * grad_i = tr_grad(a_i, p_i, scale * w_i) and out_i = (float)(w_i l_i) when those are
 * non-NULL. Element i of the chunk goes into double lane i % 16, the tail n % 16 in order,
 * whichever loop runs, so every path gives the same bits and a weight of 1 changes none
 * (x * 1 is exact).
 * mse and mae without weights or out: one fused 16-lane pass (their terms are a subtract
 * and a multiply; ~1.4x faster than the blocks below). Otherwise blocks of 256: the terms
 * (logs, a division for BCE) go through plain loops the vectoriser handles like any unary
 * kernel, then the block is added into the lanes. Fusing BCE's terms and lanes into one
 * loop defeated GCC's vectoriser (scalar code, ~40x slower). */
#define RCML_TR_BLK 256
RCML_FORCE_INLINE double RCML_SFX(tr_elem)(int kind, const float *a, const float *p, const float *w,
                                           size_t n, float scale, float *grad, float *out) {
    double term[RCML_TR_BLK];
    float tf[RCML_TR_BLK];
    double acc[16] = {0}, tail = 0.0;
    size_t b, i = 0, j, len;
    if (kind <= RCML_LOSS_MAE && !w && !out) {
        if (grad) {
            for (; i + 16 <= n; i += 16) {
                RCML_LOOP for (j = 0; j < 16; j++) {
                    float aj = a[i + j], pj = p[i + j]; /* read once: grad may alias */
                    grad[i + j] = RCML_SFX(tr_grad)(kind, aj, pj, scale);
                    acc[j] += RCML_SFX(tr_term)(kind, aj, pj);
                }
            }
        } else {
            for (; i + 16 <= n; i += 16) {
                RCML_LOOP for (j = 0; j < 16; j++) acc[j] +=
                    RCML_SFX(tr_term)(kind, a[i + j], p[i + j]);
            }
        }
        for (; i < n; i++) {
            float ai = a[i], pi = p[i];
            if (grad) grad[i] = RCML_SFX(tr_grad)(kind, ai, pi, scale);
            tail += RCML_SFX(tr_term)(kind, ai, pi);
        }
        return RCML_SFX(tr_fold)(acc, tail);
    }
    for (b = 0; b < n; b += RCML_TR_BLK) {
        len = RCML_MIN((size_t)RCML_TR_BLK, n - b);
        const float *ab = a + b, *pb = p + b, *wb = w ? w + b : NULL;
        float *gb = grad ? grad + b : NULL, *ob = out ? out + b : NULL;
        /* BCE's terms are floats: they stay in tf (half the bytes) unless weighted */
        const int flt = kind >= RCML_LOSS_BCE && !wb;
        if (kind >= RCML_LOSS_BCE) {
            RCML_LOOP for (i = 0; i < len; i++) tf[i] =
                (float)RCML_SFX(tr_term)(kind, ab[i], pb[i]);
            if (wb) {
                RCML_LOOP for (i = 0; i < len; i++) term[i] = (double)tf[i] * (double)wb[i];
            }
        } else {
            RCML_LOOP for (i = 0; i < len; i++) term[i] = RCML_SFX(tr_term)(kind, ab[i], pb[i]);
            if (wb) {
                RCML_LOOP for (i = 0; i < len; i++) term[i] *= (double)wb[i];
            }
        }
        if (gb && wb) {
            RCML_LOOP for (i = 0; i < len; i++) gb[i] =
                RCML_SFX(tr_grad)(kind, ab[i], pb[i], scale * wb[i]);
        } else if (gb) {
            RCML_LOOP for (i = 0; i < len; i++) gb[i] =
                RCML_SFX(tr_grad)(kind, ab[i], pb[i], scale);
        }
        if (ob && flt) {
            RCML_LOOP for (i = 0; i < len; i++) ob[i] = tf[i];
        } else if (ob) {
            RCML_LOOP for (i = 0; i < len; i++) ob[i] = (float)term[i];
        }
        if (flt) {
            for (i = 0; i + 16 <= len; i += 16) {
                RCML_LOOP for (j = 0; j < 16; j++) acc[j] += (double)tf[i + j];
            }
            for (; i < len; i++) tail += (double)tf[i];
        } else {
            for (i = 0; i + 16 <= len; i += 16) {
                RCML_LOOP for (j = 0; j < 16; j++) acc[j] += term[i + j];
            }
            for (; i < len; i++) tail += term[i];
        }
    }
    return RCML_SFX(tr_fold)(acc, tail);
}

static double RCML_SFX(mse)(const float *a, const float *p, const float *w, size_t n, float scale,
                            float *grad, float *out) {
    return RCML_SFX(tr_elem)(RCML_LOSS_MSE, a, p, w, n, scale, grad, out);
}

static double RCML_SFX(mae)(const float *a, const float *p, const float *w, size_t n, float scale,
                            float *grad, float *out) {
    return RCML_SFX(tr_elem)(RCML_LOSS_MAE, a, p, w, n, scale, grad, out);
}

static double RCML_SFX(bce)(const float *a, const float *p, const float *w, size_t n, float scale,
                            float *grad, float *out) {
    return RCML_SFX(tr_elem)(RCML_LOSS_BCE, a, p, w, n, scale, grad, out);
}

static double RCML_SFX(bce_logits)(const float *a, const float *z, const float *w, size_t n,
                                   float scale, float *grad, float *out) {
    return RCML_SFX(tr_elem)(RCML_LOSS_BCE_LOGITS, a, z, w, n, scale, grad, out);
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

/* sum_c (m - z_c) over a row in 16 double lanes; plus cols * log s it is the row's loss
 * against the uniform target, what label smoothing mixes in */
static double RCML_SFX(tr_rowdev)(const float *z, size_t cols, float m) {
    double acc[16] = {0}, tail = 0.0;
    size_t c = 0, j;
    for (; c + 16 <= cols; c += 16) {
        RCML_LOOP for (j = 0; j < 16; j++) acc[j] += (double)m - (double)z[c + j];
    }
    for (; c < cols; c++) tail += (double)m - (double)z[c];
    return RCML_SFX(tr_fold)(acc, tail);
}

/* Sum over rows of the cross-entropy row loss against t' = k1 t + k0 (label smoothing:
 * k1 = 1 - eps, k0 = eps / cols; without it k1 = 1, k0 = 0), t one-hot (labels) or a
 * distribution (target):
 *   l_r = w_r (k1 sum_c t_c (lse - z_c) + k0 sum_c (lse - z_c))      (w NULL: w_r = 1)
 *   grad_r = (softmax(z_r) sum_c t'_c - t'_r) * scale * w_r,  out_r = (float)l_r.
 * Labels and the matching one-hot rows give identical bits, with or without smoothing.
 * See rcml_cross_entropy_ex_f32. */
static double RCML_SFX(xent)(const float *zall, const float *target, const int64_t *labels,
                             const float *w, size_t rows, size_t cols, float k1, float k0,
                             float scale, float *gall, float *out) {
    const int smooth = k1 != 1.0f || k0 != 0.0f;
    const float kc = k0 * (float)cols;
    double total = 0.0, loss;
    size_t r, c, j;
    for (r = 0; r < rows; r++) {
        const float *z = zall + r * cols;
        float *g = gall ? gall + r * cols : NULL;
        float m = RCML_SFX(tr_rowmax)(z, cols);
        float s = RCML_SFX(tr_rowsumexp)(z, cols, m, g);
        float logs = rcml_logf(s);
        float sr = w ? scale * w[r] : scale;
        if (labels) {
            size_t lab = (size_t)labels[r];
            /* lse - z_label, with m - z_label exact in double */
            loss = ((double)m - (double)z[lab]) + (double)logs;
            if (g) {
                /* t' is k1 + k0 at the label, k0 elsewhere; sum_c t'_c = k1 + k0 cols */
                float inv = s, ts = smooth ? k1 + kc : 1.0f, hit = k1 + k0, miss = k0;
                RCML_LOOP for (c = 0; c < cols; c++) {
                    float q = (g[c] / inv) * ts;
                    q = q - rcml_self(c == lab, hit, miss);
                    g[c] = q * sr;
                }
            }
        } else {
            const float *t = target + r * cols;
            double acc[16] = {0}, tail = 0.0;
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
            /* sum_c t_c (lse - z_c) = sum_c t_c (m - z_c) + (sum_c t_c) log s */
            loss = RCML_SFX(tr_fold)(acc, tail) + (double)tsum * (double)logs;
            if (g) {
                float inv = s, ts = smooth ? tsum * k1 + kc : tsum;
                RCML_LOOP for (c = 0; c < cols; c++) {
                    float q = (g[c] / inv) * ts;
                    float tc = rcml_self(smooth, t[c] * k1 + k0, t[c]);
                    g[c] = (q - tc) * sr;
                }
            }
        }
        if (smooth) {
            double uni = RCML_SFX(tr_rowdev)(z, cols, m) + (double)cols * (double)logs;
            loss = (double)k1 * loss + (double)k0 * uni;
        }
        if (w) loss *= (double)w[r];
        if (out) out[r] = (float)loss;
        total += loss;
    }
    return total;
}

/* Negative log-likelihood over `rows` rows of log-probabilities (rows x cols):
 * l_r = -cw[y_r] lp[r, y_r] (cw NULL: 1); returns sum_r l_r, writes out_r = (float)l_r and
 * grad row r = -scale cw[y_r] at y_r, 0 elsewhere. See rcml_nll_loss_f32. */
static double RCML_SFX(nll)(const float *lp, const int64_t *labels, const float *cw, size_t rows,
                            size_t cols, float scale, float *grad, float *out) {
    double total = 0.0;
    size_t r, c;
    for (r = 0; r < rows; r++) {
        size_t lab = (size_t)labels[r];
        float wr = cw ? cw[lab] : 1.0f;
        double loss = -(double)lp[r * cols + lab] * (double)wr;
        if (out) out[r] = (float)loss;
        total += loss;
        if (grad) {
            float *g = grad + r * cols;
            RCML_LOOP for (c = 0; c < cols; c++) g[c] = 0.0f;
            g[lab] = -(scale * wr);
        }
    }
    return total;
}

/* --------------------------------------------------------------- optimizers */

/* One Adam element; L2 and AMS are compile-time constants at every call site, so each
 * combination becomes its own vectorised loop. */
#define RCML_ADAM_BODY(L2, AMS)                                                                    \
    RCML_LOOP for (i = 0; i < n; i++) {                                                            \
        float pi = p[i] * decay; /* AdamW decay; decay == 1 is exact */                            \
        float gi = g[i];                                                                           \
        if (L2) gi = gi + wd * pi;                                                                 \
        float mi = m[i];                                                                           \
        /* torch's lerp: self + w (end - self) for w < 0.5, else end - (end - self)(1 - w) */      \
        float lo = mi + w1 * (gi - mi);                                                            \
        float hi = gi - (gi - mi) * w1c;                                                           \
        mi = lerp_hi ? hi : lo;                                                                    \
        m[i] = mi;                                                                                 \
        float vi = v[i] * beta2 + (w2 * gi) * gi;                                                  \
        v[i] = vi;                                                                                 \
        if (AMS) {                                                                                 \
            float vm = vmax[i];                                                                    \
            /* torch.maximum: NaN in either operand gives NaN */                                   \
            vm = (vi > vm || vi != vi) ? vi : vm;                                                  \
            vmax[i] = vm;                                                                          \
            vi = vm;                                                                               \
        }                                                                                          \
        float den = sqrtf(vi) * ibc2s + eps;                                                       \
        p[i] = pi + (nss * mi) / den;                                                              \
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

/* RMSprop as torch.optim.RMSprop's single-tensor path; CEN and MOM are compile-time
 * constants at every call site. */
#define RCML_RMSPROP_BODY(CEN, MOM)                                                                \
    RCML_LOOP for (i = 0; i < n; i++) {                                                            \
        float gi = g[i];                                                                           \
        if (l2) gi = gi + wd * p[i];                                                               \
        float si = sq[i] * alpha + (w * gi) * gi;                                                  \
        sq[i] = si;                                                                                \
        if (CEN) {                                                                                 \
            float ai = ga[i];                                                                      \
            float lo = ai + w * (gi - ai);                                                         \
            float hi = gi - (gi - ai) * wc;                                                        \
            ai = lerp_hi ? hi : lo;                                                                \
            ga[i] = ai;                                                                            \
            si = si + (-ai) * ai; /* addcmul(ga, ga, value=-1) */                                  \
        }                                                                                          \
        float den = sqrtf(si) + eps;                                                               \
        if (MOM) {                                                                                 \
            float b = buf[i] * mom + gi / den;                                                     \
            buf[i] = b;                                                                            \
            p[i] = p[i] + nlr * b;                                                                 \
        } else {                                                                                   \
            p[i] = p[i] + (nlr * gi) / den;                                                        \
        }                                                                                          \
    }

static void RCML_SFX(rmsprop)(const float *RCML_RESTRICT g, float *RCML_RESTRICT p,
                              float *RCML_RESTRICT sq, float *RCML_RESTRICT ga,
                              float *RCML_RESTRICT buf, size_t n, const rcml_rmsprop_hp_t *hp) {
    const float alpha = hp->alpha, w = hp->w, wc = hp->wc, wd = hp->wd, eps = hp->eps;
    const float mom = hp->momentum, nlr = hp->nlr;
    const int lerp_hi = hp->lerp_hi, l2 = hp->l2;
    size_t i;
    if (ga) {
        if (buf) {
            RCML_RMSPROP_BODY(1, 1)
        } else {
            RCML_RMSPROP_BODY(1, 0)
        }
    } else {
        if (buf) {
            RCML_RMSPROP_BODY(0, 1)
        } else {
            RCML_RMSPROP_BODY(0, 0)
        }
    }
}
#undef RCML_RMSPROP_BODY

/* Adagrad as torch.optim.Adagrad (dense): sum += g*g; p += (-clr*g) / (sqrt(sum) + eps). */
static void RCML_SFX(adagrad)(const float *RCML_RESTRICT g, float *RCML_RESTRICT p,
                              float *RCML_RESTRICT sum, size_t n, const rcml_adagrad_hp_t *hp) {
    const float wd = hp->wd, eps = hp->eps, nclr = hp->nclr;
    size_t i;
    if (hp->l2) {
        RCML_LOOP for (i = 0; i < n; i++) {
            float gi = g[i] + wd * p[i];
            float si = sum[i] + gi * gi;
            sum[i] = si;
            p[i] = p[i] + (nclr * gi) / (sqrtf(si) + eps);
        }
    } else {
        RCML_LOOP for (i = 0; i < n; i++) {
            float gi = g[i];
            float si = sum[i] + gi * gi;
            sum[i] = si;
            p[i] = p[i] + (nclr * gi) / (sqrtf(si) + eps);
        }
    }
}

/* NAdam as torch.optim.NAdam: Adam's moments, then two addcdiv steps with the momentum
 * cache coefficients c1 (gradient) and c2 (first moment). */
#define RCML_NADAM_BODY(L2)                                                                        \
    RCML_LOOP for (i = 0; i < n; i++) {                                                            \
        float pi = p[i] * decay;                                                                   \
        float gi = g[i];                                                                           \
        if (L2) gi = gi + wd * pi;                                                                 \
        float mi = m[i];                                                                           \
        float lo = mi + w1 * (gi - mi);                                                            \
        float hi = gi - (gi - mi) * w1c;                                                           \
        mi = lerp_hi ? hi : lo;                                                                    \
        m[i] = mi;                                                                                 \
        float vi = v[i] * beta2 + (w2 * gi) * gi;                                                  \
        v[i] = vi;                                                                                 \
        float den = sqrtf(vi / bc2) + eps;                                                         \
        pi = pi + (c1 * gi) / den;                                                                 \
        p[i] = pi + (c2 * mi) / den;                                                               \
    }

static void RCML_SFX(nadam)(const float *RCML_RESTRICT g, float *RCML_RESTRICT p,
                            float *RCML_RESTRICT m, float *RCML_RESTRICT v, size_t n,
                            const rcml_nadam_hp_t *hp) {
    const float decay = hp->decay, wd = hp->wd, w1 = hp->w1, w1c = hp->w1c;
    const float beta2 = hp->beta2, w2 = hp->w2, bc2 = hp->bc2, eps = hp->eps;
    const float c1 = hp->c1, c2 = hp->c2;
    const int lerp_hi = hp->lerp_hi;
    size_t i;
    if (hp->l2) {
        RCML_NADAM_BODY(1)
    } else {
        RCML_NADAM_BODY(0)
    }
}
#undef RCML_NADAM_BODY

const rcml_train_table_t RCML_SFX(rcml_train) = {
    RCML_SFX(mse),     RCML_SFX(mae),     RCML_SFX(bce),   RCML_SFX(bce_logits),
    RCML_SFX(xent),    RCML_SFX(nll),     RCML_SFX(adam),  RCML_SFX(sgd),
    RCML_SFX(rmsprop), RCML_SFX(adagrad), RCML_SFX(nadam),
};
