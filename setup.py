"""Build of the rcmlrs extension: the Cython tensor module plus every C kernel in csrc/.

Only the Extension and per-compiler flags live here; metadata is in pyproject.toml.
The AVX2 and AVX-512 sources are compiled as objects of their own (ISA_OBJECTS): with
/arch:AVX2 and /arch:AVX512 on MSVC, while GCC and Clang select the ISA per function with
target pragmas (csrc/internal.h), so no -march flag is ever passed to them; there is no
-ffast-math anywhere: NaN, inf and -0.0 follow IEEE.

Debug information: a release build (pip wheel, cibuildwheel, pip install) is built with
-g0 and linked stripped; an in-place or editable build (a developer's) keeps Python's -g.
RCMLRS_DEBUG_INFO=1 or 0 overrides either way.
"""

import os
import shutil
import sys
from glob import glob

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py
from setuptools.modified import newer_group

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


# The per-ISA objects of rcmlrs._tensor: each source is compiled on its own with its ISA's
# flags from ISA_FLAGS, before the rest of the extension, and linked in as an extra object.
#   MSVC (cl.exe, clang-cl) has no per-function target attribute: the whole object gets
#     /arch:AVX2 or /arch:AVX512 (x86 only; an ARM64 build compiles them to nothing), and
#     /GL- keeps it out of link-time code generation, so the linker cannot inline AVX code
#     into a baseline caller. Only dispatch.c's CPU check ever calls into these objects.
#   GCC and Clang get no extra flag: the target pragmas of csrc/target_*_begin.h select the
#     ISA per function, so the code (and every result) is the same as in one compile.
ISA_OBJECTS = {
    "csrc/isa_avx2.c": "avx2",
    "csrc/gemm_avx2.c": "avx2",
    "csrc/isa_avx512.c": "avx512",
    "csrc/gemm_avx512.c": "avx512",
}
ISA_FLAGS = {
    ("msvc", "avx2"): ["/arch:AVX2", "/GL-"],
    ("msvc", "avx512"): ["/arch:AVX512", "/GL-"],
}


def _want_debug_info(dev_build):
    flag = os.environ.get("RCMLRS_DEBUG_INFO", "").strip()
    if flag:
        return flag not in ("0", "no", "false")
    return dev_build or bool(os.environ.get("RCMLRS_SANITIZE"))


class BuildExt(build_ext):
    def run(self):
        # setuptools' run() clears self.inplace while it builds (then copies the result
        # into the tree), so remember here whether this is a developer's build
        self._dev_build = bool(self.inplace or getattr(self, "editable_mode", False))
        if self._dev_build:
            _copy_include(os.path.join(HERE, "rcmlrs"))
        super().run()

    def _isa_flags(self, isa):
        if self.compiler.compiler_type == "msvc":
            # x86 and x64 only: /arch:AVX2 does not exist for ARM64 (win-arm64)
            if not (self.plat_name or "").startswith(("win-amd64", "win32")):
                return []
            return ISA_FLAGS[("msvc", isa)]
        return ISA_FLAGS.get(("unix", isa), [])

    def build_extension(self, ext):
        isa_sources = [s for s in ext.sources if s.replace(os.sep, "/") in ISA_OBJECTS]
        if not isa_sources:
            return super().build_extension(ext)
        ext_path = self.get_ext_fullpath(ext.name)
        stale = self.force or newer_group(ext.sources + ext.depends, ext_path)
        objects = []
        if stale:
            # one compile per ISA, each with that ISA's flags (see ISA_OBJECTS)
            for isa in sorted(set(ISA_OBJECTS.values())):
                srcs = [s for s in isa_sources if ISA_OBJECTS[s.replace(os.sep, "/")] == isa]
                objects += self.compiler.compile(
                    srcs,
                    output_dir=self.build_temp,
                    macros=ext.define_macros + [(u,) for u in ext.undef_macros],
                    include_dirs=ext.include_dirs,
                    debug=self.debug,
                    extra_postargs=ext.extra_compile_args + self._isa_flags(isa),
                    depends=ext.depends,
                )
        saved = ext.sources, ext.extra_objects, ext.depends
        # the ISA sources stay in depends, so editing one still rebuilds the extension
        ext.sources = [s for s in ext.sources if s not in isa_sources]
        ext.extra_objects = list(ext.extra_objects or []) + objects
        ext.depends = list(ext.depends) + isa_sources
        try:
            super().build_extension(ext)
        finally:
            ext.sources, ext.extra_objects, ext.depends = saved

    def build_extensions(self):
        debug_info = _want_debug_info(getattr(self, "_dev_build", False))
        if self.compiler.compiler_type == "msvc":
            # /fp:precise keeps IEEE semantics (no contraction on VS 2022+); /arch: only
            # for the per-ISA objects (ISA_OBJECTS), so the baseline stays SSE2 on x64
            # and NEON on ARM64. No /Zi: a release build has no debug information.
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
            elif not debug_info:
                args.append("-g0")  # after Python's CFLAGS (-g), so it wins
        extra_link = []
        if self.compiler.compiler_type != "msvc":
            if sys.platform.startswith("linux"):
                extra_link.append("-lpthread")
            if os.environ.get("RCMLRS_SANITIZE"):
                extra_link += ["-fsanitize=address,undefined"]
            elif not debug_info:
                # drop the symbol table and any debug section (PyInit_* stays exported)
                if sys.platform == "darwin":
                    extra_link.append("-Wl,-S,-x")
                else:
                    extra_link.append("-s")
        for ext in self.extensions:
            ext.extra_compile_args = args
            ext.extra_link_args = extra_link
        # A build with other flags (a release build after an in-place one, a sanitizer
        # build...) must not reuse the binaries of the last one found up to date in build/
        stamp = os.path.join(self.build_temp, "rcmlrs-flags.txt")
        flags = "\n".join(args + extra_link) + "\n"
        try:
            with open(stamp) as f:
                same = f.read() == flags
        except OSError:
            same = False
        if not same:
            self.force = True
        super().build_extensions()
        if not same:  # only once every extension is built with them
            os.makedirs(self.build_temp, exist_ok=True)
            with open(stamp, "w") as f:
                f.write(flags)


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
    for name in ("_random", "_runtime", "_train", "_layers", "_embed", "_norm", "_conv", "_pool")
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
