/* norm_body.h - batch and layer normalization (csrc/norm.c has the entry points), ONE
 * source compiled per ISA through isa_body.h.
 *
 * The data is always an (rows, c) matrix: the L*R rows of an engine batch, c channels or
 * features along each row. Batch norm takes statistics per column over the rows (norm.c
 * sums rows in shape-fixed chunks with ew_body.h's cols_acc and cols_sqdev below, and adds
 * the chunk partials in chunk order); layer norm per row over its c values with
 * ew_body.h's block-wise double sums (sum, sumsqdev), the reductions of the tensor API.
 *
 * Both share one normalized value, x_hat = (x - m) * s (float32; m the mean, s the inverse
 * standard deviation 1 / sqrt(var + eps)), per column (batch norm, rowwise = 0) or per row
 * (layer norm, rowwise = 1); forward and backward compute it with the same expression, so
 * the backward's x_hat is the forward's bit for bit. Column sums run along the rows in
 * order, one double accumulator per column, so their bits do not depend on how the loop
 * over the columns is vectorised (the serial reference and every SIMD backend agree).
 */
#include "kernels.h"

#include <math.h>

/* acc[i] += (x[r * inner + i] - mean[i])^2 in double for i < tw <= inner, rows r < len in
 * order: the second pass of a per-column variance (batch norm's, and the tensor API's
 * var/std along an axis in reduce.c), after cols_acc has given the mean. Each column is a
 * sequential double sum, so the bits do not depend on how the column loop is vectorised. */
static void RCML_SFX(cols_sqdev)(const float *x, size_t len, size_t inner, size_t tw,
                                 const double *RCML_RESTRICT mean, double *RCML_RESTRICT acc) {
    size_t r, i;
    for (r = 0; r < len; r++) {
        const float *p = x + r * inner;
        rcml_cols_prefetch(p, r, len, inner, tw); /* ew_body.h, as in cols_acc */
        RCML_LOOP for (i = 0; i < tw; i++) {
            double d = (double)p[i] - mean[i];
            acc[i] += d * d;
        }
    }
}

/* y = x_hat * gamma + beta over len rows of c (x_hat as in the header: m, s per column, or
 * m[r], s[r] per row when rowwise). No aliasing (restrict: no run-time overlap checks per
 * row, which cost more than the arithmetic for a few channels). */
static void RCML_SFX(norm_affine)(const float *RCML_RESTRICT x, size_t len, size_t c,
                                  const float *RCML_RESTRICT m, const float *RCML_RESTRICT s,
                                  int rowwise, const float *RCML_RESTRICT gamma,
                                  const float *RCML_RESTRICT beta, float *RCML_RESTRICT y) {
    size_t r, i;
    for (r = 0; r < len; r++) {
        const float *xr = x + r * c;
        float *yr = y + r * c;
        if (rowwise) {
            const float mr = m[r], sr = s[r];
            RCML_LOOP for (i = 0; i < c; i++) yr[i] = (xr[i] - mr) * sr * gamma[i] + beta[i];
        } else {
            RCML_LOOP for (i = 0; i < c; i++) yr[i] = (xr[i] - m[i]) * s[i] * gamma[i] + beta[i];
        }
    }
}

/* The column sums of a backward pass over len rows of stride inner, tw <= inner columns
 * wide: acc_g[i] += g, acc_gx[i] += g * x_hat (double; x_hat as in norm_affine, m and s
 * starting at the first column when per column). They are dbeta and dgamma, and batch
 * norm's dx needs them too. */
static void RCML_SFX(norm_grad_acc)(const float *RCML_RESTRICT x, const float *RCML_RESTRICT g,
                                    size_t len, size_t inner, size_t c,
                                    const float *RCML_RESTRICT m, const float *RCML_RESTRICT s,
                                    int rowwise, double *RCML_RESTRICT acc_g,
                                    double *RCML_RESTRICT acc_gx) {
    size_t r, i;
    for (r = 0; r < len; r++) {
        const float *xr = x + r * inner, *gr = g + r * inner;
        if (rowwise) {
            const float mr = m[r], sr = s[r];
            RCML_LOOP for (i = 0; i < c; i++) {
                acc_g[i] += (double)gr[i];
                acc_gx[i] += (double)gr[i] * (double)((xr[i] - mr) * sr);
            }
        } else {
            RCML_LOOP for (i = 0; i < c; i++) {
                acc_g[i] += (double)gr[i];
                acc_gx[i] += (double)gr[i] * (double)((xr[i] - m[i]) * s[i]);
            }
        }
    }
}

/* Batch norm's dx over len rows of c, per column k = gamma * s, p = sum(g) / n and
 * q = sum(g x_hat) / n (n all rows of the batch):
 *   training (batch statistics):  dx = k (g - p - x_hat q)
 *   inference (fixed statistics): dx = k g              (p, q unused) */
static void RCML_SFX(bn_dx)(const float *RCML_RESTRICT x, const float *RCML_RESTRICT g, size_t len,
                            size_t c, const float *RCML_RESTRICT m, const float *RCML_RESTRICT s,
                            const float *RCML_RESTRICT k, const float *RCML_RESTRICT p,
                            const float *RCML_RESTRICT q, int training, float *RCML_RESTRICT dx) {
    size_t r, i;
    for (r = 0; r < len; r++) {
        const float *xr = x + r * c, *gr = g + r * c;
        float *dr = dx + r * c;
        if (training) {
            RCML_LOOP for (i = 0; i < c; i++) dr[i] =
                k[i] * (gr[i] - p[i] - ((xr[i] - m[i]) * s[i]) * q[i]);
        } else {
            RCML_LOOP for (i = 0; i < c; i++) dr[i] = k[i] * gr[i];
        }
    }
}

/* Layer norm forward of len rows of c, one row at a time (it stays in L1 from its
 * statistics to its output): m[r] the row mean, s[r] = 1 / sqrt(var + eps) with the biased
 * variance, both in double (the tensor API's block-wise row sums) rounded to float32 once,
 * then y's row from norm_affine. */
static void RCML_SFX(ln_forward)(const float *RCML_RESTRICT x, size_t len, size_t c, double eps,
                                 const float *RCML_RESTRICT gamma, const float *RCML_RESTRICT beta,
                                 float *RCML_RESTRICT m, float *RCML_RESTRICT s,
                                 float *RCML_RESTRICT y) {
    size_t r;
    for (r = 0; r < len; r++) {
        const float *xr = x + r * c;
        double mean = RCML_SFX(sum)(xr, c) / (double)c;
        double var = RCML_SFX(sumsqdev)(xr, c, mean) / (double)c;
        m[r] = (float)mean;
        s[r] = (float)(1.0 / sqrt(var + eps));
        RCML_SFX(norm_affine)(xr, 1, c, m + r, s + r, 1, gamma, beta, y + r * c);
    }
}

/* Layer norm's dx over len rows of c: with a = g * gamma,
 *   dx = s[r] (a - sum(a) / c - x_hat sum(a x_hat) / c)
 * (the row sums are the tensor API's block-wise double sums, taken over dx's row as
 * scratch). dx must not alias x or g. */
static void RCML_SFX(ln_dx)(const float *RCML_RESTRICT x, const float *RCML_RESTRICT g, size_t len,
                            size_t c, const float *RCML_RESTRICT m, const float *RCML_RESTRICT s,
                            const float *RCML_RESTRICT gamma, float *RCML_RESTRICT dx) {
    size_t r, i;
    for (r = 0; r < len; r++) {
        const float *xr = x + r * c, *gr = g + r * c;
        float *dr = dx + r * c;
        const float mr = m[r], sr = s[r];
        RCML_LOOP for (i = 0; i < c; i++) dr[i] = gr[i] * gamma[i];
        const float p = (float)(RCML_SFX(sum)(dr, c) / (double)c);
        RCML_LOOP for (i = 0; i < c; i++) dr[i] = dr[i] * ((xr[i] - mr) * sr);
        const float q = (float)(RCML_SFX(sum)(dr, c) / (double)c);
        RCML_LOOP for (i = 0; i < c; i++) dr[i] =
            sr * (gr[i] * gamma[i] - p - ((xr[i] - mr) * sr) * q);
    }
}

const rcml_norm_table_t RCML_SFX(rcml_norm) = {
    RCML_SFX(cols_sqdev), RCML_SFX(norm_affine), RCML_SFX(norm_grad_acc),
    RCML_SFX(bn_dx),      RCML_SFX(ln_forward),  RCML_SFX(ln_dx),
};
