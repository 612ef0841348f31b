/* act_table.h - private: the per-ISA table of activation kernels (act_body.h fills one
 * per backend; activations.c dispatches and threads). */
#ifndef RCMLRS_ACT_TABLE_H
#define RCMLRS_ACT_TABLE_H

#include "internal.h"

enum { RCML_SMX_SOFTMAX = 0, RCML_SMX_LOG = 1, RCML_SMX_BACKWARD = 2 };

typedef struct {
    void (*act)(int act, const float *x, float a, float *out, size_t n);
    void (*deriv)(int act, const float *x, float a, float *out, size_t n);
    void (*backward)(int act, const float *x, const float *g, float a, float *out, size_t n);
    void (*backward_out)(int act, const float *y, const float *g, float a, float *out, size_t n);
    /* softmax family over `outer` slices of (len, inner) */
    void (*softmax)(int mode, const float *x, const float *g, size_t outer, size_t len,
                    size_t inner, float *out);
    void (*norm_apply)(const float *x, size_t outer, size_t len, size_t inner,
                       const float *sub, const float *div, float *out);
} rcml_act_table_t;

extern const rcml_act_table_t rcml_act_serial;
extern const rcml_act_table_t rcml_act_baseline;
#ifdef RCML_HAVE_X86_TARGETS
extern const rcml_act_table_t rcml_act_avx2;
extern const rcml_act_table_t rcml_act_avx512;
#endif

#endif
