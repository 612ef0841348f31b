/* The training kernels (train_body.h) for the default ISA (SSE2 on x86-64, NEON on arm64). */
#define RCML_LOOP
#define RCML_SFX(name) name##_baseline
#include "train_body.h"
