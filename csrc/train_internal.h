/* train_internal.h - private per-ISA table of the loss and optimizer kernels.
 *
 * train_body.h is compiled once per backend (train_serial.c, train_baseline.c,
 * train_avx2.c, train_avx512.c); loss.c and optim.c dispatch through this table and
 * split the work into chunks whose boundaries depend only on the sizes.
 */
#ifndef RCMLRS_TRAIN_INTERNAL_H
#define RCMLRS_TRAIN_INTERNAL_H

#include "internal.h"

/* Adam scalars, each rounded to float32 once (as torch does for a float32 tensor). */
typedef struct {
    float decay;   /* 1 - lr*wd for AdamW, else 1 (p * 1 is exact) */
    float wd;      /* L2 coefficient; used only when l2 != 0 */
    float w1;      /* 1 - beta1, the lerp weight */
    float w1c;     /* 1 - w1, for lerp's upper branch */
    float beta2;   /* v decay */
    float w2;      /* 1 - beta2 */
    float ibc2s;   /* 1 / sqrt(1 - beta2^step): a multiply instead of a division */
    float eps;
    float nss;     /* -lr / (1 - beta1^step) */
    int lerp_hi;   /* w1 >= 0.5: torch's lerp uses end - (end - self)*(1 - w) */
    int l2;
} rcml_adam_hp_t;

typedef struct {
    float nlr;      /* -lr */
    float wd;
    float momentum;
    float damp1;    /* 1 - dampening */
    int l2, use_buf, first, nesterov;
} rcml_sgd_hp_t;

typedef struct {
    /* loss partial sums over [0, n); grad (may be NULL) gets the scaled derivative */
    double (*mse)(const float *a, const float *p, size_t n, float scale, float *grad);
    double (*mae)(const float *a, const float *p, size_t n, float scale, float *grad);
    double (*bce)(const float *a, const float *p, size_t n, float scale, float *grad);
    /* sum of row losses over `rows` rows; exactly one of target / labels is non-NULL */
    double (*xent)(const float *z, const float *target, const int64_t *labels, size_t rows,
                   size_t cols, float scale, float *grad);
    void (*adam)(const float *g, float *p, float *m, float *v, float *vmax, size_t n,
                 const rcml_adam_hp_t *hp);
    void (*sgd)(const float *g, float *p, float *buf, size_t n, const rcml_sgd_hp_t *hp);
} rcml_train_table_t;

extern const rcml_train_table_t rcml_train_serial;
extern const rcml_train_table_t rcml_train_baseline;
#ifdef RCML_HAVE_X86_TARGETS
extern const rcml_train_table_t rcml_train_avx2;
extern const rcml_train_table_t rcml_train_avx512;
#endif
const rcml_train_table_t *rcml_train_table(void);

#endif
