/* rc.nn kernels compiled for AVX2 (GCC/Clang only; see nn_body.h). */
#include "internal.h"
#ifdef RCML_HAVE_X86_TARGETS
#include "target_avx2_begin.h"
#define RCML_NN_SFX(name) name##_avx2
#include "nn_body.h"
#include "target_end.h"
#else
typedef int rcml_nn_avx2_unused;
#endif
