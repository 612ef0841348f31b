/* conv_body.h - convolutions over the images layout, ONE source compiled per ISA through
 * isa_body.h. An image batch is (B, H*W, C): pixel (i, j) of image b is the row
 * (b*H + i)*W + j, its C channels along the row. A kernel is (kh*kw*C, F), rows in
 * (ki, kj, c) order. Output row r = (b*Ho + oi)*Wo + oj. A Conv1D over the time-major
 * (T, B, C) is the same loop on one "image" of H = T, W = B with a (k, 1) kernel.
 *
 * These are the data movements only; conv.c splits the output rows into blocks (by shape
 * only), packs each block's receptive fields with im2col (or im2col_t) and runs one packed
 * GEMM per block, with act_body.h's layer forms for bias and activation. The backward's
 * dY @ W^T rows go back to the input through col2im, which gathers every input pixel's
 * gradient in a fixed order (one writer per input row).
 */
#include "rcmlrs.h"
#include "kernels.h"
#include "mathf.h"

#include <stddef.h>
#include <string.h>

/* cols[(r - r0)*K + (ki*kw + kj)*C + c] = x at input pixel (oi*sh - pt + ki, oj*sw - pl + kj)
 * of output row r's image, or 0 outside the image, for r in [r0, r1). */
static void RCML_SFX(conv_im2col)(const rcml_conv2d_t *g, const float *RCML_RESTRICT x, size_t r0,
                                  size_t r1, float *RCML_RESTRICT cols) {
    const size_t C = g->C, kw = g->kw, K = g->kh * kw * C, HoWo = g->Ho * g->Wo;
    const size_t rowlen = kw * C;
    /* (b, oi, oj) of row r, advanced row by row (no divisions per row) */
    size_t r, b = r0 / HoWo, oi = r0 % HoWo / g->Wo, oj = r0 % HoWo % g->Wo;
    for (r = r0; r < r1; r++) {
        const float *xb = x + b * g->H * g->W * C;
        /* the valid kj range: 0 <= oj*sw - pl + kj < W */
        const ptrdiff_t j0 = (ptrdiff_t)(oj * g->sw) - (ptrdiff_t)g->pl;
        const size_t kj0 = j0 < 0 ? (size_t)(-j0) : 0;
        const ptrdiff_t jend = (ptrdiff_t)g->W - j0; /* kj < jend */
        const size_t kj1 = jend <= 0 ? 0 : RCML_MIN(kw, (size_t)jend);
        float *dst = cols + (r - r0) * K;
        size_t ki;
        /* runs of kw*C floats (a few dozen): inline loops, not library calls */
        for (ki = 0; ki < g->kh; ki++, dst += rowlen) {
            const ptrdiff_t ii = (ptrdiff_t)(oi * g->sh + ki) - (ptrdiff_t)g->pt;
            float *RCML_RESTRICT d = dst;
            const float *RCML_RESTRICT s;
            size_t t, a, e;
            if (ii < 0 || ii >= (ptrdiff_t)g->H || kj1 <= kj0) {
                RCML_LOOP for (t = 0; t < rowlen; t++) d[t] = 0.0f;
                continue;
            }
            a = kj0 * C;
            e = kj1 * C;
            s = xb + ((size_t)ii * g->W + (size_t)j0) * C; /* s[t] for t in [a, e) */
            for (t = 0; t < a; t++) d[t] = 0.0f;
            RCML_LOOP for (t = a; t < e; t++) d[t] = s[t];
            for (t = e; t < rowlen; t++) d[t] = 0.0f;
        }
        if (++oj == g->Wo) {
            oj = 0;
            if (++oi == g->Ho) {
                oi = 0;
                b++;
            }
        }
    }
}

/* dx rows [n0, n1) of the B*H input rows (each W*C floats): every pixel's gradient is the
 * sum of the dcols entries that read it, added over ki, then oj, ascending (a fixed order,
 * one writer per row, whatever the chunking). */
static void RCML_SFX(conv_col2im)(const rcml_conv2d_t *g, const float *RCML_RESTRICT dcols,
                                  size_t n0, size_t n1, float *RCML_RESTRICT dx) {
    const size_t C = g->C, kw = g->kw, K = g->kh * kw * C, WC = g->W * C;
    size_t n;
    for (n = n0; n < n1; n++) {
        const size_t b = n / g->H, i = n % g->H;
        float *dxr = dx + n * WC;
        size_t ki, c;
        memset(dxr, 0, WC * sizeof(float));
        for (ki = 0; ki < g->kh; ki++) {
            const size_t t = i + g->pt; /* = oi*sh + ki */
            size_t oi, oj;
            if (t < ki || (t - ki) % g->sh != 0) continue;
            oi = (t - ki) / g->sh;
            if (oi >= g->Ho) continue;
            for (oj = 0; oj < g->Wo; oj++) {
                /* kernel row ki of output pixel oj covers the kw*C floats of dx from input
                 * column j0 on: one run, clipped to the columns inside the image */
                const float *src = dcols + ((b * g->Ho + oi) * g->Wo + oj) * K + ki * kw * C;
                const ptrdiff_t j0 = (ptrdiff_t)(oj * g->sw) - (ptrdiff_t)g->pl;
                const size_t kj0 = j0 < 0 ? (size_t)(-j0) : 0;
                const ptrdiff_t jend = (ptrdiff_t)g->W - j0; /* kj < jend */
                const size_t kj1 = jend <= 0 ? 0 : RCML_MIN(kw, (size_t)jend);
                float *RCML_RESTRICT d;
                const float *RCML_RESTRICT s;
                if (kj1 <= kj0) continue;
                d = dxr + (size_t)(j0 + (ptrdiff_t)kj0) * C;
                s = src + kj0 * C;
                RCML_LOOP for (c = 0; c < (kj1 - kj0) * C; c++) d[c] += s[c];
            }
        }
    }
}

/* The transposed form for few filters or channels: colsT[k*m + (r - r0)] (m = r1 - r0) is
 * entry k = (ki*kw + kj)*C + c of output row r's patch, so each row of colsT is a long run
 * over the output pixels (a strided copy of one input row), and the GEMM W^T colsT runs its
 * vector lanes along the pixels instead of along few filters. xp (NULL: read x) holds the
 * input rows [xrow0, ...) of the B*H with each row's channels split into planes (row n at
 * xp + (n - xrow0)*W*C, channel c's W pixels from c*W on, conv.c transposes them): a run
 * then reads every sw-th float of one plane, contiguous at stride 1, instead of every
 * sw*C-th. */
static void RCML_SFX(conv_im2col_t)(const rcml_conv2d_t *g, const float *RCML_RESTRICT x,
                                    const float *RCML_RESTRICT xp, size_t xrow0, size_t r0,
                                    size_t r1, float *RCML_RESTRICT colsT) {
    const size_t C = g->C, kw = g->kw, Wo = g->Wo, HoWo = g->Ho * Wo, m = r1 - r0;
    const size_t step = xp ? g->sw : g->sw * C;
    size_t r = r0;
    while (r < r1) {
        const size_t b = r / HoWo, p = r % HoWo, oi = p / Wo, oj0 = p % Wo;
        const size_t run = RCML_MIN(Wo - oj0, r1 - r), off = r - r0;
        size_t ki, kj, c, t;
        for (ki = 0; ki < g->kh; ki++) {
            const ptrdiff_t ii = (ptrdiff_t)(oi * g->sh + ki) - (ptrdiff_t)g->pt;
            const int row_ok = ii >= 0 && ii < (ptrdiff_t)g->H;
            /* input row ii of image b (read only when row_ok) */
            const float *xr = row_ok ? (xp ? xp + (b * g->H + (size_t)ii - xrow0) * g->W * C
                                           : x + (b * g->H + (size_t)ii) * g->W * C)
                                     : x;
            for (kj = 0; kj < kw; kj++) {
                /* oj reads column oj*sw - pl + kj: valid for lo <= oj < hi */
                const ptrdiff_t shift = (ptrdiff_t)kj - (ptrdiff_t)g->pl;
                size_t lo = oj0, hi = oj0 + run;
                if (!row_ok) hi = lo;
                if (shift < 0) lo = RCML_MAX(lo, ((size_t)(-shift) + g->sw - 1) / g->sw);
                if ((ptrdiff_t)g->W - shift <= 0)
                    hi = lo;
                else
                    hi = RCML_MIN(hi, ((size_t)((ptrdiff_t)g->W - shift) + g->sw - 1) / g->sw);
                if (lo > oj0 + run) lo = oj0 + run;
                if (hi < lo) hi = lo;
                for (c = 0; c < C; c++) {
                    float *d = colsT + ((ki * kw + kj) * C + c) * m + off;
                    /* the row's index of oj = t: (t*sw + shift)*C + c, or in planes
                     * c*W + t*sw + shift */
                    const ptrdiff_t base =
                        xp ? (ptrdiff_t)(c * g->W) + shift : shift * (ptrdiff_t)C + (ptrdiff_t)c;
                    RCML_LOOP for (t = oj0; t < lo; t++) d[t - oj0] = 0.0f;
                    if (step == 1) {
                        const float *src = xr + (base + (ptrdiff_t)lo);
                        float *dd = d + (lo - oj0);
                        const size_t len = hi - lo;
                        RCML_LOOP for (t = 0; t < len; t++) dd[t] = src[t];
                    } else {
                        RCML_LOOP for (t = lo; t < hi; t++) d[t - oj0] =
                            xr[base + (ptrdiff_t)(t * step)];
                    }
                    RCML_LOOP for (t = hi; t < oj0 + run; t++) d[t - oj0] = 0.0f;
                }
            }
        }
        r += run;
    }
}

/* ------------------------------------------------------------ direct convolution
 * Stride 1, no padding: output pixel (oi, oj) of a block of n output rows reads input
 * (oi + ki, oj + kj). On the "wide grid" q = oi*W + oj (oj < W, the last row stopping at
 * Wo, so L = (n - 1)*W + Wo positions) tap (ki, kj) of channel c reads the plane of c at
 * q + ki*W + kj: one contiguous run per tap, no patch matrix. The positions oj >= Wo are
 * computed and dropped (forward) or carry a zero gradient (dW). xp: the block's input
 * rows as C planes of ps floats each (pixel (i, j) of the block at i*W + j). */

/* The taps in k = (ki*kw + kj)*C + c order: tap k's run starts at xp + c*ps + ki*W + kj.
 * conv_tap_next: the offset of the tap after the one at off, whose channel and kernel
 * column are *c and *kj (advanced; no divisions). Start: off = c = kj = 0. */
RCML_INLINE size_t RCML_SFX(conv_tap_next)(const rcml_conv2d_t *g, size_t ps, size_t *c, size_t *kj,
                                           size_t off) {
    if (++*c < g->C) return off + ps;
    *c = 0;
    off -= (g->C - 1) * ps;
    if (++*kj < g->kw) return off + 1;
    *kj = 0;
    return off + 1 - g->kw + g->W;
}

/* z rows of the block (n*Wo rows of F): for each filter, its bias (or 0), then the taps
 * in k order (fused multiply-adds, four taps per pass over the run in acc, L floats of
 * scratch). */
static void RCML_SFX(conv_direct)(const rcml_conv2d_t *g, const float *RCML_RESTRICT xp, size_t ps,
                                  const float *RCML_RESTRICT w, const float *RCML_RESTRICT bias,
                                  size_t n, float *RCML_RESTRICT acc, float *RCML_RESTRICT z) {
    const size_t W = g->W, Wo = g->Wo, F = g->F, K = g->kh * g->kw * g->C;
    const size_t L = (n - 1) * W + Wo;
    size_t f, k, q, oi, oj;
    for (f = 0; f < F; f++) {
        const float b0 = bias ? bias[f] : 0.0f;
        size_t c = 0, kj = 0, off = 0;
        RCML_LOOP for (q = 0; q < L; q++) acc[q] = b0;
        for (k = 0; k + 4 <= K; k += 4) {
            const float *RCML_RESTRICT s0 = xp + off;
            const float *RCML_RESTRICT s1 =
                xp + (off = RCML_SFX(conv_tap_next)(g, ps, &c, &kj, off));
            const float *RCML_RESTRICT s2 =
                xp + (off = RCML_SFX(conv_tap_next)(g, ps, &c, &kj, off));
            const float *RCML_RESTRICT s3 =
                xp + (off = RCML_SFX(conv_tap_next)(g, ps, &c, &kj, off));
            const float w0 = w[k * F + f], w1 = w[(k + 1) * F + f];
            const float w2 = w[(k + 2) * F + f], w3 = w[(k + 3) * F + f];
            RCML_LOOP for (q = 0; q < L; q++) acc[q] =
                RCML_FMAF(w3, s3[q],
                          RCML_FMAF(w2, s2[q], RCML_FMAF(w1, s1[q], RCML_FMAF(w0, s0[q], acc[q]))));
            off = RCML_SFX(conv_tap_next)(g, ps, &c, &kj, off);
        }
        for (; k < K; k++) {
            const float *RCML_RESTRICT s0 = xp + off;
            const float w0 = w[k * F + f];
            RCML_LOOP for (q = 0; q < L; q++) acc[q] = RCML_FMAF(w0, s0[q], acc[q]);
            off = RCML_SFX(conv_tap_next)(g, ps, &c, &kj, off);
        }
        for (oi = 0; oi < n; oi++)
            for (oj = 0; oj < Wo; oj++) z[(oi * Wo + oj) * F + f] = acc[oi * W + oj];
    }
}

/* the wide run L of n output rows rounded up to whole vectors of dW lanes */
RCML_INLINE size_t RCML_SFX(conv_run_lanes)(const rcml_conv2d_t *g, size_t n) {
    const size_t L = (n - 1) * g->W + g->Wo;
    return (L + RCML_CONV_LANES - 1) / RCML_CONV_LANES * RCML_CONV_LANES;
}

/* dzw (F x Lp, Lp = L rounded up to RCML_CONV_LANES): the block's dz (n*Wo rows of F) on
 * the wide grid, 0 at oj >= Wo and past L */
static void RCML_SFX(conv_dz_wide)(const rcml_conv2d_t *g, const float *RCML_RESTRICT dz, size_t n,
                                   float *RCML_RESTRICT dzw) {
    const size_t W = g->W, Wo = g->Wo, F = g->F, Lp = RCML_SFX(conv_run_lanes)(g, n);
    size_t f, oi, oj, q;
    for (f = 0; f < F; f++) {
        float *d = dzw + f * Lp;
        for (oi = 0; oi < n; oi++) {
            for (oj = 0; oj < Wo; oj++) d[oi * W + oj] = dz[(oi * Wo + oj) * F + f];
            for (q = oi * W + Wo; q < RCML_MIN((oi + 1) * W, Lp); q++) d[q] = 0.0f;
        }
        for (q = n * W; q < Lp; q++) d[q] = 0.0f;
    }
}

/* 1 when the n floats at x are all finite (x*0 is 0 for them, NaN otherwise) */
static int RCML_SFX(conv_all_finite)(const float *RCML_RESTRICT x, size_t n) {
    float m[16] = {0.0f};
    size_t i, l;
    for (i = 0; i + 16 <= n; i += 16) RCML_LOOP for (l = 0; l < 16; l++) m[l] += x[i + l] * 0.0f;
    for (l = 0; i + l < n; l++) m[l] += x[i + l] * 0.0f;
    for (l = 0; l < 16; l++)
        if (m[l] != 0.0f) return 0;
    return 1;
}

/* dW lanes: lanes[(k*F + f)*RCML_CONV_LANES + l] += sum over wide positions
 * q = l (mod RCML_CONV_LANES), q < Lp, of dzw[f][q] * tap k's input at q, in q order
 * (several independent vectors of lanes; conv_lanes_sum folds them). The planes are read
 * up to Lp - L floats past the last input row: xp has that many zeros after its end.
 * When the planes hold an infinity or NaN, the positions oj >= Wo are skipped instead of
 * multiplied by their zero gradient (0 * inf would be NaN where no output read it). */
static void RCML_SFX(conv_direct_dw)(const rcml_conv2d_t *g, const float *RCML_RESTRICT xp,
                                     size_t ps, const float *RCML_RESTRICT dzw, size_t n,
                                     float *RCML_RESTRICT lanes) {
    const size_t F = g->F, K = g->kh * g->kw * g->C, Lp = RCML_SFX(conv_run_lanes)(g, n);
    const size_t W = g->W, Wo = g->Wo;
    const int exact = !RCML_SFX(conv_all_finite)(xp, g->C * ps);
    size_t k, f, q, l, oi, oj, c = 0, kj = 0, off = 0;
    for (k = 0; k < K; k++, off = RCML_SFX(conv_tap_next)(g, ps, &c, &kj, off)) {
        const float *RCML_RESTRICT s = xp + off;
        for (f = 0; f < F; f++) {
            const float *RCML_RESTRICT d = dzw + f * Lp;
            float *RCML_RESTRICT lp = lanes + (k * F + f) * RCML_CONV_LANES;
            float a[RCML_CONV_LANES];
            RCML_LOOP for (l = 0; l < RCML_CONV_LANES; l++) a[l] = lp[l];
            if (exact)
                for (oi = 0; oi < n; oi++)
                    for (oj = 0; oj < Wo; oj++) {
                        q = oi * W + oj;
                        a[q % RCML_CONV_LANES] = RCML_FMAF(d[q], s[q], a[q % RCML_CONV_LANES]);
                    }
            else
                for (q = 0; q < Lp; q += RCML_CONV_LANES)
                    RCML_LOOP for (l = 0; l < RCML_CONV_LANES; l++) a[l] =
                        RCML_FMAF(d[q + l], s[q + l], a[l]);
            RCML_LOOP for (l = 0; l < RCML_CONV_LANES; l++) lp[l] = a[l];
        }
    }
}

/* out[i] = the RCML_CONV_LANES lanes at lanes + RCML_CONV_LANES*i folded pairwise (lane
 * l + h onto lane l, h = 32, 16, ..., 1) */
static void RCML_SFX(conv_lanes_sum)(const float *RCML_RESTRICT lanes, size_t count,
                                     float *RCML_RESTRICT out) {
    size_t i, l, h;
    for (i = 0; i < count; i++) {
        float a[RCML_CONV_LANES];
        RCML_LOOP for (l = 0; l < RCML_CONV_LANES; l++) a[l] = lanes[i * RCML_CONV_LANES + l];
        for (h = RCML_CONV_LANES / 2; h >= 1; h /= 2)
            RCML_LOOP for (l = 0; l < h; l++) a[l] = a[l] + a[l + h];
        out[i] = a[0];
    }
}

const rcml_conv_table_t RCML_SFX(rcml_conv) = {
    RCML_SFX(conv_im2col),    RCML_SFX(conv_im2col_t), RCML_SFX(conv_col2im),
    RCML_SFX(conv_direct),    RCML_SFX(conv_dz_wide),  RCML_SFX(conv_direct_dw),
    RCML_SFX(conv_lanes_sum),
};
