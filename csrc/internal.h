/* internal.h - private macros for rcmlrs kernels (not installed for users). */
#ifndef RCMLRS_INTERNAL_H
#define RCMLRS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(_MSC_VER)
#define RCML_RESTRICT __restrict
#define RCML_INLINE static __inline
#else
#define RCML_RESTRICT restrict
#define RCML_INLINE static inline
#endif

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define RCML_X86 1
#endif

/* Hints to bring the cache line holding p toward the L2 or the L1 (never fault; p must
 * point into an object). cl.exe without clang has no __builtin_prefetch: its x86
 * intrinsic, else nothing. */
#if defined(__GNUC__) || defined(__clang__)
#define RCML_PREFETCH_L2(p) __builtin_prefetch((p), 0, 1)
#define RCML_PREFETCH_L1(p) __builtin_prefetch((p), 0, 3)
#elif defined(_MSC_VER) && defined(RCML_X86)
#include <xmmintrin.h>
#define RCML_PREFETCH_L2(p) _mm_prefetch((const char *)(p), _MM_HINT_T2)
#define RCML_PREFETCH_L1(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#else
#define RCML_PREFETCH_L2(p) ((void)(p))
#define RCML_PREFETCH_L1(p) ((void)(p))
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
#define RCML_ARM64 1
#endif

/* The cache line, bytes (64 on every x86 and Arm core the tables target). */
#define RCML_LINE 64

/* Prefetch every cache line that holds part of the w floats at f (w >= 1): toward the L1
 * (l1 != 0) or the L2. A run that starts inside a line touches one line more than its
 * length says: 128 bytes (an AVX-512 panel row) 16 bytes into a line span three. */
RCML_INLINE void rcml_prefetch_run(const float *f, size_t w, int l1) {
    uintptr_t ln = (uintptr_t)f & ~(uintptr_t)(RCML_LINE - 1);
    for (; ln <= (uintptr_t)(f + w - 1); ln += RCML_LINE) {
        if (l1)
            RCML_PREFETCH_L1((const void *)ln);
        else
            RCML_PREFETCH_L2((const void *)ln);
    }
}

/* Unroll the loop that follows by four (GCC 8+, Clang, clang-cl); cl.exe has no such pragma
 * for C, so there the loop stays as written (same arithmetic either way). */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8)
#define RCML_UNROLL4 _Pragma("GCC unroll 4")
#else
#define RCML_UNROLL4
#endif

/* The AVX2 and AVX-512 variants (isa_avx2.c + gemm_avx2.c, isa_avx512.c + gemm_avx512.c)
 * exist on every x86 compiler, each pair compiled for its ISA one of two ways:
 * - GCC and Clang: per-function target pragmas (csrc/target_*_begin.h), the files get no
 *   extra flag, so code outside the pragma region stays at the baseline ISA;
 * - MSVC-style compilers (cl.exe, clang-cl: _MSC_VER), which cannot retarget a function:
 *   setup.py compiles those four files as separate objects with /arch:AVX2 or
 *   /arch:AVX512 (RCML_ARCH_OBJECTS; target_*_begin.h stops a build that forgot it).
 * Only dispatch.c's CPU check ever sends a call into these objects. */
#if defined(RCML_X86) && (defined(__GNUC__) || defined(__clang__) || defined(_MSC_VER))
#define RCML_HAVE_X86_TARGETS 1
#if defined(_MSC_VER)
#define RCML_ARCH_OBJECTS 1
#endif
#endif

/* Before a loop that calls the C library (fmodf): cl.exe may vectorise such a loop with its
 * own vector math routines, whose bits can differ from the scalar function's, so the
 * backends would disagree. GCC and Clang do not (no -ffast-math, no vector library). */
#if defined(_MSC_VER) && !defined(__clang__)
#define RCML_LIBM_LOOP __pragma(loop(no_vector))
#else
#define RCML_LIBM_LOOP
#endif

#define RCML_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RCML_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Bit casts that compilers turn into register moves (and vectorise). */
RCML_INLINE float rcml_as_float(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
RCML_INLINE uint32_t rcml_as_u32(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
RCML_INLINE double rcml_as_double(uint64_t u) {
    double d;
    memcpy(&d, &u, 8);
    return d;
}
RCML_INLINE uint64_t rcml_as_u64(double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

/* Elementwise work is cut into fixed chunks of this many floats for the pool. */
#define RCML_EW_GRAIN ((size_t)1 << 16)
/* Cheap ops (add, mul) only go parallel above this size: below it threads cost more. */
#define RCML_EW_PAR_MIN ((size_t)1 << 18)

extern int rcml_active_isa; /* read by every dispatching entry point */

/* Scratch for a kernel's workspace (threads.c): one buffer, kept between calls, so the
 * packed panels of back-to-back products do not pay page faults on every call (a fresh
 * 3 MB workspace costs its 800 page faults each time). Returns 64-byte aligned memory of
 * at least nbytes, or NULL when out of memory; give it back with rcml_scratch_release.
 * A second caller while the buffer is out gets a plain allocation instead. */
void *rcml_scratch_acquire(size_t nbytes);
void rcml_scratch_release(void *p);

/* The pool's lock (threads.c), for the allocator's cache of big buffers (alloc.c): held
 * only for a few list operations, never while calling out. */
void rcml_pool_lock(void);
void rcml_pool_unlock(void);

/* The threads a parallel_for started now would get: the configured count, or 1 inside a
 * running job (nested calls run inline). Only for sizing work, never for results. */
int rcml_threads_free(void);

/* A B operand packed once for many products (an RNN's recurrent weights, one product per
 * time step): rcml_gemm_f32_bpacked(ta, m, n, k, alpha, A, &bp, tb, B, beta, C) gives the
 * same bits as rcml_gemm_f32(ta, tb, m, n, k, alpha, A, B, beta, C), without repacking B.
 * init (for products of m rows) returns 0, or -1 (a shape or backend that never packs
 * B, out of memory): then bp is empty
 * and the products simply use B. The pack belongs to the backend active at init. */
typedef struct {
    const void *kr; /* the kernel table it was packed for */
    int trans_b;
    size_t n, k;
    size_t kcmax; /* its k blocks' bound: a product of m rows that blocks k otherwise
                     does not use it */
    float *data;
} rcml_gemm_bpack_t;
int rcml_gemm_bpack_init(rcml_gemm_bpack_t *bp, size_t m, int trans_b, size_t n, size_t k,
                         const float *B);
void rcml_gemm_bpack_free(rcml_gemm_bpack_t *bp);
void rcml_gemm_f32_bpacked(int trans_a, size_t m, size_t n, size_t k, float alpha, const float *A,
                           const rcml_gemm_bpack_t *bp, int trans_b, const float *B, float beta,
                           float *C);
/* Whether rcml_gemm_f32_bpacked(., m, n, k, ., ., bp, trans_b, ...) uses the pack. When
 * it does, rcml_gemm_f32_bpacked_rows computes any block of consecutive rows of that
 * product (A untransposed, rows x k at row stride k; C rows x n) on the calling thread with
 * the bits the whole product gives them: an RNN's batch rows then run their whole time
 * loop on one thread each, with no hand-off per step. */
int rcml_gemm_bpack_serves(const rcml_gemm_bpack_t *bp, size_t m, int trans_b, size_t n, size_t k);
void rcml_gemm_f32_bpacked_rows(size_t rows, size_t n, size_t k, float alpha, const float *A,
                                const rcml_gemm_bpack_t *bp, const float *B, float beta, float *C);

#endif
