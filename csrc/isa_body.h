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
#include "conv_body.h"
#include "pool_body.h"

const rcml_kernels_t RCML_SFX(rcml_kernels) = {
    &RCML_SFX(rcml_ew), &RCML_SFX(rcml_act),  &RCML_SFX(rcml_train), &RCML_SFX(rcml_rnn),
    RCML_ISA_GEMM,      &RCML_SFX(rcml_conv), &RCML_SFX(rcml_pool),
};
