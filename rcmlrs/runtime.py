"""Runtime information: configuration report, include folder, thread defaults."""

from __future__ import annotations

import os
import sys

from rcmlrs import _runtime


def get_include() -> str:
    """Folder holding ``rcmlrs.h``, ``rcmlrs_capi.h`` and the ``.pxd`` files, for building
    C/Cython kernels against rcmlrs buffers and, through the C API capsule, rcmlrs's own
    kernels and thread pool (pass it to ``include_dirs``; see examples/custom_kernel)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")


def config() -> dict:
    """The facts ``show_config`` prints, as a dict."""
    from rcmlrs._version import __version__

    return {
        "version": __version__,
        "backend": _runtime.get_backend(),
        "best_backend": _runtime.best_backend(),
        "available_backends": _runtime.capabilities(),
        "compiler": _runtime.compiler(),
        "threads": _runtime.get_num_threads(),
        "python": sys.version.split()[0],
    }


def show_config() -> None:
    """Print version, chosen SIMD backend, compiler and thread count."""
    for key, value in config().items():
        if isinstance(value, list):
            value = ", ".join(value)
        print(f"{key:>20}: {value}")


def _default_threads() -> int:
    for var in ("RCMLRS_NUM_THREADS", "OMP_NUM_THREADS"):
        v = os.environ.get(var, "").strip()
        if v.isdigit() and int(v) >= 1:
            return min(int(v), 256)
    try:
        n = len(os.sched_getaffinity(0))  # respects taskset/cgroup CPU masks
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, 256))


_runtime.set_num_threads(_default_threads())
