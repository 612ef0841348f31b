/* The training kernels (train_body.h) for the default ISA (SSE2 on x86-64, NEON on arm64). */
/* -fno-trapping-math lets GCC if-convert the selects in the log/exp helpers (speculating
 * a multiply that cannot change any result), so these loops vectorise; values, NaN and
 * inf behave exactly as before. */
#define RCML_FMA_EMULATE 1 /* see mathf.h: no FMA instruction at this ISA */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#define RCML_LOOP
#define RCML_SFX(name) name##_baseline
#include "train_body.h"
