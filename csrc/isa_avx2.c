/* Every kernel family compiled for AVX2 + FMA (see internal.h: target
 * pragmas on GCC/Clang, the object's /arch flag on MSVC). */
/* -fno-trapping-math: see isa_baseline.c */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "kernels.h"
#ifdef RCML_HAVE_X86_TARGETS
#include "target_avx2_begin.h"
#define RCML_LOOP
#define RCML_BODY_AVX2 1
#define RCML_SFX(name) name##_avx2
#define RCML_ISA_GEMM (&rcml_gemm_kernels_avx2)
#include "isa_body.h"
#include "target_end.h"
#else
typedef int rcml_isa_avx2_unused;
#endif
