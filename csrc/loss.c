/* loss.c - loss entry points: value (mean, double) and gradient in one pass.
 *
 * The buffer is cut into chunks whose size depends only on n (never on the thread
 * count); each chunk's partial sum comes from the backend kernel's fixed 16-lane double
 * accumulators and the partials are added in chunk order, so the value is bitwise the
 * same for any thread count and any backend.
 */
#include "rcmlrs.h"
#include "kernels.h"

#include <math.h>

#define RCML_LOSS_MAX_PARTS 256
#define RCML_LOSS_MIN_CHUNK ((size_t)1 << 15)

static size_t rcml_loss_chunk(size_t n, size_t min_chunk) {
    size_t c = (n + RCML_LOSS_MAX_PARTS - 1) / RCML_LOSS_MAX_PARTS;
    return RCML_MAX(c, min_chunk);
}

typedef struct {
    const rcml_train_table_t *t;
    int kind; /* 0 mse, 1 mae, 2 bce, 3 cross-entropy, 4 bce from logits */
    const float *a, *p;
    const int64_t *labels;
    size_t cols, chunk;
    float scale;
    float *grad;
    double part[RCML_LOSS_MAX_PARTS];
} rcml_loss_job_t;

static void rcml_loss_part(void *ctx, size_t b, size_t e) {
    rcml_loss_job_t *j = (rcml_loss_job_t *)ctx;
    float *g = j->grad ? j->grad + b * j->cols : NULL;
    double s;
    switch (j->kind) {
    case 0: s = j->t->mse(j->a + b, j->p + b, e - b, j->scale, g); break;
    case 1: s = j->t->mae(j->a + b, j->p + b, e - b, j->scale, g); break;
    case 2: s = j->t->bce(j->a + b, j->p + b, e - b, j->scale, g); break;
    case 4: s = j->t->bce_logits(j->a + b, j->p + b, e - b, j->scale, g); break;
    default:
        /* b, e count rows here; a is the target (or NULL), p the logits */
        s = j->t->xent(j->p + b * j->cols, j->a ? j->a + b * j->cols : NULL,
                       j->labels ? j->labels + b : NULL, e - b, j->cols, j->scale, g);
        break;
    }
    j->part[b / j->chunk] = s;
}

static double rcml_loss_run(rcml_loss_job_t *j, size_t n, size_t min_chunk) {
    size_t i, parts;
    double total = 0.0;
    if (n == 0) return NAN;
    j->t = rcml_kernels()->train;
    j->chunk = rcml_loss_chunk(n, min_chunk);
    parts = (n + j->chunk - 1) / j->chunk;
    rcml_parallel_for(n, j->chunk, rcml_loss_part, j);
    for (i = 0; i < parts; i++) total += j->part[i];
    return total / (double)n;
}

static double rcml_elem_loss(int kind, const float *a, const float *p, size_t n, float *grad,
                             double num) {
    rcml_loss_job_t j;
    j.kind = kind;
    j.a = a;
    j.p = p;
    j.labels = NULL;
    j.cols = 1;
    j.scale = n ? (float)(num / (double)n) : 0.0f;
    j.grad = grad;
    return rcml_loss_run(&j, n, RCML_LOSS_MIN_CHUNK);
}

double rcml_mse_f32(const float *actual, const float *pred, size_t n, float *grad) {
    return rcml_elem_loss(0, actual, pred, n, grad, 2.0);
}

double rcml_mae_f32(const float *actual, const float *pred, size_t n, float *grad) {
    return rcml_elem_loss(1, actual, pred, n, grad, 1.0);
}

/* log and division (or exp) per element: chunks can be smaller */
static double rcml_bce_any(int kind, const float *actual, const float *pred, size_t n,
                           float *grad) {
    rcml_loss_job_t j;
    j.kind = kind;
    j.a = actual;
    j.p = pred;
    j.labels = NULL;
    j.cols = 1;
    j.scale = n ? (float)(1.0 / (double)n) : 0.0f;
    j.grad = grad;
    return rcml_loss_run(&j, n, RCML_LOSS_MIN_CHUNK / 4);
}

double rcml_binary_cross_entropy_f32(const float *actual, const float *pred, size_t n,
                                     float *grad) {
    return rcml_bce_any(2, actual, pred, n, grad);
}

double rcml_binary_cross_entropy_logits_f32(const float *actual, const float *logits, size_t n,
                                            float *grad) {
    return rcml_bce_any(4, actual, logits, n, grad);
}

static double rcml_xent_any(const float *logits, const float *target, const int64_t *labels,
                            size_t rows, size_t cols, float *grad) {
    rcml_loss_job_t j;
    if (cols == 0) return rows ? 0.0 : NAN; /* no classes: nothing to pay */
    j.kind = 3;
    j.a = target;
    j.p = logits;
    j.labels = labels;
    j.cols = cols;
    j.scale = rows ? (float)(1.0 / (double)rows) : 0.0f;
    j.grad = grad;
    /* ~8K logits per chunk (an exp each) */
    return rcml_loss_run(&j, rows, RCML_MAX((size_t)1, ((size_t)1 << 13) / cols));
}

double rcml_cross_entropy_f32(const float *logits, const float *target, size_t rows,
                              size_t cols, float *grad) {
    return rcml_xent_any(logits, target, NULL, rows, cols, grad);
}

double rcml_cross_entropy_labels_f32(const float *logits, const int64_t *labels, size_t rows,
                                     size_t cols, float *grad) {
    return rcml_xent_any(logits, NULL, labels, rows, cols, grad);
}
