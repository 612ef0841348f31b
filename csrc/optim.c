/* optim.c - optimizer entry points (Adam/AdamW/AMSGrad, SGD, RMSprop, Adagrad, NAdam).
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
    j->t->adam(j->g + b, j->p + b, j->m + b, j->v + b, j->vmax ? j->vmax + b : NULL, e - b, &j->hp);
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

void rcml_sgd_f32(const float *grad, float *param, float *buf, size_t n, double lr, double momentum,
                  double dampening, double weight_decay, int nesterov, int first) {
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

typedef struct {
    const rcml_train_table_t *t;
    const float *g;
    float *p, *sq, *ga, *buf;
    rcml_rmsprop_hp_t hp;
} rcml_rmsprop_job_t;

static void rcml_rmsprop_chunk(void *ctx, size_t b, size_t e) {
    rcml_rmsprop_job_t *j = (rcml_rmsprop_job_t *)ctx;
    j->t->rmsprop(j->g + b, j->p + b, j->sq + b, j->ga ? j->ga + b : NULL,
                  j->buf ? j->buf + b : NULL, e - b, &j->hp);
}

void rcml_rmsprop_f32(const float *grad, float *param, float *square_avg, float *grad_avg,
                      float *buf, size_t n, double lr, double alpha, double eps,
                      double weight_decay, double momentum) {
    rcml_rmsprop_job_t j;
    float w = (float)(1.0 - alpha);
    j.t = rcml_kernels()->train;
    j.g = grad;
    j.p = param;
    j.sq = square_avg;
    j.ga = grad_avg;
    j.buf = momentum > 0.0 ? buf : NULL; /* torch: `if momentum > 0` */
    j.hp.alpha = (float)alpha;
    j.hp.w = w;
    j.hp.wc = 1.0f - w;
    j.hp.lerp_hi = !(fabsf(w) < 0.5f);
    j.hp.wd = (float)weight_decay;
    j.hp.l2 = weight_decay != 0.0;
    j.hp.eps = (float)eps;
    j.hp.momentum = (float)momentum;
    j.hp.nlr = (float)(-lr);
    if (n == 0) return;
    rcml_parallel_for(n, RCML_OPT_GRAIN, rcml_rmsprop_chunk, &j);
}

typedef struct {
    const rcml_train_table_t *t;
    const float *g;
    float *p, *sum;
    rcml_adagrad_hp_t hp;
} rcml_adagrad_job_t;

static void rcml_adagrad_chunk(void *ctx, size_t b, size_t e) {
    rcml_adagrad_job_t *j = (rcml_adagrad_job_t *)ctx;
    j->t->adagrad(j->g + b, j->p + b, j->sum + b, e - b, &j->hp);
}

void rcml_adagrad_f32(const float *grad, float *param, float *state_sum, size_t n, int64_t step,
                      double lr, double lr_decay, double eps, double weight_decay) {
    rcml_adagrad_job_t j;
    j.t = rcml_kernels()->train;
    j.g = grad;
    j.p = param;
    j.sum = state_sum;
    j.hp.wd = (float)weight_decay;
    j.hp.l2 = weight_decay != 0.0;
    j.hp.eps = (float)eps;
    j.hp.nclr = (float)(-(lr / (1.0 + (double)(step - 1) * lr_decay)));
    if (n == 0) return;
    rcml_parallel_for(n, RCML_OPT_GRAIN, rcml_adagrad_chunk, &j);
}

typedef struct {
    const rcml_train_table_t *t;
    const float *g;
    float *p, *m, *v;
    rcml_nadam_hp_t hp;
} rcml_nadam_job_t;

static void rcml_nadam_chunk(void *ctx, size_t b, size_t e) {
    rcml_nadam_job_t *j = (rcml_nadam_job_t *)ctx;
    j->t->nadam(j->g + b, j->p + b, j->m + b, j->v + b, e - b, &j->hp);
}

void rcml_nadam_f32(const float *grad, float *param, float *m, float *v, size_t n, int64_t step,
                    float *mu_product, double lr, double beta1, double beta2, double eps,
                    double weight_decay, double momentum_decay, int decoupled) {
    rcml_nadam_job_t j;
    double s = (double)step;
    double mu = beta1 * (1.0 - 0.5 * pow(0.96, s * momentum_decay));
    double mu_next = beta1 * (1.0 - 0.5 * pow(0.96, (s + 1.0) * momentum_decay));
    /* torch keeps the product in a float32 tensor: one float multiply per step */
    float prod = *mu_product * (float)mu;
    double prod_next = (double)prod * mu_next;
    float w1 = (float)(1.0 - beta1);
    *mu_product = prod;
    j.t = rcml_kernels()->train;
    j.g = grad;
    j.p = param;
    j.m = m;
    j.v = v;
    j.hp.decay = (decoupled && weight_decay != 0.0) ? (float)(1.0 - lr * weight_decay) : 1.0f;
    j.hp.wd = (float)weight_decay;
    j.hp.l2 = !decoupled && weight_decay != 0.0;
    j.hp.w1 = w1;
    j.hp.w1c = 1.0f - w1;
    j.hp.lerp_hi = !(fabsf(w1) < 0.5f);
    j.hp.beta2 = (float)beta2;
    j.hp.w2 = (float)(1.0 - beta2);
    j.hp.bc2 = (float)(1.0 - pow(beta2, s));
    j.hp.eps = (float)eps;
    j.hp.c1 = (float)(-lr * (1.0 - mu) / (1.0 - (double)prod));
    j.hp.c2 = (float)(-lr * mu_next / (1.0 - prod_next));
    if (n == 0) return;
    rcml_parallel_for(n, RCML_OPT_GRAIN, rcml_nadam_chunk, &j);
}
