/* pool.c - public entry points of 2-D pooling (pool_body.h, dispatched through the one
 * kernel table): the batch is split over the thread pool by images, in chunks whose size
 * depends only on the shape; each image is computed by one chunk in a fixed order, so the
 * results are bitwise identical for any thread count.
 */
#include "rcmlrs.h"
#include "kernels.h"

#define RCML_POOL_GRAIN_WORK 32768 /* window reads per chunk, at least */

typedef struct {
    const rcml_pool_table_t *t;
    int mode;
    const rcml_pool2d_t *p;
    const float *x, *g;
    float *out;
} rcml_pool_job_t;

static void rcml_pool_fwd_chunk(void *ctx, size_t b, size_t e) {
    rcml_pool_job_t *j = (rcml_pool_job_t *)ctx;
    j->t->forward(j->mode, j->p, b, e, j->x, j->out);
}

static void rcml_pool_bwd_chunk(void *ctx, size_t b, size_t e) {
    rcml_pool_job_t *j = (rcml_pool_job_t *)ctx;
    j->t->backward(j->mode, j->p, b, e, j->x, j->g, j->out);
}

/* images per chunk: enough window reads to pay for a hand-off (the shape only) */
static size_t rcml_pool_grain(const rcml_pool2d_t *p) {
    size_t work = p->Ho * p->Wo * p->ph * p->pw * p->C + p->H * p->W * p->C;
    return RCML_MAX((size_t)1, RCML_POOL_GRAIN_WORK / RCML_MAX(work, (size_t)1));
}

void rcml_pool2d_forward_f32(int mode, const rcml_pool2d_t *p, const float *x, float *y) {
    rcml_pool_job_t j = {rcml_kernels()->pool, mode, p, x, NULL, y};
    if (p->B == 0 || p->C == 0 || p->Ho == 0 || p->Wo == 0) return;
    rcml_parallel_for(p->B, rcml_pool_grain(p), rcml_pool_fwd_chunk, &j);
}

void rcml_pool2d_backward_f32(int mode, const rcml_pool2d_t *p, const float *x, const float *g,
                              float *dx) {
    rcml_pool_job_t j = {rcml_kernels()->pool, mode, p, x, g, dx};
    if (p->B == 0 || p->C == 0 || p->H == 0 || p->W == 0) return;
    rcml_parallel_for(p->B, rcml_pool_grain(p), rcml_pool_bwd_chunk, &j);
}
