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

void rcml_init(void);                  /* detect CPU features once; idempotent */
int rcml_isa_available(int isa);       /* 1 if compiled in and supported by CPU + OS */
int rcml_get_isa(void);                /* the active backend */
int rcml_set_isa(int isa);             /* 0 on success, -1 if unavailable */
int rcml_best_isa(void);               /* what detection chose */
const char *rcml_isa_name(int isa);    /* "serial", "baseline", "avx2", "avx512", "neon" */
const char *rcml_compiler(void);       /* compiler name and version */

/* ----------------------------------------------------------------- threads */
/* fn(ctx, begin, end) is called for consecutive chunks [begin, end) of [0, n) whose
 * boundaries are multiples of `grain` (so they never depend on the thread count).
 * Chunks may run concurrently on the pool; the call returns when all are done.
 * Runs inline when n <= grain, when one thread is configured, or when the pool is
 * already busy (nested or concurrent calls). */
typedef void (*rcml_chunk_fn)(void *ctx, size_t begin, size_t end);
void rcml_parallel_for(size_t n, size_t grain, rcml_chunk_fn fn, void *ctx);
void rcml_set_num_threads(int n); /* n >= 1 */
int rcml_get_num_threads(void);

/* ------------------------------------------------------------- elementwise */
typedef enum {
    RCML_ADD = 0,  /* a + b */
    RCML_SUB = 1,  /* a - b */
    RCML_MUL = 2,  /* a * b */
    RCML_DIV = 3,  /* a / b */
    RCML_RSUB = 4, /* b - a */
    RCML_RDIV = 5, /* b / a */
    RCML_BINOP_COUNT = 6
} rcml_binop_t;

/* out[i] = a[i] op b[i]; n floats; out may equal a or b. */
void rcml_binary_f32(int op, const float *a, const float *b, float *out, size_t n);
/* out[i] = a[i] op s; n floats; out may equal a. RSUB gives s - a[i], RDIV s / a[i]. */
void rcml_binary_scalar_f32(int op, const float *a, float s, float *out, size_t n);
/* Broadcasting form over 3 axes: out has shape[0..2] (contiguous); a and b are read at
 * offsets l*as[0] + r*as[1] + c*as[2] (strides in floats, 0 on a broadcast axis).
 * out must not overlap a or b unless it equals that operand with identical strides. */
void rcml_binary_bcast_f32(int op, const float *a, const ptrdiff_t as[3], const float *b,
                           const ptrdiff_t bs[3], float *out, const size_t shape[3]);

typedef enum {
    RCML_NEG = 0,   /* -x */
    RCML_ABS = 1,   /* |x| */
    RCML_SQRT = 2,  /* sqrt(x), NaN for x < 0 */
    RCML_EXP = 3,   /* e^x, ~1 ulp, 0 below -104, inf above 88.72 */
    RCML_LOG = 4,   /* ln x, ~1 ulp, -inf at 0, NaN below 0 */
    RCML_POWI = 5,  /* x^n with n = (int)p0, by repeated squaring (n < 0: 1 / x^-n) */
    RCML_POWF = 6,  /* x^p0 = pow(x, p0) (libm, not vectorised) */
    RCML_CLIP = 7,  /* min(max(x, p0), p1); NaN stays NaN */
    RCML_TANH = 8,  /* tanh x, a few ulp, saturates to +-1 */
    RCML_SQUARE = 9, /* x * x */
    RCML_UNOP_COUNT = 10
} rcml_unop_t;

/* out[i] = f(x[i]; p0, p1); n floats; out may equal x. */
void rcml_unary_f32(int op, const float *x, float p0, float p1, float *out, size_t n);

/* -------------------------------------------------------------- reductions */
/* All sums accumulate in double over fixed 4096-element blocks combined in order, so
 * they are accurate (sum of 1e6 x 0.1f = 100000.0015) and independent of threads. */
double rcml_sum_f32(const float *x, size_t n);
/* sum((x - mean)^2), the second pass of a two-pass variance. */
double rcml_sumsqdev_f32(const float *x, size_t n, double mean);
/* min / max; NaN if any element is NaN (NumPy semantics); n >= 1. */
float rcml_min_f32(const float *x, size_t n);
float rcml_max_f32(const float *x, size_t n);
/* index of the first maximum (first NaN if any); n >= 1. */
size_t rcml_argmax_f32(const float *x, size_t n);
/* median of n >= 1 values (mean of the two middle ones for even n); NaN if any is NaN.
 * Reorders `scratch` (a copy of the data, n floats). */
float rcml_median_f32(float *scratch, size_t n);

typedef enum {
    RCML_RED_SUM = 0,
    RCML_RED_MEAN = 1,
    RCML_RED_MIN = 2,
    RCML_RED_MAX = 3,
    RCML_RED_VAR = 4, /* sum((x-mean)^2) / (len - ddof) */
    RCML_RED_STD = 5
} rcml_reduce_t;

/* Reduce the middle axis of x viewed as (outer, len, inner), len >= 1:
 * out[o*inner + i] = red_{j<len} x[(o*len + j)*inner + i]. */
void rcml_reduce_axis_f32(int op, const float *x, size_t outer, size_t len, size_t inner,
                          double ddof, float *out);
/* Same view; out gets the index j of the first maximum (first NaN). */
void rcml_argmax_axis_f32(const float *x, size_t outer, size_t len, size_t inner,
                          int64_t *out);

/* ------------------------------------------------------------------- shape */
/* out (L, C, R) = x (L, R, C) with rows and cols swapped in every layer; no aliasing. */
void rcml_transpose_f32(const float *x, size_t layers, size_t rows, size_t cols, float *out);
/* Copy x (L, R, C) into out (L2, R2, C2), cropping or filling with `fill`; no aliasing. */
void rcml_pad_f32(const float *x, size_t L, size_t R, size_t C, float fill, float *out,
                  size_t L2, size_t R2, size_t C2);
/* out[i] = v for n floats. */
void rcml_fill_f32(float v, float *out, size_t n);

/* ------------------------------------------------------------------ random */
/* Counter-based generator: element i depends only on (seed, offset + i), so a seed gives
 * the same numbers on every platform, backend and thread count. */
void rcml_random_uniform_f32(uint64_t seed, uint64_t offset, float low, float high, float *out,
                             size_t n); /* low + (high - low) * u, u in [0, 1) on a 2^-24 grid */
void rcml_random_normal_f32(uint64_t seed, uint64_t offset, float mean, float std, float *out,
                            size_t n); /* Box-Muller in double with portable log/cos */

/* ------------------------------------------------------------------ memory */
/* 64-byte aligned allocation for tensor buffers; NULL on failure or nbytes == 0 is
 * rounded up to one cache line. Free with rcml_free_aligned. */
void *rcml_alloc_aligned(size_t nbytes);
void rcml_free_aligned(void *p);

/* ------------------------------------------------------------ matrix product */
/* C = alpha * op(A) @ op(B) + beta * C for one layer, all row-major and contiguous:
 * op(A) is m x k (A stored k x m when trans_a), op(B) is k x n (B stored n x k when
 * trans_b), C is m x n. beta == 0 ignores C's old contents (NaN in C does not leak).
 * C must not overlap A or B. NaN/inf in A or B reach only the outputs they touch.
 * Packed GEMM (csrc/matmul.c): for one backend the bits do not depend on the thread
 * count; backends differ within float32 rounding (FMA vs multiply-add, summation order),
 * and the serial backend is the plain reference loop. k == 0 gives C = beta*C. */
void rcml_gemm_f32(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                   const float *A, const float *B, float beta, float *C);
/* The same over `layers` layers: layer l uses A + l*stride_a, B + l*stride_b and
 * C + l*m*n (a stride of 0 broadcasts one layer, e.g. a shared weight, which is then
 * packed once). Deterministic for any thread count. */
void rcml_gemm_batched_f32(size_t layers, int trans_a, int trans_b, size_t m, size_t n,
                           size_t k, float alpha, const float *A, size_t stride_a,
                           const float *B, size_t stride_b, float beta, float *C);

#ifdef __cplusplus
}
#endif
#endif /* RCMLRS_H */
