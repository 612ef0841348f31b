/* matmul.c - matrix product: the serial reference, the portable micro-kernel and the
 * packed GEMM driver (Goto/BLIS structure) shared by every SIMD backend.
 *
 * Loop nest for one layer (C is m x n row-major; see gemm.h for the kernel's view):
 *
 *   phase 1 (threads over B panels):  pack op(B) into NR-column panels, all of k
 *                                     (skipped when B is read in place, pre-packed by
 *                                     rcml_gemm_bpack_init, or packed lazily, below)
 *   phase 2 (threads over C tiles):   for each mt x nt tile of C
 *     for q over k blocks of kc          (k order fixed: q = 0, 1, ...)
 *       pack the tile's rows of op(A)    (MR-row panels, or read A in place when small)
 *       for jc over NCB-column blocks    (a kc x NCB block of packed B stays in L2)
 *         [lazy: pack this block of B]   (one row of tiles: each B panel has one user)
 *         for ir over MR-row panels      (an MR x kc panel of A stays in L1)
 *           for jr over NR-column panels
 *             micro-kernel: C[ir, jr] = alpha * A_panel . B_panel + (q ? 1 : beta) * C
 *
 * Determinism: every element of C is produced by one micro-kernel call per k block, in
 * block order, with block sizes that depend only on (m, n, k); the kernel variants (rows
 * of A read in place or packed, full or half width) all run the same FMA chain per
 * output. Which tile computes an output never changes its bits, so the tiles follow the
 * thread count (one big tile on one thread, several per thread otherwise), and threads
 * only decide which tile runs where: the bits are the same for any thread count.
 *
 * Other paths, each chosen from the shape alone (so still thread-count independent):
 * tiny products go through a direct loop; m == 1 or n == 1 through the matrix x vector
 * kernels (no packing, outputs cut into chunks); a small C with a long k (a convolution's
 * weight gradient) is split along k into segments whose partial products are added in
 * segment order (rcml_gemm_ksplit); an operand whose packed panels would not be reused
 * (A when n <= 128, B when m <= 32) is read in place; a last panel of <= NR/2 columns
 * uses the half-width kernel, a last panel of <= MR/2 rows the four-row one (same bits);
 * a weight gradient with few columns, or a product of a few rows with a transposed B, is
 * computed transposed (rcml_gemm_swaps, rcml_gemm_swaps_tb; same bits).
 *
 * Workspace (packed panels) comes from rcml_scratch_acquire, one buffer kept between
 * calls: a fresh allocation per product paid its page faults every time.
 *
 * NaN/inf: packing pads with zeros only outside the matrix (padding lanes are never
 * stored), nothing is skipped for being zero, and beta == 0 never reads C.
 */
#include "rcmlrs.h"
#include "internal.h"
#include "gemm.h"
#include "kernels.h"

/* ------------------------------------------------------------- serial reference */
static float rcml_at(const float *X, int trans, size_t rows, size_t cols, size_t i, size_t j) {
    /* element (i, j) of op(X) where op(X) is rows x cols */
    return trans ? X[j * rows + i] : X[i * cols + j];
}

/* The spec: one sum over p in order per output, then alpha/beta. */
static void rcml_gemm_serial(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                             const float *A, const float *B, float beta, float *C) {
    size_t i, j, p;
    for (i = 0; i < m; i++) {
        for (j = 0; j < n; j++) {
            float acc = 0.0f;
            for (p = 0; p < k; p++)
                acc += rcml_at(A, trans_a, m, k, i, p) * rcml_at(B, trans_b, k, n, p, j);
            C[i * n + j] = beta == 0.0f ? alpha * acc : alpha * acc + beta * C[i * n + j];
        }
    }
}

/* ------------------------------------------------------------ portable kernel */
/* 4 x 8 tile: 32 float accumulators, which SSE2 (16 xmm) and NEON (32 q) hold in 8
 * vector registers when the compiler vectorises the j loops; nothing ISA-specific. */
#define PMR 4
#define PNR 8

static void rcml_store_tile_portable(float acc[PMR][PNR], float *c, size_t ldc, size_t mr,
                                     size_t nr, float alpha, float beta) {
    size_t r, j;
    for (r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        if (beta == 0.0f) {
            for (j = 0; j < nr; j++) cr[j] = alpha * acc[r][j];
        } else {
            for (j = 0; j < nr; j++) cr[j] = alpha * acc[r][j] + beta * cr[j];
        }
    }
}

#if defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)
/* x86 baseline (SSE2 is part of x86-64, MSVC included): the 4 x 8 tile as 8 xmm
 * accumulators with explicit intrinsics. Compilers given the plain loops vectorised the
 * wrong loop (along k, gathering A with shuffles) at a quarter of this speed. */
#include <emmintrin.h>
#define RCML_SSE_STEP(a0, a1, a2, a3)                                                              \
    {                                                                                              \
        const __m128 b0 = _mm_loadu_ps(b), b1 = _mm_loadu_ps(b + 4);                               \
        __m128 av = _mm_set1_ps(a0);                                                               \
        x0 = _mm_add_ps(x0, _mm_mul_ps(av, b0));                                                   \
        y0 = _mm_add_ps(y0, _mm_mul_ps(av, b1));                                                   \
        av = _mm_set1_ps(a1);                                                                      \
        x1 = _mm_add_ps(x1, _mm_mul_ps(av, b0));                                                   \
        y1 = _mm_add_ps(y1, _mm_mul_ps(av, b1));                                                   \
        av = _mm_set1_ps(a2);                                                                      \
        x2 = _mm_add_ps(x2, _mm_mul_ps(av, b0));                                                   \
        y2 = _mm_add_ps(y2, _mm_mul_ps(av, b1));                                                   \
        av = _mm_set1_ps(a3);                                                                      \
        x3 = _mm_add_ps(x3, _mm_mul_ps(av, b0));                                                   \
        y3 = _mm_add_ps(y3, _mm_mul_ps(av, b1));                                                   \
        b += ldb;                                                                                  \
    }
#define RCML_SSE_DECL                                                                              \
    __m128 x0 = _mm_setzero_ps(), y0 = x0, x1 = x0, y1 = x0, x2 = x0, y2 = x0, x3 = x0, y3 = x0;   \
    float acc[PMR][PNR];                                                                           \
    size_t p
#define RCML_SSE_FINISH                                                                            \
    _mm_storeu_ps(acc[0], x0);                                                                     \
    _mm_storeu_ps(acc[0] + 4, y0);                                                                 \
    _mm_storeu_ps(acc[1], x1);                                                                     \
    _mm_storeu_ps(acc[1] + 4, y1);                                                                 \
    _mm_storeu_ps(acc[2], x2);                                                                     \
    _mm_storeu_ps(acc[2] + 4, y2);                                                                 \
    _mm_storeu_ps(acc[3], x3);                                                                     \
    _mm_storeu_ps(acc[3] + 4, y3);                                                                 \
    rcml_store_tile_portable(acc, c, ldc, mr, nr, alpha, beta);

static void rcml_ukr_rowa_portable(size_t kc, const float *a, size_t lda, const float *b,
                                   size_t ldb, float *c, size_t ldc, size_t mr, size_t nr,
                                   float alpha, float beta) {
    RCML_SSE_DECL;
    for (p = 0; p < kc; p++) RCML_SSE_STEP(a[p], a[lda + p], a[2 * lda + p], a[3 * lda + p])
    RCML_SSE_FINISH
}

static void rcml_ukr_cola_portable(size_t kc, const float *a, size_t lda, const float *b,
                                   size_t ldb, float *c, size_t ldc, size_t mr, size_t nr,
                                   float alpha, float beta) {
    RCML_SSE_DECL;
    for (p = 0; p < kc; p++) {
        RCML_SSE_STEP(a[0], a[1], a[2], a[3])
        a += lda;
    }
    RCML_SSE_FINISH
}
#else
/* Plain C elsewhere: the four A values are scalars and the j loop is the only loop. */
#define RCML_PORTABLE_STEP(a0, a1, a2, a3)                                                         \
    for (j = 0; j < PNR; j++) {                                                                    \
        const float bj = b[j];                                                                     \
        acc[0][j] += (a0) * bj;                                                                    \
        acc[1][j] += (a1) * bj;                                                                    \
        acc[2][j] += (a2) * bj;                                                                    \
        acc[3][j] += (a3) * bj;                                                                    \
    }                                                                                              \
    b += ldb;

static void rcml_ukr_rowa_portable(size_t kc, const float *a, size_t lda, const float *b,
                                   size_t ldb, float *c, size_t ldc, size_t mr, size_t nr,
                                   float alpha, float beta) {
    float acc[PMR][PNR] = {{0.0f}};
    size_t j, p;
    for (p = 0; p < kc; p++) {
        const float a0 = a[p], a1 = a[lda + p], a2 = a[2 * lda + p], a3 = a[3 * lda + p];
        RCML_PORTABLE_STEP(a0, a1, a2, a3)
    }
    rcml_store_tile_portable(acc, c, ldc, mr, nr, alpha, beta);
}

static void rcml_ukr_cola_portable(size_t kc, const float *a, size_t lda, const float *b,
                                   size_t ldb, float *c, size_t ldc, size_t mr, size_t nr,
                                   float alpha, float beta) {
    float acc[PMR][PNR] = {{0.0f}};
    size_t j, p;
    for (p = 0; p < kc; p++) {
        const float a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
        RCML_PORTABLE_STEP(a0, a1, a2, a3)
        a += lda;
    }
    rcml_store_tile_portable(acc, c, ldc, mr, nr, alpha, beta);
}
#endif

RCML_GEMM_TINY_DEFINE(rcml_gemm_tiny_portable)

const rcml_gemm_kernels_t rcml_gemm_kernels_portable = {
    .mr = PMR,
    .nr = PNR,
    .rowa = rcml_ukr_rowa_portable,
    .cola = rcml_ukr_cola_portable,
    .tiny = rcml_gemm_tiny_portable,
};

/* this backend's micro-kernels (the one table of dispatch.c); NULL: the serial reference */
static const rcml_gemm_kernels_t *rcml_gemm_kernels(void) { return rcml_kernels()->gemm; }

/* ------------------------------------------------------------------- blocking */
/* k block. An MR x KC panel of A (8 x 256 x 4 B = 8 KB with AVX-512) stays in the 32 KB
 * L1 while B panels stream past it; 256 steps also amortise the C tile load/store of
 * each kernel call to ~1% of its FMAs. k is cut into equal blocks (no tiny last block).
 * Measured (1 thread, CPU time, n = 512..2048): KC 128..512 and NCB 128..1024 all land
 * within ~5% of each other here; 256/512 is the classic choice and among the best. On a
 * Zen 3 EPYC with the AVX2 table (1 thread, rcmlrs time paired in one process, medians of
 * 10 rounds, 1024^3 / 512^3 / 256x1024x1024): KC 384 with 128- or 160-column B blocks
 * 0.99-1.00x, KC 512 with 128 columns 0.99-1.01x, KC 192 0.96x / 1.01x / 0.98x. */
#ifndef RCML_KC_MAX
#define RCML_KC_MAX 256
#endif
/* Columns of a B block kept in L2 while every MR panel of the tile passes over it:
 * KC x NCB x 4 B = 512 KB, half of a 1 MB L2 (Zen 4, Skylake-SP), leaving room for A. A
 * table for smaller L2s asks for fewer (b_block_cols; rcml_b_block_cols). */
#ifndef RCML_NCB
#define RCML_NCB 512
#endif
/* Tile limits. Tall tiles reuse each L2 block of B across more A panels; wide tiles pack
 * each A block once for more columns (packing an element of A costs about as much as
 * the nt/16 FMAs it then feeds when nt is small). */
#ifndef RCML_MT_MAX
#define RCML_MT_MAX 480
#endif
#ifndef RCML_NT_MAX
#define RCML_NT_MAX 2048
#endif
/* ... but one thread keeps up to this many rows in one row tile. One row tile packs B
 * block by block as it walks it (b_lazy), each block used while it is in L2, where several
 * row tiles share one B packed beforehand and each reads it back from L3; its A panels,
 * each read once per B block, stream in order. Measured on a Zen 3 EPYC (1 thread, rcmlrs
 * time 480-row tiles / one tile, paired in one process, medians of 12-20 rounds; several
 * runs where given): 784x256x1024 (A transposed, an MLP's weight gradient) 1.04x, 1.05x
 * and 1.05x, 1024x256x1024 (likewise) 1.05x, 1.05x and 1.06x, 784x1024x1024 (A
 * transposed) 1.07x, 1024^3 (B transposed) 1.06x, 512^3 (A transposed) 1.08x and 1.03x,
 * 640^3 1.04x, 600^3 1.05x and 1.02x, 784x32x512 (A transposed) 1.04x, 1.05x and 1.04x,
 * 1024x256x128 (A transposed) 1.02x; within 3% either way: 1024^3 1.01x (four runs), 512^3
 * 0.97x and 1.02x, 1000^3 0.97x and 1.01x, 800^3 1.00x, 512^3 (B transposed) 0.98x, 1024^3
 * (A transposed) 0.99x, 700x300x900 1.00x. Two tiles of 1024 rows lost against five of 410
 * (2048^3 0.95x and 0.99x), hence the bound. With more threads the tile count stays the
 * cost model's (rcml_choose_tiles); tiles do not change the bits. */
#define RCML_MT_MAX_1T 1024
/* Aim for at least this many tiles so two to eight threads balance, but stop splitting
 * below this many FMAs per tile (scheduling then costs more than it balances). Smaller
 * products split in two measured mixed on a Zen 3 EPYC (2 threads, per-call time, medians
 * of 8-40 rounds): with the helper still polling from the call before, 256x1024x10 took 101
 * instead of 181 us, 128^3 48 instead of 68, 64^3 8 instead of 10; as the first call after
 * a 1 ms pause (the helper asleep) they lost, 238 vs 213 us, 125 vs 107 and 56 vs 30. */
#ifndef RCML_TILES_WANT
#define RCML_TILES_WANT 8
#endif
#define RCML_TILE_MIN_WORK ((size_t)1 << 21)
/* Below this many FMAs in total everything runs on the calling thread. */
#define RCML_PAR_MIN_WORK ((size_t)1 << 18)
/* Tiny products (overhead-bound) take the direct loop. Measured crossover with the
 * kernel path: 8^3 is faster direct (157 vs 204 ns), 12^3 and up through the kernels. */
#ifndef RCML_TINY_WORK
#define RCML_TINY_WORK ((size_t)1024)
#endif
/* Read A in place (no packing) when an A operand is at most this many floats (128 KB):
 * then it stays cache resident and the strided reads cost little. Larger A is packed,
 * which also avoids L1 set conflicts between rows at power-of-two strides. Lowered from
 * 2^16 on a Zen 3 EPYC (1 thread, NumPy time / rcmlrs time over rounds, builds
 * alternated): 64x1024x256 0.83-0.85 -> 0.90-0.95, 48x1024x256 0.85-0.86 -> 0.92-0.95,
 * 64x784x1024 0.83-0.88 -> 0.89-0.91, 64x1024x1024 0.85-0.88 -> 0.89-0.91, 40x1000x500
 * 0.84-0.86 -> 0.89-0.95, 32x2048x512 0.86-0.87 -> 0.88-0.95, 256^3 0.88-0.97 ->
 * 0.92-1.01; 2^14 and 2^13 changed nothing measurable. Packing A does not change the
 * bits (same k blocks, same chain per output). */
#ifndef RCML_A_DIRECT_MAX
#define RCML_A_DIRECT_MAX ((size_t)1 << 15)
#endif
/* Likewise read B in place (not transposed only) when a layer's B is this small. */
#ifndef RCML_B_DIRECT_MAX
#define RCML_B_DIRECT_MAX ((size_t)1 << 16)
#endif
#ifndef RCML_A_DIRECT_N
#define RCML_A_DIRECT_N 128
#endif
/* ... except an A whose rows lie a multiple of 4 KB apart. A transposed one (lda % 1024
 * == 0: the X^T dY of a layer with 1024, 2048, ... inputs) is packed once n > RCML_A_4K_N:
 * read in place, a row panel's kc rows, 4 KB apart, fall in 16 of the 1024 sets of a 512 KB
 * 8-way L2 (128 lines for kc = 256), so they likely come from L3 on every pass over B
 * (this guest exposes no cache counters to confirm it). Measured on a Zen 3 EPYC with the
 * AVX2 kernels (1 thread, rcmlrs time with the rule off / on, paired in one process,
 * median of 16 rounds): 1024x256x128 1.18x, 4096x512x100 1.41x, 2048x256x64 1.38x,
 * 1024x4096x64 1.23x, 1024x256x48 1.29x, 2048x64x128 1.49x, 1024x3136x128 1.41x (all A
 * transposed); at n = 32 from 0.85x (1024x2048x32) to 1.16x (2048x64x32), at n = 16 0.60x
 * (4096x256x16: each packed panel then serves one B panel). Rows 5 or 6 KB apart (1280,
 * 1536) lost when packed (0.93-0.97x); 640 and 768 rows (2.5 and 3 KB) were mixed
 * (0.89-1.06x, builds alternated). An untransposed A at such a stride (k = 1024, 2048...,
 * or a k-split segment of a wide A), whose MR rows a kernel walks side by side, is packed
 * from RCML_A_4K_MIN floats (likewise paired, 12-14 rounds): 64x4096x64 (k-split) 1.09x,
 * 32x4096x64 1.09x, 8x1024x1024 1.08x, 16x1024x1024 1.11x, 32x1024x512 1.04x, 24x1024x100
 * 1.06x, 48x1024x64 1.07x, 256x1024x64 1.07x, 1024x1024x100 1.02x, 16x2048x256 0.99x; at
 * n = 32 0.96-0.98x. Packing does not change the bits. */
/* the floats in 4 KB: rows this many floats apart (or a multiple) share their cache sets */
#define RCML_4K_FLOATS (4096 / sizeof(float))
#define RCML_A_4K_N 32
#define RCML_A_4K_MIN 8192
#ifndef RCML_B_DIRECT_M
#define RCML_B_DIRECT_M 32
#endif
/* ... but a B beyond this many floats (2 MB, more than an L2) is packed once m spans more
 * than RCML_B_STREAM_M rows (rcml_b_stream_rows: more for a B from memory): each of its rows
 * is then read strided from L3 once (the packing, with many loads in flight) instead of once
 * per panel. Measured (1 thread, CPU time, median of 16 paired rounds): 32x3200x1024 (A
 * transposed) 1.15x (before the stream prefetch: see rcml_b_stream_rows); a B that fits L2
 * stays faster in place (16x256x1024 0.72x when packed), and so do up to 16 rows since a
 * B read in place by them is walked in short k blocks (rcml_kc_max). */
#define RCML_B_STREAM_M 16
/* ... and n is this wide or more (rcml_b_streams) */
#define RCML_B_STREAM_N 512
/* ... and such a B is then walked in k blocks of at most RCML_KC_STREAM rows (gemm.h,
 * rcml_kc_max) */
#ifndef RCML_B_DIRECT_BIG
#define RCML_B_DIRECT_BIG ((size_t)1 << 19)
#endif
/* ... and a B of any size is packed when it serves at least this many rows (16 panels)
 * and n > 64: read in place, a panel's rows lie n floats apart (4 KB at n = 1024), so
 * its 32 or more rows share two L1 sets and every B load came from L2 (the top sample
 * sites under perf). Measured (1 thread, paired rounds): 3200x32x1024 (an LSTM's input
 * projection) 1.16-1.33x, 1024x16x1024 1.19x, 256x32x1024 1.18-1.21x, 256x64x256 1.14x;
 * 96x64x128 0.94x, hence the row bound. */
#ifndef RCML_B_PACK_M
#define RCML_B_PACK_M 128
#endif
/* A product whose B has RCML_B_FAR floats or more (8 MB) reads it from memory on each call:
 * more than a shared host's L3 keeps for one process. The tables' B prefetches apply to such
 * a B (b_pack_prefetch below, b_stream_prefetch in rcml_tile_chunk). */
#define RCML_B_FAR ((size_t)1 << 21)
/* A table's b_pack_prefetch applies to a B of RCML_B_FAR floats or more. Measured (Zen 3
 * EPYC, 1 thread, NumPy time / rcmlrs time over rounds, builds alternated): 32x3200x1024 (A
 * transposed, B 13 MB) 0.72-0.73 -> 0.75-0.80. It also applies to a B that the L3 holds once the
 * product has RCML_B_PACK_PF_M rows or more: the packing (perf: the copy waiting on each line of B,
 * 12-20% of 128x1024x1024 and 256x784x1024) then feeds enough FMAs for the prefetches to
 * pay. Measured so (same machine and method): 128x1024x1024 0.83-0.89 -> 0.90-0.98,
 * 256x784x1024 0.86-0.96 -> 0.96-0.99, 512^3 0.88-0.96 -> 0.96-1.03, 64x784x1024
 * 0.74-0.86 -> 0.77-0.92, 96x1024x1024 0.82-0.89 -> 0.89-0.93; fewer rows lost
 * (32x784x512 0.84-0.93 -> 0.81-0.87, 48x784x512 0.80-0.98 -> 0.78-0.85). */
#define RCML_B_PACK_PF_M 64
/* A B that would be read in place is packed when a panel row is one 64-byte cache line (NR
 * floats: the AVX2 table) but B's rows, whole lines apart, start inside one (NumPy's own
 * arrays start 16 bytes into a line): each panel row then spans two lines, so the kernels
 * touch twice the lines and every other load straddles two. From RCML_B_LINE_M rows and more
 * than RCML_B_LINE_N columns. Measured on a Zen 3 EPYC (1 thread, operands 16 bytes into a
 * line, rcmlrs time in place / packed, paired in one process, 10 rounds): 288x16384x64 (A
 * transposed, k-split: a CIFAR convolution's weight gradient) 1.20x, 288x4096x64 and
 * 288x4096x48 (likewise) 1.23x and 1.24x, 64x4096x64 (k-split) 1.11x, 64x1024x64 1.08x,
 * 4096x64x64 1.03x; left in place: 100x4096x32 1.00x, 27x65536x32 0.90x, 150x4096x16 0.95x
 * (all A transposed), 30x301x48 1.04x. Packing keeps the k blocks, so the bits do not depend
 * on where B starts. The AVX-512 table's 128-byte rows (three lines when misplaced) lost when
 * so packed on a Zen 4 EPYC (same method): 64x4096x64 0.90x, 64x1024x64 0.90x, 100x4096x32
 * (A transposed) 0.93x, 288x16384x64 and 288x4096x64 (A transposed) 1.04x and 1.03x, so only
 * the AVX2 table does it. */
#define RCML_B_LINE_M 64
#define RCML_B_LINE_N 32
/* Workspace cap (floats): bigger problems are done in layer groups / column passes. */
#ifndef RCML_WS_CAP
#define RCML_WS_CAP ((size_t)1 << 24)
#endif

/* Workspaces up to this many floats (16 KB) live on the caller's stack. */
#define RCML_WS_STACK 4096

#define RCML_CEIL_DIV(a, b) (((a) + (b) - 1) / (b))

typedef struct {
    const rcml_gemm_kernels_t *kr;
    int ta, tb;
    size_t m, n, k;
    float alpha, beta;
    const float *A, *B;
    size_t sa, sb;
    size_t lda, ldb; /* row strides of the stored A and B (k or m; n or k when whole) */
    float *C;
    size_t l0, nl;  /* layers of this group */
    size_t j0, nj;  /* columns of this pass */
    size_t kc, nkb; /* k block size and count */
    size_t tiles_m, tiles_n;
    size_t pm; /* MR panels of rows; tile ti holds panels [ti*pm/tiles_m, (ti+1)*pm/tiles_m) */
    int a_pack, b_pack; /* b_pack == 0: B read in place, only an edge panel is packed */
    int b_lazy;         /* B packed by each tile, one L2 block at a time (no phase 1) */
    int b_big;          /* the whole product's B is RCML_PK_FUSE_B_MAX floats or more */
    int b_far;          /* ... RCML_B_FAR floats or more */
    int c_far;          /* C (every layer's) is RCML_B_FAR floats or more (c_pf) */
    size_t b_pack_pf;   /* rows ahead that rcml_pack_b_rows prefetches (0: none) */
    size_t np;          /* NR panels in the pass */
    float *bp;          /* packed B */
    size_t bp_layer;    /* floats per layer of packed B (a shared B, sb == 0, has one) */
    float *ap;          /* packing slots, one per tile of the current batch: A ... */
    size_t ap_slot;
    size_t bl_slot; /* ... then, when b_lazy, one block of B */
    size_t t0;      /* first tile (within the layer group) of the current batch */
} rcml_gemm_job_t;

/* Copy one row of a panel, w floats. The register tiles' widths get constant sizes, which
 * the compiler turns into a few vector moves: a memcpy call per 32-128 bytes (what the
 * plain loop became) was 6% of an MLP training step. */
RCML_INLINE void rcml_copy_row(float *RCML_RESTRICT d, const float *RCML_RESTRICT s, size_t w) {
    switch (w) {
    case 6: memcpy(d, s, 6 * sizeof(float)); break;
    case 8: memcpy(d, s, 8 * sizeof(float)); break;
    case 12: memcpy(d, s, 12 * sizeof(float)); break;
    case 16: memcpy(d, s, 16 * sizeof(float)); break;
    case 32: memcpy(d, s, 32 * sizeof(float)); break;
    default: { /* an edge panel: 8 floats at a time, then the few left */
        size_t j = 0;
        for (; j + 8 <= w; j += 8) memcpy(d + j, s + j, 8 * sizeof(float));
        for (; j < w; j++) d[j] = s[j];
    }
    }
}

/* Pack rows [k0, k0 + kq) x columns [jj, jj + w) of an untransposed B, every NR-column
 * panel of the block at once (panel t at d + t*ps, laid out as rcml_pack_b_panels lays
 * one), walking B row by row: each row is one contiguous read, which the prefetchers
 * follow, where packing panel after panel reads 128 bytes per row at a stride of n
 * (1 thread, paired rounds: 1.01-1.07x on 16..256-row products that pack B lazily). */
static void rcml_pack_b_rows(const rcml_gemm_job_t *job, const float *Bl, size_t jj, size_t w,
                             size_t k0, size_t kq, size_t ps, float *RCML_RESTRICT d) {
    const size_t NR = job->kr->nr;
    const size_t full = w / NR * NR, v = w - full; /* columns in whole panels, and left */
    const size_t pf = job->b_pack_pf;
    size_t p, j, t;
    for (p = 0; p < kq; p++) {
        const float *RCML_RESTRICT s = Bl + (k0 + p) * job->ldb + jj;
        float *RCML_RESTRICT dr = d + p * NR;
        if (pf && p + pf < kq) rcml_prefetch_run(s + pf * job->ldb, w, 1); /* row p + pf */
        for (t = 0; t < full; t += NR) rcml_copy_row(dr + t / NR * ps, s + t, NR);
        if (v) { /* a partial panel, only ever at the pass end: zero padded */
            float *RCML_RESTRICT e = dr + full / NR * ps;
            rcml_copy_row(e, s + full, v);
            for (j = v; j < NR; j++) e[j] = 0.0f;
        }
    }
}

/* Pack rows [k0, k0 + kq) x columns [jj, jj + w) of op(B) for one layer into panels of NR
 * columns, panel t at d + t*ps with rows NR floats apart; columns at or past jj + w are
 * zeros (the n edge). An untransposed B is copied row by row across the panels
 * (rcml_pack_b_rows); a transposed one panel by panel, each along k. */
static void rcml_pack_b_panels(const rcml_gemm_job_t *job, const float *Bl, size_t jj, size_t w,
                               size_t k0, size_t kq, size_t ps, float *RCML_RESTRICT d) {
    const size_t NR = job->kr->nr;
    size_t t, p, j;
    if (!job->tb) {
        rcml_pack_b_rows(job, Bl, jj, w, k0, kq, ps, d);
        return;
    }
    for (t = 0; t < w; t += NR) {
        const size_t v = RCML_MIN(NR, w - t); /* valid columns */
        float *RCML_RESTRICT e = d + t / NR * ps;
        if (v == NR && job->kr->pack_bt) {
            job->kr->pack_bt(Bl + (jj + t) * job->ldb + k0, job->ldb, kq, e);
            continue;
        }
        /* stored B is n x k: read each column of op(B) along k (contiguous) */
        for (j = 0; j < v; j++) {
            const float *RCML_RESTRICT s = Bl + (jj + t + j) * job->ldb + k0;
            for (p = 0; p < kq; p++) e[p * NR + j] = s[p];
        }
        for (; j < NR; j++)
            for (p = 0; p < kq; p++) e[p * NR + j] = 0.0f;
    }
}

/* Where block q of panel jp of layer lr's packed B lives. Layout per layer: block q
 * (k0 = q*kc, kq rows) starts at k0*npk*NR and holds npk panels of kq x NR each, so a
 * block's panels are contiguous: the L2 block a tile walks is one memory range. */
RCML_INLINE float *rcml_bp_at(const rcml_gemm_job_t *job, size_t lr, size_t q, size_t jpk) {
    const size_t NR = job->kr->nr, npk = job->b_pack ? job->np : 1;
    const size_t k0 = q * job->kc, kq = RCML_MIN(job->kc, job->k - k0);
    return job->bp + (job->sb ? lr : 0) * job->bp_layer + k0 * npk * NR + jpk * kq * NR;
}

/* Phase 1: chunk [b, e) of (layer, panel) pairs to pack. A chunk's panels of one layer are
 * packed together (rcml_pack_b_panels): an untransposed B is then read as one run of the
 * chunk's columns per row, not 64 bytes at a time at a stride of a whole row, which left
 * the copy waiting on every line. */
static void rcml_pack_b_chunk(void *ctx, size_t b, size_t e) {
    const rcml_gemm_job_t *job = (const rcml_gemm_job_t *)ctx;
    const size_t NR = job->kr->nr, npk = job->b_pack ? job->np : 1;
    size_t t, q, g;
    for (t = b; t < e; t += g) {
        const size_t lr = t / npk, jpk = t % npk;
        /* b_pack: every panel; otherwise only the last, partial one */
        const size_t jp = job->b_pack ? jpk : job->np - 1;
        const size_t jj = job->j0 + jp * NR, jend = job->j0 + job->nj;
        const float *Bl = job->B + (job->l0 + lr) * job->sb;
        g = RCML_MIN(e - t, npk - jpk); /* this layer's panels in the chunk */
        for (q = 0; q < job->nkb; q++) {
            const size_t k0 = q * job->kc, kq = RCML_MIN(job->kc, job->k - k0);
            /* a block's panels lie kq x NR apart (rcml_bp_at) */
            rcml_pack_b_panels(job, Bl, jj, RCML_MIN(g * NR, jend - jj), k0, kq, kq * NR,
                               rcml_bp_at(job, lr, q, jpk));
        }
    }
}

/* Panels per phase-1 chunk: up to RCML_PACK_B_CHUNK floats of B, but at least four chunks
 * when there are enough panels, so that two to four threads share the packing. */
#define RCML_PACK_B_CHUNK ((size_t)1 << 19)
static size_t rcml_pack_b_grain(size_t units, size_t unit_floats) {
    const size_t g = RCML_MIN(RCML_PACK_B_CHUNK / (unit_floats + 1), units / 4);
    return RCML_MAX((size_t)1, g);
}

/* Pack rows [i0, i0 + rows) x op(A) columns [k0, k0 + kq) as MR-row panels, panel after
 * panel, each kq x MR (element (r, p) at p*MR + r); rows past i0 + rows are zeros.
 * A transposed A (stored k x m: op(A)'s MR rows of one p are contiguous) is copied
 * RCML_PACK_AT_ROWS stored rows at a time across every panel: each of those rows is read
 * left to right, and each panel receives RCML_PACK_AT_ROWS * MR contiguous floats. Panel
 * after panel, along all kq rows, read 24 bytes per row at a stride of m floats. Measured
 * on a Zen 3 EPYC (1 thread, old / new copy paired in one process, medians of 12-20
 * rounds): 4096x512x100 1.03-1.12x, 2048x256x64 1.06x, 1024x256x128 1.07x, 1024^3 1.03x,
 * 512^3 1.03x, 32x3200x1024 and 256x3136x1024 1.00-1.01x (all A transposed); 16 rows at a
 * time about the same, 32 less. */
#define RCML_PACK_AT_ROWS 8
static void rcml_pack_a(const rcml_gemm_job_t *job, const float *Al, size_t i0, size_t rows,
                        size_t k0, size_t kq, float *RCML_RESTRICT d) {
    const size_t MR = job->kr->mr;
    size_t ip, r, p, p0;
    /* a partial last panel's padding rows: one memset before the copy (a strided zeroing
     * pass, which GCC made a memset call per row, was a third of 25x36864x6) */
    if (rows % MR) memset(d + rows / MR * MR * kq, 0, kq * MR * sizeof(float));
    if (job->ta) {
        for (p0 = 0; p0 < kq; p0 += RCML_PACK_AT_ROWS) {
            const size_t pe = RCML_MIN(kq, p0 + RCML_PACK_AT_ROWS);
            for (ip = 0; ip < rows; ip += MR) {
                const size_t h = RCML_MIN(MR, rows - ip);
                float *RCML_RESTRICT dp = d + ip * kq;
                for (p = p0; p < pe; p++)
                    rcml_copy_row(dp + p * MR, Al + (k0 + p) * job->lda + i0 + ip, h);
            }
        }
        return;
    }
    for (ip = 0; ip < rows; ip += MR) {
        const size_t h = RCML_MIN(MR, rows - ip);
        float *RCML_RESTRICT dp = d + ip * kq;
        if (h == MR && job->kr->pack_a_rows) {
            job->kr->pack_a_rows(Al + (i0 + ip) * job->lda + k0, job->lda, kq, dp);
            continue;
        }
        /* stored A is m x k: read each row along k (contiguous) */
        for (r = 0; r < h; r++) {
            const float *RCML_RESTRICT s = Al + (i0 + ip + r) * job->lda + k0;
            for (p = 0; p < kq; p++) dp[p * MR + r] = s[p];
        }
    }
}

/* Columns of one block of B that a tile walks (and packs, when lazy): RCML_NCB or the
 * table's b_block_cols (a whole number of panels; NR is 12 on NEON), its b_far_block_cols
 * for a B from memory that the tile packs itself, or a single panel for
 * a transposed B serving at most RCML_BT_PANEL_M rows:
 * its panel then stays in L1 while those few row panels pass over it (each panel is
 * packed from whole stored rows anyway). Paired rounds, 1 thread: 32x512x784 1.08-1.11x,
 * 8x1024x1024 1.06-1.12x, 16x1024x1024 1.02-1.14x; 64 rows gained nothing, and an
 * untransposed B packed a panel at a time lost (32x784x512 0.89x: 128 bytes per row read). */
#define RCML_BT_PANEL_M 32
static size_t rcml_b_block_cols(const rcml_gemm_job_t *job) {
    const size_t NR = job->kr->nr, l2 = job->kr->b_block_cols;
    /* the widest tile's columns */
    const size_t nt = RCML_CEIL_DIV(job->np, job->tiles_n) * NR;
    if (job->tb && job->m <= RCML_BT_PANEL_M) return NR;
    /* packed B in the table's blocks, but a tile that packs its own B and is at most
       RCML_NCB wide keeps one block, so each row of B is copied as one run; a B read in
       place keeps RCML_NCB (its streaming prefetch was measured so) */
    if (job->b_pack && l2 && !(job->b_lazy && nt <= RCML_NCB)) {
        /* a B from memory that the tile packs itself: the table's narrower block, if any */
        const size_t far = job->kr->b_far_block_cols;
        const size_t cols = job->b_lazy && job->b_far && far ? far : l2;
        return RCML_MAX(NR, cols / NR * NR);
    }
    return RCML_MAX(NR, RCML_NCB / NR * NR);
}

/* A tile of MR .. RCML_PK_FUSE_M rows that packs its own B (b_lazy, B untransposed) lets
 * its first row panel pack each whole B panel as it reads it (the table's rowa_pk and
 * cola_pk), where the copy was a pass of its own: with few rows to share it, it took a
 * visible share of the product, each line waited on once by the copy, then again by the
 * kernel. Only while B's rows lie at most RCML_PK_FUSE_LDB floats apart, or k is one block:
 * read a panel at a time, rows 4 KB apart and several k blocks lost. Measured on a Zen 3
 * EPYC (1 thread, NumPy time / rcmlrs time over rounds, builds alternated): 17x784x512
 * 1.02-1.06 -> 1.15-1.29, 32x784x512 0.91-0.95 -> 0.99-1.04, 48x784x512 0.91-0.98 ->
 * 0.94-1.01, 64x784x512 0.89-0.93 -> 0.93-0.99, 64x1024x256 0.93-0.98 -> 0.97-1.00,
 * 32x256x1024 0.88-0.92 -> 0.97-1.08, 64x256x1024 0.90-0.99 -> 0.92-1.06; left out:
 * 64x784x1024 0.85-0.93 -> 0.78-0.81, 64x1024x1024 0.86-0.91 -> 0.72-0.85, 128x784x512
 * 0.94-1.17 -> 0.90-0.94. */
#define RCML_PK_FUSE_M 64
#define RCML_PK_FUSE_LDB 512
/* ... and, over several k blocks, only while the whole product's B (ball: every layer's,
 * every k segment's) is under 4 MB. A bigger one more likely comes from memory, where the
 * fused kernels' walk (a panel's 64 bytes of each row, rows ldb apart) waited on its
 * loads (8x4096x512: 69% of the samples in rowa_pk) and rcml_pack_b_rows' walk (whole
 * rows, prefetched rows ahead) keeps more of them in flight. These products are k-split
 * (a B under 512 floats wide and 4 MB spans k >= 2048). Measured on a Zen 3 EPYC (1
 * thread, rcmlrs time fused / row-packed, paired in one process, medians of 12-14 rounds,
 * one or two runs): 8x4096x512 1.19x and 1.56x, 16x4096x512 1.31x and 1.35x, 12x4096x512
 * 1.39x, 32x4096x512 1.33x and 1.21x, 32x3200x512 1.28x and 1.26x, 48x2048x512 1.15x and
 * 1.14x, 64x4096x256 1.07x and 1.06x, 16x8192x256 1.17x and 1.03x, 16x2048x512 1.02x and
 * 0.97x, 32x2048x512 1.00x; 2 threads (10-14 rounds, noisier): 8x4096x512 1.57x,
 * 32x4096x512 1.22x, 64x4096x256 1.15x, 48x2048x512 1.18x, 16x8192x256 0.81x, 1.04x and
 * 0.96x, 32x3200x512 0.82x, 1.19x and 0.74x. Under 4 MB the fused form is kept: packed row
 * by row, a B under 3 MB lost (1 thread: 24x1500x512 0.84x and 0.89x, 64x1024x256 0.92x,
 * 32x784x512 0.91x, 17x784x512 0.87x) and one of 3.5 MB was mixed (32x1792x512 1.20x,
 * 16x1792x512 0.98x, 64x3584x256 1.06x). With one k block (a wide B) it stays fused:
 * 32x256x4096 0.99x, 16x256x4096 0.90x, 48x200x8192 1.09x. A batch of three layers, each
 * with its own 1.6 MB B, is past the bound too: 3 x 32x784x512 1.16x, 3 x 17x784x512
 * 0.97x. Both forms give the same bits. */
#define RCML_PK_FUSE_B_MAX ((size_t)1 << 20)

/* Phase 2: chunk [b, e) of C tiles (layer-major, then tile rows, then tile columns). */
static void rcml_tile_chunk(void *ctx, size_t b, size_t e) {
    const rcml_gemm_job_t *job = (const rcml_gemm_job_t *)ctx;
    const rcml_gemm_kernels_t *kr = job->kr;
    const size_t MR = kr->mr, NR = kr->nr, m = job->m, n = job->n, k = job->k;
    const size_t per_layer = job->tiles_m * job->tiles_n;
    const size_t ncb = rcml_b_block_cols(job);
    size_t t;
    for (t = b; t < e; t++) {
        const size_t tile = job->t0 + t; /* t indexes the batch, and its A slot */
        const size_t lr = tile / per_layer, ti = (tile % per_layer) / job->tiles_n,
                     tj = tile % job->tiles_n;
        /* balanced tiles: panel counts differ by at most one (one tile: no divisions,
         * which are a visible share of a 16 x 16 product) */
        const size_t tm = job->tiles_m, tn = job->tiles_n;
        const size_t i0 = tm == 1 ? 0 : ti * job->pm / tm * MR;
        const size_t i1 = tm == 1 ? m : RCML_MIN(m, (ti + 1) * job->pm / tm * MR);
        const size_t c0 = tn == 1 ? 0 : tj * job->np / tn * NR;
        const size_t c1 = tn == 1 ? job->nj : RCML_MIN(job->nj, (tj + 1) * job->np / tn * NR);
        const float *Al = job->A + (job->l0 + lr) * job->sa;
        const float *Bl = job->B + (job->l0 + lr) * job->sb;
        float *Cl = job->C + (job->l0 + lr) * m * n + job->j0;
        float *slot = job->ap + t * (job->ap_slot + job->bl_slot);
        float *bslot = slot + job->ap_slot;
        /* C from memory, a block of B spanning whole rows: a row panel's tiles lie in one
         * range of memory, which the kernels write MR rows x NR floats at a time; each call
         * prefetches its tile in the next row panel, n / NR calls ahead (the table's
         * c_prefetch). No bits change. */
        const int c_pf = kr->c_prefetch && job->c_far && n >= 2 * NR && n <= ncb;
        const int fuse = job->b_lazy && !job->tb && kr->rowa_pk && kr->cola_pk && i1 - i0 >= MR &&
                         i1 - i0 <= RCML_PK_FUSE_M &&
                         ((job->ldb <= RCML_PK_FUSE_LDB && !job->b_big) || job->nkb == 1);
        size_t q, jc, ir, jr;
        for (q = 0; q < job->nkb; q++) {
            const size_t k0 = q * job->kc, kq = RCML_MIN(job->kc, k - k0);
            /* later k blocks add onto what the earlier ones stored */
            const float bq = q == 0 ? job->beta : 1.0f;
            /* lazily packed panels lie one padding row apart: at kq*NR floats (a multiple of
             * 4 KB) the rows that rcml_pack_b_rows writes together shared their L1 sets */
            const size_t bps = kq * NR + NR;
            if (job->a_pack) {
                rcml_pack_a(job, Al, i0, i1 - i0, k0, kq, slot);
            } else if ((i1 - i0) % MR) {
                /* only the partial last panel: reading it in place would overrun A */
                const size_t last = i0 + (i1 - i0) / MR * MR;
                rcml_pack_a(job, Al, last, i1 - last, k0, kq, slot);
            }
            for (jc = c0; jc < c1; jc += ncb) {
                const size_t jce = RCML_MIN(c1, jc + ncb);
                /* B streamed in place in short k blocks (from L3 or memory, 32 rows each a
                 * page or more apart, which the hardware prefetchers follow poorly): the next
                 * block (next columns, else the next k block's first ones) is fetched panel by
                 * panel while the first row panel computes on this one. Only a B from memory
                 * (b_far): one the L3 holds lost to it on a Zen 4 EPYC (rcmlrs time with / without,
                 * paired in one process, 1 thread, 10 rounds; AVX-512 table): 8x1024x1024 1.16x,
                 * 8x768x1024 1.18x, 4x1024x1024 1.21x, 12x600x1024 1.10x, 16x1024x1024 1.03x;
                 * the AVX2 table there 1.01x, 1.13x, 1.17x, 1.08x, 1.01x; 12x2048x2048 and
                 * 10x3000x1000 (B 16 and 12 MB, prefetched both ways) 0.98-1.00x. */
                const float *pf = NULL;
                size_t pf_rows = 0, pf_w = 0;
                if (kr->b_stream_prefetch && job->b_far && !job->b_pack && !job->b_lazy &&
                    job->kc <= RCML_KC_STREAM) {
                    if (jce < c1) {
                        pf = Bl + k0 * job->ldb + job->j0 + jce;
                        pf_rows = kq;
                        pf_w = RCML_MIN(c1, jce + ncb) - jce;
                    } else if (q + 1 < job->nkb) {
                        pf = Bl + (k0 + kq) * job->ldb + job->j0 + c0;
                        pf_rows = RCML_MIN(job->kc, k - k0 - kq);
                        pf_w = RCML_MIN(c1, c0 + ncb) - c0;
                    }
                }
                if (job->b_lazy) {
                    /* fused: only a partial last panel is packed ahead (zero padded) */
                    const size_t full = fuse ? (jce - jc) / NR * NR : 0;
                    if (jce - jc > full)
                        rcml_pack_b_panels(job, Bl, job->j0 + jc + full, jce - jc - full, k0, kq,
                                           bps, bslot + full / NR * bps);
                }
                for (ir = i0; ir < i1; ir += MR) {
                    const size_t mr = RCML_MIN(MR, i1 - ir);
                    rcml_gemm_ukr_t ukr = kr->cola;
                    const float *a;
                    size_t lda = MR;
                    if (job->a_pack) {
                        a = slot + (ir - i0) * kq;
                    } else if (mr < MR) {
                        a = slot;
                    } else if (!job->ta) {
                        ukr = kr->rowa;
                        a = Al + ir * job->lda + k0;
                        lda = job->lda;
                    } else {
                        a = Al + k0 * job->lda + ir;
                        lda = job->lda;
                    }
                    for (jr = jc; jr < jce; jr += NR) {
                        const size_t nr = RCML_MIN(NR, jce - jr), jp = jr / NR;
                        const float *bpan;
                        float *own = NULL; /* the panel's slot in this tile's packed block */
                        size_t ldb = NR;
                        if (job->b_lazy) {
                            own = bslot + (jr - jc) / NR * bps;
                            bpan = own;
                        } else if (job->b_pack) {
                            bpan = rcml_bp_at(job, lr, q, jp);
                        } else if (nr < NR && !kr->b_masked) {
                            bpan = rcml_bp_at(job, lr, q, 0);
                        } else {
                            bpan = Bl + k0 * job->ldb + job->j0 + jr;
                            ldb = job->ldb;
                        }
                        if (pf && ir == i0 && jr - jc < pf_w) {
                            const float *src = pf + (jr - jc);
                            const size_t w = RCML_MIN(NR, pf_w - (jr - jc));
                            size_t r;
                            for (r = 0; r < pf_rows; r++)
                                rcml_prefetch_run(src + r * job->ldb, w, 0);
                        }
                        if (c_pf && ir + MR < i1) {
                            const float *cn = Cl + (ir + MR) * n + jr;
                            const size_t rows = RCML_MIN(MR, i1 - ir - MR);
                            size_t r;
                            for (r = 0; r < rows; r++) rcml_prefetch_run(cn + r * n, nr, 0);
                        }
                        if (fuse && ir == i0 && nr == NR) {
                            const rcml_gemm_ukr_pk_t pk =
                                ukr == kr->rowa ? kr->rowa_pk : kr->cola_pk;
                            pk(kq, a, lda, Bl + k0 * job->ldb + job->j0 + jr, job->ldb, own,
                               Cl + ir * n + jr, n, job->alpha, bq);
                            continue;
                        }
                        rcml_gemm_ukr_t u = ukr;
                        if (mr <= MR / 2 && kr->cola_r4)
                            u = kr->cola_r4; /* a partial panel is always packed */
                        else if (nr <= NR / 2 && kr->rowa_half)
                            u = ukr == kr->rowa ? kr->rowa_half : kr->cola_half;
                        u(kq, a, lda, bpan, ldb, Cl + ir * n + jr, n, mr, nr, job->alpha, bq);
                    }
                }
            }
        }
    }
}

/* C = beta*C for every layer when k == 0 (BLAS semantics; beta == 0 writes zeros). */
static void rcml_gemm_scale_c(size_t count, float beta, float *C) {
    size_t i;
    for (i = 0; i < count; i++) C[i] = beta == 0.0f ? 0.0f : beta * C[i];
}

/* Tile counts. The bits of an output depend only on the k blocking (kc, from the shape),
 * never on which tile computes it, so tiles may follow the thread count. One thread takes
 * the biggest tiles (each L2 block of B then serves every row up to RCML_MT_MAX). Several
 * threads get between one and RCML_TILES_WANT / 2 tiles each (a whole number, so they
 * finish together; more tiles let a thread that was slowed by another process hand work
 * over), each of at least RCML_TILE_MIN_WORK multiply-adds, cut along MR/NR panel
 * boundaries with panel counts that differ by at most one. Among those the choice
 * minimises a simple cost per thread: the tile's multiply-adds plus ~16 per element of A
 * or B it loads (packing and cache traffic: squarish tiles load least), an A read in place
 * costing a quarter, times the rounds of tiles a thread runs. No premium for more tiles
 * per thread: one (room to rebalance) chose 8 tiles of 256 x 128 for 256x1024x1024, each
 * repacking all of A, and cost more than it balanced. Without it, 2 threads,
 * calls alternated over 100-200 rounds: 256x784x1024 1.20x, 256x1024x1024 1.16-1.18x,
 * 256x3136x1024 (transposed A) 1.22x, 512^3 1.09-1.14x, other network shapes 0.95-1.09x;
 * and with an FMA loop hogging one core, 256x784x1024 1.17x, 512^3 1.16x.
 * A product already cut into several row tiles (m > RCML_MT_MAX) with a packed A is not
 * also cut into columns: B is then packed once up front whatever the tiles, while every
 * column tile repacks its rows of A, which the load cost above undercounts (a transposed
 * A's copy reads strided). It moved 1024-row products from 3 x 2 to 4 x 1 tiles. Measured
 * on a Zen 3 EPYC (2 threads, rcmlrs time 3 x 2 / 4 x 1, paired in one process, medians of
 * 14-20 rounds, several runs where given): 1024x256x1024 (A transposed, an MLP's
 * weight gradient) 1.06x, 1.07x, 1.09x and 1.08x, 1024^3 1.03x, 1.16x, 1.10x and 1.03x,
 * 1024^3 (A transposed) 1.15x, (B transposed) 1.04x, (both) 1.06x, 1024x256x2048 1.03x,
 * 1440x256x2048 (A transposed) 1.05x, 1024x1024x2048 (B transposed) 1.14x, 1200x800x1000
 * 1.06x, 1024x512x768 1.03x, 1280x1024x2048 1.00x. Tiles do not change the bits. Only 2
 * threads were measured (the machine had 2 cores). */
#define RCML_LOAD_COST 16.0
static void rcml_choose_tiles(size_t layers, size_t m, size_t nj, size_t k, size_t MR, size_t NR,
                              int threads, int a_packed, size_t *tiles_m, size_t *tiles_n) {
    const size_t pm = RCML_CEIL_DIV(m, MR), pn = RCML_CEIL_DIV(nj, NR);
    const size_t T = threads > 1 ? (size_t)threads : 1;
    const size_t tm0 = T == 1 && m <= RCML_MT_MAX_1T ? 1 : RCML_CEIL_DIV(m, RCML_MT_MAX);
    const size_t tn0 = RCML_CEIL_DIV(nj, RCML_NT_MAX);
    const double work = (double)layers * m * nj * k; /* multiply-adds */
    size_t tm, tn;
    double best = -1.0;
    *tiles_m = RCML_MIN(tm0, pm);
    *tiles_n = RCML_MIN(tn0, pn);
    if (T == 1 || work < 2.0 * RCML_TILE_MIN_WORK) return;
    for (tm = tm0; tm <= pm && tm <= 64; tm++) {
        for (tn = tn0; tn <= pn && tn <= 64; tn++) {
            const size_t tiles = layers * tm * tn;
            const double mt = (double)(RCML_CEIL_DIV(pm, tm) * MR);
            const double nt = (double)(RCML_CEIL_DIV(pn, tn) * NR);
            double cost;
            if (tiles % T || tiles > T * (RCML_TILES_WANT / 2)) continue;
            if (a_packed && tm0 > 1 && tn > tn0) continue; /* see above */
            if (tiles > T && mt * nt * (double)k < (double)RCML_TILE_MIN_WORK) continue;
            cost = (double)(tiles / T) * (double)k *
                   (mt * nt + RCML_LOAD_COST * ((a_packed ? 1.0 : 0.25) * mt + nt));
            if (best < 0.0 || cost < best) {
                best = cost;
                *tiles_m = tm;
                *tiles_n = tn;
            }
        }
    }
}

/* The most rows of C for which a B beyond the L2 is streamed in place (rcml_b_streams) rather
 * than packed: RCML_B_STREAM_M, or RCML_B_STREAM_FAR_M for a B from memory (RCML_B_FAR floats
 * or more, judged on the whole product's k, kall) when the table prefetches a streamed B (each
 * next block's lines are then on their way while the row panels compute on this one; packed,
 * the copy waits on them; only a B wide enough to stream). Measured with the AVX-512 table on a Zen
 * 4 EPYC (1 thread, rcmlrs time packed / streamed, paired in one process, 10 rounds):
 * 32x8192x1024 2.07x, 20x4096x1024 1.92x, 28x1500x1500 1.46x, 32x3200x1024 (A transposed,
 * k-split) 1.39x; 2 threads 1.92x, 1.69x, 1.19x, 1.17x. A B the L3 holds stays packed: 32x784x1024
 * 0.89x, 32x2048x512 0.92x, 20x784x1024 0.96x streamed (2 threads 0.83x, 0.90x, 0.95x). The AVX2
 * table packs such a B in full k blocks all the same (rcml_b_stream_packed). Streaming walks k
 * blocks of RCML_KC_STREAM rows, so these products' bits changed with it (the same at every thread
 * count). */
#define RCML_B_STREAM_FAR_M 32
static size_t rcml_b_stream_rows(const rcml_gemm_kernels_t *kr, size_t n, size_t kall) {
    return kr->b_stream_prefetch && n >= RCML_B_STREAM_N && kall * n >= RCML_B_FAR
               ? RCML_B_STREAM_FAR_M
               : RCML_B_STREAM_M;
}

/* Whether the packed path packs B (or reads it in place): see rcml_gemm_run. k: this product's
 * (a k-split segment's), kall: the whole product's. */
static int rcml_packs_b(const rcml_gemm_kernels_t *kr, int tb, size_t m, size_t n, size_t k,
                        size_t kall) {
    const size_t big = kr->b_direct_big ? kr->b_direct_big : RCML_B_DIRECT_BIG;
    return tb || (k * n > RCML_B_DIRECT_MAX && m > RCML_B_DIRECT_M) ||
           (k * n > big && m > rcml_b_stream_rows(kr, n, kall)) || (m >= RCML_B_PACK_M && n > 64);
}

/* Whether a B that would be read in place straddles cache lines (see RCML_B_LINE_M): a panel
 * row is one line, B's rows lie whole panels apart, and B starts inside a line. Kept out of
 * rcml_packs_b, which rcml_b_streams and so the k blocks consult: the bits must not depend
 * on where B starts. */
static int rcml_b_straddles(const rcml_gemm_kernels_t *kr, int tb, size_t m, size_t n,
                            const float *B, size_t ldb) {
    return !tb && m >= RCML_B_LINE_M && n > RCML_B_LINE_N && kr->nr * sizeof(float) == RCML_LINE &&
           ldb % kr->nr == 0 && (uintptr_t)B % RCML_LINE != 0;
}

/* The largest k block of a product of this shape (k: the whole product's, also for a
 * k-split segment). A B beyond L2 (RCML_B_DIRECT_BIG) read in place by at most
 * RCML_B_STREAM_M rows (one or two panels; rcml_b_stream_rows), its rows 2 KB or more apart,
 * streams through:
 * 256 rows of a kernel call's block, each in its own page or two, outran the hardware
 * prefetchers; 32 do not. Measured (1 thread, paired rounds, operands from
 * rcml_alloc_aligned, i.e. huge pages): 8x1024x1024 1.31x, 8x4096x4096 1.78x, 8x4096x512
 * 1.10x, 4x4096x1024 (transposed A) 1.13x, 2x1024x4096 1.23x; and read so instead of
 * packed, 16x1024x1024 1.50x, 12x2048x2048 1.52x, 16x3200x1024 (transposed A) 1.46x,
 * 9x1024x1024 1.59x (4 KB pages gained more, up to 2.2x; a null A/B of one binary:
 * 0.98-1.09x). Rows of 1 KB or less (8x8192x256) gained nothing, and a B that an L2 holds
 * lost up to 15-19% in a hot loop (16x784x512, 8x384x1024: the extra C tile loads and
 * stores), hence the bounds; 24 or 32 rows gained 0-10%, unclear. */
static int rcml_b_streams(const rcml_gemm_kernels_t *kr, int tb, size_t m, size_t n, size_t k) {
    return !rcml_packs_b(kr, tb, m, n, k, k) && m <= rcml_b_stream_rows(kr, n, k) &&
           n >= RCML_B_STREAM_N && k * n > RCML_B_DIRECT_BIG;
}

/* ... unless two or more row panels share it and it is beyond RCML_B_STREAM_PACK floats,
 * or its rows lie a multiple of 4 KB apart and it is that big or three row panels share
 * it: such a B is packed (block by block, by each tile, in rcml_gemm_run) in full k blocks,
 * with the table's b_pack_prefetch, and only by the tables that have one. The measurements
 * above predate that prefetch and the L2-sized blocks (b_block_cols); re-measured on the
 * Zen 3 EPYC with the AVX2 table (rcmlrs time streamed / packed, paired in one process, 1
 * thread, medians of 12-24 rounds): 16x1024x1024 1.09-1.61x, 14x1024x1024 1.36x,
 * 15x1024x1024 1.90x, 16x768x1024 1.17-1.20x, 16x512x2048 1.64x, 16x1024x2048 1.92x,
 * 16x784x2048 2.06x, 12x2048x2048 1.49-1.73x, 8x2048x2048 1.80x, 7x2048x2048 1.78x,
 * 9x4096x1024 1.46-1.86x, 8x4096x4096 1.64x, 16x1500x1500 1.27-1.48x, 13x2000x2000 1.34x,
 * 10x3000x1000 1.14x, 16x4096x512 1.20x, 8x4096x512 1.02-1.04x, 16x3200x1024 (A
 * transposed) 1.62x, 14x1000x2500 (A transposed) 1.78x, 16x1024x1024 (A transposed) 1.56x;
 * without the row prefetch (a B of 8 MB or less) 16x1024x1024 gained 1.31x and 16x768x1024
 * 0.99x. Rows 4 KB apart at 4 MB with two panels: 8x1024x1024 0.97x (1.54x at 2
 * threads), 10x1024x1024 1.06-1.18x, 12x1024x1024 1.01x, 7x1024x1024 0.98-1.02x, 8x512x2048
 * 1.18x. Left streamed: other rows at 4 MB or less (13x1000x1000 0.87-0.90x, 0.70x at 2
 * threads; 16x1000x1000 0.93x; 16x2048x512 1.01x; 12x600x1024 0.93x; 8x768x1024 0.99x) and
 * one row panel, whose kernel uses each B element once (packed: 4x4096x1024 0.82x,
 * 6x1024x1024 0.76x, 3x4096x4096 0.95x, 2x1024x4096 0.87x). Packing changes the k blocks, so
 * these products' bits changed with it (the same at every thread count). */
#define RCML_B_STREAM_PACK ((size_t)1 << 20)
static int rcml_b_stream_packed(const rcml_gemm_kernels_t *kr, int tb, size_t m, size_t n,
                                size_t k) {
    const size_t bf = k * n;
    const int rows4k = n % RCML_4K_FLOATS == 0;
    return kr->b_pack_prefetch && rcml_b_streams(kr, tb, m, n, k) && m > kr->mr &&
           (bf > RCML_B_STREAM_PACK || (rows4k && (bf >= RCML_B_STREAM_PACK || m > 2 * kr->mr)));
}

static size_t rcml_kc_max(const rcml_gemm_kernels_t *kr, int tb, size_t m, size_t n, size_t k) {
    if (rcml_b_streams(kr, tb, m, n, k) && !rcml_b_stream_packed(kr, tb, m, n, k))
        return RCML_KC_STREAM;
    return RCML_KC_MAX;
}

/* The k blocking: nkb equal blocks of at most kcmax (no tiny last block). It alone sets
 * the order of every output's sum, so the driver and a pre-packed B must share it. */
static void rcml_k_blocks(rcml_gemm_job_t *job, size_t k, size_t kcmax) {
    job->nkb = RCML_CEIL_DIV(k, kcmax);
    job->kc = RCML_CEIL_DIV(k, job->nkb);
}

/* op(A) rows/columns are read with row stride lda of the stored A (k for a whole
 * untransposed A, m for a whole transposed one), likewise ldb for B; C is m x n dense.
 * kcmax: the k block bound, rcml_kc_max of the whole product; ball: the floats of B that
 * the whole product reads (every layer's, every k segment's). */
static void rcml_gemm_run(const rcml_gemm_kernels_t *kr, size_t layers, int ta, int tb, size_t m,
                          size_t n, size_t k, size_t kcmax, size_t ball, float alpha,
                          const float *A, size_t sa, size_t lda, const float *B, size_t sb,
                          size_t ldb, float beta, float *C, int threads, const float *bpre) {
    const size_t MR = kr->mr, NR = kr->nr;
    float stackbuf[RCML_WS_STACK + RCML_LINE / sizeof(float)]; /* aligned to a line below */
    rcml_gemm_job_t job;
    size_t l, j0;
    memset(&job, 0, sizeof(job));
    job.kr = kr;
    job.ta = ta;
    job.tb = tb;
    job.m = m;
    job.n = n;
    job.k = k;
    job.alpha = alpha;
    job.beta = beta;
    job.A = A;
    job.B = B;
    job.sa = sa;
    job.sb = sb;
    job.lda = lda;
    job.ldb = ldb;
    job.C = C;
    job.b_big = ball >= RCML_PK_FUSE_B_MAX;
    job.b_far = ball >= RCML_B_FAR;
    job.c_far = layers * m * n >= RCML_B_FAR;
    rcml_k_blocks(&job, k, kcmax);
    /* Packing pays when the packed panel is reused: an A panel once per NR columns of
     * C, a B panel once per MR rows. With few columns (n <= RCML_A_DIRECT_N) or few rows
     * (m <= RCML_B_DIRECT_M, unless B is bigger than RCML_B_DIRECT_BIG) the operand is
     * read in place whatever its size (but see RCML_A_4K_N). Measured
     * (1 thread, CPU time, loaded Xeon): 16x1024x1024 ~32 -> ~55 GFLOP/s, 32x784x512
     * ~57 -> ~75 with B in place; 64x1024x1024 is better packed. */
    const int a4k = lda % RCML_4K_FLOATS == 0 && n > RCML_A_4K_N;
    job.a_pack = (m * k > RCML_A_DIRECT_MAX && (n > RCML_A_DIRECT_N || a4k)) ||
                 (!ta && a4k && m * k >= RCML_A_4K_MIN);
    /* a B that rcml_kc_max would stream but packs (rcml_b_stream_packed), judged on the whole
     * product's k (ball: every layer's B when each has its own) as rcml_kc_max is */
    const size_t kall = ball / (sb ? layers : 1) / n;
    const int bsp = !bpre && rcml_b_stream_packed(kr, tb, m, n, kall);
    job.b_pack =
        rcml_packs_b(kr, tb, m, n, k, kall) || bsp || rcml_b_straddles(kr, tb, m, n, B, ldb);
    job.b_pack_pf = ball >= RCML_B_FAR || m >= RCML_B_PACK_PF_M || bsp ? kr->b_pack_prefetch : 0;

    /* Column passes only when one layer's packed B would exceed the workspace cap. */
    size_t pass = RCML_CEIL_DIV(n, NR) * NR;
    if (k * pass > RCML_WS_CAP / 2) pass = RCML_MAX(NR, RCML_WS_CAP / 2 / k / NR * NR);
    for (j0 = 0; j0 < n; j0 += pass) {
        const size_t nj = RCML_MIN(pass, n - j0);
        size_t tiles_m, tiles_n;
        rcml_choose_tiles(layers, m, nj, k, MR, NR, threads, job.a_pack, &tiles_m, &tiles_n);
        job.j0 = j0;
        job.nj = nj;
        job.np = RCML_CEIL_DIV(nj, NR);
        job.tiles_m = tiles_m;
        job.tiles_n = tiles_n;
        job.pm = RCML_CEIL_DIV(m, MR);
        const size_t mt = RCML_CEIL_DIV(job.pm, tiles_m) * MR; /* the largest tile */
        const size_t nt = RCML_CEIL_DIV(job.np, tiles_n) * NR;
        /* one row of tiles: every B panel has one user, so each tile packs its own,
         * block by block, while the block is hot (a shared B of a batch is still packed
         * once for all layers) */
        job.b_lazy = job.b_pack && job.tiles_m == 1 && (sb || layers == 1) && !bpre;
        if (bpre) job.b_pack = 1; /* packed by rcml_gemm_bpack_init: one pass, one layer */
        /* B in place: only a partial last panel is packed, and not even that when the
         * kernels mask their B loads (with rcml_pack_a's one-memset padding, paired rounds,
         * 1 thread: conv dW 25x36864x6 2.58x, 150x4096x16 1.24x, 60x300x7 1.83x) */
        const size_t npk = job.b_lazy   ? 0
                           : job.b_pack ? job.np
                                        : ((nj % NR) && !kr->b_masked ? 1 : 0);
        job.bp_layer = k * npk * NR;
        /* A slots: a tile's packed rows, or just its partial last panel (only when m is
         * not a multiple of MR), or nothing at all */
        job.ap_slot = job.a_pack ? mt * job.kc : (m % MR ? MR * job.kc : 0);
        /* one block of packed B, its panels (kc + 1) x NR apart (see rcml_tile_chunk) */
        job.bl_slot = job.b_lazy ? (job.kc + 1) * RCML_MIN(nt, rcml_b_block_cols(&job)) : 0;
        const size_t slot = job.ap_slot + job.bl_slot;
        const size_t tpl = job.tiles_m * job.tiles_n;
        /* layers per group: their packed B fits the workspace cap (a shared B is packed
         * once for all); tiles per batch: their A slots fit it too (a tall A is not
         * packed whole, only as many tile blocks as a batch runs) */
        size_t g = layers;
        if (sb && job.bp_layer > 0 && g > RCML_WS_CAP / job.bp_layer)
            g = RCML_MAX(1, RCML_WS_CAP / job.bp_layer);
        const size_t batch = slot ? RCML_MIN(g * tpl, RCML_MAX(1, RCML_WS_CAP / slot)) : g * tpl;
        const size_t ws = (bpre ? 0 : (sb ? g : 1) * job.bp_layer) + batch * slot;
        /* small products (the common layer sizes of little networks) use a stack buffer:
         * malloc + free is a visible share of a 16 x 16 product */
        float *w =
            ws <= RCML_WS_STACK
                ? (float *)(((uintptr_t)stackbuf + RCML_LINE - 1) & ~(uintptr_t)(RCML_LINE - 1))
                : (float *)rcml_scratch_acquire(ws * sizeof(float));
        if (!w) {
            /* out of memory: the reference loop needs no workspace */
            for (l = 0; l < layers; l++) {
                float *Cl = C + l * m * n;
                size_t i, j, p;
                for (i = 0; i < m; i++) {
                    for (j = j0; j < j0 + nj; j++) {
                        float acc = 0.0f;
                        for (p = 0; p < k; p++)
                            acc += A[l * sa + (ta ? p * lda + i : i * lda + p)] *
                                   B[l * sb + (tb ? j * ldb + p : p * ldb + j)];
                        Cl[i * n + j] =
                            beta == 0.0f ? alpha * acc : alpha * acc + beta * Cl[i * n + j];
                    }
                }
            }
            continue;
        }
        job.bp = bpre ? (float *)bpre : w; /* a pre-packed B is only read */
        job.ap = bpre ? w : w + (sb ? g : 1) * job.bp_layer;
        for (l = 0; l < layers; l += g) {
            const size_t nl = RCML_MIN(g, layers - l);
            job.l0 = l;
            job.nl = nl;
            /* phase 1: pack B (a shared B only once, with the first group) */
            if (npk && (sb || l == 0) && !bpre) {
                const size_t units = (sb ? nl : 1) * npk;
                const size_t unit_floats = k * NR;
                size_t grain = rcml_pack_b_grain(units, unit_floats);
                if (units * unit_floats < ((size_t)1 << 17)) grain = units;
                rcml_parallel_for(units, grain, rcml_pack_b_chunk, &job);
            }
            /* phase 2: the tiles, in batches that fit the A slots */
            const size_t tiles = nl * tpl;
            const double work = (double)nl * m * nj * k; /* multiply-adds */
            for (job.t0 = 0; job.t0 < tiles; job.t0 += batch) {
                const size_t cnt = RCML_MIN(batch, tiles - job.t0);
                rcml_parallel_for(cnt, work < (double)RCML_PAR_MIN_WORK ? cnt : 1, rcml_tile_chunk,
                                  &job);
            }
        }
        if (ws > RCML_WS_STACK) rcml_scratch_release(w);
    }
}

/* --------------------------------------------------------------- matrix x vector */
/* Plain C forms of gemm.h's GEMV kernels, for the backends without their own. */
#define RCML_GEMV_COLS 64
#define RCML_GEMV_AXPY_MAX ((size_t)1024) /* columns per axpy chunk, at most */
static void rcml_gemv_axpy_generic(size_t k, size_t w, float alpha, const float *x, const float *M,
                                   size_t ldm, float beta, float *y) {
    float acc[RCML_GEMV_COLS];
    size_t j0, j, p;
    for (j0 = 0; j0 < w; j0 += RCML_GEMV_COLS) {
        const size_t bw = RCML_MIN(RCML_GEMV_COLS, w - j0);
        for (j = 0; j < bw; j++) acc[j] = 0.0f;
        for (p = 0; p < k; p++) {
            const float xp = x[p];
            const float *RCML_RESTRICT r = M + p * ldm + j0;
            for (j = 0; j < bw; j++) acc[j] += xp * r[j];
        }
        for (j = 0; j < bw; j++)
            y[j0 + j] = beta == 0.0f ? alpha * acc[j] : alpha * acc[j] + beta * y[j0 + j];
    }
}

static void rcml_gemv_dot_generic(size_t k, size_t w, float alpha, const float *x, const float *M,
                                  size_t ldm, float beta, float *y) {
    size_t j, p, l;
    for (j = 0; j < w; j++) {
        const float *RCML_RESTRICT r = M + j * ldm;
        float s8[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f}, s;
        for (p = 0; p + 8 <= k; p += 8)
            for (l = 0; l < 8; l++) s8[l] += r[p + l] * x[p + l];
        s = ((s8[0] + s8[1]) + (s8[2] + s8[3])) + ((s8[4] + s8[5]) + (s8[6] + s8[7]));
        for (; p < k; p++) s += r[p] * x[p];
        y[j] = beta == 0.0f ? alpha * s : alpha * s + beta * y[j];
    }
}

typedef struct {
    rcml_gemv_t fn;
    size_t k, ldm;
    float alpha, beta;
    const float *x, *M;
    int dot; /* outputs are rows of M (dot) or columns (axpy) */
    float *y;
} rcml_gemv_job_t;

static void rcml_gemv_chunk(void *ctx, size_t b, size_t e) {
    const rcml_gemv_job_t *g = (const rcml_gemv_job_t *)ctx;
    g->fn(g->k, e - b, g->alpha, g->x, g->M + (g->dot ? b * g->ldm : b), g->ldm, g->beta, g->y + b);
}

/* m == 1 or n == 1: no packing (each element of the matrix is used once), the outputs cut
 * into chunks of a size set by k alone; an output's bits do not depend on the chunks. */
static void rcml_gemv_run(const rcml_gemm_kernels_t *kr, size_t layers, int ta, int tb, size_t m,
                          size_t n, size_t k, float alpha, const float *A, size_t sa,
                          const float *B, size_t sb, float beta, float *C) {
    rcml_gemv_job_t g;
    size_t l, w;
    /* the matrix operand, the vector operand and the form: m == 1 multiplies the row x
     * by B (stored k x n: axpy over its rows; stored n x k: dot with its rows); n == 1
     * multiplies A by the column x (stored m x k: dot; stored k x m: axpy). A stored
     * vector is contiguous whether or not it is marked transposed. */
    const int row = m == 1;
    g.k = k;
    g.alpha = alpha;
    g.beta = beta;
    g.dot = row ? tb : !ta;
    g.ldm = row ? (tb ? k : n) : (ta ? m : k);
    w = row ? n : m;
    g.fn = g.dot ? (kr->gemv_dot ? kr->gemv_dot : rcml_gemv_dot_generic)
                 : (kr->gemv_axpy ? kr->gemv_axpy : rcml_gemv_axpy_generic);
    const size_t axpy_max = kr->gemv_axpy_cols ? kr->gemv_axpy_cols : RCML_GEMV_AXPY_MAX;
    for (l = 0; l < layers; l++) {
        g.x = row ? A + l * sa : B + l * sb;
        g.M = row ? B + l * sb : A + l * sa;
        g.y = C + l * m * n;
        /* dot: rows of ~32K multiply-adds per chunk, but no more than two chunks per
         * thread: each chunk is taken under the pool's mutex, and 32 chunks of 1x1024x1024
         * at 2 threads put ~6% of the samples in the lock. Measured on a Zen 3 EPYC (2
         * threads, rcmlrs time 32-row chunks / two per thread, paired in one process,
         * medians of 16-24 rounds, two runs where given): 1x1024x1024 (B transposed) 1.10x
         * and 1.02x, 1024x1024x1 1.05x and 1.03x, 1x2048x1024 (B transposed) 1.08x,
         * 1x512x512 (B transposed) 1.04x, 1000x300x1 1.02x, 1x1024x4096 (B transposed) 1.03x,
         * 1x4096x4096 (B transposed) 1.03x; one chunk per thread was no better.
         * axpy: an equal share of the columns
         * per thread, at most 1024 (1 thread, paired rounds: 1.13-1.15x on 1x1024x1024 and
         * 1x4096x1024 over quarters of the columns; 2048 measured 0.6x on 1x4096x4096: the
         * next pass's prefetched rows no longer fit L1 beside the current ones), or the
         * table's gemv_axpy_cols. An output's bits do not depend on the chunks. Small
         * products stay serial. */
        const size_t T = (size_t)rcml_get_num_threads();
        size_t grain = g.dot ? RCML_MAX(RCML_MAX(16, ((size_t)1 << 15) / k / 16 * 16),
                                        RCML_CEIL_DIV(RCML_CEIL_DIV(w, 2 * T), 16) * 16)
                             : RCML_MIN(axpy_max, RCML_CEIL_DIV(RCML_CEIL_DIV(w, T), 64) * 64);
        if (k * w < ((size_t)1 << 15)) grain = w;
        rcml_parallel_for(w, grain, rcml_gemv_chunk, &g);
    }
}

/* ------------------------------------------------------ split k (tall-skinny products) */
/* A product with a small C and a long k (a convolution's weight gradient: few rows and
 * columns, k = batch x pixels) has too few C tiles to feed two threads and streams its
 * whole B past every tile. Such products are cut along k into S segments of equal length;
 * segment s computes its partial product P_s = op(A)[:, seg] op(B)[seg, :] on one thread
 * (the segments run in parallel), and C = alpha * (((P_0 + P_1) + P_2) + ...) + beta*C,
 * the partials added in segment order. S depends on (m, n, k) only, so the bits are the
 * same for every thread count (though not the same as the unsplit product's).
 * A convolution's weight gradient (transposed A, n <= RCML_A_DIRECT_N) reads each segment's
 * A in place. 288xkx64 of that form ran at 70 GFLOP/s unsplit (k = 1024) and 61 at k =
 * 2048, but 45 at k = 4096 and 16384 (Zen 3 EPYC, 1 thread, interleaved rounds, operands
 * on a cache line; for a B inside one see RCML_B_LINE_M), likely
 * with A from memory (a 4 MB copy ran at 29 GB/s there, an 8 MB one at 10). Not kept
 * (rcmlrs time paired in one process, 8-10 rounds, 288x16384x64 / 288x4096x64): prefetching
 * each next k block's A rows during the current one 1.02x / 1.00x, with its B rows 0.99x /
 * 0.99x; packing A 1.02x and 0.91x (two runs) / 1.08x; packing A and B 0.87x / 0.89x. */
#define RCML_KSPLIT_MN_MAX ((size_t)1 << 16) /* C at most 256 KB */
#define RCML_KSPLIT_SEG 512                  /* shortest segment */
#define RCML_KSPLIT_MAX 16
static size_t rcml_ksplit_count(size_t m, size_t n, size_t k) {
    if (m * n > RCML_KSPLIT_MN_MAX || k < 4 * RCML_KSPLIT_SEG) return 1;
    if ((double)m * n * k < (double)((size_t)1 << 22)) return 1; /* too small to share */
    return RCML_MIN(RCML_KSPLIT_MAX, k / RCML_KSPLIT_SEG);
}

/* Few columns (n <= RCML_SWAP_N, not a multiple of the kernel's NR), more rows and a
 * transposed A (a weight gradient X^T dY): compute C^T = op(B)^T op(A)^T instead, so the
 * vector lanes run along m (n = 6 filled 6 of the kernel's 16 or 32 lanes) and the stored
 * A is read as an untransposed B. Every output is the same chain of products over p in the
 * same k blocks (a*b == b*a exactly), so the bits are those of the direct product.
 * Measured (1 thread, paired rounds): 25x36864x6 1.39x, 1024x256x10 1.49x, 150x4096x16
 * 0.98x; with an untransposed A the swapped B must be packed from a transpose
 * (1024x1024x16: 0.62x), so that stays direct. When NR divides n the direct form wastes no
 * lane and its B panels are B's own rows: on a Zen 3 EPYC (AVX2, NR = 16; NumPy time /
 * rcmlrs time over rounds, builds alternated) n = 16 direct: 1024x256x16 1.01-1.11 ->
 * 1.36-1.40, 150x4096x16 0.85-0.87 -> 0.94-1.15, 64x1024x16 1.08-1.11 -> 1.18-1.21,
 * 300x2000x16 0.84-0.90 -> 0.85-1.05; n = 10 and 12 still gain from the swap (1024x256x12
 * 1.11-1.17 direct, 1.29-1.53 swapped). */
#define RCML_SWAP_N 16
static int rcml_gemm_swaps(const rcml_gemm_kernels_t *kr, int ta, size_t m, size_t n) {
    return ta && n <= RCML_SWAP_N && n % kr->nr != 0 && m >= 2 * n;
}

/* Likewise a few rows and a transposed B (an input gradient dY W^T at a small batch): direct,
 * the whole B^T is packed from a transpose for only RCML_SWAP_TB_M rows or fewer, which
 * rows k floats apart make slow when k is a multiple of 1024 (every row then shares one L1
 * set; each 16-float run of a row NumPy allocated spans two lines). Swapped, the stored B is
 * read in place as an untransposed A, and only A (m x k) is packed; the vector lanes then
 * run along m, so m fills the half- or full-width kernel (a multiple of NR / 2) or k is a
 * multiple of 1024. Same bits as the direct product: both take k blocks of RCML_KC_MAX (the
 * direct one's transposed B is packed; the swapped one's B, at most 32 columns, is too narrow
 * to stream). Measured only with the AVX2 and AVX-512 tables, so only tables whose NR is a
 * multiple of 16 swap (Zen 4 EPYC, 1 thread, rcmlrs time direct / swapped, paired in one process, 8
 * rounds, operands from NumPy). AVX-512: 8x1024x1024 2.07x, 16x512x512 1.54x, 16x1024x128
 * 1.35x, 32x512x784 1.30x, 24x1024x1024 1.19x, 12x1024x1024 2.38x, 8x1024x1024 (A
 * transposed too) 2.04x; at 2 threads 1.79x, 1.39x, 1.47x, 1.32x, 1.11x, -, 1.90x. AVX2:
 * 8x1024x1024 1.74x, 16x512x512 1.31x, 16x784x512 1.36x, 32x512x784 1.19x, 8x1024x256
 * 1.41x, 12x1024x1024 1.22x. Left direct: rows that fill half a panel or less (AVX-512:
 * 8x784x512 0.72x, 8x256x1024 0.80x, 4x512x512 0.93x, 20x512x784 0.86x; AVX2: 12x512x784
 * 0.82x, 20x512x784 0.93x, 6x1024x1024 0.92x) and a B of 256 KB or less (16x64x64 0.64x).
 * A long k with a small C goes to rcml_gemm_ksplit first (16x4096x4096), unswapped.
 * On one thread the bound is two panels of the swapped product's columns (2 NR, where that is
 * more than RCML_SWAP_TB_M: 64 rows for AVX-512). Measured so on the Zen 4 EPYC (AVX-512, same
 * method, 10 rounds): 64x1024x256 1.25x, 64x1024x1024 1.17x, 48x1024x1024 1.14x, 64x512x784
 * 1.14x, 64x512x1024 1.14x, 40x1024x512 1.18x, 64x784x512 1.08x, 64x1024x128 1.19x, 64x256x512
 * 1.05x, 48x256x1024 1.04x, 64x256x1024 0.97x and 1.02x (two runs). At 2 threads they were
 * mixed (64x1024x1024 1.15x, 64x512x784 1.04x, 64x1024x256 0.99x, 40x1024x512 0.91x,
 * 64x256x1024 0.75x: the transposes around the swapped product do not shrink with threads),
 * so there the bound stays RCML_SWAP_TB_M. The bits are the same either way. */
#define RCML_SWAP_TB_M 32
#define RCML_SWAP_TB_M_MIN 8
static int rcml_gemm_swaps_tb(const rcml_gemm_kernels_t *kr, int tb, size_t m, size_t n, size_t k,
                              int threads) {
    const size_t most = threads > 1 ? RCML_SWAP_TB_M : RCML_MAX(RCML_SWAP_TB_M, 2 * kr->nr);
    return tb && kr->nr % 16 == 0 && m >= RCML_SWAP_TB_M_MIN && m <= most && n >= 2 * m &&
           k * n > RCML_B_DIRECT_MAX && (m % (kr->nr / 2) == 0 || k % RCML_4K_FLOATS == 0);
}

/* One layer, C = alpha*op(A)op(B) + beta*C (m x n), or with swap its transpose C^T (n x m)
 * as op(B)^T op(A)^T: the stored B read as "A" (transposed unless tb), the stored A as "B"
 * (likewise). lda, ldb: the row strides of the stored A and B; kall: the whole product's
 * k (k is less for a k-split segment), which with the shape sets the k blocks. */
static void rcml_gemm_run1(const rcml_gemm_kernels_t *kr, int swap, int ta, int tb, size_t m,
                           size_t n, size_t k, size_t kall, size_t lda, size_t ldb, float alpha,
                           const float *A, const float *B, float beta, float *C, int threads) {
    if (swap)
        rcml_gemm_run(kr, 1, !tb, !ta, n, m, k, rcml_kc_max(kr, !ta, n, m, kall), kall * m, alpha,
                      B, 0, ldb, A, 0, lda, beta, C, threads, NULL);
    else
        rcml_gemm_run(kr, 1, ta, tb, m, n, k, rcml_kc_max(kr, tb, m, n, kall), kall * n, alpha, A,
                      0, lda, B, 0, ldb, beta, C, threads, NULL);
}

typedef struct {
    const rcml_gemm_kernels_t *kr;
    int ta, tb, swap; /* swap: the partials are stored transposed (n x m) */
    size_t m, n, k, seg, S;
    float alpha, beta;
    const float *A, *B;
    float *P, *C;
} rcml_ksplit_job_t;

static void rcml_ksplit_seg(void *ctx, size_t b, size_t e) {
    const rcml_ksplit_job_t *j = (const rcml_ksplit_job_t *)ctx;
    size_t s;
    for (s = b; s < e; s++) {
        const size_t k0 = s * j->seg, kq = RCML_MIN(j->seg, j->k - k0);
        /* op(A)[:, k0:] starts at column k0 of a row-major A or row k0 of a transposed
         * one; likewise op(B)[k0:, :]. This call runs inline (the pool is busy). */
        const float *As = j->A + (j->ta ? k0 * j->m : k0);
        const float *Bs = j->B + (j->tb ? k0 : k0 * j->n);
        rcml_gemm_run1(j->kr, j->swap, j->ta, j->tb, j->m, j->n, kq, j->k, j->ta ? j->m : j->k,
                       j->tb ? j->k : j->n, 1.0f, As, Bs, 0.0f, j->P + s * j->m * j->n, 1);
    }
}

/* Chunk [b, e) of the partials' layout (C's, or C^T's when swapped): each output is P_0
 * plus P_1, P_2, ... in segment order, as before, but a block of RCML_KSPLIT_SUM_W outputs
 * at a time, so each partial is one contiguous vectorised pass (the per-output loop over
 * strided partials took 4-7% of the samples of 64x4096x64, 150x4096x16 and 32x3200x1024
 * under perf; paired rounds, 1 thread: 64x4096x64 1.05-1.07x, 150x4096x16 1.06-1.15x). */
#define RCML_KSPLIT_SUM_W 256
static void rcml_ksplit_sum(void *ctx, size_t b, size_t e) {
    const rcml_ksplit_job_t *j = (const rcml_ksplit_job_t *)ctx;
    const size_t mn = j->m * j->n;
    float acc[RCML_KSPLIT_SUM_W];
    size_t i0, i, s;
    for (i0 = b; i0 < e; i0 += RCML_KSPLIT_SUM_W) {
        const size_t w = RCML_MIN(RCML_KSPLIT_SUM_W, e - i0);
        memcpy(acc, j->P + i0, w * sizeof(float));
        for (s = 1; s < j->S; s++) {
            const float *RCML_RESTRICT ps = j->P + s * mn + i0;
            for (i = 0; i < w; i++) acc[i] += ps[i];
        }
        if (!j->swap) {
            float *RCML_RESTRICT c = j->C + i0;
            if (j->beta == 0.0f)
                for (i = 0; i < w; i++) c[i] = j->alpha * acc[i];
            else
                for (i = 0; i < w; i++) c[i] = j->alpha * acc[i] + j->beta * c[i];
        } else {
            /* partial index c*m + r is output (r, c) */
            size_t r = i0 % j->m, col = i0 / j->m;
            for (i = 0; i < w; i++) {
                float *c = j->C + r * j->n + col;
                *c = j->beta == 0.0f ? j->alpha * acc[i] : j->alpha * acc[i] + j->beta * *c;
                if (++r == j->m) {
                    r = 0;
                    col++;
                }
            }
        }
    }
}

static void rcml_gemm_ksplit(const rcml_gemm_kernels_t *kr, int ta, int tb, size_t m, size_t n,
                             size_t k, float alpha, const float *A, const float *B, float beta,
                             float *C) {
    rcml_ksplit_job_t j;
    j.kr = kr;
    j.ta = ta;
    j.tb = tb;
    j.swap = rcml_gemm_swaps(kr, ta, m, n);
    j.m = m;
    j.n = n;
    j.k = k;
    j.S = rcml_ksplit_count(m, n, k);
    j.seg = RCML_CEIL_DIV(k, j.S);
    j.S = RCML_CEIL_DIV(k, j.seg); /* no empty last segment */
    j.alpha = alpha;
    j.beta = beta;
    j.A = A;
    j.B = B;
    j.C = C;
    j.P = (float *)rcml_scratch_acquire(j.S * m * n * sizeof(float));
    if (!j.P) { /* out of memory: the unsplit product needs less */
        rcml_gemm_run(kr, 1, ta, tb, m, n, k, rcml_kc_max(kr, tb, m, n, k), k * n, alpha, A, 0,
                      ta ? m : k, B, 0, tb ? k : n, beta, C, rcml_threads_free(), NULL);
        return;
    }
    rcml_parallel_for(j.S, 1, rcml_ksplit_seg, &j);
    rcml_parallel_for(m * n, 4096, rcml_ksplit_sum, &j);
    rcml_scratch_release(j.P);
}

/* The packed route with few columns, through C^T in a buffer (T = C^T first when beta is
 * not 0, since every k block adds onto it as it would onto C). Returns 0 (nothing done)
 * when the buffer cannot be had. */
static int rcml_gemm_packed_swapped(const rcml_gemm_kernels_t *kr, int ta, int tb, size_t m,
                                    size_t n, size_t k, float alpha, const float *A, const float *B,
                                    float beta, float *C) {
    float *T = (float *)rcml_alloc_aligned(m * n * sizeof(float));
    if (!T) return 0;
    if (beta != 0.0f) rcml_transpose_f32(C, 1, m, n, T);
    rcml_gemm_run1(kr, 1, ta, tb, m, n, k, k, ta ? m : k, tb ? k : n, alpha, A, B, beta, T,
                   rcml_threads_free());
    rcml_transpose_f32(T, 1, n, m, C);
    rcml_free_aligned(T);
    return 1;
}

/* ------------------------------------------------------------------ entry points */
/* Which path a product takes, from the shape alone (each path has its own summation order,
 * so a product must always take the same one). */
enum { RCML_ROUTE_TINY, RCML_ROUTE_GEMV, RCML_ROUTE_KSPLIT, RCML_ROUTE_PACKED };
static int rcml_gemm_route(size_t layers, size_t m, size_t n, size_t k) {
    if (m * n <= RCML_TINY_MN_MAX && k <= RCML_TINY_WORK / (m * n)) return RCML_ROUTE_TINY;
    if (m == 1 || n == 1) return RCML_ROUTE_GEMV;
    if (layers == 1 && rcml_ksplit_count(m, n, k) > 1) return RCML_ROUTE_KSPLIT;
    return RCML_ROUTE_PACKED;
}

void rcml_gemm_batched_f32(size_t layers, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                           float alpha, const float *A, size_t stride_a, const float *B,
                           size_t stride_b, float beta, float *C) {
    const rcml_gemm_kernels_t *kr;
    size_t l;
    if (layers == 0 || m == 0 || n == 0) return;
    if (k == 0) {
        rcml_gemm_scale_c(layers * m * n, beta, C);
        return;
    }
    kr = rcml_gemm_kernels();
    if (!kr) {
        for (l = 0; l < layers; l++)
            rcml_gemm_serial(trans_a, trans_b, m, n, k, alpha, A + l * stride_a, B + l * stride_b,
                             beta, C + l * m * n);
        return;
    }
    switch (rcml_gemm_route(layers, m, n, k)) {
    case RCML_ROUTE_TINY:
        /* overhead-bound: no packing, no threads */
        for (l = 0; l < layers; l++)
            kr->tiny(trans_a, trans_b, m, n, k, alpha, A + l * stride_a, B + l * stride_b, beta,
                     C + l * m * n);
        return;
    case RCML_ROUTE_GEMV:
        rcml_gemv_run(kr, layers, trans_a != 0, trans_b != 0, m, n, k, alpha, A, stride_a, B,
                      stride_b, beta, C);
        return;
    case RCML_ROUTE_KSPLIT:
        rcml_gemm_ksplit(kr, trans_a != 0, trans_b != 0, m, n, k, alpha, A, B, beta, C);
        return;
    default:
        if (layers == 1 &&
            (rcml_gemm_swaps(kr, trans_a != 0, m, n) ||
             rcml_gemm_swaps_tb(kr, trans_b != 0, m, n, k, rcml_threads_free())) &&
            rcml_gemm_packed_swapped(kr, trans_a != 0, trans_b != 0, m, n, k, alpha, A, B, beta, C))
            return;
        rcml_gemm_run(kr, layers, trans_a != 0, trans_b != 0, m, n, k,
                      rcml_kc_max(kr, trans_b != 0, m, n, k), (stride_b ? layers : 1) * k * n,
                      alpha, A, stride_a, trans_a ? m : k, B, stride_b, trans_b ? k : n, beta, C,
                      rcml_threads_free(), NULL);
    }
}

void rcml_gemm_f32(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                   const float *A, const float *B, float beta, float *C) {
    rcml_gemm_batched_f32(1, trans_a, trans_b, m, n, k, alpha, A, 0, B, 0, beta, C);
}

/* ------------------------------------------------------------- pre-packed B */
int rcml_gemm_bpack_init(rcml_gemm_bpack_t *bp, size_t m, int trans_b, size_t n, size_t k,
                         const float *B) {
    const rcml_gemm_kernels_t *kr = rcml_gemm_kernels();
    rcml_gemm_job_t job;
    size_t NR;
    memset(bp, 0, sizeof(*bp));
    if (!kr || m == 0 || n == 0 || k == 0 || rcml_gemm_route(1, m, n, k) != RCML_ROUTE_PACKED ||
        !rcml_packs_b(kr, trans_b, m, n, k, k))
        return -1; /* such products never pack B (or read it in place, which is cheaper) */
    NR = kr->nr;
    memset(&job, 0, sizeof(job));
    job.kr = kr;
    job.tb = trans_b != 0;
    job.k = k;
    job.B = B;
    job.ldb = trans_b ? k : n;
    bp->kcmax = rcml_kc_max(kr, trans_b != 0, m, n, k);
    rcml_k_blocks(&job, k, bp->kcmax); /* the blocking rcml_gemm_run uses */
    job.nj = n;
    job.np = RCML_CEIL_DIV(n, NR);
    job.b_pack = 1;
    /* one column pass only (what rcml_gemm_run does below the workspace cap) */
    if (k * job.np * NR > RCML_WS_CAP / 2) return -1;
    job.bp = (float *)rcml_alloc_aligned(k * job.np * NR * sizeof(float));
    if (!job.bp) return -1;
    rcml_parallel_for(job.np, rcml_pack_b_grain(job.np, k * NR), rcml_pack_b_chunk, &job);
    bp->kr = kr;
    bp->trans_b = job.tb;
    bp->n = n;
    bp->k = k;
    bp->data = job.bp;
    return 0;
}

void rcml_gemm_bpack_free(rcml_gemm_bpack_t *bp) {
    if (bp->data) rcml_free_aligned(bp->data);
    memset(bp, 0, sizeof(*bp));
}

/* The packed copy serves only the path and kernels it was packed for; anything else
 * (another backend, a shape that takes another path) multiplies B itself, with the same
 * bits as without a pack. */
int rcml_gemm_bpack_serves(const rcml_gemm_bpack_t *bp, size_t m, int trans_b, size_t n, size_t k) {
    return bp && bp->data && bp->kr == rcml_gemm_kernels() && bp->n == n && bp->k == k &&
           bp->trans_b == (trans_b != 0) && m > 0 &&
           rcml_gemm_route(1, m, n, k) == RCML_ROUTE_PACKED &&
           rcml_kc_max(bp->kr, trans_b != 0, m, n, k) == bp->kcmax;
}

void rcml_gemm_f32_bpacked(int trans_a, size_t m, size_t n, size_t k, float alpha, const float *A,
                           const rcml_gemm_bpack_t *bp, int trans_b, const float *B, float beta,
                           float *C) {
    if (!rcml_gemm_bpack_serves(bp, m, trans_b, n, k)) {
        rcml_gemm_f32(trans_a, trans_b, m, n, k, alpha, A, B, beta, C);
        return;
    }
    rcml_gemm_run((const rcml_gemm_kernels_t *)bp->kr, 1, trans_a != 0, trans_b != 0, m, n, k,
                  bp->kcmax, 0, alpha, A, 0, trans_a ? m : k, B, 0, trans_b ? k : n, beta, C,
                  rcml_threads_free(), bp->data);
}

/* A block of consecutive rows of a product the pack serves (rcml_gemm_bpack_serves for
 * its whole m): the packed driver with the whole product's k blocks, on this thread. An
 * output's bits depend only on the k blocking (see the top of this file), so each row
 * gets the bits the whole product gives it, at any row count, 1 included (which alone
 * would take the GEMV path). */
void rcml_gemm_f32_bpacked_rows(size_t rows, size_t n, size_t k, float alpha, const float *A,
                                const rcml_gemm_bpack_t *bp, const float *B, float beta, float *C) {
    if (rows == 0) return;
    rcml_gemm_run((const rcml_gemm_kernels_t *)bp->kr, 1, 0, bp->trans_b, rows, n, k, bp->kcmax, 0,
                  alpha, A, 0, k, B, 0, bp->trans_b ? k : n, beta, C, 1, bp->data);
}
