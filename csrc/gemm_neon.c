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
RCML_INLINE void rcml_store_row_neon(float32x4_t v0, float32x4_t v1, float32x4_t v2, float *cr,
                                     size_t nr, float alpha, float beta) {
    size_t j, v;
    float32x4_t t[3];
    t[0] = vmulq_f32(vdupq_n_f32(alpha), v0);
    t[1] = vmulq_f32(vdupq_n_f32(alpha), v1);
    t[2] = vmulq_f32(vdupq_n_f32(alpha), v2);
    if (nr == NR) {
        for (v = 0; v < 3; v++) {
            if (beta != 0.0f)
                t[v] = vaddq_f32(t[v], vmulq_f32(vdupq_n_f32(beta), vld1q_f32(cr + 4 * v)));
            vst1q_f32(cr + 4 * v, t[v]);
        }
    } else {
        /* edge: only the nr valid columns are read or written; same arithmetic */
        float tmp[NR];
        for (v = 0; v < 3; v++) vst1q_f32(tmp + 4 * v, t[v]);
        for (j = 0; j < nr; j++) cr[j] = beta == 0.0f ? tmp[j] : tmp[j] + beta * cr[j];
    }
}

/* The 24 accumulators are named variables, not an array: with an array GCC also kept a
 * memory copy and stored it on every k step (the same problem as on x86). */
#define RCML_NEON_DECL                                                                             \
    float32x4_t z = vdupq_n_f32(0.0f);                                                             \
    float32x4_t c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z,   \
                c30 = z, c31 = z, c32 = z, c40 = z, c41 = z, c42 = z, c50 = z, c51 = z, c52 = z,   \
                c60 = z, c61 = z, c62 = z, c70 = z, c71 = z, c72 = z
#define RCML_NEON_ROW(av, x0, x1, x2)                                                              \
    {                                                                                              \
        const float32x4_t s_ = vdupq_n_f32(av);                                                    \
        x0 = vfmaq_f32(x0, s_, b0);                                                                \
        x1 = vfmaq_f32(x1, s_, b1);                                                                \
        x2 = vfmaq_f32(x2, s_, b2);                                                                \
    }
#define RCML_NEON_STEP(A0, A1, A2, A3, A4, A5, A6, A7)                                             \
    {                                                                                              \
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);         \
        RCML_NEON_ROW(A0, c00, c01, c02)                                                           \
        RCML_NEON_ROW(A1, c10, c11, c12)                                                           \
        RCML_NEON_ROW(A2, c20, c21, c22)                                                           \
        RCML_NEON_ROW(A3, c30, c31, c32)                                                           \
        RCML_NEON_ROW(A4, c40, c41, c42)                                                           \
        RCML_NEON_ROW(A5, c50, c51, c52)                                                           \
        RCML_NEON_ROW(A6, c60, c61, c62)                                                           \
        RCML_NEON_ROW(A7, c70, c71, c72)                                                           \
        b += ldb;                                                                                  \
    }
#define RCML_NEON_STORE                                                                            \
    {                                                                                              \
        if (mr > 0) rcml_store_row_neon(c00, c01, c02, c + 0 * ldc, nr, alpha, beta);              \
        if (mr > 1) rcml_store_row_neon(c10, c11, c12, c + 1 * ldc, nr, alpha, beta);              \
        if (mr > 2) rcml_store_row_neon(c20, c21, c22, c + 2 * ldc, nr, alpha, beta);              \
        if (mr > 3) rcml_store_row_neon(c30, c31, c32, c + 3 * ldc, nr, alpha, beta);              \
        if (mr > 4) rcml_store_row_neon(c40, c41, c42, c + 4 * ldc, nr, alpha, beta);              \
        if (mr > 5) rcml_store_row_neon(c50, c51, c52, c + 5 * ldc, nr, alpha, beta);              \
        if (mr > 6) rcml_store_row_neon(c60, c61, c62, c + 6 * ldc, nr, alpha, beta);              \
        if (mr > 7) rcml_store_row_neon(c70, c71, c72, c + 7 * ldc, nr, alpha, beta);              \
    }

/* A(r, p) = a[r*lda + p]: rows of a row-major A read in place (no packing). */
static void rcml_ukr_rowa_neon(size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                               float *c, size_t ldc, size_t mr, size_t nr, float alpha,
                               float beta) {
    size_t p;
    const float *a0 = a, *a4 = a + 4 * lda;
    RCML_NEON_DECL;
    for (p = 0; p < kc; p++)
        RCML_NEON_STEP(a0[p], a0[lda + p], a0[2 * lda + p], a0[3 * lda + p], a4[p], a4[lda + p],
                       a4[2 * lda + p], a4[3 * lda + p])
    RCML_NEON_STORE
}

/* A(r, p) = a[p*lda + r]: a packed panel (lda == MR) or a transposed A read in place. */
static void rcml_ukr_cola_neon(size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                               float *c, size_t ldc, size_t mr, size_t nr, float alpha,
                               float beta) {
    size_t p;
    RCML_NEON_DECL;
    for (p = 0; p < kc; p++) {
        /* the 8 A values as two vectors, used by lane: 24 + 3 + 2 registers, no spills
         * (eight broadcast registers would need 35 of the 32) */
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
        const float32x4_t alo = vld1q_f32(a), ahi = vld1q_f32(a + 4);
#define RCML_LANE(x0, x1, x2, v, l)                                                                \
    x0 = vfmaq_laneq_f32(x0, b0, v, l);                                                            \
    x1 = vfmaq_laneq_f32(x1, b1, v, l);                                                            \
    x2 = vfmaq_laneq_f32(x2, b2, v, l);
        RCML_LANE(c00, c01, c02, alo, 0)
        RCML_LANE(c10, c11, c12, alo, 1)
        RCML_LANE(c20, c21, c22, alo, 2)
        RCML_LANE(c30, c31, c32, alo, 3)
        RCML_LANE(c40, c41, c42, ahi, 0)
        RCML_LANE(c50, c51, c52, ahi, 1)
        RCML_LANE(c60, c61, c62, ahi, 2)
        RCML_LANE(c70, c71, c72, ahi, 3)
#undef RCML_LANE
        b += ldb;
        a += lda;
    }
    (void)z;
    RCML_NEON_STORE
}

RCML_GEMM_TINY_DEFINE(rcml_gemm_tiny_neon)

const rcml_gemm_kernels_t rcml_gemm_kernels_neon = {
    .mr = MR,
    .nr = NR,
    .rowa = rcml_ukr_rowa_neon,
    .cola = rcml_ukr_cola_neon,
    .tiny = rcml_gemm_tiny_neon,
};

#undef MR
#undef NR
#else
typedef int rcml_gemm_neon_unused;
#endif
