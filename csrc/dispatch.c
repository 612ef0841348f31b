/* dispatch.c - CPU feature detection (once) and the active backend. */
#include "rcmlrs.h"
#include "kernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(RCML_X86)
/* cl.exe: its intrinsics. clang-cl defines _MSC_VER too but takes the GNU path below
 * (its _xgetbv needs an xsave target attribute; cpuid.h and GNU asm work there). */
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static void rcml_cpuid(int leaf, int sub, unsigned r[4]) {
    int regs[4];
    __cpuidex(regs, leaf, sub);
    memcpy(r, regs, sizeof(regs));
}
static unsigned long long rcml_xgetbv0(void) { return _xgetbv(0); }
#else
#include <cpuid.h>
static void rcml_cpuid(int leaf, int sub, unsigned r[4]) {
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}
static unsigned long long rcml_xgetbv0(void) {
    unsigned lo, hi;
    /* xgetbv via raw opcode so no -mxsave flag is needed */
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#endif
#endif

int rcml_active_isa = RCML_ISA_BASELINE;
static int rcml_detected = -1;
static int rcml_available[RCML_ISA_COUNT];

static void rcml_detect(void) {
    memset(rcml_available, 0, sizeof(rcml_available));
    rcml_available[RCML_ISA_SERIAL] = 1;
    rcml_available[RCML_ISA_BASELINE] = 1;
    int best = RCML_ISA_BASELINE;
#if defined(RCML_HAVE_X86_TARGETS)
    unsigned r[4];
    rcml_cpuid(0, 0, r);
    unsigned maxleaf = r[0];
    rcml_cpuid(1, 0, r);
    int osxsave = (r[2] >> 27) & 1, fma = (r[2] >> 12) & 1, avx = (r[2] >> 28) & 1;
    if (osxsave && avx && maxleaf >= 7) {
        unsigned long long xcr0 = rcml_xgetbv0();
        int ymm_os = (xcr0 & 0x6) == 0x6;
        int zmm_os = (xcr0 & 0xe6) == 0xe6;
        rcml_cpuid(7, 0, r);
        int avx2 = (r[1] >> 5) & 1;
        int f = (r[1] >> 16) & 1, dq = (r[1] >> 17) & 1, bw = (r[1] >> 30) & 1,
            vl = (r[1] >> 31) & 1;
        if (ymm_os && avx2 && fma) {
            rcml_available[RCML_ISA_AVX2] = 1;
            best = RCML_ISA_AVX2;
        }
        if (zmm_os && ymm_os && avx2 && fma && f && dq && bw && vl) {
            rcml_available[RCML_ISA_AVX512] = 1;
            best = RCML_ISA_AVX512;
        }
    }
#elif defined(RCML_ARM64)
    rcml_available[RCML_ISA_NEON] = 1; /* NEON is part of the arm64 baseline */
    best = RCML_ISA_NEON;
#endif
    rcml_detected = best;
    rcml_active_isa = best;
    const char *env = getenv("RCMLRS_BACKEND");
    if (env && *env) {
        int i;
        for (i = 0; i < RCML_ISA_COUNT; i++) {
            if (strcmp(env, rcml_isa_name(i)) == 0 && rcml_available[i]) rcml_active_isa = i;
        }
    }
}

void rcml_init(void) {
    if (rcml_detected < 0) rcml_detect();
}

int rcml_isa_available(int isa) {
    rcml_init();
    return isa >= 0 && isa < RCML_ISA_COUNT && rcml_available[isa];
}

int rcml_get_isa(void) {
    rcml_init();
    return rcml_active_isa;
}

int rcml_best_isa(void) {
    rcml_init();
    return rcml_detected;
}

int rcml_set_isa(int isa) {
    if (!rcml_isa_available(isa)) return -1;
    rcml_active_isa = isa;
    return 0;
}

const char *rcml_isa_name(int isa) {
    switch (isa) {
    case RCML_ISA_SERIAL: return "serial";
    case RCML_ISA_BASELINE: return "baseline";
    case RCML_ISA_AVX2: return "avx2";
    case RCML_ISA_AVX512: return "avx512";
    case RCML_ISA_NEON: return "neon";
    default: return "unknown";
    }
}

#define RCML_STR2(x) #x
#define RCML_STR(x) RCML_STR2(x)
const char *rcml_compiler(void) {
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#elif defined(_MSC_VER)
    return "msvc " RCML_STR(_MSC_FULL_VER);
#else
    return "unknown C compiler";
#endif
}

/* The only switch over ISAs: every dispatching entry point asks here for its table. */
const rcml_kernels_t *rcml_kernels(void) {
    switch (rcml_active_isa) {
    case RCML_ISA_SERIAL: return &rcml_kernels_serial;
#ifdef RCML_HAVE_X86_TARGETS
    case RCML_ISA_AVX2: return &rcml_kernels_avx2;
    case RCML_ISA_AVX512: return &rcml_kernels_avx512;
#endif
#ifdef RCML_ARM64
    case RCML_ISA_NEON: return &rcml_kernels_neon;
#endif
    default: return &rcml_kernels_baseline;
    }
}
