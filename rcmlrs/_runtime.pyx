# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""Runtime control: threads, the SIMD backend, the compiler. The state lives once, in
rcmlrs._tensor's kernels (reached through its C API capsule), so a choice made here holds
for every module."""

from rcmlrs._kernels cimport *

rcml_capi_import()


def set_num_threads(n):
    """Use n threads (n >= 1) for large kernels. Results do not depend on n."""
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise TypeError(f"set_num_threads: expected an int, got {type(n).__name__}")
    v = n.__index__()
    if v < 1 or v > 256:
        raise ValueError(f"set_num_threads: need 1 <= n <= 256, got {v}")
    rcml_set_num_threads(v)


def get_num_threads():
    """The number of threads large kernels use."""
    return rcml_get_num_threads()


def capabilities():
    """Backends compiled in and supported by this CPU, best last."""
    return [rcml_isa_name(i).decode() for i in range(RCML_ISA_COUNT) if rcml_isa_available(i)]


def get_backend():
    """The active backend: serial, baseline, avx2, avx512 or neon."""
    return rcml_isa_name(rcml_get_isa()).decode()


def best_backend():
    """The backend CPU detection chose at import."""
    return rcml_isa_name(rcml_best_isa()).decode()


def set_backend(name):
    """Pin a backend by name (tests use this to run every variant)."""
    for i in range(RCML_ISA_COUNT):
        if rcml_isa_name(i).decode() == name:
            if rcml_set_isa(i) != 0:
                raise ValueError(f"set_backend: backend {name!r} is not available on this CPU "
                                 f"(available: {capabilities()})")
            return
    raise ValueError(f"set_backend: unknown backend {name!r}")


def compiler():
    """The C compiler the kernels were built with."""
    return rcml_compiler().decode()
