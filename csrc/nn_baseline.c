/* rc.nn kernels for the platform's baseline ISA (see nn_body.h). */
#include "internal.h"
#define RCML_NN_SFX(name) name##_base
#include "nn_body.h"
