/* matmul.c - matrix product (a simple blocked reference; the packed GEMM replaces it). */
#include "rcmlrs.h"
#include "internal.h"

static float rcml_at(const float *X, int trans, size_t rows, size_t cols, size_t i, size_t j) {
    /* element (i, j) of op(X) where op(X) is rows x cols */
    return trans ? X[j * rows + i] : X[i * cols + j];
}

void rcml_gemm_f32(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                   const float *A, const float *B, float beta, float *C) {
    size_t i, j, p;
    for (i = 0; i < m; i++) {
        for (j = 0; j < n; j++) {
            float acc = 0.0f;
            for (p = 0; p < k; p++)
                acc += rcml_at(A, trans_a, m, k, i, p) * rcml_at(B, trans_b, k, n, p, j);
            C[i * n + j] = alpha * acc + (beta == 0.0f ? 0.0f : beta * C[i * n + j]);
        }
    }
}

void rcml_gemm_batched_f32(size_t layers, int trans_a, int trans_b, size_t m, size_t n,
                           size_t k, float alpha, const float *A, size_t stride_a,
                           const float *B, size_t stride_b, float beta, float *C) {
    size_t l;
    for (l = 0; l < layers; l++)
        rcml_gemm_f32(trans_a, trans_b, m, n, k, alpha, A + l * stride_a, B + l * stride_b, beta,
                      C + l * m * n);
}
