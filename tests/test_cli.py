"""The command line: python -m rcmlrs info | demo | bench."""

import subprocess
import sys


def _run(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "rcmlrs", *args], capture_output=True, text=True, timeout=timeout
    )


def test_info():
    out = _run("info")
    assert out.returncode == 0, out.stderr
    for key in ("version", "backend", "compiler", "threads"):
        assert key in out.stdout


def test_show_config(capsys):
    import rcmlrs as rc

    rc.show_config()
    text = capsys.readouterr().out
    assert rc.__version__ in text and rc._runtime.get_backend() in text


def test_demo_runs():
    out = _run("demo", timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "FAILED" not in out.stdout


def test_bench_runs():
    out = _run("bench", timeout=300)
    assert out.returncode == 0, out.stderr
    assert "ratio" in out.stdout


def test_help():
    out = _run()
    assert out.returncode == 0 and "demo" in out.stdout
