/* shape.c - data movement: transpose, pad/crop. */
#include "rcmlrs.h"
#include "internal.h"
#include "kernels.h"

#include <string.h>

/* A 16 x 16 block for backends without a register transpose (gemm.h's tr16): through a
 * 1 KB buffer that stays in L1, so each destination row is still written whole. */
#define RCML_TR 16
static void rcml_tr16_portable(const float *RCML_RESTRICT s, size_t lds, float *RCML_RESTRICT d,
                               size_t ldd) {
    float t[RCML_TR * RCML_TR];
    size_t i, j;
    for (i = 0; i < RCML_TR; i++)
        for (j = 0; j < RCML_TR; j++) t[j * RCML_TR + i] = s[i * lds + j];
    for (j = 0; j < RCML_TR; j++) memcpy(d + j * ldd, t + j * RCML_TR, RCML_TR * sizeof(float));
}

/* One layer in 16 x 16 tiles: 16 floats are one 64-byte line, so every source and
 * destination line is used whole within a tile. The plain blocked loop wrote each
 * destination line a float at a time, 16 visits per line, and at a power-of-two stride
 * those lines shared an L1 set and were evicted between visits (4 ns per float at
 * 1024 x 1024 and at 4096 x 32; benchmarks/bench_tensor_ops.py has the comparison with
 * NumPy). Edges (fewer than 16 rows or columns left) run in blocks that stay in L1. */
static void rcml_transpose_layer(void (*tr16)(const float *, size_t, float *, size_t),
                                 const float *RCML_RESTRICT src, size_t rows, size_t cols,
                                 float *RCML_RESTRICT dst) {
    const size_t rf = rows / RCML_TR * RCML_TR, cf = cols / RCML_TR * RCML_TR;
    size_t i0, j0, i, j;
    for (i0 = 0; i0 < rf; i0 += RCML_TR) {
        for (j0 = 0; j0 < cf; j0 += RCML_TR)
            tr16(src + i0 * cols + j0, cols, dst + j0 * rows + i0, rows);
        for (j = cf; j < cols; j++) /* the last columns of these rows */
            for (i = 0; i < RCML_TR; i++) dst[j * rows + i0 + i] = src[(i0 + i) * cols + j];
    }
    /* the last rows, 16 columns at a time: a line of each source row, and destination
     * rows that lie together (fewer than 16 floats each) */
    for (j0 = 0; rf < rows && j0 < cols; j0 += RCML_TR) {
        const size_t j1 = RCML_MIN(cols, j0 + RCML_TR);
        for (i = rf; i < rows; i++)
            for (j = j0; j < j1; j++) dst[j * rows + i] = src[i * cols + j];
    }
}

void rcml_transpose_f32(const float *x, size_t layers, size_t rows, size_t cols, float *out) {
    const rcml_gemm_kernels_t *kr = rcml_kernels()->gemm;
    void (*tr16)(const float *, size_t, float *, size_t) =
        kr && kr->tr16 ? kr->tr16 : rcml_tr16_portable;
    size_t l;
    for (l = 0; l < layers; l++)
        rcml_transpose_layer(tr16, x + l * rows * cols, rows, cols, out + l * rows * cols);
}

void rcml_pad_f32(const float *x, size_t L, size_t R, size_t C, float fill, float *out, size_t L2,
                  size_t R2, size_t C2) {
    size_t l, r;
    size_t lc = RCML_MIN(L, L2), rc = RCML_MIN(R, R2), cc = RCML_MIN(C, C2);
    for (l = 0; l < L2; l++) {
        for (r = 0; r < R2; r++) {
            float *dst = out + (l * R2 + r) * C2;
            if (l < lc && r < rc) {
                memcpy(dst, x + (l * R + r) * C, cc * sizeof(float));
                rcml_fill_f32(fill, dst + cc, C2 - cc);
            } else {
                rcml_fill_f32(fill, dst, C2);
            }
        }
    }
}

/* ------------------------------------------------------------ gather / scatter
 * Outer (per-axis) indexing: element (a, b, c) of the selection lives at
 * o0[a] + o1[b] + o2[c] in the indexed buffer. Indexing, flip, repeat, tile and any axis
 * permutation are all this one pattern with different offset lists, and their gradients
 * are the matching scatter-add. Work is cut into chunks of the flat selection (or of its
 * rows) whose boundaries depend only on the sizes, so results never depend on threads. */

/* how the last-axis offsets of a gather run: one unit-step run, long runs, one run
 * backwards (a flip of the last axis), or none of these */
enum { RCML_RUN_NONE = 0, RCML_RUN_SOME = 1, RCML_RUN_ONE = 2, RCML_RUN_REV = 3 };

typedef struct {
    const float *src;
    float *dst;
    const int64_t *o[3];
    size_t n1, n2;
    ptrdiff_t vs[3];
    int accumulate, runs;
} rcml_g3_job_t;

/* gather the flat selection range [b, e): one run per (a, b) row piece */
static void rcml_gather3_chunk(void *ctx, size_t b, size_t e) {
    const rcml_g3_job_t *j = (const rcml_g3_job_t *)ctx;
    size_t i = b, k;
    while (i < e) {
        size_t row = i / j->n2, c = i % j->n2;
        size_t run = RCML_MIN(e - i, j->n2 - c);
        const float *base = j->src + (size_t)j->o[0][row / j->n1] + (size_t)j->o[1][row % j->n1];
        const int64_t *o2 = j->o[2] + c;
        float *out = j->dst + i;
        if (j->runs == RCML_RUN_ONE) { /* o2[k] = j->o[2][0] + c + k: only [0] is read */
            memcpy(out, base + (size_t)j->o[2][0] + c, run * sizeof(float));
        } else if (j->runs == RCML_RUN_REV) {
            /* a reversed copy, which the compiler vectorises (loads and a lane reversal);
             * the per-element offset loop below does not (flip axis 2 was 0.73x NumPy) */
            const float *s = base + (size_t)o2[0];
            for (k = 0; k < run; k++) out[k] = *(s - k);
        } else if (j->runs == RCML_RUN_SOME) {
            k = 0;
            while (k < run) {
                size_t s = k++;
                while (k < run && o2[k] == o2[k - 1] + 1) k++;
                memcpy(out + s, base + (size_t)o2[s], (k - s) * sizeof(float));
            }
        } else {
            for (k = 0; k < run; k++) out[k] = base[(size_t)o2[k]];
        }
        i += run;
    }
}

void rcml_gather3_f32(const float *x, const int64_t *o0, size_t n0, const int64_t *o1, size_t n1,
                      const int64_t *o2, size_t n2, float *out) {
    rcml_g3_job_t j;
    size_t total = n0 * n1 * n2, c, breaks, rev;
    if (total == 0) return;
    j.src = x;
    j.dst = out;
    j.o[0] = o0;
    j.o[1] = o1;
    j.o[2] = o2;
    j.n1 = n1;
    j.n2 = n2;
    j.vs[0] = j.vs[1] = j.vs[2] = 0;
    j.accumulate = 0;
    /* unit-step runs along the last axis (slices, whole rows, tiles of rows) are copied
     * with memcpy when they are long enough on average to beat a plain loop */
    breaks = rev = 0;
    for (c = 1; c < n2; c++) {
        breaks += o2[c] != o2[c - 1] + 1;
        rev += o2[c] != o2[c - 1] - 1;
    }
    j.runs = breaks == 0 ? RCML_RUN_ONE : (breaks + 1) * 16 <= n2 ? RCML_RUN_SOME : RCML_RUN_NONE;
    if (rev == 0 && n2 >= 8) j.runs = RCML_RUN_REV;
    if (j.runs == RCML_RUN_ONE) {
        /* rows that follow each other in x (o1 steps by n2: whole layers picked by x[idx],
         * t[:, a:b] of whole rows) make one run per layer: a memcpy per layer, not per
         * row (x[idx] of 64 8x8 layers: 6.2 us, twice NumPy's time, with one per row) */
        for (c = 1; c < n1 && o1[c] == o1[c - 1] + (int64_t)n2; c++) {
        }
        if (c == n1) {
            j.n2 = n1 * n2;
            j.n1 = 1;
        }
    }
    if (total < RCML_EW_PAR_MIN) {
        rcml_gather3_chunk(&j, 0, total);
        return;
    }
    rcml_parallel_for(total, RCML_EW_GRAIN, rcml_gather3_chunk, &j);
}

/* scatter the flat selection range [b, e) of v (strides vs) into dst, in order */
static void rcml_scatter3_chunk(void *ctx, size_t b, size_t e) {
    const rcml_g3_job_t *j = (const rcml_g3_job_t *)ctx;
    size_t i = b, k;
    while (i < e) {
        size_t row = i / j->n2, c = i % j->n2;
        size_t run = RCML_MIN(e - i, j->n2 - c);
        size_t a = row / j->n1, bb = row % j->n1;
        float *base = j->dst + (size_t)j->o[0][a] + (size_t)j->o[1][bb];
        const float *v =
            j->src + (ptrdiff_t)a * j->vs[0] + (ptrdiff_t)bb * j->vs[1] + (ptrdiff_t)c * j->vs[2];
        const int64_t *o2 = j->o[2] + c;
        if (j->accumulate) {
            for (k = 0; k < run; k++) base[(size_t)o2[k]] += v[(ptrdiff_t)k * j->vs[2]];
        } else {
            for (k = 0; k < run; k++) base[(size_t)o2[k]] = v[(ptrdiff_t)k * j->vs[2]];
        }
        i += run;
    }
}

static void rcml_scatter3_rows(void *ctx, size_t b, size_t e) {
    const rcml_g3_job_t *j = (const rcml_g3_job_t *)ctx;
    rcml_scatter3_chunk(ctx, b * j->n2, e * j->n2);
}

void rcml_scatter3_f32(const float *v, const ptrdiff_t vs[3], const int64_t *o0, size_t n0,
                       const int64_t *o1, size_t n1, const int64_t *o2, size_t n2, int accumulate,
                       int mode, float *out) {
    rcml_g3_job_t j;
    size_t total = n0 * n1 * n2, rows = n0 * n1;
    if (total == 0) return;
    j.src = v;
    j.dst = out;
    j.o[0] = o0;
    j.o[1] = o1;
    j.o[2] = o2;
    j.n1 = n1;
    j.n2 = n2;
    j.vs[0] = vs[0];
    j.vs[1] = vs[1];
    j.vs[2] = vs[2];
    j.accumulate = accumulate;
    j.runs = RCML_RUN_NONE;
    /* repeated destinations must be visited in (a, b, c) order: the last write wins and
     * sums always add in the same order, so such a scatter runs on one thread */
    if (total < RCML_EW_PAR_MIN || mode == RCML_SCATTER_SERIAL) {
        rcml_scatter3_chunk(&j, 0, total);
    } else if (mode == RCML_SCATTER_ROWS) {
        rcml_parallel_for(rows, RCML_MAX((size_t)1, RCML_EW_GRAIN / n2), rcml_scatter3_rows, &j);
    } else {
        rcml_parallel_for(total, RCML_EW_GRAIN, rcml_scatter3_chunk, &j);
    }
}
