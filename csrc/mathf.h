/* mathf.h - branch-free float32 transcendentals, written so compilers vectorise them.
 *
 * Each function is plain C on one float: no table lookups, no data-dependent branches
 * (selects only), so a loop calling it vectorises for every target the including file
 * is compiled for. Coefficients are the Cephes single-precision minimax polynomials.
 * Measured max error vs float64 over all float32 inputs: see tests/test_mathf.py.
 */
#ifndef RCMLRS_MATHF_H
#define RCMLRS_MATHF_H

#include "internal.h"

/* round-to-nearest-even without SSE4.1: valid for |t| < 2^22 */
RCML_INLINE float rcml_round_f(float t) {
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    return (t + magic) - magic;
}

/* e^x. Range reduction x = n ln2 + f with a two-part ln2, degree-6 polynomial for e^f,
 * then 2^n applied as two halves so results in the subnormal range underflow gradually. */
RCML_INLINE float rcml_expf(float x) {
    /* clamp so n stays in int range; written so NaN fails both tests and becomes -104
     * (converting NaN to int is undefined behaviour); NaN is restored at the end */
    float xc = x > -104.0f ? x : -104.0f;
    xc = xc < 89.0f ? xc : 89.0f;
    float n = rcml_round_f(xc * 1.44269504088896341f);
    float f = xc - n * 0.693359375f;
    f = f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * f + 1.3981999507e-3f;
    p = p * f + 8.3334519073e-3f;
    p = p * f + 4.1665795894e-2f;
    p = p * f + 1.6666665459e-1f;
    p = p * f + 5.0000001201e-1f;
    p = p * (f * f) + f + 1.0f;
    int32_t i = (int32_t)n;
    int32_t i1 = i >> 1;
    int32_t i2 = i - i1;
    float s1 = rcml_as_float((uint32_t)(i1 + 127) << 23);
    float s2 = rcml_as_float((uint32_t)(i2 + 127) << 23);
    float r = (p * s1) * s2;
    return x != x ? x : r;
}

/* ln x. x = m 2^e with m in [sqrt(1/2), sqrt(2)), polynomial in (m - 1). */
RCML_INLINE float rcml_logf(float x) {
    /* subnormals: scale into the normal range first */
    int sub = x < 1.17549435e-38f;
    float xs = sub ? x * 8388608.0f : x;
    uint32_t u = rcml_as_u32(xs);
    int32_t e = (int32_t)((u >> 23) & 0xffu) - 126 - (sub ? 23 : 0);
    float m = rcml_as_float((u & 0x007fffffu) | 0x3f000000u); /* [0.5, 1) */
    int lo = m < 0.707106781186547524f;
    e = lo ? e - 1 : e;
    m = lo ? (m + m) - 1.0f : m - 1.0f;
    float fe = (float)e;
    float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    y = y + fe * -2.12194440e-4f;
    y = y - 0.5f * z;
    float r = m + y;
    r = r + fe * 0.693359375f;
    /* specials: 0 -> -inf, < 0 -> NaN, inf -> inf, NaN -> NaN */
    const float inf = rcml_as_float(0x7f800000u);
    const float qnan = rcml_as_float(0x7fc00000u);
    r = x == 0.0f ? -inf : r;
    r = x < 0.0f ? qnan : r;
    r = x == inf ? inf : r;
    return x != x ? x : r;
}

/* tanh x: odd polynomial for |x| < 0.625, else 1 - 2 / (e^{2|x|} + 1) with the sign. */
RCML_INLINE float rcml_tanhf(float x) {
    float ax = x < 0.0f ? -x : x;
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = p * z * x + x;
    float e = rcml_expf(ax + ax);
    float big = 1.0f - 2.0f / (e + 1.0f);
    big = x < 0.0f ? -big : big;
    float r = ax < 0.625f ? small : big;
    return x != x ? x : r;
}

#endif
