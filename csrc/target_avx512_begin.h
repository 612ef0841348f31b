/* Compile the functions that follow for AVX-512 F/VL/DQ/BW (include this
 * inside #ifdef RCML_HAVE_X86_TARGETS, and csrc/target_end.h after them). No include
 * guard: it is meant to be included once per variant file. */
#if defined(RCML_ARCH_OBJECTS)
/* MSVC, clang-cl: the whole object is built with /arch:AVX512 (setup.py), which defines
 * __AVX512F__, __AVX512CD__, __AVX512BW__, __AVX512DQ__ and __AVX512VL__. */
#if !defined(__AVX512F__) || !defined(__AVX512VL__) || !defined(__AVX512DQ__) ||                   \
    !defined(__AVX512BW__)
#error "MSVC: compile this file with /arch:AVX512 (setup.py's per-ISA objects do)"
#endif
/* no FMA contraction (GCC/Clang get -ffp-contract=off): cl.exe before VS 2022 contracted
 * under /fp:precise, clang-cl does by default */
#if defined(__clang__)
#pragma clang fp contract(off)
#else
#pragma fp_contract(off)
#endif
#elif defined(__clang__)
#pragma clang attribute push(                                                                      \
    __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")
#endif
