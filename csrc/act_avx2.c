/* The shared source compiled for AVX2 + FMA (GCC/Clang only; see internal.h). */
#include "internal.h"
#ifdef RCML_HAVE_X86_TARGETS
#include "target_avx2_begin.h"
#define RCML_LOOP
#define RCML_SFX(name) name##_avx2
#include "act_body.h"
#include "target_end.h"
#else
typedef int rcml_act_avx2_unused;
#endif
