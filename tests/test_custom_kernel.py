"""Build examples/custom_kernel (a C and a Cython extension on rcmlrs's C API) against the
rcmlrs being tested, through rc.get_include(), and run its kernels: rcmlrs's GEMM and
thread pool reached through the capsule rcmlrs._tensor._C_API, tensors made and read with
rcml_tensor_new/data/shape, and an ImportError (never a crash) for a missing, older or
shorter table.

Skips (never fails) when the machine has no working C compiler, setuptools or Cython, or
when rcmlrs comes from a source tree that was never built (no include/ folder yet). It runs
in tools/check_wheel.sh (installed wheel), in cibuildwheel's test step and in place after
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
    pytest.importorskip("Cython")
    if not (Path(rc.get_include()) / "rcmlrs.h").is_file():
        pytest.skip("rc.get_include() has no rcmlrs.h: rcmlrs was not built/installed")
    if not EXAMPLE.is_dir():
        pytest.skip("examples/custom_kernel is not next to the tests")
    tmp = tmp_path_factory.mktemp("custom_kernel")
    if not _have_compiler(tmp):
        pytest.skip("no working C compiler")
    work = tmp / "src"
    shutil.copytree(
        EXAMPLE, work, ignore=shutil.ignore_patterns("build", "*.so", "*.pyd", "softsign_cy.c")
    )
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


def test_softsign_makes_and_reads_tensors_through_the_c_api(built: Path) -> None:
    out = _run(
        built,
        textwrap.dedent(
            """
        import numpy as np
        import rcmlrs as rc
        import rcmlrs_softsign as ext

        for shape in [(1, 1, 1), (2, 3, 5), (3, 64, 129), (1, 1, 20000), (2, 300, 300)]:
            x = rc.randn(shape, std=3.0, seed=7)
            x0 = x.copy()
            y = ext.softsign(x)               # rcml_tensor_new + data + shape
            assert type(y) is rc.RamTensor and y.shape == x.shape
            assert x.equals(x0), "input changed"
            a = np.asarray(x)
            assert np.array_equal(np.asarray(y), a / (np.float32(1) + np.abs(a)))
            v = x._version
            assert ext.softsign_(x) is x and x.equals(y)   # in place ...
            assert x._version == v + 1                      # ... and a tape would see it
        # specials, and a NumPy-borrowed buffer (rc.from_numpy shares memory)
        a = np.array([np.nan, np.inf, -np.inf, -0.0], dtype=np.float32)
        ext.softsign_(rc.from_numpy(a))
        assert np.isnan(a[0]) and a[1] == 1.0 and a[2] == -1.0 and a[3] == 0.0
        assert ext.softsign(rc.zeros((0, 3, 3))).shape == (0, 3, 3)
        # anything but a RamTensor is a TypeError from rcml_tensor_shape/data
        for bad in (np.zeros(3, dtype=np.float32), [1.0], None, rc.RamTensor.__new__(rc.RamTensor)):
            try:
                ext.softsign_(bad)
            except (TypeError, ValueError) as e:
                assert "rcml_tensor" in str(e), e
            else:
                raise AssertionError(f"{bad!r} accepted")
        print("ok")
        """
        ),
    )
    assert out.strip().endswith("ok")


def test_dense_softsign_is_rcmlrs_gemm_bit_for_bit(built: Path) -> None:
    """C and Cython: rcmlrs's GEMM and pool through the capsule give exactly the bits of
    rcmlrs's own `x @ w + b` and softsign, on every backend and for 1 and 2 threads."""
    out = _run(
        built,
        textwrap.dedent(
            """
        import numpy as np
        import rcmlrs as rc
        import rcmlrs_softsign as c_ext
        import rcmlrs_softsign_cy as cy_ext
        from rcmlrs import _runtime

        def softsign(v):
            return v / (abs(v) + 1.0)

        shapes = [(1, 1, 1, 1), (3, 5, 7, 2), (2, 67, 131, 33), (1, 256, 300, 200), (4, 0, 3, 2)]
        old = (_runtime.get_backend(), rc.get_num_threads())
        try:
            for backend in _runtime.capabilities():
                for threads in (1, 2):
                    _runtime.set_backend(backend)
                    rc.set_num_threads(threads)
                    for L, m, k, n in shapes:
                        x = rc.randn((L, m, k), seed=1)
                        w = rc.randn((1, k, n), seed=2, std=0.3)
                        b = rc.randn((1, 1, n), seed=3)
                        want = softsign(x @ w + b)
                        for ext in (c_ext, cy_ext):
                            got = ext.dense_softsign(x, w, b)
                            assert got.shape == (L, m, n), (ext, got.shape)
                            assert got.equals(want), (ext.__name__, backend, threads, L, m, k, n)
        finally:
            _runtime.set_backend(old[0])
            rc.set_num_threads(old[1])
        x, w, b = rc.zeros((2, 3, 4)), rc.zeros((1, 4, 5)), rc.zeros((1, 1, 5))
        for ext in (c_ext, cy_ext):
            for args in ((x, rc.zeros((1, 3, 5)), b), (x, w, rc.zeros((1, 1, 4))),
                         (x, rc.zeros((2, 4, 5)), b)):
                try:
                    ext.dense_softsign(*args)
                except ValueError as e:
                    assert "dense_softsign" in str(e)
                else:
                    raise AssertionError("shape mismatch accepted")
            try:
                ext.dense_softsign(np.zeros((2, 3, 4), np.float32), w, b)
            except TypeError:
                pass
            else:
                raise AssertionError("ndarray accepted")
        print("ok", len(_runtime.capabilities()), "backends")
        """
        ),
    )
    assert out.strip().startswith("ok")


# Each case in a fresh interpreter: rcmlrs._tensor._C_API replaced by a capsule over a
# fake table (a copy of the real one with one field changed), removed, or renamed.
_FAKE_TABLE = """
import ctypes, sys
import rcmlrs._tensor as T

api = ctypes.pythonapi
api.PyCapsule_GetPointer.restype = ctypes.c_void_p
api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
api.PyCapsule_New.restype = ctypes.py_object
api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
NAME = b"rcmlrs._tensor._C_API"


class Table(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint), ("abi", ctypes.c_uint),
                ("count", ctypes.c_size_t), ("fns", ctypes.c_void_p)]


real = Table.from_address(api.PyCapsule_GetPointer(T._C_API, NAME))
fake = Table(real.version, real.abi, real.count, real.fns)
case = sys.argv[1]
if case == "missing":
    del T._C_API
elif case == "renamed":
    T._C_API = api.PyCapsule_New(ctypes.addressof(fake), b"some.other._C_API", None)
else:
    field, value = case.split("=")
    setattr(fake, field, int(value))
    T._C_API = api.PyCapsule_New(ctypes.addressof(fake), NAME, None)
try:
    __import__(sys.argv[2])
except ImportError as e:
    print("ImportError:", " ".join(str(e).split()), "| cause:", repr(e.__cause__))
else:
    print("imported")
"""


@pytest.mark.parametrize("module", ["rcmlrs_softsign", "rcmlrs_softsign_cy"])
@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("version=1", "exports version 1 "),  # rcmlrs 0.1's table: no rcml_tensor_*
        ("count=10", "(10 entry points"),  # shorter than this header's list
        ("version=0", "exports version 0 "),
        ("abi=2", "layout 2)"),  # another buffer layout
        ("missing", "cannot load the capsule rcmlrs._tensor._C_API"),
        ("renamed", "cannot load the capsule rcmlrs._tensor._C_API"),
    ],
)
def test_an_older_or_missing_table_is_an_import_error(
    built: Path, module: str, case: str, says: str
) -> None:
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join((str(built), env["PYTHONPATH"]))
    r = subprocess.run(
        [sys.executable, "-c", _FAKE_TABLE, case, module],
        cwd=built,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr  # never a crash
    assert r.stdout.startswith("ImportError: rcmlrs C API: "), r.stdout + r.stderr
    assert says in r.stdout, r.stdout
    if case in ("missing", "renamed"):
        assert "AttributeError" in r.stdout  # the cause is chained, not lost


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
