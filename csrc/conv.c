/* conv.c - the public convolution entry points: plan the blocks of output rows (by shape
 * only), run them on the pool with rcml_parallel_for through the active ISA's table
 * (conv_body.h), and combine the per-unit dW partials in unit order. Every output element
 * is written by one chunk and every sum runs in an order fixed by the shape, so the bits
 * do not depend on the thread count. */
#include "rcmlrs.h"
#include "kernels.h"

#include <stdlib.h>
#include <string.h>

/* Output rows per block: an im2col block of about this many floats (it stays in L2 while
 * the GEMM reads it). */
#define RCML_CONV_BLOCK_FLOATS ((size_t)32768)
/* The backward's dW is summed over at most this many units (partials added in order). */
#define RCML_CONV_UNITS ((size_t)16)
/* col2im chunks: about this many floats of dx each. */
#define RCML_CONV_C2I_FLOATS ((size_t)16384)

typedef struct {
    const rcml_conv2d_t *g;
    const rcml_conv_table_t *t;
    int act;
    float a;
    size_t M, K, mb, bpu; /* rows, patch length, rows per block, blocks per unit */
    const float *x, *w, *bias, *z, *y, *grad;
    float *zo, *yo, *dz, *dw, *partials, *dcols, *dx;
    unsigned char *failed; /* one flag per chunk (no shared writes) */
} rcml_conv_job_t;

static size_t rcml_conv_block_rows(size_t K) {
    return RCML_MAX((size_t)8, RCML_CONV_BLOCK_FLOATS / RCML_MAX(K, (size_t)1));
}

static void rcml_conv_forward_chunk(void *ctx, size_t b, size_t e) {
    rcml_conv_job_t *j = (rcml_conv_job_t *)ctx;
    size_t blk;
    float *cols = (float *)rcml_alloc_aligned(j->mb * j->K * sizeof(float));
    if (cols == NULL) {
        j->failed[b] = 1;
        return;
    }
    for (blk = b; blk < e; blk++) {
        size_t r0 = blk * j->mb, r1 = RCML_MIN(j->M, r0 + j->mb);
        j->t->forward_rows(j->g, j->act, j->a, j->x, j->w, j->bias, r0, r1, cols, j->zo, j->yo);
    }
    rcml_free_aligned(cols);
}

static void rcml_conv_backward_chunk(void *ctx, size_t u0, size_t u1) {
    rcml_conv_job_t *j = (rcml_conv_job_t *)ctx;
    const size_t KF = j->K * j->g->F, nblk = (j->M + j->mb - 1) / j->mb;
    size_t u;
    float *cols = (float *)rcml_alloc_aligned(j->mb * j->K * sizeof(float));
    if (cols == NULL) {
        j->failed[u0] = 1;
        return;
    }
    for (u = u0; u < u1; u++) {
        float *dw = u == 0 ? j->dw : j->partials + (u - 1) * KF;
        size_t blk, bend = RCML_MIN(nblk, (u + 1) * j->bpu);
        for (blk = u * j->bpu; blk < bend; blk++) {
            size_t r0 = blk * j->mb, r1 = RCML_MIN(j->M, r0 + j->mb);
            j->t->backward_rows(j->g, j->act, j->a, j->x, j->w, j->z, j->y, j->grad, r0, r1, cols,
                                j->dz, blk == u * j->bpu ? 0.0f : 1.0f, dw, j->dcols);
        }
    }
    rcml_free_aligned(cols);
}

static void rcml_conv_col2im_chunk(void *ctx, size_t b, size_t e) {
    rcml_conv_job_t *j = (rcml_conv_job_t *)ctx;
    j->t->col2im(j->g, j->dcols, b, e, j->dx);
}

static int rcml_conv_any_failed(const unsigned char *f, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (f[i]) return 1;
    return 0;
}

int rcml_conv2d_forward_f32(const rcml_conv2d_t *g, int act, float param, const float *x,
                            const float *w, const float *bias, float *z, float *y) {
    rcml_conv_job_t j;
    size_t nblk;
    int rc;
    memset(&j, 0, sizeof j);
    j.g = g;
    j.t = rcml_kernels()->conv;
    j.act = act;
    j.a = param;
    j.M = g->B * g->Ho * g->Wo;
    j.K = g->kh * g->kw * g->C;
    if (j.M == 0 || g->F == 0) return RCML_OK;
    j.mb = rcml_conv_block_rows(j.K);
    j.x = x;
    j.w = w;
    j.bias = bias;
    j.zo = z;
    j.yo = y;
    nblk = (j.M + j.mb - 1) / j.mb;
    j.failed = (unsigned char *)calloc(nblk, 1);
    if (j.failed == NULL) return RCML_ENOMEM;
    rcml_parallel_for(nblk, 1, rcml_conv_forward_chunk, &j);
    rc = rcml_conv_any_failed(j.failed, nblk) ? RCML_ENOMEM : RCML_OK;
    free(j.failed);
    return rc;
}

int rcml_conv2d_backward_f32(const rcml_conv2d_t *g, int act, float param, const float *x,
                             const float *w, const float *z, const float *y, const float *grad,
                             float *dz, float *dw, float *db, float *dx) {
    rcml_conv_job_t j;
    size_t nblk, nunit, KF, u;
    int rc = RCML_OK;
    memset(&j, 0, sizeof j);
    j.g = g;
    j.t = rcml_kernels()->conv;
    j.act = act;
    j.a = param;
    j.M = g->B * g->Ho * g->Wo;
    j.K = g->kh * g->kw * g->C;
    KF = j.K * g->F;
    if (j.M == 0 || g->F == 0 || j.K == 0) { /* nothing flows back: zero gradients */
        if (KF) memset(dw, 0, KF * sizeof(float));
        if (db && g->F) memset(db, 0, g->F * sizeof(float));
        const size_t nx = g->B * g->H * g->W * g->C;
        if (dx && nx > 0) memset(dx, 0, nx * sizeof(float));
        if (j.M && g->F) memset(dz, 0, j.M * g->F * sizeof(float));
        return RCML_OK;
    }
    j.mb = rcml_conv_block_rows(j.K);
    nblk = (j.M + j.mb - 1) / j.mb;
    j.bpu = (nblk + RCML_CONV_UNITS - 1) / RCML_CONV_UNITS;
    nunit = (nblk + j.bpu - 1) / j.bpu;
    j.x = x;
    j.w = w;
    j.z = z;
    j.y = y;
    j.grad = grad;
    j.dz = dz;
    j.dw = dw;
    j.dx = dx;
    j.failed = (unsigned char *)calloc(nunit, 1);
    if (j.failed == NULL) return RCML_ENOMEM;
    if (nunit > 1) {
        j.partials = (float *)rcml_alloc_aligned((nunit - 1) * KF * sizeof(float));
        if (j.partials == NULL) rc = RCML_ENOMEM;
    }
    if (dx && rc == RCML_OK) {
        j.dcols = (float *)rcml_alloc_aligned(j.M * j.K * sizeof(float));
        if (j.dcols == NULL) rc = RCML_ENOMEM;
    }
    if (rc == RCML_OK) {
        rcml_parallel_for(nunit, 1, rcml_conv_backward_chunk, &j);
        if (rcml_conv_any_failed(j.failed, nunit)) rc = RCML_ENOMEM;
    }
    if (rc == RCML_OK) {
        for (u = 1; u < nunit; u++)
            rcml_binary_f32(RCML_ADD, dw, j.partials + (u - 1) * KF, dw, KF);
        if (db) rcml_reduce_axis_f32(RCML_RED_SUM, dz, 1, j.M, g->F, 0.0, db);
        if (dx) {
            size_t rows = g->B * g->H, wc = g->W * g->C;
            rcml_parallel_for(rows, RCML_MAX((size_t)1, RCML_CONV_C2I_FLOATS / RCML_MAX(wc, 1)),
                              rcml_conv_col2im_chunk, &j);
        }
    }
    rcml_free_aligned(j.partials);
    rcml_free_aligned(j.dcols);
    free(j.failed);
    return rc;
}
