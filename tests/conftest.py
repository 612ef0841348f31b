"""Shared fixtures: a seeded NumPy RNG, a fixture that runs a test on every backend, and
``require(name)`` for the optional reference packages.

References (torch, safetensors, scikit-learn, Pillow: ``pip install -e ".[test,ref]"``)
are optional: a test that needs one skips without it. With ``RCMLRS_REQUIRE_REFS=1`` (the
CI job that installs them all) a missing reference FAILS instead, so no comparison can
silently drop out. That covers ``require(name)`` below and every ``pytest.importorskip``
in the suite, whether in a test or at module level.
"""

import importlib
import os

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _runtime

REQUIRE_REFS = os.environ.get("RCMLRS_REQUIRE_REFS", "").strip() not in ("", "0")
_IMPORT_SKIP = "could not import"  # the start of pytest.importorskip's skip reason


def require(name):
    """The module ``name`` (e.g. ``torch = require("torch")``), or skip the calling test
    when it is not installed; under RCMLRS_REQUIRE_REFS=1 fail the test instead."""
    if not REQUIRE_REFS:
        return pytest.importorskip(name)
    try:
        return importlib.import_module(name)
    except ImportError as e:
        msg = f"RCMLRS_REQUIRE_REFS=1 but the reference {name!r} is missing: {e}"
        pytest.fail(msg, pytrace=False)


def _import_skip_reason(report):
    """The skip reason when ``report`` is a skip for a missing module, else None."""
    if not report.skipped:
        return None
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    return reason if _IMPORT_SKIP in reason else None


_missing_at_collection = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    reason = _import_skip_reason(report) if REQUIRE_REFS else None
    if reason:
        report.outcome = "failed"
        report.longrepr = f"RCMLRS_REQUIRE_REFS=1 but a reference is missing: {reason}"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    # a module-level importorskip skips a whole module at collection; an error there would
    # stop the run, so the skip is kept, listed at the end, and fails the session instead
    report = yield
    reason = _import_skip_reason(report) if REQUIRE_REFS else None
    if reason:
        _missing_at_collection.append(f"{report.nodeid}: {reason}")
    return report


def pytest_terminal_summary(terminalreporter):
    if _missing_at_collection:
        terminalreporter.section("RCMLRS_REQUIRE_REFS=1: modules skipped for a missing reference")
        for line in _missing_at_collection:
            terminalreporter.line(line)


def pytest_sessionfinish(session, exitstatus):
    if _missing_at_collection and exitstatus in (0, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(params=_runtime.capabilities())
def backend(request):
    """Pin each available SIMD backend in turn (serial, baseline, avx2, ...)."""
    old = _runtime.get_backend()
    _runtime.set_backend(request.param)
    yield request.param
    _runtime.set_backend(old)


@pytest.fixture
def restore():
    """Restore the backend and the thread count after a test changes them."""
    old_backend, old_threads = _runtime.get_backend(), rc.get_num_threads()
    yield
    _runtime.set_backend(old_backend)
    rc.set_num_threads(old_threads)


@pytest.fixture
def threads():
    """Restore the thread count after a test changes it."""
    old = rc.get_num_threads()
    yield
    rc.set_num_threads(old)
