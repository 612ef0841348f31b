# cython: language_level=3, freethreading_compatible=True
"""The Cython half of the example: softsign(x @ w + b) on rcmlrs's GEMM and thread pool,
reached through its C API exactly as softsign.c does (see README.md).

``from rcmlrs._kernels cimport *`` declares every function of rcmlrs.h; this module is
built with RCMLRS_USE_CAPI=1 (setup.py), so those names are pointers filled from the
capsule rcmlrs._tensor._C_API by ``rcml_capi_import()`` below: nothing links against
rcmlrs and nothing cimports its Cython classes.
"""

from libc.float cimport FLT_MAX

from rcmlrs._kernels cimport *

# ImportError (never a crash) when the installed rcmlrs is older than its header here
rcml_capi_import()

cdef size_t GRAIN = 1 << 15  # floats per pool chunk: bounds never depend on the threads


cdef struct Job:
    const float *x
    const float *bias
    size_t cols
    float *out


cdef inline float _softsign1(float v) noexcept nogil:
    cdef float a = -v if v < 0.0 else v
    if a > FLT_MAX:  # +-inf: the limit +-1, not inf/inf
        return -1.0 if v < 0.0 else 1.0
    # <float>: a bare 1.0 is a C double, and v / (1.0 + a) would round in double
    return v / (<float>1.0 + a)


cdef void _chunk(void *ctx, size_t begin, size_t end) noexcept nogil:
    # runs on rcmlrs's pool threads, without the GIL: plain C only
    cdef Job *job = <Job *>ctx
    cdef size_t i
    for i in range(begin, end):
        job.out[i] = _softsign1(job.x[i] + job.bias[i % job.cols])


def dense_softsign(x, w, b):
    """softsign(x @ w + b): x (L, m, k), w (1, k, n), b (1, 1, n) RamTensors."""
    cdef size_t xs[3]
    cdef size_t ws[3]
    cdef size_t bs[3]
    rcml_tensor_shape(x, xs)  # TypeError unless a RamTensor
    rcml_tensor_shape(w, ws)
    rcml_tensor_shape(b, bs)
    cdef size_t L = xs[0], m = xs[1], k = xs[2], n = ws[2]
    # check every size the kernels will read: rcmlrs's C functions trust their inputs
    if ws[0] != 1 or ws[1] != k or bs[0] != 1 or bs[1] != 1 or bs[2] != n:
        raise ValueError(f"dense_softsign: x {tuple(xs)} needs w (1, {k}, n) and b (1, 1, n); "
                         f"got w {tuple(ws)} and b {tuple(bs)}")
    cdef const float *xd = rcml_tensor_data(x)
    cdef const float *wd = rcml_tensor_data(w)
    cdef Job job
    y = rcml_tensor_new(L, m, n)
    job.out = rcml_tensor_data(y)
    job.x = job.out
    job.bias = rcml_tensor_data(b)
    job.cols = n
    with nogil:
        # y[l] = x[l] @ w for every layer (w's stride 0: packed once), then the pass below
        rcml_gemm_batched_f32(L, 0, 0, m, n, k, 1.0, xd, m * k, wd, 0, 0.0, job.out)
        rcml_parallel_for(L * m * n, GRAIN, _chunk, &job)
    return y
