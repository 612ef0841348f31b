/* nn_internal.h - the per-backend table of rc.nn kernels (private). */
#ifndef RCMLRS_NN_INTERNAL_H
#define RCMLRS_NN_INTERNAL_H

#include <stddef.h>

typedef struct {
    void (*bias_act)(int act, float slope, size_t m, size_t n, const float *bias, float *z,
                     float *y);
    void (*act_backward)(int act, float slope, size_t m, size_t n, const float *z,
                         const float *y, const float *g, float *dz);
    void (*colsum)(size_t m, size_t n, const float *g, float beta, float *out);
    double (*softmax_xent)(size_t m, size_t n, const float *logits, const float *target,
                           int labels, float grad_scale, float *grad);
    double (*mse)(size_t n, const float *t, const float *p, float grad_scale, float *grad);
    double (*mae)(size_t n, const float *t, const float *p, float grad_scale, float *grad);
    double (*bce)(size_t n, const float *t, const float *p, int from_logits, float grad_scale,
                  float *grad);
    void (*rnn_forward)(int act, size_t T, size_t B, size_t I, size_t H, const float *X,
                        const float *Wx, const float *Wh, const float *b, float *Hs);
    void (*rnn_backward)(int act, size_t T, size_t B, size_t I, size_t H, const float *X,
                         const float *WxT, const float *WhT, const float *Hs, float *dHs,
                         float *dWx, float *dWh, float *db, float *dX);
    void (*lstm_forward)(size_t T, size_t B, size_t I, size_t H, const float *X,
                         const float *W, const float *U, const float *b, float *G, float *Cs,
                         float *Hs);
    void (*lstm_backward)(size_t T, size_t B, size_t I, size_t H, const float *X,
                          const float *WT, const float *UT, const float *G, const float *Cs,
                          const float *Hs, float *dHs, float *dG, float *dc, float *dW,
                          float *dU, float *db, float *dX);
} rcml_nn_table_t;

extern const rcml_nn_table_t rcml_nn_table_base;
#ifdef RCML_HAVE_X86_TARGETS
extern const rcml_nn_table_t rcml_nn_table_avx2;
extern const rcml_nn_table_t rcml_nn_table_avx512;
#endif

#endif
