/* random.c - counter-based random numbers.
 *
 * Element i of a draw is a pure function of (seed, offset + i): a SplitMix64 finaliser
 * over seed_key + counter * golden. No state is carried between elements, so any split
 * over threads and any platform give the same numbers. The normal draw uses Box-Muller
 * with log and cos written here in double arithmetic (no libm), so it is bit-identical
 * across C libraries too.
 *
 * Counters: uniform element i uses counter offset + i; normal element i uses the two
 * counters offset + 2i and offset + 2i + 1, so a normal draw of n numbers consumes 2n
 * counters and the caller's global stream advances by that much (rcmlrs/_tensor.pyx).
 */
#include "rcmlrs.h"
#include "internal.h"

#include <math.h>

static uint64_t rcml_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rcml_key(uint64_t seed) { return rcml_mix64(seed + 0x9e3779b97f4a7c15ULL); }

static uint64_t rcml_draw(uint64_t key, uint64_t counter) {
    return rcml_mix64(key + counter * 0x9e3779b97f4a7c15ULL);
}

void rcml_random_uniform_f32(uint64_t seed, uint64_t offset, float low, float high, float *out,
                             size_t n) {
    uint64_t key = rcml_key(seed);
    size_t i;
    /* in double, high - low cannot overflow (float32 high - low does past 3.4e38) */
    double lo = (double)low, span = (double)high - (double)low;
    float top = nextafterf(high, low); /* the largest float32 below high */
    for (i = 0; i < n; i++) {
        double u = (double)(rcml_draw(key, offset + i) >> 40) * (1.0 / 16777216.0);
        float v = (float)(lo + span * u);
        out[i] = v < high || span == 0.0 ? v : top; /* rounding may hit high: keep [low, high) */
    }
}

/* ln(x) for x in (0, 1]: x = m 2^e, m in [sqrt(1/2), sqrt(2)), atanh series in s. */
static double rcml_log_d(double x) {
    int e = 0;
    while (x < 0.70710678118654752) {
        x *= 2.0;
        e--;
    }
    double s = (x - 1.0) / (x + 1.0), s2 = s * s, term = s, sum = 0.0;
    int k;
    for (k = 1; k <= 27; k += 2) {
        sum += term / (double)k;
        term *= s2;
    }
    return 2.0 * sum + (double)e * 0.69314718055994531;
}

/* cos(2 pi u) for u in [0, 1): quadrant reduction, Taylor series on [0, pi/2). */
static double rcml_cos2pi_d(double u) {
    double t = u * 4.0;
    int q = (int)t;
    double a = (t - (double)q) * 1.5707963267948966;
    double a2 = a * a, c = 1.0, s = a, tc = 1.0, ts = a;
    int k;
    for (k = 1; k <= 10; k++) {
        tc *= -a2 / (double)((2 * k - 1) * (2 * k));
        ts *= -a2 / (double)((2 * k) * (2 * k + 1));
        c += tc;
        s += ts;
    }
    switch (q & 3) {
    case 0: return c;
    case 1: return -s;
    case 2: return -c;
    default: return s;
    }
}

void rcml_random_normal_f32(uint64_t seed, uint64_t offset, float mean, float std, float *out,
                            size_t n) {
    uint64_t key = rcml_key(seed);
    size_t i;
    for (i = 0; i < n; i++) {
        uint64_t c = offset + 2 * (uint64_t)i;
        /* u1 in (0, 1] so the log is finite; u2 in [0, 1) */
        double u1 = ((double)(rcml_draw(key, c) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
        double u2 = (double)(rcml_draw(key, c + 1) >> 11) * (1.0 / 9007199254740992.0);
        double r = -2.0 * rcml_log_d(u1);
        /* sqrt is correctly rounded in IEEE arithmetic, so it is portable */
        double z = (r > 0.0 ? sqrt(r) : 0.0) * rcml_cos2pi_d(u2);
        out[i] = (float)((double)mean + (double)std * z);
    }
}
