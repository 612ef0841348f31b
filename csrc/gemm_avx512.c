/* gemm_avx512.c - AVX-512 micro-kernels for the packed GEMM.
 *
 * Register tile 8 x 32: 8 rows of C, each two zmm wide, is 16 accumulators. Per k step
 * it does 16 FMAs for 2 vector loads + 8 broadcasts, so the FMA port, not the load
 * ports, is the limit (Zen 4 issues one 512-bit FMA per cycle with latency 4: 16
 * independent chains hide it four times over). 32 columns keep C rows and B panel rows
 * at 128 bytes, two cache lines. Measured on this Zen 4 (CPU time, n = 64..1024), 8 rows
 * beat 12 rows (24 accumulators) by 4-18%: 8 divides the common sizes (no wasted edge
 * rows at 64, 256, ...), and the C tile load/store per k block is cheaper.
 */
#include "internal.h"
#include "gemm.h"

#ifdef RCML_GEMM_X86_KERNELS
#include <immintrin.h>

#include "target_avx512_begin.h"

#define MR 8
#define NR 32

/* C = alpha*acc + beta*C for one row of the tile (beta == 0: C is not read). alpha == 1
 * skips the multiply, which gives the same bits. Full rows use plain stores; an edge
 * row masked loads/stores that touch only the nr valid columns (masked-off lanes are
 * never read, so no fault and no stale NaN). */
#define RCML_STORE_ROW(r, x, y)                                                                    \
    if ((r) < mr) {                                                                                \
        float *cr = c + (r) * ldc;                                                                 \
        __m512 t0 = one ? (x) : _mm512_mul_ps(va, (x));                                            \
        __m512 t1 = one ? (y) : _mm512_mul_ps(va, (y));                                            \
        if (full) {                                                                                \
            if (beta != 0.0f) {                                                                    \
                t0 = _mm512_add_ps(t0, _mm512_mul_ps(vb, _mm512_loadu_ps(cr)));                    \
                t1 = _mm512_add_ps(t1, _mm512_mul_ps(vb, _mm512_loadu_ps(cr + 16)));               \
            }                                                                                      \
            _mm512_storeu_ps(cr, t0);                                                              \
            _mm512_storeu_ps(cr + 16, t1);                                                         \
        } else {                                                                                   \
            if (beta != 0.0f) {                                                                    \
                t0 = _mm512_add_ps(t0, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m0, cr)));          \
                t1 = _mm512_add_ps(t1, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16)));     \
            }                                                                                      \
            _mm512_mask_storeu_ps(cr, m0, t0);                                                     \
            _mm512_mask_storeu_ps(cr + 16, m1, t1);                                                \
        }                                                                                          \
    }

/* The 16 accumulators are named variables, not an array: with an array GCC also kept a
 * memory copy, zeroed with `rep stos` on every call (6% of a batch of 64^3 products). */
#define RCML_ACC_DECL                                                                              \
    __m512 x0 = _mm512_setzero_ps(), y0 = x0, x1 = x0, y1 = x0, x2 = x0, y2 = x0, x3 = x0,         \
           y3 = x0, x4 = x0, y4 = x0, x5 = x0, y5 = x0, x6 = x0, y6 = x0, x7 = x0, y7 = x0
#define RCML_FMA2(av, x, y)                                                                        \
    x = _mm512_fmadd_ps(av, b0, x);                                                                \
    y = _mm512_fmadd_ps(av, b1, y);
#define RCML_ACC_STORE                                                                             \
    {                                                                                              \
        const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);                        \
        const int one = alpha == 1.0f, full = nr == NR;                                            \
        const __mmask16 m0 = (__mmask16)(nr >= 16 ? 0xFFFFu : ((1u << nr) - 1u));                  \
        const __mmask16 m1 = (__mmask16)(nr >= 32   ? 0xFFFFu                                      \
                                         : nr <= 16 ? 0u                                           \
                                                    : ((1u << (nr - 16)) - 1u));                   \
        RCML_STORE_ROW(0, x0, y0)                                                                  \
        RCML_STORE_ROW(1, x1, y1)                                                                  \
        RCML_STORE_ROW(2, x2, y2)                                                                  \
        RCML_STORE_ROW(3, x3, y3)                                                                  \
        RCML_STORE_ROW(4, x4, y4)                                                                  \
        RCML_STORE_ROW(5, x5, y5)                                                                  \
        RCML_STORE_ROW(6, x6, y6)                                                                  \
        RCML_STORE_ROW(7, x7, y7)                                                                  \
    }

/* A(r, p) = a[r*lda + p]: rows of a row-major A read in place (no packing). */
static void rcml_ukr_rowa_avx512(size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                                 float *c, size_t ldc, size_t mr, size_t nr, float alpha,
                                 float beta) {
    size_t p;
    /* two row bases so every broadcast is base + {0,1,2,3}*lda: few live registers */
    const float *a0 = a, *a4 = a + 4 * lda;
    RCML_ACC_DECL;
    for (p = 0; p < kc; p++) {
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        __m512 av;
        b += ldb;
        av = _mm512_set1_ps(a0[p]);
        RCML_FMA2(av, x0, y0)
        av = _mm512_set1_ps(a0[lda + p]);
        RCML_FMA2(av, x1, y1)
        av = _mm512_set1_ps(a0[2 * lda + p]);
        RCML_FMA2(av, x2, y2)
        av = _mm512_set1_ps(a0[3 * lda + p]);
        RCML_FMA2(av, x3, y3)
        av = _mm512_set1_ps(a4[p]);
        RCML_FMA2(av, x4, y4)
        av = _mm512_set1_ps(a4[lda + p]);
        RCML_FMA2(av, x5, y5)
        av = _mm512_set1_ps(a4[2 * lda + p]);
        RCML_FMA2(av, x6, y6)
        av = _mm512_set1_ps(a4[3 * lda + p]);
        RCML_FMA2(av, x7, y7)
    }
    RCML_ACC_STORE
}

/* A(r, p) = a[p*lda + r]: a packed panel (lda == MR) or a transposed A read in place. */
static void rcml_ukr_cola_avx512(size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                                 float *c, size_t ldc, size_t mr, size_t nr, float alpha,
                                 float beta) {
    size_t p;
    RCML_ACC_DECL;
    for (p = 0; p < kc; p++) {
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        __m512 av;
        b += ldb;
        av = _mm512_set1_ps(a[0]);
        RCML_FMA2(av, x0, y0)
        av = _mm512_set1_ps(a[1]);
        RCML_FMA2(av, x1, y1)
        av = _mm512_set1_ps(a[2]);
        RCML_FMA2(av, x2, y2)
        av = _mm512_set1_ps(a[3]);
        RCML_FMA2(av, x3, y3)
        av = _mm512_set1_ps(a[4]);
        RCML_FMA2(av, x4, y4)
        av = _mm512_set1_ps(a[5]);
        RCML_FMA2(av, x5, y5)
        av = _mm512_set1_ps(a[6]);
        RCML_FMA2(av, x6, y6)
        av = _mm512_set1_ps(a[7]);
        RCML_FMA2(av, x7, y7)
        a += lda;
    }
    RCML_ACC_STORE
}

RCML_GEMM_TINY_DEFINE(rcml_gemm_tiny_avx512)

/* d[c*ldd + r] = s[r*lds + c] for an 8 x 8 block, in registers (the usual
 * unpack/shuffle/permute sequence): 8 loads and 8 stores instead of 64 scalar moves. */
RCML_FORCE_INLINE void rcml_tr8x8(const float *s, size_t lds, float *d, size_t ldd) {
    __m256 r0 = _mm256_loadu_ps(s + 0 * lds), r1 = _mm256_loadu_ps(s + 1 * lds);
    __m256 r2 = _mm256_loadu_ps(s + 2 * lds), r3 = _mm256_loadu_ps(s + 3 * lds);
    __m256 r4 = _mm256_loadu_ps(s + 4 * lds), r5 = _mm256_loadu_ps(s + 5 * lds);
    __m256 r6 = _mm256_loadu_ps(s + 6 * lds), r7 = _mm256_loadu_ps(s + 7 * lds);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(d + 0 * ldd, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(d + 1 * ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(d + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(d + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(d + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(d + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(d + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(d + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}

/* A row panel: packing A with scalar moves was ~6% of a 1024^3 product, ~1% this way. */
static void rcml_pack_a_rows_avx512(const float *s, size_t lds, size_t kq, float *d) {
    size_t p = 0, r;
    for (; p + 8 <= kq; p += 8) rcml_tr8x8(s + p, lds, d + p * 8, 8);
    for (; p < kq; p++)
        for (r = 0; r < 8; r++) d[p * 8 + r] = s[r * lds + p];
}
#define RCML_PACK_A_ROWS rcml_pack_a_rows_avx512

/* A full panel of a transposed B (stored n x k): d[p*NR + j] = s[j*lds + p]. With scalar
 * moves a batch of 64 x 64 products ran at 60% of the untransposed speed. */
static void rcml_pack_bt_avx512(const float *s, size_t lds, size_t kq, float *d) {
    size_t p = 0, j;
    for (; p + 8 <= kq; p += 8)
        for (j = 0; j < NR; j += 8) rcml_tr8x8(s + j * lds + p, lds, d + p * NR + j, NR);
    for (; p < kq; p++)
        for (j = 0; j < NR; j++) d[p * NR + j] = s[j * lds + p];
}

const rcml_gemm_kernels_t rcml_gemm_kernels_avx512 = {MR,
                                                      NR,
                                                      rcml_ukr_rowa_avx512,
                                                      rcml_ukr_cola_avx512,
                                                      rcml_gemm_tiny_avx512,
                                                      RCML_PACK_A_ROWS,
                                                      rcml_pack_bt_avx512};

#undef MR
#undef NR

#include "target_end.h"
#else
typedef int rcml_gemm_avx512_unused;
#endif
