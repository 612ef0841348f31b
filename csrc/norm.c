/* norm.c - entry points of batch and layer normalization (bodies: norm_body.h).
 *
 * The data is an (n, c) matrix (the L*R rows of an engine batch). Row-parallel work is cut
 * into chunks of rows whose size depends only on (n, c). Column sums over the rows (batch
 * norm's mean and variance, every dgamma and dbeta) are taken in double (ew_body.h's
 * cols_acc for plain sums), one of two ways chosen by c alone:
 * - narrow rows (c < RCML_NORM_WIDE): per chunk of rows into the caller's workspace, the
 *   chunk partials then added in chunk order;
 * - wide rows: per tile of RCML_NORM_TILE columns, each tile summed over all n rows by one
 *   task (no partials: the workspace stays 4c doubles however many rows there are).
 * Either way the bits are the same at any thread count.
 */
#include "rcmlrs.h"
#include "kernels.h"

#include <math.h>

#define RCML_NORM_MAX_PARTS ((size_t)64)
#define RCML_NORM_WIDE ((size_t)512)
#define RCML_NORM_TILE ((size_t)256)

/* rows per chunk: about RCML_EW_GRAIN floats, at most RCML_NORM_MAX_PARTS chunks */
static size_t rcml_norm_rows(size_t n, size_t c) {
    size_t r = RCML_MAX((size_t)1, RCML_EW_GRAIN / RCML_MAX(c, (size_t)1));
    size_t cap = (n + RCML_NORM_MAX_PARTS - 1) / RCML_NORM_MAX_PARTS;
    return RCML_MAX(r, RCML_MAX(cap, (size_t)1));
}

static size_t rcml_norm_parts(size_t n, size_t c) {
    size_t r = rcml_norm_rows(n, c);
    return n && c < RCML_NORM_WIDE ? (n + r - 1) / r : 1;
}

size_t rcml_norm_workspace_f32(size_t n, size_t c) {
    return (2 + 2 * rcml_norm_parts(n, c)) * c * sizeof(double);
}

typedef struct {
    const rcml_kernels_t *k;
    const float *x, *g;
    size_t c, rows; /* columns; rows per chunk */
    int op, rowwise, training;
    double eps;
    const double *mean_d;
    const float *m, *s, *gamma, *beta, *kk, *p, *q;
    double *parts; /* one slice of 2c doubles per chunk (wide rows: the one total) */
    size_t n;      /* all rows (wide rows: each column tile runs over them) */
    float *y;
} rcml_norm_job_t;

enum {
    RCML_NJ_SUM,
    RCML_NJ_SQDEV,
    RCML_NJ_GRAD,
    RCML_NJ_AFFINE,
    RCML_NJ_BN_DX,
    RCML_NJ_LN_FORWARD,
    RCML_NJ_LN_DX
};

static void rcml_norm_chunk(void *ctx, size_t b, size_t e) {
    rcml_norm_job_t *j = (rcml_norm_job_t *)ctx;
    const rcml_norm_table_t *t = j->k->norm;
    const size_t c = j->c, len = e - b, off = b * c;
    double *acc = j->parts ? j->parts + (b / j->rows) * 2 * c : NULL;
    size_t i;
    if (acc)
        for (i = 0; i < 2 * c; i++) acc[i] = 0.0;
    switch (j->op) {
    case RCML_NJ_SUM: j->k->ew->cols_acc(j->x + off, len, c, c, acc); break;
    case RCML_NJ_SQDEV: t->cols_sqdev(j->x + off, len, c, c, j->mean_d, acc); break;
    case RCML_NJ_GRAD:
        t->grad_acc(j->x + off, j->g + off, len, c, c, j->rowwise ? j->m + b : j->m,
                    j->rowwise ? j->s + b : j->s, j->rowwise, acc, acc + c);
        break;
    case RCML_NJ_AFFINE:
        t->affine(j->x + off, len, c, j->rowwise ? j->m + b : j->m, j->rowwise ? j->s + b : j->s,
                  j->rowwise, j->gamma, j->beta, j->y + off);
        break;
    case RCML_NJ_BN_DX:
        t->bn_dx(j->x + off, j->g + off, len, c, j->m, j->s, j->kk, j->p, j->q, j->training,
                 j->y + off);
        break;
    case RCML_NJ_LN_FORWARD:
        /* m and s are written here: the job's pointers are the outputs */
        t->ln_forward(j->x + off, len, c, j->eps, j->gamma, j->beta, (float *)j->m + b,
                      (float *)j->s + b, j->y + off);
        break;
    default: t->ln_dx(j->x + off, j->g + off, len, c, j->m + b, j->s + b, j->gamma, j->y + off);
    }
}

/* wide rows: column tiles [b, e), each over all n rows, straight into the totals */
static void rcml_norm_tiles(void *ctx, size_t b, size_t e) {
    rcml_norm_job_t *j = (rcml_norm_job_t *)ctx;
    const rcml_norm_table_t *t = j->k->norm;
    const size_t c = j->c;
    size_t u, i;
    for (u = b; u < e; u++) {
        const size_t t0 = u * RCML_NORM_TILE, tw = RCML_MIN(RCML_NORM_TILE, c - t0);
        double *acc = j->parts + t0, *acc2 = j->parts + c + t0;
        for (i = 0; i < tw; i++) acc[i] = acc2[i] = 0.0;
        switch (j->op) {
        case RCML_NJ_SUM: j->k->ew->cols_acc(j->x + t0, j->n, c, tw, acc); break;
        case RCML_NJ_SQDEV: t->cols_sqdev(j->x + t0, j->n, c, tw, j->mean_d + t0, acc); break;
        default:
            t->grad_acc(j->x + t0, j->g + t0, j->n, c, tw, j->rowwise ? j->m : j->m + t0,
                        j->rowwise ? j->s : j->s + t0, j->rowwise, acc, acc2);
        }
    }
}

/* run one pass over the n rows; a pass with partials leaves their chunk-order sum (2c
 * doubles) in the first slice */
static void rcml_norm_run(rcml_norm_job_t *j, size_t n) {
    size_t parts, k, i;
    if (j->parts && j->c >= RCML_NORM_WIDE) {
        const size_t tiles = (j->c + RCML_NORM_TILE - 1) / RCML_NORM_TILE;
        j->n = n;
        rcml_parallel_for(tiles, RCML_MAX((size_t)1, RCML_EW_GRAIN / (n * RCML_NORM_TILE)),
                          rcml_norm_tiles, j);
        return;
    }
    j->rows = rcml_norm_rows(n, j->c);
    rcml_parallel_for(n, j->rows, rcml_norm_chunk, j);
    if (!j->parts) return;
    parts = (n + j->rows - 1) / j->rows;
    for (k = 1; k < parts; k++) {
        const double *pk = j->parts + k * 2 * j->c;
        for (i = 0; i < 2 * j->c; i++) j->parts[i] += pk[i];
    }
}

void rcml_batch_norm_forward_f32(const float *x, size_t n, size_t c, const float *gamma,
                                 const float *beta, double eps, int training, double momentum,
                                 float *mean, float *var, float *mmean, float *mvar, float *istd,
                                 float *y, void *work) {
    rcml_norm_job_t j;
    double *mean_d = (double *)work, *parts = mean_d + 2 * c;
    size_t i;
    memset(&j, 0, sizeof j);
    j.k = rcml_kernels();
    j.x = x;
    j.c = c;
    if (training && n > 0) {
        j.op = RCML_NJ_SUM;
        j.parts = parts;
        rcml_norm_run(&j, n);
        for (i = 0; i < c; i++) mean_d[i] = parts[i] / (double)n;
        j.op = RCML_NJ_SQDEV;
        j.mean_d = mean_d;
        rcml_norm_run(&j, n);
        const float mom = (float)momentum, w = (float)(1.0 - momentum);
        for (i = 0; i < c; i++) {
            const double v = parts[i] / (double)n;
            mean[i] = (float)mean_d[i];
            var[i] = (float)v;
            istd[i] = (float)(1.0 / sqrt(v + eps));
            if (mmean) mmean[i] = mmean[i] * mom + mean[i] * w;
            if (mvar) mvar[i] = mvar[i] * mom + var[i] * w;
        }
    } else {
        for (i = 0; i < c; i++) istd[i] = (float)(1.0 / sqrt((double)var[i] + eps));
    }
    if (n == 0) return;
    j.op = RCML_NJ_AFFINE;
    j.parts = NULL;
    j.m = mean;
    j.s = istd;
    j.gamma = gamma;
    j.beta = beta;
    j.y = y;
    rcml_norm_run(&j, n);
}

void rcml_batch_norm_backward_f32(const float *x, const float *g, size_t n, size_t c,
                                  const float *mean, const float *istd, const float *gamma,
                                  int training, float *dgamma, float *dbeta, float *dx,
                                  void *work) {
    rcml_norm_job_t j;
    double *parts = (double *)work + 2 * c;
    /* the per-column coefficients of dx, in the workspace's head (2c doubles) */
    float *kk = (float *)work, *p = kk + c, *q = p + c;
    size_t i;
    memset(&j, 0, sizeof j);
    j.k = rcml_kernels();
    j.x = x;
    j.g = g;
    j.c = c;
    j.m = mean;
    j.s = istd;
    j.op = RCML_NJ_GRAD;
    j.parts = parts;
    if (n > 0) {
        rcml_norm_run(&j, n);
    } else {
        for (i = 0; i < 2 * c; i++) parts[i] = 0.0;
    }
    for (i = 0; i < c; i++) {
        dbeta[i] = (float)parts[i];
        dgamma[i] = (float)parts[c + i];
        kk[i] = gamma[i] * istd[i];
        p[i] = n ? (float)(parts[i] / (double)n) : 0.0f;
        q[i] = n ? (float)(parts[c + i] / (double)n) : 0.0f;
    }
    if (!dx || n == 0) return;
    j.op = RCML_NJ_BN_DX;
    j.parts = NULL;
    j.kk = kk;
    j.p = p;
    j.q = q;
    j.training = training;
    j.y = dx;
    rcml_norm_run(&j, n);
}

void rcml_layer_norm_forward_f32(const float *x, size_t n, size_t c, const float *gamma,
                                 const float *beta, double eps, float *mean, float *istd,
                                 float *y) {
    rcml_norm_job_t j;
    if (n == 0) return;
    memset(&j, 0, sizeof j);
    j.k = rcml_kernels();
    j.x = x;
    j.c = c;
    j.eps = eps;
    j.m = mean;
    j.s = istd;
    j.op = RCML_NJ_LN_FORWARD;
    j.gamma = gamma;
    j.beta = beta;
    j.y = y;
    rcml_norm_run(&j, n);
}

void rcml_layer_norm_backward_f32(const float *x, const float *g, size_t n, size_t c,
                                  const float *mean, const float *istd, const float *gamma,
                                  float *dgamma, float *dbeta, float *dx, void *work) {
    rcml_norm_job_t j;
    double *parts = (double *)work + 2 * c;
    size_t i;
    memset(&j, 0, sizeof j);
    j.k = rcml_kernels();
    j.x = x;
    j.g = g;
    j.c = c;
    j.m = mean;
    j.s = istd;
    j.rowwise = 1;
    j.op = RCML_NJ_GRAD;
    j.parts = parts;
    if (n > 0) {
        rcml_norm_run(&j, n);
    } else {
        for (i = 0; i < 2 * c; i++) parts[i] = 0.0;
    }
    for (i = 0; i < c; i++) {
        dbeta[i] = (float)parts[i];
        dgamma[i] = (float)parts[c + i];
    }
    if (!dx || n == 0) return;
    j.op = RCML_NJ_LN_DX;
    j.parts = NULL;
    j.gamma = gamma;
    j.y = dx;
    rcml_norm_run(&j, n);
}
