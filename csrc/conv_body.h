/* conv_body.h - convolutions over the images layout, ONE source compiled per ISA through
 * isa_body.h. An image batch is (B, H*W, C): pixel (i, j) of image b is the row
 * (b*H + i)*W + j, its C channels along the row. A kernel is (kh*kw*C, F), rows in
 * (ki, kj, c) order. Output row r = (b*Ho + oi)*Wo + oj. A Conv1D over the time-major
 * (T, B, C) is the same loop on one "image" of H = T, W = B with a (k, 1) kernel.
 *
 * The work is split into blocks of output rows (rcml_conv_plan in conv.c, by shape only).
 * A block packs its rows' receptive fields into a scratch matrix (im2col, one row of
 * kh*kw*C per output pixel) and runs ONE packed GEMM (rcml_gemm_f32) against the kernel;
 * the bias and activation are act_body.h's layer forms (no activation math here). The
 * backward recomputes the block's im2col rows for dW and writes dY @ W^T for col2im,
 * which gathers every input pixel's gradient in a fixed order (one writer per row).
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

/* Output rows [r0, r1): z = im2col(x) @ w (+ bias), y = f(z) (the layer form). */
static void RCML_SFX(conv_forward_rows)(const rcml_conv2d_t *g, int act, float a, const float *x,
                                        const float *w, const float *bias, size_t r0, size_t r1,
                                        float *cols, float *z, float *y) {
    const size_t K = g->kh * g->kw * g->C, F = g->F, m = r1 - r0;
    RCML_SFX(conv_im2col)(g, x, r0, r1, cols);
    rcml_gemm_f32(0, 0, m, F, K, 1.0f, cols, w, 0.0f, z + r0 * F);
    RCML_SFX(bias_act)(act, a, m, F, bias, z + r0 * F, y + r0 * F);
}

/* Output rows [r0, r1): dz = grad * f'(z) (the layer form), dw = beta*dw + im2col(x)^T dz,
 * and (dcols non-NULL) dcols rows = dz @ w^T. */
static void RCML_SFX(conv_backward_rows)(const rcml_conv2d_t *g, int act, float a, const float *x,
                                         const float *w, const float *z, const float *y,
                                         const float *grad, size_t r0, size_t r1, float *cols,
                                         float *dz, float beta, float *dw, float *dcols) {
    const size_t K = g->kh * g->kw * g->C, F = g->F, m = r1 - r0, o = r0 * F;
    RCML_SFX(layer_backward)(act, a, m, F, z + o, y ? y + o : NULL, grad + o, dz + o);
    RCML_SFX(conv_im2col)(g, x, r0, r1, cols);
    rcml_gemm_f32(1, 0, K, F, m, 1.0f, cols, dz + o, beta, dw);
    if (dcols) rcml_gemm_f32(0, 1, m, K, F, 1.0f, dz + o, w, 0.0f, dcols + r0 * K);
}

const rcml_conv_table_t RCML_SFX(rcml_conv) = {
    RCML_SFX(conv_im2col),
    RCML_SFX(conv_col2im),
    RCML_SFX(conv_forward_rows),
    RCML_SFX(conv_backward_rows),
};
