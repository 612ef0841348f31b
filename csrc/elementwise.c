/* elementwise.c - public entry points: dispatch to the active backend, split over threads. */
#include "rcmlrs.h"
#include "kernels.h"

typedef struct {
    const rcml_ew_table_t *t;
    int op;
    const float *a, *b;
    float s, p1;
    float *out;
} rcml_ew_job_t;

static void rcml_binary_chunk(void *ctx, size_t b, size_t e) {
    rcml_ew_job_t *j = (rcml_ew_job_t *)ctx;
    j->t->binary(j->op, j->a + b, j->b + b, j->out + b, e - b);
}

/* mod (a double division) and powers cost several adds, so they are worth threads sooner */
static int rcml_binary_heavy(int op) {
    return op == RCML_MOD || op == RCML_RMOD || op == RCML_POW || op == RCML_RPOW;
}

void rcml_binary_f32(int op, const float *a, const float *b, float *out, size_t n) {
    rcml_ew_job_t j = {rcml_kernels()->ew, op, a, b, 0.0f, 0.0f, out};
    int heavy = rcml_binary_heavy(op);
    if (n < (heavy ? RCML_EW_GRAIN : RCML_EW_PAR_MIN)) {
        j.t->binary(op, a, b, out, n);
        return;
    }
    rcml_parallel_for(n, heavy ? RCML_EW_GRAIN / 4 : RCML_EW_GRAIN, rcml_binary_chunk, &j);
}

static void rcml_scalar_chunk(void *ctx, size_t b, size_t e) {
    rcml_ew_job_t *j = (rcml_ew_job_t *)ctx;
    j->t->binary_scalar(j->op, j->a + b, j->s, j->out + b, e - b);
}

void rcml_binary_scalar_f32(int op, const float *a, float s, float *out, size_t n) {
    rcml_ew_job_t j = {rcml_kernels()->ew, op, a, NULL, s, 0.0f, out};
    int heavy = rcml_binary_heavy(op);
    if (n < (heavy ? RCML_EW_GRAIN : RCML_EW_PAR_MIN)) {
        j.t->binary_scalar(op, a, s, out, n);
        return;
    }
    rcml_parallel_for(n, heavy ? RCML_EW_GRAIN / 4 : RCML_EW_GRAIN, rcml_scalar_chunk, &j);
}

/* the op with its operands swapped: a op b = b swap(op) a (ADD, MUL, MAXIMUM, MINIMUM,
 * EQ and NE are symmetric bit for bit) */
static int rcml_swap_op(int op) {
    switch (op) {
    case RCML_SUB: return RCML_RSUB;
    case RCML_DIV: return RCML_RDIV;
    case RCML_RSUB: return RCML_SUB;
    case RCML_RDIV: return RCML_DIV;
    case RCML_MOD: return RCML_RMOD;
    case RCML_RMOD: return RCML_MOD;
    case RCML_POW: return RCML_RPOW;
    case RCML_RPOW: return RCML_POW;
    case RCML_LT: return RCML_GT;
    case RCML_GT: return RCML_LT;
    case RCML_LE: return RCML_GE;
    case RCML_GE: return RCML_LE;
    default: return op;
    }
}

typedef struct {
    const rcml_ew_table_t *t;
    int op;
    const float *a, *b;
    const ptrdiff_t *as, *bs;
    float *out;
    size_t R, C;
} rcml_bcast_job_t;

/* one output row (l, r): the column strides are 0 or 1 since sources are contiguous */
static void rcml_bcast_rows(void *ctx, size_t b, size_t e) {
    rcml_bcast_job_t *j = (rcml_bcast_job_t *)ctx;
    size_t row;
    for (row = b; row < e; row++) {
        size_t l = row / j->R, r = row % j->R;
        const float *pa = j->a + (ptrdiff_t)l * j->as[0] + (ptrdiff_t)r * j->as[1];
        const float *pb = j->b + (ptrdiff_t)l * j->bs[0] + (ptrdiff_t)r * j->bs[1];
        float *po = j->out + row * j->C;
        if (j->as[2] && j->bs[2]) {
            j->t->binary(j->op, pa, pb, po, j->C);
        } else if (j->as[2]) {
            j->t->binary_scalar(j->op, pa, *pb, po, j->C);
        } else if (j->bs[2]) {
            j->t->binary_scalar(rcml_swap_op(j->op), pb, *pa, po, j->C);
        } else {
            float v;
            j->t->binary(j->op, pa, pb, &v, 1);
            rcml_fill_f32(v, po, j->C);
        }
    }
}

void rcml_binary_bcast_f32(int op, const float *a, const ptrdiff_t as[3], const float *b,
                           const ptrdiff_t bs[3], float *out, const size_t shape[3]) {
    rcml_bcast_job_t j = {rcml_kernels()->ew, op, a, b, as, bs, out, shape[1], shape[2]};
    size_t rows = shape[0] * shape[1];
    if (rows == 0 || shape[2] == 0) return;
    size_t grain = RCML_MAX((size_t)1, RCML_EW_GRAIN / shape[2]);
    if (rows * shape[2] < RCML_EW_PAR_MIN) {
        rcml_bcast_rows(&j, 0, rows);
        return;
    }
    rcml_parallel_for(rows, grain, rcml_bcast_rows, &j);
}

typedef struct {
    const rcml_ew_table_t *t;
    int op;
    const float *a, *b, *c;
    const ptrdiff_t *as, *bs, *cs;
    float *out;
    size_t R, C;
} rcml_tern_job_t;

/* one output row (l, r), as rcml_bcast_rows */
static void rcml_tern_rows(void *ctx, size_t b, size_t e) {
    rcml_tern_job_t *j = (rcml_tern_job_t *)ctx;
    size_t row;
    for (row = b; row < e; row++) {
        ptrdiff_t l = (ptrdiff_t)(row / j->R), r = (ptrdiff_t)(row % j->R);
        j->t->ternary(j->op, j->a + l * j->as[0] + r * j->as[1], (size_t)j->as[2],
                      j->b + l * j->bs[0] + r * j->bs[1], (size_t)j->bs[2],
                      j->c + l * j->cs[0] + r * j->cs[1], (size_t)j->cs[2], j->out + row * j->C,
                      j->C);
    }
}

/* operand with strides s reads the contiguous layout of shape (axes of size 1 aside) */
static int rcml_is_full(const ptrdiff_t s[3], const size_t shape[3]) {
    return (shape[0] == 1 || s[0] == (ptrdiff_t)(shape[1] * shape[2])) &&
           (shape[1] == 1 || s[1] == (ptrdiff_t)shape[2]) && (shape[2] == 1 || s[2] == 1);
}

static void rcml_tern_flat(void *ctx, size_t b, size_t e) {
    rcml_tern_job_t *j = (rcml_tern_job_t *)ctx;
    j->t->ternary(j->op, j->a + b, 1, j->b + b, 1, j->c + b, 1, j->out + b, e - b);
}

void rcml_ternary_bcast_f32(int op, const float *a, const ptrdiff_t as[3], const float *b,
                            const ptrdiff_t bs[3], const float *c, const ptrdiff_t cs[3],
                            float *out, const size_t shape[3]) {
    rcml_tern_job_t j = {rcml_kernels()->ew, op, a, b, c, as, bs, cs, out, shape[1], shape[2]};
    size_t rows = shape[0] * shape[1], n = rows * shape[2];
    if (n == 0) return;
    if (rcml_is_full(as, shape) && rcml_is_full(bs, shape) && rcml_is_full(cs, shape)) {
        /* no operand is broadcast: one flat run, however narrow the rows */
        if (n < RCML_EW_PAR_MIN) {
            rcml_tern_flat(&j, 0, n);
            return;
        }
        rcml_parallel_for(n, RCML_EW_GRAIN, rcml_tern_flat, &j);
        return;
    }
    if (n < RCML_EW_PAR_MIN) {
        rcml_tern_rows(&j, 0, rows);
        return;
    }
    rcml_parallel_for(rows, RCML_MAX((size_t)1, RCML_EW_GRAIN / shape[2]), rcml_tern_rows, &j);
}

static void rcml_unary_chunk(void *ctx, size_t b, size_t e) {
    rcml_ew_job_t *j = (rcml_ew_job_t *)ctx;
    j->t->unary(j->op, j->a + b, j->s, j->p1, j->out + b, e - b);
}

void rcml_unary_f32(int op, const float *x, float p0, float p1, float *out, size_t n) {
    /* POWI casts p0 to long, 32 bits on Windows: +-2^31 would overflow (UB). The largest
     * float below 2^31 is an even exponent too, and for every float x both powers round
     * to the same value (0, 1, inf or NaN), so clamping changes no result. */
    if (op == RCML_POWI) p0 = RCML_MAX(RCML_MIN(p0, 2147483520.0f), -2147483520.0f);
    rcml_ew_job_t j = {rcml_kernels()->ew, op, x, NULL, p0, p1, out};
    /* transcendentals cost ~10x an add, so they are worth threads sooner */
    int heavy = op == RCML_EXP || op == RCML_LOG || op == RCML_TANH || op == RCML_POWF ||
                op == RCML_POWI || op == RCML_SQRT;
    size_t par_min = heavy ? RCML_EW_GRAIN : RCML_EW_PAR_MIN;
    size_t grain = heavy ? RCML_EW_GRAIN / 4 : RCML_EW_GRAIN;
    if (n < par_min) {
        j.t->unary(op, x, p0, p1, out, n);
        return;
    }
    rcml_parallel_for(n, grain, rcml_unary_chunk, &j);
}

void rcml_fill_f32(float v, float *out, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) out[i] = v;
}
