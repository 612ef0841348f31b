/* gemm_avx2.c - AVX2 + FMA micro-kernels for the packed GEMM.
 *
 * Register tile 6 x 16, the classic Haswell shape: 6 rows of C, two ymm wide, is 12
 * accumulators; with two B vectors and one broadcast that is 15 of the 16 ymm registers.
 * Per k step: 12 FMAs for 2 loads + 6 broadcasts. Two FMA ports with latency 4-5 need
 * 8-10 independent chains; 12 is enough.
 */
#include "internal.h"
#include "gemm.h"

#ifdef RCML_GEMM_X86_KERNELS
#include <immintrin.h>

#include "target_avx2_begin.h"

#define MR 6
#define NR 16
#include "transpose_x86.h"

/* C = alpha*acc + beta*C on an mr x nr corner (beta == 0: C is not read). */
RCML_FORCE_INLINE void rcml_store_tile_avx2(__m256 *c0, __m256 *c1, float *c, size_t ldc, size_t mr,
                                            size_t nr, float alpha, float beta) {
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    size_t r, j;
    if (mr == MR && nr == NR) {
        for (r = 0; r < MR; r++) {
            float *cr = c + r * ldc;
            __m256 t0 = _mm256_mul_ps(va, c0[r]), t1 = _mm256_mul_ps(va, c1[r]);
            if (beta != 0.0f) {
                t0 = _mm256_add_ps(t0, _mm256_mul_ps(vb, _mm256_loadu_ps(cr)));
                t1 = _mm256_add_ps(t1, _mm256_mul_ps(vb, _mm256_loadu_ps(cr + 8)));
            }
            _mm256_storeu_ps(cr, t0);
            _mm256_storeu_ps(cr + 8, t1);
        }
        return;
    }
    /* Edge tile: spill the accumulators and finish in scalar code so only the mr x nr
     * valid elements of C are read or written. Same arithmetic as above. */
    {
        float acc[MR][NR];
        for (r = 0; r < MR; r++) {
            _mm256_storeu_ps(acc[r], c0[r]);
            _mm256_storeu_ps(acc[r] + 8, c1[r]);
        }
        for (r = 0; r < mr; r++) {
            float *cr = c + r * ldc;
            for (j = 0; j < nr; j++)
                cr[j] = beta == 0.0f ? alpha * acc[r][j] : alpha * acc[r][j] + beta * cr[j];
        }
    }
}

/* The accumulators are named variables, not an array: GCC kept an array of __m256 in
 * registers but also stored it to the stack on every k step (store-port bound, 2.5x
 * slower). */
#define RCML_ACC_DECL                                                                              \
    __m256 x0 = _mm256_setzero_ps(), y0 = x0, x1 = x0, y1 = x0, x2 = x0, y2 = x0, x3 = x0,         \
           y3 = x0, x4 = x0, y4 = x0, x5 = x0, y5 = x0
#define RCML_FMA2(av, x, y)                                                                        \
    x = _mm256_fmadd_ps(av, b0, x);                                                                \
    y = _mm256_fmadd_ps(av, b1, y);
#define RCML_ACC_STORE                                                                             \
    {                                                                                              \
        __m256 c0[MR] = {x0, x1, x2, x3, x4, x5}, c1[MR] = {y0, y1, y2, y3, y4, y5};               \
        rcml_store_tile_avx2(c0, c1, c, ldc, mr, nr, alpha, beta);                                 \
    }

/* A(r, p) = a[r*lda + p]: rows of a row-major A read in place (no packing). */
static void rcml_ukr_rowa_avx2(size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                               float *c, size_t ldc, size_t mr, size_t nr, float alpha,
                               float beta) {
    size_t p;
    const float *a0 = a, *a3 = a + 3 * lda;
    RCML_ACC_DECL;
    for (p = 0; p < kc; p++) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 av;
        b += ldb;
        av = _mm256_broadcast_ss(a0 + p);
        RCML_FMA2(av, x0, y0)
        av = _mm256_broadcast_ss(a0 + lda + p);
        RCML_FMA2(av, x1, y1)
        av = _mm256_broadcast_ss(a0 + 2 * lda + p);
        RCML_FMA2(av, x2, y2)
        av = _mm256_broadcast_ss(a3 + p);
        RCML_FMA2(av, x3, y3)
        av = _mm256_broadcast_ss(a3 + lda + p);
        RCML_FMA2(av, x4, y4)
        av = _mm256_broadcast_ss(a3 + 2 * lda + p);
        RCML_FMA2(av, x5, y5)
    }
    RCML_ACC_STORE
}

/* A(r, p) = a[p*lda + r]: a packed panel (lda == MR) or a transposed A read in place. */
static void rcml_ukr_cola_avx2(size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                               float *c, size_t ldc, size_t mr, size_t nr, float alpha,
                               float beta) {
    size_t p;
    RCML_ACC_DECL;
    for (p = 0; p < kc; p++) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 av;
        b += ldb;
        av = _mm256_broadcast_ss(a + 0);
        RCML_FMA2(av, x0, y0)
        av = _mm256_broadcast_ss(a + 1);
        RCML_FMA2(av, x1, y1)
        av = _mm256_broadcast_ss(a + 2);
        RCML_FMA2(av, x2, y2)
        av = _mm256_broadcast_ss(a + 3);
        RCML_FMA2(av, x3, y3)
        av = _mm256_broadcast_ss(a + 4);
        RCML_FMA2(av, x4, y4)
        av = _mm256_broadcast_ss(a + 5);
        RCML_FMA2(av, x5, y5)
        a += lda;
    }
    RCML_ACC_STORE
}

RCML_GEMM_TINY_DEFINE(rcml_gemm_tiny_avx2)

const rcml_gemm_kernels_t rcml_gemm_kernels_avx2 = {
    .mr = MR,
    .nr = NR,
    .rowa = rcml_ukr_rowa_avx2,
    .cola = rcml_ukr_cola_avx2,
    .tiny = rcml_gemm_tiny_avx2,
    .pack_bt = rcml_pack_bt_x86,
    .tr16 = rcml_tr16x16,
};

#undef MR
#undef NR

#include "target_end.h"
#else
typedef int rcml_gemm_avx2_unused;
#endif
