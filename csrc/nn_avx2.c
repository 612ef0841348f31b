/* rc.nn kernels compiled for AVX2 (GCC/Clang only; see nn_body.h). */
#include "internal.h"
#ifdef RCML_HAVE_X86_TARGETS
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define RCML_NN_SFX(name) name##_avx2
#include "nn_body.h"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#else
typedef int rcml_nn_avx2_unused;
#endif
