/* gemm_neon.c - NEON micro-kernels for the packed GEMM (arm64 only; NEON is baseline).
 *
 * Register tile 8 x 12: 8 rows of C, three q registers wide, is 24 accumulators; with
 * three B vectors and the A values that fits the 32 q registers. Per k step: 24 FMAs
 * for 3 vector loads + 8 scalar loads; two to four FMA pipes with latency 4 need 8-16
 * independent chains, and 24 covers that.
 */
#include "internal.h"
#include "gemm.h"

#ifdef RCML_ARM64
#include <arm_neon.h>

#define MR 8
#define NR 12

/* C = alpha*acc + beta*C on an mr x nr corner (beta == 0: C is not read). */
RCML_INLINE void rcml_store_tile_neon(float32x4_t acc[MR][3], float *c, size_t ldc, size_t mr,
                                      size_t nr, float alpha, float beta) {
    size_t r, j, v;
    if (mr == MR && nr == NR) {
        const float32x4_t va = vdupq_n_f32(alpha), vb = vdupq_n_f32(beta);
        for (r = 0; r < MR; r++) {
            float *cr = c + r * ldc;
            for (v = 0; v < 3; v++) {
                float32x4_t t = vmulq_f32(va, acc[r][v]);
                if (beta != 0.0f) t = vaddq_f32(t, vmulq_f32(vb, vld1q_f32(cr + 4 * v)));
                vst1q_f32(cr + 4 * v, t);
            }
        }
        return;
    }
    {
        float tmp[MR][NR];
        for (r = 0; r < MR; r++)
            for (v = 0; v < 3; v++) vst1q_f32(tmp[r] + 4 * v, acc[r][v]);
        for (r = 0; r < mr; r++) {
            float *cr = c + r * ldc;
            for (j = 0; j < nr; j++)
                cr[j] = beta == 0.0f ? alpha * tmp[r][j] : alpha * tmp[r][j] + beta * cr[j];
        }
    }
}

#define RCML_NEON_STEP(get_a)                                                              \
    {                                                                                      \
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8); \
        for (r = 0; r < MR; r++) {                                                         \
            const float32x4_t av = vdupq_n_f32(get_a);                                     \
            acc[r][0] = vfmaq_f32(acc[r][0], av, b0);                                      \
            acc[r][1] = vfmaq_f32(acc[r][1], av, b1);                                      \
            acc[r][2] = vfmaq_f32(acc[r][2], av, b2);                                      \
        }                                                                                  \
        b += ldb;                                                                          \
    }

/* A(r, p) = a[r*lda + p]: rows of a row-major A read in place (no packing). */
static void rcml_ukr_rowa_neon(size_t kc, const float *a, size_t lda, const float *b,
                               size_t ldb, float *c, size_t ldc, size_t mr, size_t nr,
                               float alpha, float beta) {
    float32x4_t acc[MR][3];
    size_t r, p;
    for (r = 0; r < MR; r++) acc[r][0] = acc[r][1] = acc[r][2] = vdupq_n_f32(0.0f);
    for (p = 0; p < kc; p++) RCML_NEON_STEP(a[r * lda + p])
    rcml_store_tile_neon(acc, c, ldc, mr, nr, alpha, beta);
}

/* A(r, p) = a[p*lda + r]: a packed panel (lda == MR) or a transposed A read in place. */
static void rcml_ukr_cola_neon(size_t kc, const float *a, size_t lda, const float *b,
                               size_t ldb, float *c, size_t ldc, size_t mr, size_t nr,
                               float alpha, float beta) {
    float32x4_t acc[MR][3];
    size_t r, p;
    for (r = 0; r < MR; r++) acc[r][0] = acc[r][1] = acc[r][2] = vdupq_n_f32(0.0f);
    for (p = 0; p < kc; p++) {
        RCML_NEON_STEP(a[r])
        a += lda;
    }
    rcml_store_tile_neon(acc, c, ldc, mr, nr, alpha, beta);
}

RCML_GEMM_TINY_DEFINE(rcml_gemm_tiny_neon)

const rcml_gemm_kernels_t rcml_gemm_kernels_neon = {MR, NR, rcml_ukr_rowa_neon,
                                                    rcml_ukr_cola_neon, rcml_gemm_tiny_neon, NULL, NULL};

#undef MR
#undef NR
#else
typedef int rcml_gemm_neon_unused;
#endif
