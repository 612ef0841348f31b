/* conv.c - the public convolution entry points. The B*Ho*Wo output rows are cut into
 * blocks (by shape only); a block packs its receptive fields (conv_body.h's im2col, or
 * im2col_t for few filters or channels) and runs ONE packed GEMM against the kernel, then
 * act_body.h's layer form adds the bias and applies the activation. The backward takes
 * the layer form's dz per block, accumulates dW block after block within each of at most
 * RCML_CONV_UNITS units (partials added in unit order), and sends dz W^T back to the
 * input through col2im. Every output element is written by one chunk and every sum runs
 * in an order fixed by the shape, so the bits do not depend on the thread count.
 * Stride 1 without padding, few filters and short patches take the direct form instead
 * (conv_body.h's wide grid: per tap one contiguous run of the input, no patch matrix and
 * no GEMM packing): items of output rows of one image, the forward with the bias folded
 * in, the backward's dW in lanes per unit folded in a fixed order. */
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
/* The transposed product (z^T = W^T cols^T, the GEMM's vector lanes along the pixels)
 * below this many filters. */
#define RCML_CONV_T_FILTERS ((size_t)32)
/* Transposed patches (im2col_t) for one channel, or for a few channels (C < 8) when they
 * copy the longer runs: a row of output pixels (Wo floats, read from channel planes)
 * against a patch row's kw*C floats. Measured (forward + dW, 3x3 "same", batch 64, 1
 * thread, alternating runs, transposed vs not): 32x32x4 -> 32 4.8-5.0 vs 5.9-6.0 ms,
 * 32x32x6 -> 32 6.7-8.7 vs 7.8-10.0; the other way round 16x16x7 -> 32 1.8-2.7 vs
 * 2.3-3.5, 16x16x8 -> 32, 16x16x16 -> 64, 16x16x32 -> 64, and LeNet's 12x12x6 -> 16 5x5
 * "valid" (+dx) 1.2-1.9 vs 2.5-3.0. Conv1D (kw = 1, Wo = the batch; forward + backward,
 * T 100): 4 channels, batch 16: 0.25-0.28 vs 0.30-0.35 ms; 8 and 16 channels even; 32
 * and 48 channels, batch 64: mixed or slower (48: 2.9-3.9 vs 2.7-3.4 ms), hence C < 8. */
RCML_INLINE int rcml_conv_lt(const rcml_conv2d_t *g) {
    return g->C < 2 || (g->C < 8 && g->kw * g->C < g->Wo);
}
/* The direct form (stride 1, no padding, conv_body.h's wide grid: no patches, no packing)
 * below RCML_CONV_T_FILTERS filters and up to this patch length; blocks of output rows
 * whose wide grid holds about RCML_CONV_DIRECT_RUN floats. */
#define RCML_CONV_DIRECT_K ((size_t)64)
#define RCML_CONV_DIRECT_RUN ((size_t)1024)

typedef struct {
    const rcml_conv2d_t *g;
    const rcml_conv_table_t *t;
    const rcml_act_table_t *at;
    int act;
    int lt;  /* patches transposed (K x m: im2col_t) */
    int ot;  /* products transposed: z^T = W^T cols^T (vector lanes along the pixels) */
    int dir; /* the direct form: items of nb output rows of one image, nbi per image */
    size_t nb, nbi, nitem, ipu;
    float a;
    size_t M, K, F, mb, bpu; /* rows, patch length, filters, rows per block, blocks per unit */
    const float *x, *w, *bias, *z, *y, *grad;
    const float *dzr; /* where the backward reads dz: dz, or grad for a linear layer */
    float *zo, *yo, *dz, *dw, *partials, *dcols, *dx;
    unsigned char *failed; /* one flag per chunk (no shared writes) */
} rcml_conv_job_t;

static void rcml_conv_plan(rcml_conv_job_t *j, const rcml_conv2d_t *g, int act, float param) {
    memset(j, 0, sizeof *j);
    j->g = g;
    j->t = rcml_kernels()->conv;
    j->at = rcml_kernels()->act;
    j->act = act;
    j->a = param;
    j->M = g->B * g->Ho * g->Wo;
    j->K = g->kh * g->kw * g->C;
    j->F = g->F;
    j->mb = RCML_MAX((size_t)8, RCML_CONV_BLOCK_FLOATS / RCML_MAX(j->K, (size_t)1));
    j->lt = rcml_conv_lt(g);
    j->ot = g->F < RCML_CONV_T_FILTERS;
    j->dir = g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 && g->Ho + g->kh == g->H + 1 &&
             g->Wo + g->kw == g->W + 1 && g->F < RCML_CONV_T_FILTERS && j->K <= RCML_CONV_DIRECT_K;
    if (j->dir) {
        j->lt = j->ot = 0;
        j->nb = RCML_MAX((size_t)1, RCML_MIN(g->Ho, RCML_CONV_DIRECT_RUN / g->W));
        j->nbi = (g->Ho + j->nb - 1) / j->nb;
        j->nitem = g->B * j->nbi;
    }
}

/* the wide run of nb output rows, rounded up to whole vectors of dW lanes */
static size_t rcml_conv_run(const rcml_conv_job_t *j) {
    const size_t L = (j->nb - 1) * j->g->W + j->g->Wo;
    return (L + RCML_CONV_LANES - 1) / RCML_CONV_LANES * RCML_CONV_LANES;
}

/* the direct form's item it: image b, output rows [oi0, oi0 + n); its input rows as
 * planes of ps floats: x itself for one channel unless copy, else transposed into xp,
 * followed by RCML_CONV_LANES zeros (the dW lanes read up to that far past the end) */
static const float *rcml_conv_item(const rcml_conv_job_t *j, size_t it, int copy, size_t *row0,
                                   size_t *n, float *xp, size_t *ps) {
    const rcml_conv2d_t *g = j->g;
    const size_t b = it / j->nbi, oi0 = (it % j->nbi) * j->nb;
    const float *xin = j->x + (b * g->H + oi0) * g->W * g->C;
    *n = RCML_MIN(j->nb, g->Ho - oi0);
    *row0 = (b * g->Ho + oi0) * g->Wo;
    *ps = (*n + g->kh - 1) * g->W;
    if (g->C == 1 && !copy) return xin;
    if (g->C == 1)
        memcpy(xp, xin, *ps * sizeof(float));
    else
        rcml_transpose_f32(xin, 1, *ps, g->C, xp);
    memset(xp + *ps * g->C, 0, RCML_CONV_LANES * sizeof(float));
    return xp;
}

/* floats of the direct form's per-chunk scratch: the wide run, the planes and zeros */
static size_t rcml_conv_direct_scratch(const rcml_conv_job_t *j) {
    const rcml_conv2d_t *g = j->g;
    return rcml_conv_run(j) + g->C * (j->nb + g->kh - 1) * g->W + RCML_CONV_LANES;
}

static void rcml_conv_direct_forward_chunk(void *ctx, size_t b, size_t e) {
    rcml_conv_job_t *j = (rcml_conv_job_t *)ctx;
    const size_t F = j->F, run = rcml_conv_run(j);
    size_t it;
    float *acc = (float *)rcml_alloc_aligned(rcml_conv_direct_scratch(j) * sizeof(float));
    if (acc == NULL) {
        j->failed[b] = 1;
        return;
    }
    for (it = b; it < e; it++) {
        size_t r0, n, ps;
        const float *xp = rcml_conv_item(j, it, 0, &r0, &n, acc + run, &ps);
        const size_t m = n * j->g->Wo;
        float *z = j->zo + r0 * F;
        j->t->direct(j->g, xp, ps, j->w, j->bias, n, acc, z); /* bias included */
        if (j->act == RCML_ACT_SOFTMAX)
            j->at->bias_act(j->act, j->a, m, F, NULL, z, j->yo + r0 * F);
        else if (j->act != RCML_ACT_LINEAR || j->yo != j->zo)
            j->at->act(j->act, z, j->a, j->yo + r0 * F, m * F);
    }
    rcml_free_aligned(acc);
}

/* unit u: items [u*ipu, (u+1)*ipu): dz, dW lanes, dcols; its dW (unit 0: dw itself) */
static void rcml_conv_direct_backward_chunk(void *ctx, size_t u0, size_t u1) {
    rcml_conv_job_t *j = (rcml_conv_job_t *)ctx;
    const rcml_conv2d_t *g = j->g;
    const size_t K = j->K, F = j->F, KF = K * F, run = rcml_conv_run(j);
    size_t u;
    float *lanes = (float *)rcml_alloc_aligned(
        (KF * RCML_CONV_LANES + F * run + rcml_conv_direct_scratch(j)) * sizeof(float));
    float *dzw = lanes + KF * RCML_CONV_LANES, *xbuf = dzw + F * run;
    if (lanes == NULL) {
        j->failed[u0] = 1;
        return;
    }
    for (u = u0; u < u1; u++) {
        size_t it, iend = RCML_MIN(j->nitem, (u + 1) * j->ipu);
        memset(lanes, 0, KF * RCML_CONV_LANES * sizeof(float));
        for (it = u * j->ipu; it < iend; it++) {
            size_t r0, n, ps, o;
            const float *xp = rcml_conv_item(j, it, 1, &r0, &n, xbuf, &ps);
            const size_t m = n * g->Wo;
            o = r0 * F;
            if (j->act != RCML_ACT_LINEAR)
                j->at->layer_backward(j->act, j->a, m, F, j->z + o, j->y ? j->y + o : NULL,
                                      j->grad + o, j->dz + o);
            j->t->dz_wide(g, j->dzr + o, n, dzw);
            j->t->direct_dw(g, xp, ps, dzw, n, lanes);
            if (j->dcols)
                rcml_gemm_f32(0, 1, m, K, F, 1.0f, j->dzr + o, j->w, 0.0f, j->dcols + r0 * K);
        }
        j->t->lanes_sum(lanes, KF, u == 0 ? j->dw : j->partials + (u - 1) * KF);
    }
    rcml_free_aligned(lanes);
}

/* The input rows [*R0, *R1) of the B*H that output rows [r0, r1) read. */
static void rcml_conv_in_rows(const rcml_conv2d_t *g, size_t r0, size_t r1, size_t *R0,
                              size_t *R1) {
    const size_t HoWo = g->Ho * g->Wo;
    const ptrdiff_t H = (ptrdiff_t)g->H;
    const ptrdiff_t lo = (ptrdiff_t)(r0 % HoWo / g->Wo * g->sh) - (ptrdiff_t)g->pt;
    const ptrdiff_t hi = (ptrdiff_t)((r1 - 1) % HoWo / g->Wo * g->sh + g->kh) - (ptrdiff_t)g->pt;
    *R0 = r0 / HoWo * g->H + (size_t)RCML_MIN(RCML_MAX(lo, 0), H);
    *R1 = (r1 - 1) / HoWo * g->H + (size_t)RCML_MIN(RCML_MAX(hi, 0), H);
    if (*R1 < *R0) *R1 = *R0;
}

/* Floats of the channel planes (im2col_t's xp) that blocks [b, e) need at most: none
 * unless the patches are transposed and the input has several channels. */
static size_t rcml_conv_planes(const rcml_conv_job_t *j, size_t b, size_t e) {
    size_t blk, most = 0, R0, R1;
    if (!j->lt || j->g->C < 2) return 0;
    for (blk = b; blk < e; blk++) {
        rcml_conv_in_rows(j->g, blk * j->mb, RCML_MIN(j->M, (blk + 1) * j->mb), &R0, &R1);
        most = RCML_MAX(most, R1 - R0);
    }
    return most * j->g->W * j->g->C;
}

/* the block's patches: (m x K) rows, or (K x m) in the transposed form. With several
 * channels the transposed form reads the input rows split into channel planes (pl, from
 * rcml_conv_planes), so its runs along the output row are contiguous copies instead of
 * gathers at a stride of C (benchmarks/bench_cnn.py, CIFAR 32x32x3 -> 32 3x3 "same",
 * 1 thread: 0.78-0.87x torch before, 1.01-1.10x after, alternating runs) */
static void rcml_conv_pack(const rcml_conv_job_t *j, size_t r0, size_t r1, float *cols, float *pl) {
    const rcml_conv2d_t *g = j->g;
    size_t R0 = 0, R1 = 0;
    if (!j->lt) {
        j->t->im2col(g, j->x, r0, r1, cols);
        return;
    }
    if (pl) {
        rcml_conv_in_rows(g, r0, r1, &R0, &R1);
        rcml_transpose_f32(j->x + R0 * g->W * g->C, R1 - R0, g->W, g->C, pl);
    }
    j->t->im2col_t(g, j->x, pl, R0, r0, r1, cols);
}

static void rcml_conv_forward_chunk(void *ctx, size_t b, size_t e) {
    rcml_conv_job_t *j = (rcml_conv_job_t *)ctx;
    const size_t K = j->K, F = j->F;
    size_t blk;
    /* patches, then (transposed form) z^T of the block, then the channel planes */
    const size_t np = rcml_conv_planes(j, b, e), nc = j->mb * (K + (j->ot ? F : 0));
    float *cols = (float *)rcml_alloc_aligned((nc + np) * sizeof(float));
    if (cols == NULL) {
        j->failed[b] = 1;
        return;
    }
    for (blk = b; blk < e; blk++) {
        const size_t r0 = blk * j->mb, r1 = RCML_MIN(j->M, r0 + j->mb), m = r1 - r0;
        float *z = j->zo + r0 * F;
        rcml_conv_pack(j, r0, r1, cols, np ? cols + nc : NULL);
        if (j->ot) {
            /* z^T = W^T colsT (+ bias: the GEMM's beta*C with C = bias, the same single
             * rounding as the layer form's z + b), then the activation over the block */
            float *zT = cols + j->mb * K;
            size_t f, t;
            if (j->bias)
                for (f = 0; f < F; f++)
                    for (t = 0; t < m; t++) zT[f * m + t] = j->bias[f];
            rcml_gemm_f32(1, !j->lt, F, m, K, 1.0f, j->w, cols, j->bias ? 1.0f : 0.0f, zT);
            rcml_transpose_f32(zT, 1, F, m, z);
            if (j->act == RCML_ACT_SOFTMAX)
                j->at->bias_act(j->act, j->a, m, F, NULL, z, j->yo + r0 * F);
            else if (j->act != RCML_ACT_LINEAR || j->yo != j->zo)
                j->at->act(j->act, z, j->a, j->yo + r0 * F, m * F);
            continue;
        }
        rcml_gemm_f32(j->lt, 0, m, F, K, 1.0f, cols, j->w, 0.0f, z);
        j->at->bias_act(j->act, j->a, m, F, j->bias, z, j->yo + r0 * F);
    }
    rcml_free_aligned(cols);
}

static void rcml_conv_backward_chunk(void *ctx, size_t u0, size_t u1) {
    rcml_conv_job_t *j = (rcml_conv_job_t *)ctx;
    const size_t K = j->K, F = j->F, KF = K * F, nblk = (j->M + j->mb - 1) / j->mb;
    size_t u;
    const size_t np = rcml_conv_planes(j, u0 * j->bpu, RCML_MIN(nblk, u1 * j->bpu));
    float *cols = (float *)rcml_alloc_aligned((j->mb * K + np) * sizeof(float));
    if (cols == NULL) {
        j->failed[u0] = 1;
        return;
    }
    for (u = u0; u < u1; u++) {
        /* unit 0 writes dW itself unless the transposed form needs a dW^T buffer */
        float *dw = (u == 0 && !j->ot) ? j->dw : j->partials + (u - !j->ot) * KF;
        size_t blk, bend = RCML_MIN(nblk, (u + 1) * j->bpu);
        for (blk = u * j->bpu; blk < bend; blk++) {
            const size_t r0 = blk * j->mb, r1 = RCML_MIN(j->M, r0 + j->mb), m = r1 - r0;
            const size_t o = r0 * F;
            const float beta = blk == u * j->bpu ? 0.0f : 1.0f;
            const float *dz = j->dzr + o;
            if (j->act != RCML_ACT_LINEAR) /* linear: dz is grad itself (no pass) */
                j->at->layer_backward(j->act, j->a, m, F, j->z + o, j->y ? j->y + o : NULL,
                                      j->grad + o, j->dz + o);
            rcml_conv_pack(j, r0, r1, cols, np ? cols + j->mb * K : NULL);
            if (j->ot) /* dW^T (F x K) += dz^T cols */
                rcml_gemm_f32(1, j->lt, F, K, m, 1.0f, dz, cols, beta, dw);
            else /* dW (K x F) += cols^T dz */
                rcml_gemm_f32(!j->lt, 0, K, F, m, 1.0f, cols, dz, beta, dw);
            if (j->dcols) rcml_gemm_f32(0, 1, m, K, F, 1.0f, dz, j->w, 0.0f, j->dcols + r0 * K);
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
    rcml_conv_plan(&j, g, act, param);
    if (j.M == 0 || j.F == 0) return RCML_OK;
    j.x = x;
    j.w = w;
    j.bias = bias;
    j.zo = z;
    j.yo = y;
    nblk = j.dir ? j.nitem : (j.M + j.mb - 1) / j.mb;
    j.failed = (unsigned char *)calloc(nblk, 1);
    if (j.failed == NULL) return RCML_ENOMEM;
    rcml_parallel_for(nblk, 1, j.dir ? rcml_conv_direct_forward_chunk : rcml_conv_forward_chunk,
                      &j);
    rc = rcml_conv_any_failed(j.failed, nblk) ? RCML_ENOMEM : RCML_OK;
    free(j.failed);
    return rc;
}

/* Stride 1: dx is the "full" correlation of dz with the kernel turned by 180 degrees and
 * its channel axes swapped: a forward convolution of the (Ho, Wo, F) image dz with
 * padding (kh - 1 - pt, kw - 1 - pl) and output (H, W), through the same blocks and GEMM
 * (no dcols buffer, no scatter). wf: (kh*kw*F x C), wf[(ki', kj', f), c] =
 * w[(kh-1-ki', kw-1-kj', c), f]. */
/* Stride 1 and (nearly) as many output pixels as input pixels ("same" padding): the
 * flipped convolution does the work of dz W^T without its (M x K) buffer and scatter;
 * for "valid" padding over small images it would multiply mostly padding, so col2im. */
static int rcml_conv_dx_as_conv(const rcml_conv2d_t *g) {
    return g->sh == 1 && g->sw == 1 && g->H * g->W * 4 <= g->Ho * g->Wo * 5;
}

static int rcml_conv_dx_stride1(const rcml_conv2d_t *g, const float *w, const float *dz,
                                float *dx) {
    rcml_conv2d_t t;
    const size_t kh = g->kh, kw = g->kw, C = g->C, F = g->F;
    size_t ki, kj, c, f;
    int rc;
    float *wf = (float *)rcml_alloc_aligned(kh * kw * C * F * sizeof(float));
    if (wf == NULL) return RCML_ENOMEM;
    for (ki = 0; ki < kh; ki++)
        for (kj = 0; kj < kw; kj++)
            for (c = 0; c < C; c++)
                for (f = 0; f < F; f++)
                    wf[((ki * kw + kj) * F + f) * C + c] =
                        w[(((kh - 1 - ki) * kw + (kw - 1 - kj)) * C + c) * F + f];
    t = *g;
    t.H = g->Ho;
    t.W = g->Wo;
    t.C = F;
    t.F = C;
    t.pt = kh - 1 - g->pt;
    t.pl = kw - 1 - g->pl;
    t.Ho = g->H;
    t.Wo = g->W;
    rc = rcml_conv2d_forward_f32(&t, RCML_ACT_LINEAR, 0.0f, dz, wf, NULL, dx, dx);
    rcml_free_aligned(wf);
    return rc;
}

int rcml_conv2d_backward_f32(const rcml_conv2d_t *g, int act, float param, const float *x,
                             const float *w, const float *z, const float *y, const float *grad,
                             float *dz, float *dw, float *db, float *dx) {
    rcml_conv_job_t j;
    size_t nblk, nunit, KF, u, npart;
    int rc = RCML_OK;
    rcml_conv_plan(&j, g, act, param);
    KF = j.K * j.F;
    if (j.M == 0 || j.F == 0 || j.K == 0) { /* nothing flows back: zero gradients */
        const size_t nx = g->B * g->H * g->W * g->C;
        if (KF) memset(dw, 0, KF * sizeof(float));
        if (db && j.F) memset(db, 0, j.F * sizeof(float));
        if (dx && nx > 0) memset(dx, 0, nx * sizeof(float));
        return RCML_OK;
    }
    nblk = j.dir ? j.nitem : (j.M + j.mb - 1) / j.mb;
    j.bpu = (nblk + RCML_CONV_UNITS - 1) / RCML_CONV_UNITS;
    nunit = (nblk + j.bpu - 1) / j.bpu;
    j.ipu = j.bpu;
    j.x = x;
    j.w = w;
    j.z = z;
    j.y = y;
    j.grad = grad;
    j.dz = dz;
    j.dzr = act == RCML_ACT_LINEAR ? grad : dz;
    j.dw = dw;
    j.dx = dx;
    j.failed = (unsigned char *)calloc(nunit, 1);
    if (j.failed == NULL) return RCML_ENOMEM;
    npart = j.ot ? nunit : nunit - 1;
    if (npart > 0) {
        j.partials = (float *)rcml_alloc_aligned(npart * KF * sizeof(float));
        if (j.partials == NULL) rc = RCML_ENOMEM;
    }
    if (dx && rc == RCML_OK && !rcml_conv_dx_as_conv(g)) {
        j.dcols = (float *)rcml_alloc_aligned(j.M * j.K * sizeof(float));
        if (j.dcols == NULL) rc = RCML_ENOMEM;
    }
    if (rc == RCML_OK) {
        rcml_parallel_for(nunit, 1,
                          j.dir ? rcml_conv_direct_backward_chunk : rcml_conv_backward_chunk, &j);
        if (rcml_conv_any_failed(j.failed, nunit)) rc = RCML_ENOMEM;
    }
    if (rc == RCML_OK) {
        /* the units' partials, added in unit order */
        float *acc = j.ot ? j.partials : dw;
        const float *rest = j.ot ? j.partials + KF : j.partials;
        for (u = 1; u < nunit; u++) rcml_binary_f32(RCML_ADD, acc, rest + (u - 1) * KF, acc, KF);
        if (j.ot) rcml_transpose_f32(acc, 1, j.F, j.K, dw);
        if (db) rcml_reduce_axis_f32(RCML_RED_SUM, j.dzr, 1, j.M, j.F, 0.0, db);
        if (dx && j.dcols == NULL) {
            rc = rcml_conv_dx_stride1(g, w, j.dzr, dx);
        } else if (dx) {
            const size_t rows = g->B * g->H, wc = g->W * g->C;
            rcml_parallel_for(rows, RCML_MAX((size_t)1, RCML_CONV_C2I_FLOATS / RCML_MAX(wc, 1)),
                              rcml_conv_col2im_chunk, &j);
        }
    }
    rcml_free_aligned(j.partials);
    rcml_free_aligned(j.dcols);
    free(j.failed);
    return rc;
}
