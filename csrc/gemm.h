/* gemm.h - private interface between the GEMM driver (matmul.c) and the per-ISA
 * micro-kernels (gemm_avx512.c, gemm_avx2.c, gemm_neon.c, and the portable one in
 * matmul.c). Not installed for users.
 *
 * Orientation. C is row-major, so a micro-kernel keeps an MR x NR tile of C in registers
 * with the vector lanes running along a row of C (along n). Per step p of the k loop it
 * loads one row of the B micro-panel (NR contiguous floats: the "vector" operand) and
 * broadcasts MR elements of A (one per row: the "broadcast" operand), then does
 * MR * NR / lanes FMAs. A and B therefore play the roles BLIS gives to B and A.
 */
#ifndef RCMLRS_GEMM_H
#define RCMLRS_GEMM_H

#include <stddef.h>

#include "internal.h"

/* acc[r][j] = sum_{p < kc} A(r, p) * B[p*ldb + j] for r < MR, j < NR, then for r < mr,
 * j < nr: C[r*ldc + j] = alpha*acc + beta*C (beta == 0: alpha*acc, C is not read).
 * A(r, p) = a[r*lda + p] for the "rowa" variant and a[p*lda + r] for the "cola" variant
 * (a packed panel is cola with lda == MR). Every one of the MR rows and NR columns is
 * read, whatever mr and nr are: the driver zero-pads edge panels, so a kernel never
 * reads out of bounds and needs no tail code in its k loop (except B's columns in a
 * table with b_masked, below). */
typedef void (*rcml_gemm_ukr_t)(size_t kc, const float *a, size_t lda, const float *b, size_t ldb,
                                float *c, size_t ldc, size_t mr, size_t nr, float alpha,
                                float beta);
/* The same for a whole tile (MR x NR, every row and column valid) whose B panel is read
 * in place (row stride ldb) and also copied, row by row as the k loop loads it, into bd
 * (kc x NR, rows NR apart: a packed panel). Each output gets the same chain over p as
 * with rcml_gemm_ukr_t, so the same bits. */
typedef void (*rcml_gemm_ukr_pk_t)(size_t kc, const float *a, size_t lda, const float *b,
                                   size_t ldb, float *bd, float *c, size_t ldc, float alpha,
                                   float beta);

/* The direct path for tiny products (no packing): C is accumulated in a local m x n
 * array, p outermost, so each output is summed over p in order exactly like the serial
 * reference, while consecutive updates touch different rows (independent dependency
 * chains, so the adds pipeline instead of waiting on each other). Needs m*n <=
 * RCML_TINY_MN_MAX. */
typedef void (*rcml_gemm_tiny_t)(int trans_a, int trans_b, size_t m, size_t n, size_t k,
                                 float alpha, const float *A, const float *B, float beta, float *C);
#define RCML_TINY_MN_MAX 4096

/* The k block of a B that matmul.c streams from L3 in place (rcml_kc_max): a kernel
 * called with kc <= RCML_KC_STREAM may be reading such a block. */
#define RCML_KC_STREAM 32

/* Pack a full MR-row panel of a row-major A: d[p*MR + r] = s[r*lds + p], p < kq (a
 * transpose; optional, NULL means the driver's scalar loop). */
typedef void (*rcml_gemm_pack_a_t)(const float *s, size_t lds, size_t kq, float *d);

/* Matrix x vector (m == 1 or n == 1), for w outputs: y[j] = alpha*s[j] + beta*y[j]
 * (beta == 0: y is not read), x contiguous, M read in place:
 *   "axpy": s[j] = sum_{p < k} x[p] * M[p*ldm + j], each output one sum over p in order;
 *   "dot":  s[j] = sum_{p < k} M[j*ldm + p] * x[p], a fixed tree of partial sums per output.
 * Either way an output's arithmetic does not depend on w or on where the range starts, so
 * the driver may cut the outputs into chunks anywhere. */
typedef void (*rcml_gemv_t)(size_t k, size_t w, float alpha, const float *x, const float *M,
                            size_t ldm, float beta, float *y);

/* Tables are written with designated members: a member added here is NULL (the
 * driver's fallback) in every table that does not name it. */
typedef struct {
    size_t mr, nr; /* register tile */
    rcml_gemm_ukr_t rowa, cola;
    rcml_gemm_tiny_t tiny;
    rcml_gemm_pack_a_t pack_a_rows;  /* may be NULL */
    rcml_gemm_pack_a_t pack_bt;      /* full NR panel of a transposed B: d[p*NR + j] =
                                        s[j*lds + p]; may be NULL */
    rcml_gemv_t gemv_axpy, gemv_dot; /* may be NULL: matmul.c's plain C versions */
    /* the most columns one chunk of gemv_axpy takes (the driver cuts the outputs into a
       share per thread, at most this wide); 0: matmul.c's RCML_GEMV_AXPY_MAX */
    size_t gemv_axpy_cols;
    /* kernels for a panel with nr <= NR/2 valid columns, the same bits as rowa / cola
       (each output the same chain over p); may be NULL */
    rcml_gemm_ukr_t rowa_half, cola_half;
    /* likewise for a panel with mr <= MR/2 valid rows (only rows < MR/2 are read); such a
       panel is always packed (cola), never read in place; may be NULL */
    rcml_gemm_ukr_t cola_r4;
    /* rowa / cola that pack their B panel as they read it (matmul.c's rcml_tile_chunk:
       the first row panel of a tile that packs its own B); may be NULL */
    rcml_gemm_ukr_pk_t rowa_pk, cola_pk;
    /* nonzero: every kernel of the table reads only the nr valid columns of a B row (masked
       loads), so the last panel of a B read in place needs no zero-padded copy */
    int b_masked;
    /* a B of more than this many floats is packed (not read in place) for more than
       RCML_B_STREAM_M rows of C (matmul.c's rcml_b_stream_rows); 0: matmul.c's
       RCML_B_DIRECT_BIG (about an L2) */
    size_t b_direct_big;
    /* nonzero: while a B read in place streams through in short k blocks (matmul.c's
       rcml_kc_max) from memory (RCML_B_FAR floats or more), each kernel call of the first row
       panel prefetches the same panel of the next block; such a B is then streamed for up to
       RCML_B_STREAM_FAR_M rows of C (rcml_b_stream_rows) */
    int b_stream_prefetch;
    /* nonzero: while a C from memory (RCML_B_FAR floats or more) whose rows one block of B
       spans whole (2 NR <= n <= the block's columns) is computed, each kernel call prefetches
       the same columns of the next row panel's tile toward L2 (matmul.c's rcml_tile_chunk) */
    int c_prefetch;
    /* nonzero: while B is packed from its stored rows (matmul.c's rcml_pack_b_rows), the
       lines of the row this many rows ahead are prefetched toward L1 */
    size_t b_pack_prefetch;
    /* columns of a kc x cols block of packed B that the row panels of a tile pass over
       (matmul.c's rcml_b_block_cols; sized to stay in L2); 0: RCML_NCB (an L2 of 1 MB or
       more) */
    size_t b_block_cols;
    /* nonzero: the columns of such a block when a tile packs its own B (b_lazy) and that B
       comes from memory (RCML_B_FAR floats or more); 0: b_block_cols */
    size_t b_far_block_cols;
    /* a 16 x 16 block transposed, d[c*ldd + r] = s[r*lds + c] (rcml_transpose_f32's
       tiles); may be NULL */
    void (*tr16)(const float *s, size_t lds, float *d, size_t ldd);
} rcml_gemm_kernels_t;

extern const rcml_gemm_kernels_t rcml_gemm_kernels_portable;
/* The AVX kernels: intrinsics under per-function target attributes (GCC, Clang) or in
 * objects built with /arch:AVX2 and /arch:AVX512 (MSVC, clang-cl; see internal.h). */
#if defined(RCML_HAVE_X86_TARGETS)
#define RCML_GEMM_X86_KERNELS 1
extern const rcml_gemm_kernels_t rcml_gemm_kernels_avx2;
extern const rcml_gemm_kernels_t rcml_gemm_kernels_avx512;
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
extern const rcml_gemm_kernels_t rcml_gemm_kernels_neon;
#endif

/* The body of the tiny kernel, shared by every ISA file (compiled under its target). */
#define RCML_GEMM_TINY_BODY_                                                                       \
    {                                                                                              \
        float acc[RCML_TINY_MN_MAX];                                                               \
        size_t i, j, p;                                                                            \
        for (i = 0; i < m * n; i++) acc[i] = 0.0f;                                                 \
        for (p = 0; p < k; p++) {                                                                  \
            if (trans_b) {                                                                         \
                for (i = 0; i < m; i++) {                                                          \
                    const float av = trans_a ? A[p * m + i] : A[i * k + p];                        \
                    float *ar = acc + i * n;                                                       \
                    for (j = 0; j < n; j++) ar[j] += av * B[j * k + p];                            \
                }                                                                                  \
            } else {                                                                               \
                const float *br = B + p * n;                                                       \
                for (i = 0; i < m; i++) {                                                          \
                    const float av = trans_a ? A[p * m + i] : A[i * k + p];                        \
                    float *ar = acc + i * n;                                                       \
                    for (j = 0; j < n; j++) ar[j] += av * br[j];                                   \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
        if (beta == 0.0f) {                                                                        \
            for (i = 0; i < m * n; i++) C[i] = alpha * acc[i];                                     \
        } else {                                                                                   \
            for (i = 0; i < m * n; i++) C[i] = alpha * acc[i] + beta * C[i];                       \
        }                                                                                          \
    }

/* Defines `static void name(...)`, the tiny kernel. Widths 4 and 8 get a copy of the
 * body with n a compile-time constant, so the j loop is one vector with no loop setup
 * (4x4x4: 74 -> 45 ns, 8^3: 182 -> 156 ns). A constant 16 or 32 made GCC vectorise the
 * wrong loop (2.5x slower), so wider rows use the runtime-length copy. Same arithmetic,
 * same order, in every copy. */
#if defined(_MSC_VER)
#define RCML_FORCE_INLINE static __forceinline
#else
#define RCML_FORCE_INLINE static inline __attribute__((always_inline))
#endif
#define RCML_GEMM_TINY_DEFINE(name)                                                                \
    RCML_FORCE_INLINE void name##_n(int trans_a, int trans_b, size_t m, size_t n, size_t k,        \
                                    float alpha, const float *A, const float *B, float beta,       \
                                    float *C)                                                      \
        RCML_GEMM_TINY_BODY_ static void name(int trans_a, int trans_b, size_t m, size_t n,        \
                                              size_t k, float alpha, const float *A,               \
                                              const float *B, float beta, float *C) {              \
        switch (n) {                                                                               \
        case 4: name##_n(trans_a, trans_b, m, 4, k, alpha, A, B, beta, C); break;                  \
        case 8: name##_n(trans_a, trans_b, m, 8, k, alpha, A, B, beta, C); break;                  \
        default: name##_n(trans_a, trans_b, m, n, k, alpha, A, B, beta, C); break;                 \
        }                                                                                          \
    }

#endif
