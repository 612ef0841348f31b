/* The training kernels (train_body.h) compiled for AVX-512 (GCC/Clang only). */
/* -fno-trapping-math lets GCC if-convert the selects in the log/exp helpers (speculating
 * a multiply that cannot change any result), so these loops vectorise; values, NaN and
 * inf behave exactly as before. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "internal.h"
#ifdef RCML_HAVE_X86_TARGETS
#include "target_avx512_begin.h"
#define RCML_LOOP
#define RCML_SFX(name) name##_avx512
#include "train_body.h"
#include "target_end.h"
#else
typedef int rcml_train_avx512_unused;
#endif
