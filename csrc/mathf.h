/* mathf.h - branch-free float32 transcendentals, written so compilers vectorise them.
 *
 * Each function is plain C on one float: no table lookups, no data-dependent branches
 * (selects only), so a loop calling it vectorises for every target the including file
 * is compiled for. Coefficients are the Cephes single-precision minimax polynomials.
 *
 * Fused multiply-add: every polynomial step is RCML_FMAF(a, b, c) = fmaf(a, b, c), one
 * rounding. On targets with FMA (the AVX2 and AVX-512 variants, arm64) the compiler
 * emits the instruction and vectorises it; elsewhere (the serial reference, the SSE2
 * baseline, MSVC) it is the C library's correctly rounded fmaf. Either way the result
 * is the same bits, so every backend gives identical results on every platform, and
 * the serial variant stays an exact reference. (The cost: without an FMA instruction,
 * i.e. the x86 SSE2 baseline used on CPUs without AVX2 and by MSVC builds, fmaf is a
 * library call, so the baseline variant emulates it in double arithmetic instead, which
 * matches except in rare double-rounding ties; see RCML_FMA_EMULATE below.)
 *
 * Selects use rcml_self() (a bit-mask blend) rather than ?: on floats: GCC otherwise
 * if-converts clamps by specialising each path, which doubled the work of exp.
 *
 * Measured max error vs float64 (tests/test_mathf.py: 8.4 million float32 inputs, every
 * 509th bit pattern of both signs, so every binade; identical on every backend):
 *   rcml_expf 0.99 ulp, rcml_logf 0.78 ulp, rcml_tanhf 2.49 ulp, rcml_sigmoidf 2.12 ulp,
 *   rcml_erff 2.32 ulp; rcml_powf 0.5005 ulp (tests/test_mathf.py's pow sweep). Results in
 *   the subnormal range underflow gradually (error below one subnormal step).
 * Specials: NaN in -> NaN out; exp(-inf) = 0, exp(+inf) = inf, no NaN from overflow;
 * tanh(+-inf) = +-1, sigmoid(-inf) = 0, sigmoid(+inf) = 1, erf(+-inf) = +-1; -0.0 maps
 * to -0.0 for the odd functions (tanh, erf).
 */
#ifndef RCMLRS_MATHF_H
#define RCMLRS_MATHF_H

#include "internal.h"

#include <math.h>

#if defined(RCML_FMA_EMULATE) && !defined(__FMA__) && !defined(RCML_ARM64)
/* The baseline variant on an ISA without an FMA instruction (x86-64 SSE2, MSVC x64):
 * a library fmaf is a software routine there, ~40x slower than the loop it sits in.
 * The product of two floats is exact in double, so (double)a*b + c rounded to float is
 * a correctly rounded fma except when the double rounding of the sum lands on a float
 * tie (about 2^-29 of random operands). It vectorises with SSE2. */
RCML_INLINE float rcml_fma_emul(float a, float b, float c) {
    return (float)((double)a * (double)b + (double)c);
}
#define RCML_FMAF(a, b, c) rcml_fma_emul((a), (b), (c))
#else
#define RCML_FMAF(a, b, c) fmaf((a), (b), (c))
#endif

/* c ? a : b as a bit blend, so the vectoriser sees one data path */
RCML_INLINE float rcml_self(int c, float a, float b) {
    uint32_t m = (uint32_t)0 - (uint32_t)(c != 0);
    return rcml_as_float((rcml_as_u32(a) & m) | (rcml_as_u32(b) & ~m));
}

RCML_INLINE float rcml_absf(float x) { return rcml_as_float(rcml_as_u32(x) & 0x7fffffffu); }

/* x with the sign bit of s */
RCML_INLINE float rcml_copysignf(float x, float s) {
    return rcml_as_float((rcml_as_u32(x) & 0x7fffffffu) | (rcml_as_u32(s) & 0x80000000u));
}

/* round-to-nearest-even without SSE4.1: valid for |t| < 2^22 */
RCML_INLINE float rcml_round_f(float t) {
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    return (t + magic) - magic;
}

/* e^x for x in [-104, 89] or NaN: x = n ln2 + f with a two-part ln2,
 * degree-7 polynomial for e^f, then 2^n applied as two halves so that results in the
 * subnormal range underflow gradually and n = 128 overflows to inf. */
/* The shared range reduction and polynomial: returns e^f and leaves t, whose low
 * mantissa bits hold n (two's complement), in *t_out. */
RCML_INLINE float rcml_exp_poly(float xc, float *t_out) {
    const float magic = 12582912.0f; /* 1.5 * 2^23: n sits in the low mantissa bits */
    float t = RCML_FMAF(xc, 1.44269504088896341f, magic);
    float n = t - magic;
    float f = RCML_FMAF(n, -0.693359375f, xc);
    f = RCML_FMAF(n, 2.12194440e-4f, f);
    float p = 1.9875691500e-4f;
    p = RCML_FMAF(p, f, 1.3981999507e-3f);
    p = RCML_FMAF(p, f, 8.3334519073e-3f);
    p = RCML_FMAF(p, f, 4.1665795894e-2f);
    p = RCML_FMAF(p, f, 1.6666665459e-1f);
    p = RCML_FMAF(p, f, 5.0000001201e-1f);
    *t_out = t;
    return RCML_FMAF(p, f * f, f) + 1.0f;
}

RCML_INLINE float rcml_exp_core(float xc) {
    float t;
    float p = rcml_exp_poly(xc, &t);
    int32_t i = (int32_t)(rcml_as_u32(t) - rcml_as_u32(12582912.0f));
    int32_t i1 = i >> 1;
    int32_t i2 = i - i1;
    float s1 = rcml_as_float((uint32_t)(i1 + 127) << 23);
    float s2 = rcml_as_float((uint32_t)(i2 + 127) << 23);
    return (p * s1) * s2;
}

/* e^x: 1 ulp; 0 below -103.97 (gradual underflow above), inf above 88.72. */
RCML_INLINE float rcml_expf(float x) {
    /* NaN-preserving clamps: a NaN reaches the polynomial and the float multiplies of the
     * scale, so it comes out NaN without a final select */
    float xc = rcml_self(x < -104.0f, -104.0f, x);
    xc = rcml_self(xc > 89.0f, 89.0f, xc);
    return rcml_exp_core(xc);
}

/* e^x for x <= 0 only (the inputs of sigmoid-like functions). Here n is in [-150, 0],
 * so p 2^(n+64) is an exact product with a normal power of two and one multiply by
 * 2^-64 does the gradual underflow: cheaper than the two-step scale, and a NaN flows
 * through the float multiplies (the clamp keeps it too), so no final select. */
RCML_INLINE float rcml_exp_neg(float x) {
    float xc = rcml_self(x < -104.0f, -104.0f, x);
    float t;
    float p = rcml_exp_poly(xc, &t);
    /* the low bits of t are n (two's complement): (n + 64 + 127) << 23 is 2^(n+64) */
    float sc = rcml_as_float((rcml_as_u32(t) + 191u) << 23);
    return (p * sc) * 5.42101086242752217e-20f; /* 2^-64 */
}

/* -|x| in one bit operation */
RCML_INLINE float rcml_negabsf(float x) { return rcml_as_float(rcml_as_u32(x) | 0x80000000u); }

/* ln x. x = m 2^e with m in [sqrt(1/2), sqrt(2)), polynomial in (m - 1). */
RCML_INLINE float rcml_logf(float x) {
    /* subnormals: scale into the normal range first */
    int sub = x < 1.17549435e-38f;
    float xs = rcml_self(sub, x * 8388608.0f, x);
    uint32_t u = rcml_as_u32(xs);
    int32_t e = (int32_t)((u >> 23) & 0xffu) - 126 - (sub ? 23 : 0);
    float m = rcml_as_float((u & 0x007fffffu) | 0x3f000000u); /* [0.5, 1) */
    int lo = m < 0.707106781186547524f;
    e = lo ? e - 1 : e;
    m = rcml_self(lo, (m + m) - 1.0f, m - 1.0f);
    float fe = (float)e;
    float z = m * m;
    float y = 7.0376836292e-2f;
    y = RCML_FMAF(y, m, -1.1514610310e-1f);
    y = RCML_FMAF(y, m, 1.1676998740e-1f);
    y = RCML_FMAF(y, m, -1.2420140846e-1f);
    y = RCML_FMAF(y, m, 1.4249322787e-1f);
    y = RCML_FMAF(y, m, -1.6668057665e-1f);
    y = RCML_FMAF(y, m, 2.0000714765e-1f);
    y = RCML_FMAF(y, m, -2.4999993993e-1f);
    y = RCML_FMAF(y, m, 3.3333331174e-1f);
    y = y * m * z;
    y = RCML_FMAF(fe, -2.12194440e-4f, y);
    y = RCML_FMAF(-0.5f, z, y);
    float r = m + y;
    r = RCML_FMAF(fe, 0.693359375f, r);
    /* specials: 0 -> -inf, < 0 -> NaN, inf -> inf, NaN -> NaN */
    const float inf = rcml_as_float(0x7f800000u);
    const float qnan = rcml_as_float(0x7fc00000u);
    r = rcml_self(x == 0.0f, -inf, r);
    r = rcml_self(x < 0.0f, qnan, r);
    r = rcml_self(x == inf, inf, r);
    return rcml_self(x != x, x, r);
}

/* tanh |x| = -m / (2 + m) with m = e^{-2|x|} - 1 (expm1): the exp polynomial gives
 * e^f - 1 directly, and m = 2^n (e^f - 1) + (2^n - 1) has no cancellation, so one
 * formula is accurate from 0 (where it is |x| to the last bit) to saturation. 2|x| is
 * clamped to 20 (tanh rounds to 1 beyond 9.01), so 2^n is a plain exponent. */
RCML_INLINE float rcml_tanhf(float x) {
    const float magic = 12582912.0f;
    float a2 = rcml_absf(x);
    a2 = a2 + a2;
    a2 = rcml_self(a2 > 20.0f, 20.0f, a2); /* NaN stays NaN and reaches q, m and r */
    float t = RCML_FMAF(a2, -1.44269504088896341f, magic);
    float n = t - magic;
    float f = RCML_FMAF(n, -0.693359375f, -a2);
    f = RCML_FMAF(n, 2.12194440e-4f, f);
    float p = 1.9875691500e-4f;
    p = RCML_FMAF(p, f, 1.3981999507e-3f);
    p = RCML_FMAF(p, f, 8.3334519073e-3f);
    p = RCML_FMAF(p, f, 4.1665795894e-2f);
    p = RCML_FMAF(p, f, 1.6666665459e-1f);
    p = RCML_FMAF(p, f, 5.0000001201e-1f);
    float q = RCML_FMAF(p, f * f, f);                        /* e^f - 1 */
    float sc = rcml_as_float((rcml_as_u32(t) + 127u) << 23); /* 2^n, n in [-29, 0] */
    float m = RCML_FMAF(sc, q, sc - 1.0f);
    return rcml_copysignf(m / (-2.0f - m), x); /* odd; keeps -0 */
}

/* The logistic function 1 / (1 + e^-x), computed from e = e^-|x| in (0, 1] so neither
 * side cancels or overflows: x >= 0 gives 1 / (1 + e), x < 0 gives e / (1 + e), which
 * keeps full relative accuracy deep into the negative tail (gradual underflow). */
RCML_INLINE float rcml_sigmoidf(float x) {
    float e = rcml_exp_neg(rcml_negabsf(x));
    return rcml_self(x < 0.0f, e, 1.0f) / (1.0f + e); /* NaN: e is NaN */
}

/* Both halves at once: *s = sigmoid(x), *sm = 1 - sigmoid(x) = sigmoid(-x), each with
 * full relative accuracy (used by derivatives, which need 1 - s without cancellation). */
RCML_INLINE void rcml_sigmoid2f(float x, float *s, float *sm) {
    float e = rcml_exp_neg(rcml_negabsf(x));
    float r = 1.0f / (1.0f + e);
    float er = e * r;
    int neg = x < 0.0f;
    *s = rcml_self(neg, er, r);
    *sm = rcml_self(neg, r, er);
}

/* erfc x for x >= 1 (Cephes): e^{-x^2} / x * P(1/x^2), two polynomials split at x = 2.
 * x^2 is formed exactly as hi + lo with an FMA so e^{-x^2} keeps full accuracy. */
RCML_INLINE float rcml_erfc_tail(float ax) {
    float q = 1.0f / ax;
    float y = q * q;
    int near = ax < 2.0f;
    /* coefficient select per lane: P for 1 <= x < 2, R for x >= 2 (R has one fewer) */
    float p = rcml_self(near, 2.326819970068386e-2f, 0.0f);
    p = RCML_FMAF(p, y, rcml_self(near, -1.387039388740657e-1f, -1.047766399936249e+1f));
    p = RCML_FMAF(p, y, rcml_self(near, 3.687424674597105e-1f, 1.297719955372516e+1f));
    p = RCML_FMAF(p, y, rcml_self(near, -5.824733027278666e-1f, -7.495518717768503e+0f));
    p = RCML_FMAF(p, y, rcml_self(near, 6.210004621745983e-1f, 2.921019019210786e+0f));
    p = RCML_FMAF(p, y, rcml_self(near, -4.944515323274145e-1f, -1.015265279202700e+0f));
    p = RCML_FMAF(p, y, rcml_self(near, 3.404879937665872e-1f, 4.218463358204948e-1f));
    p = RCML_FMAF(p, y, rcml_self(near, -2.741127028184656e-1f, -2.820767439740514e-1f));
    p = RCML_FMAF(p, y, rcml_self(near, 5.638259427386472e-1f, 5.641895067754075e-1f));
    float hi = ax * ax;
    int fin = hi < 104.0f; /* beyond, e^{-x^2} is 0 anyway; keeps inf and NaN out */
    float lo = rcml_self(fin, RCML_FMAF(ax, ax, -hi), 0.0f); /* x^2 = hi + lo exactly */
    float hc = rcml_self(fin, hi, 104.0f);
    float z = rcml_exp_core(-hc);
    z = RCML_FMAF(-z, lo, z); /* e^{-hi-lo} = e^{-hi} (1 - lo) */
    return z * q * p;
}

/* erf x for |x| < 1: x * T(x^2) (Cephes). */
RCML_INLINE float rcml_erf_small(float x) {
    float z = x * x;
    float y = 7.853861353153693e-5f;
    y = RCML_FMAF(y, z, -8.010193625184903e-4f);
    y = RCML_FMAF(y, z, 5.188327685732524e-3f);
    y = RCML_FMAF(y, z, -2.685381193529856e-2f);
    y = RCML_FMAF(y, z, 1.128358514861418e-1f);
    y = RCML_FMAF(y, z, -3.761262582423300e-1f);
    y = RCML_FMAF(y, z, 1.128379165726710e+0f);
    return x * y;
}

/* erf x: 2 ulp; odd, erf(+-inf) = +-1. */
RCML_INLINE float rcml_erff(float x) {
    float ax = rcml_absf(x);
    float big = 1.0f - rcml_erfc_tail(rcml_self(ax < 1.0f, 1.0f, ax));
    float r = rcml_self(ax < 1.0f, rcml_erf_small(x), rcml_copysignf(big, x));
    return rcml_self(x != x, x, r);
}

/* erfc x = 1 - erf x with full relative accuracy for large positive x (no cancellation;
 * checked through the exact GELU in tests/test_activations.py); erfc(-inf) = 2,
 * erfc(+inf) = 0. */
RCML_INLINE float rcml_erfcf(float x) {
    float ax = rcml_absf(x);
    float t = rcml_erfc_tail(rcml_self(ax < 1.0f, 1.0f, ax));
    float big = rcml_self(x < 0.0f, 2.0f - t, t);
    float r = rcml_self(ax < 1.0f, 1.0f - rcml_erf_small(x), big);
    return rcml_self(x != x, x, r);
}

/* ----------------------------------------------------------------------- powf */
/* x^y to within 0.5005 ulp (measured), about as accurate as the C library's powf and
 * with its C99 Annex F special cases, but branch-free so a loop of it vectorises. The
 * core is x^y = 2^(y log2|x|) in double: log2|x| to ~2^-39 relative and 2^t to
 * ~2^-37, so the error of the final rounding to float dominates. There is no FMA in this
 * part (plain double multiplies and adds), so it is the same bits on every backend with
 * or without an FMA instruction. */
/* c ? a : b on doubles as a bit blend (see rcml_self) */
RCML_INLINE double rcml_seld(int c, double a, double b) {
    uint64_t m = (uint64_t)0 - (uint64_t)(c != 0);
    return rcml_as_double((rcml_as_u64(a) & m) | (rcml_as_u64(b) & ~m));
}

/* log2 |x| in double for finite nonzero x (0, inf and NaN give finite garbage that
 * rcml_pow_finish replaces). |x| = m 2^e with m in [sqrt(1/2), sqrt(2)), and
 * ln m = 2 atanh s = 2 (s + s^3/3 + ...), s = (m - 1)/(m + 1), |s| < 0.1716: eight terms
 * leave < 2^-39 relative. Estrin's scheme, not Horner's: the loop was latency bound. */
RCML_INLINE double rcml_log2_abs_d(float x) {
    float ax = rcml_absf(x);
    int sub = ax < 1.17549435e-38f; /* subnormal: scale into the normal range first */
    uint32_t u = rcml_as_u32(rcml_self(sub, ax * 8388608.0f, ax));
    uint32_t mu = (u & 0x007fffffu) | 0x3f800000u; /* m in [1, 2) */
    int hi = mu > 0x3fb504f3u;                     /* m > sqrt(2): halve it */
    int32_t e = (int32_t)(u >> 23) - 127 - (23 & -sub) + hi;
    double m = (double)rcml_as_float(mu - (0x00800000u & (0u - (uint32_t)hi)));
    double s = (m - 1.0) / (m + 1.0);
    double z = s * s, z2 = z * z, z4 = z2 * z2;
    double p01 = 2.0 + z * (2.0 / 3.0), p23 = 2.0 / 5.0 + z * (2.0 / 7.0);
    double p45 = 2.0 / 9.0 + z * (2.0 / 11.0), p67 = 2.0 / 13.0 + z * (2.0 / 15.0);
    double p = (p01 + z2 * p23) + z4 * (p45 + z2 * p67);
    return (double)e + (s * p) * 1.4426950408889634074;
}

/* 2^t in double for t in [-300, 300] (or NaN): t = n + f with |f| <= 1/2, the Taylor
 * polynomial of e^(f ln 2) to degree 9 (truncation < 2^-37, ~1e-4 of a float ulp), times
 * 2^n built in the exponent bits. */
RCML_INLINE double rcml_exp2_d(double t) {
    const double magic = 6755399441055744.0; /* 1.5 * 2^52: n sits in the low bits */
    double k = t + magic;
    double n = k - magic;
    double f = (t - n) * 0.69314718055994530942;
    double f2 = f * f, f4 = f2 * f2, f8 = f4 * f4;
    double p01 = 1.0 + f, p23 = 0.5 + f * (1.0 / 6.0);
    double p45 = 1.0 / 24.0 + f * (1.0 / 120.0), p67 = 1.0 / 720.0 + f * (1.0 / 5040.0);
    double p89 = 1.0 / 40320.0 + f * (1.0 / 362880.0);
    double p = (p01 + f2 * p23) + f4 * (p45 + f2 * p67) + f8 * p89;
    return p * rcml_as_double((rcml_as_u64(k) + 1023u) << 52);
}

/* The first half of x^y: t = y log2|x|. A loop over a block computes these first and
 * rcml_pow_finish second: two short loop bodies ran ~10% faster than one long one. */
RCML_INLINE double rcml_pow_t(float x, float y) { return (double)y * rcml_log2_abs_d(x); }

/* x^y from t = rcml_pow_t(x, y), with C99's special cases:
 * pow(x, +-0) = 1 and pow(+1, y) = 1 even for NaN; otherwise NaN in -> NaN out;
 * x < 0 finite and y not an integer -> NaN; pow(-1, +-inf) = 1; pow(x, +-inf) and the
 * bases +-0 and +-inf give 0 or inf, with x's sign when y is an odd integer. Overflow
 * gives inf, underflow rounds gradually to 0. */
RCML_INLINE float rcml_pow_finish(float x, float y, double t) {
    const float inf = rcml_as_float(0x7f800000u);
    float ax = rcml_absf(x), ay = rcml_absf(y);
    t = rcml_seld(t < -300.0, -300.0, t); /* 2^-300 and 2^300 round to 0 and inf */
    t = rcml_seld(t > 300.0, 300.0, t);
    float r = (float)rcml_exp2_d(t); /* |x|^y */
    /* y's parity; every float of magnitude >= 2^24 is an even integer, and the int
     * conversion is kept in range (out of range it is undefined behaviour) */
    int big = ay >= 16777216.0f;
    float yc = rcml_self(big | (y != y), 0.0f, y);
    int32_t iy = (int32_t)yc;
    int isint = big | ((float)iy == yc);
    uint32_t odd = (uint32_t)(isint & (int)(iy & 1));
    /* bases 0 and inf: 0 or inf by the sign of y */
    float mag = rcml_self((ax == 0.0f) == (y < 0.0f), inf, 0.0f);
    r = rcml_self((ax == 0.0f) | (ax == inf), mag, r);
    /* odd integer powers keep the base's sign */
    r = rcml_as_float(rcml_as_u32(r) | ((rcml_as_u32(x) & 0x80000000u) & (0u - odd)));
    r = rcml_self((x < 0.0f) & (x != -inf) & !isint, rcml_as_float(0x7fc00000u), r);
    r = rcml_self((ax == 1.0f) & (ay == inf), 1.0f, r);
    r = rcml_self((x != x) | (y != y), x + y, r);
    return rcml_self((y == 0.0f) | (x == 1.0f), 1.0f, r);
}

/* x^y for one pair (loops over many use rcml_pow_t and rcml_pow_finish in blocks) */
RCML_INLINE float rcml_powf(float x, float y) { return rcml_pow_finish(x, y, rcml_pow_t(x, y)); }

#endif
