"""What a wheel must carry: version metadata, the C/Cython include folder, the type stubs
in step with the compiled module."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
from pathlib import Path

import pytest

import rcmlrs as rc
from rcmlrs import _tensor

PKG = Path(rc.__file__).resolve().parent

# PEP 440 public version (the regex from packaging's spec, simplified to what we publish)
PEP440 = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$")


def test_version_is_pep440_and_matches_metadata():
    assert PEP440.match(rc.__version__), rc.__version__
    try:
        dist_version = importlib.metadata.version("rcmlrs")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("rcmlrs is imported from a source tree, not installed")
    assert dist_version == rc.__version__


def test_get_include_holds_header_and_pxd():
    inc = Path(rc.get_include())
    if not (inc / "rcmlrs.h").exists():
        pytest.skip("include/ is made by the build (setup.py build_ext / pip install)")
    assert inc.is_dir() and inc.parent == PKG
    for name in ("rcmlrs.h", "_tensor.pxd", "_kernels.pxd"):
        assert (inc / name).is_file(), f"{name} missing from {inc}"
    header = (inc / "rcmlrs.h").read_text()
    assert "#define RCMLRS_ABI_VERSION" in header
    assert "Buffer layout" in header  # the documented layout contract
    # the copy matches the package's own pxd (one source of truth)
    assert (inc / "_tensor.pxd").read_text() == (PKG / "_tensor.pxd").read_text()


def test_pxd_files_ship_beside_the_module_for_cimport():
    # `from rcmlrs._tensor cimport RamTensor` finds these through sys.path
    assert (PKG / "_tensor.pxd").is_file()
    assert (PKG / "_kernels.pxd").is_file()


def test_typing_files_ship():
    assert (PKG / "py.typed").is_file()
    assert (PKG / "_tensor.pyi").is_file()


def _stub_names() -> tuple[set[str], set[str]]:
    tree = ast.parse((PKG / "_tensor.pyi").read_text())
    module: set[str] = set()
    methods: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "RamTensor":
            for item in ast.walk(node):
                if isinstance(item, ast.FunctionDef):
                    methods.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    methods.add(item.target.id)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            module.add(node.name)
    return module, methods


def test_stub_declares_every_public_runtime_name():
    """The .pyi keeps up with _tensor.pyx: adding a public function or RamTensor method
    without a stub fails here (mypy.stubtest also checks the signatures)."""
    module, methods = _stub_names()
    runtime_module = {n for n in dir(_tensor) if not n.startswith("_")}
    assert runtime_module - module == set(), "declare these in rcmlrs/_tensor.pyi"
    runtime_methods = {n for n in vars(_tensor.RamTensor) if not n.startswith("_")}
    assert runtime_methods - methods == set(), "declare these in rcmlrs/_tensor.pyi"


def test_compiled_module_is_the_one_next_to_the_package():
    # guards against a stale build elsewhere on sys.path shadowing the package
    assert Path(_tensor.__file__).resolve().parent == PKG


def test_config_reports_a_backend_and_compiler():
    from rcmlrs.runtime import config

    cfg = config()
    assert cfg["backend"] in cfg["available_backends"]
    assert cfg["compiler"]
    assert os.path.basename(rc.get_include()) == "include"


def test_every_subpackage_is_listed_for_the_wheel():
    """pyproject.toml lists packages explicitly: a new folder (nn/layers) left out of it
    installs fine in editable mode and is missing from every wheel."""
    import tomllib

    pyproject = PKG.parent / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("pyproject.toml is not beside the package (an installed wheel)")
    listed = set(tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(PKG.parent).parts)
        for p in PKG.rglob("__init__.py")
        if "include" not in p.parts
    }
    assert found == listed


def test_python_versions_agree():
    """requires-python, the classifiers and the wheels cibuildwheel builds name the same
    CPython versions (3.11 to 3.15 today)."""
    import tomllib

    pyproject = PKG.parent / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("pyproject.toml is not beside the package (an installed wheel)")
    meta = tomllib.loads(pyproject.read_text())
    lowest = meta["project"]["requires-python"].removeprefix(">=")
    version = re.compile(r"Programming Language :: Python :: 3\.(\d+)")
    classified = sorted(
        int(m[1]) for c in meta["project"]["classifiers"] if (m := version.fullmatch(c))
    )
    cibw = meta["tool"]["cibuildwheel"]["build"]
    built = sorted(int(b.removeprefix("cp3").removesuffix("-*")) for b in cibw.split())
    assert lowest == f"3.{classified[0]}" and classified == built
    assert classified == list(range(classified[0], classified[-1] + 1))
