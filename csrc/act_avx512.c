/* The shared source compiled for AVX-512 (GCC/Clang only; see internal.h). */
#include "internal.h"
#ifdef RCML_HAVE_X86_TARGETS
#include "target_avx512_begin.h"
#define RCML_LOOP
#define RCML_SFX(name) name##_avx512
#include "act_body.h"
#include "target_end.h"
#else
typedef int rcml_act_avx512_unused;
#endif
