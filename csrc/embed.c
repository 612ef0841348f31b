/* embed.c - the embedding gradient: a scatter-add of the output gradient's rows into the
 * table's rows. The arithmetic is shape.c's scatter (rcml_scatter3_f32, accumulating in
 * row order); this file only splits it over blocks of table columns, so every element of
 * the table is written by one chunk, adding the rows that read it in their order: the bits
 * never depend on the thread count, however often an id repeats. The forward pass is the
 * plain gather (rcml_gather3_f32), called from the binding (rcmlrs/_embed.pyx).
 */
#include "rcmlrs.h"
#include "internal.h"

/* columns per chunk: a multiple of 16 (whole cache lines of a row) */
#define RCML_EMBED_COLS ((size_t)16)

typedef struct {
    const float *g;
    const int64_t *rows, *cols;
    size_t n, d;
    float *dtable;
} rcml_embed_job_t;

static void rcml_embed_chunk(void *ctx, size_t b, size_t e) {
    const rcml_embed_job_t *j = (const rcml_embed_job_t *)ctx;
    static const int64_t zero = 0;
    /* g[i*d + b + c] for i < n, c < e - b, added at dtable[rows[i] + cols[b + c]] */
    const ptrdiff_t vs[3] = {0, (ptrdiff_t)j->d, 1};
    rcml_scatter3_f32(j->g + b, vs, &zero, 1, j->rows, j->n, j->cols + b, e - b, 1,
                      RCML_SCATTER_SERIAL, j->dtable);
}

void rcml_embedding_backward_f32(const float *g, const int64_t *rows, size_t n, const int64_t *cols,
                                 size_t d, float *dtable) {
    rcml_embed_job_t j;
    size_t grain;
    if (n == 0 || d == 0) return;
    j.g = g;
    j.rows = rows;
    j.cols = cols;
    j.n = n;
    j.d = d;
    j.dtable = dtable;
    if (n * d < RCML_EW_PAR_MIN) {
        rcml_embed_chunk(&j, 0, d);
        return;
    }
    /* at least RCML_EW_GRAIN elements per chunk, in whole blocks of columns */
    grain = RCML_MAX(RCML_EMBED_COLS, RCML_EW_GRAIN / n);
    grain = (grain + RCML_EMBED_COLS - 1) / RCML_EMBED_COLS * RCML_EMBED_COLS;
    rcml_parallel_for(d, grain, rcml_embed_chunk, &j);
}
