/*
 * rcmlrs.h - the one public C header of rcmlrs.
 *
 * Buffer layout (the contract shared with Python and with third-party kernels):
 *   A RamTensor of shape (L, R, C) is ONE C-contiguous buffer of L*R*C float32 values.
 *   Element (l, r, c) lives at data[(l*R + r)*C + c]; layer l is the contiguous R x C
 *   row-major matrix at data + l*R*C. Buffers a tensor owns are 64-byte aligned;
 *   buffers borrowed from NumPy are at least 4-byte aligned, so kernels must not assume
 *   more than float alignment.
 *
 * Conventions: inputs (const float *) first, lengths as size_t, output last. The caller
 * owns all memory. Kernels never allocate Python objects, never print, never raise.
 * Unless stated, an output may alias an input of the same length (in-place use).
 *
 * Every kernel here is deterministic: the same inputs give the same bits for any
 * thread count. Results can differ between backends (ISAs) only where stated.
 */
#ifndef RCMLRS_H
#define RCMLRS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RCMLRS_ABI_VERSION 1

/* Every entry point is declared as RCML_FN(return type, name)(parameters): a function here,
 * or, in a module built with RCMLRS_USE_CAPI (see rcmlrs_capi.h), a pointer of that name
 * filled from rcmlrs's C API capsule, so other extensions call the very same kernels. */
#ifdef RCMLRS_USE_CAPI
#define RCML_FN(ret, name) static ret(*name)
#else
#define RCML_FN(ret, name) ret name
#endif

typedef enum { RCML_OK = 0, RCML_EINVAL = 1, RCML_ENOMEM = 2 } rcml_status_t;

/* ---------------------------------------------------------------- dispatch */
/* Instruction-set backends. SERIAL is the plain-loop reference (no vectorisation);
 * BASELINE is the same source compiled for the platform's default ISA (SSE2 on x86-64);
 * NEON is the baseline on arm64. */
typedef enum {
    RCML_ISA_SERIAL = 0,
    RCML_ISA_BASELINE = 1,
    RCML_ISA_AVX2 = 2,   /* AVX2 + FMA */
    RCML_ISA_AVX512 = 3, /* AVX-512 F/VL/DQ/BW */
    RCML_ISA_NEON = 4,
    RCML_ISA_COUNT = 5
} rcml_isa_t;

RCML_FN(void, rcml_init)(void);                /* detect CPU features once; idempotent */
RCML_FN(int, rcml_isa_available)(int isa);     /* 1 if compiled in and supported by CPU + OS */
RCML_FN(int, rcml_get_isa)(void);              /* the active backend */
RCML_FN(int, rcml_set_isa)(int isa);           /* 0 on success, -1 if unavailable */
RCML_FN(int, rcml_best_isa)(void);             /* what detection chose */
RCML_FN(const char *, rcml_isa_name)(int isa); /* "serial", "baseline", "avx2", "avx512", "neon" */
RCML_FN(const char *, rcml_compiler)(void);    /* compiler name and version */

/* ----------------------------------------------------------------- threads */
/* fn(ctx, begin, end) is called for consecutive chunks [begin, end) of [0, n) whose
 * boundaries are multiples of `grain` (so they never depend on the thread count).
 * Chunks may run concurrently on the pool; the call returns when all are done.
 * Runs inline when n <= grain, when one thread is configured, or when the pool is
 * already busy (nested or concurrent calls). */
typedef void (*rcml_chunk_fn)(void *ctx, size_t begin, size_t end);
RCML_FN(void, rcml_parallel_for)(size_t n, size_t grain, rcml_chunk_fn fn, void *ctx);
RCML_FN(void, rcml_set_num_threads)(int n); /* n >= 1 */
RCML_FN(int, rcml_get_num_threads)(void);

/* ------------------------------------------------------------- elementwise */
typedef enum {
    RCML_ADD = 0,  /* a + b */
    RCML_SUB = 1,  /* a - b */
    RCML_MUL = 2,  /* a * b */
    RCML_DIV = 3,  /* a / b */
    RCML_RSUB = 4, /* b - a */
    RCML_RDIV = 5, /* b / a */
    /* IEEE 754-2019 maximum/minimum: a NaN on either side gives NaN (np.maximum), and
     * +0 > -0, so both are symmetric: maximum(-0, +0) = +0, minimum(-0, +0) = -0 */
    RCML_MAXIMUM = 6,
    RCML_MINIMUM = 7,
    /* floor modulo as Python's % and np.mod: a - floor(a / b) * b computed exactly from
     * fmod, with the sign of b (a zero result is +-0 with b's sign); b = 0, a = +-inf or
     * NaN give NaN; a finite, b = +-inf gives a if the signs agree, else b (+-inf) */
    RCML_MOD = 8,
    RCML_RMOD = 9,  /* b mod a */
    RCML_POW = 10,  /* a^b (0.5005 ulp; C99 Annex F: pow(x, 0) = pow(1, y) = 1, even NaN) */
    RCML_RPOW = 11, /* b^a */
    /* comparisons: 1.0f where true, else 0.0f; a NaN on either side compares false, so
     * NE is 1 there; -0 == +0 */
    RCML_LT = 12, /* a < b */
    RCML_LE = 13, /* a <= b */
    RCML_GT = 14, /* a > b */
    RCML_GE = 15, /* a >= b */
    RCML_EQ = 16, /* a == b */
    RCML_NE = 17, /* a != b */
    RCML_BINOP_COUNT = 18
} rcml_binop_t;

/* out[i] = a[i] op b[i]; n floats; out may equal a or b. */
RCML_FN(void, rcml_binary_f32)(int op, const float *a, const float *b, float *out, size_t n);
/* out[i] = a[i] op s; n floats; out may equal a. RSUB gives s - a[i], RDIV s / a[i] (and
 * the other R* ops likewise). */
RCML_FN(void, rcml_binary_scalar_f32)(int op, const float *a, float s, float *out, size_t n);
/* Broadcasting form over 3 axes: out has shape[0..2] (contiguous); a and b are read at
 * offsets l*as[0] + r*as[1] + c*as[2] (strides in floats, 0 on a broadcast axis).
 * out must not overlap a or b unless it equals that operand with identical strides. */
RCML_FN(void, rcml_binary_bcast_f32)(int op, const float *a, const ptrdiff_t as[3], const float *b,
                                     const ptrdiff_t bs[3], float *out, const size_t shape[3]);

typedef enum {
    RCML_NEG = 0,    /* -x */
    RCML_ABS = 1,    /* |x| */
    RCML_SQRT = 2,   /* sqrt(x), NaN for x < 0 */
    RCML_EXP = 3,    /* e^x, ~1 ulp, 0 below -104, inf above 88.72 */
    RCML_LOG = 4,    /* ln x, ~1 ulp, -inf at 0, NaN below 0 */
    RCML_POWI = 5,   /* x^n with n = (int)p0, by repeated squaring (n < 0: 1 / x^-n) */
    RCML_POWF = 6,   /* x^p0, the bits of RCML_POW with b = p0 */
    RCML_CLIP = 7,   /* min(max(x, p0), p1); NaN stays NaN */
    RCML_TANH = 8,   /* tanh x, a few ulp, saturates to +-1 */
    RCML_SQUARE = 9, /* x * x */
    /* exact; NaN and +-inf pass through, -0 stays -0 */
    RCML_FLOOR = 10,
    RCML_CEIL = 11,
    RCML_ROUND = 12, /* to the nearest integer, halves to even (np.round, rint) */
    RCML_SIGN = 13,  /* -1, 0 or 1 (+0 for +-0, as np.sign); NaN stays NaN */
    /* 1.0f where true, else 0.0f */
    RCML_ISNAN = 14,
    RCML_ISINF = 15,    /* x = +-inf */
    RCML_ISFINITE = 16, /* neither NaN nor +-inf */
    RCML_UNOP_COUNT = 17
} rcml_unop_t;

/* out[i] = f(x[i]; p0, p1); n floats; out may equal x. */
RCML_FN(void, rcml_unary_f32)(int op, const float *x, float p0, float p1, float *out, size_t n);

typedef enum {
    RCML_WHERE = 0, /* a != 0 ? b : c (NaN is nonzero: it selects b) */
    RCML_CLAMP = 1, /* RCML_CLIP with the bounds b (low) and c (high): a < b ? b : a, then
                       > c ? c : that; NaN in a stays NaN, a NaN bound is no bound, b > c
                       gives c */
    RCML_TERNOP_COUNT = 2
} rcml_ternop_t;

/* out = op(a, b, c) with broadcasting over 3 axes, as rcml_binary_bcast_f32: out has
 * shape[0..2] (contiguous), each operand is read at l*s[0] + r*s[1] + c*s[2] (strides in
 * floats, 0 on a broadcast axis). out must not overlap an operand unless it equals it
 * with the contiguous strides of out. */
RCML_FN(void, rcml_ternary_bcast_f32)(int op, const float *a, const ptrdiff_t as[3], const float *b,
                                      const ptrdiff_t bs[3], const float *c, const ptrdiff_t cs[3],
                                      float *out, const size_t shape[3]);

/* -------------------------------------------------------------- reductions */
/* All sums accumulate in double over fixed 4096-element blocks combined in order, so
 * they are accurate (sum of 1e6 x 0.1f = 100000.0015) and independent of threads. */
RCML_FN(double, rcml_sum_f32)(const float *x, size_t n);
/* sum((x - mean)^2), the second pass of a two-pass variance. */
RCML_FN(double, rcml_sumsqdev_f32)(const float *x, size_t n, double mean);
/* min / max; NaN if any element is NaN (NumPy semantics); n >= 1. */
RCML_FN(float, rcml_min_f32)(const float *x, size_t n);
RCML_FN(float, rcml_max_f32)(const float *x, size_t n);
/* index of the first maximum (first NaN if any); n >= 1. */
RCML_FN(size_t, rcml_argmax_f32)(const float *x, size_t n);
/* median of n >= 1 values (mean of the two middle ones for even n); NaN if any is NaN.
 * Reorders `scratch` (a copy of the data, n floats). */
RCML_FN(float, rcml_median_f32)(float *scratch, size_t n);

typedef enum {
    RCML_RED_SUM = 0,
    RCML_RED_MEAN = 1,
    RCML_RED_MIN = 2,
    RCML_RED_MAX = 3,
    RCML_RED_VAR = 4, /* sum((x-mean)^2) / (len - ddof) */
    RCML_RED_STD = 5,
    RCML_RED_PROD = 6, /* product in double, in order */
    RCML_RED_ANY = 7,  /* 1 if any element is nonzero (NaN counts as nonzero), else 0 */
    RCML_RED_ALL = 8,  /* 1 if every element is nonzero, else 0 */
    /* log(sum(e^x)) = m + log(sum(e^(x - m))), m = max, the sum and log in double (the
     * terms: float rcml_expf of x - m along contiguous rows, inner == 1; double exp
     * otherwise): stable for any finite input; m = +-inf gives m (a row of -inf gives
     * -inf), a NaN gives NaN */
    RCML_RED_LOGSUMEXP = 9
} rcml_reduce_t;

/* Reduce the middle axis of x viewed as (outer, len, inner), len >= 1:
 * out[o*inner + i] = red_{j<len} x[(o*len + j)*inner + i]. */
RCML_FN(void, rcml_reduce_axis_f32)(int op, const float *x, size_t outer, size_t len, size_t inner,
                                    double ddof, float *out);
/* Same view; out gets the index j of the first maximum (first NaN). */
RCML_FN(void, rcml_argmax_axis_f32)(const float *x, size_t outer, size_t len, size_t inner,
                                    int64_t *out);
/* index of the first minimum (first NaN if any); n >= 1. */
RCML_FN(size_t, rcml_argmin_f32)(const float *x, size_t n);
/* As rcml_argmax_axis_f32 for the first minimum (first NaN). */
RCML_FN(void, rcml_argmin_axis_f32)(const float *x, size_t outer, size_t len, size_t inner,
                                    int64_t *out);
/* Running sums along the middle axis of the same view, out the shape of x (each column a
 * sequential sum in double, rounded once per output): out[o, j, i] = sum_{k<=j} x[o, k, i],
 * or sum_{k>=j} with reverse != 0. No aliasing. */
RCML_FN(void, rcml_cumsum_axis_f32)(const float *x, size_t outer, size_t len, size_t inner,
                                    int reverse, float *out);

/* Sum (op RCML_RED_SUM) or mean (RCML_RED_MEAN) over axes 0 and 2 of x (L, R, C):
 * out[r] = red_{l<L, c<C} x[(l*R + r)*C + c], r < R, in double, rounded once. L or C 0:
 * 0 (sum) or NaN (mean). Returns 0, or -1 (out untouched) for any other op. */
RCML_FN(int, rcml_sum02_f32)(int op, const float *x, size_t L, size_t R, size_t C, float *out);

/* ------------------------------------------------------------------- shape */
/* out (L, C, R) = x (L, R, C) with rows and cols swapped in every layer; no aliasing. */
RCML_FN(void, rcml_transpose_f32)(const float *x, size_t layers, size_t rows, size_t cols,
                                  float *out);
/* Copy x (L, R, C) into out (L2, R2, C2), cropping or filling with `fill`; no aliasing. */
RCML_FN(void, rcml_pad_f32)(const float *x, size_t L, size_t R, size_t C, float fill, float *out,
                            size_t L2, size_t R2, size_t C2);
/* out[i] = v for n floats. */
RCML_FN(void, rcml_fill_f32)(float v, float *out, size_t n);
/* Outer (per-axis) gather: out[(a*n1 + b)*n2 + c] = x[o0[a] + o1[b] + o2[c]] for a < n0,
 * b < n1, c < n2. Offsets are in floats (an index times its axis's stride), non-negative
 * and inside x (the caller checks); out holds n0*n1*n2 floats and must not overlap x. */
RCML_FN(void, rcml_gather3_f32)(const float *x, const int64_t *o0, size_t n0, const int64_t *o1,
                                size_t n1, const int64_t *o2, size_t n2, float *out);
/* How a scatter may be split over threads (the caller knows which holds):
 * SERIAL: destinations may repeat, so they are visited in (a, b, c) order on one thread;
 * ROWS: each (a, b) row writes its own destinations (repeats only within a row);
 * DISTINCT: no destination repeats. */
typedef enum {
    RCML_SCATTER_SERIAL = 0,
    RCML_SCATTER_ROWS = 1,
    RCML_SCATTER_DISTINCT = 2
} rcml_scatter_mode_t;
/* Outer scatter, the transpose of rcml_gather3_f32: out[o0[a] + o1[b] + o2[c]] = (or +=, when
 * accumulate) v[a*vs[0] + b*vs[1] + c*vs[2]] (strides in floats, 0 on a broadcast axis).
 * A repeated destination keeps the last value (or the sum in (a, b, c) order) at any
 * thread count. v must not overlap out. */
RCML_FN(void, rcml_scatter3_f32)(const float *v, const ptrdiff_t vs[3], const int64_t *o0,
                                 size_t n0, const int64_t *o1, size_t n1, const int64_t *o2,
                                 size_t n2, int accumulate, int mode, float *out);

/* ------------------------------------------------------------------ random */
/* Counter-based generator: element i depends only on (seed, offset + i), so a seed gives
 * the same numbers on every platform, backend and thread count. */
RCML_FN(void, rcml_random_uniform_f32)(
    uint64_t seed, uint64_t offset, float low, float high, float *out,
    size_t n); /* low + (high - low) * u, u in [0, 1) on a 2^-24 grid */
RCML_FN(void, rcml_random_normal_f32)(uint64_t seed, uint64_t offset, float mean, float std,
                                      float *out,
                                      size_t n); /* Box-Muller in double with portable log/cos */

/* ------------------------------------------------------------------ memory */
/* 64-byte aligned allocation for tensor buffers; NULL on failure or nbytes == 0 is
 * rounded up to one cache line. Free with rcml_free_aligned (only: each buffer carries a
 * header). Freed buffers of 4 MiB and more are kept for reuse, at most 8 and 128 MiB in
 * all, so the big activations of a training step are not faulted in again each step. */
RCML_FN(void *, rcml_alloc_aligned)(size_t nbytes);
RCML_FN(void, rcml_free_aligned)(void *p);

/* ------------------------------------------------------------ matrix product */
/* C = alpha * op(A) @ op(B) + beta * C for one layer, all row-major and contiguous:
 * op(A) is m x k (A stored k x m when trans_a), op(B) is k x n (B stored n x k when
 * trans_b), C is m x n. beta == 0 ignores C's old contents (NaN in C does not leak).
 * C must not overlap A or B. NaN/inf in A or B reach only the outputs they touch.
 * Packed GEMM (csrc/matmul.c): for one backend the bits do not depend on the thread
 * count; backends differ within float32 rounding (FMA vs multiply-add, summation order),
 * and the serial backend is the plain reference loop. k == 0 gives C = beta*C. */
RCML_FN(void, rcml_gemm_f32)(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                             const float *A, const float *B, float beta, float *C);
/* The same over `layers` layers: layer l uses A + l*stride_a, B + l*stride_b and
 * C + l*m*n (a stride of 0 broadcasts one layer, e.g. a shared weight, which is then
 * packed once). Deterministic for any thread count. */
RCML_FN(void, rcml_gemm_batched_f32)(size_t layers, int trans_a, int trans_b, size_t m, size_t n,
                                     size_t k, float alpha, const float *A, size_t stride_a,
                                     const float *B, size_t stride_b, float beta, float *C);

/* ------------------------------------------------ activations (issue 4) */
/* Activations by id. `param` is the negative slope of LEAKY_RELU and ignored otherwise.
 * Every function is branch-free per element (vectorised by each backend) and all
 * backends give identical bits. NaN in -> NaN out; +-inf and +-1e4 saturate cleanly. */
typedef enum {
    RCML_ACT_LINEAR = 0,     /* x */
    RCML_ACT_RELU = 1,       /* max(x, 0); relu(-0.0) = +0.0 */
    RCML_ACT_LEAKY_RELU = 2, /* x > 0 ? x : param * x */
    RCML_ACT_SIGMOID = 3,    /* 1 / (1 + e^-x), full relative accuracy in both tails */
    RCML_ACT_TANH = 4,       /* tanh x */
    RCML_ACT_SWISH = 5,      /* x * sigmoid(x) (SiLU) */
    RCML_ACT_GELU = 6,       /* tanh form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
                                computed as x * sigmoid(2u) (the same function, no cancellation) */
    RCML_ACT_GELU_ERF = 7,   /* exact form x * Phi(x) = 0.5 x erfc(-x / sqrt 2) */
    RCML_ACT_ERF = 8,        /* erf x (not an activation; the same machinery) */
    RCML_ACT_COUNT = 9,      /* ids below are elementwise */
    RCML_ACT_SOFTMAX = 16    /* softmax over each row: layer forms only (rcml_bias_act_f32) */
} rcml_act_t;

/* out[i] = f(x[i]); n floats; out may equal x. */
RCML_FN(void, rcml_act_f32)(int act, const float *x, float param, float *out, size_t n);
/* out[i] = f'(x[i]), the derivative at the pre-activation x; n floats; out may equal x. */
RCML_FN(void, rcml_act_deriv_f32)(int act, const float *x, float param, float *out, size_t n);
/* out[i] = grad[i] * f'(x[i]) in one pass (relu/leaky_relu select grad instead of
 * multiplying, so an inf gradient where f' = 0 gives 0); out may equal x or grad. */
RCML_FN(void, rcml_act_backward_f32)(int act, const float *x, const float *grad, float param,
                                     float *out, size_t n);
/* The same from the saved forward output y = f(x) instead of x: one memory-bound pass
 * (relu, leaky_relu with param > 0, sigmoid y(1-y), tanh 1-y^2, linear; what a network
 * layer uses). Returns 0, or -1 (nothing written) for an activation whose derivative is
 * not a function of y. out may equal y or grad. */
RCML_FN(int, rcml_act_has_output_backward)(int act);
RCML_FN(int, rcml_act_backward_from_output_f32)(int act, const float *y, const float *grad,
                                                float param, float *out, size_t n);

/* Layer forms, over m rows of n (a Dense layer's z = x @ W): z += bias per row (bias, n
 * floats, may be NULL), then y = f(z) with act any elementwise id or RCML_ACT_SOFTMAX (the
 * row softmax below). The same kernels as rcml_act_f32 / rcml_softmax_f32 and the single
 * rounding of a broadcast add, so a layer equals (x @ W + b).<f>() bit for bit. y may
 * equal z. */
RCML_FN(void, rcml_bias_act_f32)(int act, float param, size_t m, size_t n, const float *bias,
                                 float *z, float *y);
/* dz = grad * f'(z) over m rows of n. With y = f(z) given (may be NULL) and f' a function
 * of y (linear, relu, sigmoid, tanh, leaky_relu with param > 0) it is
 * rcml_act_backward_from_output_f32 on y, else rcml_act_backward_f32 on z; softmax:
 * J(z)^T grad per row (dz must not equal grad then). dz may equal grad otherwise. */
RCML_FN(void, rcml_act_layer_backward_f32)(int act, float param, size_t m, size_t n, const float *z,
                                           const float *y, const float *grad, float *dz);

/* Softmax family along the middle axis of x viewed as (outer, len, inner), len >= 1
 * (inner = 1: rows of length len). Each slice is max-shifted (stable for any finite
 * input; a NaN makes its slice NaN), exponentials are summed in a fixed order, so the
 * result is the same for every backend and thread count. */
/* out = e^(x - max) / sum e^(x - max); out may equal x. */
RCML_FN(void, rcml_softmax_axis_f32)(const float *x, size_t outer, size_t len, size_t inner,
                                     float *out);
/* out = (x - max) - log(sum e^(x - max)); out may equal x. */
RCML_FN(void, rcml_log_softmax_axis_f32)(const float *x, size_t outer, size_t len, size_t inner,
                                         float *out);
/* out = J(x)^T grad per slice = y * (grad - sum(grad * y)), y = softmax(x) recomputed;
 * out may equal x but not grad. */
RCML_FN(void, rcml_softmax_backward_axis_f32)(const float *x, const float *grad, size_t outer,
                                              size_t len, size_t inner, float *out);
/* out = grad - softmax(x) * sum(grad) per slice (the backward of log_softmax at its input
 * x), softmax recomputed, one fused pass per slice; out may equal x but not grad. */
RCML_FN(void, rcml_log_softmax_backward_axis_f32)(const float *x, const float *grad, size_t outer,
                                                  size_t len, size_t inner, float *out);
/* The row forms used by network layers: x is rows x cols, softmax over each row. */
RCML_FN(void, rcml_softmax_f32)(const float *x, size_t rows, size_t cols, float *out);
RCML_FN(void, rcml_log_softmax_f32)(const float *x, size_t rows, size_t cols, float *out);
RCML_FN(void, rcml_softmax_backward_f32)(const float *x, const float *grad, size_t rows,
                                         size_t cols, float *out);
/* out (rows, cols, cols): J[r][i][j] = y_i (delta_ij - y_j), y = softmax(row r of x);
 * no aliasing. */
RCML_FN(void, rcml_softmax_jacobian_f32)(const float *x, size_t rows, size_t cols, float *out);

/* ---------------------------------------------- normalization (issue 4) */
/* x viewed as (outer, len, inner); sub and div hold outer*inner values (one per slice):
 * out = div == 0 ? 0 : (x - sub) / div, so a constant slice (div = range or std = 0)
 * gives zeros, not NaN. out may equal x. */
RCML_FN(void, rcml_norm_apply_f32)(const float *x, size_t outer, size_t len, size_t inner,
                                   const float *sub, const float *div, float *out);
/* ------------------------------------------------- losses (issue 4, training) */
/* Every loss returns the MEAN as a double (NaN when there is nothing to average) and,
 * when grad != NULL, writes d(loss)/d(predicted) into grad in the same pass. Sums run in
 * double over fixed chunks combined in order, so the value does not depend on the thread
 * count or the backend. grad must not overlap the inputs. */

/* mean((p - a)^2) over n floats; grad = (2/n) * (p - a). */
RCML_FN(double, rcml_mse_f32)(const float *actual, const float *pred, size_t n, float *grad);
/* mean(|p - a|); grad = sign(p - a) / n (0 where p == a, NaN where p - a is NaN). */
RCML_FN(double, rcml_mae_f32)(const float *actual, const float *pred, size_t n, float *grad);
/* mean((a - 1) * max(log1p(-p), -100) - a * max(log p, -100)), the clamped form of
 * torch.nn.functional.binary_cross_entropy; grad = (p - a) / max((1 - p) p, 1e-12) / n,
 * finite for p = 0 or 1. p outside [0, 1] gives NaN. */
RCML_FN(double, rcml_binary_cross_entropy_f32)(const float *actual, const float *pred, size_t n,
                                               float *grad);
/* mean(max(z, 0) - z a + log1p(e^-|z|)), binary cross-entropy from logits z (stable for
 * any finite z; torch's binary_cross_entropy_with_logits); grad = (sigmoid(z) - a) / n. */
RCML_FN(double, rcml_binary_cross_entropy_logits_f32)(const float *actual, const float *logits,
                                                      size_t n, float *grad);
/* Softmax cross-entropy from logits (rows x cols, row-major), mean over rows:
 * loss_r = sum_c t_rc (lse_r - z_rc), lse_r = max_r + log sum_c e^(z_rc - max_r) (stable for
 * any finite logits). target is one-hot or any distribution per row (classes with t = 0
 * contribute nothing, even where z = -inf); grad = (softmax(z) * sum_c t - t) / rows. */
RCML_FN(double, rcml_cross_entropy_f32)(const float *logits, const float *target, size_t rows,
                                        size_t cols, float *grad);
/* The same with one class index per row, labels[r] in [0, cols) (checked by the caller);
 * identical bits to the one-hot form. */
RCML_FN(double, rcml_cross_entropy_labels_f32)(const float *logits, const int64_t *labels,
                                               size_t rows, size_t cols, float *grad);

/* The losses with options (issue 14). kind: which elementwise loss; reduction: MEAN, SUM
 * or NONE. The functions above are these with no weights, MEAN and no out (same bits). */
typedef enum {
    RCML_LOSS_MSE = 0,       /* (p - a)^2 */
    RCML_LOSS_MAE = 1,       /* |p - a| */
    RCML_LOSS_BCE = 2,       /* the clamped binary cross-entropy of probabilities p */
    RCML_LOSS_BCE_LOGITS = 3 /* binary cross-entropy of sigmoid(z) from the logits z */
} rcml_loss_t;
typedef enum {
    RCML_REDUCE_MEAN = 0, /* the (weighted) mean; NaN when there is nothing to average */
    RCML_REDUCE_SUM = 1,  /* the (weighted) sum; 0 for no elements */
    RCML_REDUCE_NONE = 2  /* out gets every term; returns their sum */
} rcml_reduction_t;

/* Elementwise loss `kind` with optional per-element weights (weight: n floats or NULL):
 * l_i = w_i f(a_i, p_i); returns sum_i l_i / n (MEAN: divided by the COUNT, as torch's
 * weighted binary_cross_entropy and Keras's sample_weight do), sum_i l_i (SUM, NONE).
 * grad (n floats or NULL) = d(returned value)/dp, for NONE d(sum_i l_i)/dp_i = w_i f'.
 * out (n floats) gets every l_i; NULL unless reduction is NONE. Bits of the unweighted
 * MEAN are those of rcml_mse_f32 etc.; a weight of 1 changes no bit. No overlaps. */
RCML_FN(double, rcml_elem_loss_f32)(int kind, const float *actual, const float *pred,
                                    const float *weight, size_t n, int reduction, float *grad,
                                    float *out);
/* Softmax cross-entropy of rcml_cross_entropy_f32 (target != NULL) or
 * rcml_cross_entropy_labels_f32 (labels != NULL) with options: label smoothing eps in
 * [0, 1] (torch's: the target becomes (1 - eps) t + eps / cols), per-row weights (rows
 * floats or NULL), l_r = w_r * row loss. MEAN returns sum_r l_r / sum_r w_r (torch's
 * weighted mean; / rows without weights), SUM and NONE sum_r l_r; grad = d(returned
 * value)/d(logits) (NONE: of the sum); out (rows floats, NONE) gets every l_r. */
RCML_FN(double, rcml_cross_entropy_ex_f32)(const float *logits, const float *target,
                                           const int64_t *labels, const float *weight, size_t rows,
                                           size_t cols, float label_smoothing, int reduction,
                                           float *grad, float *out);
/* Negative log-likelihood (torch.nn.functional.nll_loss) of log-probabilities lp (rows x
 * cols) at labels[r] in [0, cols) (checked by the caller): l_r = -cw[y_r] lp[r, y_r] with
 * per-CLASS weights cw (cols floats, or NULL for 1). MEAN returns sum_r l_r / sum_r
 * cw[y_r] (/ rows without weights), SUM and NONE sum_r l_r; grad (rows x cols) =
 * d(returned value)/d(lp), -scale cw[y_r] at the label and 0 elsewhere; out as above. */
RCML_FN(double, rcml_nll_loss_f32)(const float *log_probs, const int64_t *labels,
                                   const float *class_weight, size_t rows, size_t cols,
                                   int reduction, float *grad, float *out);

/* ----------------------------------------------------- optimizers (issue 4) */
/* One Adam / AdamW / AMSGrad step on n parameters, in place, one pass, with the arithmetic
 * of torch.optim.Adam's single-tensor path (every scalar rounded to float32 first):
 *   p *= 1 - lr*wd                   (decoupled != 0, AdamW)
 *   g  = grad + wd*p                 (decoupled == 0 and wd != 0, L2)
 *   m  = lerp(m, g, 1 - beta1);  v = v*beta2 + ((1 - beta2)*g)*g
 *   vmax = max(vmax, v)              (vmax != NULL, AMSGrad; NaN propagates)
 *   p += (-lr/(1 - beta1^step) * m) / (sqrt(v or vmax) * (1/sqrt(1 - beta2^step)) + eps)
 * (torch divides by sqrt(1 - beta2^step); the reciprocal is <= 1 ulp from that and saves a
 * division). step >= 1 is the step number after incrementing (bias correction). grad is
 * read only; param, m, v (and vmax) are updated; none of them may overlap another. */
RCML_FN(void, rcml_adam_f32)(const float *grad, float *param, float *m, float *v, float *vmax,
                             size_t n, int64_t step, double lr, double beta1, double beta2,
                             double eps, double weight_decay, int decoupled);
/* One SGD step as torch.optim.SGD: g = grad + wd*p (wd != 0); with momentum != 0,
 * buf = first ? g : buf*momentum + (1 - dampening)*g and g = nesterov ? g + momentum*buf
 * : buf; then p += -lr*g. buf may be NULL when momentum == 0. No overlaps. */
RCML_FN(void, rcml_sgd_f32)(const float *grad, float *param, float *buf, size_t n, double lr,
                            double momentum, double dampening, double weight_decay, int nesterov,
                            int first);
/* One RMSprop step as torch.optim.RMSprop (every scalar rounded to float32 first):
 *   g = grad + wd*p (wd != 0);  sq = sq*alpha + ((1 - alpha)*g)*g
 *   centered (grad_avg != NULL): grad_avg = lerp(grad_avg, g, 1 - alpha),
 *                                avg = sqrt(sq - grad_avg*grad_avg) + eps; else sqrt(sq) + eps
 *   momentum > 0 (buf != NULL): buf = buf*momentum + g/avg; p += -lr*buf
 *   else p += (-lr*g)/avg
 * grad is read only; param, square_avg (and grad_avg, buf) are updated. No overlaps. */
RCML_FN(void, rcml_rmsprop_f32)(const float *grad, float *param, float *square_avg, float *grad_avg,
                                float *buf, size_t n, double lr, double alpha, double eps,
                                double weight_decay, double momentum);
/* One Adagrad step as torch.optim.Adagrad (dense): g = grad + wd*p (wd != 0);
 * sum += g*g; p += (-clr*g)/(sqrt(sum) + eps) with clr = lr/(1 + (step - 1)*lr_decay),
 * step >= 1 the step number after incrementing. No overlaps. */
RCML_FN(void, rcml_adagrad_f32)(const float *grad, float *param, float *state_sum, size_t n,
                                int64_t step, double lr, double lr_decay, double eps,
                                double weight_decay);
/* One NAdam step as torch.optim.NAdam: mu_t = beta1 (1 - 0.5*0.96^(step*momentum_decay));
 * *mu_product (the float32 running product of mu, 1 before the first step) *= mu_t;
 * p *= 1 - lr*wd (decoupled) or g = grad + wd*p (L2); m = lerp(m, g, 1 - beta1);
 * v = v*beta2 + ((1 - beta2)*g)*g; den = sqrt(v/(1 - beta2^step)) + eps;
 * p += (-lr (1 - mu_t)/(1 - prod) * g)/den; p += (-lr mu_{t+1}/(1 - prod mu_{t+1}) * m)/den.
 * step >= 1 as in rcml_adam_f32. No overlaps. */
RCML_FN(void, rcml_nadam_f32)(const float *grad, float *param, float *m, float *v, size_t n,
                              int64_t step, float *mu_product, double lr, double beta1,
                              double beta2, double eps, double weight_decay, double momentum_decay,
                              int decoupled);

/* ------------------------------------------------------------ layers (rc.nn) */
/* The recurrent layers' time loops (rnn_body.h). Bitwise identical for any thread count
 * (fixed-order loops; products through the packed GEMM). Matrices are row-major and
 * contiguous; "m x n" means m rows (samples) of n columns. Activations are rcml_act_t ids
 * and go through the layer forms above. */

/* Elman RNN over a time-major batch: h_t = act(x_t Wx + h_{t-1} Wh + b), h_{-1} = 0.
 * X (T, B, I), Wx (I, H), Wh (H, H), b (H); Hs (T, B, H) gets every h_t. act is tanh,
 * sigmoid, relu or linear (an act whose derivative is a function of its output). */
RCML_FN(void, rcml_rnn_forward_f32)(int act, size_t T, size_t B, size_t I, size_t H, const float *X,
                                    const float *Wx, const float *Wh, const float *b, float *Hs);
/* BPTT for the above. dHs (T, B, H): in dL/dh_t from the outputs, out dL/dz_t (so the bias
 * gradient is its column sum). WxT (H, I) and WhT (H, H) are the transposed weights; dX
 * (T, B, I) may be NULL. */
RCML_FN(void, rcml_rnn_backward_f32)(int act, size_t T, size_t B, size_t I, size_t H,
                                     const float *X, const float *WxT, const float *WhT,
                                     const float *Hs, float *dHs, float *dWx, float *dWh,
                                     float *dX);
/* LSTM, gates [i | f | g | o] (the torch order), W (I, 4H), U (H, 4H), b (4H):
 * c_t = f c_{t-1} + i g, h_t = o tanh(c_t), zero initial state. G (T, B, 4H) gets the
 * gate activations, Cs and Hs (T, B, H) the cell and hidden states. */
RCML_FN(void, rcml_lstm_forward_f32)(size_t T, size_t B, size_t I, size_t H, const float *X,
                                     const float *W, const float *U, const float *b, float *G,
                                     float *Cs, float *Hs);
/* BPTT for the above: dHs in dL/dh_t (modified), dG (T, B, 4H) gets dL/d(gate
 * pre-activations) (its column sum is the bias gradient), dc (B, H) scratch, WT (4H, I),
 * UT (4H, H) transposed weights; dX may be NULL. */
RCML_FN(void, rcml_lstm_backward_f32)(size_t T, size_t B, size_t I, size_t H, const float *X,
                                      const float *WT, const float *UT, const float *G,
                                      const float *Cs, const float *Hs, float *dHs, float *dG,
                                      float *dc, float *dW, float *dU, float *dX);
/* Rows whose argmax matches the target's (labels or one-hot argmax); one column:
 * (p >= threshold) == (t >= 0.5). */
RCML_FN(size_t, rcml_nn_count_correct_f32)(size_t m, size_t n, const float *pred,
                                           const float *target, int labels, float threshold);
/* dst[i] = src row idx[i] (row_len floats each); no aliasing. */
RCML_FN(void, rcml_nn_gather_rows_f32)(const float *src, size_t row_len, const int64_t *idx,
                                       size_t count, float *dst);
/* Sample-major (N, T, F) -> time-major batch: dst[t, b] = src[idx[b], t]; no aliasing. */
RCML_FN(void, rcml_nn_gather_seq_f32)(const float *src, size_t T, size_t F, const int64_t *idx,
                                      size_t B, float *dst);
/* dst (B, A, F) = src (A, B, F) with the first two axes swapped; no aliasing. */
RCML_FN(void, rcml_nn_swap01_f32)(size_t A, size_t B, size_t F, const float *src, float *dst);
/* mask = (u >= rate) / (1 - rate); y = x * mask; n floats; mask may equal u. */
RCML_FN(void, rcml_nn_dropout_f32)(size_t n, float rate, const float *u, const float *x,
                                   float *mask, float *y);

/* ------------------------------------------------------------ tensor objects */
/* RamTensor objects, for C extensions that reach rcmlrs through the C API (rcmlrs_capi.h):
 * create a tensor, get its buffer and shape, without cimporting any Cython. Unlike every
 * kernel above these handle Python objects: call them with the GIL held (never between
 * Py_BEGIN_ALLOW_THREADS and Py_END_ALLOW_THREADS). `struct _object` is Python.h's
 * PyObject, declared opaque here so this header needs no Python.h: pass and receive
 * PyObject * as usual. A tensor's buffer and shape never change during its life, so the
 * pointer and shape stay valid while the caller holds a reference to the tensor. On
 * failure each function sets a Python exception and returns NULL or -1. */
struct _object;
/* A new RamTensor of shape (layers, rows, cols) (a new reference), contents uninitialised:
 * write every element. Its buffer is 64-byte aligned. ValueError for a shape over 2^40
 * elements, MemoryError when the allocation fails. */
RCML_FN(struct _object *, rcml_tensor_new)(size_t layers, size_t rows, size_t cols);
/* 1 when obj is a RamTensor (or a subclass), else 0 (NULL too); never fails. */
RCML_FN(int, rcml_tensor_check)(struct _object *obj);
/* The tensor's float32 buffer, in the layout at the top of this header (element (l, r, c)
 * at data[(l*R + r)*C + c]); writable. NULL with TypeError when obj is not a RamTensor. */
RCML_FN(float *, rcml_tensor_data)(struct _object *obj);
/* shape[0..2] = (layers, rows, cols) (shape points to 3 values), so the buffer holds their
 * product of floats; 0, or -1 with TypeError when obj is not a RamTensor. */
RCML_FN(int, rcml_tensor_shape)(struct _object *obj, size_t *shape);
/* Call once after writing into an existing tensor in place (not needed for one just made
 * by rcml_tensor_new): bumps its version, so an rcmlrs.autograd tape that recorded the
 * tensor refuses a gradient computed from the old values. 0, or -1 with TypeError. */
RCML_FN(int, rcml_tensor_modified)(struct _object *obj);

/* ------------------------------------------------------------ GRU and embedding (issue 12) */
/* GRU over a time-major batch, gates [z | r | h] (torch.nn.GRU's equations, Keras
 * reset_after=True), zero initial state: z = sig(x Wz + bz + h Uz + cz), r likewise,
 * n = tanh(x Wh + bh + r (h Uh + ch)), h' = n + z (h - n). X (T, B, I), W (I, 3H),
 * U (H, 3H), b (2, 3H) (row 0 the input bias, row 1 the recurrent one). G (T, B, 3H) gets
 * the gate activations [z | r | n], Gh (T, B, 3H) h_{t-1} U + b[1], Hs (T, B, H) every h_t. */
RCML_FN(void, rcml_gru_forward_f32)(size_t T, size_t B, size_t I, size_t H, const float *X,
                                    const float *W, const float *U, const float *b, float *G,
                                    float *Gh, float *Hs);
/* BPTT for the above: dHs (T, B, H) in dL/dh_t from the outputs (modified); dGx and dGh
 * (T, B, 3H) get dL/d(x W + b[0]) and dL/d(h U + b[1]) (their column sums are the two bias
 * rows' gradients); WT (3H, I), UT (3H, H) transposed weights; dW (I, 3H), dU (H, 3H);
 * dX (T, B, I) may be NULL. */
RCML_FN(void, rcml_gru_backward_f32)(size_t T, size_t B, size_t I, size_t H, const float *X,
                                     const float *WT, const float *UT, const float *G,
                                     const float *Gh, const float *Hs, float *dHs, float *dGx,
                                     float *dGh, float *dW, float *dU, float *dX);
/* Embedding gradient: dtable[rows[i] + cols[c]] += g[i*d + c] for i < n, c < d (rows: row
 * offsets, in floats, into dtable; cols: 0 .. d-1). A row read several times gets its
 * gradients added in i order, at any thread count (rcml_scatter3_f32 on column blocks). */
RCML_FN(void, rcml_embedding_backward_f32)(const float *g, const int64_t *rows, size_t n,
                                           const int64_t *cols, size_t d, float *dtable);

/* ------------------------------------------------------------ normalization layers */
/* Batch and layer normalization of an (n, c) matrix x: the n = L*R rows of an engine batch
 * (rows, time-major steps or image pixels), c channels/features along each row. x_hat =
 * (x - mean) * istd with istd = 1 / sqrt(var + eps) (biased variance), y = x_hat * gamma +
 * beta. Column sums over the rows are taken per shape-fixed chunk of rows in double and added
 * in chunk order: the same bits at any thread count and on every backend. `work` is scratch
 * of rcml_norm_workspace_f32(n, c) bytes, 8-byte aligned. No output aliases an input. */
RCML_FN(size_t, rcml_norm_workspace_f32)(size_t n, size_t c);
/* Batch norm, statistics per column over all n rows. training (n >= 1): the batch mean and
 * biased variance go to mean and var (c each), and mmean / mvar (may be NULL) become
 * moving * momentum + batch * (1 - momentum) (Keras; both factors rounded to float32 once).
 * Not training: mean and var are read (the moving statistics). istd (c) gets
 * 1 / sqrt(var + eps) (double, rounded once), y (n, c) the output. */
RCML_FN(void, rcml_batch_norm_forward_f32)(const float *x, size_t n, size_t c, const float *gamma,
                                           const float *beta, double eps, int training,
                                           double momentum, float *mean, float *var, float *mmean,
                                           float *mvar, float *istd, float *y, void *work);
/* Its backward from g = dL/dy (n, c), with the forward's mean and istd: dbeta = sum g,
 * dgamma = sum g x_hat (c each); dx (may be NULL) = gamma istd (g - mean(g) - x_hat
 * mean(g x_hat)) in training (batch statistics), gamma istd g otherwise. */
RCML_FN(void, rcml_batch_norm_backward_f32)(const float *x, const float *g, size_t n, size_t c,
                                            const float *mean, const float *istd,
                                            const float *gamma, int training, float *dgamma,
                                            float *dbeta, float *dx, void *work);
/* Layer norm, statistics per row over its c values (c >= 1): mean and istd (n each), y. */
RCML_FN(void, rcml_layer_norm_forward_f32)(const float *x, size_t n, size_t c, const float *gamma,
                                           const float *beta, double eps, float *mean, float *istd,
                                           float *y);
/* Its backward: dbeta = sum g, dgamma = sum g x_hat over the rows (c each); dx (may be
 * NULL) = istd (a - mean(a) - x_hat mean(a x_hat)) per row, a = g gamma. */
RCML_FN(void, rcml_layer_norm_backward_f32)(const float *x, const float *g, size_t n, size_t c,
                                            const float *mean, const float *istd,
                                            const float *gamma, float *dgamma, float *dbeta,
                                            float *dx, void *work);

/* ------------------------------------------------ convolutions (issue 12) */
/* The geometry of a 2-D convolution over the images layout: x is (B, H*W, C) (pixel (i, j)
 * of image b is row (b*H + i)*W + j, channels along the row), the kernel (kh*kw*C, F) with
 * rows in (ki, kj, c) order, the output (B, Ho*Wo, F). Output pixel (oi, oj) reads input
 * pixels (oi*sh - pt + ki, oj*sw - pl + kj); those outside the image count as 0 (pt, pl:
 * the padding before; after it is implied by Ho, Wo). A Conv1D over a time-major (T, B, C)
 * batch is one image of H = T, W = B with kw = sw = 1, pl = 0, Wo = B. The caller checks
 * that sh, sw >= 1 and that Ho, Wo fit. */
typedef struct rcml_conv2d {
    size_t B, H, W, C; /* images, height, width, channels */
    size_t F;          /* filters */
    size_t kh, kw;     /* kernel size */
    size_t sh, sw;     /* strides, >= 1 */
    size_t pt, pl;     /* padding before (top, left) */
    size_t Ho, Wo;     /* output size */
} rcml_conv2d_t;
/* z = conv(x, w) + bias (bias: F floats or NULL), y = f(z) with the layer form of
 * rcml_bias_act_f32 (act any elementwise id or RCML_ACT_SOFTMAX; y may equal z). An
 * im2col block per chunk of output rows and one packed GEMM each, so for one backend the
 * bits do not depend on the thread count. Returns RCML_OK, or RCML_ENOMEM (scratch
 * allocation failed; the outputs are then unspecified). */
RCML_FN(int, rcml_conv2d_forward_f32)(const rcml_conv2d_t *g, int act, float param, const float *x,
                                      const float *w, const float *bias, float *z, float *y);
/* From grad = dL/dy (B*Ho*Wo rows of F): dz = grad * f'(z) (rcml_act_layer_backward_f32's
 * form; y may be NULL) into dz (M*F floats scratch; not written when act is linear: dz is
 * grad then), dw = im2col(x)^T dz (kh*kw*C x F), db = dz summed over the rows (NULL:
 * skipped), dx = col2im(dz w^T) (B*H*W*C floats; NULL: skipped). dz must not overlap grad. Partial
 * sums combine in an order fixed by the shape: bits independent of the thread count. Returns
 * RCML_OK or RCML_ENOMEM. */
RCML_FN(int, rcml_conv2d_backward_f32)(const rcml_conv2d_t *g, int act, float param, const float *x,
                                       const float *w, const float *z, const float *y,
                                       const float *grad, float *dz, float *dw, float *db,
                                       float *dx);

/* ----------------------------------------------------------------- pooling */
/* 2-D pooling on the images layout: image b is the contiguous (H*W, C) matrix at
 * x + b*H*W*C, pixel (i, j) at row i*W + j, channels along the row; the output is
 * (B, Ho*Wo, C) alike. Output pixel (oi, oj) pools input rows [oi*sh - pt, oi*sh - pt + ph)
 * and columns [oj*sw - pl, oj*sw - pl + pw), clipped to the image (padding is never read;
 * pt < ph and pl < pw, so no window is empty). Max keeps the first maximum in (row, col)
 * scan order (NaN wins); average divides by the count of valid elements (Keras/TF "same",
 * torch count_include_pad=False). Global average pooling is (ph, pw) = (H, W). */
enum { RCML_POOL_MAX = 0, RCML_POOL_AVG = 1 };
typedef struct rcml_pool2d {
    size_t B, H, W, C; /* images, height, width, channels */
    size_t ph, pw;     /* window height, width */
    size_t sh, sw;     /* strides (>= 1) */
    size_t pt, pl;     /* padding before: top rows, left columns */
    size_t Ho, Wo;     /* output height, width */
} rcml_pool2d_t;
/* y (B, Ho*Wo, C) from x (B, H*W, C); no aliasing. */
RCML_FN(void, rcml_pool2d_forward_f32)(int mode, const rcml_pool2d_t *p, const float *x, float *y);
/* dx (B, H*W, C) (every element written) from g = dL/dy (B, Ho*Wo, C); x is read by max
 * only (the argmax is recomputed, the same first maximum as the forward's) and may be NULL
 * for average. Gradients of overlapping windows are added in output scan order. */
RCML_FN(void, rcml_pool2d_backward_f32)(int mode, const rcml_pool2d_t *p, const float *x,
                                        const float *g, float *dx);

#ifdef __cplusplus
}
#endif

#include "rcmlrs_capi.h"
#endif /* RCMLRS_H */
