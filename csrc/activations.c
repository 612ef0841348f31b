/* activations.c - public activation, softmax and normalization entry points: pick the
 * active backend's table, split big inputs over the pool in fixed chunks (so results do
 * not depend on the thread count). */
#include "rcmlrs.h"
#include "kernels.h"

/* Transcendental activations cost ~10-20x an add: worth threads from 16K floats. The
 * cheap ones (relu, leaky relu, linear) are memory-bound and go parallel later. */
#define RCML_ACT_GRAIN (RCML_EW_GRAIN / 4)

static int rcml_act_cheap(int act) {
    return act == RCML_ACT_LINEAR || act == RCML_ACT_RELU || act == RCML_ACT_LEAKY_RELU;
}

typedef struct {
    const rcml_act_table_t *t;
    int act, kind;
    const float *x, *g;
    float a;
    float *out;
} rcml_act_job_t;

static void rcml_act_chunk(void *ctx, size_t b, size_t e) {
    rcml_act_job_t *j = (rcml_act_job_t *)ctx;
    if (j->kind == 0)
        j->t->act(j->act, j->x + b, j->a, j->out + b, e - b);
    else if (j->kind == 1)
        j->t->deriv(j->act, j->x + b, j->a, j->out + b, e - b);
    else if (j->kind == 2)
        j->t->backward(j->act, j->x + b, j->g + b, j->a, j->out + b, e - b);
    else
        j->t->backward_out(j->act, j->x + b, j->g + b, j->a, j->out + b, e - b);
}

static void rcml_act_run(int kind, int act, const float *x, const float *g, float a, float *out,
                         size_t n) {
    rcml_act_job_t j = {rcml_kernels()->act, act, kind, x, g, a, out};
    if (act < 0 || act >= RCML_ACT_COUNT) return;
    int cheap = rcml_act_cheap(act) || kind == 3;
    size_t par_min = cheap ? RCML_EW_PAR_MIN : RCML_ACT_GRAIN;
    size_t grain = cheap ? RCML_EW_GRAIN : RCML_ACT_GRAIN;
    if (n < par_min) {
        rcml_act_chunk(&j, 0, n);
        return;
    }
    rcml_parallel_for(n, grain, rcml_act_chunk, &j);
}

void rcml_act_f32(int act, const float *x, float param, float *out, size_t n) {
    rcml_act_run(0, act, x, NULL, param, out, n);
}

void rcml_act_deriv_f32(int act, const float *x, float param, float *out, size_t n) {
    rcml_act_run(1, act, x, NULL, param, out, n);
}

void rcml_act_backward_f32(int act, const float *x, const float *grad, float param, float *out,
                           size_t n) {
    rcml_act_run(2, act, x, grad, param, out, n);
}

int rcml_act_backward_from_output_f32(int act, const float *y, const float *grad, float param,
                                      float *out, size_t n) {
    if (!rcml_act_has_output_backward(act)) return -1;
    rcml_act_run(3, act, y, grad, param, out, n);
    return 0;
}

int rcml_act_has_output_backward(int act) {
    return act == RCML_ACT_LINEAR || act == RCML_ACT_RELU || act == RCML_ACT_LEAKY_RELU ||
           act == RCML_ACT_SIGMOID || act == RCML_ACT_TANH;
}

/* ------------------------------------------------------------ layer forms */

typedef struct {
    const rcml_act_table_t *t;
    int act;
    float a;
    size_t n;
    const float *bias, *z, *y, *g;
    float *zw, *out;
} rcml_layer_job_t;

static void rcml_bias_act_rows(void *ctx, size_t b, size_t e) {
    rcml_layer_job_t *j = (rcml_layer_job_t *)ctx;
    j->t->bias_act(j->act, j->a, e - b, j->n, j->bias, j->zw + b * j->n, j->out + b * j->n);
}

static void rcml_layer_backward_rows(void *ctx, size_t b, size_t e) {
    rcml_layer_job_t *j = (rcml_layer_job_t *)ctx;
    size_t o = b * j->n;
    j->t->layer_backward(j->act, j->a, e - b, j->n, j->z + o, j->y ? j->y + o : NULL, j->g + o,
                         j->out + o);
}

/* rows are independent: chunks of whole rows, ~RCML_ACT_GRAIN floats each */
static void rcml_layer_run(rcml_chunk_fn fn, rcml_layer_job_t *j, size_t m) {
    size_t grain = RCML_MAX((size_t)1, RCML_ACT_GRAIN / RCML_MAX(j->n, (size_t)1));
    if (m * j->n < RCML_ACT_GRAIN)
        fn(j, 0, m);
    else
        rcml_parallel_for(m, grain, fn, j);
}

static int rcml_layer_act_ok(int act) {
    return (act >= 0 && act < RCML_ACT_COUNT) || act == RCML_ACT_SOFTMAX;
}

void rcml_bias_act_f32(int act, float param, size_t m, size_t n, const float *bias, float *z,
                       float *y) {
    rcml_layer_job_t j = {rcml_kernels()->act, act, param, n, bias, NULL, NULL, NULL, z, y};
    if (!rcml_layer_act_ok(act) || m == 0 || n == 0) return;
    rcml_layer_run(rcml_bias_act_rows, &j, m);
}

void rcml_act_layer_backward_f32(int act, float param, size_t m, size_t n, const float *z,
                                 const float *y, const float *grad, float *dz) {
    rcml_layer_job_t j = {rcml_kernels()->act, act, param, n, NULL, z, y, grad, NULL, dz};
    if (!rcml_layer_act_ok(act) || m == 0 || n == 0) return;
    rcml_layer_run(rcml_layer_backward_rows, &j, m);
}

/* ---------------------------------------------------------------- softmax */

typedef struct {
    const rcml_act_table_t *t;
    int mode;
    const float *x, *g;
    size_t len, inner;
    float *out;
} rcml_smx_job_t;

static void rcml_smx_chunk(void *ctx, size_t b, size_t e) {
    rcml_smx_job_t *j = (rcml_smx_job_t *)ctx;
    size_t off = b * j->len * j->inner;
    j->t->softmax(j->mode, j->x + off, j->g ? j->g + off : NULL, e - b, j->len, j->inner,
                  j->out + off);
}

static void rcml_smx_run(int mode, const float *x, const float *g, size_t outer, size_t len,
                         size_t inner, float *out) {
    rcml_smx_job_t j = {rcml_kernels()->act, mode, x, g, len, inner, out};
    size_t slice = len * inner;
    if (outer == 0 || slice == 0) return;
    /* slices are independent: chunk them so each chunk holds ~RCML_ACT_GRAIN floats */
    size_t grain = RCML_MAX((size_t)1, RCML_ACT_GRAIN / slice);
    if (outer * slice < RCML_ACT_GRAIN || outer == 1) {
        rcml_smx_chunk(&j, 0, outer);
        return;
    }
    rcml_parallel_for(outer, grain, rcml_smx_chunk, &j);
}

void rcml_softmax_axis_f32(const float *x, size_t outer, size_t len, size_t inner, float *out) {
    rcml_smx_run(RCML_SMX_SOFTMAX, x, NULL, outer, len, inner, out);
}

void rcml_log_softmax_axis_f32(const float *x, size_t outer, size_t len, size_t inner, float *out) {
    rcml_smx_run(RCML_SMX_LOG, x, NULL, outer, len, inner, out);
}

void rcml_softmax_backward_axis_f32(const float *x, const float *grad, size_t outer, size_t len,
                                    size_t inner, float *out) {
    rcml_smx_run(RCML_SMX_BACKWARD, x, grad, outer, len, inner, out);
}

void rcml_log_softmax_backward_axis_f32(const float *x, const float *grad, size_t outer, size_t len,
                                        size_t inner, float *out) {
    rcml_smx_run(RCML_SMX_LOG_BACKWARD, x, grad, outer, len, inner, out);
}

void rcml_softmax_f32(const float *x, size_t rows, size_t cols, float *out) {
    rcml_smx_run(RCML_SMX_SOFTMAX, x, NULL, rows, cols, 1, out);
}

void rcml_log_softmax_f32(const float *x, size_t rows, size_t cols, float *out) {
    rcml_smx_run(RCML_SMX_LOG, x, NULL, rows, cols, 1, out);
}

void rcml_softmax_backward_f32(const float *x, const float *grad, size_t rows, size_t cols,
                               float *out) {
    rcml_smx_run(RCML_SMX_BACKWARD, x, grad, rows, cols, 1, out);
}

void rcml_softmax_jacobian_f32(const float *x, size_t rows, size_t cols, float *out) {
    const rcml_act_table_t *t = rcml_kernels()->act;
    size_t r, i, j, cc = cols * cols;
    for (r = 0; r < rows; r++) {
        float *J = out + r * cc;
        /* y goes into row 0 of this row's block; rows cols-1..1 are filled from it
         * first, then row 0 (reading each y_j before overwriting it) */
        t->softmax(RCML_SMX_SOFTMAX, x + r * cols, NULL, 1, cols, 1, J);
        for (i = cols; i-- > 1;) {
            float yi = J[i];
            for (j = 0; j < cols; j++) J[i * cols + j] = yi * ((i == j ? 1.0f : 0.0f) - J[j]);
        }
        if (cols) {
            float y0 = J[0];
            for (j = 0; j < cols; j++) J[j] = y0 * ((j == 0 ? 1.0f : 0.0f) - J[j]);
        }
    }
}

/* ----------------------------------------------------------- normalization */

typedef struct {
    const rcml_act_table_t *t;
    const float *x, *sub, *div;
    size_t len, inner;
    float *out;
} rcml_norm_job_t;

static void rcml_norm_slices(void *ctx, size_t b, size_t e) {
    rcml_norm_job_t *j = (rcml_norm_job_t *)ctx;
    size_t off = b * j->len * j->inner;
    j->t->norm_apply(j->x + off, e - b, j->len, j->inner, j->sub + b * j->inner,
                     j->div + b * j->inner, j->out + off);
}

/* one slice of rows (inner == 1, outer == 1): split the row itself */
static void rcml_norm_span(void *ctx, size_t b, size_t e) {
    rcml_norm_job_t *j = (rcml_norm_job_t *)ctx;
    j->t->norm_apply(j->x + b, 1, e - b, 1, j->sub, j->div, j->out + b);
}

void rcml_norm_apply_f32(const float *x, size_t outer, size_t len, size_t inner, const float *sub,
                         const float *div, float *out) {
    rcml_norm_job_t j = {rcml_kernels()->act, x, sub, div, len, inner, out};
    size_t n = outer * len * inner;
    if (n == 0) return;
    if (n < RCML_EW_PAR_MIN) {
        rcml_norm_slices(&j, 0, outer);
    } else if (outer == 1 && inner == 1) {
        rcml_parallel_for(len, RCML_EW_GRAIN, rcml_norm_span, &j);
    } else {
        rcml_parallel_for(outer, RCML_MAX((size_t)1, RCML_EW_GRAIN / (len * inner)),
                          rcml_norm_slices, &j);
    }
}
