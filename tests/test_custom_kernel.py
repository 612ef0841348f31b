"""Build examples/custom_kernel (a third-party C extension) against the rcmlrs being
tested, through rc.get_include(), and run its kernel on RamTensor buffers.

Skips (never fails) when the machine has no working C compiler or setuptools, or when
rcmlrs comes from a source tree that was never built (no include/ folder yet). It runs in
tools/check_wheel.sh (installed wheel), in cibuildwheel's test step and in place after
`setup.py build_ext --inplace` / `pip install -e .` (both copy the header into include/).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import rcmlrs as rc

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "custom_kernel"


def _env() -> dict[str, str]:
    # the build and the import in the subprocess must see the same rcmlrs as this process
    env = dict(os.environ)
    root = str(Path(rc.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _have_compiler(tmp: Path) -> bool:
    probe = tmp / "probe"
    probe.mkdir()
    (probe / "p.c").write_text("int rcml_probe(void) { return 1; }\n")
    code = textwrap.dedent(
        """
        from setuptools._distutils.ccompiler import new_compiler
        from setuptools._distutils.sysconfig import customize_compiler
        cc = new_compiler()
        customize_compiler(cc)
        cc.compile(["p.c"])
        """
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=probe, capture_output=True, timeout=120)
    return r.returncode == 0


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("setuptools")
    if not (Path(rc.get_include()) / "rcmlrs.h").is_file():
        pytest.skip("rc.get_include() has no rcmlrs.h: rcmlrs was not built/installed")
    if not EXAMPLE.is_dir():
        pytest.skip("examples/custom_kernel is not next to the tests")
    tmp = tmp_path_factory.mktemp("custom_kernel")
    if not _have_compiler(tmp):
        pytest.skip("no working C compiler")
    work = tmp / "src"
    shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns("build", "*.so", "*.pyd"))
    r = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
        cwd=work,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return work


def _run(work: Path, code: str) -> str:
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join((str(work), env["PYTHONPATH"]))
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_example_script_runs(built: Path) -> None:
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join((str(built), env["PYTHONPATH"]))
    r = subprocess.run(
        [sys.executable, "run_example.py"],
        cwd=built,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "RamTensor(" in r.stdout


def test_kernel_matches_numpy_on_tensor_buffers(built: Path) -> None:
    out = _run(
        built,
        textwrap.dedent(
            """
        import numpy as np
        import rcmlrs as rc
        import rcmlrs_softsign as ext

        for shape in [(1, 1, 1), (2, 3, 5), (3, 64, 129), (1, 1, 20000)]:
            x = rc.randn(shape, std=3.0, seed=7)
            x0 = x.copy()
            y = ext.softsign(x)
            assert isinstance(y, rc.RamTensor) and y.shape == x.shape
            assert x.equals(x0), "input changed"
            ref = np.asarray(x) / (1 + np.abs(np.asarray(x)))
            np.testing.assert_allclose(np.asarray(y), ref, rtol=1e-6)
            assert ext.softsign_(x) is x and x.equals(y)   # in place
        # specials and a NumPy-borrowed buffer (rc.from_numpy shares memory)
        a = np.array([np.nan, np.inf, -np.inf, -0.0], dtype=np.float32)
        t = rc.from_numpy(a)
        ext.softsign_(t)
        assert np.isnan(a[0]) and a[1] == 1.0 and a[2] == -1.0 and a[3] == 0.0
        # an empty tensor and a wrong dtype
        assert ext.softsign(rc.zeros((0, 3, 3))).shape == (0, 3, 3)
        try:
            ext.softsign_(np.zeros(3, dtype=np.float64))
        except TypeError:
            pass
        else:
            raise AssertionError("float64 accepted")
        print("ok")
        """
        ),
    )
    assert out.strip().endswith("ok")


def test_cython_cimport_of_ramtensor(tmp_path: Path) -> None:
    """Cython users can cimport RamTensor's layout from the shipped .pxd."""
    pytest.importorskip("Cython")
    pytest.importorskip("setuptools")
    if not _have_compiler(tmp_path):
        pytest.skip("no working C compiler")
    (tmp_path / "cyk.pyx").write_text(
        textwrap.dedent(
            """
        # cython: language_level=3
        from rcmlrs._tensor cimport RamTensor

        def layout(RamTensor t):
            return (t.L, t.R, t.C, t.n, t.data[t.n - 1])
        """
        )
    )
    (tmp_path / "setup.py").write_text(
        textwrap.dedent(
            """
        import rcmlrs as rc
        from Cython.Build import cythonize
        from setuptools import Extension, setup
        setup(ext_modules=cythonize(
            [Extension("cyk", ["cyk.pyx"], include_dirs=[rc.get_include()])]))
        """
        )
    )
    r = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    out = _run(tmp_path, "import rcmlrs as rc, cyk; print(cyk.layout(rc.tensor([[1, 2, 3]])))")
    assert out.strip() == "(1, 1, 3, 3, 3.0)"


def test_header_is_valid_c_for_third_parties() -> None:
    # the public header stands alone (no internal.h) and is C++-safe
    header = Path(rc.get_include()) / "rcmlrs.h"
    if not header.is_file():
        pytest.skip("include/ not built")
    text = header.read_text()
    assert '#include "internal.h"' not in text
    assert 'extern "C"' in text
