"""Fuzz harness for the rcmlrs loaders (binary/safetensors and JSON).

Every input must either load or raise ``rc.FormatError``; any other exception, a crash,
a hang or a huge allocation is a bug. What loads must save and load again bit for bit.

Run it with atheris (``pip install atheris``) from the repository root, after
``python setup.py build_ext --inplace``::

    mkdir -p build/fuzz-artifacts
    PYTHONPATH=. timeout 900 python tests/fuzz/fuzz_load.py -max_total_time=600 \\
        -rss_limit_mb=2048 -timeout=10 -max_len=4096 \\
        -artifact_prefix=build/fuzz-artifacts/ build/fuzz-corpus

(``timeout`` leaves room for start-up: instrumenting takes a while on a busy machine.)

A crash or an exception other than FormatError stops the run and leaves the input in
build/fuzz-artifacts/ (replay: ``python tests/fuzz/fuzz_load.py <file>``).

Positional arguments are libFuzzer corpus folders; the first one is created and filled
with valid seed files when it is empty. ``tests/fuzz/test_fuzz_seeded.py`` runs the same
``one_input`` over a fixed set of seeded mutations under plain pytest (no atheris).

Input layout: the first byte picks a target: 0 raw binary file, 1 raw JSON file,
2 a binary file whose header is built from the input (reaches the field checks),
3 raw named-tensor file (``rc.io.load_file``: F16/BF16/F64 converted too).
"""

from __future__ import annotations

import io
import json
import os
import struct
import sys

import numpy as np

import rcmlrs as rc
from rcmlrs import io as rio

TARGETS = 4


class Provider:
    """A tiny deterministic stand-in for atheris.FuzzedDataProvider."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def pick(self, options):
        return options[self.byte() % len(options)]

    def u64(self) -> int:
        return int.from_bytes(bytes(self.byte() for _ in range(8)), "little")

    def rest(self) -> bytes:
        out = self.data[self.pos :]
        self.pos = len(self.data)
        return out


_DIM_CHOICES = (0, 1, 2, 3, -1, 2**31, 2**32 + 1, 2**62, 2**64 - 1, 10**30, True, 1.0, "2")


def structured_file(data: bytes) -> bytes:
    """A safetensors file whose header fields come from ``data`` (mostly plausible)."""
    p = Provider(data)
    n = p.byte() % 5
    header = {}
    if p.byte() % 2:
        meta = {
            "format": p.pick(("rcmlrs", "other")),
            "format_version": p.pick(("1", "2", "")),
            "tensor_order": ",".join(f"t{i}" for i in range(n)) if p.byte() % 4 else "x",
        }
        if p.byte() % 2:
            meta["crc32"] = p.pick(("00000000", "zz", "deadbeef", "%08x" % (p.u64() & 0xFFFFFFFF)))
        if p.byte() % 7 == 0:
            meta["bad"] = p.pick((1, None, [], {}))
        header["__metadata__"] = meta
    offset = 0
    for i in range(n):
        rank = p.byte() % 6
        if p.byte() % 4:
            shape = [p.byte() % 4 for _ in range(rank)]
        else:
            shape = [p.pick(_DIM_CHOICES) for _ in range(rank)]
        size = 4
        for d in shape:
            size *= d if isinstance(d, int) and not isinstance(d, bool) and d >= 0 else 1
        if p.byte() % 4:
            offs = [offset, offset + size]
        else:
            offs = [p.pick((0, offset, offset + 4, -4, 2**64)), p.pick((offset + size, 0, 2**63))]
        offset = offs[1] if isinstance(offs[1], int) else offset
        entry = {
            "dtype": p.pick(("F32", "F32", "F32", "F16", "I64", "f32", 7)),
            "shape": shape,
            "data_offsets": offs,
        }
        if p.byte() % 9 == 0:
            entry["extra"] = 1
        if p.byte() % 9 == 0:
            del entry["dtype"]
        header[f"t{i}"] = entry
    hbytes = json.dumps(header).encode()
    hlen = len(hbytes)
    if p.byte() % 8 == 0:
        hlen = p.pick((0, hlen + 1, hlen - 1, 2**64 - 1, 100_000_001))
    body = p.rest()
    want = max(0, min(offset, 1 << 16))
    if len(body) < want and body:  # mostly exact data lengths, so checksums get checked
        body = (body * (want // len(body) + 1))[:want]
    return struct.pack("<Q", hlen) + hbytes + body


def _check_roundtrip(tensors, metadata=None):
    assert all(isinstance(t, rc.RamTensor) and len(t.shape) == 3 for t in tensors)
    extra = {k: v for k, v in (metadata or {}).items() if k not in rio.RESERVED_METADATA_KEYS}
    buf = io.BytesIO()
    rio._write_binary(buf, tensors, rio._binary_header(tensors, extra, "fuzz"))
    again, _ = rio._read_binary(io.BytesIO(buf.getvalue()), len(buf.getvalue()), "fuzz")
    assert len(again) == len(tensors)
    for a, b in zip(tensors, again, strict=True):
        assert a.shape == b.shape
        assert np.array_equal(a.numpy().view(np.uint32), b.numpy().view(np.uint32))


def _check_named_roundtrip(named, metadata):
    assert all(isinstance(t, rc.RamTensor) and len(t.shape) == 3 for t in named.values())
    extra = {k: v for k, v in metadata.items() if k not in rio.RESERVED_METADATA_KEYS}
    entries, raws = rio._named_tensors(named, "fuzz")
    try:
        hbytes = rio._header_bytes(extra, entries, "fuzz")
    except ValueError:  # refusing to write (brackets in names over the budget) is fine
        return
    buf = io.BytesIO()
    rio._write_named(buf, hbytes, raws)
    data = buf.getvalue()
    again, meta = rio._read_container(io.BytesIO(data), len(data), "fuzz", rio._NAMED_DTYPES)
    assert list(again) == list(named) and meta == extra
    for a, b in zip(named.values(), again.values(), strict=True):
        assert a.shape == b.shape
        assert np.array_equal(a.numpy().view(np.uint32), b.numpy().view(np.uint32))


def one_input(data: bytes) -> None:
    if not data:
        return
    target, payload = data[0] % TARGETS, data[1:]
    try:
        if target == 3:
            named, meta = rio._read_container(
                io.BytesIO(payload), len(payload), "fuzz", rio._NAMED_DTYPES
            )
            return _check_named_roundtrip(named, meta)
        if target == 1:
            tensors = rio._read_json(payload, "fuzz")
            meta = None
        else:
            if target == 2:
                payload = structured_file(payload)
            tensors, meta = rio._read_binary(io.BytesIO(payload), len(payload), "fuzz")
    except rc.FormatError:
        return
    _check_roundtrip(tensors, meta)


def seed_files() -> list[bytes]:
    """Valid inputs (target byte first) that mutations start from."""
    rng = np.random.default_rng(0)
    specials = np.array([np.nan, -np.inf, np.inf, -0.0, 1e-45, 3.4e38], np.float32)
    sets = [
        [],
        [rc.tensor([[1.0, 2.0], [3.0, 4.0]])],
        [rc.zeros((0, 2, 3)), rc.tensor(specials), rc.tensor(rng.standard_normal((2, 2, 3)))],
    ]
    out = []
    for ts in sets:
        buf = io.BytesIO()
        rio._write_binary(buf, ts, rio._binary_header(ts, {"architecture": '{"a": 1}'}, "seed"))
        out.append(b"\x00" + buf.getvalue())
        buf = io.BytesIO()
        rio._write_json(buf, ts)
        out.append(b"\x01" + buf.getvalue())
    # a plain safetensors file without metadata, unsorted keys, rank 0-2
    plain = {
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
        "a": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]},
    }
    h = json.dumps(plain).encode()
    out.append(b"\x00" + struct.pack("<Q", len(h)) + h + bytes(range(12)))
    # a named file with every dtype load_file converts (F64, F16, BF16 and F32)
    named = {
        "w": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]},
        "h": {"dtype": "F16", "shape": [1, 2], "data_offsets": [16, 20]},
        "b": {"dtype": "BF16", "shape": [2, 1, 1], "data_offsets": [20, 24]},
        "f": {"dtype": "F32", "shape": [], "data_offsets": [24, 28]},
    }
    h = json.dumps({"__metadata__": {"format": "pt"}, **named}).encode()
    data = np.array([1.5, -1e300], "<f8").tobytes() + np.array([0.5, np.inf], "<f2").tobytes()
    data += bytes([0x80, 0x3F, 0xC0, 0x7F]) + np.float32(-0.0).tobytes()  # bf16 1.0, NaN
    out.append(b"\x03" + struct.pack("<Q", len(h)) + h + data)
    out.append(b"\x02" + bytes(range(64)))
    out.append(b"\x02\x03\x01\x01\x00\x02\x03" + bytes(40))
    return out


def mutate(rng, data: bytes, seeds: list, interesting: list, keep: int = 0) -> bytes:
    """1-4 random edits of ``data`` (byte, cut, insert, delete, splice with a seed, insert
    an interesting token), leaving its first ``keep`` bytes (a target selector) alone: the
    seeded, atheris-free stand-in for the fuzzer's mutations."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        i = rng.randrange(keep, len(b) + 1)
        if op == 0 and len(b) > keep:
            b[min(i, len(b) - 1)] = rng.randrange(256)
        elif op == 1:
            del b[i:]
        elif op == 2:
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3:
            del b[i : i + rng.randint(1, 8)]
        elif op == 4:
            other = rng.choice(seeds)
            j = rng.randrange(keep, len(other) + 1)
            b[i:] = other[j:]
        else:
            b[i:i] = rng.choice(interesting)
    return bytes(b)


def run(argv: list[str], seeds, one_input) -> None:
    """Fuzz ``one_input`` with atheris; an empty corpus folder gets ``seeds()`` first."""
    import atheris

    folders = [a for a in argv[1:] if not a.startswith("-")]
    if folders and not os.path.isfile(folders[0]):  # a file argument is a replay
        os.makedirs(folders[0], exist_ok=True)
        if not os.listdir(folders[0]):
            for i, s in enumerate(seeds()):
                with open(os.path.join(folders[0], f"seed{i:02d}"), "wb") as f:
                    f.write(s)
    atheris.instrument_all()  # coverage feedback from rcmlrs.io, json, struct, ...
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def main(argv: list[str]) -> None:
    run(argv, seed_files, one_input)


if __name__ == "__main__":
    main(sys.argv)
