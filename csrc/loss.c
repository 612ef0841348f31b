/* loss.c - loss entry points: value (double) and gradient in one pass.
 *
 * The buffer is cut into chunks whose size depends only on n (never on the thread
 * count); each chunk's partial sum comes from the backend kernel's fixed 16-lane double
 * accumulators and the partials are added in chunk order, so the value is bitwise the
 * same for any thread count and any backend. Reductions: MEAN divides the sum by the
 * count (elementwise losses) or by the sum of the weights (cross-entropy, nll), SUM
 * returns it, NONE also writes every term to `out`.
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

enum { RCML_JOB_XENT = 16, RCML_JOB_NLL = 17 }; /* job kinds beyond rcml_loss_t */

typedef struct {
    const rcml_train_table_t *t;
    int kind; /* an rcml_loss_t, or RCML_JOB_XENT / RCML_JOB_NLL (b, e count rows) */
    const float *a, *p, *w;
    const int64_t *labels;
    size_t cols, chunk;
    float scale, k1, k0;
    float *grad, *out;
    double part[RCML_LOSS_MAX_PARTS];
} rcml_loss_job_t;

static void rcml_loss_part(void *ctx, size_t b, size_t e) {
    rcml_loss_job_t *j = (rcml_loss_job_t *)ctx;
    const rcml_train_table_t *t = j->t;
    float *g = j->grad ? j->grad + b * j->cols : NULL;
    /* one weight and one out term per element (elementwise) or per row (xent) */
    const float *w = j->w && j->kind != RCML_JOB_NLL ? j->w + b : j->w;
    float *o = j->out ? j->out + b : NULL;
    const float *a = j->a, *p = j->p;
    double s;
    switch (j->kind) {
    case RCML_LOSS_MSE: s = t->mse(a + b, p + b, w, e - b, j->scale, g, o); break;
    case RCML_LOSS_MAE: s = t->mae(a + b, p + b, w, e - b, j->scale, g, o); break;
    case RCML_LOSS_BCE: s = t->bce(a + b, p + b, w, e - b, j->scale, g, o); break;
    case RCML_LOSS_BCE_LOGITS: s = t->bce_logits(a + b, p + b, w, e - b, j->scale, g, o); break;
    case RCML_JOB_NLL:
        /* a unused; p the log-probabilities, w the per-class weights */
        s = t->nll(j->p + b * j->cols, j->labels + b, w, e - b, j->cols, j->scale, g, o);
        break;
    default:
        /* a is the target (or NULL), p the logits */
        s = t->xent(j->p + b * j->cols, j->a ? j->a + b * j->cols : NULL,
                    j->labels ? j->labels + b : NULL, w, e - b, j->cols, j->k1, j->k0, j->scale, g,
                    o);
        break;
    }
    j->part[b / j->chunk] = s;
}

/* The sum over n items (elements or rows) in fixed chunks. */
static double rcml_loss_run(rcml_loss_job_t *j, size_t n, size_t min_chunk) {
    size_t i, parts;
    double total = 0.0;
    if (n == 0) return 0.0;
    j->t = rcml_kernels()->train;
    j->chunk = rcml_loss_chunk(n, min_chunk);
    parts = (n + j->chunk - 1) / j->chunk;
    rcml_parallel_for(n, j->chunk, rcml_loss_part, j);
    for (i = 0; i < parts; i++) total += j->part[i];
    return total;
}

/* x / den with IEEE's answers for den == 0 (0/0 NaN, else +-inf), spelled out so that no
 * sanitizer flags a division by zero */
static double rcml_div(double x, double den) {
    if (den != 0.0) return x / den;
    return x == 0.0 || x != x ? NAN : (x > 0.0) == !signbit(den) ? INFINITY : -INFINITY;
}

/* the gradient's scale: num / den for MEAN (a weight sum of 0 gives inf, as torch), num
 * otherwise */
static float rcml_loss_scale(int reduction, double num, double den) {
    return (float)(reduction == RCML_REDUCE_MEAN ? rcml_div(num, den) : num);
}

static double rcml_loss_reduce(int reduction, double total, double den) {
    return reduction == RCML_REDUCE_MEAN ? rcml_div(total, den) : total;
}

double rcml_elem_loss_f32(int kind, const float *actual, const float *pred, const float *weight,
                          size_t n, int reduction, float *grad, float *out) {
    rcml_loss_job_t j;
    /* mse's derivative is 2 (p - a); the logs (or exp) and a division per element of the
     * cross-entropies make their chunks smaller */
    double num = kind == RCML_LOSS_MSE ? 2.0 : 1.0;
    size_t min_chunk = kind >= RCML_LOSS_BCE ? RCML_LOSS_MIN_CHUNK / 4 : RCML_LOSS_MIN_CHUNK;
    if (kind < RCML_LOSS_MSE || kind > RCML_LOSS_BCE_LOGITS) return NAN;
    j.kind = kind;
    j.a = actual;
    j.p = pred;
    j.w = weight;
    j.labels = NULL;
    j.cols = 1;
    j.scale = rcml_loss_scale(reduction, num, (double)n);
    j.k1 = 1.0f;
    j.k0 = 0.0f;
    j.grad = grad;
    j.out = reduction == RCML_REDUCE_NONE ? out : NULL;
    return rcml_loss_reduce(reduction, rcml_loss_run(&j, n, min_chunk), (double)n);
}

double rcml_mse_f32(const float *actual, const float *pred, size_t n, float *grad) {
    return rcml_elem_loss_f32(RCML_LOSS_MSE, actual, pred, NULL, n, RCML_REDUCE_MEAN, grad, NULL);
}

double rcml_mae_f32(const float *actual, const float *pred, size_t n, float *grad) {
    return rcml_elem_loss_f32(RCML_LOSS_MAE, actual, pred, NULL, n, RCML_REDUCE_MEAN, grad, NULL);
}

double rcml_binary_cross_entropy_f32(const float *actual, const float *pred, size_t n,
                                     float *grad) {
    return rcml_elem_loss_f32(RCML_LOSS_BCE, actual, pred, NULL, n, RCML_REDUCE_MEAN, grad, NULL);
}

double rcml_binary_cross_entropy_logits_f32(const float *actual, const float *logits, size_t n,
                                            float *grad) {
    return rcml_elem_loss_f32(RCML_LOSS_BCE_LOGITS, actual, logits, NULL, n, RCML_REDUCE_MEAN, grad,
                              NULL);
}

/* ~8K logits per chunk (an exp each) */
static size_t rcml_row_chunk(size_t cols) { return RCML_MAX((size_t)1, ((size_t)1 << 13) / cols); }

double rcml_cross_entropy_ex_f32(const float *logits, const float *target, const int64_t *labels,
                                 const float *weight, size_t rows, size_t cols,
                                 float label_smoothing, int reduction, float *grad, float *out) {
    rcml_loss_job_t j;
    /* the MEAN's denominator: the weights' sum (torch's weighted mean), else the rows */
    double den = weight ? rcml_sum_f32(weight, rows) : (double)rows;
    if (reduction != RCML_REDUCE_NONE) out = NULL;
    if (cols == 0) { /* no classes: nothing to pay */
        size_t r;
        if (out)
            for (r = 0; r < rows; r++) out[r] = 0.0f;
        return reduction == RCML_REDUCE_MEAN && rows == 0 ? NAN : 0.0;
    }
    j.kind = RCML_JOB_XENT;
    j.a = target;
    j.p = logits;
    j.w = weight;
    j.labels = labels;
    j.cols = cols;
    j.scale = rcml_loss_scale(reduction, 1.0, den);
    /* torch: target' = (1 - eps) target + eps / cols */
    j.k1 = (float)(1.0 - (double)label_smoothing);
    j.k0 = (float)((double)label_smoothing / (double)cols);
    j.grad = grad;
    j.out = out;
    return rcml_loss_reduce(reduction, rcml_loss_run(&j, rows, rcml_row_chunk(cols)), den);
}

double rcml_cross_entropy_f32(const float *logits, const float *target, size_t rows, size_t cols,
                              float *grad) {
    return rcml_cross_entropy_ex_f32(logits, target, NULL, NULL, rows, cols, 0.0f, RCML_REDUCE_MEAN,
                                     grad, NULL);
}

double rcml_cross_entropy_labels_f32(const float *logits, const int64_t *labels, size_t rows,
                                     size_t cols, float *grad) {
    return rcml_cross_entropy_ex_f32(logits, NULL, labels, NULL, rows, cols, 0.0f, RCML_REDUCE_MEAN,
                                     grad, NULL);
}

double rcml_nll_loss_f32(const float *log_probs, const int64_t *labels, const float *class_weight,
                         size_t rows, size_t cols, int reduction, float *grad, float *out) {
    rcml_loss_job_t j;
    double den = (double)rows;
    size_t r;
    if (class_weight) { /* torch: the weighted mean divides by sum_r cw[y_r] */
        den = 0.0;
        for (r = 0; r < rows; r++) den += (double)class_weight[labels[r]];
    }
    j.kind = RCML_JOB_NLL;
    j.a = NULL;
    j.p = log_probs;
    j.w = class_weight;
    j.labels = labels;
    j.cols = cols;
    j.scale = rcml_loss_scale(reduction, 1.0, den);
    j.k1 = 1.0f;
    j.k0 = 0.0f;
    j.grad = grad;
    j.out = reduction == RCML_REDUCE_NONE ? out : NULL;
    return rcml_loss_reduce(reduction, rcml_loss_run(&j, rows, rcml_row_chunk(cols ? cols : 1)),
                            den);
}
