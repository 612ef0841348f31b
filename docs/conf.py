"""Sphinx configuration of the rcmlrs documentation (``sphinx-build -W -b html docs
docs/_build/html``). The package is imported, so build the extension first
(``python setup.py build_ext --inplace`` or ``pip install .``)."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import rcmlrs  # noqa: E402

project = "rcmlrs"
author = "rcmlrs developers"
copyright = "rcmlrs developers, MIT license"
release = rcmlrs.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
exclude_patterns = ["_build", "*.md"]
root_doc = "index"

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# Cython's embedsignature puts the signature on the first docstring line
autodoc_docstring_signature = True
napoleon_google_docstring = True
napoleon_numpy_docstring = True
# ``x`` (single backticks) in the docstrings reads as inline code, as in the README
default_role = "code"
nitpicky = False

html_theme = "furo"
html_title = f"rcmlrs {release}"
