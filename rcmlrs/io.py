"""Saving and loading tensors: a safetensors-compatible binary container and a JSON form.

Binary (``save_tensors_binary`` / ``load_state_binary``)
    A safetensors file: 8-byte little-endian u64 header length ``n``, ``n`` bytes of UTF-8
    JSON, then the raw little-endian float32 data of every tensor, in order, no gaps::

        {"__metadata__": {"format": "rcmlrs", "format_version": "1",
                          "tensor_order": "t0000,t0001", "crc32": "1a2b3c4d", ...},
         "t0000": {"dtype": "F32", "shape": [l, r, c], "data_offsets": [0, b1]},
         "t0001": {"dtype": "F32", "shape": [l, r, c], "data_offsets": [b1, b2]}}

    The header is padded with spaces so the data starts at a multiple of 8 bytes. ``crc32``
    (8 lowercase hex digits) is the CRC-32 of the header bytes with the checksum digits
    replaced by ``00000000``, continued over the data bytes. Extra string metadata given
    with ``metadata=`` sits beside these keys (``load_binary_with_metadata`` returns it).
    A plain safetensors file of F32 tensors of rank <= 3 also loads: tensors come back in
    data-offset order, rank 0-2 promoted like ``rc.tensor``; it has no checksum, so none is
    checked (its metadata has no ``crc32`` key). A file carrying any of the keys
    ``format_version``, ``tensor_order``, ``crc32`` must carry all of them and
    ``"format": "rcmlrs"``, so damage to the metadata cannot switch the checksum off.

Named tensors (``save_file`` / ``load_file``)
    The same container as the safetensors package writes it: ``{name: tensor}`` in the
    dict's order, every tensor stored as F32 (RamTensors with their rank-3 shape, NumPy
    arrays of 0-3 dims in their own shape), user metadata only, no checksum. ``load_file``
    returns a dict in data-offset order and also reads F16, BF16 and F64, converted to
    float32. See docs/FORMATS.md.

JSON (``save_tensors_json`` / ``load_state_json``)
    ``{"format": "rcmlrs", "version": 1, "tensors": [{"shape": [l, r, c], "data": [...]}]}``
    with ``data`` flat in row-major order, every value written as the shortest decimal
    text that reads back as the same float32. NaN and infinities are the strings ``"NaN"``,
    ``"Infinity"`` and ``"-Infinity"``; a NaN whose bits differ from the default quiet NaN
    (0x7fc00000) is written ``"NaN:0x7fc00001"`` (its bit pattern) so it round-trips too.

Guarantees
    * Every float32 bit pattern round-trips in both formats (NaN payloads, -0.0,
      subnormals, infinities).
    * Paths are used exactly as given (``str`` or ``os.PathLike``); no extension is added.
    * Saves are atomic: the file is written to a temporary file in the target's folder,
      flushed, fsynced and moved over the target with ``os.replace``. Any failure
      (KeyboardInterrupt included) leaves the old file byte-identical and removes the
      temporary file. A temporary file is named ``.<name>.<pid>-<host>-<random>.tmp``;
      when a writer was killed before it could clean up, the next save to the same
      target removes its temporary file once that process is gone (POSIX; on other
      systems such files are left alone).
    * A writer never writes a file its own reader would refuse: a header over the
      100 MB limit is a ValueError before anything is written.
    * Loads never execute anything (no pickle, no eval). Only regular files are read
      (a FIFO, device or directory is a FormatError, and is never opened in a way that
      could block). Every size, offset and shape is checked against the file length
      before anything is allocated; anything damaged, truncated or inconsistent raises
      ``rc.FormatError`` saying what is wrong.
    * On a big-endian host the data is byte-swapped after reading and before writing,
      so files are always little-endian.
"""

from __future__ import annotations

import functools
import json
import os
import re
import stat
import struct
import sys
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from rcmlrs._crc32 import _NO_CRC, _Crc32, _NoCrc
from rcmlrs._tensor import FormatError, RamTensor, ShapeError, from_numpy, zeros

__all__ = [
    "load_binary_with_metadata",
    "load_file",
    "load_file_with_metadata",
    "load_state_binary",
    "load_state_json",
    "save_file",
    "save_tensors_binary",
    "save_tensors_json",
]

if TYPE_CHECKING:
    from typing_extensions import Buffer

FORMAT_NAME = "rcmlrs"
BINARY_VERSION = 1
JSON_VERSION = 1
# safetensors' own limit; a header of n bytes needs a bounded multiple of n to parse.
MAX_HEADER_BYTES = 100_000_000
# the most elements a RamTensor holds (rcmlrs._tensor's MAX_ELEMENTS); the product of the
# non-zero dims is held to it, which matters for empty tensors such as (0, 2**50, 1)
# that no byte count rules out
MAX_DIM = 1 << 40
# keys rcmlrs writes into __metadata__; callers cannot set them
RESERVED_METADATA_KEYS = ("format", "format_version", "tensor_order", "crc32")
# save_file writes plain safetensors files: "format" is free ("pt" for Hugging Face), but
# not "rcmlrs", and a key that would make the reader look for a checksum is refused
_NAMED_RESERVED_KEYS = ("format_version", "tensor_order", "crc32")
_TENSOR_KEYS = frozenset(("dtype", "shape", "data_offsets"))
_CRC_RE = re.compile(rb'"crc32":"([0-9a-f]{8})"')
_BIG_ENDIAN = sys.byteorder == "big"
_CANONICAL_NAN_BITS = 0x7FC00000
_JSON_CHUNK = 1 << 16  # values formatted per step when writing JSON (bounds memory)
_IO_CHUNK = 1 << 22  # bytes per read/write call: checksumming overlaps I/O chunk by chunk
_JSON_WS = b" \t\n\r"  # the whitespace JSON (and safetensors) allows before the header's {


# ============================================================================ helpers


def _check_tensors(tensors, what: str) -> list:
    """The tensors as a list; TypeError (before any file is touched) for anything else."""
    if isinstance(tensors, RamTensor):
        raise TypeError(
            f"{what}: expected a list of RamTensors, got a single RamTensor (wrap it in a list)"
        )
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(
            f"{what}: expected a list or tuple of RamTensors, got {type(tensors).__name__}"
        )
    for i, t in enumerate(tensors):
        if not isinstance(t, RamTensor):
            raise TypeError(f"{what}: item {i} is a {type(t).__name__}, not a RamTensor")
    return list(tensors)


def _check_metadata(metadata, what: str, reserved=RESERVED_METADATA_KEYS) -> dict:
    """``metadata`` as a dict of str -> str (TypeError otherwise); a ``reserved`` key is a
    ValueError."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise TypeError(
            f"{what}: metadata must be a dict of str to str, got {type(metadata).__name__}"
        )
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(
                f"{what}: metadata keys and values must be str "
                f"(safetensors requires it), got {k!r}: {type(v).__name__}"
            )
        if k in reserved:
            raise ValueError(
                f"{what}: metadata key {k!r} is reserved for rcmlrs "
                f"(reserved: {', '.join(reserved)})"
            )
    return dict(metadata)


def _raw_bytes(t: RamTensor):
    """The tensor's bytes as stored in a file (little-endian); None when it is empty."""
    if t.size == 0:
        return None
    if _BIG_ENDIAN:
        return memoryview(t.numpy().byteswap().tobytes())
    # cast: RamTensor exports the buffer protocol on every Python, but its stub can declare
    # __buffer__ only where Python exposes it as a method (3.12+)
    return memoryview(cast("Buffer", t)).cast("B")


@functools.lru_cache(maxsize=1)
def _host_tag() -> str:
    """8 hex digits naming this machine in temporary file names, so that a save never
    judges (by pid) the temporary file of a writer on another machine sharing the folder."""
    import socket

    return f"{zlib.crc32(socket.gethostname().encode('utf-8', 'replace')):08x}"


def _temp_name(base: str, pid: int) -> str:
    """The name of a save's temporary file for target ``base``, written by process ``pid``."""
    return f".{base}.{pid}-{_host_tag()}-{os.urandom(6).hex()}.tmp"


def _pid_alive(pid: int) -> bool:
    """False only when no process ``pid`` exists (POSIX); True when unsure."""
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)  # signal 0: existence check, nothing is sent
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):  # EPERM: alive, another user's
        return True
    return True


def _remove_stale_temps(folder: str, base: str) -> None:
    """Remove temporary files of earlier saves to ``base`` whose writer process has died
    (killed mid-save: SIGKILL, power loss, os._exit). Only on POSIX, where os.kill(pid, 0)
    is a harmless existence check (on Windows os.kill terminates processes), and only
    files of this machine and of other processes: a live writer's file is never touched."""
    if os.name != "posix":
        return
    pattern = re.compile(
        rf"\.{re.escape(base)}\.([0-9]{{1,10}})-{_host_tag()}-[0-9a-f]{{12}}\.tmp", re.ASCII
    )
    try:
        names = os.listdir(folder)
    except OSError:
        return
    me = os.getpid()
    for name in names:
        m = pattern.fullmatch(name)
        if m is None:
            continue
        pid = int(m.group(1))
        if pid == me or _pid_alive(pid):
            continue
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass


def _atomic_write(path, write_body, what: str) -> None:
    """Write a file by calling ``write_body(f)`` on a temporary file in the target's folder,
    then flush, fsync and ``os.replace`` it over ``path``. On any failure (including
    KeyboardInterrupt) the temporary file is removed and the old file is untouched. The
    temporary file's name carries this process's pid, so a later save can remove it if
    this process is killed before it can (``_remove_stale_temps``)."""
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    folder, base = os.path.split(os.path.abspath(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    _remove_stale_temps(folder, base)
    tmp = None
    fd = -1
    try:
        for _ in range(100):
            name = os.path.join(folder, _temp_name(base, os.getpid()))
            try:
                # 0o666 & ~umask, like a plain open(path, "wb") would give
                fd = os.open(name, flags, 0o666)
            except FileExistsError:
                continue
            tmp = name
            break
        else:  # pragma: no cover - 100 random name collisions
            raise FileExistsError(f"{what}: cannot create a temporary file in {folder!r}")
        f = os.fdopen(fd, "wb")
        fd = -1  # f owns it now
        with f:
            write_body(f)
            f.flush()
            os.fsync(f.fileno())
        try:  # keep the permissions of the file being replaced
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        except OSError:
            pass
        os.replace(tmp, path)
        tmp = None
    except BaseException:
        if fd >= 0:
            os.close(fd)
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise
    # make the rename itself durable (POSIX only; best effort)
    if hasattr(os, "O_DIRECTORY"):
        try:
            dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return
        try:
            os.fsync(dfd)
        except OSError:
            pass
        finally:
            os.close(dfd)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _open_regular(path, what: str, buffered: bool):
    """Open ``path`` for reading if it is a regular file; returns (file, size).

    A FIFO, device, socket or directory is a FormatError: reading /dev/zero would never
    end and opening a FIFO blocks until a writer appears. The path is checked with
    ``os.stat`` before opening, and the open itself is non-blocking (O_NONBLOCK), so a
    FIFO swapped in between cannot block either; ``fstat`` of the open file decides."""
    path = os.fspath(path)
    st = os.stat(path)  # FileNotFoundError, PermissionError, ... as usual
    if not stat.S_ISREG(st.st_mode):
        raise FormatError(f"{what}: {_short(path)} is {_kind(st.st_mode)}, not a regular file")
    flags = (
        os.O_RDONLY
        | getattr(os, "O_BINARY", 0)
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_NOCTTY", 0)
        | getattr(os, "O_CLOEXEC", 0)
    )
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FormatError(f"{what}: {_short(path)} is {_kind(st.st_mode)}, not a regular file")
        if hasattr(os, "set_blocking"):  # no effect on a regular file; restore the default
            os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb", buffering=-1 if buffered else 0)
    except BaseException:
        os.close(fd)
        raise
    return f, st.st_size


def _empty_tensor(shape) -> RamTensor:
    """A tensor of ``shape`` whose contents are about to be overwritten (no zero fill)."""
    import numpy as np

    n = shape[0] * shape[1] * shape[2]
    if n == 0:
        return zeros(shape)
    # 64-byte aligned, like the tensors rcmlrs allocates itself
    raw = np.empty(n * 4 + 64, dtype=np.uint8)
    start = (-raw.ctypes.data) % 64
    arr = raw[start : start + n * 4].view(np.float32).reshape(shape)
    return from_numpy(arr)


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise FormatError(f"duplicate JSON key {_short(k)}")
        d[k] = v
    return d


def _reject_constant(name):
    raise FormatError(f"invalid JSON: bare {name} is not JSON (write it as a string)")


def _container_count(text) -> int:
    """How many '{' and '[' ``text`` holds (inside strings too: counting is cheap)."""
    if isinstance(text, str):
        return text.count("{") + text.count("[")
    return text.count(b"{") + text.count(b"[")


def _max_containers(length: int) -> int:
    """The most '{' / '[' a JSON text of ``length`` bytes may hold (see _parse_json)."""
    return length // 8 + 16


def _parse_json(text, what: str):
    """json.loads that rejects duplicate keys and bare NaN/Infinity, and turns every
    parsing problem (bad UTF-8, syntax, deep nesting, huge numbers) into FormatError."""
    # A legitimate file has few containers per byte; a flood of "{}" or "[]" would make
    # the parser allocate ~30x the text size, so it is refused before parsing.
    containers = _container_count(text)
    if containers > _max_containers(len(text)):
        raise FormatError(
            f"{what}: {containers} JSON objects/arrays in {len(text)} bytes; not a plausible header"
        )
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except FormatError as e:
        raise FormatError(f"{what}: {e}") from None
    except UnicodeDecodeError as e:
        raise FormatError(f"{what}: not valid UTF-8 ({e})") from None
    except RecursionError:
        raise FormatError(f"{what}: JSON nested too deeply") from None
    except (ValueError, OverflowError) as e:  # JSONDecodeError, int digit limit
        raise FormatError(f"{what}: invalid JSON ({e})") from None


def _short(x, limit: int = 60) -> str:
    """repr(x) cut to ``limit`` characters, for error messages about hostile input."""
    r = repr(x)
    return r if len(r) <= limit else r[: limit - 3] + "..."


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _nonzero_product(shape) -> int:
    """The product of the non-zero dims (held to MAX_DIM, even for an empty tensor)."""
    p = 1
    for d in shape:
        p *= max(d, 1)
    return p


def _shape3(shape, what: str) -> tuple:
    """A JSON shape (list of 0-3 non-negative ints) promoted to (layers, rows, cols)."""
    if not isinstance(shape, list):
        raise FormatError(f"{what}: shape must be a list of ints, got {type(shape).__name__}")
    if len(shape) > 3:
        raise FormatError(
            f"{what}: rank-{len(shape)} shape {_short(shape)}; rcmlrs tensors have at most 3 dims"
        )
    for d in shape:
        if not _is_int(d) or d < 0:
            raise FormatError(
                f"{what}: shape {_short(shape)} has a dimension that is not a non-negative int"
            )
    # even an empty tensor must have a shape rcmlrs and NumPy can represent
    if _nonzero_product(shape) > MAX_DIM:
        raise FormatError(
            f"{what}: shape {_short(shape)} is too large (more than {MAX_DIM} "
            f"elements even ignoring zero dimensions)"
        )
    return (1,) * (3 - len(shape)) + tuple(shape)


# ============================================================================= binary


def save_tensors_binary(path, tensors, *, metadata=None) -> None:
    """Save a list of tensors to ``path`` as a safetensors-compatible file (atomically).

    ``metadata``: optional dict of str -> str stored in the header's ``__metadata__``
    (for example a model's architecture); read it back with ``load_binary_with_metadata``.
    Tensors are named ``t0000``, ``t0001``, ... in list order.
    """
    what = "save_tensors_binary"
    tensors = _check_tensors(tensors, what)
    extra = _check_metadata(metadata, what)

    hbytes = _binary_header(tensors, extra, what)
    _atomic_write(path, lambda f: _write_binary(f, tensors, hbytes), what)


def _binary_header(tensors: list, extra: dict, what: str) -> bytes:
    """The padded JSON header of a binary file, with ``"crc32":"00000000"`` in it
    (``_write_binary`` puts the real checksum there)."""
    names = [f"t{i:04d}" for i in range(len(tensors))]
    meta = {
        "format": FORMAT_NAME,
        "format_version": str(BINARY_VERSION),
        "tensor_order": ",".join(names),
        "crc32": "00000000",
    }
    meta.update(extra)
    return _header_bytes(
        meta, [(n, list(t.shape), t.nbytes) for n, t in zip(names, tensors, strict=True)], what
    )


def _header_bytes(meta: dict, entries: list, what: str) -> bytes:
    """The padded JSON header of a safetensors file holding ``entries`` (name, shape,
    nbytes) of F32 data back to back in that order, ``meta`` as ``__metadata__`` (left out
    when empty). ValueError, before any I/O, when a reader would refuse it."""
    header: dict[str, object] = {"__metadata__": meta} if meta else {}
    offset = 0
    for name, shape, nbytes in entries:
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    hbytes = json.dumps(header, separators=(",", ":")).encode("ascii")
    hbytes += b" " * (-(8 + len(hbytes)) % 8)  # data starts 8-byte aligned
    # never write a file the reader refuses: the same header limits, before any I/O
    if len(hbytes) > MAX_HEADER_BYTES:
        raise ValueError(
            f"{what}: the header would be {len(hbytes)} bytes, over the {MAX_HEADER_BYTES}-byte "
            f"limit of safetensors readers (rcmlrs's included); save fewer tensors or less "
            f"metadata"
        )
    containers = _container_count(hbytes)
    if containers > _max_containers(len(hbytes)):
        raise ValueError(
            f"{what}: the header would hold {containers} JSON '{{' / '[' characters in "
            f"{len(hbytes)} bytes, more than readers accept (one per 8 bytes); the "
            f"metadata strings have too many brackets"
        )
    return hbytes


def _write_binary(f, tensors: list, hbytes: bytes) -> None:
    """Write the file to ``f`` (seekable): the header with a zero checksum, the data while
    the CRC-32 is computed beside it, then the header again with the checksum in place."""
    f.write(struct.pack("<Q", len(hbytes)))
    f.write(hbytes)
    crc = _Crc32(zlib.crc32(hbytes), sum(t.nbytes for t in tensors))
    try:
        _write_data(f, map(_raw_bytes, tensors), crc)
    finally:
        value = crc.result()
    placeholder = b'"crc32":"00000000"'
    if hbytes.count(placeholder) != 1:  # cannot happen: json.dumps escapes user quotes
        raise RuntimeError("save_tensors_binary: internal error placing the checksum")
    end = f.tell()
    f.seek(8)
    f.write(hbytes.replace(placeholder, b'"crc32":"%08x"' % value))
    f.seek(end)


def _write_data(f, raws, crc: _Crc32 | _NoCrc) -> None:
    """Write each tensor's file bytes (``_raw_bytes``; None for an empty tensor) in
    chunks, feeding each chunk to ``crc``."""
    for raw in raws:
        if raw is None:
            continue
        for pos in range(0, len(raw), _IO_CHUNK):
            chunk = raw[pos : pos + _IO_CHUNK]
            crc.add(chunk)
            f.write(chunk)


def _readinto_exact(f, mv, crc: _Crc32 | _NoCrc, what: str) -> None:
    """Fill ``mv`` from ``f`` in chunks, feeding each chunk to ``crc``."""
    pos, n = 0, len(mv)
    while pos < n:
        got = f.readinto(mv[pos : min(n, pos + _IO_CHUNK)])
        if not got:
            raise FormatError(f"{what}: file ended early (truncated while reading)")
        crc.add(mv[pos : pos + got])
        pos += got


def _read_binary(f, size: int, what: str, verify: bool = True):
    """Parse a safetensors/rcmlrs container of F32 tensors from the open binary file ``f``
    of ``size`` bytes. Returns (tensors in order, metadata)."""
    by_name, meta = _read_container(f, size, what, _BINARY_DTYPES, verify)
    return list(by_name.values()), meta


def _read_container(f, size: int, what: str, dtypes, verify: bool = True):
    """Parse a safetensors/rcmlrs container whose tensors' dtypes are in ``dtypes``
    (names in _ITEMSIZE) from the open binary file ``f`` of ``size`` bytes. Returns (dict of
    tensors by name, in order, metadata). The order is rcmlrs's ``tensor_order``, or
    else the data offsets' (a writer's order)."""
    if size < 8:
        raise FormatError(
            f"{what}: file of {size} bytes is too short for a safetensors header (needs at least 8)"
        )
    head = f.read(8)
    if len(head) != 8:
        raise FormatError(f"{what}: file ended early (truncated)")
    (hlen,) = struct.unpack("<Q", head)
    if hlen > MAX_HEADER_BYTES:
        raise FormatError(f"{what}: header length {hlen} exceeds the {MAX_HEADER_BYTES}-byte limit")
    if hlen > size - 8:
        raise FormatError(
            f"{what}: header length {hlen} is larger than the rest of the file "
            f"({size - 8} bytes); truncated or not a safetensors file"
        )
    hbytes = f.read(hlen)
    if len(hbytes) != hlen:
        raise FormatError(f"{what}: file ended early inside the header (truncated)")
    # JSON whitespace may precede the '{' (the safetensors package accepts it too)
    if not hbytes.lstrip(_JSON_WS).startswith(b"{"):
        raise FormatError(f"{what}: header does not start with '{{'; not a safetensors file")
    header = _parse_json(hbytes, f"{what}: header")
    if not isinstance(header, dict):
        raise FormatError(f"{what}: header is not a JSON object")

    meta = header.pop("__metadata__", None)
    if meta is None:
        meta = {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise FormatError(f"{what}: __metadata__ must be an object of string values")

    data_len = size - 8 - hlen
    entries = []  # (begin, end, index in header, name, shape, dtype)
    for i, (name, info) in enumerate(header.items()):
        where = f"{what}: tensor {_short(name)}"
        if not isinstance(info, dict):
            raise FormatError(f"{where}: entry is not an object")
        if info.keys() != _TENSOR_KEYS:
            raise FormatError(
                f"{where}: entry keys {_short(sorted(info))}; expected {sorted(_TENSOR_KEYS)}"
            )
        dtype = info["dtype"]
        if not isinstance(dtype, str) or dtype not in dtypes:
            raise FormatError(
                f"{where}: dtype {_short(dtype)} is not supported "
                f"({what} reads {', '.join(dtypes)})"
            )
        shape = _shape3(info["shape"], where)
        offs = info["data_offsets"]
        if (
            not isinstance(offs, list)
            or len(offs) != 2
            or not all(map(_is_int, offs))
            or not 0 <= offs[0] <= offs[1]
        ):
            raise FormatError(
                f"{where}: data_offsets {_short(offs)} must be [begin, end] with 0 <= begin <= end"
            )
        begin, end = offs
        if end > data_len:
            raise FormatError(
                f"{where}: data_offsets {offs} run past the data "
                f"({data_len} bytes); truncated file?"
            )
        # Python ints cannot overflow; the product is compared, never allocated
        nbytes = shape[0] * shape[1] * shape[2] * _ITEMSIZE[dtype]
        if nbytes != end - begin:
            raise FormatError(
                f"{where}: shape {info['shape']} of {dtype} needs {nbytes} bytes but "
                f"data_offsets {offs} hold {end - begin}"
            )
        entries.append((begin, end, i, name, shape, dtype))

    # the data must be exactly the tensors' bytes, back to back, in offset order
    entries.sort()
    pos = 0
    for begin, end, _, name, _, _ in entries:
        if begin != pos:
            kind = "overlap" if begin < pos else "a gap"
            raise FormatError(
                f"{what}: tensor {_short(name)} starts at byte {begin}, expected {pos} "
                f"({kind} in data_offsets)"
            )
        pos = end
    if pos != data_len:
        raise FormatError(f"{what}: {data_len - pos} trailing bytes after the last tensor")

    order, expected_crc = _rcmlrs_metadata(meta, [e[3] for e in entries], hbytes, what)
    if not verify:
        expected_crc = None

    # all checks passed: now allocate and read, one tensor at a time, in file order
    checking = expected_crc is not None
    crc = _Crc32(
        zlib.crc32(_CRC_RE.sub(b'"crc32":"00000000"', hbytes)) if checking else 0,
        data_len if checking else 0,
    )
    by_name = {}
    try:
        for _begin, _end, _, name, shape, dtype in entries:
            by_name[name] = _read_tensor(f, shape, dtype, crc if checking else _NO_CRC, what)
    finally:
        got = crc.result() if checking else None
    if checking and got != expected_crc:
        raise FormatError(
            f"{what}: checksum mismatch (file says crc32 {expected_crc:08x}, "
            f"contents give {got:08x}); the file is damaged"
        )
    if _BIG_ENDIAN:
        for _begin, _end, _, name, _, dtype in entries:
            if dtype == "F32" and by_name[name].size:
                by_name[name].numpy().byteswap(inplace=True)
    return {n: by_name[n] for n in order}, dict(meta)


def _rcmlrs_metadata(meta: dict, order: list, hbytes: bytes, what: str):
    """rcmlrs's own metadata: version, order and checksum. Returns (tensor order, the
    crc32 to check or None). A file with any of rcmlrs's keys must have all of them, so
    that damage to the metadata itself cannot switch the checksum off."""
    ours = [k for k in RESERVED_METADATA_KEYS if k != "format" and k in meta]
    if meta.get("format") != FORMAT_NAME and not ours:
        return order, None  # a plain safetensors file
    missing = [k for k in RESERVED_METADATA_KEYS if k not in meta]
    if meta.get("format") != FORMAT_NAME or missing:
        raise FormatError(
            f"{what}: damaged rcmlrs metadata (format {_short(meta.get('format'))}"
            f", missing keys {missing})"
        )
    version = meta["format_version"]
    if version != str(BINARY_VERSION):
        raise FormatError(
            f"{what}: rcmlrs format_version {_short(version)} is not supported "
            f"(this rcmlrs reads version {BINARY_VERSION})"
        )
    listed = meta["tensor_order"].split(",") if meta["tensor_order"] else []
    if sorted(listed) != sorted(order):
        raise FormatError(
            f"{what}: metadata tensor_order does not list exactly the tensors in the header"
        )
    found = _CRC_RE.findall(hbytes)
    if len(found) != 1 or found[0].decode() != meta["crc32"]:
        raise FormatError(
            f"{what}: crc32 in metadata is malformed (expected 8 lowercase hex digits)"
        )
    return listed, int(meta["crc32"], 16)


def _read_tensor(f, shape: tuple, dtype: str, crc: _Crc32 | _NoCrc, what: str) -> RamTensor:
    """The next tensor of ``shape`` from ``f``, stored as ``dtype`` (little-endian),
    as float32. F32 is read straight into the tensor; other dtypes are read in chunks
    and converted chunk by chunk, so the only extra memory is one chunk."""
    t = _empty_tensor(shape)
    if not t.size:
        return t
    if dtype == "F32":  # (byte-swapped by the caller on big-endian hosts, after the CRC)
        _readinto_exact(f, memoryview(cast("Buffer", t)).cast("B"), crc, what)
        return t
    import numpy as np

    itemsize, convert = _ITEMSIZE[dtype], _CONVERT[dtype]
    out = t.numpy().reshape(-1)
    step = _IO_CHUNK // itemsize
    for pos in range(0, t.size, step):
        n = min(step, t.size - pos)
        raw = np.empty(n * itemsize, np.uint8)  # a fresh chunk: the CRC may still read the last
        _readinto_exact(f, raw.data, crc, what)
        convert(raw, out[pos : pos + n])
    return t


def _f16_to_f32(raw, out) -> None:
    out[:] = raw.view("<f2")  # exact


def _bf16_to_f32(raw, out) -> None:
    import numpy as np

    out.view(np.uint32)[:] = raw.view("<u2")  # bfloat16 is the top half of a float32...
    out.view(np.uint32)[:] <<= 16  # ...so the bits move up, exactly


def _f64_to_f32(raw, out) -> None:
    import numpy as np

    with np.errstate(over="ignore"):  # beyond float32's range: +-inf, the nearest
        out[:] = raw.view("<f8")


# the safetensors dtypes rcmlrs reads: bytes per item, and the conversion of raw
# little-endian bytes into float32 for all but F32
_ITEMSIZE = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8}
_CONVERT = {"F16": _f16_to_f32, "BF16": _bf16_to_f32, "F64": _f64_to_f32}
_BINARY_DTYPES = ("F32",)  # what load_state_binary reads
_NAMED_DTYPES = tuple(_ITEMSIZE)  # what load_file reads


def load_binary_with_metadata(path, *, verify=True):
    """Load a binary file; returns ``(tensors, metadata)``. ``metadata`` is the header's
    ``__metadata__`` (str -> str): for an rcmlrs file the keys ``format``,
    ``format_version``, ``tensor_order``, ``crc32`` plus whatever was passed as
    ``metadata=`` when saving; for a plain safetensors file whatever it holds (``{}`` if
    none; no ``crc32`` key means no checksum was checked).

    ``verify=False`` skips the CRC-32 comparison (about a third of a large load's time on
    one core); every structural check (sizes, offsets, shapes, dtype) still runs, so a
    damaged file cannot cause a crash or a huge allocation, but flipped data bits go
    unnoticed.
    """
    what = "load_state_binary"
    f, size = _open_regular(path, what, buffered=False)
    with f:
        return _read_binary(f, size, what, verify=verify)


def load_state_binary(path, *, verify=True) -> list:
    """Load the list of tensors saved by ``save_tensors_binary`` (or any safetensors file
    of F32 tensors of rank <= 3, in data-offset order). Damaged, truncated or hostile
    files raise ``rc.FormatError``. ``verify=False`` skips the checksum (see
    ``rc.io.load_binary_with_metadata``).
    Returns a list of RamTensors, each in its saved (layers, rows, cols) shape."""
    return load_binary_with_metadata(path, verify=verify)[0]


# ======================================================================= named tensors


def save_file(path, tensors, metadata=None) -> None:
    """Save ``{name: tensor}`` to ``path`` as a safetensors file (atomically), the way
    ``safetensors.numpy.save_file`` does: names kept, data in the dict's order.

    A value is a RamTensor (saved with its (layers, rows, cols) shape) or a NumPy array of
    0-3 dims (saved in its own shape, converted to float32). ``metadata``: an optional
    dict of str -> str for the header's ``__metadata__`` (``{"format": "pt"}`` for
    Hugging Face tooling, for example). No checksum is written (the file is a plain
    safetensors file); ``load_file`` reads it back.
    """
    what = "save_file"
    entries, raws = _named_tensors(tensors, what)
    meta = _check_metadata(metadata, what, _NAMED_RESERVED_KEYS)
    if meta.get("format") == FORMAT_NAME:  # the reader would look for a checksum
        raise ValueError(
            f"{what}: metadata format {FORMAT_NAME!r} is reserved for save_tensors_binary's files"
        )
    hbytes = _header_bytes(meta, entries, what)
    _atomic_write(path, lambda f: _write_named(f, hbytes, raws), what)


def _write_named(f, hbytes: bytes, raws: list) -> None:
    f.write(struct.pack("<Q", len(hbytes)))
    f.write(hbytes)
    _write_data(f, raws, _NO_CRC)


def _named_tensors(tensors, what: str):
    """(entries (name, shape, nbytes), file bytes) of a dict of tensors, checked before
    any file is touched: TypeError for anything but str names and RamTensor or real
    NumPy values, ShapeError for more than 3 dims."""
    import numpy as np

    if not isinstance(tensors, Mapping):
        raise TypeError(
            f"{what}: expected a dict of name -> RamTensor or NumPy array, "
            f"got {type(tensors).__name__}"
        )
    entries, raws = [], []
    for name, x in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"{what}: tensor names must be str, got {_short(name)}")
        if name == "__metadata__":
            raise ValueError(f"{what}: the name '__metadata__' is reserved by the format")
        if isinstance(x, RamTensor):
            entries.append((name, list(x.shape), x.nbytes))
            raws.append(_raw_bytes(x))
            continue
        if not isinstance(x, np.ndarray) or x.dtype.kind not in "fiub":
            kind = f"array of {x.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
            raise TypeError(
                f"{what}: tensor {_short(name)} is a {kind}; expected a RamTensor or a "
                f"real NumPy array"
            )
        if x.ndim > 3:
            raise ShapeError(
                f"{what}: tensor {_short(name)} has {x.ndim} dims {x.shape}; at most 3"
            )
        if _nonzero_product(x.shape) > MAX_DIM:
            raise ValueError(f"{what}: tensor {_short(name)} of shape {x.shape} is too large")
        with np.errstate(over="ignore"):  # float64 beyond float32's range: +-inf
            a = np.ascontiguousarray(x, dtype="<f4").reshape(-1)
        entries.append((name, list(x.shape), a.nbytes))
        raws.append(a.view(np.uint8).data if a.size else None)
    return entries, raws


def load_file_with_metadata(path, *, verify=True):
    """Load a safetensors file; returns ``(tensors, metadata)``: ``tensors`` a dict
    ``{name: RamTensor}`` in data-offset order (the writer's order), ``metadata`` the
    header's ``__metadata__`` (str -> str, ``{}`` if none). See ``load_file``."""
    what = "load_file"
    f, size = _open_regular(path, what, buffered=False)
    with f:
        return _read_container(f, size, what, _NAMED_DTYPES, verify)


def load_file(path, *, verify=True) -> dict:
    """Load ``{name: RamTensor}`` from a safetensors file (``save_file``'s, the
    ``safetensors`` package's, ``save_tensors_binary``'s), in data-offset order, which
    is the order the writer wrote them in.

    F32 tensors are read as they are; F16, BF16 and F64 are converted to float32 (F64
    rounded to nearest, beyond float32's range to +-inf). Tensors of 0-2 dims are promoted
    like ``rc.tensor``. Any other dtype, more than 3 dims, or anything damaged,
    truncated or inconsistent raises ``rc.FormatError`` naming the tensor. An rcmlrs
    file's checksum is checked unless ``verify=False``.
    """
    return load_file_with_metadata(path, verify=verify)[0]


# =============================================================================== JSON


_SPECIAL_TEXT = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
_NAN_BITS_RE = re.compile(r"NaN:0x([0-9a-f]{8})")


def _format_values(flat) -> str:
    """Comma-separated JSON text for a flat float32 array: shortest round-trip decimals,
    NaN and infinities as strings."""
    import numpy as np

    text = flat.astype(str)  # Dragon4, shortest digits that identify the float32
    finite = np.isfinite(flat)
    # Readers parse decimal text to a correctly rounded double, then round to float32.
    # Check that this gives the same bits back; where it would not (never observed), write
    # the float32's exact double value instead, which that path reads back exactly.
    with np.errstate(all="ignore"):
        back = np.where(finite, text, "0").astype(np.float64).astype(np.float32)
    bad = finite & (back.view(np.uint32) != flat.view(np.uint32))
    if bad.any():
        for i in np.flatnonzero(bad):
            text[i] = repr(float(flat[i]))
    if not finite.all():
        text = text.astype(object)
        bits = flat.view(np.uint32)
        for i in np.flatnonzero(~finite):
            x = flat[i]
            if np.isnan(x):
                b = int(bits[i])
                text[i] = '"NaN"' if b == _CANONICAL_NAN_BITS else f'"NaN:0x{b:08x}"'
            else:
                text[i] = '"Infinity"' if x > 0 else '"-Infinity"'
    return ", ".join(text.tolist())


def save_tensors_json(path, tensors) -> None:
    """Save a list of tensors to ``path`` as human-readable JSON (atomically)::

        {"format": "rcmlrs", "version": 1, "tensors": [{"shape": [l, r, c], "data": [...]}]}

    Values are the shortest decimal text that reads back as the same float32; NaN and
    infinities are the strings "NaN", "Infinity", "-Infinity" (a NaN with other bits than
    the default quiet NaN is "NaN:0x<bits>"), so every bit pattern round-trips.
    """
    what = "save_tensors_json"
    tensors = _check_tensors(tensors, what)

    _atomic_write(path, lambda f: _write_json(f, tensors), what)


def _write_json(f, tensors: list) -> None:
    f.write(b'{"format": "rcmlrs", "version": %d, "tensors": [' % JSON_VERSION)
    for i, t in enumerate(tensors):
        f.write(
            b'%s\n  {"shape": [%d, %d, %d], "data": ['
            % (b"," if i else b"", t.layers, t.rows, t.cols)
        )
        flat = t.numpy().reshape(-1) if t.size else ()
        for s in range(0, len(flat), _JSON_CHUNK):
            if s:
                f.write(b", ")
            f.write(_format_values(flat[s : s + _JSON_CHUNK]).encode("ascii"))
        f.write(b"]}")
    f.write(b"\n]}\n" if tensors else b"]}\n")


def _values_to_tensor(data, shape, where: str) -> RamTensor:
    import numpy as np

    kinds = set(map(type, data))
    if not kinds <= {int, float, str}:
        bad = next(type(x).__name__ for x in data if type(x) not in (int, float, str))
        raise FormatError(
            f'{where}: data holds a {bad}; expected numbers or "NaN"/"Infinity"/"-Infinity"'
        )
    payloads = {}
    if str in kinds:
        data = list(data)
        for i, x in enumerate(data):
            if type(x) is str:
                if x in _SPECIAL_TEXT:
                    data[i] = _SPECIAL_TEXT[x]
                else:
                    m = _NAN_BITS_RE.fullmatch(x)
                    if m is None or (int(m.group(1), 16) & 0x7FFFFFFF) <= 0x7F800000:
                        raise FormatError(
                            f"{where}: data holds the string {_short(x)}; only "
                            f'"NaN", "Infinity", "-Infinity", "NaN:0x<bits>"'
                        )
                    payloads[i] = int(m.group(1), 16)
                    data[i] = float("nan")
    try:
        with np.errstate(all="ignore"):  # 1e39 -> inf is the correctly rounded float32
            arr = np.array(data, dtype=np.float64).astype(np.float32)
    except OverflowError:  # an int too large for a double
        raise FormatError(f"{where}: data holds an integer too large for float32") from None
    if payloads:
        bits = arr.view(np.uint32)
        for i, b in payloads.items():
            bits[i] = b
    t = _empty_tensor(shape)
    if t.size:
        t.numpy().reshape(-1)[:] = arr
    return t


def load_state_json(path) -> list:
    """Load the list of tensors saved by ``save_tensors_json``. Damaged or hostile files
    raise ``rc.FormatError``.
    Returns a list of RamTensors, each in its saved (layers, rows, cols) shape."""
    what = "load_state_json"
    f, size = _open_regular(path, what, buffered=True)
    with f:
        raw = f.read(size)  # never more than fstat said: a growing file cannot run away
    return _read_json(raw, what)


def _read_json(raw: bytes, what: str) -> list:
    doc = _parse_json(raw, what)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise FormatError(f'{what}: not an rcmlrs JSON file (no "format": "rcmlrs")')
    if set(doc) != {"format", "version", "tensors"}:
        raise FormatError(
            f"{what}: top-level keys {sorted(doc)}; expected ['format', 'tensors', 'version']"
        )
    version = doc["version"]
    if not _is_int(version) or version != JSON_VERSION:
        raise FormatError(
            f"{what}: version {version!r} is not supported "
            f"(this rcmlrs reads version {JSON_VERSION})"
        )
    entries = doc["tensors"]
    if not isinstance(entries, list):
        raise FormatError(f'{what}: "tensors" must be a list')
    out = []
    for i, e in enumerate(entries):
        where = f"{what}: tensor {i}"
        if not isinstance(e, dict) or set(e) != {"shape", "data"}:
            raise FormatError(f'{where}: expected an object with keys "shape" and "data"')
        shape = _shape3(e["shape"], where)
        data = e["data"]
        if not isinstance(data, list):
            raise FormatError(f'{where}: "data" must be a flat list of numbers')
        n = shape[0] * shape[1] * shape[2]
        if n != len(data):
            raise FormatError(f"{where}: shape {e['shape']} needs {n} values, data has {len(data)}")
        out.append(_values_to_tensor(data, shape, where))
    return out
