/* optim.c - optimizer entry points (Adam/AdamW/AMSGrad, SGD).
 *
 * Each step is one pass over memory per tensor: the per-ISA kernel in train_body.h reads
 * grad, param and the state once and writes param and the state once. Scalars (bias
 * corrections, decay factors) are computed here in double, as torch does in Python, and
 * rounded to float32 once. Work is split into fixed chunks; elements are independent, so
 * the result is the same for any thread count.
 */
#include "rcmlrs.h"
#include "kernels.h"

#include <math.h>

/* ~100 KB of each of the 4-5 streams per chunk: large enough to amortise the hand-off,
 * small enough to balance two to sixteen threads on a 1e6-parameter tensor. */
#define RCML_OPT_GRAIN ((size_t)1 << 15)

typedef struct {
    const rcml_train_table_t *t;
    const float *g;
    float *p, *m, *v, *vmax;
    rcml_adam_hp_t hp;
} rcml_adam_job_t;

static void rcml_adam_chunk(void *ctx, size_t b, size_t e) {
    rcml_adam_job_t *j = (rcml_adam_job_t *)ctx;
    j->t->adam(j->g + b, j->p + b, j->m + b, j->v + b, j->vmax ? j->vmax + b : NULL, e - b,
               &j->hp);
}

void rcml_adam_f32(const float *grad, float *param, float *m, float *v, float *vmax, size_t n,
                   int64_t step, double lr, double beta1, double beta2, double eps,
                   double weight_decay, int decoupled) {
    rcml_adam_job_t j;
    double s = (double)step;
    double bc1 = 1.0 - pow(beta1, s);
    double bc2 = 1.0 - pow(beta2, s);
    float w1 = (float)(1.0 - beta1);
    j.t = rcml_kernels()->train;
    j.g = grad;
    j.p = param;
    j.m = m;
    j.v = v;
    j.vmax = vmax;
    j.hp.decay = (decoupled && weight_decay != 0.0) ? (float)(1.0 - lr * weight_decay) : 1.0f;
    j.hp.wd = (float)weight_decay;
    j.hp.l2 = !decoupled && weight_decay != 0.0;
    j.hp.w1 = w1;
    j.hp.w1c = 1.0f - w1; /* torch's lerp computes 1 - weight in float */
    j.hp.lerp_hi = !(fabsf(w1) < 0.5f);
    j.hp.beta2 = (float)beta2;
    j.hp.w2 = (float)(1.0 - beta2);
    /* torch divides sqrt(v) by sqrt(bc2); multiplying by the reciprocal (one float
     * rounding, <= 1 ulp apart) saves one of the two divisions that bound this loop. */
    j.hp.ibc2s = (float)(1.0 / sqrt(bc2));
    j.hp.eps = (float)eps;
    j.hp.nss = (float)(-(lr / bc1));
    if (n == 0) return;
    rcml_parallel_for(n, RCML_OPT_GRAIN, rcml_adam_chunk, &j);
}

typedef struct {
    const rcml_train_table_t *t;
    const float *g;
    float *p, *buf;
    rcml_sgd_hp_t hp;
} rcml_sgd_job_t;

static void rcml_sgd_chunk(void *ctx, size_t b, size_t e) {
    rcml_sgd_job_t *j = (rcml_sgd_job_t *)ctx;
    j->t->sgd(j->g + b, j->p + b, j->buf ? j->buf + b : NULL, e - b, &j->hp);
}

void rcml_sgd_f32(const float *grad, float *param, float *buf, size_t n, double lr,
                  double momentum, double dampening, double weight_decay, int nesterov,
                  int first) {
    rcml_sgd_job_t j;
    j.t = rcml_kernels()->train;
    j.g = grad;
    j.p = param;
    j.hp.nlr = (float)(-lr);
    j.hp.wd = (float)weight_decay;
    j.hp.l2 = weight_decay != 0.0;
    j.hp.momentum = (float)momentum;
    j.hp.damp1 = (float)(1.0 - dampening);
    j.hp.use_buf = momentum != 0.0 && buf != NULL;
    j.buf = j.hp.use_buf ? buf : NULL;
    j.hp.first = first;
    j.hp.nesterov = nesterov;
    if (n == 0) return;
    rcml_parallel_for(n, RCML_OPT_GRAIN, rcml_sgd_chunk, &j);
}
