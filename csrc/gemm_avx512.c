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
#include "transpose_x86.h"

/* Mask of the first r (< 16) lanes, or all 16. */
RCML_FORCE_INLINE __mmask16 rcml_lanes(size_t r) {
    return (__mmask16)(r >= 16 ? 0xFFFFu : ((1u << r) - 1u));
}

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
                t0 = _mm512_add_ps(t0, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(bm0, cr)));         \
                t1 = _mm512_add_ps(t1, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(bm1, cr + 16)));    \
            }                                                                                      \
            _mm512_mask_storeu_ps(cr, bm0, t0);                                                    \
            _mm512_mask_storeu_ps(cr + 16, bm1, t1);                                               \
        }                                                                                          \
    }

/* A packed B panel (ldb == NR) is read from L2 at two cache lines per 16 FMAs, and the
 * hardware prefetchers left the first FMAs after each load waiting on it (the top sample
 * sites under perf). Fetching the row 16 steps ahead (2 KB, ~130 cycles) measured +4-12%
 * (median of paired rounds, 1 thread) on 512..2048 squares and the MLP shapes. A B read
 * in place (ldb == n) is not prefetched: there the same hint cost 5-30%, since its rows
 * are far apart and usually L2-resident already. */
#define RCML_PF_DIST 16
#define RCML_PREFETCH_B(b, lines)                                                                  \
    if (ldb == NR) {                                                                               \
        _mm_prefetch((const char *)((b) + RCML_PF_DIST * NR), _MM_HINT_T0);                        \
        if ((lines) > 1) _mm_prefetch((const char *)((b) + RCML_PF_DIST * NR + 16), _MM_HINT_T0);  \
    }

/* The valid columns of a tile row, lanes 0..nr-1 of its two 16-lane halves: the masks of
 * the edge tiles' B loads and C loads/stores. */
#define RCML_BMASK0 const __mmask16 bm0 = rcml_lanes(nr)
#define RCML_BMASK                                                                                 \
    RCML_BMASK0;                                                                                   \
    const __mmask16 bm1 = nr <= 16 ? (__mmask16)0 : rcml_lanes(nr - 16)
/* The 16 accumulators are named variables, not an array: with an array GCC also kept a
 * memory copy, zeroed with `rep stos` on every call (6% of a batch of 64^3 products). */
#define RCML_ACC_DECL                                                                              \
    RCML_BMASK;                                                                                    \
    __m512 x0 = _mm512_setzero_ps(), y0 = x0, x1 = x0, y1 = x0, x2 = x0, y2 = x0, x3 = x0,         \
           y3 = x0, x4 = x0, y4 = x0, x5 = x0, y5 = x0, x6 = x0, y6 = x0, x7 = x0, y7 = x0
#define RCML_FMA2(av, x, y)                                                                        \
    x = _mm512_fmadd_ps(av, b0, x);                                                                \
    y = _mm512_fmadd_ps(av, b1, y);
#define RCML_STORE_SETUP                                                                           \
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);                            \
    const int one = alpha == 1.0f, full = nr == NR;
#define RCML_STORE_LO                                                                              \
    RCML_STORE_ROW(0, x0, y0)                                                                      \
    RCML_STORE_ROW(1, x1, y1) RCML_STORE_ROW(2, x2, y2) RCML_STORE_ROW(3, x3, y3)
#define RCML_ACC_STORE                                                                             \
    {RCML_STORE_SETUP RCML_STORE_LO RCML_STORE_ROW(4, x4, y4) RCML_STORE_ROW(5, x5, y5)            \
         RCML_STORE_ROW(6, x6, y6) RCML_STORE_ROW(7, x7, y7)}

/* One k step's B row: two full loads, or (M = 1: a B read in place whose last panel has
 * nr < NR valid columns) masked loads that touch only those columns, so such a panel
 * needs no padded copy (the lanes past nr load zeros and feed only outputs that are never
 * stored). The full tiles keep the plain loads: masked ones cost ~5% there. */
#define RCML_B_ROW_(M)                                                                             \
    const __m512 b0 = (M) ? _mm512_maskz_loadu_ps(bm0, b) : _mm512_loadu_ps(b);                    \
    const __m512 b1 = (M) ? _mm512_maskz_loadu_ps(bm1, b + 16) : _mm512_loadu_ps(b + 16);          \
    __m512 av;                                                                                     \
    RCML_PREFETCH_B(b, 2)                                                                          \
    b += ldb;
/* the k loop, once with plain and once with masked B loads (M a constant in each) */
#define RCML_K_LOOP(STEP)                                                                          \
    if (nr >= NR) {                                                                                \
        for (p = 0; p < kc; p++) {                                                                 \
            STEP(0)                                                                                \
        }                                                                                          \
    } else {                                                                                       \
        for (p = 0; p < kc; p++) {                                                                 \
            STEP(1)                                                                                \
        }                                                                                          \
    }

/* rows base, base + lda, ... base + 3*lda of A at column p into accumulator pairs */
#define RCML_ROWA4(base, xa, ya, xb, yb, xc, yc, xd, yd)                                           \
    av = _mm512_set1_ps((base)[p]);                                                                \
    RCML_FMA2(av, xa, ya)                                                                          \
    av = _mm512_set1_ps((base)[lda + p]);                                                          \
    RCML_FMA2(av, xb, yb)                                                                          \
    av = _mm512_set1_ps((base)[2 * lda + p]);                                                      \
    RCML_FMA2(av, xc, yc)                                                                          \
    av = _mm512_set1_ps((base)[3 * lda + p]);                                                      \
    RCML_FMA2(av, xd, yd)
#define RCML_ROWA_STEP(M)                                                                          \
    RCML_B_ROW_(M)                                                                                 \
    RCML_ROWA4(a0, x0, y0, x1, y1, x2, y2, x3, y3)                                                 \
    RCML_ROWA4(a4, x4, y4, x5, y5, x6, y6, x7, y7)
/* A(r, p) = a[r*lda + p]: rows of a row-major A read in place (no packing). */
static void rcml_ukr_rowa_avx512(size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                                 float *c, size_t ldc, size_t mr, size_t nr, float alpha,
                                 float beta) {
    size_t p;
    /* two row bases so every broadcast is base + {0,1,2,3}*lda: few live registers */
    const float *a0 = a, *a4 = a + 4 * lda;
    RCML_ACC_DECL;
    RCML_K_LOOP(RCML_ROWA_STEP)
    RCML_ACC_STORE
}

/* rows o..o+3 of the packed A step into accumulator pairs (xa, ya) ... (xd, yd) */
#define RCML_COLA4(o, xa, ya, xb, yb, xc, yc, xd, yd)                                              \
    av = _mm512_set1_ps(a[(o)]);                                                                   \
    RCML_FMA2(av, xa, ya)                                                                          \
    av = _mm512_set1_ps(a[(o) + 1]);                                                               \
    RCML_FMA2(av, xb, yb)                                                                          \
    av = _mm512_set1_ps(a[(o) + 2]);                                                               \
    RCML_FMA2(av, xc, yc)                                                                          \
    av = _mm512_set1_ps(a[(o) + 3]);                                                               \
    RCML_FMA2(av, xd, yd)
#define RCML_COLA_LO RCML_COLA4(0, x0, y0, x1, y1, x2, y2, x3, y3)
#define RCML_COLA_HI RCML_COLA4(4, x4, y4, x5, y5, x6, y6, x7, y7)
/* one k step of the packed-A kernels: the B row, then rows 0-3 (and 4-7) of the panel */
#define RCML_COLA_STEP(M)                                                                          \
    RCML_B_ROW_(M)                                                                                 \
    RCML_COLA_LO                                                                                   \
    RCML_COLA_HI                                                                                   \
    a += lda;
#define RCML_COLA_R4_STEP(M)                                                                       \
    RCML_B_ROW_(M)                                                                                 \
    RCML_COLA_LO                                                                                   \
    a += lda;

/* A(r, p) = a[p*lda + r]: a packed panel (lda == MR) or a transposed A read in place. */
static void rcml_ukr_cola_avx512(size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                                 float *c, size_t ldc, size_t mr, size_t nr, float alpha,
                                 float beta) {
    size_t p;
    RCML_ACC_DECL;
    RCML_K_LOOP(RCML_COLA_STEP)
    RCML_ACC_STORE
}

/* Four-row tiles (4 x 32, mr <= 4): a batch of 2..4 rows, or the last panel of m = 12,
 * 36, ... The full kernel would do 8 rows of FMAs for at most 4 valid ones. 8 chains of
 * FMAs still cover the FMA latency (4 cycles x 2 ports). Each output is the same chain
 * over p as in the full kernel, so the bits do not change. */
#define RCML_R4_DECL                                                                               \
    RCML_BMASK;                                                                                    \
    __m512 x0 = _mm512_setzero_ps(), y0 = x0, x1 = x0, y1 = x0, x2 = x0, y2 = x0, x3 = x0, y3 = x0
#define RCML_R4_STORE {RCML_STORE_SETUP RCML_STORE_LO}

static void rcml_ukr_cola_r4_avx512(size_t kc, const float *a, size_t lda, const float *b,
                                    size_t ldb, float *c, size_t ldc, size_t mr, size_t nr,
                                    float alpha, float beta) {
    size_t p;
    RCML_R4_DECL;
    RCML_K_LOOP(RCML_COLA_R4_STEP)
    RCML_R4_STORE
}

/* Half-width tiles (8 x 16, nr <= 16): the last panel of n = 10, 16, 784, ... The full
 * kernel would do 32 columns of FMAs for at most 16 valid ones. Each output is the same
 * FMA chain over p as in the full kernel, so the bits do not change. */
#define RCML_STORE_HALF(r, x)                                                                      \
    if ((r) < mr) {                                                                                \
        float *cr = c + (r) * ldc;                                                                 \
        __m512 t0 = alpha == 1.0f ? (x) : _mm512_mul_ps(va, (x));                                  \
        if (beta != 0.0f)                                                                          \
            t0 = _mm512_add_ps(t0, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(bm0, cr)));             \
        _mm512_mask_storeu_ps(cr, bm0, t0);                                                        \
    }
#define RCML_HALF_STORE                                                                            \
    {                                                                                              \
        const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);                        \
        RCML_STORE_HALF(0, x0)                                                                     \
        RCML_STORE_HALF(1, x1)                                                                     \
        RCML_STORE_HALF(2, x2)                                                                     \
        RCML_STORE_HALF(3, x3)                                                                     \
        RCML_STORE_HALF(4, x4)                                                                     \
        RCML_STORE_HALF(5, x5)                                                                     \
        RCML_STORE_HALF(6, x6)                                                                     \
        RCML_STORE_HALF(7, x7)                                                                     \
    }
#define RCML_HALF_DECL                                                                             \
    RCML_BMASK0;                                                                                   \
    __m512 x0 = _mm512_setzero_ps(), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0

static void rcml_ukr_rowa_half_avx512(size_t kc, const float *a, size_t lda, const float *b,
                                      size_t ldb, float *c, size_t ldc, size_t mr, size_t nr,
                                      float alpha, float beta) {
    size_t p;
    const float *a0 = a, *a4 = a + 4 * lda;
    RCML_HALF_DECL;
    for (p = 0; p < kc; p++) {
        const __m512 b0 = _mm512_maskz_loadu_ps(bm0, b); /* an edge: masked */
        RCML_PREFETCH_B(b, 1)
        b += ldb;
        x0 = _mm512_fmadd_ps(_mm512_set1_ps(a0[p]), b0, x0);
        x1 = _mm512_fmadd_ps(_mm512_set1_ps(a0[lda + p]), b0, x1);
        x2 = _mm512_fmadd_ps(_mm512_set1_ps(a0[2 * lda + p]), b0, x2);
        x3 = _mm512_fmadd_ps(_mm512_set1_ps(a0[3 * lda + p]), b0, x3);
        x4 = _mm512_fmadd_ps(_mm512_set1_ps(a4[p]), b0, x4);
        x5 = _mm512_fmadd_ps(_mm512_set1_ps(a4[lda + p]), b0, x5);
        x6 = _mm512_fmadd_ps(_mm512_set1_ps(a4[2 * lda + p]), b0, x6);
        x7 = _mm512_fmadd_ps(_mm512_set1_ps(a4[3 * lda + p]), b0, x7);
    }
    RCML_HALF_STORE
}

static void rcml_ukr_cola_half_avx512(size_t kc, const float *a, size_t lda, const float *b,
                                      size_t ldb, float *c, size_t ldc, size_t mr, size_t nr,
                                      float alpha, float beta) {
    size_t p;
    RCML_HALF_DECL;
    for (p = 0; p < kc; p++) {
        const __m512 b0 = _mm512_maskz_loadu_ps(bm0, b); /* an edge: masked */
        RCML_PREFETCH_B(b, 1)
        b += ldb;
        x0 = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), b0, x0);
        x1 = _mm512_fmadd_ps(_mm512_set1_ps(a[1]), b0, x1);
        x2 = _mm512_fmadd_ps(_mm512_set1_ps(a[2]), b0, x2);
        x3 = _mm512_fmadd_ps(_mm512_set1_ps(a[3]), b0, x3);
        x4 = _mm512_fmadd_ps(_mm512_set1_ps(a[4]), b0, x4);
        x5 = _mm512_fmadd_ps(_mm512_set1_ps(a[5]), b0, x5);
        x6 = _mm512_fmadd_ps(_mm512_set1_ps(a[6]), b0, x6);
        x7 = _mm512_fmadd_ps(_mm512_set1_ps(a[7]), b0, x7);
        a += lda;
    }
    RCML_HALF_STORE
}

RCML_GEMM_TINY_DEFINE(rcml_gemm_tiny_avx512)

/* A row panel: packing A with scalar moves was ~6% of a 1024^3 product, ~1% this way. */
static void rcml_pack_a_rows_avx512(const float *s, size_t lds, size_t kq, float *d) {
    size_t p = 0, r;
    for (; p + 8 <= kq; p += 8) rcml_tr8x8(s + p, lds, d + p * 8, 8);
    for (; p < kq; p++)
        for (r = 0; r < 8; r++) d[p * 8 + r] = s[r * lds + p];
}
#define RCML_PACK_A_ROWS rcml_pack_a_rows_avx512

/* ------------------------------------------------------------ matrix x vector */
/* y = alpha*s + beta*y on `len` floats of s (beta == 0: y is not read). */
RCML_FORCE_INLINE void rcml_gemv_store(size_t len, float alpha, const float *s, float beta,
                                       float *y) {
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    size_t j;
    for (j = 0; j < len; j += 16) {
        const __mmask16 mk = rcml_lanes(len - j);
        __m512 t = _mm512_mul_ps(va, _mm512_maskz_loadu_ps(mk, s + j));
        if (beta != 0.0f) t = _mm512_add_ps(t, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(mk, y + j)));
        _mm512_mask_storeu_ps(y + j, mk, t);
    }
}

/* s[j] = sum_p x[p] M[p*ldm + j]. Columns in blocks of up to 4096 whose sums live in a
 * 16 KB L1 buffer; eight rows of M stream past it per pass (long contiguous runs, which the
 * prefetchers follow), each sum still taking p in order (fma by fma), so the bits do not
 * depend on the block. A matrix the caches hold gets no software prefetch: fetching the
 * next pass's eight rows gained ~1.05x on an Intel Xeon (1x1024 @ 1024x1024) but cost
 * 1.4-1.6x on a Zen 4 EPYC (1 thread, alternated builds: 23-24 -> 35-38 GFLOP/s there,
 * NumPy's OpenBLAS at 35-36). One of RCML_GEMV_FAR floats or more (32 MB, an L3's worth)
 * comes from memory, and there the same lines fetched toward L2 paid (Zen 4 EPYC, rcmlrs
 * time without / with, paired in one process, 16 rounds; 1 thread: 1x4096x4096 1.14x,
 * 1x2048x4096 1.16x, 1x8192x2048 1.17x; 2 threads 1.05x, 1.10x, 1.02x), where a 16 MB one
 * (largely in L3) lost (1x1024x4096 0.96x, 1x4096x1024 0.92x). */
#define RCML_GEMV_BLK 4096
#define RCML_GEMV_FAR ((size_t)1 << 23)
#define RCML_AXPY_ROW(i)                                                                           \
    a = _mm512_fmadd_ps(xv[i], _mm512_maskz_loadu_ps(mk, r + (i) * ldm + j), a);
static void rcml_gemv_axpy_avx512(size_t k, size_t w, float alpha, const float *x, const float *M,
                                  size_t ldm, float beta, float *y) {
    __m512 acc[RCML_GEMV_BLK / 16];
    const int far = k * ldm >= RCML_GEMV_FAR;
    size_t j0, j, p, i;
    for (j0 = 0; j0 < w; j0 += RCML_GEMV_BLK) {
        const size_t bw = w - j0 < RCML_GEMV_BLK ? w - j0 : RCML_GEMV_BLK;
        const float *Mb = M + j0;
        for (j = 0; j < bw; j += 16) acc[j / 16] = _mm512_setzero_ps();
        for (p = 0; p + 8 <= k; p += 8) {
            __m512 xv[8];
            const float *r = Mb + p * ldm;
            for (i = 0; i < 8; i++) xv[i] = _mm512_set1_ps(x[p + i]);
            for (j = 0; j < bw; j += 16) {
                const __mmask16 mk = rcml_lanes(bw - j);
                __m512 a = acc[j / 16];
                if (far && p + 16 <= k) /* the next pass's rows, these columns */
                    for (i = 0; i < 8; i++) RCML_PREFETCH_L2(r + (8 + i) * ldm + j);
                RCML_AXPY_ROW(0)
                RCML_AXPY_ROW(1)
                RCML_AXPY_ROW(2)
                RCML_AXPY_ROW(3)
                RCML_AXPY_ROW(4)
                RCML_AXPY_ROW(5)
                RCML_AXPY_ROW(6)
                RCML_AXPY_ROW(7)
                acc[j / 16] = a;
            }
        }
        for (; p < k; p++) {
            const __m512 x0 = _mm512_set1_ps(x[p]);
            const float *r0 = Mb + p * ldm;
            for (j = 0; j < bw; j += 16) {
                const __mmask16 mk = rcml_lanes(bw - j);
                acc[j / 16] = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(mk, r0 + j), acc[j / 16]);
            }
        }
        rcml_gemv_store(bw, alpha, (const float *)acc, beta, y + j0);
    }
}
#undef RCML_AXPY_ROW

/* One output of the dot form: two 16-lane partial sums over p in steps of 32 (the tail
 * masked), added, then reduced across lanes in a fixed order. */
#define RCML_DOT_STEP(acc0, acc1, row, mk0, mk1)                                                   \
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk0, (row) + p), xa, acc0);                       \
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk1, (row) + p + 16), xb, acc1);

/* s[j] = sum_p M[j*ldm + p] x[p]: four outputs at a time share the loads of x; an output
 * gets the same arithmetic alone or in a group of four. */
static void rcml_gemv_dot_avx512(size_t k, size_t w, float alpha, const float *x, const float *M,
                                 size_t ldm, float beta, float *y) {
    float s[4];
    size_t j = 0, p, q;
    while (j < w) {
        const size_t g = w - j >= 4 ? 4 : 1; /* outputs in this group */
        const float *r0 = M + j * ldm, *r1 = r0 + (g > 1 ? ldm : 0);
        const float *r2 = r0 + (g > 1 ? 2 * ldm : 0), *r3 = r0 + (g > 1 ? 3 * ldm : 0);
        __m512 a0 = _mm512_setzero_ps(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0,
               b3 = a0;
        for (p = 0; p + 32 <= k; p += 32) {
            const __mmask16 f = 0xFFFFu;
            const __m512 xa = _mm512_loadu_ps(x + p), xb = _mm512_loadu_ps(x + p + 16);
            RCML_DOT_STEP(a0, b0, r0, f, f)
            if (g > 1) {
                RCML_DOT_STEP(a1, b1, r1, f, f)
                RCML_DOT_STEP(a2, b2, r2, f, f)
                RCML_DOT_STEP(a3, b3, r3, f, f)
            }
        }
        if (p < k) {
            const __mmask16 m0 = rcml_lanes(k - p), m1 = k - p > 16 ? rcml_lanes(k - p - 16) : 0;
            const __m512 xa = _mm512_maskz_loadu_ps(m0, x + p);
            const __m512 xb = _mm512_maskz_loadu_ps(m1, x + p + 16);
            RCML_DOT_STEP(a0, b0, r0, m0, m1)
            if (g > 1) {
                RCML_DOT_STEP(a1, b1, r1, m0, m1)
                RCML_DOT_STEP(a2, b2, r2, m0, m1)
                RCML_DOT_STEP(a3, b3, r3, m0, m1)
            }
        }
        s[0] = _mm512_reduce_add_ps(_mm512_add_ps(a0, b0));
        s[1] = _mm512_reduce_add_ps(_mm512_add_ps(a1, b1));
        s[2] = _mm512_reduce_add_ps(_mm512_add_ps(a2, b2));
        s[3] = _mm512_reduce_add_ps(_mm512_add_ps(a3, b3));
        for (q = 0; q < g; q++)
            y[j + q] = beta == 0.0f ? alpha * s[q] : alpha * s[q] + beta * y[j + q];
        j += g;
    }
}
#undef RCML_DOT_STEP

/* b_stream_prefetch: measured on a Zen 4 EPYC (1 thread, rcmlrs time without / with, paired
 * in one process, 10 rounds, operands 16 bytes into a cache line as NumPy allocates them; with
 * matmul.c's prefetch of every line a 128-byte panel row touches, three when it starts inside
 * one): 12x2048x2048 3.23x, 8x4096x4096 3.88x, 8x2048x2048 2.32x, 4x4096x1024 (A transposed)
 * 3.29x, 16x3200x1024 (A transposed) 1.92x, 2x1024x4096 3.44x; NumPy time / rcmlrs time in
 * the same rounds 0.62 -> 1.99, 0.70 -> 2.71, 1.07 -> 2.48, 0.98 -> 3.24, 1.00 -> 1.93, 1.04
 * -> 3.56.
 * Prefetching only a row's first and last line (what serves the AVX2 table's 64-byte rows)
 * left the middle one to the demand loads: all three lines against those two 1.50x, 1.99x,
 * 4.55x, 2.74x, 2.73x, 3.26x. A B the L3 holds goes without (matmul.c's RCML_B_FAR):
 * 8x1024x1024, 16x1024x1024 1.00-1.02x. Such a B stays streamed rather than packed
 * (b_pack_prefetch, which would route it to rcml_b_stream_packed, is left unset): packed /
 * streamed time 12x2048x2048 1.58x, 16x3200x1024 (A transposed) 1.42x, 9x4096x1024 1.47x,
 * 16x4096x512 1.24x, 16x1024x1024 1.12x. The packing prefetch alone gained 0.99-1.06x
 * (96x1024x1024 the most), not enough to untangle the two. */
/* gemv_axpy_cols: the kernel's L1 block (RCML_GEMV_BLK), as the AVX2 table has it. Measured on
 * the Zen 4 EPYC (rcmlrs time at matmul.c's 1024 / at 4096, paired, 8-12 rounds): 1 thread
 * 1x4096x4096 1.34x, 1x1024x4096 1.14x, 1x300x2500 1.10x, 1x4096x2048 1.09x, 2048x1024x1 (A
 * transposed) 1.06x, 1x512x4096 1.05x; 2 threads 1x300x2500 1.15x, 1x4096x4096 1.09x,
 * 1x1024x4096 1.07x; 1024 columns or fewer unchanged (0.98-1.02x). */
/* c_prefetch: measured on the Zen 4 EPYC (1 thread, rcmlrs time without / with, paired in one
 * process, 8-10 rounds): 16384x64x288 (B transposed: a CIFAR convolution's column gradient)
 * 1.05-1.19x, 16384x32x288 1.21x, 16384x128x288 1.09x, 8192x64x512 1.08-1.13x, 32768x64x128
 * 1.05x, 16384x64x96 1.07x, 16384x64x64 1.07x; 2 threads (wall) 16384x64x288 (B transposed)
 * 1.13x, 16384x32x288 1.33x, 8192x64x512 1.04x, 32768x64x128 1.06x. Left out by matmul.c's
 * bounds, as they lost or gained nothing when prefetched: C rows wider than a block of B,
 * written a block at a time (8192x64x768 0.95x, 8192x64x1024 0.97x, 4096x64x2048 0.97x,
 * 3200x32x1024 0.93-1.01x, 4096x256x1024 0.98x), and one panel (65536x27x32, the prefetch
 * then serves the next call: 0.86-1.07x). Prefetching for a write instead gained 1.00-1.02x
 * more. The AVX2 table on the same machine (its 256-column blocks) was mixed, so it goes
 * without: 8192x64x256 1.07x, 32768x64x128 1.10x, 16384x64x64 0.93x. */
const rcml_gemm_kernels_t rcml_gemm_kernels_avx512 = {
    .mr = MR,
    .nr = NR,
    .b_masked = 1,
    .b_stream_prefetch = 1,
    .c_prefetch = 1,
    .gemv_axpy_cols = RCML_GEMV_BLK,
    .rowa = rcml_ukr_rowa_avx512,
    .cola = rcml_ukr_cola_avx512,
    .tiny = rcml_gemm_tiny_avx512,
    .pack_a_rows = RCML_PACK_A_ROWS,
    .pack_bt = rcml_pack_bt_x86,
    .tr16 = rcml_tr16x16,
    .gemv_axpy = rcml_gemv_axpy_avx512,
    .gemv_dot = rcml_gemv_dot_avx512,
    .rowa_half = rcml_ukr_rowa_half_avx512,
    .cola_half = rcml_ukr_cola_half_avx512,
    .cola_r4 = rcml_ukr_cola_r4_avx512,
};

#undef MR
#undef NR

#include "target_end.h"
#else
typedef int rcml_gemm_avx512_unused;
#endif
