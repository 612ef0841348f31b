/* rc.nn kernels for the platform's baseline ISA (see nn_body.h). */
#define RCML_FMA_EMULATE 1 /* see mathf.h: no FMA instruction at this ISA */
#include "internal.h"
#define RCML_NN_SFX(name) name##_base
#include "nn_body.h"
