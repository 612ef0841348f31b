/* Every kernel family compiled for AVX2 + FMA (GCC/Clang only; see internal.h). */
/* -fno-trapping-math: see isa_baseline.c */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "kernels.h" /* before RCML_ISA_GEMM: gemm.h decides RCML_GEMM_X86_KERNELS */
#ifdef RCML_HAVE_X86_TARGETS
#include "target_avx2_begin.h"
#define RCML_LOOP
#define RCML_BODY_AVX2 1
#define RCML_SFX(name) name##_avx2
#ifdef RCML_GEMM_X86_KERNELS
#define RCML_ISA_GEMM (&rcml_gemm_kernels_avx2)
#else
#define RCML_ISA_GEMM (&rcml_gemm_kernels_portable) /* clang-cl: see gemm.h */
#endif
#include "isa_body.h"
#include "target_end.h"
#else
typedef int rcml_isa_avx2_unused;
#endif
