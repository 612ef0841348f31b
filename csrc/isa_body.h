/* isa_body.h - every kernel family compiled for one ISA, and that ISA's one table.
 *
 * Included once by each isa_*.c, which first defines RCML_SFX(name) (the variant suffix),
 * RCML_LOOP (empty, or "do not vectorise" for the serial reference), RCML_ISA_GEMM (its
 * hand-tuned GEMM micro-kernels, from gemm.h) and the target ISA.
 * Bodies call each other's static functions within this translation unit (the same ISA),
 * never back up through the public, dispatching entry points, except the GEMM driver
 * (matmul.c), whose hand-tuned micro-kernels are chosen per ISA there.
 */
#include "kernels.h"

#include "ew_body.h"
#include "act_body.h"
#include "train_body.h"
#include "rnn_body.h"
#include "norm_body.h"
#include "conv_body.h"
#include "pool_body.h"

/* designated members: a family added to rcml_kernels_t cannot shift the others */
const rcml_kernels_t RCML_SFX(rcml_kernels) = {
    .ew = &RCML_SFX(rcml_ew),
    .act = &RCML_SFX(rcml_act),
    .train = &RCML_SFX(rcml_train),
    .rnn = &RCML_SFX(rcml_rnn),
    .gemm = RCML_ISA_GEMM,
    .norm = &RCML_SFX(rcml_norm),
    .conv = &RCML_SFX(rcml_conv),
    .pool = &RCML_SFX(rcml_pool),
};
