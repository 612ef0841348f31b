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
#if defined(__aarch64__) || defined(_M_ARM64)
#define RCML_ARM64 1
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

/* Before a loop that calls the C library (powf): cl.exe may vectorise such a loop with its
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

/* Elementwise work is cut into fixed chunks of this many floats for the pool. */
#define RCML_EW_GRAIN ((size_t)1 << 16)
/* Cheap ops (add, mul) only go parallel above this size: below it threads cost more. */
#define RCML_EW_PAR_MIN ((size_t)1 << 18)

extern int rcml_active_isa; /* read by every dispatching entry point */

#endif
