"""Build the example extension against an installed rcmlrs:

    python setup.py build_ext --inplace      (or: pip install .)

The only thing it takes from rcmlrs at build time is the include folder.
"""

from setuptools import Extension, setup

import rcmlrs as rc

setup(
    name="rcmlrs-softsign",
    version="0.1.0",
    description="Example third-party kernel for rcmlrs",
    ext_modules=[
        Extension("rcmlrs_softsign", ["softsign.c"], include_dirs=[rc.get_include()]),
    ],
    py_modules=[],
    install_requires=["rcmlrs"],
)
