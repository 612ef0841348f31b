"""Persistence: exact round-trips, safetensors interop, hostile files, atomic saves."""

from __future__ import annotations

import errno
import json
import os
import pathlib
import random
import re
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rcmlrs as rc
from rcmlrs import _crc32
from rcmlrs import io as rio

# ----------------------------------------------------------------------------- helpers

# fmt: off
SPECIAL_BITS = [
    0x00000000, 0x80000000,  # +-0
    0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF,  # smallest / largest subnormals
    0x00800000, 0x7F7FFFFF, 0xFF7FFFFF,  # smallest normal, +-max
    0x7F800000, 0xFF800000,  # +-inf
    0x7FC00000, 0xFFC00000,  # default quiet NaN, negative quiet NaN
    0x7FC00001, 0x7FFFFFFF, 0xFFFFFFFF,  # quiet NaNs with payloads
    0x7F800001, 0x7FA00000, 0xFF800001, 0xFFBFFFFF,  # signalling NaNs
    0x3F800000, 0x3DCCCCCD, 0x4B800000,  # 1, 0.1, 2**24
]
# fmt: on


def from_bits(bits, shape) -> rc.RamTensor:
    arr = np.asarray(bits, dtype=np.uint32).view(np.float32).reshape(shape)
    return rc.from_numpy(arr.copy())


def bits_of(t: rc.RamTensor) -> np.ndarray:
    return t.numpy().view(np.uint32).copy()


def assert_same(a_list, b_list):
    assert len(a_list) == len(b_list)
    for a, b in zip(a_list, b_list, strict=True):
        assert isinstance(b, rc.RamTensor)
        assert a.shape == b.shape
        assert np.array_equal(bits_of(a), bits_of(b)), "bit patterns differ"


def sample_tensors():
    rng = np.random.default_rng(7)
    return [
        rc.tensor([[1.0, 2.0], [3.0, 4.0]]),
        rc.zeros((0, 3, 2)),
        from_bits(SPECIAL_BITS, (1, 1, len(SPECIAL_BITS))),
        rc.from_numpy(rng.standard_normal((2, 3, 4)).astype(np.float32)),
    ]


def small_binary(tmp_path, **kw) -> bytes:
    p = tmp_path / "small.st"
    rc.save_tensors_binary(p, [rc.tensor([[1.5, -2.0]]), rc.tensor([3.0])], **kw)
    return p.read_bytes()


def load_bytes(tmp_path, data: bytes, name="x.st"):
    p = tmp_path / name
    p.write_bytes(data)
    return rc.load_state_binary(p)


def split(data: bytes):
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def build(header: dict, body: bytes, fix_crc=True) -> bytes:
    """Encode ``header`` (as rcmlrs does) + ``body``, recomputing the checksum."""
    meta = header.get("__metadata__")
    if (
        fix_crc
        and isinstance(meta, dict)
        and isinstance(meta.get("crc32"), str)
        and re.fullmatch("[0-9a-f]{8}", meta["crc32"])
    ):
        meta["crc32"] = "00000000"
        h = json.dumps(header, separators=(",", ":")).encode()
        meta["crc32"] = f"{zlib.crc32(body, zlib.crc32(h)):08x}"
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + body


# -------------------------------------------------------------------------- round trips

shapes = st.tuples(st.integers(0, 4), st.integers(0, 5), st.integers(0, 6))
bit_values = st.one_of(st.sampled_from(SPECIAL_BITS), st.integers(0, 2**32 - 1))


@st.composite
def tensor_lists(draw):
    out = []
    for shape in draw(st.lists(shapes, max_size=4)):
        n = shape[0] * shape[1] * shape[2]
        out.append(from_bits(draw(st.lists(bit_values, min_size=n, max_size=n)), shape))
    return out


@settings(max_examples=60, deadline=None)
@given(tensor_lists())
def test_binary_roundtrip_hypothesis(tmp_path_factory, tensors):
    p = tmp_path_factory.mktemp("rt") / "w.st"
    rc.save_tensors_binary(p, tensors)
    assert_same(tensors, rc.load_state_binary(p))


@settings(max_examples=60, deadline=None)
@given(tensor_lists())
def test_json_roundtrip_hypothesis(tmp_path_factory, tensors):
    p = tmp_path_factory.mktemp("rt") / "w.json"
    rc.save_tensors_json(p, tensors)
    json.loads(p.read_text())  # strict JSON: no bare NaN/Infinity
    assert_same(tensors, rc.load_state_json(p))


@pytest.mark.parametrize("fmt", ["binary", "json"])
def test_roundtrip_specials_and_many_random_bit_patterns(tmp_path, fmt):
    rng = np.random.default_rng(1)
    bits = np.concatenate(
        [
            np.array(SPECIAL_BITS, np.uint32),
            rng.integers(0, 2**32, 300_000, dtype=np.uint32),
            np.arange(0, 2**32, 2**32 // 50_000, dtype=np.uint64).astype(np.uint32),
        ]
    )
    tensors = [from_bits(bits, (1, 1, bits.size)), *sample_tensors()]
    p = tmp_path / f"w.{fmt}"
    getattr(rc, f"save_tensors_{fmt}")(p, tensors)
    assert_same(tensors, getattr(rc, f"load_state_{fmt}")(p))


def test_json_text_is_shortest_and_readable(tmp_path):
    p = tmp_path / "w.json"
    vals = [0.1, 1.0, 1e-45, 3.4028235e38, -0.0, 16777216.0, 0.3]
    rc.save_tensors_json(
        p,
        [
            rc.tensor(np.array(vals, np.float32)),
            from_bits([0x7FC00000, 0x7F800000, 0xFF800000, 0x7FC00001], (2, 1, 2)),
        ],
    )
    doc = json.loads(p.read_text())
    assert doc["format"] == "rcmlrs" and doc["version"] == 1
    assert doc["tensors"][0] == {
        "shape": [1, 1, 7],
        "data": [0.1, 1.0, 1e-45, 3.4028235e38, -0.0, 16777216.0, 0.3],
    }
    assert "0.1," in p.read_text()  # not 0.10000000149011612
    assert doc["tensors"][1]["data"] == ["NaN", "Infinity", "-Infinity", "NaN:0x7fc00001"]
    for x, t in zip(vals, rc.load_state_json(p)[0].numpy().ravel(), strict=True):
        assert np.float32(x).tobytes() == t.tobytes()


def test_paths_used_as_given_str_and_pathlib(tmp_path):
    ts = sample_tensors()
    for name in ("weights", "w.bin", "no.ext.here"):
        for path in (tmp_path / name, str(tmp_path / name)):
            rc.save_tensors_binary(path, ts)
            assert_same(ts, rc.load_state_binary(path))
            rc.save_tensors_json(path, ts)
            assert_same(ts, rc.load_state_json(path))
    assert sorted(os.listdir(tmp_path)) == ["no.ext.here", "w.bin", "weights"]


def test_loaded_tensors_are_independent_and_usable(tmp_path):
    p = tmp_path / "w"
    rc.save_tensors_binary(p, [rc.ones((2, 2, 2)), rc.ones((2, 2, 2))])
    a, b = rc.load_state_binary(p)
    a[0, 0, 0] = 5.0
    assert b[0, 0, 0] == 1.0
    assert float((a + b).sum()) == 20.0
    assert a.numpy().ctypes.data % 64 == 0  # aligned like rcmlrs's own buffers


def test_empty_list_and_empty_tensors(tmp_path):
    for fmt in ("binary", "json"):
        p = tmp_path / fmt
        getattr(rc, f"save_tensors_{fmt}")(p, [])
        assert getattr(rc, f"load_state_{fmt}")(p) == []
        ts = [rc.zeros((0, 1, 1)), rc.zeros((3, 0, 2)), rc.zeros((1, 1, 0))]
        getattr(rc, f"save_tensors_{fmt}")(p, ts)
        assert [t.shape for t in getattr(rc, f"load_state_{fmt}")(p)] == [t.shape for t in ts]


def test_binary_metadata_roundtrip(tmp_path):
    p = tmp_path / "model"
    arch = json.dumps({"layers": [{"type": "Dense", "units": 4, "note": 'quote " \\ é'}]})
    rc.save_tensors_binary(p, sample_tensors(), metadata={"architecture": arch, "x": ""})
    tensors, meta = rio.load_binary_with_metadata(p)
    assert_same(sample_tensors(), tensors)
    assert meta["architecture"] == arch and meta["x"] == ""
    assert meta["format"] == "rcmlrs" and meta["format_version"] == "1"
    assert meta["tensor_order"] == "t0000,t0001,t0002,t0003"
    assert len(meta["crc32"]) == 8
    # the data section starts 8-byte aligned
    assert (8 + struct.unpack("<Q", p.read_bytes()[:8])[0]) % 8 == 0


@pytest.mark.parametrize(
    "meta, exc",
    [
        ({"format": "x"}, ValueError),
        ({"crc32": "0"}, ValueError),
        ({"a": 1}, TypeError),
        ({1: "a"}, TypeError),
        (["a"], TypeError),
    ],
)
def test_binary_metadata_rejected(tmp_path, meta, exc):
    with pytest.raises(exc):
        rc.save_tensors_binary(tmp_path / "m", [rc.ones(2)], metadata=meta)
    assert os.listdir(tmp_path) == []


def test_big_endian_path_byteswaps(tmp_path, monkeypatch):
    t = from_bits([0x01020304, 0x7FC00001], (1, 1, 2))
    monkeypatch.setattr(rio, "_BIG_ENDIAN", True)
    p = tmp_path / "be"
    rc.save_tensors_binary(p, [t])
    assert p.read_bytes()[-8:] == bytes([1, 2, 3, 4, 0x7F, 0xC0, 0, 1])  # swapped on write
    assert_same([t], rc.load_state_binary(p))  # and back on read


# ------------------------------------------------------------------ safetensors interop


def test_rcmlrs_file_opens_in_safetensors(tmp_path):
    stn = pytest.importorskip("safetensors.numpy")
    ts = sample_tensors()
    p = tmp_path / "w.safetensors"
    rc.save_tensors_binary(p, ts, metadata={"architecture": "mlp"})
    loaded = stn.load_file(str(p))
    assert list(loaded) == ["t0000", "t0001", "t0002", "t0003"]
    for i, t in enumerate(ts):
        arr = loaded[f"t{i:04d}"]
        assert arr.dtype == np.float32 and arr.shape == t.shape
        assert np.array_equal(arr.view(np.uint32), bits_of(t))
    safetensors = pytest.importorskip("safetensors")
    with safetensors.safe_open(str(p), framework="np") as f:
        assert f.metadata()["architecture"] == "mlp"
        assert f.metadata()["format"] == "rcmlrs"


def test_rcmlrs_file_opens_in_torch_and_back(tmp_path):
    torch = pytest.importorskip("torch")
    stt = pytest.importorskip("safetensors.torch")
    ts = sample_tensors()
    p = tmp_path / "w.safetensors"
    rc.save_tensors_binary(p, ts)
    loaded = stt.load_file(str(p))
    for i, t in enumerate(ts):
        x = loaded[f"t{i:04d}"]
        assert x.dtype == torch.float32 and tuple(x.shape) == t.shape
        assert np.array_equal(x.numpy().view(np.uint32), bits_of(t))
    q = tmp_path / "from_torch.safetensors"
    stt.save_file({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}, str(q))
    (w,) = rc.load_state_binary(q)
    assert w.shape == (1, 2, 3) and w.numpy().ravel().tolist() == [0, 1, 2, 3, 4, 5]


def test_safetensors_file_loads_in_rcmlrs(tmp_path):
    stn = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(3)
    arrays = {
        "z_scalar": np.array(2.5, np.float32),
        "b_vec": rng.standard_normal(5).astype(np.float32),
        "a_mat": rng.standard_normal((3, 4)).astype(np.float32),
        "m_cube": rng.standard_normal((2, 3, 4)).astype(np.float32),
        "e_empty": np.zeros((0, 3), np.float32),
    }
    p = tmp_path / "theirs.safetensors"
    stn.save_file(arrays, str(p), metadata={"format": "np", "who": "me"})
    header, _ = split(p.read_bytes())
    meta = header.pop("__metadata__")
    by_offset = sorted(header, key=lambda k: tuple(header[k]["data_offsets"]))
    tensors, md = rio.load_binary_with_metadata(p)
    assert md == meta and "crc32" not in md  # no checksum to check
    assert len(tensors) == len(arrays)
    for name, t in zip(by_offset, tensors, strict=True):
        a = arrays[name]
        want = (1,) * (3 - a.ndim) + a.shape
        assert t.shape == want
        assert np.array_equal(t.numpy().reshape(a.shape), a)


@pytest.mark.parametrize(
    "arr",
    [
        np.ones((2, 2), np.float64),
        np.ones((1, 1, 1, 2), np.float32),
        np.ones(3, np.int32),
        np.ones(3, np.float16),
    ],
)
def test_unsupported_safetensors_file(tmp_path, arr):
    stn = pytest.importorskip("safetensors.numpy")
    p = tmp_path / "theirs"
    stn.save_file({"x": arr}, str(p))
    with pytest.raises(rc.FormatError, match="dtype|rank"):
        rc.load_state_binary(p)


# ----------------------------------------------------------------------- hostile files


def test_every_truncation_is_a_format_error(tmp_path):
    data = small_binary(tmp_path)
    for n in range(len(data)):
        with pytest.raises(rc.FormatError):
            load_bytes(tmp_path, data[:n])
    p = tmp_path / "j.json"
    rc.save_tensors_json(p, [rc.tensor([[1.5, -2.0]]), from_bits([0x7F800000], (1,))])
    text = p.read_bytes().rstrip()
    for n in range(len(text)):
        p.write_bytes(text[:n])
        with pytest.raises(rc.FormatError):
            rc.load_state_json(p)


def test_trailing_bytes(tmp_path):
    data = small_binary(tmp_path)
    with pytest.raises(rc.FormatError, match="trailing"):
        load_bytes(tmp_path, data + b"\0")


def test_every_bit_flip_is_detected(tmp_path):
    data = small_binary(tmp_path, metadata={"k": "v"})
    for i in range(len(data)):
        for bit in range(8):
            bad = bytearray(data)
            bad[i] ^= 1 << bit
            with pytest.raises(rc.FormatError):
                load_bytes(tmp_path, bytes(bad))


def test_random_byte_damage(tmp_path):
    data = bytearray(small_binary(tmp_path))
    rng = random.Random(5)
    for _ in range(500):
        bad = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        if bad == data:
            continue
        with pytest.raises(rc.FormatError):
            load_bytes(tmp_path, bytes(bad))


def _entry(h):
    return h["t0000"]


def _set(key, value):
    def f(h):
        _entry(h)[key] = value

    return f


def _meta(key, value):
    def f(h):
        if value is None:
            del h["__metadata__"][key]
        else:
            h["__metadata__"][key] = value

    return f


HEADER_CORRUPTIONS = {
    "dtype F16": (_set("dtype", "F16"), "dtype"),
    "dtype lower": (_set("dtype", "f32"), "dtype"),
    "dtype int": (_set("dtype", 1), "dtype"),
    "dtype missing": (lambda h: _entry(h).pop("dtype"), "keys"),
    "extra key": (_set("extra", 1), "keys"),
    "entry not object": (lambda h: h.update(t0000=[1, 2]), "not an object"),
    "rank 4": (_set("shape", [1, 1, 1, 2]), "rank"),
    "negative dim": (_set("shape", [1, -1, -2]), "non-negative"),
    "float dim": (_set("shape", [1, 1, 2.0]), "non-negative int"),
    "bool dim": (_set("shape", [1, True, 2]), "non-negative int"),
    "str dim": (_set("shape", [1, 1, "2"]), "non-negative int"),
    "shape not list": (_set("shape", 2), "shape"),
    "huge dims": (_set("shape", [2**40, 2**40, 2**40]), "too large"),
    "big dims": (_set("shape", [2**20, 2**20, 2**20 - 1]), "too large"),
    "large dims": (_set("shape", [2**10, 2**10, 2**10]), "needs 4294967296 bytes"),
    "dims over u64": (_set("shape", [2**64 + 1, 1, 2]), "too large"),
    "empty with huge dims": (_set("shape", [0, 2**50, 2**50]), "too large"),
    "empty with big dims": (_set("shape", [2**30, 0, 2**30]), "too large"),
    "wrong size": (_set("shape", [1, 1, 3]), "needs 12 bytes"),
    "offsets reversed": (_set("data_offsets", [8, 0]), "begin <= end"),
    "offsets negative": (_set("data_offsets", [-8, 0]), "begin <= end"),
    "offsets three": (_set("data_offsets", [0, 4, 8]), "data_offsets"),
    "offsets float": (_set("data_offsets", [0, 8.0]), "data_offsets"),
    "offsets past end": (_set("data_offsets", [8, 16]), "run past"),
    "offsets huge": (_set("data_offsets", [0, 2**64]), "run past"),
    "overlap": (lambda h: h["t0001"].update(data_offsets=[4, 8]), "overlap|trailing"),
    "gap": (lambda h: h["t0000"].update(shape=[1, 1, 1], data_offsets=[0, 4]), "gap|trailing"),
    "metadata not object": (lambda h: h.update(__metadata__=[1]), "__metadata__"),
    "metadata int value": (_meta("k", 1), "__metadata__"),
    "format version 2": (_meta("format_version", "2"), "format_version"),
    "format renamed": (_meta("format", "pt"), "damaged rcmlrs metadata"),
    "no tensor_order": (_meta("tensor_order", None), "damaged"),
    "no crc": (_meta("crc32", None), "damaged"),
    "tensor_order wrong": (_meta("tensor_order", "t0001,t0002"), "tensor_order"),
    "tensor_order dup": (_meta("tensor_order", "t0000,t0000"), "tensor_order"),
    "crc malformed": (_meta("crc32", "XYZ"), "malformed"),
    "top-level list": (lambda h: [h], "start with"),
}


@pytest.mark.parametrize("name", list(HEADER_CORRUPTIONS))
def test_corrupted_header_field(tmp_path, name):
    mutate, message = HEADER_CORRUPTIONS[name]
    header, body = split(small_binary(tmp_path, metadata={"k": "v"}))
    result = mutate(header)
    if isinstance(result, list):  # the mutation replaced the whole header
        text = json.dumps(result).encode()
        data = struct.pack("<Q", len(text)) + text + body
    else:
        data = build(header, body)
    with pytest.raises(rc.FormatError, match=message):
        load_bytes(tmp_path, data)


def test_checksum_mismatch(tmp_path):
    data = bytearray(small_binary(tmp_path))
    data[-1] ^= 0x01
    with pytest.raises(rc.FormatError, match="checksum mismatch"):
        load_bytes(tmp_path, bytes(data))
    header, body = split(small_binary(tmp_path))
    header["__metadata__"]["crc32"] = "00000000"
    with pytest.raises(rc.FormatError, match="checksum mismatch"):
        load_bytes(tmp_path, build(header, body, fix_crc=False))


def raw_header_file(text: bytes, body=b"", hlen=None) -> bytes:
    return struct.pack("<Q", len(text) if hlen is None else hlen) + text + body


RAW_CASES = {
    "empty file": (b"", "too short"),
    "seven bytes": (b"\x02\0\0\0\0\0\0", "too short"),
    "header length zero": (raw_header_file(b""), "start with"),
    "header length beyond file": (raw_header_file(b"{}", hlen=3), "larger than the rest"),
    "header length u64 max": (raw_header_file(b"{}", hlen=2**64 - 1), "exceeds"),
    "header length over cap": (raw_header_file(b"{}", hlen=100_000_001), "exceeds"),
    "not an object": (raw_header_file(b"[]"), "start with"),
    "bad utf-8": (raw_header_file(b'{"\xff":1}'), "UTF-8"),
    "invalid json": (raw_header_file(b'{"a":'), "invalid JSON"),
    "bare NaN": (raw_header_file(b'{"a":NaN}'), "NaN"),
    "duplicate key": (
        raw_header_file(
            b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
            b'"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
            b"\0" * 4,
        ),
        "duplicate",
    ),
    "deep nesting": (
        raw_header_file(b'{"a":' + b"[" * 50_000 + b"]" * 50_000 + b"}"),
        "deeply|objects/arrays",
    ),
    "deep nesting objects": (
        raw_header_file(b'{"a":' * 5000 + b"1" + b"}" * 5000),
        "deeply|objects/arrays",
    ),
    "container flood": (raw_header_file(b'{"a":[' + b"[]," * 100_000 + b"[]]}"), "objects/arrays"),
    "huge int": (raw_header_file(b'{"a":' + b"9" * 5000 + b"}"), "invalid JSON"),
    "tensor with null": (raw_header_file(b'{"a":null}'), "not an object"),
}


@pytest.mark.parametrize("name", list(RAW_CASES))
def test_malformed_raw_file(tmp_path, name):
    data, message = RAW_CASES[name]
    with pytest.raises(rc.FormatError, match=message):
        load_bytes(tmp_path, data)


def test_nesting_within_container_budget_still_safe(tmp_path):
    # deep but sparse nesting passes the container-density check and hits the
    # parser's recursion limit, which must surface as FormatError too
    text = b'{"a":' + b"[" * 3000 + b" " * 30_000 + b"]" * 3000 + b"}"
    with pytest.raises(rc.FormatError, match="deeply"):
        load_bytes(tmp_path, raw_header_file(text))


JSON_CASES = {
    "not json": (b"hello", "invalid JSON"),
    "bad utf-8": (b'{"format": "\xff"}', "UTF-8"),
    "list": (b"[]", "not an rcmlrs JSON"),
    "wrong format": (b'{"format": "x", "version": 1, "tensors": []}', "not an rcmlrs"),
    "version 2": (b'{"format": "rcmlrs", "version": 2, "tensors": []}', "version"),
    "version str": (b'{"format": "rcmlrs", "version": "1", "tensors": []}', "version"),
    "version bool": (b'{"format": "rcmlrs", "version": true, "tensors": []}', "version"),
    "extra key": (b'{"format": "rcmlrs", "version": 1, "tensors": [], "x": 1}', "keys"),
    "tensors not list": (b'{"format": "rcmlrs", "version": 1, "tensors": {}}', "list"),
    "duplicate key": (
        b'{"format": "rcmlrs", "format": "rcmlrs", "version": 1, "tensors": []}',
        "duplicate",
    ),
    "bare NaN": (
        b'{"format": "rcmlrs", "version": 1, "tensors": [{"shape": [1], "data": [NaN]}]}',
        "NaN",
    ),
    "bare Infinity": (
        b'{"format": "rcmlrs", "version": 1, "tensors": [{"shape": [1], "data": [-Infinity]}]}',
        "Infinity",
    ),
}


def _tensor_doc(shape, data):
    return json.dumps(
        {"format": "rcmlrs", "version": 1, "tensors": [{"shape": shape, "data": data}]}
    ).encode()


JSON_CASES.update(
    {
        "size mismatch": (_tensor_doc([1, 2, 2], [1, 2, 3]), "needs 4 values"),
        "huge shape": (_tensor_doc([2**40, 2**40, 2**40], [1]), "too large"),
        "empty huge shape": (_tensor_doc([0, 2**40, 2**40], []), "too large"),
        "large shape": (_tensor_doc([2**10, 2**10, 2**10], [1]), "needs 1073741824 values"),
        "rank 4": (_tensor_doc([1, 1, 1, 1], [1]), "rank"),
        "negative dim": (_tensor_doc([-1, -1], [1]), "non-negative"),
        "bool value": (_tensor_doc([2], [1, True]), "bool"),
        "null value": (_tensor_doc([1], [None]), "NoneType"),
        "nested value": (_tensor_doc([1], [[1]]), "list"),
        "lowercase nan": (_tensor_doc([1], ["nan"]), "string"),
        "number as string": (_tensor_doc([1], ["1.5"]), "string"),
        "payload not nan": (_tensor_doc([1], ["NaN:0x3f800000"]), "string"),
        "int too big": (_tensor_doc([1], [10**400]), "too large"),
        "data not list": (_tensor_doc([1], 1.0), "flat list"),
        "missing shape": (b'{"format": "rcmlrs", "version": 1, "tensors": [{"data": []}]}', "keys"),
        "deep nesting": (
            b'{"format": "rcmlrs", "version": 1, "tensors": ' + b"[" * 100_000,
            "deeply|objects/arrays",
        ),
    }
)


@pytest.mark.parametrize("name", list(JSON_CASES))
def test_malformed_json_file(tmp_path, name):
    data, message = JSON_CASES[name]
    p = tmp_path / "bad.json"
    p.write_bytes(data)
    with pytest.raises(rc.FormatError, match=message):
        rc.load_state_json(p)


def test_json_accepts_foreign_numbers(tmp_path):
    p = tmp_path / "f.json"
    p.write_bytes(_tensor_doc([3], [1, 1e39, -2.5e-50]))
    t = rc.load_state_json(p)[0]
    assert t.shape == (1, 1, 3)
    assert t.numpy().ravel().tolist() == [1.0, float("inf"), -0.0]


# ---------------------------------------------------------------------- atomic saves


SAVERS = [rc.save_tensors_binary, rc.save_tensors_json]


def _prepare(tmp_path, saver):
    p = tmp_path / "target"
    saver(p, [rc.ones((1, 2, 3))])
    return p, p.read_bytes()


@pytest.mark.parametrize("saver", SAVERS)
@pytest.mark.parametrize("bad", [[rc.ones(2), "x"], [np.ones(3, np.float32)], rc.ones(2), None, 5])
def test_non_tensor_is_type_error_before_touching_disk(tmp_path, saver, bad):
    p, old = _prepare(tmp_path, saver)
    with pytest.raises(TypeError):
        saver(p, bad)
    assert p.read_bytes() == old
    assert os.listdir(tmp_path) == ["target"]


class FailingFile:
    """Wraps a file; ``write`` fails once ``limit`` bytes have been written."""

    def __init__(self, f, limit, exc):
        self._f, self._left, self._exc = f, limit, exc

    def write(self, b):
        n = len(memoryview(b).cast("B"))
        if n > self._left:
            self._f.write(bytes(memoryview(b).cast("B")[: self._left]))
            raise self._exc
        self._left -= n
        return self._f.write(b)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self._f.close()


@pytest.mark.parametrize("saver", SAVERS)
@pytest.mark.parametrize("limit", [0, 9, 100, 5000])
@pytest.mark.parametrize(
    "exc",
    [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt(), RuntimeError("boom")],
)
def test_failure_mid_write_keeps_old_file(tmp_path, monkeypatch, saver, limit, exc):
    p, old = _prepare(tmp_path, saver)
    real = os.fdopen
    monkeypatch.setattr(
        os, "fdopen", lambda fd, *a, **k: FailingFile(real(fd, *a, **k), limit, exc)
    )
    with pytest.raises(type(exc)):
        saver(p, [rc.randn((4, 30, 30), seed=1)])
    assert p.read_bytes() == old
    assert os.listdir(tmp_path) == ["target"]


@pytest.mark.parametrize("saver", SAVERS)
@pytest.mark.parametrize("where", ["replace", "fsync"])
def test_failure_at_commit_keeps_old_file(tmp_path, monkeypatch, saver, where):
    p, old = _prepare(tmp_path, saver)

    def boom(*a, **k):
        raise OSError(errno.EIO, f"{where} failed")

    monkeypatch.setattr(os, where, boom)
    with pytest.raises(OSError, match=where):
        saver(p, [rc.ones((2, 2, 2))])
    monkeypatch.undo()
    assert p.read_bytes() == old
    assert os.listdir(tmp_path) == ["target"]


@pytest.mark.parametrize("saver", SAVERS)
def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch, saver):
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("no")))
    with pytest.raises(OSError):
        saver(tmp_path / "new", [rc.ones(3)])
    assert os.listdir(tmp_path) == []


def test_save_keeps_permissions_and_overwrites(tmp_path):
    p = tmp_path / "w"
    rc.save_tensors_binary(p, [rc.ones(2)])
    os.chmod(p, 0o640)
    rc.save_tensors_binary(p, [rc.zeros(3)])
    assert (os.stat(p).st_mode & 0o777) == 0o640
    assert rc.load_state_binary(p)[0].shape == (1, 1, 3)


def test_save_into_missing_folder_is_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        rc.save_tensors_binary(tmp_path / "nope" / "w", [rc.ones(2)])
    assert os.listdir(tmp_path) == []


def test_load_never_uses_pickle(tmp_path, monkeypatch):
    import pickle

    def no(*a, **k):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "loads", no)
    monkeypatch.setattr(pickle, "load", no)
    p = tmp_path / "w"
    rc.save_tensors_binary(p, sample_tensors())
    rc.load_state_binary(p)
    rc.save_tensors_json(p, sample_tensors())
    rc.load_state_json(p)


def test_exports():
    for name in (
        "save_tensors_binary",
        "load_state_binary",
        "save_tensors_json",
        "load_state_json",
    ):
        assert name in rc.__all__ and callable(getattr(rc, name))
    assert callable(rc.io.load_binary_with_metadata)
    assert isinstance(pathlib.Path(), os.PathLike)


@pytest.mark.parametrize("threaded_min, chunk", [(1, 64), (1, 1 << 22), (1 << 40, 64)])
def test_chunked_and_threaded_checksum_paths(tmp_path, monkeypatch, threaded_min, chunk):
    monkeypatch.setattr(_crc32, "_THREADED_CRC_MIN", threaded_min)
    monkeypatch.setattr(rio, "_IO_CHUNK", chunk)
    ts = sample_tensors() + [rc.randn((3, 50, 70), seed=2)]
    p = tmp_path / "w"
    rc.save_tensors_binary(p, ts)
    monkeypatch.undo()
    data = p.read_bytes()
    assert_same(ts, rc.load_state_binary(p))  # written chunked, read plainly
    monkeypatch.setattr(_crc32, "_THREADED_CRC_MIN", threaded_min)
    monkeypatch.setattr(rio, "_IO_CHUNK", chunk)
    assert_same(ts, rc.load_state_binary(p))
    for pos in (len(data) - 1, len(data) - 5000, len(data) // 2):
        bad = bytearray(data)
        bad[pos] ^= 0x10
        with pytest.raises(rc.FormatError, match="checksum"):
            load_bytes(tmp_path, bytes(bad))
    with pytest.raises(rc.FormatError):
        load_bytes(tmp_path, data[:-3])


def test_large_file_roundtrip(tmp_path):
    t = rc.randn((3, 1000, 1000), seed=3)  # 12 MB: the threaded checksum path
    p = tmp_path / "big"
    rc.save_tensors_binary(p, [t, rc.ones(3)])
    a, b = rc.load_state_binary(p)
    assert a.equals(t) and b.equals(rc.ones(3))
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 1
    p.write_bytes(bytes(data))
    with pytest.raises(rc.FormatError, match="checksum mismatch"):
        rc.load_state_binary(p)


def test_crc32_combine_matches_zlib():
    rng = random.Random(11)
    for _ in range(200):
        a = rng.randbytes(rng.randrange(0, 2000))
        b = rng.randbytes(rng.choice([0, 1, 3, rng.randrange(0, 5000)]))
        assert _crc32._crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
    big = rng.randbytes(1 << 16)
    assert _crc32._crc32_combine(7, zlib.crc32(big), len(big)) == zlib.crc32(big, 7)


def test_crc_pool_is_remade_in_a_forked_child(monkeypatch):
    first = _crc32._crc_pool()
    assert _crc32._crc_pool() is first
    monkeypatch.setattr(os, "getpid", lambda: -12345)
    child = _crc32._crc_pool()
    assert child is not first
    child.shutdown()


def test_verify_false_skips_only_the_checksum(tmp_path):
    data = bytearray(small_binary(tmp_path))
    data[-1] ^= 0x01  # a data bit: only the checksum can tell
    p = tmp_path / "d"
    p.write_bytes(bytes(data))
    with pytest.raises(rc.FormatError, match="checksum"):
        rc.load_state_binary(p)
    a, b = rc.load_state_binary(p, verify=False)
    assert a.shape == (1, 1, 2) and b.shape == (1, 1, 1)
    p.write_bytes(bytes(data[:-1]))  # structure is still checked
    with pytest.raises(rc.FormatError):
        rc.load_state_binary(p, verify=False)
    tensors, meta = rio.load_binary_with_metadata(p.with_name("small.st"), verify=False)
    assert meta["format"] == "rcmlrs" and len(tensors) == 2
