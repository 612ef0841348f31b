/* The serial reference of every kernel family: the bodies as plain loops, vectorisation
 * off. Every other backend is tested bit for bit against this one. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-vectorize", "no-tree-slp-vectorize")
#define RCML_LOOP
#elif defined(__clang__)
#define RCML_LOOP _Pragma("clang loop vectorize(disable) interleave(disable)")
#elif defined(_MSC_VER)
#define RCML_LOOP __pragma(loop(no_vector))
#else
#define RCML_LOOP
#endif
#define RCML_SFX(name) name##_serial
#define RCML_ISA_GEMM NULL /* the plain reference loop */
#include "isa_body.h"
