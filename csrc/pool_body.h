/* pool_body.h - THE pooling math: 2-D max and average pooling, forward and backward, on the
 * images layout (one image is a contiguous (H*W, C) matrix, pixel (i, j) at row i*W + j,
 * channels along the row). Global average pooling is average pooling whose window is the
 * whole image. One source, compiled once per ISA through isa_body.h (RCML_SFX and RCML_LOOP
 * defined by the includer).
 *
 * Every inner loop runs along the channels (contiguous), so it vectorises; the window is
 * walked in (row, col) scan order. Max keeps the first maximum (a later element wins only
 * when strictly greater, or NaN, as torch does); average divides the sum of the valid,
 * unpadded elements by their count (Keras/TF "same", torch count_include_pad=False).
 * There is no multiply-add to contract and the orders are fixed, so every backend gives
 * the serial reference's bits. The backward passes scatter into dx image by image, in
 * output scan order: deterministic.
 */
#include "rcmlrs.h"
#include "kernels.h"
#include "mathf.h"

#include <string.h>

#define RCML_POOL_CB 64 /* channels per block of the max backward's argmax */

/* rows [*a, *b) of the input under output row o (window k, stride s, pad before p) */
RCML_INLINE void pool_span(size_t o, size_t k, size_t s, size_t p, size_t n, size_t *a, size_t *b) {
    size_t start = o * s; /* the window covers [start - p, start - p + k) */
    *a = start >= p ? start - p : 0;
    *b = RCML_MIN(start + k - p, n); /* p < k: never empty */
}

/* y[c] = max(y[c], v[c]), the first maximum kept; a NaN wins */
static void RCML_SFX(pool_max_row)(size_t C, const float *RCML_RESTRICT v, float *RCML_RESTRICT y) {
    size_t c;
    RCML_LOOP for (c = 0; c < C; c++) {
        float a = v[c];
        y[c] = rcml_self((a > y[c]) | (a != a), a, y[c]);
    }
}

static void RCML_SFX(pool_add_row)(size_t C, const float *RCML_RESTRICT v, float *RCML_RESTRICT y) {
    size_t c;
    RCML_LOOP for (c = 0; c < C; c++) y[c] = y[c] + v[c];
}

/* one image: x (H*W, C) -> y (Ho*Wo, C) */
static void RCML_SFX(pool_fwd_image)(int mode, const rcml_pool2d_t *p, const float *x, float *y) {
    const size_t C = p->C;
    size_t oi, oj, i, j, c, i0, i1, j0, j1;
    for (oi = 0; oi < p->Ho; oi++) {
        pool_span(oi, p->ph, p->sh, p->pt, p->H, &i0, &i1);
        for (oj = 0; oj < p->Wo; oj++) {
            float *RCML_RESTRICT yo = y + (oi * p->Wo + oj) * C;
            pool_span(oj, p->pw, p->sw, p->pl, p->W, &j0, &j1);
            memcpy(yo, x + (i0 * p->W + j0) * C, C * sizeof(float));
            for (i = i0; i < i1; i++)
                for (j = (i == i0 ? j0 + 1 : j0); j < j1; j++) {
                    const float *xr = x + (i * p->W + j) * C;
                    if (mode == RCML_POOL_MAX)
                        RCML_SFX(pool_max_row)(C, xr, yo);
                    else
                        RCML_SFX(pool_add_row)(C, xr, yo);
                }
            if (mode == RCML_POOL_AVG) {
                const float cnt = (float)((i1 - i0) * (j1 - j0));
                RCML_LOOP for (c = 0; c < C; c++) yo[c] = yo[c] / cnt;
            }
        }
    }
}

/* one output pixel's max backward over channels [c0, c0 + nc): find the first maximum of
 * each channel (the forward's choice) and add g there */
static void RCML_SFX(pool_max_scatter)(const rcml_pool2d_t *p, size_t i0, size_t i1, size_t j0,
                                       size_t j1, size_t c0, size_t nc, const float *x,
                                       const float *g, float *dx) {
    const size_t C = p->C;
    float m[RCML_POOL_CB];
    int32_t at[RCML_POOL_CB];
    size_t i, j, c;
    const int32_t first = (int32_t)(i0 * p->W + j0);
    const float *x0 = x + (size_t)first * C + c0;
    RCML_LOOP for (c = 0; c < nc; c++) {
        m[c] = x0[c];
        at[c] = first;
    }
    for (i = i0; i < i1; i++)
        for (j = (i == i0 ? j0 + 1 : j0); j < j1; j++) {
            const int32_t pix = (int32_t)(i * p->W + j);
            const float *RCML_RESTRICT xr = x + (size_t)pix * C + c0;
            RCML_LOOP for (c = 0; c < nc; c++) {
                float a = xr[c];
                int up = (a > m[c]) | (a != a);
                m[c] = rcml_self(up, a, m[c]);
                at[c] = up ? pix : at[c];
            }
        }
    /* add g where the maximum was: a masked add per window pixel, so it vectorises */
    for (i = i0; i < i1; i++)
        for (j = j0; j < j1; j++) {
            const int32_t pix = (int32_t)(i * p->W + j);
            float *RCML_RESTRICT d = dx + (size_t)pix * C + c0;
            const float *RCML_RESTRICT gc = g + c0;
            RCML_LOOP for (c = 0; c < nc; c++) d[c] = rcml_self(at[c] == pix, d[c] + gc[c], d[c]);
        }
}

/* one image: dx (H*W, C) from g (Ho*Wo, C) (and x for max) */
static void RCML_SFX(pool_bwd_image)(int mode, const rcml_pool2d_t *p, const float *x,
                                     const float *g, float *dx) {
    const size_t C = p->C;
    size_t oi, oj, i, j, c, c0, i0, i1, j0, j1;
    memset(dx, 0, p->H * p->W * C * sizeof(float));
    for (oi = 0; oi < p->Ho; oi++) {
        pool_span(oi, p->ph, p->sh, p->pt, p->H, &i0, &i1);
        for (oj = 0; oj < p->Wo; oj++) {
            const float *go = g + (oi * p->Wo + oj) * C;
            pool_span(oj, p->pw, p->sw, p->pl, p->W, &j0, &j1);
            if (mode == RCML_POOL_MAX) {
                for (c0 = 0; c0 < C; c0 += RCML_POOL_CB)
                    RCML_SFX(pool_max_scatter)(p, i0, i1, j0, j1, c0,
                                               RCML_MIN(C - c0, (size_t)RCML_POOL_CB), x, go, dx);
                continue;
            }
            const float cnt = (float)((i1 - i0) * (j1 - j0));
            for (i = i0; i < i1; i++)
                for (j = j0; j < j1; j++) {
                    float *RCML_RESTRICT d = dx + (i * p->W + j) * C;
                    RCML_LOOP for (c = 0; c < C; c++) d[c] = d[c] + go[c] / cnt;
                }
        }
    }
}

/* images [b0, b1) of the batch */
static void RCML_SFX(pool_forward)(int mode, const rcml_pool2d_t *p, size_t b0, size_t b1,
                                   const float *x, float *y) {
    const size_t in = p->H * p->W * p->C, out = p->Ho * p->Wo * p->C;
    size_t b;
    for (b = b0; b < b1; b++) RCML_SFX(pool_fwd_image)(mode, p, x + b * in, y + b * out);
}

static void RCML_SFX(pool_backward)(int mode, const rcml_pool2d_t *p, size_t b0, size_t b1,
                                    const float *x, const float *g, float *dx) {
    const size_t in = p->H * p->W * p->C, out = p->Ho * p->Wo * p->C;
    size_t b;
    for (b = b0; b < b1; b++)
        RCML_SFX(pool_bwd_image)(mode, p, x ? x + b * in : NULL, g + b * out, dx + b * in);
}

static const rcml_pool_table_t RCML_SFX(rcml_pool) = {
    RCML_SFX(pool_forward),
    RCML_SFX(pool_backward),
};
