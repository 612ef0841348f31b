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

/* The first r lanes (r <= 8) of a vector: the mask of an edge's masked loads and stores
 * (masked-off lanes are neither read, so they cannot fault, nor written). */
RCML_FORCE_INLINE __m256i rcml_mask8(size_t r) {
    static const int32_t t[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(t + 8 - r));
}

/* C = alpha*acc + beta*C for one row of a full tile (beta == 0: C is not read), with plain
 * loads and stores. alpha == 1 skips the multiply, which gives the same bits. An edge tile's
 * rows go through rcml_store_edge_avx2 (below). */
#define RCML_STORE_FULL(r, x, y)                                                                   \
    {                                                                                              \
        float *cr = c + (r) * ldc;                                                                 \
        __m256 t0 = one ? (x) : _mm256_mul_ps(va, (x));                                            \
        __m256 t1 = one ? (y) : _mm256_mul_ps(va, (y));                                            \
        if (beta != 0.0f) {                                                                        \
            t0 = _mm256_add_ps(t0, _mm256_mul_ps(vb, _mm256_loadu_ps(cr)));                        \
            t1 = _mm256_add_ps(t1, _mm256_mul_ps(vb, _mm256_loadu_ps(cr + 8)));                    \
        }                                                                                          \
        _mm256_storeu_ps(cr, t0);                                                                  \
        _mm256_storeu_ps(cr + 8, t1);                                                              \
    }
/* An edge tile (mr < MR rows or nr < NR columns): rows r < mr; whole rows with plain stores,
 * partial ones spilled and finished in scalar code (same arithmetic). No masked stores:
 * vmaskmovps to memory is microcoded on AMD's Zen 1-3, and an edge call of a short-k
 * product (256x10x1024 with B transposed: 4-row last panels) measured ~15% slower with
 * them on a Zen 3. */
RCML_FORCE_INLINE void rcml_store_edge_avx2(const __m256 *xs, const __m256 *ys, size_t rows,
                                            float *c, size_t ldc, size_t mr, size_t nr, float alpha,
                                            float beta) {
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const int one = alpha == 1.0f;
    float acc[16];
    size_t r, j;
    for (r = 0; r < rows && r < mr; r++) {
        float *cr = c + r * ldc;
        __m256 t0 = one ? xs[r] : _mm256_mul_ps(va, xs[r]);
        __m256 t1 = ys ? (one ? ys[r] : _mm256_mul_ps(va, ys[r])) : t0;
        if (nr == NR && ys) {
            if (beta != 0.0f) {
                t0 = _mm256_add_ps(t0, _mm256_mul_ps(vb, _mm256_loadu_ps(cr)));
                t1 = _mm256_add_ps(t1, _mm256_mul_ps(vb, _mm256_loadu_ps(cr + 8)));
            }
            _mm256_storeu_ps(cr, t0);
            _mm256_storeu_ps(cr + 8, t1);
            continue;
        }
        _mm256_storeu_ps(acc, t0);
        _mm256_storeu_ps(acc + 8, t1);
        for (j = 0; j < nr; j++) cr[j] = beta == 0.0f ? acc[j] : acc[j] + beta * cr[j];
    }
}
/* the valid columns of a tile row, lanes 0..nr-1 of its two 8-lane halves; computed only
 * where an edge needs them (kept live through the full tiles' k loop they would take two
 * of the 16 registers) */
#define RCML_BMASK0 const __m256i bm0 = rcml_mask8(nr < 8 ? nr : 8)
#define RCML_BMASK                                                                                 \
    RCML_BMASK0;                                                                                   \
    const __m256i bm1 = rcml_mask8(nr <= 8 ? 0 : nr - 8)
/* the 6 x 16 tile into C: a whole tile with plain stores, an edge one row by row */
#define RCML_ACC_STORE                                                                             \
    if (mr == MR && nr == NR) {                                                                    \
        const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);                        \
        const int one = alpha == 1.0f;                                                             \
        RCML_STORE_FULL(0, x0, y0)                                                                 \
        RCML_STORE_FULL(1, x1, y1)                                                                 \
        RCML_STORE_FULL(2, x2, y2)                                                                 \
        RCML_STORE_FULL(3, x3, y3)                                                                 \
        RCML_STORE_FULL(4, x4, y4)                                                                 \
        RCML_STORE_FULL(5, x5, y5)                                                                 \
    } else {                                                                                       \
        const __m256 xs[MR] = {x0, x1, x2, x3, x4, x5}, ys[MR] = {y0, y1, y2, y3, y4, y5};         \
        rcml_store_edge_avx2(xs, ys, MR, c, ldc, mr, nr, alpha, beta);                             \
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

/* One k step's B row: two full loads (RCML_B_ROW_0), or (RCML_B_ROW_1: a B read in place
 * whose last panel has nr < NR valid columns) masked loads that touch only those columns,
 * so such a panel needs no padded copy (the lanes past nr load zeros and feed only outputs
 * that are never stored). */
#define RCML_B_ROW_0                                                                               \
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);                             \
    __m256 av;                                                                                     \
    b += ldb;
#define RCML_B_ROW_1                                                                               \
    const __m256 b0 = _mm256_maskload_ps(b, bm0), b1 = _mm256_maskload_ps(b + 8, bm1);             \
    __m256 av;                                                                                     \
    b += ldb;
/* the k loop, with plain B loads (STEP(0)) or masked ones (STEP(1)). Unrolled by four (GCC
 * 12 does not unroll it by itself at -O3) unless the block is short (kc <= RCML_KC_STREAM:
 * a B streamed from L3 in place, or k <= 32). Measured on a Zen 3 EPYC (1 thread, NumPy
 * time / rcmlrs time, median of 90 rounds, builds alternated in both orders), plain ->
 * unrolled: 1024^3 0.92-0.94 -> 0.96-0.97, 512^3 0.96 -> 0.99; B read in place: 64x4096x64
 * 0.90 -> 1.03, 4096x64x64 1.07 -> 1.16, 288x16384x64 (A transposed) 0.93 -> 1.02,
 * 27x65536x32 (A transposed) 1.01 -> 1.14, 24x300x400 1.06 -> 1.23, 16x784x512 0.78 ->
 * 0.98, 3200x1024x32 1.27 -> 1.33. Short blocks unrolled lost: 16x1024x1024 0.80 -> 0.70,
 * 8x1024x1024 0.90 -> 0.76, 8x4096x512 0.88 -> 0.75 (B streamed), 784x32x512 (A transposed)
 * 1.10 -> 0.93. Each accumulator's chain is unchanged: same bits. */
#define RCML_K_FOR(S)                                                                              \
    for (p = 0; p < kc; p++) {                                                                     \
        S                                                                                          \
    }
#define RCML_K_LOOP(STEP)                                                                          \
    if (nr >= NR && kc > RCML_KC_STREAM) {                                                         \
        RCML_UNROLL4                                                                               \
        RCML_K_FOR(STEP(0))                                                                        \
    } else if (nr >= NR) {                                                                         \
        RCML_K_FOR(STEP(0))                                                                        \
    } else {                                                                                       \
        RCML_BMASK;                                                                                \
        RCML_K_FOR(STEP(1))                                                                        \
    }

/* rows base, base + lda, base + 2*lda of A at column p into accumulator pairs */
#define RCML_ROWA3(base, xa, ya, xb, yb, xc, yc)                                                   \
    av = _mm256_broadcast_ss((base) + p);                                                          \
    RCML_FMA2(av, xa, ya)                                                                          \
    av = _mm256_broadcast_ss((base) + lda + p);                                                    \
    RCML_FMA2(av, xb, yb)                                                                          \
    av = _mm256_broadcast_ss((base) + 2 * lda + p);                                                \
    RCML_FMA2(av, xc, yc)
#define RCML_ROWA_STEP(M)                                                                          \
    RCML_B_ROW_##M RCML_ROWA3(a0, x0, y0, x1, y1, x2, y2) RCML_ROWA3(a3, x3, y3, x4, y4, x5, y5)

/* A(r, p) = a[r*lda + p]: rows of a row-major A read in place (no packing). */
static void rcml_ukr_rowa_avx2(size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                               float *c, size_t ldc, size_t mr, size_t nr, float alpha,
                               float beta) {
    size_t p;
    /* two row bases so every broadcast is base + {0,1,2}*lda: few live registers */
    const float *a0 = a, *a3 = a + 3 * lda;
    RCML_ACC_DECL;
    RCML_K_LOOP(RCML_ROWA_STEP)
    RCML_ACC_STORE
}

/* rows o..o+2 of the packed A step into accumulator pairs (xa, ya) ... (xc, yc) */
#define RCML_COLA3(o, xa, ya, xb, yb, xc, yc)                                                      \
    av = _mm256_broadcast_ss(a + (o));                                                             \
    RCML_FMA2(av, xa, ya)                                                                          \
    av = _mm256_broadcast_ss(a + (o) + 1);                                                         \
    RCML_FMA2(av, xb, yb)                                                                          \
    av = _mm256_broadcast_ss(a + (o) + 2);                                                         \
    RCML_FMA2(av, xc, yc)
#define RCML_COLA_LO RCML_COLA3(0, x0, y0, x1, y1, x2, y2)
#define RCML_COLA_STEP(M)                                                                          \
    RCML_B_ROW_##M RCML_COLA_LO RCML_COLA3(3, x3, y3, x4, y4, x5, y5) a += lda;
#define RCML_COLA_R3_STEP(M) RCML_B_ROW_##M RCML_COLA_LO a += lda;

/* A(r, p) = a[p*lda + r]: a packed panel (lda == MR) or a transposed A read in place. */
static void rcml_ukr_cola_avx2(size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                               float *c, size_t ldc, size_t mr, size_t nr, float alpha,
                               float beta) {
    size_t p;
    RCML_ACC_DECL;
    RCML_K_LOOP(RCML_COLA_STEP)
    RCML_ACC_STORE
}

/* One k step's B row read in place and stored into the packed panel bd on the way
 * (RCML_B_ROW_PKF also prefetches, toward L2, the row RCML_PK_AHEAD rows on, its first and
 * last float: a 16-float row of an unaligned B spans two lines). */
#define RCML_PK_AHEAD 16
#define RCML_B_ROW_PK                                                                              \
    RCML_B_ROW_0                                                                                   \
    _mm256_storeu_ps(bd, b0);                                                                      \
    _mm256_storeu_ps(bd + 8, b1);                                                                  \
    bd += NR;
#define RCML_B_ROW_PKF                                                                             \
    RCML_PREFETCH_L2(b + RCML_PK_AHEAD * ldb);                                                     \
    RCML_PREFETCH_L2(b + RCML_PK_AHEAD * ldb + NR - 1);                                            \
    RCML_B_ROW_PK
/* the k loop of a packing kernel: the prefetches stay within the block's rows */
#define RCML_PK_LOOP(STEP)                                                                         \
    {                                                                                              \
        const size_t pre = kc > RCML_PK_AHEAD ? kc - RCML_PK_AHEAD : 0;                            \
        for (p = 0; p < pre; p++) {                                                                \
            STEP(PKF)                                                                              \
        }                                                                                          \
        for (; p < kc; p++) {                                                                      \
            STEP(PK)                                                                               \
        }                                                                                          \
    }

/* rowa and cola for a whole tile whose B panel they pack (gemm.h's rcml_gemm_ukr_pk_t) */
static void rcml_ukr_rowa_pk_avx2(size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                                  float *bd, float *c, size_t ldc, float alpha, float beta) {
    const size_t mr = MR, nr = NR;
    const float *a0 = a, *a3 = a + 3 * lda;
    size_t p;
    RCML_ACC_DECL;
    RCML_PK_LOOP(RCML_ROWA_STEP)
    RCML_ACC_STORE
}

static void rcml_ukr_cola_pk_avx2(size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                                  float *bd, float *c, size_t ldc, float alpha, float beta) {
    const size_t mr = MR, nr = NR;
    size_t p;
    RCML_ACC_DECL;
    RCML_PK_LOOP(RCML_COLA_STEP)
    RCML_ACC_STORE
}

/* Three-row tiles (3 x 16, mr <= 3): the last panel of m = 8, 32, ... (6 + 2 rows, 5 x 6
 * + 2), where the full kernel would do 6 rows of FMAs for at most 3 valid ones. Each
 * output is the same chain over p as in the full kernel, so the bits do not change. */
static void rcml_ukr_cola_r3_avx2(size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                                  float *c, size_t ldc, size_t mr, size_t nr, float alpha,
                                  float beta) {
    size_t p;
    __m256 x0 = _mm256_setzero_ps(), y0 = x0, x1 = x0, y1 = x0, x2 = x0, y2 = x0;
    RCML_K_LOOP(RCML_COLA_R3_STEP) {
        const __m256 xs[3] = {x0, x1, x2}, ys[3] = {y0, y1, y2};
        rcml_store_edge_avx2(xs, ys, 3, c, ldc, mr, nr, alpha, beta);
    }
}

/* Half-width tiles (6 x 8, nr <= 8): the last panel of n = 10, 200, 784 + 8, ... The full
 * kernel would do 16 columns of FMAs for at most 8 valid ones. Same chain per output as
 * the full kernel, so the same bits. */
#define RCML_HALF_STORE                                                                            \
    {                                                                                              \
        const __m256 xs[MR] = {x0, x1, x2, x3, x4, x5};                                            \
        rcml_store_edge_avx2(xs, NULL, MR, c, ldc, mr, nr, alpha, beta);                           \
    }
#define RCML_HALF_DECL                                                                             \
    RCML_BMASK0;                                                                                   \
    __m256 x0 = _mm256_setzero_ps(), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0

static void rcml_ukr_rowa_half_avx2(size_t kc, const float *a, size_t lda, const float *b,
                                    size_t ldb, float *c, size_t ldc, size_t mr, size_t nr,
                                    float alpha, float beta) {
    size_t p;
    const float *a0 = a, *a3 = a + 3 * lda;
    RCML_HALF_DECL;
    for (p = 0; p < kc; p++) {
        const __m256 b0 = _mm256_maskload_ps(b, bm0); /* an edge: masked */
        b += ldb;
        x0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a0 + p), b0, x0);
        x1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a0 + lda + p), b0, x1);
        x2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a0 + 2 * lda + p), b0, x2);
        x3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a3 + p), b0, x3);
        x4 = _mm256_fmadd_ps(_mm256_broadcast_ss(a3 + lda + p), b0, x4);
        x5 = _mm256_fmadd_ps(_mm256_broadcast_ss(a3 + 2 * lda + p), b0, x5);
    }
    RCML_HALF_STORE
}

static void rcml_ukr_cola_half_avx2(size_t kc, const float *a, size_t lda, const float *b,
                                    size_t ldb, float *c, size_t ldc, size_t mr, size_t nr,
                                    float alpha, float beta) {
    size_t p;
    RCML_HALF_DECL;
    for (p = 0; p < kc; p++) {
        const __m256 b0 = _mm256_maskload_ps(b, bm0); /* an edge: masked */
        b += ldb;
        x0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 0), b0, x0);
        x1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 1), b0, x1);
        x2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 2), b0, x2);
        x3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 3), b0, x3);
        x4 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 4), b0, x4);
        x5 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + 5), b0, x5);
        a += lda;
    }
    RCML_HALF_STORE
}

RCML_GEMM_TINY_DEFINE(rcml_gemm_tiny_avx2)

/* A row panel, d[p*6 + r] = s[r*lds + p]: eight columns at a time, the six rows and two
 * zero rows transposed in registers (rcml_tr8x8_regs); the eight 6-float columns
 * are written with 8-lane stores in order, each one's two spare lanes overwritten by the
 * next, and the last one six floats wide (4 + 2) so nothing past the block is touched. The scalar
 * loop it replaces was 3.5% of an MLP training epoch (perf, 1 thread). */
static void rcml_pack_a_rows_avx2(const float *s, size_t lds, size_t kq, float *d) {
    size_t p = 0, r;
    for (; p + 8 <= kq; p += 8) {
        __m256 rows[8], o[8];
        float *e = d + p * 6;
        for (r = 0; r < 6; r++) rows[r] = _mm256_loadu_ps(s + r * lds + p);
        rows[6] = rows[7] = _mm256_setzero_ps();
        rcml_tr8x8_regs(rows, o);
        for (r = 0; r < 7; r++) _mm256_storeu_ps(e + r * 6, o[r]); /* in order: see above */
        _mm_storeu_ps(e + 42, _mm256_castps256_ps128(o[7]));
        _mm_storel_pi((__m64 *)(e + 46), _mm256_extractf128_ps(o[7], 1));
    }
    for (; p < kq; p++)
        for (r = 0; r < 6; r++) d[p * 6 + r] = s[r * lds + p];
}

/* ------------------------------------------------------------ matrix x vector */
/* y = alpha*s + beta*y on `len` floats of s (beta == 0: y is not read); s is readable up
 * to the next multiple of 8. */
RCML_FORCE_INLINE void rcml_gemv_store(size_t len, float alpha, const float *s, float beta,
                                       float *y) {
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    size_t j;
    for (j = 0; j + 8 <= len; j += 8) {
        __m256 t = _mm256_mul_ps(va, _mm256_loadu_ps(s + j));
        if (beta != 0.0f) t = _mm256_add_ps(t, _mm256_mul_ps(vb, _mm256_loadu_ps(y + j)));
        _mm256_storeu_ps(y + j, t);
    }
    if (j < len) {
        const __m256i mk = rcml_mask8(len - j);
        __m256 t = _mm256_mul_ps(va, _mm256_loadu_ps(s + j));
        if (beta != 0.0f) t = _mm256_add_ps(t, _mm256_mul_ps(vb, _mm256_maskload_ps(y + j, mk)));
        _mm256_maskstore_ps(y + j, mk, t);
    }
}

/* s[j] = sum_p x[p] M[p*ldm + j]: gemm_avx512.c's axpy form at 8 lanes. Columns in blocks
 * of up to 4096 whose sums live in a 16 KB L1 buffer; eight rows of M stream past it per
 * pass, each sum still taking p in order (fma by fma), so the bits do not depend on the
 * block or on where a chunk starts. The last, partial vector of a block is loaded masked. */
#define RCML_GEMV_BLK 4096
#define RCML_AXPY_ROWS(LOAD)                                                                       \
    {                                                                                              \
        __m256 s_ = acc[j / 8];                                                                    \
        s_ = _mm256_fmadd_ps(x0, LOAD(r + j), s_);                                                 \
        s_ = _mm256_fmadd_ps(x1, LOAD(r + ldm + j), s_);                                           \
        s_ = _mm256_fmadd_ps(x2, LOAD(r + 2 * ldm + j), s_);                                       \
        s_ = _mm256_fmadd_ps(x3, LOAD(r + 3 * ldm + j), s_);                                       \
        s_ = _mm256_fmadd_ps(x4, LOAD(r + 4 * ldm + j), s_);                                       \
        s_ = _mm256_fmadd_ps(x5, LOAD(r + 5 * ldm + j), s_);                                       \
        s_ = _mm256_fmadd_ps(x6, LOAD(r + 6 * ldm + j), s_);                                       \
        s_ = _mm256_fmadd_ps(x7, LOAD(r + 7 * ldm + j), s_);                                       \
        acc[j / 8] = s_;                                                                           \
    }
#define RCML_LOADU(q) _mm256_loadu_ps(q)
#define RCML_LOADM(q) _mm256_maskload_ps((q), mk)
#define RCML_LOADH(q) _mm256_maskload_ps((q), m0)
static void rcml_gemv_axpy_avx2(size_t k, size_t w, float alpha, const float *x, const float *M,
                                size_t ldm, float beta, float *y) {
    __m256 acc[RCML_GEMV_BLK / 8 + 1];
    /* Rows that share M's place within a 32-byte vector (ldm % 8 == 0) but start inside one
     * (NumPy's own arrays start 16 bytes into a cache line) are read in vectors that start
     * pad floats before each block, the first one masked, so that no load straddles two
     * lines; the sums then sit pad floats into acc. Measured on a Zen 3 EPYC (1 thread, time
     * with M 16 bytes past a line / on a line, paired in one process, 16 rounds): 1024x1024x1
     * (A transposed) 1.31x and 1x1024x1024 1.29x before (NumPy's 0.98x and 0.95x). */
    const size_t pad = ldm % 8 == 0 && (uintptr_t)M % sizeof(float) == 0
                           ? (size_t)((uintptr_t)M % 32) / sizeof(float)
                           : 0;
    const __m256i mh = _mm256_xor_si256(rcml_mask8(pad), _mm256_set1_epi32(-1));
    size_t j0, j, p;
    for (j0 = 0; j0 < w; j0 += RCML_GEMV_BLK) {
        const size_t bw = w - j0 < RCML_GEMV_BLK ? w - j0 : RCML_GEMV_BLK;
        const size_t span = bw + pad, full = span / 8 * 8; /* floats from the first vector */
        const __m256i mk = rcml_mask8(span - full);
        /* the first vector's lanes when pad: from pad on, and below span when span < 8 */
        const __m256i m0 = span < 8 ? _mm256_and_si256(mh, mk) : mh;
        const size_t j1 = pad ? 8 : 0; /* the first vector read whole */
        const float *Mb = (const float *)((uintptr_t)(M + j0) - pad * sizeof(float));
        for (j = 0; j < span; j += 8) acc[j / 8] = _mm256_setzero_ps();
        for (p = 0; p + 8 <= k; p += 8) {
            const float *r = Mb + p * ldm;
            const __m256 x0 = _mm256_broadcast_ss(x + p), x1 = _mm256_broadcast_ss(x + p + 1);
            const __m256 x2 = _mm256_broadcast_ss(x + p + 2), x3 = _mm256_broadcast_ss(x + p + 3);
            const __m256 x4 = _mm256_broadcast_ss(x + p + 4), x5 = _mm256_broadcast_ss(x + p + 5);
            const __m256 x6 = _mm256_broadcast_ss(x + p + 6), x7 = _mm256_broadcast_ss(x + p + 7);
            if (pad) {
                j = 0;
                RCML_AXPY_ROWS(RCML_LOADH)
            }
            for (j = j1; j < full; j += 8) RCML_AXPY_ROWS(RCML_LOADU)
            if (j < span) RCML_AXPY_ROWS(RCML_LOADM)
        }
        for (; p < k; p++) {
            const __m256 x0 = _mm256_broadcast_ss(x + p);
            const float *r0 = Mb + p * ldm;
            if (pad) acc[0] = _mm256_fmadd_ps(x0, _mm256_maskload_ps(r0, m0), acc[0]);
            for (j = j1; j < full; j += 8)
                acc[j / 8] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(r0 + j), acc[j / 8]);
            if (j < span)
                acc[j / 8] = _mm256_fmadd_ps(x0, _mm256_maskload_ps(r0 + j, mk), acc[j / 8]);
        }
        rcml_gemv_store(bw, alpha, (const float *)acc + pad, beta, y + j0);
    }
}
#undef RCML_AXPY_ROWS
#undef RCML_LOADU
#undef RCML_LOADM
#undef RCML_LOADH

/* the sum of a vector's 8 lanes in a fixed order: halves, then pairs, then the last two */
RCML_FORCE_INLINE float rcml_hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* One output of the dot form: two 8-lane partial sums over p in steps of 16 (the tail
 * masked), added, then summed across lanes in a fixed order. */
#define RCML_DOT_STEP(acc0, acc1, row, LOAD0, LOAD1)                                               \
    acc0 = _mm256_fmadd_ps(LOAD0((row) + p), xa, acc0);                                            \
    acc1 = _mm256_fmadd_ps(LOAD1((row) + p + 8), xb, acc1);
#define RCML_LOADU(q) _mm256_loadu_ps(q)
#define RCML_LOADM0(q) _mm256_maskload_ps((q), m0)
#define RCML_LOADM1(q) _mm256_maskload_ps((q), m1)

/* s[j] = sum_p M[j*ldm + p] x[p]: four outputs at a time share the loads of x; an output
 * gets the same arithmetic alone or in a group of four. */
static void rcml_gemv_dot_avx2(size_t k, size_t w, float alpha, const float *x, const float *M,
                               size_t ldm, float beta, float *y) {
    float s[4];
    size_t j = 0, p, q;
    while (j < w) {
        const size_t g = w - j >= 4 ? 4 : 1; /* outputs in this group */
        const float *r0 = M + j * ldm, *r1 = r0 + (g > 1 ? ldm : 0);
        const float *r2 = r0 + (g > 1 ? 2 * ldm : 0), *r3 = r0 + (g > 1 ? 3 * ldm : 0);
        __m256 a0 = _mm256_setzero_ps(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0,
               b3 = a0;
        for (p = 0; p + 16 <= k; p += 16) {
            const __m256 xa = _mm256_loadu_ps(x + p), xb = _mm256_loadu_ps(x + p + 8);
            RCML_DOT_STEP(a0, b0, r0, RCML_LOADU, RCML_LOADU)
            if (g > 1) {
                RCML_DOT_STEP(a1, b1, r1, RCML_LOADU, RCML_LOADU)
                RCML_DOT_STEP(a2, b2, r2, RCML_LOADU, RCML_LOADU)
                RCML_DOT_STEP(a3, b3, r3, RCML_LOADU, RCML_LOADU)
            }
        }
        if (p < k) {
            const size_t left = k - p;
            const __m256i m0 = rcml_mask8(left < 8 ? left : 8);
            const __m256i m1 = rcml_mask8(left > 8 ? left - 8 : 0);
            const __m256 xa = _mm256_maskload_ps(x + p, m0), xb = _mm256_maskload_ps(x + p + 8, m1);
            RCML_DOT_STEP(a0, b0, r0, RCML_LOADM0, RCML_LOADM1)
            if (g > 1) {
                RCML_DOT_STEP(a1, b1, r1, RCML_LOADM0, RCML_LOADM1)
                RCML_DOT_STEP(a2, b2, r2, RCML_LOADM0, RCML_LOADM1)
                RCML_DOT_STEP(a3, b3, r3, RCML_LOADM0, RCML_LOADM1)
            }
        }
        s[0] = rcml_hsum8(_mm256_add_ps(a0, b0));
        s[1] = rcml_hsum8(_mm256_add_ps(a1, b1));
        s[2] = rcml_hsum8(_mm256_add_ps(a2, b2));
        s[3] = rcml_hsum8(_mm256_add_ps(a3, b3));
        for (q = 0; q < g; q++)
            y[j + q] = beta == 0.0f ? alpha * s[q] : alpha * s[q] + beta * y[j + q];
        j += g;
    }
}
#undef RCML_DOT_STEP
#undef RCML_LOADU
#undef RCML_LOADM0
#undef RCML_LOADM1

/* A B read in place by 17..32 rows (with 6-row panels, up to six passes over it) is packed
 * once it outgrows the 512 KB L2 of a Zen 3 core (256 KB on Intel's AVX2-only cores), not
 * at matmul.c's 2 MB. Measured on a Zen 3 EPYC (1 thread, NumPy time / rcmlrs time over
 * rounds, builds alternated): 32x784x512 0.68-0.79 -> 0.86-0.94, 32x256x1024 0.66-0.77 ->
 * 0.85-0.89; a B within 512 KB stays in place (24x300x400 packed: 1.03-1.10 -> 0.84-0.87).
 * The bits do not change: these products have the same k blocks packed or not (the k
 * blocking keeps matmul.c's bound). */
#ifndef RCML_AVX2_B_DIRECT_BIG
#define RCML_AVX2_B_DIRECT_BIG ((size_t)1 << 17)
#endif

/* b_stream_prefetch: measured on the Zen 3 EPYC (1 thread, NumPy time / rcmlrs time over
 * rounds, builds alternated): 8x4096x512 0.35-0.37 -> 0.61-0.81, 12x2048x2048 0.38-0.49 ->
 * 0.49-0.63, 4x4096x1024 0.35-0.53 -> 0.54-0.67, 16x1024x1024 and 8x1024x1024 within the
 * noise (these two now go without it: matmul.c's RCML_B_FAR). */
/* gemv_axpy_cols: a chunk as wide as the kernel's L1 block (RCML_GEMV_BLK), where matmul.c
 * cuts at 1024 columns (measured so on an AVX-512 Xeon). A 1024-column chunk reads 4 KB of
 * each row of M, every row in its own page, and the Zen 3's prefetchers restart on each.
 * Measured on the Zen 3 EPYC (1 thread, NumPy time / rcmlrs time over rounds, builds
 * alternated): 1x4096x4096 0.84-0.85 -> 1.04-1.11, 1x512x4096 0.83-0.89 -> 1.27-1.40,
 * 2048x1024x1 (A transposed) 0.83-0.85 -> 1.01-1.03, 1x300x2500 0.84-0.85 -> 1.00-1.04. */
/* b_pack_prefetch: 8 rows ahead (4 measured the same), for a B beyond matmul.c's
 * RCML_B_FAR, where it is measured; likewise only this table. */
#ifndef RCML_AVX2_B_PACK_PF
#define RCML_AVX2_B_PACK_PF 8
#endif
/* b_block_cols: a block of packed B is kc x 256 floats (257 KB at kc = 256), half of a Zen 3
 * core's 512 KB L2; matmul.c's 512 columns fill it. A tile that packs its own B and is at
 * most 512 columns wide keeps one block, whose rows are copied as whole runs (cut in two,
 * 17x784x512 lost, 0.99-1.05 -> 0.82-1.04, and 32x784x512 0.87-0.97 -> 0.75-0.91).
 * Measured on the Zen 3 EPYC (1 thread, NumPy time / rcmlrs time over rounds, builds
 * alternated). B packed per tile, tiles wider than 512 columns: 64x1024x4096 0.76-0.78 ->
 * 0.81-0.92, 64x784x1024 0.80-0.83 -> 0.84-0.93, 128x1024x1024 0.90-0.93 -> 0.93-0.96;
 * 256x784x1024 and 256x3136x1024 (A transposed) within the noise. B packed once for
 * several row tiles: 1024^3 0.90-0.94 -> 0.96-0.99, 2048^3 0.85-0.93 -> 0.94-0.97, 512^3
 * 0.89-1.05 -> 0.96-1.00, 1024^3 (A transposed) 0.85-0.94 -> 0.95-0.97, 1024x256x1024 (A
 * transposed) 0.94-1.02 -> 1.01-1.06. */
#ifndef RCML_AVX2_B_BLOCK_COLS
#define RCML_AVX2_B_BLOCK_COLS 256
#endif
/* b_far_block_cols: a tile that packs its own B from memory (8 MB or more) packs and walks it
 * in blocks of 128 columns. Measured on the Zen 3 EPYC (rcmlrs time 256 / 128 columns, a
 * build that switches at run time, paired in one process, medians of 12-16 rounds; the
 * bits are the same), 1 thread: 12x2048x2048 1.20x, 10x2048x2048 1.15x, 16x4096x4096
 * 1.09x, 16x2048x1024 1.04x, 16x1500x1500 1.12x, 32x2048x2048 1.07x, 64x2048x2048 1.06x,
 * 12x1024x2048 0.97x, 8x4096x512 1.00x (one block of 512 columns either way), with A
 * transposed 256x3136x1024 (an LSTM's dU) 1.17x, 32x3200x1024 1.07x, 16x4096x1024 1.13x,
 * with B transposed 12x2048x2048 1.03x, 64x2048x2048 1.02x; 2 threads: 12x2048x2048 1.04x,
 * 64x2048x2048 1.03x, 16x4096x4096 1.03x, 256x2048x2048 1.01x, 256x3136x1024 (A transposed)
 * 1.04x. The LSTM h256 training step did not move (0.97x-1.01x, three runs). A B packed once
 * for several row tiles keeps 256 (128 there: 2048^3 1.00x, 1536x2048x2048 1.03x, 2 threads
 * 1024x2048x2048 0.97x).
 * 64 columns, 1 thread: 12x2048x2048 1.11-1.19x, 10x2048x2048 1.16-1.25x, 20x2048x2048 1.13x,
 * 64x2048x2048 1.09x, 256x2048x2048 1.02x, 12x1024x2048 0.95x (twice), 16x1500x1500
 * 0.96-0.98x. A B that the L3 holds keeps 256 (see above, and 8x1024x1024, 16x1024x1024
 * 0.97-1.00x at 64 or 128 columns). */
#ifndef RCML_AVX2_B_FAR_BLOCK_COLS
#define RCML_AVX2_B_FAR_BLOCK_COLS 128
#endif
const rcml_gemm_kernels_t rcml_gemm_kernels_avx2 = {
    .mr = MR,
    .nr = NR,
    .rowa = rcml_ukr_rowa_avx2,
    .cola = rcml_ukr_cola_avx2,
    .b_masked = 1,
    .b_direct_big = RCML_AVX2_B_DIRECT_BIG,
    .b_stream_prefetch = 1,
    .b_pack_prefetch = RCML_AVX2_B_PACK_PF,
    .b_block_cols = RCML_AVX2_B_BLOCK_COLS,
    .b_far_block_cols = RCML_AVX2_B_FAR_BLOCK_COLS,
    .tiny = rcml_gemm_tiny_avx2,
    .pack_a_rows = rcml_pack_a_rows_avx2,
    .pack_bt = rcml_pack_bt_x86,
    .tr16 = rcml_tr16x16,
    .gemv_axpy = rcml_gemv_axpy_avx2,
    .gemv_dot = rcml_gemv_dot_avx2,
    .gemv_axpy_cols = RCML_GEMV_BLK,
    .rowa_half = rcml_ukr_rowa_half_avx2,
    .cola_half = rcml_ukr_cola_half_avx2,
    .cola_r4 = rcml_ukr_cola_r3_avx2,
    .rowa_pk = rcml_ukr_rowa_pk_avx2,
    .cola_pk = rcml_ukr_cola_pk_avx2,
};

#undef MR
#undef NR

#include "target_end.h"
#else
typedef int rcml_gemm_avx2_unused;
#endif
