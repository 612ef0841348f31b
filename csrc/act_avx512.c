/* The shared source compiled for AVX-512 (GCC/Clang only; see internal.h). */
#include "internal.h"
#ifdef RCML_HAVE_X86_TARGETS
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#endif
#define RCML_LOOP
#define RCML_SFX(name) name##_avx512
#include "act_body.h"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#else
typedef int rcml_act_avx512_unused;
#endif
