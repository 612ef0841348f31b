"""Build of the rcmlrs extension: the Cython tensor module plus every C kernel in csrc/.

Only the Extension and per-compiler flags live here; metadata is in pyproject.toml.
SIMD variants are selected per file with target pragmas (see csrc/internal.h), so no
-march flag is ever passed, and there is no -ffast-math: NaN, inf and -0.0 follow IEEE.
"""

import os
import sys
from glob import glob

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildExt(build_ext):
    def build_extensions(self):
        if self.compiler.compiler_type == "msvc":
            args = ["/O2", "/fp:precise", "/W3"]
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


sources = ["rcmlrs/_tensor.pyx"] + sorted(glob("csrc/*.c"))
extensions = [
    Extension(
        "rcmlrs._tensor",
        sources=sources,
        include_dirs=["csrc"],
        depends=sorted(glob("csrc/*.h")),
    )
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
    cmdclass={"build_ext": BuildExt},
)
