/* The shared source for the platform's default ISA (SSE2 on x86-64, NEON on arm64). */
#define RCML_FMA_EMULATE 1 /* see mathf.h: no FMA instruction at this ISA */
#define RCML_LOOP
#define RCML_SFX(name) name##_baseline
#include "act_body.h"
