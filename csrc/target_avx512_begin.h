/* Compile the functions that follow for AVX-512 F/VL/DQ/BW (GCC/Clang only: include this
 * inside #ifdef RCML_HAVE_X86_TARGETS, and csrc/target_end.h after them). No include
 * guard: it is meant to be included once per variant file. */
#if defined(__clang__)
#pragma clang attribute push(                                                                      \
    __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#endif
