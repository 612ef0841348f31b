/*
 * softsign.c - a third-party kernel module built on rcmlrs's C API (the C half of the
 * example; softsign_cy.pyx is the same in Cython).
 *
 * Everything it takes from rcmlrs comes through the capsule rcmlrs._tensor._C_API
 * (rcmlrs_capi.h, from rcmlrs.get_include()); nothing links against rcmlrs:
 *   - tensors: rcml_tensor_new / rcml_tensor_data / rcml_tensor_shape (and
 *     rcml_tensor_modified after an in-place write);
 *   - the product: rcml_gemm_batched_f32, rcmlrs's packed GEMM with its SIMD dispatch;
 *   - the elementwise pass: rcml_parallel_for, rcmlrs's thread pool, in chunks whose
 *     bounds do not depend on the thread count, so results are bitwise the same for any
 *     rc.set_num_threads(n).
 * rcml_capi_import() at module init fails with ImportError (never a crash) when the
 * installed rcmlrs is older than the header this was built with.
 *
 *   softsign(x)              -> a new tensor, x / (1 + |x|)
 *   softsign_(x)             -> x itself, updated in place
 *   dense_softsign(x, w, b)  -> softsign(x @ w + b): x (L, m, k), w (1, k, n), b (1, 1, n)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <float.h>

#define RCMLRS_USE_CAPI 1 /* every rcml_* name below is a pointer filled from the capsule */
#include "rcmlrs.h"

#if RCMLRS_ABI_VERSION != 1
#error "built for rcmlrs buffer layout version 1"
#endif

/* Chunks of this many floats go to the pool (the bounds are multiples of it). */
#define GRAIN ((size_t)1 << 15)

/* x / (1 + |x|); NaN stays NaN, +-inf gives +-1 (inf/inf would be NaN). */
static float softsign1(float v) {
    float a = v < 0.0f ? -v : v;
    /* a > FLT_MAX rather than isinf: older MSVC headers spell INFINITY as an overflow */
    return a > FLT_MAX ? (v < 0.0f ? -1.0f : 1.0f) : v / (1.0f + a);
}

/* out[i] = softsign(x[i] + bias[i % cols]) (no bias: NULL) for i in one chunk. */
typedef struct {
    const float *x;
    const float *bias;
    size_t cols;
    float *out;
} softsign_job;

static void softsign_chunk(void *ctx, size_t begin, size_t end) {
    const softsign_job *job = (const softsign_job *)ctx;
    size_t i;
    if (job->bias == NULL) {
        for (i = begin; i < end; i++) job->out[i] = softsign1(job->x[i]);
    } else {
        for (i = begin; i < end; i++) job->out[i] = softsign1(job->x[i] + job->bias[i % job->cols]);
    }
}

/* The elementwise pass over n floats on rcmlrs's pool, without the GIL when it is large. */
static void run_softsign(const float *x, const float *bias, size_t cols, float *out, size_t n) {
    softsign_job job;
    job.x = x;
    job.bias = bias;
    job.cols = cols;
    job.out = out;
    if (n > GRAIN) {
        Py_BEGIN_ALLOW_THREADS rcml_parallel_for(n, GRAIN, softsign_chunk, &job);
        Py_END_ALLOW_THREADS
    } else {
        rcml_parallel_for(n, GRAIN, softsign_chunk, &job);
    }
}

static PyObject *softsign(PyObject *self, PyObject *x) {
    size_t s[3];
    const float *xd;
    PyObject *out;
    (void)self;
    if (rcml_tensor_shape(x, s) < 0) return NULL; /* TypeError unless x is a RamTensor */
    xd = rcml_tensor_data(x);
    out = rcml_tensor_new(s[0], s[1], s[2]);
    if (xd == NULL || out == NULL) {
        Py_XDECREF(out);
        return NULL;
    }
    run_softsign(xd, NULL, 1, rcml_tensor_data(out), s[0] * s[1] * s[2]);
    return out;
}

static PyObject *softsign_(PyObject *self, PyObject *x) {
    size_t s[3];
    float *xd;
    (void)self;
    if (rcml_tensor_shape(x, s) < 0 || (xd = rcml_tensor_data(x)) == NULL) return NULL;
    run_softsign(xd, NULL, 1, xd, s[0] * s[1] * s[2]);
    if (rcml_tensor_modified(x) < 0) return NULL; /* an autograd tape sees the write */
    Py_INCREF(x);
    return x;
}

static PyObject *dense_softsign(PyObject *self, PyObject *args) {
    PyObject *x, *w, *b, *y;
    size_t xs[3], ws[3], bs[3], L, m, k, n;
    const float *xd, *wd, *bd;
    float *yd;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOO:dense_softsign", &x, &w, &b)) return NULL;
    if (rcml_tensor_shape(x, xs) < 0 || rcml_tensor_shape(w, ws) < 0 ||
        rcml_tensor_shape(b, bs) < 0)
        return NULL;
    L = xs[0], m = xs[1], k = xs[2], n = ws[2];
    /* check every size the kernels will read: rcmlrs's C functions trust their inputs */
    if (ws[0] != 1 || ws[1] != k || bs[0] != 1 || bs[1] != 1 || bs[2] != n) {
        PyErr_Format(PyExc_ValueError,
                     "dense_softsign: x (%zu, %zu, %zu) needs w (1, %zu, n) and b (1, 1, n); "
                     "got w (%zu, %zu, %zu) and b (%zu, %zu, %zu)",
                     xs[0], xs[1], xs[2], k, ws[0], ws[1], ws[2], bs[0], bs[1], bs[2]);
        return NULL;
    }
    if ((xd = rcml_tensor_data(x)) == NULL || (wd = rcml_tensor_data(w)) == NULL ||
        (bd = rcml_tensor_data(b)) == NULL)
        return NULL;
    if ((y = rcml_tensor_new(L, m, n)) == NULL) return NULL;
    yd = rcml_tensor_data(y);
    /* y[l] = x[l] @ w for every layer (w's stride 0: packed once, shared), then
     * y = softsign(y + b) in place */
    Py_BEGIN_ALLOW_THREADS rcml_gemm_batched_f32(L, 0, 0, m, n, k, 1.0f, xd, m * k, wd, 0, 0.0f,
                                                 yd);
    Py_END_ALLOW_THREADS run_softsign(yd, bd, n, yd, L * m * n);
    return y;
}

static PyMethodDef methods[] = {
    {"softsign", softsign, METH_O, "softsign(x) -> x / (1 + |x|) as a new tensor."},
    {"softsign_", softsign_, METH_O, "softsign_(x): x = x / (1 + |x|) in place; returns x."},
    {"dense_softsign", dense_softsign, METH_VARARGS,
     "dense_softsign(x, w, b) -> softsign(x @ w + b), x (L, m, k), w (1, k, n), b (1, 1, n)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "rcmlrs_softsign",
    "Custom kernels over RamTensors on rcmlrs's GEMM and thread pool (its C API).",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit_rcmlrs_softsign(void) {
    PyObject *m;
    if (rcml_capi_import() < 0) return NULL; /* ImportError: no rcmlrs, or too old */
    m = PyModule_Create(&module);
#ifdef Py_GIL_DISABLED
    /* free-threaded CPython: no state of its own beyond the table filled above */
    if (m != NULL) PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED);
#endif
    return m;
}
