/* ew_body.h - elementwise and reduction kernels, ONE source compiled once per ISA
 * through isa_body.h, whose includer defines RCML_SFX(name) (the variant suffix),
 * RCML_LOOP (a loop pragma, empty or "do not vectorise" for the serial reference) and
 * the target ISA.
 * Every loop has a fixed evaluation order, so all backends give identical bits
 * (FP contraction is off in the build).
 */
#include "rcmlrs.h"
#include "kernels.h"
#include "mathf.h"

#include <math.h>

/* IEEE 754-2019 maximum: NaN on either side gives NaN (a + b), and of +0 and -0 the
 * +0 (the AND of the bits), so maximum(a, b) = maximum(b, a) bit for bit. Selects are
 * bit blends so the loops vectorise. */
RCML_INLINE float RCML_SFX(maxf)(float a, float b) {
    float m = rcml_self(a > b, a, b);
    m = rcml_self(a == b, rcml_as_float(rcml_as_u32(a) & rcml_as_u32(b)), m);
    return rcml_self((a != a) | (b != b), a + b, m);
}

/* minimum: the same with -0 below +0 (the OR of the bits) */
RCML_INLINE float RCML_SFX(minf)(float a, float b) {
    float m = rcml_self(a < b, a, b);
    m = rcml_self(a == b, rcml_as_float(rcml_as_u32(a) | rcml_as_u32(b)), m);
    return rcml_self((a != a) | (b != b), a + b, m);
}

/* a mod b with the sign of b (Python's %, np.mod): fmodf is exact, and adding b to a
 * remainder of the other sign rounds once, so this is the float32 rounding of the exact
 * floor modulo. b = 0 leaves fmodf's NaN; a zero remainder takes b's sign. */
RCML_INLINE float RCML_SFX(modf1)(float a, float b) {
    float m = fmodf(a, b);
    if (b == 0.0f) return m;
    if (m != 0.0f) {
        if ((b < 0.0f) != (m < 0.0f)) m += b;
    } else {
        m = rcml_copysignf(0.0f, b);
    }
    return m;
}

/* One element of a mod b for mod_run, without fmodf: where |a/b| < 2^29 and b is finite
 * (ok), q = trunc(a/b) is exact from the double quotient (a quotient of floats that is not
 * an integer lies at least 2^-25 of itself from one, far beyond the division's 2^-53),
 * q*b is exact (29 x 24 bits) and so is a - q*b, the remainder, which is a float. The rest
 * is modf1's sign rule. Elsewhere (0, inf, NaN, huge quotients) it is 0 and ok is 0. */
#define RCML_MOD_ELEM(A, B, OUT, OK)                                                               \
    {                                                                                              \
        const float x_ = (A), y_ = (B);                                                            \
        const double d_ = (double)x_ / (double)y_;                                                 \
        const int ok_ = (d_ < 536870912.0) & (d_ > -536870912.0) &                                 \
                        (rcml_absf(y_) != rcml_as_float(0x7f800000u));                             \
        const double q_ = (double)(int32_t)rcml_seld(ok_, d_, 0.0);                                \
        float m_ = (float)((double)x_ - q_ * (double)y_);                                          \
        m_ = rcml_self((m_ != 0.0f) & ((y_ < 0.0f) != (m_ < 0.0f)), m_ + y_, m_);                  \
        (OUT) = rcml_self(m_ == 0.0f, rcml_copysignf(0.0f, y_), m_);                               \
        (OK) = ok_;                                                                                \
    }

/* out[i] = a mod b elementwise (modf1's bits), a and b each a run of n floats or, with
 * stride 0, one number: the vectorised RCML_MOD_ELEM first, then modf1 (fmodf) for the
 * few elements it leaves. 16x256x256, 1 thread: 25.6 ms with fmodf per element. */
static void RCML_SFX(mod_run)(const float *a, int a_one, const float *b, int b_one, float *out,
                              size_t n) {
    size_t i, slow = 0;
    int ok;
    if (a_one) {
        const float as = a[0];
        RCML_LOOP for (i = 0; i < n; i++) {
            RCML_MOD_ELEM(as, b[i], out[i], ok)
            slow += !ok;
        }
    } else if (b_one) {
        const float bs = b[0];
        RCML_LOOP for (i = 0; i < n; i++) {
            RCML_MOD_ELEM(a[i], bs, out[i], ok)
            slow += !ok;
        }
    } else {
        RCML_LOOP for (i = 0; i < n; i++) {
            RCML_MOD_ELEM(a[i], b[i], out[i], ok)
            slow += !ok;
        }
    }
    if (slow) {
        RCML_LIBM_LOOP for (i = 0; i < n; i++) {
            const float x = a[a_one ? 0 : i], y = b[b_one ? 0 : i];
            float m;
            RCML_MOD_ELEM(x, y, m, ok)
            if (!ok) out[i] = RCML_SFX(modf1)(x, y);
            (void)m;
        }
    }
}

/* out[i] = a^b elementwise (rcml_powf's bits), a and b each a run of n floats or, with
 * stride 0, one number. In blocks: first t = b log2|a| for the block, then the finish
 * (two short loop bodies; see rcml_pow_t). A number base's log2 is taken once. */
#define RCML_POW_BLOCK 256
static void RCML_SFX(pow_run)(const float *a, int a_one, const float *b, int b_one, float *out,
                              size_t n) {
    double t[RCML_POW_BLOCK];
    size_t i0, i;
    if (n == 0) return;
    const float as = a[0], bs = b[0];
    const double la = a_one ? rcml_log2_abs_d(as) : 0.0;
    for (i0 = 0; i0 < n; i0 += RCML_POW_BLOCK) {
        const size_t w = RCML_MIN(n - i0, (size_t)RCML_POW_BLOCK);
        const float *ab = a + i0, *bb = b + i0;
        float *ob = out + i0;
        if (a_one) {
            RCML_LOOP for (i = 0; i < w; i++) t[i] = (double)bb[i] * la; /* = rcml_pow_t */
            RCML_LOOP for (i = 0; i < w; i++) ob[i] = rcml_pow_finish(as, bb[i], t[i]);
        } else if (b_one) {
            RCML_LOOP for (i = 0; i < w; i++) t[i] = rcml_pow_t(ab[i], bs);
            RCML_LOOP for (i = 0; i < w; i++) ob[i] = rcml_pow_finish(ab[i], bs, t[i]);
        } else {
            RCML_LOOP for (i = 0; i < w; i++) t[i] = rcml_pow_t(ab[i], bb[i]);
            RCML_LOOP for (i = 0; i < w; i++) ob[i] = rcml_pow_finish(ab[i], bb[i], t[i]);
        }
    }
}

static void RCML_SFX(binary)(int op, const float *a, const float *b, float *out, size_t n) {
    size_t i;
    switch (op) {
    case RCML_ADD: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] + b[i]; break;
    case RCML_SUB: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] - b[i]; break;
    case RCML_MUL: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] * b[i]; break;
    case RCML_DIV: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] / b[i]; break;
    case RCML_RSUB: RCML_LOOP for (i = 0; i < n; i++) out[i] = b[i] - a[i]; break;
    case RCML_RDIV: RCML_LOOP for (i = 0; i < n; i++) out[i] = b[i] / a[i]; break;
    case RCML_MAXIMUM: RCML_LOOP for (i = 0; i < n; i++) out[i] = RCML_SFX(maxf)(a[i], b[i]); break;
    case RCML_MINIMUM: RCML_LOOP for (i = 0; i < n; i++) out[i] = RCML_SFX(minf)(a[i], b[i]); break;
    case RCML_MOD: RCML_SFX(mod_run)(a, 0, b, 0, out, n); break;
    case RCML_RMOD: RCML_SFX(mod_run)(b, 0, a, 0, out, n); break;
    case RCML_POW: RCML_SFX(pow_run)(a, 0, b, 0, out, n); break;
    case RCML_RPOW: RCML_SFX(pow_run)(b, 0, a, 0, out, n); break;
    case RCML_LT: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] < b[i] ? 1.0f : 0.0f; break;
    case RCML_LE: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] <= b[i] ? 1.0f : 0.0f; break;
    case RCML_GT: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] > b[i] ? 1.0f : 0.0f; break;
    case RCML_GE: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] >= b[i] ? 1.0f : 0.0f; break;
    case RCML_EQ: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] == b[i] ? 1.0f : 0.0f; break;
    case RCML_NE: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] != b[i] ? 1.0f : 0.0f; break;
    default: break;
    }
}

static void RCML_SFX(binary_scalar)(int op, const float *a, float s, float *out, size_t n) {
    size_t i;
    switch (op) {
    case RCML_ADD: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] + s; break;
    case RCML_SUB: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] - s; break;
    case RCML_MUL: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] * s; break;
    case RCML_DIV: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] / s; break;
    case RCML_RSUB: RCML_LOOP for (i = 0; i < n; i++) out[i] = s - a[i]; break;
    case RCML_RDIV: RCML_LOOP for (i = 0; i < n; i++) out[i] = s / a[i]; break;
    case RCML_MAXIMUM: RCML_LOOP for (i = 0; i < n; i++) out[i] = RCML_SFX(maxf)(a[i], s); break;
    case RCML_MINIMUM: RCML_LOOP for (i = 0; i < n; i++) out[i] = RCML_SFX(minf)(a[i], s); break;
    case RCML_MOD: RCML_SFX(mod_run)(a, 0, &s, 1, out, n); break;
    case RCML_RMOD: RCML_SFX(mod_run)(&s, 1, a, 0, out, n); break;
    case RCML_POW: RCML_SFX(pow_run)(a, 0, &s, 1, out, n); break;
    case RCML_RPOW: RCML_SFX(pow_run)(&s, 1, a, 0, out, n); break;
    case RCML_LT: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] < s ? 1.0f : 0.0f; break;
    case RCML_LE: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] <= s ? 1.0f : 0.0f; break;
    case RCML_GT: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] > s ? 1.0f : 0.0f; break;
    case RCML_GE: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] >= s ? 1.0f : 0.0f; break;
    case RCML_EQ: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] == s ? 1.0f : 0.0f; break;
    case RCML_NE: RCML_LOOP for (i = 0; i < n; i++) out[i] = a[i] != s ? 1.0f : 0.0f; break;
    default: break;
    }
}

/* op(a, b, c) over n elements; element i of an operand with stride 0 is its element 0
 * (a broadcast column), with stride 1 element i. */
static void RCML_SFX(ternary)(int op, const float *a, size_t sa, const float *b, size_t sb,
                              const float *c, size_t sc, float *out, size_t n) {
    size_t i;
    if (sa && sb && sc) {
        if (op == RCML_WHERE) {
            RCML_LOOP for (i = 0; i < n; i++) out[i] = rcml_self(a[i] != 0.0f, b[i], c[i]);
        } else if (op == RCML_CLAMP) {
            /* the expression of RCML_CLIP, so number and tensor bounds agree bit for bit */
            RCML_LOOP for (i = 0; i < n; i++) {
                float v = a[i];
                v = v < b[i] ? b[i] : v;
                out[i] = v > c[i] ? c[i] : v;
            }
        }
        return;
    }
    if (op == RCML_WHERE) {
        for (i = 0; i < n; i++) out[i] = rcml_self(a[i * sa] != 0.0f, b[i * sb], c[i * sc]);
    } else if (op == RCML_CLAMP) {
        for (i = 0; i < n; i++) {
            float v = a[i * sa], lo = b[i * sb], hi = c[i * sc];
            v = v < lo ? lo : v;
            out[i] = v > hi ? hi : v;
        }
    }
}

static float RCML_SFX(powi1)(float x, long k) {
    /* x^k by squaring; k >= 0 */
    float r = 1.0f, base = x;
    while (k) {
        if (k & 1) r *= base;
        base *= base;
        k >>= 1;
    }
    return r;
}

static double RCML_SFX(powi1_d)(double x, long k) {
    /* x^k by squaring in double; k >= 0 */
    double r = 1.0, base = x;
    while (k) {
        if (k & 1) r *= base;
        base *= base;
        k >>= 1;
    }
    return r;
}

static void RCML_SFX(unary)(int op, const float *x, float p0, float p1, float *out, size_t n) {
    size_t i;
    switch (op) {
    case RCML_NEG: RCML_LOOP for (i = 0; i < n; i++) out[i] = -x[i]; break;
    case RCML_ABS:
        RCML_LOOP for (i = 0; i < n; i++) out[i] = rcml_as_float(rcml_as_u32(x[i]) & 0x7fffffffu);
        break;
    case RCML_SQRT: RCML_LOOP for (i = 0; i < n; i++) out[i] = sqrtf(x[i]); break;
    case RCML_EXP: RCML_LOOP for (i = 0; i < n; i++) out[i] = rcml_expf(x[i]); break;
    case RCML_LOG: RCML_LOOP for (i = 0; i < n; i++) out[i] = rcml_logf(x[i]); break;
    case RCML_TANH: RCML_LOOP for (i = 0; i < n; i++) out[i] = rcml_tanhf(x[i]); break;
    case RCML_SQUARE: RCML_LOOP for (i = 0; i < n; i++) out[i] = x[i] * x[i]; break;
    case RCML_CLIP:
        /* NaN compares false both ways, so it passes through unchanged */
        RCML_LOOP for (i = 0; i < n; i++) {
            float v = x[i];
            v = v < p0 ? p0 : v;
            out[i] = v > p1 ? p1 : v;
        }
        break;
    case RCML_POWI: {
        long k = (long)p0;
        if (k == 2) {
            RCML_LOOP for (i = 0; i < n; i++) out[i] = x[i] * x[i];
        } else if (k == 1) {
            if (out != x) memcpy(out, x, n * sizeof(float));
        } else if (k >= 0) {
            for (i = 0; i < n; i++) out[i] = RCML_SFX(powi1)(x[i], k);
        } else {
            /* 1 / x^-k in double: float32 x^-k overflows (or goes subnormal) where its
             * reciprocal is still representable, e.g. 1e20^-2 = 1e-40 */
            for (i = 0; i < n; i++) out[i] = (float)(1.0 / RCML_SFX(powi1_d)((double)x[i], -k));
        }
        break;
    }
    case RCML_POWF: RCML_SFX(pow_run)(x, 0, &p0, 1, out, n); break;
    case RCML_FLOOR: RCML_LOOP for (i = 0; i < n; i++) out[i] = floorf(x[i]); break;
    case RCML_CEIL: RCML_LOOP for (i = 0; i < n; i++) out[i] = ceilf(x[i]); break;
    case RCML_ROUND:
        /* |x| < 2^23: (|x| + 2^23) - 2^23 is |x| rounded half to even (the default
         * rounding mode; FP contraction and reassociation are off); larger |x|, inf and
         * NaN are already integral. The sign is put back, so -0.4 -> -0. */
        RCML_LOOP for (i = 0; i < n; i++) {
            float ax = rcml_absf(x[i]);
            float r = rcml_copysignf((ax + 8388608.0f) - 8388608.0f, x[i]);
            out[i] = rcml_self(ax < 8388608.0f, r, x[i]);
        }
        break;
    case RCML_SIGN:
        RCML_LOOP for (i = 0; i < n; i++) {
            float v = x[i];
            float r = rcml_self(v > 0.0f, 1.0f, 0.0f);
            r = rcml_self(v < 0.0f, -1.0f, r);
            out[i] = rcml_self(v != v, v, r);
        }
        break;
    case RCML_ISNAN: RCML_LOOP for (i = 0; i < n; i++) out[i] = x[i] != x[i] ? 1.0f : 0.0f; break;
    case RCML_ISINF:
        RCML_LOOP for (i = 0; i < n; i++) {
            out[i] = (rcml_as_u32(x[i]) & 0x7fffffffu) == 0x7f800000u ? 1.0f : 0.0f;
        }
        break;
    case RCML_ISFINITE:
        RCML_LOOP for (i = 0; i < n; i++) {
            out[i] = (rcml_as_u32(x[i]) & 0x7f800000u) != 0x7f800000u ? 1.0f : 0.0f;
        }
        break;
    default: break;
    }
}

/* Sum of one block of at most 4096 floats: 16 lanes in double, combined pairwise. */
static double RCML_SFX(block_sum)(const float *x, size_t n) {
    double acc[16] = {0};
    size_t i = 0, j;
    for (; i + 16 <= n; i += 16) {
        RCML_LOOP for (j = 0; j < 16; j++) acc[j] += (double)x[i + j];
    }
    double tail = 0.0;
    for (; i < n; i++) tail += (double)x[i];
    for (j = 8; j >= 1; j >>= 1) {
        size_t k;
        for (k = 0; k < j; k++) acc[k] += acc[k + j];
    }
    return acc[0] + tail;
}

static double RCML_SFX(sum)(const float *x, size_t n) {
    double total = 0.0;
    size_t b;
    for (b = 0; b < n; b += 4096)
        total += RCML_SFX(block_sum)(x + b, RCML_MIN((size_t)4096, n - b));
    return total;
}

static double RCML_SFX(block_sqdev)(const float *x, size_t n, double mean) {
    double acc[16] = {0};
    size_t i = 0, j;
    for (; i + 16 <= n; i += 16) {
        RCML_LOOP for (j = 0; j < 16; j++) {
            double d = (double)x[i + j] - mean;
            acc[j] += d * d;
        }
    }
    double tail = 0.0;
    for (; i < n; i++) {
        double d = (double)x[i] - mean;
        tail += d * d;
    }
    for (j = 8; j >= 1; j >>= 1) {
        size_t k;
        for (k = 0; k < j; k++) acc[k] += acc[k + j];
    }
    return acc[0] + tail;
}

static double RCML_SFX(sumsqdev)(const float *x, size_t n, double mean) {
    double total = 0.0;
    size_t b;
    for (b = 0; b < n; b += 4096)
        total += RCML_SFX(block_sqdev)(x + b, RCML_MIN((size_t)4096, n - b), mean);
    return total;
}

/* min/max: compilers will not vectorise a float max reduction without -ffast-math (NaN
 * order rules), so the x86 variants use intrinsics; a separate unordered-compare mask
 * gives NumPy's "any NaN -> NaN". The scalar loop is the reference for everything else. */
#if defined(RCML_BODY_AVX512)
#include <immintrin.h>
#define RCML_MINMAX_SIMD(NAME, OP, SCALAR_CMP)                                                     \
    static float RCML_SFX(NAME)(const float *x, size_t n) {                                        \
        __m512 acc = _mm512_set1_ps(x[0]);                                                         \
        __mmask16 nan = 0;                                                                         \
        size_t i = 0;                                                                              \
        for (; i + 16 <= n; i += 16) {                                                             \
            __m512 v = _mm512_loadu_ps(x + i);                                                     \
            nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);                                         \
            acc = OP(v, acc);                                                                      \
        }                                                                                          \
        float lanes[16], m = x[0];                                                                 \
        int anynan = nan != 0;                                                                     \
        _mm512_storeu_ps(lanes, acc);                                                              \
        for (size_t j = 0; j < 16; j++) m = lanes[j] SCALAR_CMP m ? lanes[j] : m;                  \
        for (; i < n; i++) {                                                                       \
            anynan |= x[i] != x[i];                                                                \
            m = x[i] SCALAR_CMP m ? x[i] : m;                                                      \
        }                                                                                          \
        return anynan ? rcml_as_float(0x7fc00000u) : m;                                            \
    }
RCML_MINMAX_SIMD(min, _mm512_min_ps, <)
RCML_MINMAX_SIMD(max, _mm512_max_ps, >)
#elif defined(RCML_BODY_AVX2) ||                                                                   \
    (defined(RCML_BODY_BASELINE) && defined(RCML_X86) && (defined(__SSE2__) || defined(_M_X64)))
#include <immintrin.h>
#if defined(RCML_BODY_AVX2)
#define RCML_V __m256
#define RCML_W 8
#define RCML_LOAD _mm256_loadu_ps
#define RCML_SET1 _mm256_set1_ps
#define RCML_STORE _mm256_storeu_ps
#define RCML_UNORD(v) _mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q))
#define RCML_VMIN _mm256_min_ps
#define RCML_VMAX _mm256_max_ps
#else
#define RCML_V __m128
#define RCML_W 4
#define RCML_LOAD _mm_loadu_ps
#define RCML_SET1 _mm_set1_ps
#define RCML_STORE _mm_storeu_ps
#define RCML_UNORD(v) _mm_movemask_ps(_mm_cmpunord_ps(v, v))
#define RCML_VMIN _mm_min_ps
#define RCML_VMAX _mm_max_ps
#endif
#define RCML_MINMAX_SIMD(NAME, OP, SCALAR_CMP)                                                     \
    static float RCML_SFX(NAME)(const float *x, size_t n) {                                        \
        RCML_V acc = RCML_SET1(x[0]);                                                              \
        int nan = 0;                                                                               \
        size_t i = 0;                                                                              \
        for (; i + RCML_W <= n; i += RCML_W) {                                                     \
            RCML_V v = RCML_LOAD(x + i);                                                           \
            nan |= RCML_UNORD(v);                                                                  \
            acc = OP(v, acc);                                                                      \
        }                                                                                          \
        float lanes[RCML_W], m = x[0];                                                             \
        RCML_STORE(lanes, acc);                                                                    \
        for (size_t j = 0; j < RCML_W; j++) m = lanes[j] SCALAR_CMP m ? lanes[j] : m;              \
        for (; i < n; i++) {                                                                       \
            nan |= x[i] != x[i];                                                                   \
            m = x[i] SCALAR_CMP m ? x[i] : m;                                                      \
        }                                                                                          \
        return nan ? rcml_as_float(0x7fc00000u) : m;                                               \
    }
RCML_MINMAX_SIMD(min, RCML_VMIN, <)
RCML_MINMAX_SIMD(max, RCML_VMAX, >)
#else
static float RCML_SFX(min)(const float *x, size_t n) {
    int nan = 0;
    float m = x[0];
    size_t i;
    RCML_LOOP for (i = 0; i < n; i++) {
        nan |= x[i] != x[i];
        m = x[i] < m ? x[i] : m;
    }
    return nan ? rcml_as_float(0x7fc00000u) : m;
}

static float RCML_SFX(max)(const float *x, size_t n) {
    int nan = 0;
    float m = x[0];
    size_t i;
    RCML_LOOP for (i = 0; i < n; i++) {
        nan |= x[i] != x[i];
        m = x[i] > m ? x[i] : m;
    }
    return nan ? rcml_as_float(0x7fc00000u) : m;
}
#endif

/* Column sums of a (len, inner) block, tw <= inner columns wide, added into acc in row
 * order: each column is a sequential double sum, so the bits do not depend on how the loop
 * over columns is vectorised (axis reductions, a layer's bias gradient).
 * A block narrower than its rows (reduce.c's column tiles of a wide axis) is walked tw floats
 * per row at a stride of inner, which the hardware prefetchers followed poorly: the block's
 * segment RCML_COLS_PF rows ahead is prefetched (rcml_cols_prefetch, here and in norm_body.h's
 * cols_sqdev). Measured on a Zen 3 EPYC (1 thread, sum over the rows, rcmlrs time without / with,
 * paired in one process, medians of 15 rounds, two runs): 3200 x 1024 (an LSTM's bias
 * gradient) 2.76x and 3.51x, 3200 x 768 2.01x and 2.65x, 800 x 4096 1.96x and 1.97x, 1024 x
 * 1024 1.03x and 1.16x, 256 x 1024 1.02x and 1.13x. Contiguous blocks were left alone: 65536 x 32
 * lost (0.91x, 0.97x) and 3200 x 256 was even (0.99x, 1.01x). With cols_sqdev's pass also
 * prefetching, the variance over the rows (one run, same method): 3200 x 1024 1.55x, 3200 x
 * 768 1.64x, 800 x 4096 1.13x. */
#define RCML_COLS_PF 4
/* row r (of len) of a column tile tw floats wide in rows inner floats apart, at p */
RCML_INLINE void rcml_cols_prefetch(const float *p, size_t r, size_t len, size_t inner, size_t tw) {
    if (inner > tw && r + RCML_COLS_PF < len) rcml_prefetch_run(p + RCML_COLS_PF * inner, tw, 1);
}
static void RCML_SFX(cols_acc)(const float *x, size_t len, size_t inner, size_t tw,
                               double *RCML_RESTRICT acc) {
    size_t r, i;
    for (r = 0; r < len; r++) {
        const float *p = x + r * inner;
        rcml_cols_prefetch(p, r, len, inner, tw);
        RCML_LOOP for (i = 0; i < tw; i++) acc[i] += (double)p[i];
    }
}

const rcml_ew_table_t RCML_SFX(rcml_ew) = {
    RCML_SFX(binary), RCML_SFX(binary_scalar), RCML_SFX(unary),
    RCML_SFX(sum),    RCML_SFX(sumsqdev),      RCML_SFX(min),
    RCML_SFX(max),    RCML_SFX(cols_acc),      RCML_SFX(ternary),
};
