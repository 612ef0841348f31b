"""Hostile paths and interrupted saves for rcmlrs.io: each test names the defect it covers
(the numbering of the hardening issue)."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import io as rio

LOADERS = [rc.load_state_binary, rc.load_state_json, rio.load_binary_with_metadata]
SAVERS = [rc.save_tensors_binary, rc.save_tensors_json]
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX files and signals")


def _temps(folder) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.endswith(".tmp"))


# ------------------------------------------------- 12: only regular files are read


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize("loader", LOADERS)
def test_loading_a_device_is_a_format_error(loader) -> None:
    # defect 12: load_state_json("/dev/zero") read until MemoryError
    t0 = time.monotonic()
    with pytest.raises(rc.FormatError, match="not a regular file"):
        loader("/dev/zero")
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("loader", LOADERS)
def test_loading_a_directory_is_a_format_error(loader, tmp_path) -> None:
    # defect 12: a directory is not a regular file either
    with pytest.raises(rc.FormatError, match="directory"):
        loader(tmp_path)


def _in_thread(fn, timeout: float):
    """Run fn in a daemon thread; (finished, exception)."""
    box: dict[str, BaseException | None] = {"exc": None}

    def run() -> None:
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            box["exc"] = e

    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(timeout)
    return not th.is_alive(), box["exc"]


def _release_fifo(path) -> None:
    """Unblock a reader stuck opening the FIFO (what the bug did), so the thread ends."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    except OSError:
        pass


@posix_only
@pytest.mark.parametrize("loader", LOADERS)
def test_loading_a_fifo_never_blocks(loader, tmp_path) -> None:
    # defect 12: every loader blocked forever opening a FIFO with no writer
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    done, exc = _in_thread(lambda: loader(fifo), 10)
    if not done:
        _release_fifo(fifo)
    assert done, "the loader blocked on a FIFO"
    assert isinstance(exc, rc.FormatError) and "FIFO" in str(exc)


@posix_only
@pytest.mark.parametrize("loader", LOADERS)
def test_a_fifo_swapped_in_after_the_check_does_not_block(loader, tmp_path, monkeypatch) -> None:
    # defect 12: even if the path is a regular file at os.stat and a FIFO at open (a race),
    # the open must not block and fstat must catch it
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    regular = os.stat(__file__)
    real_stat = os.stat

    def lying_stat(p, *a, **k):
        return regular if os.fspath(p) == os.fspath(fifo) else real_stat(p, *a, **k)

    monkeypatch.setattr(rio.os, "stat", lying_stat)
    done, exc = _in_thread(lambda: loader(fifo), 10)
    monkeypatch.undo()
    if not done:
        _release_fifo(fifo)
    assert done, "the loader blocked on a FIFO"
    assert isinstance(exc, rc.FormatError) and "FIFO" in str(exc)


@pytest.mark.parametrize("loader", LOADERS)
def test_missing_file_is_still_file_not_found(loader, tmp_path) -> None:
    # defect 12 (regression guard): the regular-file check keeps the usual OSErrors
    with pytest.raises(FileNotFoundError):
        loader(tmp_path / "nope")


# ------------------------------------------- 13: no stray temporary files, ever


@posix_only
@pytest.mark.parametrize("saver", SAVERS)
def test_save_killed_with_sigkill_is_cleaned_up_by_the_next_save(saver, tmp_path) -> None:
    # defect 13: a save killed mid-way left a .tmp file that nothing ever removed
    target = tmp_path / "w"
    saver(target, [rc.ones((2, 3))])
    old = target.read_bytes()
    child = f"""
import os, signal, sys
sys.path.insert(0, {os.path.dirname(os.path.dirname(rc.__file__))!r})
import rcmlrs as rc
from rcmlrs import io as rio
real = rio.os.fsync
def die(fd):  # the body is written: die before the rename, as a SIGKILL would
    os.kill(os.getpid(), signal.SIGKILL)
rio.os.fsync = die
rc.{saver.__name__}({str(target)!r}, [rc.zeros((50, 50))])
"""
    r = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stderr.decode()
    stray = _temps(tmp_path)
    assert len(stray) == 1  # the killed writer's file (the child is reaped: its pid is dead)
    assert target.read_bytes() == old  # the old file is intact
    saver(target, [rc.full((1, 4), 7.0)])  # the next save removes it
    assert _temps(tmp_path) == []
    loader = rc.load_state_binary if saver is rc.save_tensors_binary else rc.load_state_json
    assert loader(target)[0].tolist() == [[[7.0] * 4]]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@posix_only
def test_only_dead_writers_temp_files_are_removed(tmp_path) -> None:
    # defect 13: stale = written by a process that no longer exists; a live writer's file
    # (this process, another live one), another target's or a foreign name is kept
    target = tmp_path / "w.st"
    dead = tmp_path / rio._temp_name("w.st", _dead_pid())
    mine = tmp_path / rio._temp_name("w.st", os.getpid())
    live = tmp_path / rio._temp_name("w.st", os.getppid())
    other_target = tmp_path / rio._temp_name("x.st", _dead_pid())
    foreign = tmp_path / ".w.st.1234567890ab.tmp"  # an old-style name: no pid to judge
    for p in (dead, mine, live, other_target, foreign):
        p.write_bytes(b"partial")
    rc.save_tensors_binary(target, [rc.ones(3)])
    assert not dead.exists()
    assert mine.exists() and live.exists() and other_target.exists() and foreign.exists()


@pytest.mark.parametrize("saver", SAVERS)
@pytest.mark.parametrize("stage", ["body", "fsync", "replace"])
def test_keyboard_interrupt_mid_save_removes_the_temp_file(saver, stage, tmp_path, monkeypatch):
    # defect 13: a save interrupted by KeyboardInterrupt leaves the old file and no .tmp
    target = tmp_path / "w"
    saver(target, [rc.ones((2, 3))])
    old = target.read_bytes()

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    if stage == "body":
        name = "_write_binary" if saver is rc.save_tensors_binary else "_write_json"

        def partial(f, *a):
            f.write(b"partial")
            interrupt()

        monkeypatch.setattr(rio, name, partial)
    else:
        monkeypatch.setattr(rio.os, stage, interrupt)
    with pytest.raises(KeyboardInterrupt):
        saver(target, [rc.zeros((5, 5))])
    monkeypatch.undo()
    assert target.read_bytes() == old
    assert os.listdir(tmp_path) == ["w"]


def test_temp_file_name_carries_the_pid(tmp_path, monkeypatch) -> None:
    # defect 13: the temporary file's name holds the writer's pid (what the cleanup reads)
    seen = []
    real = os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        return real(src, dst)

    monkeypatch.setattr(rio.os, "replace", spy)
    rc.save_tensors_binary(tmp_path / "w", [rc.ones(2)])
    assert len(seen) == 1 and seen[0].startswith(f".w.{os.getpid()}-") and seen[0].endswith(".tmp")


# ------------------------------------ 14: writer limits = reader limits; JSON whitespace


def test_writer_refuses_a_header_over_the_reader_limit(tmp_path, monkeypatch) -> None:
    # defect 14: save_tensors_binary wrote a header its own reader refuses (> 100 MB);
    # the limit is lowered here so the test stays small
    monkeypatch.setattr(rio, "MAX_HEADER_BYTES", 4096)
    target = tmp_path / "w"
    with pytest.raises(ValueError, match="4096-byte limit"):
        rc.save_tensors_binary(target, [rc.ones(1)] * 100)
    with pytest.raises(ValueError, match="4096-byte limit"):
        rc.save_tensors_binary(target, [rc.ones(1)], metadata={"a": "x" * 5000})
    assert os.listdir(tmp_path) == []  # nothing written, no temp file
    rc.save_tensors_binary(target, [rc.ones(1)] * 10)  # a small one still saves
    assert len(rc.load_state_binary(target)) == 10


def test_writer_never_writes_a_header_the_reader_refuses(tmp_path) -> None:
    # defect 14: metadata full of brackets made a header the reader's container budget
    # refuses; either the writer refuses it or the file loads
    target = tmp_path / "w"
    for meta in ({"arch": "[" * 20000}, {"a": "{}" * 5000}, {"arch": json.dumps([[1]] * 500)}):
        try:
            rc.save_tensors_binary(target, [rc.ones(3)], metadata=meta)
        except ValueError as e:
            assert "bracket" in str(e) and not target.exists()
            continue
        tensors, got = rio.load_binary_with_metadata(target)
        assert tensors[0].tolist() == [[[1.0, 1.0, 1.0]]]
        assert {k: got[k] for k in meta} == meta


def _safetensors_bytes(header: bytes, data: bytes) -> bytes:
    return struct.pack("<Q", len(header)) + header + data


@pytest.mark.parametrize("lead", [b" ", b"  \n", b"\t", b"\r\n", b"\n\n  \t"])
def test_header_with_leading_json_whitespace_loads(lead: bytes, tmp_path) -> None:
    # defect 14: a valid safetensors header with whitespace before '{' was rejected
    values = np.array([1.5, -2.0, 3.25], np.float32)
    header = lead + json.dumps(
        {"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}}
    ).encode("ascii")
    p = tmp_path / "ws.safetensors"
    p.write_bytes(_safetensors_bytes(header, values.tobytes()))
    (t,) = rc.load_state_binary(p)
    np.testing.assert_array_equal(t.numpy().ravel(), values)
    st = pytest.importorskip("safetensors.numpy")  # the reference reader accepts it too
    np.testing.assert_array_equal(st.load_file(str(p))["x"], values)


@pytest.mark.parametrize("lead", [b"\x0b", b"\x0c", b"\xef\xbb\xbf", b"x"])
def test_header_with_other_leading_bytes_is_still_refused(lead: bytes, tmp_path) -> None:
    # defect 14 (guard): only JSON's whitespace may precede the '{'
    header = lead + b'{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    p = tmp_path / "bad.safetensors"
    p.write_bytes(_safetensors_bytes(header, b"\0\0\0\0"))
    with pytest.raises(rc.FormatError):
        rc.load_state_binary(p)
