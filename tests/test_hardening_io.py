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


