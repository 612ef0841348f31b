"""Build the example's two extension modules against an installed rcmlrs:

    python setup.py build_ext --inplace      (or: pip install .)

rcmlrs_softsign (softsign.c) and rcmlrs_softsign_cy (softsign_cy.pyx) take only the
include folder from rcmlrs at build time (rcmlrs.h, rcmlrs_capi.h and the .pxd files);
at import they reach rcmlrs's kernels through its C API capsule (RCMLRS_USE_CAPI).
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

import rcmlrs as rc

capi = [("RCMLRS_USE_CAPI", "1")]
setup(
    name="rcmlrs-softsign",
    version="0.2.0",
    description="Example third-party kernels on rcmlrs's C API",
    ext_modules=[
        Extension("rcmlrs_softsign", ["softsign.c"], include_dirs=[rc.get_include()]),
        *cythonize(
            [
                Extension(
                    "rcmlrs_softsign_cy",
                    ["softsign_cy.pyx"],
                    include_dirs=[rc.get_include()],
                    define_macros=capi,
                )
            ],
            language_level=3,
        ),
    ],
    py_modules=[],
    install_requires=["rcmlrs"],
)
