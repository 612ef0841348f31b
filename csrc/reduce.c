/* reduce.c - reductions: whole-buffer and along one axis, deterministic for any threads.
 *
 * Whole-buffer sums use chunks whose size depends only on n (never on the thread count);
 * each chunk is summed by the backend's block-wise double accumulator and the chunk
 * partials are added in chunk order. Axis reductions give every output element to
 * exactly one task with a fixed loop order.
 */
#include "rcmlrs.h"
#include "kernels.h"

#include <math.h>
#include <stdlib.h>

#define RCML_MAX_PARTS 256
#define RCML_SUM_MIN_CHUNK ((size_t)1 << 18)

static size_t rcml_sum_chunk(size_t n) {
    size_t c = (n + RCML_MAX_PARTS - 1) / RCML_MAX_PARTS;
    c = (c + 4095) / 4096 * 4096;
    return RCML_MAX(c, RCML_SUM_MIN_CHUNK);
}

typedef struct {
    const rcml_ew_table_t *t;
    const float *x;
    double mean;
    size_t chunk;
    int sq;
    double part[RCML_MAX_PARTS];
} rcml_sum_job_t;

static void rcml_sum_part(void *ctx, size_t b, size_t e) {
    rcml_sum_job_t *j = (rcml_sum_job_t *)ctx;
    j->part[b / j->chunk] =
        j->sq ? j->t->sumsqdev(j->x + b, e - b, j->mean) : j->t->sum(j->x + b, e - b);
}

static double rcml_sum_any(const float *x, size_t n, int sq, double mean) {
    rcml_sum_job_t j;
    size_t i, parts;
    j.t = rcml_kernels()->ew;
    j.x = x;
    j.mean = mean;
    j.sq = sq;
    j.chunk = rcml_sum_chunk(n);
    parts = (n + j.chunk - 1) / j.chunk;
    rcml_parallel_for(n, j.chunk, rcml_sum_part, &j);
    double total = 0.0;
    for (i = 0; i < parts; i++) total += j.part[i];
    return total;
}

double rcml_sum_f32(const float *x, size_t n) { return rcml_sum_any(x, n, 0, 0.0); }
double rcml_sumsqdev_f32(const float *x, size_t n, double mean) {
    return rcml_sum_any(x, n, 1, mean);
}
float rcml_min_f32(const float *x, size_t n) { return rcml_kernels()->ew->min(x, n); }
float rcml_max_f32(const float *x, size_t n) { return rcml_kernels()->ew->max(x, n); }

/* index of the first maximum (is_min: minimum), or of the first NaN */
static size_t rcml_argext(const float *x, size_t n, int is_min) {
    size_t i, best = 0;
    float m = x[0];
    if (m != m) return 0;
    for (i = 1; i < n; i++) {
        float v = x[i];
        if (v != v) return i;
        if (is_min ? v < m : v > m) {
            m = v;
            best = i;
        }
    }
    return best;
}

size_t rcml_argmax_f32(const float *x, size_t n) { return rcml_argext(x, n, 0); }
size_t rcml_argmin_f32(const float *x, size_t n) { return rcml_argext(x, n, 1); }

/* ---- median: introselect (quickselect, heap-free fallback to qsort past a depth cap) */
static int rcml_cmp_float(const void *pa, const void *pb) {
    float a = *(const float *)pa, b = *(const float *)pb;
    return (a > b) - (a < b);
}

static void rcml_swapf(float *a, float *b) {
    float t = *a;
    *a = *b;
    *b = t;
}

/* puts the k-th smallest of v[0..n) at v[k]; no NaN present */
static void rcml_select(float *v, size_t n, size_t k) {
    size_t lo = 0, hi = n - 1;
    int depth = 0, limit = 2;
    size_t m = n;
    while (m > 1) {
        limit += 2;
        m >>= 1;
    }
    while (hi > lo) {
        if (++depth > limit) {
            qsort(v + lo, hi - lo + 1, sizeof(float), rcml_cmp_float);
            return;
        }
        size_t mid = lo + (hi - lo) / 2;
        /* median of three as pivot, moved to hi */
        if (v[mid] < v[lo]) rcml_swapf(&v[mid], &v[lo]);
        if (v[hi] < v[lo]) rcml_swapf(&v[hi], &v[lo]);
        if (v[mid] < v[hi]) rcml_swapf(&v[mid], &v[hi]);
        float pivot = v[hi];
        /* three-way partition so runs of equal values cannot degrade it */
        size_t lt = lo, i = lo, gt = hi;
        while (i <= gt) {
            if (v[i] < pivot) {
                rcml_swapf(&v[lt++], &v[i++]);
            } else if (v[i] > pivot) {
                rcml_swapf(&v[i], &v[gt]);
                if (gt == 0) break;
                gt--;
            } else {
                i++;
            }
        }
        if (k < lt) {
            hi = lt - 1;
        } else if (k > gt) {
            lo = gt + 1;
        } else {
            return;
        }
    }
}

float rcml_median_f32(float *v, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (v[i] != v[i]) return v[i];
    size_t k = n / 2;
    rcml_select(v, n, k);
    if (n % 2) return v[k];
    /* the other middle value is the max of the lower part */
    float lo = v[0];
    for (i = 1; i < k; i++) lo = v[i] > lo ? v[i] : lo;
    return (float)(((double)lo + (double)v[k]) * 0.5);
}

/* ---- axis reductions */
#define RCML_TILE 256
#define RCML_LSE_CHUNK 1024
/* rows of a last-axis cumsum scanned together (independent add chains) */
#define RCML_SCAN_ROWS 8
/* internal ops beside rcml_reduce_t: index results and the running sums */
#define RCML_ARGMAX (-1)
#define RCML_ARGMIN (-2)
#define RCML_CUMSUM (-3)
#define RCML_CUMSUM_REV (-4)

typedef struct {
    const rcml_ew_table_t *t;
    int op;
    const float *x;
    size_t outer, len, inner, ntiles;
    double ddof;
    float *out;
    int64_t *idx;
} rcml_axis_job_t;

static float rcml_finish_var(double ss, size_t len, double ddof, int take_sqrt) {
    double d = (double)len - ddof;
    /* as NumPy and torch, ss / max(d, 0): no degrees of freedom left gives +inf, or NaN
     * for 0 / 0 (and a NaN input). Bit patterns, not the INFINITY/NAN macros: older MSVC
     * headers define NAN as INFINITY * 0, which warns (C4756) */
    double v = d > 0    ? ss / d
               : ss > 0 ? (double)rcml_as_float(0x7f800000u)
                        : (double)rcml_as_float(0x7fc00000u);
    return (float)(take_sqrt ? sqrt(v) : v);
}

static void rcml_axis_units(void *ctx, size_t b, size_t e) {
    rcml_axis_job_t *j = (rcml_axis_job_t *)ctx;
    size_t u;
    for (u = b; u < e; u++) {
        size_t o = u / j->ntiles, t0 = (u % j->ntiles) * RCML_TILE;
        size_t tw = RCML_MIN((size_t)RCML_TILE, j->inner - t0);
        const float *base = j->x + o * j->len * j->inner + t0;
        float *dst = j->out ? j->out + o * j->inner + t0 : NULL;
        size_t r, i;
        /* contiguous rows: the backend's whole-row kernels (logsumexp: below); the other
         * ops take the column path below with one column */
        if (j->inner == 1 && j->op <= RCML_RED_STD && j->op >= RCML_ARGMIN) {
            const float *row = j->x + o * j->len;
            double s;
            switch (j->op) {
            case RCML_RED_SUM: dst[0] = (float)j->t->sum(row, j->len); break;
            case RCML_RED_MEAN: dst[0] = (float)(j->t->sum(row, j->len) / (double)j->len); break;
            case RCML_RED_MIN: dst[0] = j->t->min(row, j->len); break;
            case RCML_RED_MAX: dst[0] = j->t->max(row, j->len); break;
            case RCML_RED_VAR:
            case RCML_RED_STD:
                s = j->t->sum(row, j->len) / (double)j->len;
                dst[0] = rcml_finish_var(j->t->sumsqdev(row, j->len, s), j->len, j->ddof,
                                         j->op == RCML_RED_STD);
                break;
            default: j->idx[o] = (int64_t)rcml_argext(row, j->len, j->op == RCML_ARGMIN); break;
            }
            continue;
        }
        if (j->inner == 1 && j->op == RCML_RED_LOGSUMEXP) {
            /* contiguous rows (axis 2, (1, 2), all): the table's max, x - m, float exp
             * (rcml_expf, the same bits on every backend) and double sum, in chunks of
             * RCML_LSE_CHUNK (in L1). 16x256x256 over axis 2, 1 thread: 0.8 ms vs 9.7 ms
             * for the column path's libm exp((double)x - m) per element. exp's argument
             * x - m is rounded to float (an error <= 2^-24 |x - m|, x - m <= 0) and expf
             * is ~1 ulp, so the sum of the terms is within a few float ulps, relative. */
            const float *row = j->x + o * j->len;
            float m = j->t->max(row, j->len), buf[RCML_LSE_CHUNK];
            double s = 0.0;
            if (m - m != 0.0f) {
                dst[0] = m; /* a NaN (max gives NaN), or +-inf: +inf, or a row of -inf */
                continue;
            }
            for (r = 0; r < j->len; r += RCML_LSE_CHUNK) {
                size_t w = RCML_MIN((size_t)RCML_LSE_CHUNK, j->len - r);
                j->t->binary_scalar(RCML_SUB, row + r, m, buf, w);
                j->t->unary(RCML_EXP, buf, 0.0f, 0.0f, buf, w);
                s += j->t->sum(buf, w);
            }
            dst[0] = (float)((double)m + log(s));
            continue;
        }
        if ((j->op == RCML_CUMSUM || j->op == RCML_CUMSUM_REV) && j->inner == 1) {
            /* rows of their own (the last axis): up to RCML_SCAN_ROWS of this chunk's rows
             * at once, each still summed in order (the same bits), so the adds form that
             * many independent chains instead of one row's latency-bound chain */
            const size_t nrow = RCML_MIN((size_t)RCML_SCAN_ROWS, e - u), len = j->len;
            double acc[RCML_SCAN_ROWS];
            const float *x0 = j->x + u * len;
            float *y0 = j->out + u * len;
            for (i = 0; i < nrow; i++) acc[i] = 0.0;
            for (r = 0; r < len; r++) {
                const size_t rr = j->op == RCML_CUMSUM ? r : len - 1 - r;
                for (i = 0; i < nrow; i++) {
                    acc[i] += (double)x0[i * len + rr];
                    y0[i * len + rr] = (float)acc[i];
                }
            }
            u += nrow - 1;
            continue;
        }
        if (j->op == RCML_CUMSUM || j->op == RCML_CUMSUM_REV) {
            double acc[RCML_TILE];
            float *dst0 = j->out + o * j->len * j->inner + t0;
            for (i = 0; i < tw; i++) acc[i] = 0.0;
            for (r = 0; r < j->len; r++) {
                size_t rr = j->op == RCML_CUMSUM ? r : j->len - 1 - r;
                const float *p = base + rr * j->inner;
                float *q = dst0 + rr * j->inner;
                for (i = 0; i < tw; i++) {
                    acc[i] += (double)p[i];
                    q[i] = (float)acc[i];
                }
            }
            continue;
        }
        if (j->op == RCML_RED_PROD) {
            double acc[RCML_TILE];
            for (i = 0; i < tw; i++) acc[i] = 1.0;
            for (r = 0; r < j->len; r++) {
                const float *p = base + r * j->inner;
                for (i = 0; i < tw; i++) acc[i] *= (double)p[i];
            }
            for (i = 0; i < tw; i++) dst[i] = (float)acc[i];
            continue;
        }
        if (j->op == RCML_RED_ANY || j->op == RCML_RED_ALL) {
            /* x != 0 is true for NaN, as NumPy's truth value */
            int acc[RCML_TILE], all = j->op == RCML_RED_ALL;
            for (i = 0; i < tw; i++) acc[i] = all;
            for (r = 0; r < j->len; r++) {
                const float *p = base + r * j->inner;
                if (all) {
                    for (i = 0; i < tw; i++) acc[i] &= p[i] != 0.0f;
                } else {
                    for (i = 0; i < tw; i++) acc[i] |= p[i] != 0.0f;
                }
            }
            for (i = 0; i < tw; i++) dst[i] = acc[i] ? 1.0f : 0.0f;
            continue;
        }
        if (j->op == RCML_RED_LOGSUMEXP) {
            /* max-shift: every exp argument is <= 0, so nothing overflows and the largest
             * term is 1 (no total underflow either) */
            float m[RCML_TILE];
            double acc[RCML_TILE];
            int nan[RCML_TILE];
            for (i = 0; i < tw; i++) {
                m[i] = base[i];
                nan[i] = base[i] != base[i];
                acc[i] = 0.0;
            }
            for (r = 1; r < j->len; r++) {
                const float *p = base + r * j->inner;
                for (i = 0; i < tw; i++) {
                    nan[i] |= p[i] != p[i];
                    m[i] = p[i] > m[i] ? p[i] : m[i];
                }
            }
            for (r = 0; r < j->len; r++) {
                const float *p = base + r * j->inner;
                for (i = 0; i < tw; i++) acc[i] += exp((double)p[i] - (double)m[i]);
            }
            for (i = 0; i < tw; i++) {
                if (nan[i]) {
                    dst[i] = rcml_as_float(0x7fc00000u);
                } else if (m[i] - m[i] != 0.0f) {
                    dst[i] = m[i]; /* +-inf: the sum is that infinity (or all -inf: -inf) */
                } else {
                    dst[i] = (float)((double)m[i] + log(acc[i]));
                }
            }
            continue;
        }
        if (j->idx) {
            float best[RCML_TILE];
            int is_min = j->op == RCML_ARGMIN;
            int64_t *di = j->idx + o * j->inner + t0;
            for (i = 0; i < tw; i++) {
                best[i] = base[i];
                di[i] = 0;
            }
            for (r = 1; r < j->len; r++) {
                const float *p = base + r * j->inner;
                for (i = 0; i < tw; i++) {
                    float v = p[i], m = best[i];
                    if (m != m) continue; /* first NaN wins */
                    if (v != v || (is_min ? v < m : v > m)) {
                        best[i] = v;
                        di[i] = (int64_t)r;
                    }
                }
            }
            continue;
        }
        if (j->op == RCML_RED_MIN || j->op == RCML_RED_MAX) {
            float acc[RCML_TILE];
            int nan[RCML_TILE];
            for (i = 0; i < tw; i++) {
                acc[i] = base[i];
                nan[i] = base[i] != base[i];
            }
            for (r = 1; r < j->len; r++) {
                const float *p = base + r * j->inner;
                if (j->op == RCML_RED_MIN) {
                    for (i = 0; i < tw; i++) {
                        nan[i] |= p[i] != p[i];
                        acc[i] = p[i] < acc[i] ? p[i] : acc[i];
                    }
                } else {
                    for (i = 0; i < tw; i++) {
                        nan[i] |= p[i] != p[i];
                        acc[i] = p[i] > acc[i] ? p[i] : acc[i];
                    }
                }
            }
            for (i = 0; i < tw; i++) dst[i] = nan[i] ? rcml_as_float(0x7fc00000u) : acc[i];
            continue;
        }
        double acc[RCML_TILE];
        for (i = 0; i < tw; i++) acc[i] = 0.0;
        j->t->cols_acc(base, j->len, j->inner, tw, acc);
        if (j->op == RCML_RED_SUM) {
            for (i = 0; i < tw; i++) dst[i] = (float)acc[i];
            continue;
        }
        for (i = 0; i < tw; i++) acc[i] /= (double)j->len;
        if (j->op == RCML_RED_MEAN) {
            for (i = 0; i < tw; i++) dst[i] = (float)acc[i];
            continue;
        }
        double ss[RCML_TILE];
        for (i = 0; i < tw; i++) ss[i] = 0.0;
        rcml_kernels()->norm->cols_sqdev(base, j->len, j->inner, tw, acc, ss);
        for (i = 0; i < tw; i++)
            dst[i] = rcml_finish_var(ss[i], j->len, j->ddof, j->op == RCML_RED_STD);
    }
}

static void rcml_axis_run(rcml_axis_job_t *j) {
    j->t = rcml_kernels()->ew;
    j->ntiles = j->inner == 1 ? 1 : (j->inner + RCML_TILE - 1) / RCML_TILE;
    size_t units = j->outer * j->ntiles;
    size_t per = j->len * RCML_MIN(j->inner, (size_t)RCML_TILE);
    size_t grain = RCML_MAX((size_t)1, ((size_t)1 << 16) / RCML_MAX(per, (size_t)1));
    rcml_parallel_for(units, grain, rcml_axis_units, j);
}

void rcml_reduce_axis_f32(int op, const float *x, size_t outer, size_t len, size_t inner,
                          double ddof, float *out) {
    rcml_axis_job_t j = {NULL, op, x, outer, len, inner, 0, ddof, out, NULL};
    if (outer == 0 || inner == 0 || len == 0) return;
    rcml_axis_run(&j);
}

/* ---- sum and mean over axes (0, 2) of x (L, R, C): out[r] = sum_{l, c} x[l, r, c],
 * without the transpose to (L, C, R) that the other ops over (0, 2) take. A unit is a
 * block of at most RCML_TILE consecutive r (the blocks depend on the shape only), each r
 * summed by one unit in a fixed order, so the bits depend neither on the thread count nor
 * on the backend. Two orders, both in double:
 * - rows: the table's row sum per (l, r), added over l in order. Its cost per row is a
 *   call, so it wins for long rows and few layers;
 * - columns: the table's column sums over l of a block of whole rows (the (L, R*C) view,
 *   at most RCML_TILE columns), then each r's C column sums in a fixed order. Its cost per
 *   (r, c) is the final add, so it wins for many layers.
 * Rows when C > RCML_TILE, or C >= 64 and C >= 16 L (measured at 1 thread, us, rows vs
 * columns: 16x256x256 171-187 vs 209-215, 2x1024x128 39-47 vs 100-102, 4x512x128 41-67 vs
 * 51-71; 16x128x128 39-60 vs 38-46, 16x256x64 58-92 vs 35-44, 64x64x128 112-145 vs
 * 77-109, 256x16x256 245-268 vs 201-238). Both beat the transpose + column pass on
 * every shape measured, e.g. 1000x8x4 5-7 vs 30-34, 16x1024x16 46-50 vs 179-201,
 * 1x1024x1024 196-227 vs 1028-1045; 4x64x3 and 2x8x2 are ~1.5 us either way. */
#define RCML_SUM02_ROW_MIN 64

typedef struct {
    const rcml_ew_table_t *t;
    const float *x;
    size_t L, R, C, block;
    int mean, rows;
    float *out;
} rcml_sum02_job_t;

static void rcml_sum02_units(void *ctx, size_t b, size_t e) {
    const rcml_sum02_job_t *j = (const rcml_sum02_job_t *)ctx;
    double acc[RCML_TILE], div = (double)j->L * (double)j->C;
    size_t u, l, r, c;
    for (u = b; u < e; u++) {
        size_t r0 = u * j->block, nr = RCML_MIN(j->block, j->R - r0);
        if (j->rows) {
            for (r = 0; r < nr; r++) acc[r] = 0.0;
            for (l = 0; l < j->L; l++) {
                const float *p = j->x + (l * j->R + r0) * j->C;
                for (r = 0; r < nr; r++) acc[r] += j->t->sum(p + r * j->C, j->C);
            }
        } else {
            double cols[RCML_TILE];
            for (c = 0; c < nr * j->C; c++) cols[c] = 0.0;
            j->t->cols_acc(j->x + r0 * j->C, j->L, j->R * j->C, nr * j->C, cols);
            for (r = 0; r < nr; r++) {
                /* four partial sums (c mod 4), then pairwise: a fixed order, four
                 * independent add chains */
                const double *q = cols + r * j->C;
                double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
                for (c = 0; c + 4 <= j->C; c += 4) {
                    s0 += q[c];
                    s1 += q[c + 1];
                    s2 += q[c + 2];
                    s3 += q[c + 3];
                }
                for (; c < j->C; c++) s0 += q[c];
                acc[r] = (s0 + s1) + (s2 + s3);
            }
        }
        for (r = 0; r < nr; r++) j->out[r0 + r] = (float)(j->mean ? acc[r] / div : acc[r]);
    }
}

int rcml_sum02_f32(int op, const float *x, size_t L, size_t R, size_t C, float *out) {
    rcml_sum02_job_t j;
    if (op != RCML_RED_SUM && op != RCML_RED_MEAN) return -1;
    if (R == 0) return 0;
    if (L == 0 || C == 0) {
        rcml_fill_f32(op == RCML_RED_SUM ? 0.0f : rcml_as_float(0x7fc00000u), out, R);
        return 0;
    }
    j.t = rcml_kernels()->ew;
    j.x = x;
    j.L = L;
    j.R = R;
    j.C = C;
    j.mean = op == RCML_RED_MEAN;
    j.out = out;
    j.rows = C > RCML_TILE || (C >= RCML_SUM02_ROW_MIN && C >= 16 * L);
    /* columns: whole rows in a block of at most RCML_TILE columns; rows: blocks of about
     * 2^16 elements (at least one r, at most RCML_TILE) */
    if (!j.rows) {
        j.block = RCML_TILE / C;
    } else {
        j.block = RCML_MAX((size_t)1, ((size_t)1 << 16) / (L * C));
        j.block = RCML_MIN(j.block, (size_t)RCML_TILE);
    }
    size_t units = (R + j.block - 1) / j.block;
    size_t grain = RCML_MAX((size_t)1, ((size_t)1 << 16) / RCML_MAX(L * C * j.block, (size_t)1));
    rcml_parallel_for(units, grain, rcml_sum02_units, &j);
    return 0;
}

void rcml_argmax_axis_f32(const float *x, size_t outer, size_t len, size_t inner, int64_t *out) {
    rcml_axis_job_t j = {NULL, RCML_ARGMAX, x, outer, len, inner, 0, 0.0, NULL, out};
    if (outer == 0 || inner == 0 || len == 0) return;
    rcml_axis_run(&j);
}

void rcml_argmin_axis_f32(const float *x, size_t outer, size_t len, size_t inner, int64_t *out) {
    rcml_axis_job_t j = {NULL, RCML_ARGMIN, x, outer, len, inner, 0, 0.0, NULL, out};
    if (outer == 0 || inner == 0 || len == 0) return;
    rcml_axis_run(&j);
}

void rcml_cumsum_axis_f32(const float *x, size_t outer, size_t len, size_t inner, int reverse,
                          float *out) {
    rcml_axis_job_t j = {
        NULL, reverse ? RCML_CUMSUM_REV : RCML_CUMSUM, x, outer, len, inner, 0, 0.0, out, NULL};
    if (outer == 0 || inner == 0 || len == 0) return;
    rcml_axis_run(&j);
}
