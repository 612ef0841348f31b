"""Build of the rcmlrs extension: the Cython tensor module plus every C kernel in csrc/.

Only the Extension and per-compiler flags live here; metadata is in pyproject.toml.
SIMD variants are selected per file with target pragmas (see csrc/internal.h), so no
-march flag is ever passed, and there is no -ffast-math: NaN, inf and -0.0 follow IEEE.
"""

import os
import shutil
import sys
from glob import glob

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def _copy_include(package_dir):
    """Put the public header and the .pxd files into <package_dir>/include, the folder
    ``rc.get_include()`` returns. They are copied at build time (not kept twice in git):
    into build_lib for wheels, and into the source tree for in-place/editable builds."""
    dest = os.path.join(package_dir, "include")
    os.makedirs(dest, exist_ok=True)
    files = [os.path.join(HERE, "csrc", h) for h in ("rcmlrs.h", "rcmlrs_capi.h")] + sorted(
        glob(os.path.join(HERE, "rcmlrs", "*.pxd"))
    )
    for f in files:
        shutil.copyfile(f, os.path.join(dest, os.path.basename(f)))


class BuildPy(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            _copy_include(os.path.join(HERE, "rcmlrs"))
        else:
            _copy_include(os.path.join(self.build_lib, "rcmlrs"))


class BuildExt(build_ext):
    def run(self):
        if self.inplace or getattr(self, "editable_mode", False):
            _copy_include(os.path.join(HERE, "rcmlrs"))
        super().run()

    def build_extensions(self):
        if self.compiler.compiler_type == "msvc":
            # /fp:precise keeps IEEE semantics (no contraction on VS 2022+); no /arch:
            # flag, so the baseline stays SSE2 on x64 and NEON on ARM64.
            # _CRT_SECURE_NO_WARNINGS: getenv() is fine here (C4996 at /W3 otherwise)
            args = ["/O2", "/fp:precise", "/W3", "/D_CRT_SECURE_NO_WARNINGS"]
        else:
            # -ffp-contract=off: every backend computes the same expression the same way,
            # so SIMD variants match the serial reference bit for bit (clang contracts by
            # default). -fno-math-errno lets sqrtf vectorise; it changes no result.
            args = [
                "-O3",
                "-std=c11",
                "-ffp-contract=off",
                "-fno-math-errno",
                "-fvisibility=hidden",
                "-Wall",
                "-Wno-unused-function",
            ]
            if os.environ.get("RCMLRS_SANITIZE"):
                args += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"]
        extra_link = []
        if self.compiler.compiler_type != "msvc":
            if sys.platform.startswith("linux"):
                extra_link.append("-lpthread")
            if os.environ.get("RCMLRS_SANITIZE"):
                extra_link += ["-fsanitize=address,undefined"]
        for ext in self.extensions:
            ext.extra_compile_args = args
            ext.extra_link_args = extra_link
        super().build_extensions()


# rcmlrs._tensor holds every C kernel, the dispatch state and the thread pool, and exports
# them as the capsule rcmlrs._tensor._C_API; the other Cython modules cimport RamTensor and
# call the same kernels through that table (RCMLRS_USE_CAPI, csrc/rcmlrs_capi.h), so
# there is one copy of each kernel and one backend choice in the process.
headers = sorted(glob("csrc/*.h"))
extensions = [
    Extension(
        "rcmlrs._tensor",
        sources=["rcmlrs/_tensor.pyx"] + sorted(glob("csrc/*.c")),
        include_dirs=["csrc"],
        depends=headers,
    )
] + [
    Extension(
        f"rcmlrs.{name}",
        sources=[f"rcmlrs/{name}.pyx"],
        include_dirs=["csrc"],
        define_macros=[("RCMLRS_USE_CAPI", "1")],
        depends=headers + ["rcmlrs/_tensor.pxd", "rcmlrs/_kernels.pxd"],
    )
    for name in ("_random", "_runtime", "_train", "_layers")
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "embedsignature": True,
        },
    ),
    cmdclass={"build_ext": BuildExt, "build_py": BuildPy},
)
