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

#include <stddef.h>
#include <string.h>

/* cols[(r - r0)*K + (ki*kw + kj)*C + c] = x at input pixel (oi*sh - pt + ki, oj*sw - pl + kj)
 * of output row r's image, or 0 outside the image, for r in [r0, r1). */
static void RCML_SFX(conv_im2col)(const rcml_conv2d_t *g, const float *RCML_RESTRICT x, size_t r0,
                                  size_t r1, float *RCML_RESTRICT cols) {
    const size_t C = g->C, kw = g->kw, K = g->kh * kw * C, HoWo = g->Ho * g->Wo;
    const size_t rowlen = kw * C;
    size_t r;
    for (r = r0; r < r1; r++) {
        const size_t b = r / HoWo, p = r % HoWo, oi = p / g->Wo, oj = p % g->Wo;
        const float *xb = x + b * g->H * g->W * C;
        /* the valid kj range: 0 <= oj*sw - pl + kj < W */
        const ptrdiff_t j0 = (ptrdiff_t)(oj * g->sw) - (ptrdiff_t)g->pl;
        const size_t kj0 = j0 < 0 ? (size_t)(-j0) : 0;
        const ptrdiff_t jend = (ptrdiff_t)g->W - j0; /* kj < jend */
        const size_t kj1 = jend <= 0 ? 0 : RCML_MIN(kw, (size_t)jend);
        float *dst = cols + (r - r0) * K;
        size_t ki;
        for (ki = 0; ki < g->kh; ki++, dst += rowlen) {
            const ptrdiff_t ii = (ptrdiff_t)(oi * g->sh + ki) - (ptrdiff_t)g->pt;
            if (ii < 0 || ii >= (ptrdiff_t)g->H || kj1 <= kj0) {
                memset(dst, 0, rowlen * sizeof(float));
                continue;
            }
            if (kj0 > 0) memset(dst, 0, kj0 * C * sizeof(float));
            memcpy(dst + kj0 * C, xb + ((size_t)ii * g->W + (size_t)(j0 + (ptrdiff_t)kj0)) * C,
                   (kj1 - kj0) * C * sizeof(float));
            if (kj1 < kw) memset(dst + kj1 * C, 0, (kw - kj1) * C * sizeof(float));
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
                const float *src = dcols + ((b * g->Ho + oi) * g->Wo + oj) * K + ki * kw * C;
                const ptrdiff_t j0 = (ptrdiff_t)(oj * g->sw) - (ptrdiff_t)g->pl;
                size_t kj;
                for (kj = 0; kj < kw; kj++) {
                    const ptrdiff_t j = j0 + (ptrdiff_t)kj;
                    float *d;
                    const float *s = src + kj * C;
                    if (j < 0 || j >= (ptrdiff_t)g->W) continue;
                    d = dxr + (size_t)j * C;
                    RCML_LOOP for (c = 0; c < C; c++) d[c] += s[c];
                }
            }
        }
    }
}

/* The transposed form for few filters or channels: colsT[k*m + (r - r0)] (m = r1 - r0) is
 * entry k = (ki*kw + kj)*C + c of output row r's patch, so each row of colsT is a long run
 * over the output pixels (a strided copy of one input row), and the GEMM W^T colsT runs its
 * vector lanes along the pixels instead of along few filters. */
static void RCML_SFX(conv_im2col_t)(const rcml_conv2d_t *g, const float *RCML_RESTRICT x, size_t r0,
                                    size_t r1, float *RCML_RESTRICT colsT) {
    const size_t C = g->C, kw = g->kw, Wo = g->Wo, HoWo = g->Ho * Wo, m = r1 - r0;
    const size_t step = g->sw * C;
    size_t r = r0;
    while (r < r1) {
        const size_t b = r / HoWo, p = r % HoWo, oi = p / Wo, oj0 = p % Wo;
        const size_t run = RCML_MIN(Wo - oj0, r1 - r), off = r - r0;
        const float *xb = x + b * g->H * g->W * C;
        size_t ki, kj, c, t;
        for (ki = 0; ki < g->kh; ki++) {
            const ptrdiff_t ii = (ptrdiff_t)(oi * g->sh + ki) - (ptrdiff_t)g->pt;
            const int row_ok = ii >= 0 && ii < (ptrdiff_t)g->H;
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
                    /* input index of oj = t: (ii*W + t*sw + shift)*C + c */
                    const ptrdiff_t base =
                        (ii * (ptrdiff_t)g->W + shift) * (ptrdiff_t)C + (ptrdiff_t)c;
                    RCML_LOOP for (t = oj0; t < lo; t++) d[t - oj0] = 0.0f;
                    if (step == 1) {
                        const float *src = xb + (base + (ptrdiff_t)lo);
                        float *dd = d + (lo - oj0);
                        const size_t len = hi - lo;
                        RCML_LOOP for (t = 0; t < len; t++) dd[t] = src[t];
                    } else {
                        RCML_LOOP for (t = lo; t < hi; t++) d[t - oj0] =
                            xb[base + (ptrdiff_t)(t * step)];
                    }
                    RCML_LOOP for (t = hi; t < oj0 + run; t++) d[t - oj0] = 0.0f;
                }
            }
        }
        r += run;
    }
}

const rcml_conv_table_t RCML_SFX(rcml_conv) = {
    RCML_SFX(conv_im2col),
    RCML_SFX(conv_im2col_t),
    RCML_SFX(conv_col2im),
};
