/* nn_gemm_body.h - the small-matrix product used by rc.nn, ONE source compiled once per
 * backend (nn_kernels.c includes it with RCML_NN_SFX set). No packing: the shapes of a
 * training step (a batch of 16-256 rows times a few hundred columns) are small enough
 * that B stays in L1/L2, and packing would cost more than it saves.
 *
 * C (m x n) = beta * C + op(A) @ B, beta 0 or 1; op(A) is m x k (A stored k x m when
 * trans_a); B is k x n; all row-major and contiguous. Each C element is accumulated in
 * p order starting from beta * C, so every backend gives the same bits (no FP
 * contraction in the build). C must not overlap A or B.
 */
#define RCML_NN_MR 4
#define RCML_NN_NR 16

static void RCML_NN_SFX(nn_gemm)(int trans_a, size_t m, size_t n, size_t k, const float *A,
                                 const float *B, float beta, float *C) {
    const size_t si = trans_a ? 1 : k; /* A(i, p) = A[i * si + p * sp] */
    const size_t sp = trans_a ? m : 1;
    size_t i0, j0, p, r, j;
    for (i0 = 0; i0 < m; i0 += RCML_NN_MR) {
        const size_t mr = RCML_MIN(RCML_NN_MR, m - i0);
        for (j0 = 0; j0 < n; j0 += RCML_NN_NR) {
            const size_t nr = RCML_MIN(RCML_NN_NR, n - j0);
            float acc[RCML_NN_MR][RCML_NN_NR];
            if (mr == RCML_NN_MR && nr == RCML_NN_NR) {
                /* full tile: fixed trip counts so the accumulators live in registers */
                for (r = 0; r < RCML_NN_MR; r++)
                    for (j = 0; j < RCML_NN_NR; j++)
                        acc[r][j] = beta == 0.0f ? 0.0f : C[(i0 + r) * n + j0 + j];
                const float *a = A + i0 * si;
                for (p = 0; p < k; p++) {
                    const float *b = B + p * n + j0;
                    const float a0 = a[0 * si + p * sp], a1 = a[1 * si + p * sp];
                    const float a2 = a[2 * si + p * sp], a3 = a[3 * si + p * sp];
                    for (j = 0; j < RCML_NN_NR; j++) {
                        const float bj = b[j];
                        acc[0][j] = acc[0][j] + a0 * bj;
                        acc[1][j] = acc[1][j] + a1 * bj;
                        acc[2][j] = acc[2][j] + a2 * bj;
                        acc[3][j] = acc[3][j] + a3 * bj;
                    }
                }
                for (r = 0; r < RCML_NN_MR; r++)
                    for (j = 0; j < RCML_NN_NR; j++) C[(i0 + r) * n + j0 + j] = acc[r][j];
            } else {
                /* edge tile: same arithmetic order, with bounds */
                for (r = 0; r < mr; r++)
                    for (j = 0; j < nr; j++)
                        acc[r][j] = beta == 0.0f ? 0.0f : C[(i0 + r) * n + j0 + j];
                for (p = 0; p < k; p++) {
                    const float *b = B + p * n + j0;
                    for (r = 0; r < mr; r++) {
                        const float ar = A[(i0 + r) * si + p * sp];
                        for (j = 0; j < nr; j++) acc[r][j] = acc[r][j] + ar * b[j];
                    }
                }
                for (r = 0; r < mr; r++)
                    for (j = 0; j < nr; j++) C[(i0 + r) * n + j0 + j] = acc[r][j];
            }
        }
    }
}
