/* kernels.h - private: the one table of kernels per ISA.
 *
 * Every kernel family (elementwise and reductions: ew_body.h; activations, softmax and
 * normalization: act_body.h; losses and optimizers: train_body.h; recurrent layers:
 * rnn_body.h) is ONE source. Each ISA has one translation unit (isa_serial.c,
 * isa_baseline.c, isa_avx2.c, isa_avx512.c; NEON is the baseline on arm64) that compiles
 * every body through isa_body.h and fills one rcml_kernels_t. dispatch.c holds the only
 * switch (rcml_kernels()); the public entry points in elementwise.c, reduce.c,
 * activations.c, loss.c, optim.c and layers.c pick the table there and split the work
 * over the thread pool in chunks that do not depend on the thread count.
 */
#ifndef RCMLRS_KERNELS_H
#define RCMLRS_KERNELS_H

#include "internal.h"
#include "gemm.h"

/* ------------------------------------------------------------ elementwise */
typedef struct {
    void (*binary)(int op, const float *a, const float *b, float *out, size_t n);
    void (*binary_scalar)(int op, const float *a, float s, float *out, size_t n);
    void (*unary)(int op, const float *x, float p0, float p1, float *out, size_t n);
    double (*sum)(const float *x, size_t n);
    double (*sumsqdev)(const float *x, size_t n, double mean);
    float (*min)(const float *x, size_t n);
    float (*max)(const float *x, size_t n);
    /* acc[i] += x[r * inner + i] for r < len, i < tw: column sums in double, row by row */
    void (*cols_acc)(const float *x, size_t len, size_t inner, size_t tw, double *acc);
    /* out[i] = op(a[i*sa], b[i*sb], c[i*sc]) for i < n, strides 0 or 1 (rcml_ternop_t) */
    void (*ternary)(int op, const float *a, size_t sa, const float *b, size_t sb, const float *c,
                    size_t sc, float *out, size_t n);
} rcml_ew_table_t;

/* ------------------------------------------------------------ activations */
enum { RCML_SMX_SOFTMAX = 0, RCML_SMX_LOG = 1, RCML_SMX_BACKWARD = 2, RCML_SMX_LOG_BACKWARD = 3 };

typedef struct {
    void (*act)(int act, const float *x, float a, float *out, size_t n);
    void (*deriv)(int act, const float *x, float a, float *out, size_t n);
    void (*backward)(int act, const float *x, const float *g, float a, float *out, size_t n);
    void (*backward_out)(int act, const float *y, const float *g, float a, float *out, size_t n);
    /* softmax family over `outer` slices of (len, inner) */
    void (*softmax)(int mode, const float *x, const float *g, size_t outer, size_t len,
                    size_t inner, float *out);
    void (*norm_apply)(const float *x, size_t outer, size_t len, size_t inner, const float *sub,
                       const float *div, float *out);
    /* layer forms over m rows of n (see rcml_bias_act_f32 and rcml_act_layer_backward_f32):
     * the same per-element functions and row softmax as the kernels above */
    void (*bias_act)(int act, float a, size_t m, size_t n, const float *bias, float *z, float *y);
    void (*layer_backward)(int act, float a, size_t m, size_t n, const float *z, const float *y,
                           const float *g, float *dz);
} rcml_act_table_t;

/* -------------------------------------------------------- losses, optimizers */
/* Adam scalars, each rounded to float32 once (as torch does for a float32 tensor). */
typedef struct {
    float decay; /* 1 - lr*wd for AdamW, else 1 (p * 1 is exact) */
    float wd;    /* L2 coefficient; used only when l2 != 0 */
    float w1;    /* 1 - beta1, the lerp weight */
    float w1c;   /* 1 - w1, for lerp's upper branch */
    float beta2; /* v decay */
    float w2;    /* 1 - beta2 */
    float ibc2s; /* 1 / sqrt(1 - beta2^step): a multiply instead of a division */
    float eps;
    float nss;   /* -lr / (1 - beta1^step) */
    int lerp_hi; /* w1 >= 0.5: torch's lerp uses end - (end - self)*(1 - w) */
    int l2;
} rcml_adam_hp_t;

typedef struct {
    float nlr; /* -lr */
    float wd;
    float momentum;
    float damp1; /* 1 - dampening */
    int l2, use_buf, first, nesterov;
} rcml_sgd_hp_t;

/* RMSprop scalars (torch.optim.RMSprop), each rounded to float32 once. */
typedef struct {
    float alpha; /* square-average decay */
    float w;     /* 1 - alpha: addcmul's value and (centered) the lerp weight */
    float wc;    /* 1 - w, for lerp's upper branch */
    float wd;    /* L2 coefficient; used only when l2 != 0 */
    float eps;
    float momentum;
    float nlr;   /* -lr */
    int lerp_hi; /* w >= 0.5 */
    int l2;
} rcml_rmsprop_hp_t;

/* Adagrad scalars (torch.optim.Adagrad). */
typedef struct {
    float wd;
    float eps;
    float nclr; /* -lr / (1 + (step - 1) lr_decay) */
    int l2;
} rcml_adagrad_hp_t;

/* NAdam scalars (torch.optim.NAdam), each rounded to float32 once. */
typedef struct {
    float decay; /* 1 - lr*wd when decoupled, else 1 */
    float wd;
    float w1, w1c, beta2, w2; /* as in rcml_adam_hp_t */
    float bc2;                /* 1 - beta2^step (torch divides v by it) */
    float eps;
    float c1; /* -lr (1 - mu_t) / (1 - prod mu) */
    float c2; /* -lr mu_{t+1} / (1 - mu_{t+1} prod mu) */
    int lerp_hi, l2;
} rcml_nadam_hp_t;

typedef struct {
    /* loss partial sums over [0, n): sum w_i l_i (w NULL: 1); grad (may be NULL) gets
     * scale * w_i * dl_i/dp_i, out (may be NULL) the terms w_i l_i */
    double (*mse)(const float *a, const float *p, const float *w, size_t n, float scale,
                  float *grad, float *out);
    double (*mae)(const float *a, const float *p, const float *w, size_t n, float scale,
                  float *grad, float *out);
    double (*bce)(const float *a, const float *p, const float *w, size_t n, float scale,
                  float *grad, float *out);
    double (*bce_logits)(const float *a, const float *z, const float *w, size_t n, float scale,
                         float *grad, float *out);
    /* sum of row losses over `rows` rows against the smoothed target k1 t + k0; exactly
     * one of target / labels is non-NULL; w: one weight per row or NULL; out: one loss
     * per row or NULL */
    double (*xent)(const float *z, const float *target, const int64_t *labels, const float *w,
                   size_t rows, size_t cols, float k1, float k0, float scale, float *grad,
                   float *out);
    /* sum of -cw[label] lp[r, label] over rows (cw: per-class weights or NULL) */
    double (*nll)(const float *lp, const int64_t *labels, const float *cw, size_t rows, size_t cols,
                  float scale, float *grad, float *out);
    void (*adam)(const float *g, float *p, float *m, float *v, float *vmax, size_t n,
                 const rcml_adam_hp_t *hp);
    void (*sgd)(const float *g, float *p, float *buf, size_t n, const rcml_sgd_hp_t *hp);
    /* ga (centered) and buf (momentum) may be NULL */
    void (*rmsprop)(const float *g, float *p, float *sq, float *ga, float *buf, size_t n,
                    const rcml_rmsprop_hp_t *hp);
    void (*adagrad)(const float *g, float *p, float *sum, size_t n, const rcml_adagrad_hp_t *hp);
    void (*nadam)(const float *g, float *p, float *m, float *v, size_t n,
                  const rcml_nadam_hp_t *hp);
} rcml_train_table_t;

/* ------------------------------------------------------------ recurrent layers */
typedef struct {
    /* h_t = f(x_t Wx + h_{t-1} Wh + b) for t < T; see rcml_rnn_forward_f32 */
    void (*rnn_forward)(int act, size_t T, size_t B, size_t I, size_t H, const float *X,
                        const float *Wx, const float *Wh, const float *b, float *Hs);
    void (*rnn_backward)(int act, size_t T, size_t B, size_t I, size_t H, const float *X,
                         const float *WxT, const float *WhT, const float *Hs, float *dHs,
                         float *dWx, float *dWh, float *dX);
    void (*lstm_forward)(size_t T, size_t B, size_t I, size_t H, const float *X, const float *W,
                         const float *U, const float *b, float *G, float *Cs, float *Hs);
    void (*lstm_backward)(size_t T, size_t B, size_t I, size_t H, const float *X, const float *WT,
                          const float *UT, const float *G, const float *Cs, const float *Hs,
                          float *dHs, float *dG, float *dc, float *dW, float *dU, float *dX);
    /* GRU (gates [z | r | h], torch's equations); see rcml_gru_forward_f32 */
    void (*gru_forward)(size_t T, size_t B, size_t I, size_t H, const float *X, const float *W,
                        const float *U, const float *b, float *G, float *Gh, float *Hs);
    void (*gru_backward)(size_t T, size_t B, size_t I, size_t H, const float *X, const float *WT,
                         const float *UT, const float *G, const float *Gh, const float *Hs,
                         float *dHs, float *dGx, float *dGh, float *dW, float *dU, float *dX);
} rcml_rnn_table_t;

/* ------------------------------------------------------------ normalization layers */
/* Batch norm (statistics per column over the rows) and layer norm (per row) of an (len, c)
 * matrix; see norm_body.h (x_hat = (x - m) * s, m and s per column or per row when
 * rowwise) and the entry points in norm.c. */
typedef struct {
    /* acc[i] += (x[r * inner + i] - mean[i])^2 for r < len, i < tw (double, row by row) */
    void (*cols_sqdev)(const float *x, size_t len, size_t inner, size_t tw, const double *mean,
                       double *acc);
    void (*affine)(const float *x, size_t len, size_t c, const float *m, const float *s,
                   int rowwise, const float *gamma, const float *beta, float *y);
    void (*grad_acc)(const float *x, const float *g, size_t len, size_t inner, size_t c,
                     const float *m, const float *s, int rowwise, double *acc_g, double *acc_gx);
    void (*bn_dx)(const float *x, const float *g, size_t len, size_t c, const float *m,
                  const float *s, const float *k, const float *p, const float *q, int training,
                  float *dx);
    void (*ln_forward)(const float *x, size_t len, size_t c, double eps, const float *gamma,
                       const float *beta, float *m, float *s, float *y);
    void (*ln_dx)(const float *x, const float *g, size_t len, size_t c, const float *m,
                  const float *s, const float *gamma, float *dx);
} rcml_norm_table_t;

/* ------------------------------------------------------------ convolutions */
struct rcml_conv2d; /* the geometry, rcml_conv2d_t in rcmlrs.h */
typedef struct {
    /* im2col: output rows [r0, r1) as patch rows (m x K); im2col_t: the same transposed
     * (K x m), from x or from its rows split into channel planes (xp); col2im: input rows [n0, n1)
     * of dx from dcols (M x K) (conv_body.h) */
    void (*im2col)(const struct rcml_conv2d *g, const float *x, size_t r0, size_t r1, float *cols);
    void (*im2col_t)(const struct rcml_conv2d *g, const float *x, const float *xp, size_t xrow0,
                     size_t r0, size_t r1, float *colsT);
    void (*col2im)(const struct rcml_conv2d *g, const float *dcols, size_t n0, size_t n1,
                   float *dx);
    /* the direct form (stride 1, no padding) over a block of n output rows on the wide
     * grid (conv_body.h): z rows (no bias); dz on the wide grid; dW lanes (+=); lanes
     * folded */
    void (*direct)(const struct rcml_conv2d *g, const float *xp, size_t ps, const float *w,
                   const float *bias, size_t n, float *acc, float *z);
    void (*dz_wide)(const struct rcml_conv2d *g, const float *dz, size_t n, float *dzw);
    void (*direct_dw)(const struct rcml_conv2d *g, const float *xp, size_t ps, const float *dzw,
                      size_t n, float *lanes);
    void (*lanes_sum)(const float *lanes, size_t count, float *out);
} rcml_conv_table_t;
/* the direct form's dW partial sums: this many lanes per (k, f) (four 16-float vectors) */
#define RCML_CONV_LANES 64

/* ------------------------------------------------------------ pooling */
struct rcml_pool2d; /* the geometry, rcml_pool2d_t in rcmlrs.h */
typedef struct {
    /* images [b0, b1) of the batch p describes (rcml_pool2d_t, rcmlrs.h); mode
     * RCML_POOL_MAX or RCML_POOL_AVG. backward writes all of dx (x: max only, else NULL ok) */
    void (*forward)(int mode, const struct rcml_pool2d *p, size_t b0, size_t b1, const float *x,
                    float *y);
    void (*backward)(int mode, const struct rcml_pool2d *p, size_t b0, size_t b1, const float *x,
                     const float *g, float *dx);
} rcml_pool_table_t;

/* ------------------------------------------------------------ the one table */
typedef struct {
    const rcml_ew_table_t *ew;
    const rcml_act_table_t *act;
    const rcml_train_table_t *train;
    const rcml_rnn_table_t *rnn;
    /* the hand-tuned GEMM micro-kernels of this ISA (gemm_*.c, matmul.c's portable
     * ones); NULL for the serial backend, whose product is the plain reference loop */
    const rcml_gemm_kernels_t *gemm;
    const rcml_norm_table_t *norm;
    const rcml_conv_table_t *conv;
    const rcml_pool_table_t *pool;
} rcml_kernels_t;

extern const rcml_kernels_t rcml_kernels_serial;
extern const rcml_kernels_t rcml_kernels_baseline;
#ifdef RCML_HAVE_X86_TARGETS
extern const rcml_kernels_t rcml_kernels_avx2;
extern const rcml_kernels_t rcml_kernels_avx512;
#endif
#ifdef RCML_ARM64
extern const rcml_kernels_t rcml_kernels_neon;
#endif
/* The active backend's table (dispatch.c: the only switch over ISAs). */
const rcml_kernels_t *rcml_kernels(void);

#endif
