/* Every kernel family for the platform's default ISA (SSE2 on x86-64, NEON on arm64; all
 * an MSVC build gets). */
#define RCML_FMA_EMULATE 1 /* see mathf.h: no FMA instruction at this ISA */
/* -fno-trapping-math lets GCC if-convert the selects in the log/exp helpers (speculating a
 * multiply that cannot change any result), so those loops vectorise; values, NaN and inf
 * behave exactly as without it. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#define RCML_LOOP
#define RCML_BODY_BASELINE 1
#include "kernels.h"
#define RCML_SFX(name) name##_baseline
#define RCML_ISA_GEMM (&rcml_gemm_kernels_portable)
#include "isa_body.h"

#ifdef RCML_ARM64
/* NEON is the arm64 baseline: the same bodies, with the hand-tuned NEON GEMM kernels */
const rcml_kernels_t rcml_kernels_neon = {
    .ew = &rcml_ew_baseline,
    .act = &rcml_act_baseline,
    .train = &rcml_train_baseline,
    .rnn = &rcml_rnn_baseline,
    .gemm = &rcml_gemm_kernels_neon,
    .norm = &rcml_norm_baseline,
    .conv = &rcml_conv_baseline,
    .pool = &rcml_pool_baseline,
};
#endif
