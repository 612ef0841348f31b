/* shape.c - data movement: transpose, pad/crop. */
#include "rcmlrs.h"
#include "internal.h"

#include <string.h>

/* Cache-blocked transpose: 32x32 tiles keep both the read and the write side in L1. */
void rcml_transpose_f32(const float *x, size_t layers, size_t rows, size_t cols, float *out) {
    const size_t B = 32;
    size_t l, i0, j0, i, j;
    for (l = 0; l < layers; l++) {
        const float *src = x + l * rows * cols;
        float *dst = out + l * rows * cols;
        for (i0 = 0; i0 < rows; i0 += B) {
            size_t i1 = RCML_MIN(rows, i0 + B);
            for (j0 = 0; j0 < cols; j0 += B) {
                size_t j1 = RCML_MIN(cols, j0 + B);
                for (i = i0; i < i1; i++)
                    for (j = j0; j < j1; j++) dst[j * rows + i] = src[i * cols + j];
            }
        }
    }
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
